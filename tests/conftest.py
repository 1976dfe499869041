"""Shared fixtures: tiny datasets in the real on-disk formats, and CPU-only, quiet training."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(min(2, torch.get_num_threads()))

IDX_NAMES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def write_idx(folder: Path, images: torch.Tensor, labels: torch.Tensor, train: bool) -> None:
    """Write uint8 images (N, 28, 28) and labels (N,) as the IDX files torchvision's MNIST reads."""
    folder.mkdir(parents=True, exist_ok=True)
    image_name, label_name = IDX_NAMES[train]
    n, h, w = images.shape
    (folder / image_name).write_bytes(struct.pack(">IIII", 2051, n, h, w) + images.to(torch.uint8).numpy().tobytes())
    (folder / label_name).write_bytes(struct.pack(">II", 2049, n) + labels.to(torch.uint8).numpy().tobytes())


def synthetic_digits(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n 28x28 uint8 images: class k is a bright bar at a k-dependent position, plus noise."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=gen)
    images = torch.rand(n, 28, 28, generator=gen) * 40
    for i, k in enumerate(labels.tolist()):
        images[i, 4 + 2 * k : 7 + 2 * k, 4:24] = 255
    return images.clamp(0, 255).to(torch.uint8), labels


def make_mnist_tree(root: Path, folder: str = "MNIST", n_train: int = 640, n_test: int = 128) -> Path:
    raw = root / folder / "raw"
    write_idx(raw, *synthetic_digits(n_train, 0), train=True)
    write_idx(raw, *synthetic_digits(n_test, 1), train=False)
    return root


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    """A data root holding tiny but real MNIST and Fashion-MNIST IDX trees (640 train / 128 test)."""
    make_mnist_tree(tmp_path / "data", "MNIST")
    make_mnist_tree(tmp_path / "data", "FashionMNIST")
    return tmp_path / "data"


def quiet_trainer(**kwargs):  # noqa: ANN003, ANN201
    """A CPU Trainer with no logger, progress bar or checkpoints unless asked for."""
    import lightning as L

    defaults = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    defaults.update(kwargs)
    return L.Trainer(**defaults)


REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
