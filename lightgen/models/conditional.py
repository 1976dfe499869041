"""Conditional GANs (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets").

Both players see the class label y: G(z, y) and D(x, y), trained on the game of the GAN loop with
``V(D, G) = E_{x,y ~ p_data}[log D(x, y)] + E_{z, y ~ p_data(y)}[log(1 - D(G(z, y), y))]`` (their eq. 2).
Each fake of a D step carries the label of the real image it is paired with, so the labels of the
fakes follow p_data(y); outside training (sampling, grids, evaluation) y is drawn uniformly from the K
classes or given by the caller. The only changes to the loop are its latent, generator and
discriminator hooks, shared by both classes through :class:`ConditionalMixin`:

- :class:`ConditionalGAN`: MLP networks on concat[z, onehot(y)] and concat[x, onehot(y)] (the paper's).
- :class:`ConditionalDCGAN`: DCGAN networks; D conditions by one-hot label planes ("concat") or by
  projection (Miyato & Koyama 2018, "cGANs with Projection Discriminator", eq. 3).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.models.dcgan import DCGAN
from lightgen.models.gan import GAN
from lightgen.models.latent import Latent
from lightgen.nets.conditional import (
    ConditionalDCGANDiscriminator,
    ConditionalDCGANGenerator,
    ConditionalMLPDiscriminator,
    ConditionalMLPGenerator,
    Conditioning,
    check_classes,
)


def check_label_range(labels: torch.Tensor, num_classes: int, what: str) -> None:
    """A one-line error naming the bad values when any label is outside [0, num_classes)."""
    bad = (labels < 0) | (labels >= num_classes)
    if bool(bad.any()):
        raise LightgenError(
            f"{what} takes labels in [0, {num_classes - 1}]; the batch holds {sorted(labels[bad].unique().tolist())}"
        )


class ConditionalMixin:
    """The hooks that make a GAN class-conditional; put it before the GAN class in the bases.

    Args:
        num_classes: K, the number of classes (labels 0..K-1).
        conditioning: how D sees y: "concat" (one-hot appended to its input) or "projection".
    """

    hparams: Any
    generator: nn.Module
    discriminator: nn.Module
    supports_packing = False  # D judges (x, y) pairs one at a time

    def __init__(
        self, data_shape: tuple[int, ...], num_classes: int = 10, conditioning: Conditioning = "concat", **kwargs: Any
    ) -> None:
        check_classes(num_classes, conditioning)
        super().__init__(data_shape, **kwargs)  # type: ignore[call-arg]

    @property
    def num_classes(self) -> int:
        return int(self.hparams.num_classes)

    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """z ~ N(0, I) and y ~ U{0, ..., K-1}, both from ``generator`` (z drawn first)."""
        latent = super().latent_prior(n, generator)  # type: ignore[misc]
        labels = torch.randint(0, self.num_classes, (n,), generator=generator, device=latent.z.device)
        return latent.with_labels(labels)

    def batch_labels(self, batch: Any) -> torch.Tensor:
        """The labels y of a training batch (x, y), or a one-line error when it carries none."""
        if not isinstance(batch, (tuple, list)) or len(batch) < 2 or not isinstance(batch[1], torch.Tensor):
            raise LightgenError(
                f"{type(self).__name__} trains on labelled batches (images, labels); this batch has no labels "
                "(use a datamodule that yields (x, y), such as lightgen.data.MNIST)"
            )
        return batch[1]

    def condition_on_batch(self, latent: Latent, batch: Any) -> Latent:
        """The fakes take the labels of the batch's real images (y ~ p_data(y)); no batch: the drawn ones."""
        if batch is None:
            return latent
        labels = self.batch_labels(batch)
        if labels.shape != (len(latent),):
            raise LightgenError(f"expected {len(latent)} labels of shape ({len(latent)},); got {tuple(labels.shape)}")
        # one small host sync per batch on an accelerator: a bad label must not reach one_hot / nn.Embedding,
        # whose CUDA kernels would stop the process with an opaque device-side assert
        check_label_range(labels, self.num_classes, type(self).__name__)
        return latent.with_labels(labels.long().to(latent.z.device))

    def _labels(self, latent: Latent | None) -> torch.Tensor:
        if latent is None or latent.labels is None:
            raise LightgenError(f"{type(self).__name__} needs a label per draw; the latent carries none")
        return latent.labels

    def generate(self, latent: Latent, net: nn.Module | None = None) -> torch.Tensor:
        """G(z, y) with ``net`` (default the trained generator)."""
        return (net if net is not None else self.g_net)(latent.z, self._labels(latent))

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D(x, y), y the labels of the pair (the real image's, shared by its fake)."""
        return self.d_net(x, self._labels(latent))

    def discriminator_features(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D's features of x given the pair's labels (for feature matching)."""
        return self.discriminator.features(x, self._labels(latent))


class ConditionalGAN(ConditionalMixin, GAN):
    """Conditional GAN with MLP networks (Mirza & Osindero 2014, sec. 4.1).

    Args:
        data_shape: shape of one example, linked from the datamodule by the CLI.
        num_classes: K (10 for MNIST).
        conditioning: "concat" (the paper: concat[x, onehot(y)] into D) or "projection".
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN` (latent_dim, objective, widths...).
    """

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return ConditionalMLPGenerator(self.latent_dim, hp.num_classes, self.data_shape, hp.g_hidden)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return ConditionalMLPDiscriminator(self.data_shape, hp.num_classes, hp.d_hidden, hp.d_dropout, hp.conditioning)


class ConditionalDCGAN(ConditionalMixin, DCGAN):
    """Conditional GAN with DCGAN networks: G on concat[z, onehot(y)] as its 1x1 input map; D by label
    planes ("concat", C + K input channels) or by projection (Miyato & Koyama 2018).

    Args:
        data_shape: (C, S, S), linked from the datamodule by the CLI.
        num_classes: K (10 for MNIST / Fashion-MNIST).
        conditioning: "concat" or "projection".
        **kwargs: everything else of :class:`~lightgen.models.dcgan.DCGAN` (g_width, d_width, d_norm, ...).
    """

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return ConditionalDCGANGenerator(self.latent_dim, hp.num_classes, self.data_shape, hp.g_width)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return ConditionalDCGANDiscriminator(
            self.data_shape, hp.num_classes, hp.d_width, hp.d_dropout, hp.get("d_norm", "batch"), hp.conditioning
        )
