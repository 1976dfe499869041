"""Unpaired image-to-image data for CycleGAN (Zhu et al. 2017): two domains drawn independently.

Folder layout of the pytorch-CycleGAN-and-pix2pix repo (horse2zebra, monet2photo...):
``<folder>/trainA``, ``trainB``, ``testA``, ``testB`` (and ``valA``, ``valB`` where a dataset has them).
Training item ``i`` is ``(a, b)``: ``a = A[i % nA]``, ``b = B[j]`` with ``j`` drawn from the item's key
(the repo's ``UnalignedDataset`` with ``serial_batches`` off), so the pairing changes every epoch and
resumes exactly; there are ``max(nA, nB)`` items an epoch. Each image gets its own jitter draw (resize to
``load_size`` = 286, random 256 crop, random flip, sec. 7.1 / appendix). Test items are
``(a, testB[i % nB])``: no correspondence exists in such folders.

Without a folder, the embedded default "mnist2thick": domain A is MNIST digits, domain B the same kind of
digits thickened (:func:`lightgen.data.derived.thicken`, a 3x3 grey-scale dilation), at ``image_size``
(32 px: 28 resized, so networks with two stride-2 halvings and more fit). Training: A is one half of the
shuffled training set and B the thickened OTHER half, so no image meets its own counterpart while
training. Validation (a seeded slice of the training set) and test items are the true counterparts
``(a, thicken(a), label)``, which makes the translation scorable (does a 3 stay a 3 and become thick).
Digits get no flip or crop by default (a flipped 3 is no digit; a shifted one changes the task).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from lightgen.data.base import GenerativeDataModule, split_item
from lightgen.data.derived import thicken
from lightgen.data.image_files import (
    Jitter,
    RawImage,
    default_load_size,
    load_image,
    require_images,
    resolve_folder,
    to_range,
)
from lightgen.data.mnist import load_idx, resize_uint8
from lightgen.data.paired import PairedDataset, TensorPairs, checked_pair_options
from lightgen.errors import DataNotFoundError, LightgenError


class FileImages:
    """Images read from files, one domain."""

    def __init__(self, paths: list[Path], channels: int) -> None:
        self.paths, self.channels = paths, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __call__(self, index: int) -> RawImage:
        return load_image(self.paths[index], self.channels)


class TensorImages:
    """uint8 (N, C, H, W) images held in memory, one domain."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __call__(self, index: int) -> RawImage:
        return self.images[index]


class UnpairedDataset(Dataset):
    """``(a, b)`` items of two domains: ``a = A[i % nA]``; ``b`` drawn from the key when ``keyed``.

    ``dataset[(index, key)]`` (training) draws b's index, then a's and b's jitter, from the key; a plain
    ``dataset[index]`` is ``(A[i % nA], B[i % nB])`` resized to ``crop_size``, with no randomness.
    """

    def __init__(self, a: Any, b: Any, jitter: Jitter, value_range: tuple[float, float], keyed: bool) -> None:
        if not len(a) or not len(b):
            raise LightgenError(f"an unpaired dataset needs images in both domains; got {len(a)} A and {len(b)} B")
        self.a, self.b, self.jitter, self.value_range, self.keyed = a, b, jitter, value_range, keyed

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, generator = split_item(item)
        generator = generator if self.keyed else None
        if generator is None:
            j = index % len(self.b)
        else:  # the domains are drawn independently: B's index comes from the item's key
            j = int(torch.randint(len(self.b), (1,), generator=generator))
        a_draw, b_draw = self.jitter.draw(generator), self.jitter.draw(generator)
        a = to_range(self.jitter.apply(self.a(index % len(self.a)), a_draw), self.value_range)
        b = to_range(self.jitter.apply(self.b(j), b_draw), self.value_range)
        return a, b


def unpaired_layout(folder: Path) -> str:
    return f"{folder}/trainA/ and {folder}/trainB/ of images (testA/, testB/ for the test split), as CycleGAN's"


class UnpairedImages(GenerativeDataModule):
    """CycleGAN's unpaired folders (trainA/ trainB/ testA/ testB/), or the embedded "mnist2thick".

    Args:
        root: data root (default ``$LIGHTGEN_DATA`` or ``data/``); holds ``MNIST/raw`` for the default.
        folder: the dataset folder (relative to ``root`` or absolute); None: the embedded "mnist2thick".
        image_size: size the default's 28 px digits are resized to (32).
        crop_size: served size (CycleGAN's --crop_size); None: ``image_size`` (default) or 256 (folders).
        load_size: size before the random crop; None: ``round(crop_size * 286 / 256)`` (286 for 256) for
            folders, ``crop_size`` (no crop) for the default.
        flip: random horizontal flips in training; None: on for folders, off for the default (digits).
        channels: 3 (RGB) or 1 (grey) for folders; None: 3 for folders, 1 for the default (grey).
        val_size: the default's validation slice of the training set (counterpart pairs, seeded); None:
            1000. Folders use ``valA/`` + ``valB/`` when both exist, else have no validation split.
        value_range: (-1, 1) for tanh generators, (0, 1) otherwise.
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule
            (batch 1 as in CycleGAN).
    """

    def __init__(
        self,
        root: str | None = None,
        folder: str | None = None,
        image_size: int = 32,
        crop_size: int | None = None,
        load_size: int | None = None,
        flip: bool | None = None,
        channels: int | None = None,
        val_size: int | None = None,
        value_range: tuple[float, float] = (-1.0, 1.0),
        batch_size: int = 1,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        crop, self.value_range = checked_pair_options(
            "mnist2thick", folder, crop_size, image_size, value_range, channels, val_size
        )
        self.save_hyperparameters()
        self.folder = None if folder is None else resolve_folder(self.root, folder)
        self.image_size = image_size
        default_load = crop if folder is None else default_load_size(crop)
        self.jitter = Jitter(crop, load_size or default_load, flip if flip is not None else folder is not None)
        self.channels = channels or (1 if folder is None else 3)
        self.val_size = val_size if val_size is not None else 1000
        self.dataset = "mnist2thick" if self.folder is None else self.folder.name
        self.data_shape = (self.channels, crop, crop)
        self.source_shape = self.data_shape
        self.num_classes: int | None = 10 if folder is None else None
        self.auto_workers = folder is not None  # the default is in-memory tensors: no workers
        #: the default's split of MNIST's training set: indices of train A, train B (thickened) and val
        self.split_indices: dict[str, torch.Tensor] = {}

    def prepare_data(self) -> None:
        if self.folder is None:
            load_idx(self.root, "mnist", train=False)
        else:
            self._domain_pair(self.folder, "train", required=True)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if self.folder is None:
            self._setup_mnist2thick()
        else:
            self._setup_folder(self.folder)

    def _setup_mnist2thick(self) -> None:
        images, labels = load_idx(self.root, "mnist", train=True)
        images = resize_uint8(images, self.image_size)
        if self.val_size + 2 > len(images):
            raise LightgenError(f"val_size {self.val_size} leaves no training images: mnist has {len(images)}")
        perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))
        val_idx, rest = perm[: self.val_size], perm[self.val_size :]
        a_idx, b_idx = rest[: len(rest) // 2], rest[len(rest) // 2 :]  # disjoint halves: no counterparts
        self.split_indices = {"a": a_idx, "b": b_idx, "val": val_idx}
        a, b = TensorImages(images[a_idx]), TensorImages(thicken(images[b_idx]))
        self.train_set = UnpairedDataset(a, b, self.jitter, self.value_range, keyed=True)
        counterparts = lambda x, y: TensorPairs(x, thicken(x), y)  # noqa: E731
        self.val_set = (
            PairedDataset(counterparts(images[val_idx], labels[val_idx]), self.jitter, self.value_range, False, False)
            if self.val_size
            else None
        )
        test_x, test_y = load_idx(self.root, "mnist", train=False)
        test = counterparts(resize_uint8(test_x, self.image_size), test_y)
        self.test_set = PairedDataset(test, self.jitter, self.value_range, swap=False, keyed=False)

    def _domain_pair(self, folder: Path, split: str, required: bool) -> tuple[FileImages, FileImages] | None:
        """The A and B images of one split, None when neither folder exists (and it is optional)."""
        a_dir, b_dir = folder / f"{split}A", folder / f"{split}B"
        if not required and not a_dir.exists() and not b_dir.exists():
            return None
        if required and not a_dir.is_dir() and not b_dir.is_dir():
            raise DataNotFoundError(f"no unpaired dataset at {folder}; expected {unpaired_layout(folder)}")
        layout = unpaired_layout(folder)
        return FileImages(require_images(a_dir, layout), self.channels), FileImages(
            require_images(b_dir, layout), self.channels
        )

    def _setup_folder(self, folder: Path) -> None:
        train = self._domain_pair(folder, "train", required=True)
        self.train_set = UnpairedDataset(*train, self.jitter, self.value_range, keyed=True)
        for split in ("val", "test"):
            pair = self._domain_pair(folder, split, required=False)  # one of A/B without the other: an error
            dataset = UnpairedDataset(*pair, self.jitter, self.value_range, keyed=False) if pair else None
            setattr(self, f"{split}_set", dataset)
