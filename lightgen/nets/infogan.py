"""The InfoGAN MNIST networks (Chen et al. 2016, "InfoGAN", appendix C.1, Table 1), as Lucic et al. 2018
("Are GANs Created Equal? A Large-Scale Study", appendix, Table 7) used them for every GAN they compared on
MNIST and Fashion-MNIST:

    G: z -> FC 1024, BN, ReLU -> FC 7x7x128, BN, ReLU -> deconv 64 4x4 s2, BN, ReLU -> deconv C 4x4 s2 -> out
    D: x -> conv 64 4x4 s2, lReLU(0.2) -> conv 128 4x4 s2, norm, lReLU -> FC 1024, norm, lReLU -> FC 1 (logit)

InfoGAN draws 62 noise variables (plus its codes); Lucic et al. draw z of size 64, which lightgen's
:class:`~lightgen.models.infogan_nets.InfoNetGAN` uses by default. D's ``norm`` is batch norm in the paper;
"layer" or "none" serves WGAN-GP, whose per-sample gradient penalty is invalid with batch norm in the critic
(Gulrajani et al. 2017, sec. 4). Weights start from N(0, 0.02) (Radford et al. 2015). Images are 28x28 with
one channel; any other shape is refused with a one-line error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.dcgan import DiscriminatorNorm, feature_norm
from lightgen.nets.init import dcgan_init

INFOGAN_SHAPE = (1, 28, 28)
OutputActivation = Literal["tanh", "sigmoid", "none"]


def _checked_shape(shape: Sequence[int], what: str) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    if shape != INFOGAN_SHAPE:
        raise LightgenError(f"{what} is the InfoGAN MNIST network for 1x28x28 images; got shape {shape}")
    return shape  # type: ignore[return-value]


def vector_norm(kind: str, features: int) -> nn.Module:
    """The norm of D's fully connected layer: batch norm, layer norm, or none."""
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    if kind == "none":
        return nn.Identity()
    raise LightgenError(f"unknown discriminator norm {kind!r}; expected 'batch', 'layer' or 'none'")


class InfoGANGenerator(nn.Module):
    """z of shape (N, latent_dim) -> images (N, 1, 28, 28); ``output`` "tanh" for data in [-1, 1],
    "sigmoid" for [0, 1], "none" for raw values."""

    def __init__(
        self, latent_dim: int = 64, out_shape: Sequence[int] = INFOGAN_SHAPE, output: OutputActivation = "tanh"
    ) -> None:
        super().__init__()
        channels, _, _ = _checked_shape(out_shape, "InfoGANGenerator")
        activations = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "none": nn.Identity}
        if output not in activations:
            raise LightgenError(f"unknown output activation {output!r}; expected one of {sorted(activations)}")
        self.latent_dim = latent_dim
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, 1024, bias=False),
            nn.BatchNorm1d(1024),
            nn.ReLU(True),
            nn.Linear(1024, 128 * 7 * 7, bias=False),
            nn.BatchNorm1d(128 * 7 * 7),
            nn.ReLU(True),
        )
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(64),
            nn.ReLU(True),
            nn.ConvTranspose2d(64, channels, 4, 2, 1),  # 14 -> 28
            activations[output](),
        )
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(z).view(z.shape[0], 128, 7, 7))


class InfoGANDiscriminator(nn.Module):
    """Images (N, 1, 28, 28) -> logits (N,); ``norm``: "batch" (the paper), "layer" or "none" (WGAN-GP).

    ``features(x)`` gives the (N, 1024) activations before the last layer."""

    def __init__(self, in_shape: Sequence[int] = INFOGAN_SHAPE, norm: DiscriminatorNorm = "batch") -> None:
        super().__init__()
        self.in_shape = _checked_shape(in_shape, "InfoGANDiscriminator")
        affine_norm = norm != "none"  # a norm with its own shift makes the layer's bias redundant
        self.body = nn.Sequential(
            nn.Conv2d(self.in_shape[0], 64, 4, 2, 1),  # 28 -> 14
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(64, 128, 4, 2, 1, bias=not affine_norm),  # 14 -> 7
            feature_norm(norm, 128),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1024, bias=not affine_norm),
            vector_norm(norm, 1024),
            nn.LeakyReLU(0.2, True),
        )
        self.feature_dim = 1024
        self.head = nn.Linear(1024, 1)
        self.apply(dcgan_init)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise LightgenError(f"InfoGANDiscriminator takes (N, 1, 28, 28) images; got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten()
