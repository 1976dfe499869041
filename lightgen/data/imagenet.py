"""ImageNet (Russakovsky et al. 2015) and any folder of class folders, downsampled as in DCGAN / PixelRNN.

Two layouts, both read with torchvision's ``ImageFolder``:

- the standard one, ``<folder>/train/<wnid>/*.JPEG`` and ``<folder>/val/<wnid>/*.JPEG`` (what
  ``torchvision.datasets.ImageNet`` leaves after it sorts the validation images with the devkit);
- a plain ``ImageFolder``, ``<folder>/<class>/*.jpg``, with a seeded validation split of ``val_size``.

Each image is resized (shorter side to ``image_size``, antialiased) and center-cropped: 32 and 64 px
are the sizes of the downsampled-ImageNet benchmarks (van den Oord et al. 2016).
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import Dataset, Subset
from torchvision import datasets as tv_datasets

from lightgen.data.base import GenerativeDataModule, center_crop_resize, checked_image_options
from lightgen.errors import DataNotFoundError, LightgenError


def has_class_folders(path: Path) -> bool:
    return path.is_dir() and any(child.is_dir() for child in path.iterdir())


class ImageNet(GenerativeDataModule):
    """ImageNet's train/val folders, or one plain ImageFolder, at ``image_size`` x ``image_size``.

    Args:
        root: data root (default ``$LIGHTGEN_DATA`` or ``data/``).
        folder: the dataset folder, relative to ``root`` or absolute.
        image_size: served size; 32 or 64 for the downsampled-ImageNet benchmarks.
        val_size: for a plain ImageFolder, images held out for validation (seeded split).
        value_range: (-1, 1) for tanh generators, (0, 1) otherwise.
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule.
    """

    def __init__(
        self,
        root: str | None = None,
        folder: str = "ImageNet",
        image_size: int = 64,
        val_size: int = 0,
        value_range: tuple[float, float] = (-1.0, 1.0),
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        value_range = checked_image_options(image_size, value_range)
        if val_size < 0:
            raise LightgenError(f"val_size must be >= 0; got {val_size}")
        self.save_hyperparameters()
        self.folder = Path(folder) if Path(folder).is_absolute() else self.root / folder
        self.image_size = image_size
        self.val_size = val_size
        self.value_range = value_range
        self.data_shape = (3, image_size, image_size)
        self.num_classes: int | None = None

    def _train_dir(self) -> Path:
        standard = self.folder / "train"
        if has_class_folders(standard):
            return standard
        if has_class_folders(self.folder) and not standard.exists():
            return self.folder
        raise DataNotFoundError(
            f"no image class folders under {self.folder}; expected {standard}/<class>/*.JPEG "
            f"(ImageNet's layout) or {self.folder}/<class>/*.jpg (a plain ImageFolder)"
        )

    def prepare_data(self) -> None:
        self._train_dir()

    def _folder(self, path: Path) -> tv_datasets.ImageFolder:
        try:
            return tv_datasets.ImageFolder(str(path), transform=center_crop_resize(self.image_size, self.value_range))
        except FileNotFoundError as err:  # class folders without a single image file
            raise DataNotFoundError(f"{path}: {err}") from None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train_dir = self._train_dir()
        train: Dataset = self._folder(train_dir)
        self.num_classes = len(train.classes)
        val: Dataset | None = None
        if train_dir.name == "train" and train_dir.parent == self.folder:
            val_dir = self.folder / "val"
            if has_class_folders(val_dir):
                val = self._folder(val_dir)
            elif val_dir.exists():
                rank_zero_warn(
                    f"{val_dir} holds no class folders (ILSVRC2012 ships its val images flat); no validation set. "
                    "torchvision.datasets.ImageNet(root, split='val') sorts them with the devkit."
                )
        if self.val_size:
            if self.val_size >= len(train):
                raise LightgenError(f"val_size {self.val_size} leaves no training images: {train_dir} has {len(train)}")
            if val is None:
                perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.seed)).tolist()
                train, val = Subset(train, perm[self.val_size :]), Subset(train, perm[: self.val_size])
        self.train_set, self.val_set, self.test_set = train, val, val
