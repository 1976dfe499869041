"""Super-resolution data (SRGAN, Ledig et al. 2017, sec. 3.1 and 4.1): random HR crops and their bicubic x4 LR.

A training item is ``(lr, hr)``: ``hr`` is a random ``crop_size`` crop of an HR image (96 px in the
paper), flipped / rotated by one of the 8 symmetries of the square (the usual SR augmentation, EDSR
sec. 4), and ``lr`` is its bicubic downsampling by ``scale`` (PIL's ``Image.resize(BICUBIC)``, which
antialiases when reducing, like MATLAB's ``imresize`` that made the LR of the SR benchmarks). Crop
position and symmetry are drawn from the item's key (``keyed = True``, :func:`~lightgen.data.base.split_item`),
so they change every epoch and repeat exactly on resume; a plain index gives the center crop, unrotated.

Where the images come from:

- default: ``<root>/sr-images/train`` and ``test``, real photographs from scikit-image's wheel
  (``lightgen data prepare sr-images``, :mod:`lightgen.data.prepare_sr`);
- ``folder``: a folder of HR images, or a DIV2K root (``DIV2K_train_HR/``, whose ``DIV2K_valid_HR/`` then
  is the test split);
- ``test_folder``: a Set5/Set14-style folder of PNGs, also in the ``image_SRF_4/*_HR.png`` layout (only
  the ``*_HR`` files are read), or ``HR/`` / ``GTmod12/`` subfolders.

Splits: test = the center ``test_crop`` crop of every test image (``None``: the whole image cut to a
multiple of ``scale`` at the bottom/right, as SR evaluation does, served one image per batch since sizes
differ); val = the test images' center ``crop_size`` crop, so validation batches (and the examples a model
keeps) have the training shape ``data_shape``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from lightgen.data.base import GenerativeDataModule, checked_image_options, split_item
from lightgen.errors import DataNotFoundError, LightgenError

#: the folder of the embedded default under the data root (written by :mod:`lightgen.data.prepare_sr`)
SR_FOLDER = "sr-images"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: image files adding up to at most this many bytes are decoded once and held in memory (the embedded
#: photographs: 7 MB, Set5/Set14: a few MB); larger folders (DIV2K: 3.5 GB) are decoded per item
PRELOAD_BYTES = 256 * 2**20


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted; when some are named ``*_HR``, only those."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    hr = [p for p in files if p.stem.endswith("_HR")]
    return hr or files


def train_folders(folder: Path) -> tuple[Path, Path | None]:
    """(HR training folder, DIV2K validation folder or None) of a folder of images or a DIV2K root."""
    if (folder / "DIV2K_train_HR").is_dir():
        valid = folder / "DIV2K_valid_HR"
        return folder / "DIV2K_train_HR", valid if valid.is_dir() else None
    return folder, None


def hr_test_folder(folder: Path, scale: int) -> Path:
    """The folder of HR test images in a Set5/Set14 download: ``image_SRF_<scale>``, ``HR`` or ``GTmod12``
    when there, else ``folder`` itself."""
    for name in (f"image_SRF_{scale}", "HR", "GTmod12"):
        if (folder / name).is_dir():
            return folder / name
    return folder


def load_rgb(path: Path) -> torch.Tensor:
    """uint8 (3, H, W) of an image file (grey and palette images become RGB)."""
    with Image.open(path) as image:
        return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()


def bicubic_downsample(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """uint8 (3, H, W) -> uint8 (3, H / scale, W / scale) by PIL's antialiased bicubic resize."""
    h, w = hr.shape[1:]
    image = Image.fromarray(np.ascontiguousarray(hr.permute(1, 2, 0).numpy()))
    small = image.resize((w // scale, h // scale), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.array(small)).permute(2, 0, 1).contiguous()


def symmetry(x: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 symmetries of the square (k in 0..7): bit 0 flips left-right, bit 1 up-down, bit 2
    transposes."""
    if k & 1:
        x = x.flip(-1)
    if k & 2:
        x = x.flip(-2)
    if k & 4:
        x = x.transpose(-1, -2)
    return x.contiguous()


class HRImages:
    """HR image files, decoded once into memory (``preload``) or on every access. Sizes come from the
    file headers, so a folder is checked without decoding it."""

    def __init__(self, paths: list[Path], preload: bool | None) -> None:
        self.paths = paths
        self.sizes: list[tuple[int, int]] = []  # (height, width)
        for path in paths:
            with Image.open(path) as image:
                self.sizes.append((image.height, image.width))
        if preload is None:
            preload = sum(p.stat().st_size for p in paths) <= PRELOAD_BYTES
        self.cache = [load_rgb(p) for p in paths] if preload else None

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.cache[index] if self.cache is not None else load_rgb(self.paths[index])

    def check_fit(self, size: int, what: str) -> None:
        """A one-line error when an image is smaller than ``size`` on a side."""
        for path, (h, w) in zip(self.paths, self.sizes):
            if min(h, w) < size:
                raise LightgenError(f"{what} {size} is larger than the image {path} ({w}x{h} px)")


class SRCrops(Dataset):
    """Training pairs ``(lr, hr)``: item i is a crop of image ``i % n``; ``crops_per_image`` items per image."""

    keyed = True

    def __init__(
        self,
        images: HRImages,
        crop_size: int,
        scale: int,
        crops_per_image: int,
        augment: bool,
        value_range: tuple[float, float],
    ) -> None:
        self.images, self.crop, self.scale = images, crop_size, scale
        self.crops_per_image, self.augment = crops_per_image, augment
        self.low, self.high = value_range

    def __len__(self) -> int:
        return len(self.images) * self.crops_per_image

    def to_range(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().div_(255.0).mul_(self.high - self.low).add_(self.low)

    def pair(self, hr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.to_range(bicubic_downsample(hr, self.scale)), self.to_range(hr)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, generator = split_item(item)
        image = self.images[index % len(self.images)]
        h, w, c = image.shape[1], image.shape[2], self.crop
        if generator is None:  # evaluation / probes: the center crop, no symmetry
            top, left, k = (h - c) // 2, (w - c) // 2, 0
        else:
            top = int(torch.randint(0, h - c + 1, (), generator=generator))
            left = int(torch.randint(0, w - c + 1, (), generator=generator))
            k = int(torch.randint(0, 8, (), generator=generator)) if self.augment else 0
        return self.pair(symmetry(image[:, top : top + c, left : left + c], k))


class SRTestCrops(SRCrops):
    """Evaluation pairs ``(lr, hr)`` of each image: the center ``crop_size`` crop, or (``crop_size`` None) the
    whole image cut to a multiple of ``scale`` (bottom and right rows dropped)."""

    keyed = False

    def __init__(self, images: HRImages, crop_size: int | None, scale: int, value_range: tuple[float, float]) -> None:
        super().__init__(images, crop_size or 0, scale, 1, False, value_range)
        self.whole = crop_size is None

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, _ = split_item(item)
        image = self.images[index]
        h, w = image.shape[1:]
        if self.whole:
            return self.pair(image[:, : h - h % self.scale, : w - w % self.scale].contiguous())
        c = self.crop
        top, left = (h - c) // 2, (w - c) // 2
        return self.pair(image[:, top : top + c, left : left + c].contiguous())


class SuperResolution(GenerativeDataModule):
    """Random HR crops and their bicubic LR for x``scale`` super-resolution; see the module docstring.

    Args:
        root: data root (default ``$LIGHTGEN_DATA`` or ``data/``); the default data is ``<root>/sr-images``.
        folder: HR training images: a folder of images or a DIV2K root (relative to ``root`` or absolute).
        test_folder: HR test images (Set5/Set14 layouts); None: ``sr-images/test``, DIV2K's
            ``DIV2K_valid_HR``, or no test split for a plain ``folder``.
        scale: the downsampling factor (4 in SRGAN).
        crop_size: HR crop size of training (96 in SRGAN sec. 3.1); a multiple of ``scale``.
        crops_per_image: training items per image and epoch.
        test_crop: size of the test split's center crops; None: whole images (test batches of 1).
        augment: draw one of the 8 flips/rotations for each training crop.
        preload: decode every image once into memory; None: when the files add up to <= 256 MB.
        value_range: (-1, 1) for tanh generators, (0, 1) otherwise.
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule.
    """

    def __init__(
        self,
        root: str | None = None,
        folder: str | None = None,
        test_folder: str | None = None,
        scale: int = 4,
        crop_size: int = 96,
        crops_per_image: int = 64,
        test_crop: int | None = 128,
        augment: bool = True,
        preload: bool | None = None,
        value_range: tuple[float, float] = (-1.0, 1.0),
        batch_size: int = 16,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        value_range = checked_image_options(crop_size, value_range, max_size=2048)
        if scale < 2:
            raise LightgenError(f"scale must be an integer >= 2; got {scale}")
        if crop_size % scale:
            raise LightgenError(f"crop_size must be a multiple of scale={scale}; got {crop_size}")
        if test_crop is not None and (test_crop < scale or test_crop % scale):
            raise LightgenError(f"test_crop must be a positive multiple of scale={scale} (or None); got {test_crop}")
        if crops_per_image < 1:
            raise LightgenError(f"crops_per_image must be a positive integer; got {crops_per_image}")
        self.save_hyperparameters()
        self.scale, self.crop_size, self.crops_per_image = scale, crop_size, crops_per_image
        self.test_crop, self.augment, self.preload = test_crop, augment, preload
        self.value_range = value_range
        self.folder = self._path(folder) if folder is not None else None
        self.test_folder = self._path(test_folder) if test_folder is not None else None
        self.data_shape = (3, crop_size, crop_size)
        self.source_shape = (3, crop_size // scale, crop_size // scale)
        train_name = SR_FOLDER if self.folder is None else self.folder.name
        self.dataset = train_name if self.test_folder is None else f"{train_name}+{self.test_folder.name}"

    def _path(self, folder: str) -> Path:
        return Path(folder) if Path(folder).is_absolute() else self.root / folder

    def _folders(self) -> tuple[Path, Path | None]:
        """(HR training folder, HR test folder or None), or a one-line error naming the fix."""
        if self.folder is None:
            base = self.root / SR_FOLDER
            if not (base / "train").is_dir() or not (base / "test").is_dir():
                raise DataNotFoundError(
                    f"sr-images not found under {base}; run `lightgen data prepare sr-images --root {self.root}` "
                    "or pass folder= (HR images, e.g. DIV2K)"
                )
            train, test = base / "train", base / "test"
        else:
            if not self.folder.is_dir():
                raise DataNotFoundError(
                    f"HR image folder {self.folder} not found; expected a folder of images or DIV2K"
                )
            train, test = train_folders(self.folder)
        if self.test_folder is not None:
            if not self.test_folder.is_dir():
                raise DataNotFoundError(f"test folder {self.test_folder} not found; expected Set5/Set14-style images")
            test = hr_test_folder(self.test_folder, self.scale)
        return train, test

    def _images(self, folder: Path) -> HRImages:
        paths = list_images(folder)
        if not paths:
            raise DataNotFoundError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
        return HRImages(paths, self.preload)

    def prepare_data(self) -> None:
        self._folders()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train_dir, test_dir = self._folders()
        train = self._images(train_dir)
        train.check_fit(self.crop_size, "crop_size")
        self.train_set = SRCrops(
            train, self.crop_size, self.scale, self.crops_per_image, self.augment, self.value_range
        )
        if test_dir is not None:
            test = self._images(test_dir)
            test.check_fit(self.crop_size, "crop_size")
            if self.test_crop is not None:
                test.check_fit(self.test_crop, "test_crop")
            self.val_set = SRTestCrops(test, self.crop_size, self.scale, self.value_range)
            self.test_set = SRTestCrops(test, self.test_crop, self.scale, self.value_range)

    def _whole_image_loader(self) -> DataLoader:
        """The test loader; whole test images differ in size, so they come one per batch."""
        batch_size = self.batch_size
        if self.test_crop is None:
            self.batch_size = 1
        try:
            return super().test_dataloader()
        finally:
            self.batch_size = batch_size

    def test_dataloader(self) -> DataLoader:
        return self._whole_image_loader()

    def predict_dataloader(self) -> DataLoader:
        return self._whole_image_loader()
