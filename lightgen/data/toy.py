"""Toy 2-D Gaussian mixtures with known modes, the standard test of mode collapse.

- ``ring``: 8 Gaussians evenly spaced on a circle of radius 1, standard deviation 0.01 (PacGAN, Lin et
  al. 2018, Table 1; the ring of Metz et al. 2017 "Unrolled GANs" and Srivastava et al. 2017 "VEEGAN"
  has radius 2 and sigma 0.02: ``radius: 2, std: 0.02``).
- ``grid``: 25 Gaussians with means {-4, -2, 0, 2, 4}^2, standard deviation 0.05 (PacGAN Table 1, VEEGAN).

Every component has weight 1 / M. The points are drawn once from the seed (train, validation and test
from three streams) and held in memory; each point comes with the index of its component, (x, k), so a
batch is ``(x (B, 2), k (B,))`` and the GAN takes ``x``. ``mode_centers`` (M, 2) and ``mode_std`` are
what :func:`lightgen.metrics.modes.mixture_mode_coverage` and ``lightgen evaluate --metrics modes``
measure samples against.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch.utils.data import Dataset

from lightgen.data.base import GenerativeDataModule
from lightgen.errors import LightgenError

Layout = Literal["ring", "grid"]
#: (number of modes, radius or grid half-width, sigma) of each layout: PacGAN, Lin et al. 2018, Table 1
LAYOUTS: dict[str, tuple[int, float, float]] = {"ring": (8, 1.0, 0.01), "grid": (25, 4.0, 0.05)}


def mixture_centers(layout: str, radius: float) -> torch.Tensor:
    """The (M, 2) means: 8 on a circle of ``radius`` (angles 2 pi k / 8), or a 5 x 5 grid from -radius to
    radius in each coordinate (radius 4: {-4, -2, 0, 2, 4}^2)."""
    if layout == "ring":
        angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        return (torch.stack([angles.cos(), angles.sin()], 1) * radius).float()
    ticks = torch.linspace(-radius, radius, 5, dtype=torch.float64)
    return torch.cartesian_prod(ticks, ticks).float()


def draw_mixture(centers: torch.Tensor, std: float, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n points (n, 2) of the equal-weight mixture and their components (n,), from ``seed`` alone."""
    gen = torch.Generator().manual_seed(seed)
    k = torch.randint(0, len(centers), (n,), generator=gen)
    return centers[k] + std * torch.randn(n, centers.shape[1], generator=gen), k


class PointTensors(Dataset):
    """(points (N, 2), components (N,)) held in memory; item i is (x_i (2,), k_i)."""

    def __init__(self, points: torch.Tensor, components: torch.Tensor) -> None:
        self.points, self.components = points, components

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.points[index], int(self.components[index])


class GaussianMixture2D(GenerativeDataModule):
    """Points of a 2-D mixture of equal-weight isotropic Gaussians whose means are known (``mode_centers``).

    Args:
        layout: "ring" (8 modes on a circle) or "grid" (5 x 5 modes).
        num_train: training points, drawn once from ``seed`` (an epoch is num_train / batch_size batches).
        num_val: validation points (0: no validation split); the test split has as many (at least 1).
        std: the components' standard deviation; None: the layout's (ring 0.01, grid 0.05).
        radius: the ring's radius or the grid's half-width; None: the layout's (ring 1, grid 4).
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule
            (``root`` is accepted and unused: nothing is read from disk).
    """

    auto_workers = False  # a batch is an index into an in-memory tensor: workers only add copies

    def __init__(
        self,
        layout: Layout = "ring",
        num_train: int = 100_000,
        num_val: int = 2_500,
        std: float | None = None,
        radius: float | None = None,
        batch_size: int = 256,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
        root: str | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        if layout not in LAYOUTS:
            raise LightgenError(f"unknown layout {layout!r}; expected 'ring' or 'grid'")
        num_modes, default_radius, default_std = LAYOUTS[layout]
        std = default_std if std is None else float(std)
        radius = default_radius if radius is None else float(radius)
        if not std > 0:  # also refuses nan
            raise LightgenError(f"std must be a positive number (the components' standard deviation); got {std}")
        if not radius > 0:
            raise LightgenError(f"radius must be a positive number (ring radius or grid half-width); got {radius}")
        if num_train < batch_size:
            raise LightgenError(f"num_train must be at least batch_size ({batch_size}); got {num_train}")
        if num_val < 0:
            raise LightgenError(f"num_val must be >= 0; got {num_val}")
        self.save_hyperparameters()
        self.layout, self.num_train, self.num_val = layout, num_train, num_val
        self.data_shape = (2,)
        self.mode_centers = mixture_centers(layout, radius)  # (M, 2)
        self.mode_std = std
        self.num_modes = num_modes
        # the box holding 4 std around every mode (informative: samples of a linear-output G are unbounded)
        extent = float(self.mode_centers.abs().max()) + 4 * std
        self.value_range = (-extent, extent)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        # three seeds of one stream family: the splits are disjoint draws, each reproducible on its own
        self.train_set = PointTensors(*draw_mixture(self.mode_centers, self.mode_std, self.num_train, self.seed))
        n_held = max(self.num_val, 1)
        if self.num_val:
            self.val_set = PointTensors(*draw_mixture(self.mode_centers, self.mode_std, n_held, self.seed + 1))
        self.test_set = PointTensors(*draw_mixture(self.mode_centers, self.mode_std, n_held, self.seed + 2))
