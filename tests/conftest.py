"""Shared fixtures: tiny datasets in the real on-disk formats, and CPU-only, quiet training."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
import torch

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
torch.set_num_threads(1)  # tiny tensors: a second thread only spins, and slows tests many-fold on a busy machine

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


def scene_image(seed: int, width: int, height: int):  # noqa: ANN201
    """A PIL RGB image of a given size whose colours depend on the seed (a coloured box on noise)."""
    from PIL import Image

    gen = torch.Generator().manual_seed(seed)
    pixels = (torch.rand(height, width, 3, generator=gen) * 60).to(torch.uint8)
    colour = torch.randint(80, 256, (3,), generator=gen).to(torch.uint8)
    pixels[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4] = colour
    return Image.fromarray(pixels.numpy(), "RGB")


def make_lsun_db(lsun_root: Path, category: str, n: int, seed: int = 0) -> Path:
    """A real LMDB in LSUN's layout: ``<lsun_root>/<category>_lmdb``, keys hex sha1s, values WebP bytes."""
    import hashlib
    import io

    import lmdb

    path = lsun_root / f"{category}_lmdb"
    path.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for i in range(n):
            image = scene_image(seed * 1000 + i, width=96 + 8 * (i % 3), height=72 + 4 * (i % 2))
            buffer = io.BytesIO()
            image.save(buffer, format="WEBP", quality=90)
            key = hashlib.sha1(f"{category}/{i}".encode()).hexdigest().encode()
            txn.put(key, buffer.getvalue())
    env.close()
    return path


def make_image_tree(folder: Path, classes: list[str], per_class: int, seed: int = 0, ext: str = "JPEG") -> Path:
    """A folder of class folders of JPEG files of varied sizes, as ImageNet's train/ and val/ hold them."""
    for c, name in enumerate(classes):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = scene_image(seed * 10000 + c * 100 + i, width=80 + 10 * (i % 3), height=60 + 12 * (i % 2))
            image.save(folder / name / f"{name}_{i}.{ext}", format="JPEG", quality=90)
    return folder


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
