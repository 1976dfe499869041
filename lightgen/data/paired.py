"""Paired image-to-image data for pix2pix (Isola et al. 2017): items ``(source, target[, label])``.

Two folder layouts, those of the pytorch-CycleGAN-and-pix2pix repo:

- ``aligned``: ``<folder>/{train,val,test}/*.jpg``, each image the pair side by side, A left | B right
  (facades, edges2shoes, maps... as its download script unpacks them);
- ``trees``: ``<folder>/A/{train,val,test}`` and ``<folder>/B/{train,val,test}`` with matching file names
  (the input of its ``datasets/combine_A_and_B.py``; names match by relative path, extension aside).

Training jitter (sec. 6.2): resize to ``load_size`` (286 for 256 crops), random ``crop_size`` crop,
random horizontal flip, THE SAME crop and flip on A and B (drawn from the item's key, so it resumes
exactly). Evaluation splits are resized to ``crop_size``, never flipped.

Without a folder, the embedded default "edges2fashion" (edges2shoes in miniature, no download):
Fashion-MNIST items at ``image_size`` as targets, their binary edge maps (:func:`lightgen.data.derived.
edge_map`: black lines on white) as sources, with the item's class as a third element.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from lightgen.data.base import GenerativeDataModule, checked_image_options, split_item
from lightgen.data.derived import edge_map
from lightgen.data.image_files import (
    Jitter,
    RawImage,
    default_load_size,
    has_images,
    list_images,
    load_image,
    require_images,
    resolve_folder,
    to_range,
)
from lightgen.data.mnist import load_idx, resize_uint8
from lightgen.errors import DataNotFoundError, LightgenError

Layout = Literal["auto", "aligned", "trees"]
Direction = Literal["AtoB", "BtoA"]
SPLITS = ("train", "val", "test")
#: pix2pix's crop for folders (its --crop_size default); the embedded default serves ``image_size``
FOLDER_CROP = 256


def layout_text(folder: Path, layout: str) -> str:
    aligned = f"{folder}/train/*.jpg with A|B side by side (aligned)"
    trees = f"{folder}/A/train and {folder}/B/train with matching file names (trees)"
    return {"aligned": aligned, "trees": trees}.get(layout, f"{aligned} or {trees}")


class AlignedFiles:
    """Pairs stored side by side: image ``i`` split at half its width into A (left) and B (right)."""

    def __init__(self, paths: list[Path], channels: int) -> None:
        self.paths, self.channels = paths, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __call__(self, index: int) -> tuple[RawImage, RawImage, int | None]:
        ab = load_image(self.paths[index], self.channels)
        w, h = ab.size
        return ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h)), None  # as the repo's AlignedDataset


class TreeFiles:
    """Pairs stored as two files of the same name, one under A/ and one under B/."""

    def __init__(self, pairs: list[tuple[Path, Path]], channels: int) -> None:
        self.pairs, self.channels = pairs, channels

    def __len__(self) -> int:
        return len(self.pairs)

    def __call__(self, index: int) -> tuple[RawImage, RawImage, int | None]:
        a, b = self.pairs[index]
        return load_image(a, self.channels), load_image(b, self.channels), None


class TensorPairs:
    """Pairs held in memory: uint8 (N, C, H, W) A and B images and int64 labels."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor) -> None:
        self.a, self.b, self.labels = a, b, labels

    def __len__(self) -> int:
        return len(self.a)

    def __call__(self, index: int) -> tuple[RawImage, RawImage, int | None]:
        return self.a[index], self.b[index], int(self.labels[index])


class PairedDataset(Dataset):
    """``(source, target[, label])`` from a pair reader, the same jitter draw applied to both images.

    ``keyed`` (training): ``dataset[(index, key)]`` draws the crop and flip from the key; a plain
    ``dataset[index]`` is always the un-jittered pair resized to ``crop_size``.
    """

    def __init__(self, reader: Any, jitter: Jitter, value_range: tuple[float, float], swap: bool, keyed: bool) -> None:
        self.reader, self.jitter, self.value_range, self.swap, self.keyed = reader, jitter, value_range, swap, keyed

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[Any, ...]:
        index, generator = split_item(item)
        a, b, label = self.reader(index)
        draw = self.jitter.draw(generator if self.keyed else None)
        a = to_range(self.jitter.apply(a, draw), self.value_range)
        b = to_range(self.jitter.apply(b, draw), self.value_range)
        source, target = (b, a) if self.swap else (a, b)
        return (source, target) if label is None else (source, target, label)


def detect_layout(folder: Path, layout: str) -> str:
    """ "aligned" or "trees" (``auto``: aligned when ``folder/train`` holds images, else trees), or a
    one-line error naming the folder and the layouts looked for."""
    if layout not in ("auto", "aligned", "trees"):
        raise LightgenError(f"unknown layout {layout!r}; expected 'auto', 'aligned' or 'trees'")
    if layout in ("auto", "aligned") and has_images(folder / "train"):
        return "aligned"
    if layout in ("auto", "trees") and (folder / "A" / "train").is_dir() and (folder / "B" / "train").is_dir():
        return "trees"
    raise DataNotFoundError(f"no paired dataset at {folder}; expected {layout_text(folder, layout)}")


def match_trees(folder: Path, split: str) -> list[tuple[Path, Path]]:
    """(A, B) file pairs of one split of the trees layout, matched by relative path (extension aside)."""
    a_dir, b_dir = folder / "A" / split, folder / "B" / split
    a_files = require_images(a_dir, layout_text(folder, "trees"))
    b_by_name = {p.relative_to(b_dir).with_suffix("").as_posix(): p for p in list_images(b_dir)}
    b_exact = {p.relative_to(b_dir).as_posix(): p for p in list_images(b_dir)}
    pairs = []
    for a in a_files:
        rel = a.relative_to(a_dir)
        b = b_exact.get(rel.as_posix()) or b_by_name.get(rel.with_suffix("").as_posix())
        if b is None:
            raise DataNotFoundError(
                f"{a} has no partner in {b_dir} (expected {b_dir / rel}); the trees layout pairs A/ and B/ files "
                "by name, as pix2pix's combine_A_and_B.py"
            )
        pairs.append((a, b))
    return pairs


def checked_pair_options(
    default_name: str,
    folder: str | None,
    crop_size: int | None,
    image_size: int,
    value_range: tuple[float, float],
    channels: int | None,
    val_size: int | None,
) -> tuple[int, tuple[float, float]]:
    """The options the paired and unpaired datamodules share, checked: returns (the served crop size, the
    value range). The crop defaults to ``image_size`` for the embedded data and 256 for folders."""
    crop = crop_size or (image_size if folder is None else FOLDER_CROP)
    checked_range = checked_image_options(crop, value_range, max_size=1024)
    checked_image_options(image_size, value_range, max_size=1024)
    if folder is None and channels not in (None, 1):
        raise LightgenError(f"the embedded {default_name} is grey (1 channel); got channels={channels}")
    if channels not in (None, 1, 3):
        raise LightgenError(f"channels must be 1 (grey) or 3 (RGB); got {channels}")
    if val_size is not None and val_size < 0:
        raise LightgenError(f"val_size must be >= 0; got {val_size}")
    return crop, checked_range


class PairedImages(GenerativeDataModule):
    """pix2pix's paired datasets (``aligned`` or ``trees`` folders), or the embedded "edges2fashion".

    Args:
        root: data root (default ``$LIGHTGEN_DATA`` or ``data/``); holds ``FashionMNIST/raw`` for the default.
        folder: the dataset folder (relative to ``root`` or absolute); None: the embedded "edges2fashion".
        layout: "aligned", "trees", or "auto" (aligned if ``folder/train`` holds images, else trees).
        direction: "AtoB" (A is the source) or "BtoA" (pix2pix's --direction).
        image_size: size the embedded default's 28 px images are resized to (32: two more halvings).
        crop_size: served size (pix2pix's --crop_size); None: ``image_size`` (default) or 256 (folders).
        load_size: size before the random crop; None: ``round(crop_size * 286 / 256)`` (286 for 256).
            ``load_size == crop_size`` and ``flip=False`` turn the jitter off.
        flip: random horizontal flips in training.
        channels: 3 (RGB) or 1 (grey) for folders; None: 3 for folders, 1 for the default (which is grey).
        val_size: images held out of the training split for validation (seeded); None: 1000 for the
            default, 0 for folders (whose ``val/`` split, when present, is used instead).
        value_range: (-1, 1) for tanh generators, (0, 1) otherwise.
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule
            (batch 1 as in pix2pix).
    """

    def __init__(
        self,
        root: str | None = None,
        folder: str | None = None,
        layout: Layout = "auto",
        direction: Direction = "AtoB",
        image_size: int = 32,
        crop_size: int | None = None,
        load_size: int | None = None,
        flip: bool = True,
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
        if direction not in ("AtoB", "BtoA"):
            raise LightgenError(f"unknown direction {direction!r}; expected 'AtoB' or 'BtoA'")
        if layout not in ("auto", "aligned", "trees"):
            raise LightgenError(f"unknown layout {layout!r}; expected 'auto', 'aligned' or 'trees'")
        crop, self.value_range = checked_pair_options(
            "edges2fashion", folder, crop_size, image_size, value_range, channels, val_size
        )
        self.save_hyperparameters()
        self.folder = None if folder is None else resolve_folder(self.root, folder)
        self.layout, self.direction, self.image_size = layout, direction, image_size
        self.jitter = Jitter(crop, load_size or default_load_size(crop), flip)
        self.channels = channels or (1 if folder is None else 3)
        self.val_size = val_size if val_size is not None else (1000 if folder is None else 0)
        self.dataset = "edges2fashion" if self.folder is None else self.folder.name
        self.data_shape = (self.channels, crop, crop)
        self.source_shape = self.data_shape
        self.num_classes: int | None = 10 if folder is None else None
        self.auto_workers = folder is not None  # the default is in-memory tensors: no workers

    def prepare_data(self) -> None:
        if self.folder is None:
            load_idx(self.root, "fashion-mnist", train=False)
        else:
            detect_layout(self.folder, self.layout)

    def _dataset(self, reader: Any, train: bool) -> PairedDataset:
        return PairedDataset(reader, self.jitter, self.value_range, swap=self.direction == "BtoA", keyed=train)

    def _holdout(self, n: int, where: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(train, val) indices of a seeded split of ``n`` training items."""
        if self.val_size >= n:
            raise LightgenError(f"val_size {self.val_size} leaves no training images: {where} has {n}")
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed))
        return perm[self.val_size :], perm[: self.val_size]

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if self.folder is None:
            self._setup_edges2fashion()
        else:
            self._setup_folder(self.folder)

    def _setup_edges2fashion(self) -> None:
        splits = {}
        for train in (True, False):
            images, labels = load_idx(self.root, "fashion-mnist", train)
            images = resize_uint8(images, self.image_size)
            splits[train] = (edge_map(images), images, labels)
        edges, images, labels = splits[True]
        train_idx, val_idx = self._holdout(len(images), "fashion-mnist's training split")
        pick = lambda idx: TensorPairs(edges[idx], images[idx], labels[idx])  # noqa: E731
        self.train_set = self._dataset(pick(train_idx), train=True)
        self.val_set = self._dataset(pick(val_idx), train=False) if self.val_size else None
        self.test_set = self._dataset(TensorPairs(*splits[False]), train=False)

    def _readers(self, folder: Path, layout: str) -> dict[str, Any]:
        readers: dict[str, Any] = {}
        for split in SPLITS:
            if layout == "aligned" and (split == "train" or has_images(folder / split)):
                paths = require_images(folder / split, layout_text(folder, layout))
                readers[split] = AlignedFiles(paths, self.channels)
            elif layout == "trees" and (split == "train" or has_images(folder / "A" / split)):
                readers[split] = TreeFiles(match_trees(folder, split), self.channels)
        return readers

    def _setup_folder(self, folder: Path) -> None:
        readers = self._readers(folder, detect_layout(folder, self.layout))
        train, val = readers["train"], readers.get("val")
        if val is None and self.val_size:
            train_idx, val_idx = self._holdout(len(train), f"{folder}'s train split")
            items = train.paths if isinstance(train, AlignedFiles) else train.pairs
            train, val = (type(train)([items[i] for i in idx.tolist()], self.channels) for idx in (train_idx, val_idx))
        self.train_set = self._dataset(train, train=True)
        self.val_set = self._dataset(val, train=False) if val is not None else None
        test = readers.get("test")
        self.test_set = self._dataset(test, train=False) if test is not None else self.val_set
