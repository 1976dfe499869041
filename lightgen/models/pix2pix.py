"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks").

G is a U-Net (sec. 3.2.1: an encoder-decoder with skips between mirrored layers) whose only noise is its
dropout (sec. 3.1); D is a PatchGAN (sec. 3.2.2: it classifies N x N patches of the (source, image) pair,
70 x 70 for 256-px images) on the pair concatenated along channels (the base's ``discriminate``). G
minimises the conditional GAN cost plus lambda times the L1 distance to the target (eq. 4, lambda = 100):

    G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G),    L_L1 = E ||y - G(x)||_1.

Relative weights. The paper's code trains G on BCE(D(x, G(x)), 1) + 100 * L1 and D on the cross-entropy
divided by 2 (sec. 3.3). lightgen's objectives carry that factor 1/2 in G's cost too (NonSaturating:
0.5 * softplus(-D)), so the adversarial term here is the objective's G cost times 2 (``adversarial_scale``),
which is exactly the paper's BCE(D, 1); L1 keeps lambda = 100 unchanged. D's cost is the objective's own,
which already is the paper's halved D cost.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict
from lightgen.models.latent import Latent
from lightgen.models.translation import ImageTranslationGAN
from lightgen.nets.patchgan import PatchDiscriminator
from lightgen.nets.unet import UNetGenerator

Norm = Literal["batch", "instance", "none"]


class Pix2Pix(ImageTranslationGAN):
    """pix2pix: a U-Net G and a PatchGAN D on (source, image) pairs, trained on cGAN + lambda * L1.

    Args:
        data_shape: (C, H, W) of a target image, linked from the datamodule; H, W divisible by 2**num_downs.
        l1_weight: lambda of eq. 4 (100 in the paper).
        num_downs: U-Net downsamplings (8 for 256 px: a 1 x 1 bottleneck; 5 for 32 px).
        g_channels: filters of G's first layer (64, "C64" in the paper's appendix 6.1.1).
        d_channels: filters of D's first layer (64).
        d_layers: PatchGAN layers of stride 2 (3: the 70 x 70 receptive field of the paper, appendix 6.1.2).
        norm: "batch" (the paper, batch size 1 making it instance norm) or "instance" (or "none").
        dropout: dropout rate in G's innermost decoder layers (0.5, the paper's noise, sec. 3.1).
        paper_inference: translate as the paper does at test time (sec. 3.3): dropout on and batch norm with
            the statistics of the batch being translated (running statistics untouched, dropout seeded by
            ``translate(seed=...)``). False (default): the usual eval mode, deterministic.
        **kwargs: everything else of :class:`~lightgen.models.translation.ImageTranslationGAN` and
            :class:`~lightgen.models.gan.GAN` (source_channels, objective, optimizers, ema_decay...). The
            default optimizers, Adam(2e-4, betas=(0.5, 0.999)), are the paper's (sec. 3.3).
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        l1_weight: float = 100.0,
        num_downs: int = 8,
        g_channels: int = 64,
        d_channels: int = 64,
        d_layers: int = 3,
        norm: Norm = "batch",
        dropout: float = 0.5,
        paper_inference: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("latent_dim", 0):
            raise LightgenError(
                f"Pix2Pix's noise is G's dropout (sec. 3.1); latent_dim must be 0, got {kwargs['latent_dim']}"
            )
        if kwargs.get("scale", 1) != 1:
            raise LightgenError(f"Pix2Pix translates at one size; scale must be 1, got {kwargs['scale']}")
        if l1_weight < 0:
            raise LightgenError(f"l1_weight must be >= 0; got {l1_weight}")
        if not 0.0 <= dropout < 1.0:
            raise LightgenError(f"dropout must be in [0, 1); got {dropout}")
        if num_downs < 1 or d_layers < 1:
            raise LightgenError(f"num_downs and d_layers must be positive integers; got {num_downs}, {d_layers}")
        if len(data_shape) == 3 and any(int(s) % 2**num_downs for s in data_shape[1:]):
            raise LightgenError(
                f"a U-Net with num_downs={num_downs} needs H and W divisible by {2**num_downs}; "
                f"got data_shape {tuple(data_shape)} (lower num_downs or crop the images)"
            )
        super().__init__(data_shape, **kwargs)

    # ------------------------------------------------------------------ the networks
    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return UNetGenerator(
            self._source_channels, self.data_shape[0], hp.num_downs, hp.g_channels, hp.norm, hp.dropout
        )

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return PatchDiscriminator(self.d_input_shape[0], hp.d_channels, hp.d_layers, hp.norm)

    # ------------------------------------------------------------------ G's cost (eq. 4)
    @property
    def adversarial_scale(self) -> float:
        """The factor on the objective's G cost that gives the paper's BCE(D(x, G(x)), 1) (2 for NonSaturating)."""
        return self.objective.paper_g_scale

    def g_loss(self, fake: torch.Tensor, latent: Latent, real: torch.Tensor | None = None) -> LossDict:
        """adversarial_scale * J(G) + l1_weight * mean |fake - real| (eq. 4; pixel mean as the paper's code).

        Terms: ``adversarial`` (the scaled cGAN term: the paper's BCE for NonSaturating) and ``l1``."""
        if real is None:
            raise LightgenError("Pix2Pix's generator cost compares G(source) with the target; got real=None")
        adversarial = self.adversarial_scale * self.objective.g_loss(self.critic(latent), fake, real)["loss"]
        l1 = (fake - real).abs().mean()
        return {"loss": adversarial + self.hparams.l1_weight * l1, "adversarial": adversarial, "l1": l1}

    # ------------------------------------------------------------------ validation: L1 of the translations
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        super().validation_step(batch, batch_idx)
        self._log_l1(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        super().test_step(batch, batch_idx)
        self._log_l1(batch, batch_idx, "test")

    @torch.no_grad()
    def _log_l1(self, batch: Any, batch_idx: int, stage: str) -> None:
        """<stage>/l1: mean |translate(source) - target| over held-out pairs (the EMA G when kept; the seed
        only matters to ``paper_inference``'s dropout)."""
        target = self.real_from_batch(batch)
        fake = self.translate(self.source_from_batch(batch), seed=batch_idx)
        self.log(f"{stage}/l1", (fake - target).abs().mean(), sync_dist=True)

    # ------------------------------------------------------------------ the paper's test-time mode (sec. 3.3)
    def translate(
        self, source: torch.Tensor, weights: Literal["ema", "raw"] | None = None, seed: int | None = None
    ) -> torch.Tensor:
        if not self.hparams.get("paper_inference", False):
            return super().translate(source, weights, seed)
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            if seed is not None:
                torch.manual_seed(seed)
            return super().translate(source, weights, seed)

    @torch.no_grad()
    def sample_from(self, latent: Latent, weights: Literal["ema", "raw"] | None = None) -> torch.Tensor:
        if not self.hparams.get("paper_inference", False):
            return super().sample_from(latent, weights)
        net = self.generator_ema if weights != "raw" and self.generator_ema is not None else self.generator
        saved = [b.clone() for b in net.buffers()]  # train mode updates batch-norm running statistics: restore
        was_training = net.training
        net.train()
        try:
            return self.generate(latent.to(self.device), net=net)
        finally:
            for buffer, value in zip(net.buffers(), saved):
                buffer.copy_(value)
            net.train(was_training)
