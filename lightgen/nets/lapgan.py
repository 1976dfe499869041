"""LAPGAN's networks (Denton et al. 2015, sec. 3.2 and 4): one generator and one discriminator per
pyramid level, held in two containers so the GAN loop sees one generator and one discriminator.

- Level k < K, :class:`BandGenerator`: G_k(z_k, l_k) -> h~_k, a small convnet on the low-pass l_k with
  the noise z_k as one more input plane (the paper's CIFAR-10 nets take z_k as a 4th colour plane).
- Level k < K, :class:`BandDiscriminator`: D_k(h, l_k) -> logit, a small strided convnet and a linear
  output. The paper adds l_k to the band before D_k's first layer (D_k sees h + l_k, the image); here
  D_k takes the pair [h, l_k] along channels. Its first layer is linear, so it can compute the sum,
  and it may weigh band and context differently.
- Level K (the coarsest, <= 8x8): an ordinary GAN with MLPs (:mod:`lightgen.nets.mlp`), as the
  paper's coarsest CIFAR-10 level.

Shapes: level k's images are (N, C, H_k, W_k) with H_k = H / 2^k; z_k is (N, H_k W_k) for k < K (one
plane) and (N, latent_dim) for k = K.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.init import dcgan_init
from lightgen.nets.mlp import MLPDiscriminator, MLPGenerator
from lightgen.nets.pyramid import Shape, flatten_levels, split_levels


def _widths(widths: Sequence[int], what: str) -> list[int]:
    widths = [int(w) for w in widths]
    if not widths or any(w <= 0 for w in widths):
        raise LightgenError(f"{what} widths must be positive integers, at least one; got {widths}")
    return widths


class BandGenerator(nn.Module):
    """G_k: (z plane (N, 1, H, W), l_k (N, C, H, W)) -> band (N, C, H, W) in (-band_scale, band_scale).

    3x3 convolutions at the level's resolution, batch norm and ReLU after each hidden one, tanh output
    scaled by ``band_scale`` (a band of images in [lo, hi] lies in [-(hi - lo), hi - lo]).
    """

    def __init__(self, channels: int, widths: Sequence[int] = (64, 64), band_scale: float = 2.0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = channels + 1
        for w in _widths(widths, "BandGenerator"):
            layers += [nn.Conv2d(width, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(True)]
            width = w
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.band_scale = float(band_scale)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        return self.band_scale * self.net(torch.cat([low, z], dim=1))


class BandDiscriminator(nn.Module):
    """D_k: (band (N, C, H, W), l_k (N, C, H, W)) -> logits (N,); stride-2 3x3 convolutions with LeakyReLU
    (0.2) on [h, l_k], then a linear output. ``features`` gives the last hidden activations (N, F)."""

    def __init__(self, shape: Shape, widths: Sequence[int] = (64, 128), dropout: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise LightgenError(f"dropout must be in [0, 1); got {dropout}")
        channels, h, w = shape
        self.shape = tuple(shape)
        layers: list[nn.Module] = []
        width = 2 * channels
        for out in _widths(widths, "BandDiscriminator"):
            layers += [nn.Conv2d(width, out, 3, 2, 1), nn.LeakyReLU(0.2, True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width, h, w = out, (h + 1) // 2, (w + 1) // 2  # a 3x3 stride-2 conv with padding 1: ceil(S / 2)
        self.body = nn.Sequential(*layers)
        self.feature_dim = width * h * w
        self.head = nn.Linear(self.feature_dim, 1)
        self.apply(dcgan_init)

    def features(self, band: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        if tuple(band.shape[1:]) != self.shape or band.shape != low.shape:
            raise LightgenError(
                f"BandDiscriminator was built for bands {self.shape} with a low-pass of the same shape; "
                f"got {tuple(band.shape[1:])} and {tuple(low.shape[1:])}"
            )
        return self.body(torch.cat([band, low], dim=1)).flatten(1)

    def forward(self, band: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(band, low)).flatten()


class PyramidGenerator(nn.Module):
    """Every level's generator: ``levels[k]`` is G_k, the last one G_K (an MLP on z_K).

    ``forward(z, context)`` is the training pass: each G_k on its own z_k and the given (real) low-pass,
    levels independent, outputs flattened into one row per example (finest first, then I~_K).
    ``level(k, z_k, low)`` runs one level, for the coarse-to-fine sampling recursion.
    """

    def __init__(
        self,
        shapes: Sequence[Shape],
        latent_dim: int,
        widths: Sequence[int] = (64, 64),
        coarse_hidden: Sequence[int] = (256, 512),
        value_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        super().__init__()
        self.shapes = [tuple(s) for s in shapes]
        self.low, self.high = (float(v) for v in value_range)
        scale = self.high - self.low
        bands = [BandGenerator(s[0], widths, band_scale=scale) for s in self.shapes[:-1]]
        self.levels = nn.ModuleList([*bands, MLPGenerator(latent_dim, self.shapes[-1], coarse_hidden)])
        # z_k: one noise plane per band level, then z_K for the coarsest GAN
        self.noise_sizes = [math.prod(s[1:]) for s in self.shapes[:-1]] + [int(latent_dim)]

    def split_noise(self, z: torch.Tensor) -> list[torch.Tensor]:
        """(N, sum of noise sizes) -> [z_0, ..., z_K] (z_k a (N, 1, H_k, W_k) plane for k < K)."""
        noise_shapes = [(1, *s[1:]) for s in self.shapes[:-1]] + [(self.noise_sizes[-1],)]
        return split_levels(z, noise_shapes)

    def level(self, k: int, z_k: torch.Tensor, low: torch.Tensor | None = None) -> torch.Tensor:
        """G_k's output: the band h~_k given l_k (k < K), or the coarsest image I~_K in [lo, hi] (k = K)."""
        if k == len(self.levels) - 1:
            t = self.levels[k](z_k)  # tanh output in [-1, 1], mapped onto the value range
            return self.low + (self.high - self.low) * (t + 1) / 2
        if low is None:
            raise LightgenError(f"level {k} generates a band conditioned on a low-pass image; got none")
        return self.levels[k](z_k, low)

    def forward(self, z: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        zs = self.split_noise(z)
        lows = split_levels(context, self.shapes[:-1])
        outs = [self.level(k, zs[k], lows[k]) for k in range(len(lows))]
        return flatten_levels([*outs, self.level(len(lows), zs[-1])])


class PyramidDiscriminator(nn.Module):
    """Every level's discriminator: ``levels[k]`` is D_k(h, l_k), the last one D_K(I_K) (an MLP).

    ``forward(x, low, level)`` is D_level's logits (N,); ``low`` is ignored at the coarsest level.
    ``minibatch_kernels`` > 0 gives the coarsest D a minibatch-discrimination layer (Salimans et al.
    2016, sec. 3.2): the unconditional level is the one that can collapse onto one image, while each
    band level is tied to its example by the real low-pass it is conditioned on.
    """

    def __init__(
        self,
        shapes: Sequence[Shape],
        widths: Sequence[int] = (64, 128),
        coarse_hidden: Sequence[int] = (512, 256),
        dropout: float = 0.0,
        minibatch_kernels: int = 0,
        minibatch_kernel_dim: int = 5,
    ) -> None:
        super().__init__()
        self.shapes = [tuple(s) for s in shapes]
        bands = [BandDiscriminator(s, widths, dropout) for s in self.shapes[:-1]]
        coarse = MLPDiscriminator(self.shapes[-1], coarse_hidden, dropout, minibatch_kernels, minibatch_kernel_dim)
        self.levels = nn.ModuleList([*bands, coarse])
        self.has_minibatch = bool(minibatch_kernels)

    def _check(self, level: int, low: torch.Tensor | None) -> bool:
        if not 0 <= level < len(self.levels):
            raise LightgenError(f"pyramid level must be in [0, {len(self.levels) - 1}]; got {level}")
        coarsest = level == len(self.levels) - 1
        if not coarsest and low is None:
            raise LightgenError(f"D_{level} judges a band given its low-pass image; got none")
        return coarsest

    def features(self, x: torch.Tensor, low: torch.Tensor | None, level: int) -> torch.Tensor:
        net = self.levels[level]
        return net.features(x) if self._check(level, low) else net.features(x, low)

    def forward(self, x: torch.Tensor, low: torch.Tensor | None, level: int) -> torch.Tensor:
        net = self.levels[level]
        return net(x) if self._check(level, low) else net(x, low)
