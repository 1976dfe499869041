"""BEGAN's networks (Berthelot, Schumm & Metz 2017, "BEGAN: Boundary Equilibrium Generative Adversarial
Networks", sec. 3.5 and fig. 1): an autoencoder discriminator and a generator with the decoder's architecture.

Fig. 1, scaled to any width n and embedding size h:

    encoder  x (C, S, S) -> conv3x3 n -> [conv3x3 kn, conv3x3 kn, subsample to (k+1)n] for k = 1..L
             -> conv3x3 (L+1)n x2 at the base size -> fully connected -> h (no non-linearity)
    decoder  h -> fully connected -> (n, b, b) -> [conv3x3 n, conv3x3 n, nearest-neighbour x2] x L
             -> conv3x3 n x2 -> conv3x3 C (no output non-linearity)

ELU after every hidden convolution, no batch norm; subsampling is a stride-2 3x3 convolution and the width
grows linearly (n, 2n, 3n, ...) with each one. The generator is the decoder with its own weights, fed z
instead of h. The base size b is the image size halved until it is at most 8: 64 -> 8 (L = 3), 32 -> 8
(L = 2), 28 -> 7 (L = 2). The paper's skip connections (an option of sec. 3.5) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.shapes import image_shape


def began_base_size(size: int, what: str) -> tuple[int, int]:
    """(b, L) with ``size = b * 2**L``, 4 <= b <= 8 and L >= 1: the decoder's start map and its upsamplings."""
    base, n = size, 0
    while base > 8 and base % 2 == 0:
        base //= 2
        n += 1
    if not (4 <= base <= 8 and n >= 1):
        raise LightgenError(
            f"{what} cannot build a network for {size}x{size} images: the size must be b*2^L with 4 <= b <= 8 "
            f"and L >= 1 (e.g. 16, 28, 32, 64, 128)"
        )
    return base, n


def conv_elu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    """A 3x3 convolution (padding 1) followed by ELU, the paper's building block."""
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.ELU(inplace=True)]


def _check_sizes(width: int, hidden_dim: int, what: str) -> None:
    if width < 1 or hidden_dim < 1:
        raise LightgenError(f"{what} needs a positive width and hidden_dim; got width={width}, hidden_dim={hidden_dim}")


class BEGANDecoder(nn.Module):
    """(N, in_dim) -> (N, C, S, S): fully connected to n x b x b, then L blocks of two conv3x3 + nearest x2."""

    def __init__(self, in_dim: int, out_shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        _check_sizes(width, in_dim, "BEGANDecoder")
        channels, size, _ = image_shape(out_shape, "BEGANDecoder")
        self.base, n_up = began_base_size(size, "BEGANDecoder")
        self.in_dim, self.width = in_dim, width
        self.project = nn.Linear(in_dim, width * self.base * self.base)
        layers: list[nn.Module] = []
        for _ in range(n_up):
            layers += [*conv_elu(width, width), *conv_elu(width, width), nn.Upsample(scale_factor=2, mode="nearest")]
        layers += [*conv_elu(width, width), *conv_elu(width, width), nn.Conv2d(width, channels, 3, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() != 2 or h.shape[1] != self.in_dim:
            raise LightgenError(f"BEGANDecoder expects inputs of shape (N, {self.in_dim}); got {tuple(h.shape)}")
        return self.net(self.project(h).view(h.shape[0], self.width, self.base, self.base))


class BEGANEncoder(nn.Module):
    """(N, C, S, S) -> (N, hidden_dim): conv3x3 n, L blocks ending in a stride-2 subsampling, fully connected."""

    def __init__(self, in_shape: Sequence[int], width: int = 64, hidden_dim: int = 64) -> None:
        super().__init__()
        _check_sizes(width, hidden_dim, "BEGANEncoder")
        channels, size, _ = image_shape(in_shape, "BEGANEncoder")
        base, n_down = began_base_size(size, "BEGANEncoder")
        self.in_shape = (channels, size, size)
        layers: list[nn.Module] = conv_elu(channels, width)
        for k in range(1, n_down + 1):  # widths grow linearly: kn at level k (sec. 3.5)
            layers += [*conv_elu(k * width, k * width), *conv_elu(k * width, k * width)]
            layers += conv_elu(k * width, (k + 1) * width, stride=2)  # subsampling
        top = (n_down + 1) * width
        layers += [*conv_elu(top, top), *conv_elu(top, top)]
        self.net = nn.Sequential(*layers)
        self.embed = nn.Linear(top * base * base, hidden_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise LightgenError(f"BEGANEncoder was built for {self.in_shape} images; got {tuple(x.shape[1:])}")
        return self.embed(self.net(x).flatten(1))


class BEGANAutoencoder(nn.Module):
    """BEGAN's discriminator D: x (N, C, S, S) -> its reconstruction D(x) of the same shape, through the
    embedding h (N, hidden_dim). ``features(x)`` is h (for feature matching and probes)."""

    def __init__(self, in_shape: Sequence[int], width: int = 64, hidden_dim: int = 64) -> None:
        super().__init__()
        self.encoder = BEGANEncoder(in_shape, width, hidden_dim)
        self.decoder = BEGANDecoder(hidden_dim, in_shape, width)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class BEGANGenerator(BEGANDecoder):
    """BEGAN's generator G: z (N, latent_dim) -> images (N, C, S, S), the decoder's architecture (own weights).
    No output non-linearity, as in the paper: samples are clipped to the data range only for display."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], width: int = 64) -> None:
        super().__init__(latent_dim, out_shape, width)
