"""MNIST and Fashion-MNIST (LeCun et al. 1998; Xiao et al. 2017) as a LightningDataModule.

The IDX files are read by torchvision (``root/MNIST/raw`` or ``root/FashionMNIST/raw``) once, then
held as one uint8 tensor (resized once if ``image_size`` is not 28), so a batch costs an index and
a scale. Binarization follows the two protocols of the likelihood literature:

- ``dynamic``: each training use draws x ~ Bernoulli(intensity) afresh (Burda et al. 2015); the
  draw happens on the batch after it reaches the device, from the process's torch RNG, which lightgen
  checkpoints, so resumed runs draw the same bits. Validation and test images are binarized once,
  with a fixed seed, so evaluation is deterministic.
- ``threshold``: x = 1[intensity > 0.5], fixed for every split.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchvision import datasets as tv_datasets

from lightgen.data.base import GenerativeDataModule, checked_image_options
from lightgen.errors import DataNotFoundError, LightgenError

DatasetName = Literal["mnist", "fashion-mnist"]
_TORCHVISION = {"mnist": tv_datasets.MNIST, "fashion-mnist": tv_datasets.FashionMNIST}


class ImageTensors(Dataset):
    """(images, labels) held in memory: uint8 (N, C, H, W) mapped to floats in ``value_range``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, value_range: tuple[float, float]) -> None:
        self.images, self.labels = images, labels
        self.low, self.high = value_range

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = self.images[index].float().div_(255.0)
        return x.mul_(self.high - self.low).add_(self.low), int(self.labels[index])


# the raw files torchvision reads for each split (train=True / False): images, labels
IDX_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def check_idx_file(path: Path, fix: str) -> int:
    """The item count of an uint8 IDX file (header: 0, 0, 0x08, ndim, then ndim big-endian sizes), or a
    one-line LightgenError naming the file when its header or length is wrong (a truncated copy)."""
    with open(path, "rb") as f:
        head = f.read(4)
        dims = f.read(4 * head[3]) if len(head) == 4 else b""
    if len(head) < 4 or head[:3] != b"\x00\x00\x08" or not 1 <= head[3] <= 3 or len(dims) != 4 * head[3]:
        raise LightgenError(f"{path} is not an uint8 IDX file (bad header: corrupt or truncated); {fix}")
    sizes = [int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4)]
    expected = 4 + len(dims) + math.prod(sizes)
    if path.stat().st_size != expected:
        raise LightgenError(
            f"{path} holds {path.stat().st_size} bytes where its IDX header {tuple(sizes)} needs {expected} "
            f"(truncated or corrupt); {fix}"
        )
    return sizes[0]


def load_idx(root: Any, dataset: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, 1, 28, 28) and int64 labels of one split, or a one-line error naming the fix (a
    missing dataset) or the file (a corrupt or truncated one, found before torchvision reads it)."""
    raw = Path(str(root)) / _TORCHVISION[dataset].__name__ / "raw"
    fix = f"run `lightgen data prepare {dataset} --root {root}` again (it verifies the files)"
    names = IDX_FILES[train]
    if all((raw / n).is_file() for n in names):
        counts = [check_idx_file(raw / n, fix) for n in names]
        if counts[0] != counts[1]:
            raise LightgenError(f"{raw / names[0]} holds {counts[0]} images but {names[1]} {counts[1]} labels; {fix}")
    try:
        ds = _TORCHVISION[dataset](str(root), train=train, download=False)
    except RuntimeError as err:
        if "not found" not in str(err).lower():
            raise
        folder = _TORCHVISION[dataset].__name__
        raise DataNotFoundError(
            f"{dataset} not found under {root}/{folder}/raw; run `lightgen data prepare {dataset} --root {root}`"
        ) from None
    return ds.data.unsqueeze(1).contiguous(), ds.targets.long()


def resize_uint8(images: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Resize uint8 (N, C, H, W) images to size x size (bilinear, antialiased), in chunks."""
    if images.shape[-1] == size:
        return images
    out = [
        F.interpolate(part.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
        for part in images.split(chunk)
    ]
    return torch.cat(out)


def binarize_fixed(images: torch.Tensor, mode: str, seed: int) -> torch.Tensor:
    """uint8 images -> {0, 255}: by threshold (> 0.5) or by one seeded Bernoulli draw."""
    p = images.float() / 255.0
    if mode == "threshold":
        bits = p > 0.5
    else:
        bits = torch.bernoulli(p, generator=torch.Generator().manual_seed(seed)).bool()
    return bits.to(torch.uint8) * 255


class MNIST(GenerativeDataModule):
    """MNIST or Fashion-MNIST: 60k training images split into train/val, and the 10k test set.

    Args:
        root: data root holding ``MNIST/raw`` or ``FashionMNIST/raw`` (default ``$LIGHTGEN_DATA`` or ``data/``).
        dataset: "mnist" or "fashion-mnist".
        image_size: served image size; 28 is native, 32 and 64 are resized once (bilinear).
        value_range: (-1, 1) for tanh generators, (0, 1) for likelihood models.
        binarize: "none", "dynamic" (fresh Bernoulli draw per use) or "threshold" (> 0.5).
        val_size: images held out of the 60k training set for validation (seeded split).
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule.
    """

    # A batch is an index and a scale of in-memory tensors: a worker process only adds the copy between
    # processes (1 worker delivered 0.68 +- 0.09 times the images/s of the main process on a 2-core CPU,
    # tools/bench/data_loading.py, docs/benchmarks.md), so num_workers=None means 0 here.
    auto_workers = False

    def __init__(
        self,
        root: str | None = None,
        dataset: DatasetName = "mnist",
        image_size: int = 28,
        value_range: tuple[float, float] = (-1.0, 1.0),
        binarize: Literal["none", "dynamic", "threshold"] = "none",
        val_size: int = 5000,
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        if dataset not in _TORCHVISION:
            raise LightgenError(f"unknown dataset {dataset!r}; expected one of {sorted(_TORCHVISION)}")
        value_range = checked_image_options(image_size, value_range, max_size=256)
        if binarize not in ("none", "dynamic", "threshold"):
            raise LightgenError(f"unknown binarize mode {binarize!r}; expected 'none', 'dynamic' or 'threshold'")
        if not 0 <= val_size < 60000:
            raise LightgenError(f"val_size must be in [0, 60000); got {val_size}")
        self.save_hyperparameters()
        self.dataset = dataset
        self.image_size = image_size
        self.value_range = value_range
        self.binarize = binarize
        self.val_size = val_size
        self.data_shape = (1, image_size, image_size)
        self.num_classes = 10

    def prepare_data(self) -> None:
        # fail early, on one process, with the command that fixes a missing dataset
        load_idx(self.root, self.dataset, train=False)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train_x, train_y = load_idx(self.root, self.dataset, train=True)
        test_x, test_y = load_idx(self.root, self.dataset, train=False)
        train_x, test_x = resize_uint8(train_x, self.image_size), resize_uint8(test_x, self.image_size)
        if self.val_size >= len(train_x):
            raise LightgenError(
                f"val_size {self.val_size} leaves no training images: "
                f"{self.dataset} has {len(train_x)} in its training split"
            )
        perm = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(self.seed))
        val_idx, train_idx = perm[: self.val_size], perm[self.val_size :]
        val_x, val_y = train_x[val_idx], train_y[val_idx]
        train_x, train_y = train_x[train_idx], train_y[train_idx]
        if self.binarize == "threshold":
            train_x = binarize_fixed(train_x, "threshold", self.seed)
        if self.binarize != "none":
            val_x = binarize_fixed(val_x, self.binarize, self.seed + 1)
            test_x = binarize_fixed(test_x, self.binarize, self.seed + 2)
        self.train_set = ImageTensors(train_x, train_y, self.value_range)
        self.val_set = ImageTensors(val_x, val_y, self.value_range) if self.val_size else None
        self.test_set = ImageTensors(test_x, test_y, self.value_range)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.binarize != "dynamic" or self.trainer is None or not self.trainer.training:
            return batch
        x, y = batch
        low, high = self.value_range
        p = (x - low) / (high - low)
        return torch.bernoulli(p) * (high - low) + low, y
