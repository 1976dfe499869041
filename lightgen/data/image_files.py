"""Shared helpers of the image-to-image datamodules: image files, their loading, and the pix2pix jitter.

The jitter is pix2pix's ``resize_and_crop`` preprocessing (Isola et al. 2017, sec. 6.2; the
pytorch-CycleGAN-and-pix2pix repo's ``get_transform``): resize to ``load_size`` x ``load_size``, take a
random ``crop_size`` crop, flip horizontally with probability 1/2. Its random draws come from a
``torch.Generator`` (an item's key, :func:`lightgen.data.base.split_item`), never from a global RNG, so
the same key gives the same crop and flip; without a generator (evaluation) the image is resized
straight to ``crop_size`` and never flipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from lightgen.errors import DataNotFoundError, LightgenError

#: image file extensions read (those of the pix2pix / CycleGAN repo's ``IMG_EXTENSIONS``, any case)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp")

#: a raw image before the jitter: a PIL image (files) or a uint8 (C, H, W) tensor (in-memory data)
RawImage = Image.Image | torch.Tensor


def resolve_folder(root: Path, folder: str) -> Path:
    """``folder`` if absolute, else ``root / folder``."""
    return Path(folder) if Path(folder).is_absolute() else root / folder


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def list_images(folder: Path) -> list[Path]:
    """The image files under ``folder`` (recursively, as the pix2pix repo's ``make_dataset``), sorted by path."""
    return sorted(p for p in folder.rglob("*") if is_image_file(p))


def has_images(folder: Path) -> bool:
    return folder.is_dir() and any(is_image_file(p) for p in folder.rglob("*"))


def require_images(folder: Path, layout: str) -> list[Path]:
    """The images of a folder that must hold some, or a one-line error naming it and the ``layout`` expected."""
    images = list_images(folder) if folder.is_dir() else []
    if not images:
        what = "is not a folder" if not folder.is_dir() else "holds no image files"
        raise DataNotFoundError(f"{folder} {what} ({', '.join(IMAGE_EXTENSIONS)}); expected {layout}")
    return images


def load_image(path: Path, channels: int) -> Image.Image:
    """An image file as PIL "RGB" (3 channels) or "L" (1 channel), or a one-line error naming the file."""
    if channels not in (1, 3):
        raise LightgenError(f"channels must be 1 (grey) or 3 (RGB); got {channels}")
    try:
        with Image.open(path) as image:
            return image.convert("RGB" if channels == 3 else "L")
    except (OSError, UnidentifiedImageError) as err:
        raise LightgenError(f"cannot read image {path}: {err}") from None


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """A PIL "L" or "RGB" image -> uint8 (C, H, W)."""
    array = np.asarray(image, dtype=np.uint8)
    array = array[:, :, None] if array.ndim == 2 else array
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def default_load_size(crop_size: int) -> int:
    """pix2pix's jitter margin: 286 for 256 crops, i.e. ``round(crop_size * 286 / 256)``."""
    return round(crop_size * 286 / 256)


@dataclass(frozen=True)
class JitterDraw:
    """One draw of the jitter: resize to ``size``, crop at (``top``, ``left``), ``flip`` or not."""

    size: int
    top: int = 0
    left: int = 0
    flip: bool = False


@dataclass(frozen=True)
class Jitter:
    """pix2pix's resize -> random crop -> random flip, applied alike to every image given the same draw.

    ``load_size == crop_size`` and ``flip=False`` is no jitter (a plain resize to ``crop_size``).
    """

    crop_size: int
    load_size: int
    flip: bool = True

    def __post_init__(self) -> None:
        if self.crop_size < 8:
            raise LightgenError(f"crop_size must be at least 8 pixels; got {self.crop_size}")
        if self.load_size < self.crop_size:
            raise LightgenError(
                f"load_size must be >= crop_size (resize, then crop); got load_size={self.load_size}, "
                f"crop_size={self.crop_size}"
            )

    def draw(self, generator: torch.Generator | None) -> JitterDraw:
        """A random crop and flip from ``generator``; None (evaluation): resize to ``crop_size``, no flip."""
        if generator is None:
            return JitterDraw(self.crop_size)
        margin = self.load_size - self.crop_size + 1
        top = int(torch.randint(margin, (1,), generator=generator))
        left = int(torch.randint(margin, (1,), generator=generator))
        flip = bool(torch.rand(1, generator=generator) < 0.5)  # drawn even when off: same stream either way
        return JitterDraw(self.load_size, top, left, flip and self.flip)

    def apply(self, image: RawImage, d: JitterDraw) -> torch.Tensor:
        """Resize, crop and flip ``image`` by the draw ``d``; returns float (C, crop, crop) in [0, 1]."""
        c = self.crop_size
        if isinstance(image, Image.Image):  # files: PIL bicubic, as the pix2pix repo
            if image.size != (d.size, d.size):
                image = image.resize((d.size, d.size), Image.Resampling.BICUBIC)
            image = image.crop((d.left, d.top, d.left + c, d.top + c))
            if d.flip:
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            return pil_to_uint8(image).float().div_(255.0)
        x = image.to(torch.float32, copy=True)
        if x.shape[-2:] != (d.size, d.size):  # in-memory tensors: bilinear (antialiased when reducing)
            x = F.interpolate(x[None], size=(d.size, d.size), mode="bilinear", antialias=True, align_corners=False)[0]
        x = x[:, d.top : d.top + c, d.left : d.left + c]
        if d.flip:
            x = x.flip(-1)
        return x.div_(255.0).clamp_(0.0, 1.0)


def to_range(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Values in [0, 1] -> ``value_range``."""
    low, high = value_range
    return x.mul_(high - low).add_(low)
