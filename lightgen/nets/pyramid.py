"""The Laplacian pyramid of an image (Burt & Adelson 1983), as LAPGAN uses it (Denton et al. 2015,
"Deep Generative Image Models using a Laplacian Pyramid of Adversarial Networks", sec. 3.1).

With d(.) a downsampling by 2 and u(.) an upsampling by 2, the Gaussian pyramid of an image I is
``[I_0, ..., I_K]`` with ``I_0 = I`` and ``I_{k+1} = d(I_k)``; the Laplacian pyramid keeps the bands

    h_k = I_k - u(I_{k+1})   (k < K)         and the low-frequency residual   h_K = I_K      (their eq. 1)

and reconstructs ``I_k = u(I_{k+1}) + h_k`` from the coarsest level down (eq. 2). The reconstruction is
exact for any d and u, since each band is defined as what u misses. Choices here:

- d: ``"box"`` (2x2 average: a box blur, then decimation) or ``"binomial"`` (the separable 5-tap
  binomial blur [1, 4, 6, 4, 1] / 16 of Burt & Adelson with replicated borders, then decimation: the
  paper's "blur and decimate").
- u: ``"bilinear"`` (smooth expansion, half-pixel centres) or ``"nearest"`` (pixel replication).

Lists are indexed by level, finest first: ``gaussian(x)[k]`` is I_k, ``bands(...)[k]`` is h_k.
Shapes: an image (N, C, H, W) gives levels (N, C, H / 2^k, W / 2^k); H and W must be divisible by
2^K. :func:`flatten_levels` / :func:`split_levels` pack a list of levels into one (N, sum C H_k W_k)
tensor and back (one row per example, finest level first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from lightgen.errors import LightgenError

Downsample = Literal["box", "binomial"]
Upsample = Literal["nearest", "bilinear"]
Shape = tuple[int, ...]

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def downsample(x: torch.Tensor, mode: Downsample = "box") -> torch.Tensor:
    """d(x): (N, C, H, W) -> (N, C, H/2, W/2) by a blur and decimation (H and W even)."""
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise LightgenError(f"the pyramid halves images of even size; got {tuple(x.shape[-2:])}")
    if mode == "box":
        return F.avg_pool2d(x, 2)
    if mode == "binomial":
        c = x.shape[1]
        k = _BINOMIAL.to(x)
        kernel = (k[:, None] * k[None, :]).expand(c, 1, 5, 5)  # separable blur, one kernel per channel
        padded = F.pad(x, (2, 2, 2, 2), mode="replicate")
        return F.conv2d(padded, kernel, stride=2, groups=c)
    raise LightgenError(f"unknown downsample {mode!r}; expected 'box' or 'binomial'")


def upsample(x: torch.Tensor, mode: Upsample = "bilinear") -> torch.Tensor:
    """u(x): (N, C, H, W) -> (N, C, 2H, 2W). Bilinear with half-pixel centres keeps values inside the
    input's range (each output is a convex combination of inputs)."""
    if mode == "bilinear":
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    if mode == "nearest":
        return F.interpolate(x, scale_factor=2, mode="nearest")
    raise LightgenError(f"unknown upsample {mode!r}; expected 'bilinear' or 'nearest'")


@dataclass(frozen=True)
class LaplacianPyramid:
    """A Laplacian pyramid of ``levels`` images I_0 (full size) ... I_K (K = levels - 1)."""

    levels: int = 3
    down: Downsample = "box"
    up: Upsample = "bilinear"

    def __post_init__(self) -> None:
        if int(self.levels) < 2:
            raise LightgenError(f"a Laplacian pyramid needs at least 2 levels; got levels={self.levels}")
        if self.down not in ("box", "binomial"):
            raise LightgenError(f"unknown downsample {self.down!r}; expected 'box' or 'binomial'")
        if self.up not in ("nearest", "bilinear"):
            raise LightgenError(f"unknown upsample {self.up!r}; expected 'bilinear' or 'nearest'")

    @property
    def coarsest(self) -> int:
        """K, the index of the coarsest level."""
        return self.levels - 1

    def shapes(self, data_shape: Sequence[int]) -> list[Shape]:
        """The shape of each level, finest first: (C, H, W), (C, H/2, W/2), ... (C, H/2^K, W/2^K)."""
        if len(data_shape) != 3:
            raise LightgenError(f"a Laplacian pyramid takes images (C, H, W); got data_shape {tuple(data_shape)}")
        c, h, w = (int(s) for s in data_shape)
        factor = 2**self.coarsest
        if h % factor or w % factor:
            raise LightgenError(
                f"{self.levels} pyramid levels halve {h}x{w} images {self.coarsest} times, which needs sizes "
                f"divisible by {factor}; use fewer levels (e.g. 28 -> 14 -> 7 is levels=3)"
            )
        return [(c, h >> k, w >> k) for k in range(self.levels)]

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        """u(x), the upsampling of this pyramid."""
        return upsample(x, self.up)

    def gaussian(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[I_0, ..., I_K]: I_0 = x, I_{k+1} = d(I_k)."""
        images = [x]
        for _ in range(self.coarsest):
            images.append(downsample(images[-1], self.down))
        return images

    def bands(self, images: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """[h_0, ..., h_{K-1}, I_K] of a Gaussian pyramid: h_k = I_k - u(I_{k+1}) (eq. 1)."""
        return [image - self.expand(coarser) for image, coarser in zip(images[:-1], images[1:])] + [images[-1]]

    def decompose(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The Laplacian pyramid of x: [h_0, ..., h_{K-1}, I_K]."""
        return self.bands(self.gaussian(x))

    def low_passes(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[l_0, ..., l_{K-1}], l_k = u(I_{k+1}): what level k's band is conditioned on (same shape as h_k)."""
        return [self.expand(coarser) for coarser in self.gaussian(x)[1:]]

    def reconstruct(self, bands: Sequence[torch.Tensor]) -> torch.Tensor:
        """I_0 from [h_0, ..., h_{K-1}, I_K] by I_k = u(I_{k+1}) + h_k (eq. 2)."""
        image = bands[-1]
        for band in reversed(bands[:-1]):
            image = self.expand(image) + band
        return image


def flatten_levels(levels: Sequence[torch.Tensor]) -> torch.Tensor:
    """A list of (N, *shape_k) tensors -> one (N, sum_k prod(shape_k)) tensor, first level first."""
    return torch.cat([t.flatten(1) for t in levels], dim=1)


def split_levels(flat: torch.Tensor, shapes: Sequence[Shape]) -> list[torch.Tensor]:
    """The inverse of :func:`flatten_levels`: (N, sum prod(shape_k)) -> [(N, *shape_k)]."""
    sizes = [math.prod(s) for s in shapes]
    if flat.dim() != 2 or flat.shape[1] != sum(sizes):
        raise LightgenError(
            f"expected levels flattened to (N, {sum(sizes)}) for shapes {list(shapes)}; got {tuple(flat.shape)}"
        )
    return [part.reshape(flat.shape[0], *s) for part, s in zip(flat.split(sizes, dim=1), shapes)]
