"""DCGAN (Radford, Metz & Chintala 2015): the GAN loop with deep convolutional networks.

Only the networks change (``build_generator`` / ``build_discriminator``); the paper's training
settings are the loop's defaults: Adam(lr=2e-4, betas=(0.5, 0.999)), batch 128 in the paper
(64 in PyTorch's reference example), N(0, 0.02) initialisation, z ~ N(0, I) of size 100.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lightgen.models.gan import GAN
from lightgen.nets.dcgan import DCGANDiscriminator, DCGANGenerator, DiscriminatorNorm


class DCGAN(GAN):
    """GAN with DCGAN networks for 1- or 3-channel images of 28, 32, 64 (or 4*2^k, 7*2^k) pixels.

    Args:
        data_shape: (C, S, S), linked from the datamodule by the CLI.
        g_width: ngf, G's channel count at the last hidden layer (64 in the paper's 64 px net).
        d_width: ndf, D's channel count at the first layer.
        d_norm: "batch" (the paper), "layer" or "none" (WGAN-GP's critic: no batch norm).
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN` (costs, d_steps, optimizers...).
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        g_width: int = 64,
        d_width: int = 64,
        d_norm: DiscriminatorNorm = "batch",
        **kwargs: Any,
    ) -> None:
        super().__init__(data_shape, **kwargs)

    def build_generator(self) -> nn.Module:
        return DCGANGenerator(self.latent_dim, self.data_shape, self.hparams.g_width)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return DCGANDiscriminator(
            self.data_shape,
            hp.d_width,
            hp.d_dropout,
            hp.get("d_norm", "batch"),
            pack=hp.get("d_pack", 1),
            minibatch_kernels=hp.get("d_minibatch_kernels", 0),
            minibatch_kernel_dim=hp.get("d_minibatch_kernel_dim", 5),
        )
