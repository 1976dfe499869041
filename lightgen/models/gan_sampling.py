"""How a GAN samples: latents from the prior (labels for conditional GANs), the generator EMA.

``sample(n, seed, labels, weights)`` is what the grids, the FID callback, ``lightgen sample`` and
``lightgen evaluate`` call; it uses the EMA generator when the model keeps one (``ema_decay``:
Karras et al. 2018; Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training"), in
eval mode (batch-norm running statistics).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.models.latent import Latent


class GeneratorSamplingMixin:
    """Sampling and the generator EMA for :class:`~lightgen.models.gan.GAN` (mixed in before LightningModule)."""

    generator: nn.Module
    generator_ema: nn.Module | None
    generator_steps: int
    hparams: Any
    device: torch.device

    # ------------------------------------------------------------------ generator EMA
    @torch.no_grad()
    def update_ema(self) -> None:
        """EMA of G after a G step: e <- decay e + (1 - decay) p once past ``ema_start`` G steps (a
        copy before), buffers (batch-norm statistics) copied."""
        if self.generator_ema is None:
            return
        decay = self.hparams.ema_decay if self.generator_steps > self.hparams.ema_start else 0.0
        for ema, param in zip(self.generator_ema.parameters(), self.generator.parameters()):
            ema.lerp_(param, 1.0 - decay)
        for ema, buf in zip(self.generator_ema.buffers(), self.generator.buffers()):
            ema.copy_(buf)

    @property
    def sampling_weights(self) -> str:
        """Which generator ``sample()`` uses: "ema" or "raw" (written on evaluation protocol cards)."""
        return "ema" if self.generator_ema is not None else "raw"

    # ------------------------------------------------------------------ sampling
    @property
    def num_classes(self) -> int:
        """Classes a conditional GAN can be asked for (0: unconditional)."""
        return 0

    def draw_latent(self, n: int, seed: int | None = None, labels: torch.Tensor | int | None = None) -> Latent:
        """n latents from the prior, seeded; ``labels`` (a class or one per draw) for conditional GANs."""
        latent = self.latent_prior(n, self.make_generator(seed))
        if labels is None:
            return latent
        if not self.num_classes:
            raise LightgenError(f"{type(self).__name__} is not conditional; it takes no labels")
        labels = torch.as_tensor(labels, device=self.device).long().expand(n).clone()
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise LightgenError(f"labels must be in [0, {self.num_classes - 1}]; got {labels.unique().tolist()}")
        return latent.with_labels(labels)

    @torch.no_grad()
    def sample_from(self, latent: Latent, weights: Literal["ema", "raw"] | None = None) -> torch.Tensor:
        """G(latent) in eval mode (batch-norm running statistics), with the EMA generator when kept
        (``weights="raw"`` asks for the trained one)."""
        net = self.generator_ema if weights != "raw" and self.generator_ema is not None else self.generator
        was_training = net.training
        net.eval()
        try:
            return self.generate(latent.to(self.device), net=net)
        finally:
            net.train(was_training)

    def sample(
        self,
        n: int,
        seed: int | None = None,
        labels: torch.Tensor | int | None = None,
        weights: Literal["ema", "raw"] | None = None,
    ) -> torch.Tensor:
        """n samples G(z), z ~ N(0, I) (and labels for a conditional GAN: given, else drawn)."""
        return self.sample_from(self.draw_latent(n, seed, labels), weights)
