"""Tiny autoregressive models for the tests, with random (non-trivial) parameters in float64."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import torch

from lightgen.models import FVBN, MADE, NADE, NARN, PixelCNN


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread per test (imported by every test module here): the tensors are tiny, and on
    a busy 2-core machine a second thread spin-waits (gated PixelCNN float64 passes ran 25x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# name -> (class, kwargs); every one on a tiny space, every conditional family they support
BINARY = {
    "fvbn": (FVBN, {}),
    "narn": (NARN, {"hidden_per_variable": 2}),
    "nade": (NADE, {"hidden": 8}),
    "made": (MADE, {"hidden_sizes": (16, 16)}),
    "made_ensemble": (MADE, {"hidden_sizes": (12,), "num_masks": 4}),
    "made_direct": (MADE, {"hidden_sizes": (12,), "direct": True, "resample": "connectivity"}),
    "pixelcnn": (PixelCNN, {"channels": 8, "num_layers": 2, "kernel_size": 3}),
    "pixelcnn_k7": (PixelCNN, {"channels": 8, "num_layers": 1, "kernel_size": 7}),
    "gated_pixelcnn": (PixelCNN, {"channels": 8, "num_layers": 2, "kernel_size": 3, "block": "gated"}),
}
CATEGORICAL = {
    "fvbn": (FVBN, {}),
    "narn": (NARN, {"hidden_per_variable": 2}),
    "made_ensemble": (MADE, {"hidden_sizes": (12,), "num_masks": 3}),
    "pixelcnn": (PixelCNN, {"channels": 8, "num_layers": 2, "kernel_size": 3}),
    "gated_pixelcnn": (PixelCNN, {"channels": 8, "num_layers": 1, "kernel_size": 3, "block": "gated"}),
}
GAUSSIAN = {
    "fvbn": (FVBN, {}),
    "narn": (NARN, {"hidden_per_variable": 2}),
    "made": (MADE, {"hidden_sizes": (12,), "num_masks": 2}),
}
MIXTURE = {"rnade": (NADE, {"hidden": 6, "num_components": 3})}


def build(name: str, table: dict, data_shape: tuple[int, ...], seed: int = 0, **extra) -> torch.nn.Module:
    """The model ``name`` of ``table`` in float64 with every parameter drawn N(0, 0.7^2)."""
    cls, kwargs = table[name]
    torch.manual_seed(seed)
    model = cls(data_shape=data_shape, **kwargs, **extra).double()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.7)
    return model.eval()


def all_configs(data_shape: tuple[int, ...], levels: int = 2) -> torch.Tensor:
    """Every point of {0, 1/(k-1), ..., 1}^D as (k^D, *data_shape) float64, in lexicographic order."""
    d = 1
    for s in data_shape:
        d *= s
    grid = torch.tensor(list(itertools.product(range(levels), repeat=d)), dtype=torch.float64)
    return (grid / (levels - 1)).view(-1, *data_shape)


def mask_indices(model: torch.nn.Module) -> range:
    """The masks to check one by one (MADE) or a single pass (others)."""
    return range(getattr(model, "num_masks", 1))


def use(model: torch.nn.Module, m: int) -> None:
    if hasattr(model, "use_mask"):
        model.use_mask(m)
