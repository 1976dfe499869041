"""The registry of ``lightgen data prepare NAME``: above the data and metrics layers, importing neither.

Each name maps to ``"module:function"``, a ``(root, log=print) -> Path`` callable imported only when that
name is prepared: the datasets live in :mod:`lightgen.data.prepare`, the metric weights (Inception, the
domain classifiers) in :mod:`lightgen.metrics`. Neither layer imports this module or the other one for
preparation, so there is no circle (tests/test_layers.py enforces it), and this module stays light
(stdlib only), so ``lightgen.commands`` takes its names for the fast ``--help`` from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from lightgen.errors import LightgenError

PREPARERS: dict[str, str] = {
    "mnist": "lightgen.data.prepare:prepare_mnist",
    "fashion-mnist": "lightgen.data.prepare:prepare_fashion_mnist",
    "inception": "lightgen.metrics.inception:prepare_inception",
    "mnist-classifier": "lightgen.metrics.classifier:prepare_mnist_classifier",
    "fashion-mnist-classifier": "lightgen.metrics.classifier:prepare_fashion_mnist_classifier",
    "sr-images": "lightgen.data.prepare_sr:prepare_sr_images",
}
PREPARER_NAMES = tuple(sorted(PREPARERS))


def check_name(name: str) -> None:
    """The one-line error of ``lightgen data prepare`` for an unknown name."""
    if name not in PREPARERS:
        raise LightgenError(
            f"unknown dataset {name!r} for `lightgen data prepare`; expected one of {list(PREPARER_NAMES)}"
        )


def preparer(name: str) -> Callable[..., Path]:
    """The callable behind ``lightgen data prepare NAME`` (imports its module now)."""
    check_name(name)
    module, _, function = PREPARERS[name].partition(":")
    return getattr(importlib.import_module(module), function)


def prepare(name: str, root: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Prepare ``name`` under the data root ``root`` (default $LIGHTGEN_DATA or data/); returns its folder or file."""
    return preparer(name)(root, log=log)
