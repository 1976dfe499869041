"""DCGAN generator and discriminator (Radford, Metz & Chintala 2015, "Unsupervised Representation
Learning with Deep Convolutional GANs", sec. 3 and fig. 1).

The architecture guidelines of sec. 3: strided convolutions instead of pooling (fractionally
strided in G), batch norm in both nets except G's output and D's input layer, ReLU in G with a tanh
output, LeakyReLU (slope 0.2) in D, no fully connected hidden layers. Widths double as the
resolution halves: at 64 px G maps z -> 4x4x8ngf -> 8x8x4ngf -> 16x16x2ngf -> 32x32xngf -> 64x64xC,
and D mirrors it. 28 px images start from 7x7 instead of 4x4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.init import dcgan_init
from lightgen.nets.minibatch import MinibatchDiscrimination
from lightgen.nets.shapes import dcgan_base_size, image_shape


class DCGANGenerator(nn.Module):
    """z of shape (N, latent_dim) -> images of shape (N, C, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], width: int = 64) -> None:
        super().__init__()
        channels, size, _ = image_shape(out_shape, "DCGANGenerator")
        base, n_up = dcgan_base_size(size, "DCGANGenerator")
        self.latent_dim = latent_dim
        widths = [width * 2 ** (n_up - 1 - i) for i in range(n_up)]  # e.g. 8w, 4w, 2w, w at 64 px
        layers: list[nn.Module] = [
            # project z (as a 1x1 map) to base x base
            nn.ConvTranspose2d(latent_dim, widths[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


DiscriminatorNorm = Literal["batch", "layer", "none"]


def feature_norm(kind: str, channels: int) -> nn.Module:
    """Batch norm (DCGAN), layer norm over (C, H, W) (WGAN-GP's critic: GroupNorm with one group), or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise LightgenError(f"unknown discriminator norm {kind!r}; expected 'batch', 'layer' or 'none'")


class DCGANDiscriminator(nn.Module):
    """Images (N, C, S, S) -> logits (N,) of "x is real"; ``dropout`` after each hidden block.

    ``norm``: "batch" (the paper), "layer" or "none" (WGAN-GP's critic must not use batch norm, since its
    penalty is per sample: Gulrajani et al. 2017, sec. 4). ``features(x)`` gives the (N, F) activations
    before the last layer, for projection conditioning and feature matching.

    ``pack`` = m: D judges m images at once, stacked along channels (PacGAN, Lin et al. 2018), so it
    takes (N/m, m*C, S, S). ``minibatch_kernels`` = B > 0: a minibatch-discrimination layer
    (Salimans et al. 2016, sec. 3.2) on the features, then a linear output layer.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        width: int = 64,
        dropout: float = 0.0,
        norm: DiscriminatorNorm = "batch",
        pack: int = 1,
        minibatch_kernels: int = 0,
        minibatch_kernel_dim: int = 5,
    ) -> None:
        super().__init__()
        channels, size, _ = image_shape(in_shape, "DCGANDiscriminator")
        if pack < 1:
            raise LightgenError(f"pack must be a positive integer; got {pack}")
        channels *= pack
        base, n_down = dcgan_base_size(size, "DCGANDiscriminator")
        if not 0.0 <= dropout < 1.0:
            raise LightgenError(f"dropout must be in [0, 1); got {dropout}")
        self.in_shape = (channels, size, size)
        widths = [width * 2**i for i in range(n_down)]  # w, 2w, 4w, 8w at 64 px
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), feature_norm(norm, w_out), nn.LeakyReLU(0.2, True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        self.body = nn.Sequential(*layers)
        self.feature_dim = widths[-1] * base * base
        self.minibatch = (
            MinibatchDiscrimination(self.feature_dim, minibatch_kernels, minibatch_kernel_dim)
            if minibatch_kernels
            else None
        )
        self.head = (
            nn.Linear(self.minibatch.out_features, 1)
            if self.minibatch is not None
            else nn.Conv2d(widths[-1], 1, base, 1, 0, bias=False)  # base x base -> 1x1 logit
        )
        self.apply(dcgan_init)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, S, S) -> the last hidden block's activations, flattened to (N, feature_dim)."""
        if x.shape[1:] != self.in_shape:
            raise LightgenError(f"DCGANDiscriminator was built for {self.in_shape} images; got {tuple(x.shape[1:])}")
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        if self.minibatch is not None:
            return self.head(self.minibatch(h)).flatten()
        return self.head(h.view(h.shape[0], -1, *self.head.kernel_size)).flatten()
