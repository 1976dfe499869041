"""The GAN loop with the InfoGAN MNIST networks, the architecture of Lucic et al. 2018 ("Are GANs Created
Equal?", Table 7) for every objective on MNIST and Fashion-MNIST (:mod:`lightgen.nets.infogan`).

Only the networks change (``build_generator`` / ``build_discriminator``); the objective, d_steps and
optimizers are the GAN loop's arguments. z has size 64 as in Lucic et al. (InfoGAN itself: 62 + codes).
This is not InfoGAN's mutual-information game: no latent codes, no Q head.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from lightgen.models.gan import GAN
from lightgen.nets.dcgan import DiscriminatorNorm
from lightgen.nets.infogan import InfoGANDiscriminator, InfoGANGenerator, OutputActivation


class InfoNetGAN(GAN):
    """GAN with the InfoGAN MNIST networks for 1x28x28 images.

    Args:
        data_shape: (1, 28, 28), linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I) (64, Lucic et al. 2018).
        d_norm: "batch" (the paper), "layer" or "none" (WGAN-GP's critic: no batch norm).
        g_output: G's output activation: "tanh" for data in [-1, 1], "sigmoid" for [0, 1].
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN` (objective, d_steps, optimizers...).
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        latent_dim: int = 64,
        d_norm: DiscriminatorNorm = "batch",
        g_output: OutputActivation = "tanh",
        **kwargs: Any,
    ) -> None:
        super().__init__(data_shape, latent_dim=latent_dim, **kwargs)

    supports_packing = False

    def build_generator(self) -> nn.Module:
        return InfoGANGenerator(self.latent_dim, self.data_shape, self.hparams.get("g_output", "tanh"))

    def build_discriminator(self) -> nn.Module:
        return InfoGANDiscriminator(self.data_shape, self.hparams.get("d_norm", "batch"))
