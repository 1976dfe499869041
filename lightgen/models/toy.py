"""The MLP GAN for toy 2-D mixtures (:mod:`lightgen.data.toy`): G with a linear output.

The 5 x 5 grid reaches +-4.15 and a tanh output stops at +-1, so G ends in a plain linear layer, as
in the toy experiments of Metz et al. 2017 ("Unrolled GANs"), Srivastava et al. 2017 ("VEEGAN") and
Lin et al. 2018 ("PacGAN", sec. 5.1: G and D fully connected ReLU nets). Everything else is
:class:`~lightgen.models.gan.GAN`: objectives, ``d_steps``, ``d_pack`` (PacGAN), minibatch
discrimination, EMA.
"""

from __future__ import annotations

from typing import Any, Literal

from torch import nn

from lightgen.models.gan import GAN
from lightgen.nets.mlp import MLPGenerator


class ToyGAN(GAN):
    """GAN with MLP networks whose generator output is linear (unbounded), for 2-D points.

    Args:
        data_shape: (2,), linked from the datamodule by the CLI.
        g_output: "linear" (default: the mixtures' range is not [-1, 1]) or "tanh" (the plain GAN's G).
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN` (objective, d_steps, d_pack,
            g_hidden / d_hidden, optimizers...).
    """

    #: samples are unbounded; the grid mixture spans about [-4.2, 4.2] (the datamodule's value_range)
    value_range = (-4.5, 4.5)

    def __init__(
        self, data_shape: tuple[int, ...], g_output: Literal["linear", "tanh"] = "linear", **kwargs: Any
    ) -> None:
        super().__init__(data_shape, **kwargs)

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return MLPGenerator(self.latent_dim, self.data_shape, hp.g_hidden, output=hp.get("g_output", "linear"))
