"""LAPGAN (Denton, Chintala, Szlam & Fergus 2015, "Deep Generative Image Models using a Laplacian
Pyramid of Adversarial Networks"): a Laplacian pyramid of GANs, sampled coarse to fine.

The image's pyramid (:mod:`lightgen.nets.pyramid`) has bands h_k = I_k - u(I_{k+1}) (k < K) and the
coarsest image I_K. Level K is an ordinary GAN, G_K(z_K) -> I~_K. Level k < K is a conditional GAN on
the band: G_k(z_k, l_k) -> h~_k given the low-pass l_k = u(I_{k+1}), and D_k(h, l_k) judges a real or
generated band given that low-pass (D_k takes the pair along channels; the paper adds l_k to h before
D_k's first layer: see :mod:`lightgen.nets.lapgan`). Training (sec. 3.2): every level's low-pass is
computed from the real image, so each level is an independent conditional GAN of the pyramid's band
given the real coarser image. Sampling (eq. 3): I~_K = G_K(z_K), then I~_k = u(I~_{k+1}) + G_k(z_k,
u(I~_{k+1})) down to the full-size I~_0.

**One LightningModule.** The levels share nothing but the data, so they could be separate modules;
one module keeps the GAN loop unchanged (``training_step`` is not overridden), one checkpoint holds
the whole pyramid that sampling needs, and ``lightgen sample`` / ``evaluate`` / the EMA see one
generator. The generator optimizer holds every G_k and the discriminator optimizer every D_k, and
each step minimises the sum of the levels' losses. The levels stay independent: level k's loss
depends only on G_k's and D_k's parameters, so the gradient of the sum with respect to them is level
k's own gradient (tested), and Adam's update is per parameter (its moments are elementwise), so one
Adam over the disjoint sets is exactly one Adam per level with the same settings (tested). What they
do share: the batch schedule (every level steps on every batch) and the non-finite check (one
diverging level stops the run).

**How the loop's hooks carry the pyramid.** Each example's levels travel as one flat row, finest
first (:func:`~lightgen.nets.pyramid.flatten_levels`):

    real_from_batch(batch)          [h_0, ..., h_{K-1}, I_K] of the batch's images, flattened
    condition_on_batch(latent, b)   Latent.context = [l_0, ..., l_{K-1}] of the real images, flattened
    latent_prior(n)                 Latent.z = [z_0 plane, ..., z_{K-1} plane, z_K], flattened
    generate(latent)                context given: [h~_0, ..., h~_{K-1}, I~_K], each G_k on the real l_k;
                                    context None: the sampling recursion, returned as its bands
    d_loss / g_loss                 split per level; the objective per level with D_k as the critic;
                                    "loss" is the sum, "level<k>/<term>" each level's terms, and each
                                    other term the mean over levels (e.g. d_x)

``sample(n, seed)`` / ``sample_from(latent)`` run the recursion and return I~_0 (N, C, H, W);
``sample_levels(latent)`` returns every I~_k (the levels picture,
:mod:`lightgen.callbacks.lapgan_pictures`). Each I~_k is clamped to the value range: the real
low-passes G_{k-1} was trained on lie in it, and the clamp only bites where a band overshoots.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict
from lightgen.models.gan import GAN
from lightgen.models.latent import Latent
from lightgen.nets.lapgan import PyramidDiscriminator, PyramidGenerator
from lightgen.nets.pyramid import Downsample, LaplacianPyramid, Shape, Upsample, flatten_levels, split_levels


class LevelCritic:
    """D_k with its low-pass bound, as the objectives and penalties call a critic: ``critic(x)`` is
    D_k(x | l_k), ``critic.features(x)`` D_k's last hidden features."""

    def __init__(self, model: LAPGAN, level: int, low: torch.Tensor | None) -> None:
        self.model, self.level, self.low = model, level, low

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.discriminate_level(self.level, x, self.low)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.discriminator.features(x, self.low, self.level)


class LAPGAN(GAN):
    """Laplacian pyramid of GANs on images (C, H, W) with H, W divisible by 2^(levels - 1).

    Args:
        data_shape: (C, H, W), linked from the datamodule by the CLI.
        levels: images in the pyramid, K + 1 (3: 28 -> 14 -> 7 or 32 -> 16 -> 8; 4 for 64 -> 8).
        downsample: d(.), "box" (2x2 average) or "binomial" (5-tap blur, then decimation).
        upsample: u(.), "bilinear" or "nearest".
        g_level_widths: channels of each hidden 3x3 conv of every band generator G_k (k < K).
        d_level_widths: channels of each stride-2 conv of every band discriminator D_k (k < K).
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN`: ``latent_dim`` is z_K's size,
            ``g_hidden`` / ``d_hidden`` the widths of the coarsest level's MLPs, ``d_dropout`` applies
            to every D_k, ``d_minibatch_kernels`` > 0 adds minibatch discrimination (Salimans et al.
            2016) to the coarsest D only (the unconditional level, the one that can collapse; not in the
            2015 paper), and the objective, optimizers, d_steps, EMA... are shared by all levels.
    """

    supports_packing = False  # D_k judges (band, low-pass) pairs one at a time

    def __init__(
        self,
        data_shape: tuple[int, ...],
        levels: int = 3,
        downsample: Downsample = "box",
        upsample: Upsample = "bilinear",
        g_level_widths: tuple[int, ...] = (64, 64),
        d_level_widths: tuple[int, ...] = (64, 128),
        **kwargs: Any,
    ) -> None:
        LaplacianPyramid(levels, downsample, upsample).shapes(data_shape)  # one-line errors before any net
        super().__init__(data_shape, **kwargs)

    # ------------------------------------------------------------------ the pyramid
    @cached_property
    def pyramid(self) -> LaplacianPyramid:
        hp = self.hparams
        return LaplacianPyramid(int(hp.levels), hp.downsample, hp.upsample)

    @cached_property
    def level_shapes(self) -> list[Shape]:
        """(C, H_k, W_k) of every level, finest first."""
        return self.pyramid.shapes(self.data_shape)

    @property
    def num_levels(self) -> int:
        return self.pyramid.levels

    # ------------------------------------------------------------------ hooks: networks
    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return PyramidGenerator(self.level_shapes, self.latent_dim, hp.g_level_widths, hp.g_hidden, self.value_range)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return PyramidDiscriminator(
            self.level_shapes,
            hp.d_level_widths,
            hp.d_hidden,
            hp.d_dropout,
            hp.get("d_minibatch_kernels", 0),
            hp.get("d_minibatch_kernel_dim", 5),
        )

    # ------------------------------------------------------------------ hooks: data and latents
    def _images(self, batch: Any) -> torch.Tensor:
        x = super().real_from_batch(batch)
        if tuple(x.shape[1:]) != self.data_shape:
            raise LightgenError(f"LAPGAN was built for images {self.data_shape}; the batch holds {tuple(x.shape[1:])}")
        return x

    def real_from_batch(self, batch: Any) -> torch.Tensor:
        """The batch's Laplacian pyramids [h_0, ..., h_{K-1}, I_K], one flat row per image."""
        return flatten_levels(self.pyramid.decompose(self._images(batch)))

    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """z = [z_0, ..., z_K] ~ N(0, I): a noise plane per band level, then z_K of size latent_dim."""
        size = sum(self.generator.noise_sizes)
        return Latent(torch.randn(n, size, generator=generator, device=self.device))

    def condition_on_batch(self, latent: Latent, batch: Any) -> Latent:
        """Training: the context is the real images' low-passes [l_0, ..., l_{K-1}], flattened."""
        if batch is None:
            return latent
        lows = self.pyramid.low_passes(self._images(batch).to(latent.z.device))
        return latent.with_context(flatten_levels(lows))

    def _lows(self, latent: Latent | None) -> list[torch.Tensor | None]:
        """[l_0, ..., l_{K-1}, None] from the latent's context (None: the coarsest level has none)."""
        if latent is None or latent.context is None:
            raise LightgenError(
                "LAPGAN's band discriminators need the real low-pass images in Latent.context "
                "(set by condition_on_batch from a training batch); got none"
            )
        return [*split_levels(latent.context, self.level_shapes[:-1]), None]

    # ------------------------------------------------------------------ hooks: the players
    def generate(self, latent: Latent, net: nn.Module | None = None) -> torch.Tensor:
        """Every level's output, flattened: with a context, h~_k = G_k(z_k, l_k) on the given (real) l_k and
        I~_K = G_K(z_K), levels independent; without one, the bands of the coarse-to-fine sample."""
        net = net if net is not None else self.g_net
        if latent.context is None:
            return flatten_levels(self.pyramid.bands(self.generate_pyramid(latent, net)))
        return net(latent.z, latent.context)

    def generate_pyramid(self, latent: Latent, net: nn.Module | None = None) -> list[torch.Tensor]:
        """The sampling recursion (eq. 3), [I~_0, ..., I~_K]: I~_K = G_K(z_K), then for k = K-1 ... 0
        I~_k = clamp(l_k + G_k(z_k, l_k)) with l_k = u(I~_{k+1}), the generated (not a real) low-pass."""
        net = net if net is not None else self.generator
        net = getattr(net, "module", net)  # a DDP wrapper's network
        zs = net.split_noise(latent.z)
        low, high = self.value_range
        image = net.level(self.pyramid.coarsest, zs[-1])
        images = [image]
        for k in reversed(range(self.pyramid.coarsest)):
            lowpass = self.pyramid.expand(image)
            image = (lowpass + net.level(k, zs[k], lowpass)).clamp(low, high)
            images.append(image)
        return images[::-1]

    def discriminate_level(self, level: int, x: torch.Tensor, low: torch.Tensor | None) -> torch.Tensor:
        """D_level(x | l_level): logits (N,)."""
        return self.d_net(x, low, level=level)

    def level_critic(self, level: int, low: torch.Tensor | None) -> LevelCritic:
        return LevelCritic(self, level, low)

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """Every D_k on its level of the flat rows x: logits (N, levels)."""
        xs, lows = split_levels(x, self.level_shapes), self._lows(latent)
        return torch.stack([self.discriminate_level(k, xs[k], lows[k]) for k in range(self.num_levels)], dim=1)

    def discriminator_features(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """Every D_k's features of its level, concatenated: (N, sum F_k)."""
        xs, lows = split_levels(x, self.level_shapes), self._lows(latent)
        return torch.cat([self.discriminator.features(xs[k], lows[k], k) for k in range(self.num_levels)], dim=1)

    # ------------------------------------------------------------------ hooks: losses
    @staticmethod
    def _sum_levels(per_level: list[LossDict]) -> LossDict:
        """The terms of all levels: "loss" their sum, "level<k>/<term>" level k's, other shared terms their mean."""
        terms: LossDict = {"loss": torch.stack([t["loss"] for t in per_level]).sum()}
        shared = set.intersection(*(set(t) for t in per_level)) - {"loss"}
        for key in sorted(shared):
            terms[key] = torch.stack([t[key].detach().float() for t in per_level]).mean()
        for k, level_terms in enumerate(per_level):
            terms.update({f"level{k}/{key}": v for key, v in level_terms.items()})
        return terms

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, latent: Latent, regularize: bool = True) -> LossDict:
        """Sum over levels of the objective's J(D_k) on the real band h_k vs the fake h~_k, both given the
        real low-pass l_k (the coarsest: I_K vs I~_K), plus each level's regularisers when due."""
        reals, fakes = split_levels(real, self.level_shapes), split_levels(fake, self.level_shapes)
        lows = self._lows(latent)
        per_level = []
        for k in range(self.num_levels):
            gen, scale = self.penalty_inputs(regularize, k)  # each level its own noise stream
            critic = self.level_critic(k, lows[k])
            per_level.append(
                self.objective.d_loss(critic, reals[k], fakes[k], self.discriminator_steps, gen, regularize, scale)
            )
        return self._sum_levels(per_level)

    def g_loss(self, fake: torch.Tensor, latent: Latent, real: torch.Tensor | None = None) -> LossDict:
        """Sum over levels of the objective's J(G_k) on h~_k given the real l_k (``real``: the batch's levels,
        for costs that compare with it, e.g. feature matching per level)."""
        fakes, lows = split_levels(fake, self.level_shapes), self._lows(latent)
        reals = split_levels(real, self.level_shapes) if real is not None else [None] * self.num_levels
        per_level = [
            self.objective.g_loss(self.level_critic(k, lows[k]), fakes[k], reals[k]) for k in range(self.num_levels)
        ]
        return self._sum_levels(per_level)

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample_levels(self, latent: Latent, weights: Literal["ema", "raw"] | None = None) -> list[torch.Tensor]:
        """[I~_0, ..., I~_K] of the coarse-to-fine recursion from ``latent.z`` (its context is not used), in
        eval mode, with the EMA generator when kept (``weights="raw"``: the trained one)."""
        net = self.generator_ema if weights != "raw" and self.generator_ema is not None else self.generator
        was_training = net.training
        net.eval()
        try:
            return self.generate_pyramid(latent.to(self.device), net)
        finally:
            net.train(was_training)

    @torch.no_grad()
    def sample_from(self, latent: Latent, weights: Literal["ema", "raw"] | None = None) -> torch.Tensor:
        """The full-size sample I~_0 (N, C, H, W) in the value range."""
        return self.sample_levels(latent, weights)[0]
