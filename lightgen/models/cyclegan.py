"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks").

Two generators, G_AB: A -> B and G_BA: B -> A (G and F in the paper), and two discriminators, D_A on images of
domain A (real a against G_BA(b)) and D_B on images of domain B (real b against G_AB(a)) (D_X and D_Y in the
paper). The full objective (eq. 3, plus the identity term of sec. 5.2)::

    L = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + lambda L_cyc(G_AB, G_BA) + lambda_identity lambda L_idt

with least-squares GAN costs (sec. 4, "Training details", after Mao et al. 2017), lambda = 10 and
lambda_identity = 0.5. One training batch, as in the authors' code (``cycle_gan_model.optimize_parameters``):
a G step on both generators with one optimizer, then a D step on D_A and D_B with one optimizer, each D
judging the fakes through a history of 50 generated images (:class:`~lightgen.models.history_pool.ImagePool`).

Relative weights. The authors' G loss is MSE(D_B(G_AB(a)), 1) + MSE(D_A(G_BA(b)), 1) + 10 (cycle_a + cycle_b)
+ 5 (idt_a + idt_b), and each D's loss is (MSE(D(real), 1) + MSE(D(fake), 0)) / 2 ("we divide the objective
by 2 while optimizing D"). lightgen's LeastSquares writes G's cost as 0.5 (D - 1)^2, so the adversarial terms
here are the objective's G cost times ``adversarial_scale`` = 2, which makes the total exactly the authors'
loss; lambda and the identity weight are unchanged. D's costs are the objective's own, already halved.

Networks are the paper's (appendix 7.2): ResNet generators (9 blocks at 256 px, 6 at 128 px) and 70 x 70
PatchGAN discriminators, both with instance norm. Every call goes through ``self.g_net`` / ``self.d_net``, so
the per-player DDP wrappers see it; the EMA of G (``ema_decay``) averages both generators.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses.cycle import cycle_consistency_loss, identity_loss
from lightgen.losses.gan import LossDict
from lightgen.losses.objectives import GANObjective, LeastSquares
from lightgen.models.history_pool import ImagePool
from lightgen.models.latent import Latent
from lightgen.models.translation import ImageTranslationGAN
from lightgen.nets.patchgan import PatchDiscriminator
from lightgen.nets.resnet_generator import ResnetGenerator

Norm = Literal["batch", "instance", "none"]
Domain = Literal["a", "b"]

POOL_KEY = 1_000_033  # random-stream key of the history pools' draws (distinct from latents and penalties)


class CycleGenerators(nn.Module):
    """G_AB and G_BA in one module (one optimizer, one EMA copy, one DDP wrapper): ``forward(x)`` is G_AB(x),
    ``forward(x, reverse=True)`` G_BA(x)."""

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module) -> None:
        super().__init__()
        self.g_ab, self.g_ba = g_ab, g_ba

    def forward(self, x: torch.Tensor, reverse: bool = False) -> torch.Tensor:
        return self.g_ba(x) if reverse else self.g_ab(x)


class CycleDiscriminators(nn.Module):
    """D_A and D_B in one module: ``forward(x, "a")`` is D_A(x) (judges domain A), ``forward(x, "b")`` D_B(x)."""

    def __init__(self, d_a: nn.Module, d_b: nn.Module) -> None:
        super().__init__()
        self.d_a, self.d_b = d_a, d_b

    def forward(self, x: torch.Tensor, domain: Domain = "b") -> torch.Tensor:
        if domain not in ("a", "b"):
            raise LightgenError(f"CycleGAN's discriminators judge domain 'a' or 'b'; got {domain!r}")
        return self.d_a(x) if domain == "a" else self.d_b(x)


class DomainCritic:
    """One domain's discriminator as the objectives and penalties call it: ``critic(x)`` = D_domain(x)."""

    def __init__(self, model: CycleGAN, domain: Domain) -> None:
        self.model, self.domain = model, domain

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.d_net(x, self.domain)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise LightgenError("CycleGAN's PatchGAN discriminators have no features() (feature matching)")


class CycleGAN(ImageTranslationGAN):
    """CycleGAN: two ResNet generators and two PatchGAN discriminators, least squares + cycle + identity.

    Batches are ``(a, b)`` or ``(a, b, label)`` of unpaired images (:mod:`lightgen.data.unpaired`); the
    target shape ``data_shape`` is domain B's, ``source_channels`` domain A's channels (same H, W).

    Args:
        data_shape: (C, H, W) of a domain-B image, linked from the datamodule; H, W divisible by 2**g_downsampling.
        lambda_cycle: lambda of eq. 3 (10 in the paper).
        lambda_identity: the identity term's weight relative to lambda (0.5 in the paper, sec. 5.2 and the
            authors' ``--lambda_identity``); 0 turns it off. Needs A and B with the same channels.
        pool_size: images in each discriminator's history pool (50, sec. 4); 0: D sees the latest fakes.
        g_channels: filters of G's first layer (64: c7s1-64).
        g_blocks: residual blocks of G (9 for 256 px, 6 for 128 px).
        g_downsampling: stride-2 convs of G (2).
        d_channels: filters of D's first layer (64: C64).
        d_layers: PatchGAN layers of stride 2 (3: 70 x 70 patches).
        norm: norm of G and D ("instance", the paper).
        objective: the GAN costs (default LeastSquares, sec. 4).
        **kwargs: everything else of :class:`~lightgen.models.translation.ImageTranslationGAN` and
            :class:`~lightgen.models.gan.GAN` (source_channels, num_examples, optimizers, schedulers,
            ema_decay, max_generator_steps...). The paper: Adam(2e-4, betas=(0.5, 0.999)) (the default),
            batch 1, 100 epochs at 2e-4 then 100 of linear decay (:class:`lightgen.schedules.LinearDecay`).
    """

    #: the translation directions :meth:`translate` offers: "ab" (default) and "ba" (``reverse=True``)
    directions = ("ab", "ba")
    supports_packing = False

    def __init__(
        self,
        data_shape: tuple[int, ...],
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        g_channels: int = 64,
        g_blocks: int = 9,
        g_downsampling: int = 2,
        d_channels: int = 64,
        d_layers: int = 3,
        norm: Norm = "instance",
        objective: GANObjective | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("latent_dim", 0) or kwargs.get("scale", 1) != 1:
            raise LightgenError(
                f"CycleGAN maps images to images of the same size: latent_dim must be 0 and scale 1; "
                f"got {kwargs.get('latent_dim', 0)} and {kwargs.get('scale', 1)}"
            )
        if kwargs.get("d_steps", 1) != 1 or kwargs.get("g_steps", 1) != 1:
            raise LightgenError(
                f"CycleGAN alternates one G step and one D step per batch: d_steps and g_steps must be 1; "
                f"got {kwargs.get('d_steps', 1)} and {kwargs.get('g_steps', 1)}"
            )
        if lambda_cycle < 0 or lambda_identity < 0:
            raise LightgenError(f"lambda_cycle and lambda_identity must be >= 0; got {lambda_cycle}, {lambda_identity}")
        if pool_size < 0:
            raise LightgenError(f"pool_size must be >= 0; got {pool_size}")
        source_channels = kwargs.get("source_channels") or (data_shape[0] if data_shape else None)
        if lambda_identity > 0 and data_shape and source_channels != data_shape[0]:
            raise LightgenError(
                f"CycleGAN's identity loss feeds B images to G_AB and A images to G_BA, so A and B need the same "
                f"channels; got {source_channels} and {data_shape[0]} (set lambda_identity: 0)"
            )
        super().__init__(data_shape, objective=objective if objective is not None else LeastSquares(), **kwargs)
        self.pool_a = ImagePool(pool_size, self.source_shape)  # fakes G_BA(b) shown to D_A
        self.pool_b = ImagePool(pool_size, self.data_shape)  # fakes G_AB(a) shown to D_B

    # ------------------------------------------------------------------ the networks
    def build_generator(self) -> nn.Module:
        hp, a, b = self.hparams, self._source_channels, self.data_shape[0]
        g_ab = ResnetGenerator(a, b, hp.g_channels, hp.g_blocks, hp.norm, hp.g_downsampling)
        g_ba = ResnetGenerator(b, a, hp.g_channels, hp.g_blocks, hp.norm, hp.g_downsampling)
        return CycleGenerators(g_ab, g_ba)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        d_a = PatchDiscriminator(self._source_channels, hp.d_channels, hp.d_layers, hp.norm)
        d_b = PatchDiscriminator(self.data_shape[0], hp.d_channels, hp.d_layers, hp.norm)
        return CycleDiscriminators(d_a, d_b)

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D_B(x): the discriminator of the target domain (unconditional; ``latent`` is unused)."""
        return self.d_net(x, "b")

    def domain_critic(self, domain: Domain) -> DomainCritic:
        """D_A ("a") or D_B ("b") as the objective sees it."""
        return DomainCritic(self, domain)

    @property
    def adversarial_scale(self) -> float:
        """The factor on the objective's G cost that gives the authors' MSE(D(G(x)), 1) (2 for LeastSquares)."""
        return self.objective.paper_g_scale

    # ------------------------------------------------------------------ the costs
    def generator_loss(self, a: torch.Tensor, b: torch.Tensor) -> tuple[LossDict, torch.Tensor, torch.Tensor]:
        """The G step's loss (eq. 3 + identity) on a batch of A images ``a`` and B images ``b``.

        Returns (terms, G_AB(a), G_BA(b)). Terms: ``loss`` = adversarial_scale (adv_ab + adv_ba) + lambda
        (cycle_a + cycle_b) + lambda_identity lambda (idt_a + idt_b); ``adv_ab`` = J(G) of G_AB(a) under D_B,
        ``adv_ba`` of G_BA(b) under D_A (the objective's costs, unscaled); ``cycle_a`` = mean |G_BA(G_AB(a)) - a|,
        ``cycle_b`` = mean |G_AB(G_BA(b)) - b|; ``idt_a`` = mean |G_BA(a) - a|, ``idt_b`` = mean |G_AB(b) - b|
        (only when lambda_identity > 0). The L1 terms are unweighted means, as logged.
        """
        hp, g = self.hparams, self.g_net
        fake_b = g(a)  # G_AB(a)
        fake_a = g(b, reverse=True)  # G_BA(b)
        terms = {
            "adv_ab": self.objective.g_loss(self.domain_critic("b"), fake_b, b)["loss"],
            "adv_ba": self.objective.g_loss(self.domain_critic("a"), fake_a, a)["loss"],
            "cycle_a": cycle_consistency_loss(a, g(fake_b, reverse=True)),
            "cycle_b": cycle_consistency_loss(b, g(fake_a)),
        }
        loss = self.adversarial_scale * (terms["adv_ab"] + terms["adv_ba"])
        loss = loss + hp.lambda_cycle * (terms["cycle_a"] + terms["cycle_b"])
        if hp.lambda_identity > 0:
            terms["idt_a"] = identity_loss(a, g(a, reverse=True))
            terms["idt_b"] = identity_loss(b, g(b))
            loss = loss + hp.lambda_identity * hp.lambda_cycle * (terms["idt_a"] + terms["idt_b"])
        return {"loss": loss, **terms}, fake_b, fake_a

    def discriminator_loss(
        self, a: torch.Tensor, b: torch.Tensor, fake_a: torch.Tensor, fake_b: torch.Tensor, regularize: bool = True
    ) -> LossDict:
        """J(D_A) on (a, fake_a) plus J(D_B) on (b, fake_b), each the objective's (halved) D cost with its
        regularisers. Terms: ``loss``, ``a`` and ``b`` (each domain's J(D)), and each domain's own terms
        prefixed ``a_`` / ``b_`` (``a_real_term``, ``b_fake_score``...)."""
        terms: LossDict = {}
        total = None
        for index, (domain, real, fake) in enumerate((("a", a, fake_a), ("b", b, fake_b))):
            gen, scale = self.penalty_inputs(regularize, index)
            own = self.objective.d_loss(
                self.domain_critic(domain), real, fake, self.discriminator_steps, gen, regularize, scale
            )
            terms[domain] = own["loss"]
            terms.update({f"{domain}_{k.removeprefix('d_')}": v for k, v in own.items() if k != "loss"})
            total = own["loss"] if total is None else total + own["loss"]
        return {"loss": total, **terms}

    # ------------------------------------------------------------------ the loop
    def training_step(self, batch: Any, batch_idx: int) -> None:
        """One G step on both generators, then one D step on D_A and D_B with pooled fakes (the authors' order)."""
        a = self._memory_format(self.source_from_batch(batch))
        b = self._memory_format(self.real_from_batch(batch))
        g_opt, d_opt = self.optimizers()

        with self.toggled_optimizer(g_opt):
            g_terms, fake_b, fake_a = self.generator_loss(a, b)
            scale = self.update(g_opt, g_terms["loss"])
        self.after_g_update(g_terms, scale)
        self._log_terms("g", g_terms)

        # each rank keeps its own pools, drawing from a stream keyed by (batch, rank, domain)
        rank = self.trainer.global_rank if self._trainer else 0
        pooled_a = self.pool_a.query(fake_a.detach(), self.random_stream(self.batches_seen, POOL_KEY, rank, 0))
        pooled_b = self.pool_b.query(fake_b.detach(), self.random_stream(self.batches_seen, POOL_KEY, rank, 1))
        with self.toggled_optimizer(d_opt):
            d_terms = self.discriminator_loss(a, b, pooled_a, pooled_b)
            scale = self.update(d_opt, d_terms["loss"])
        self.after_d_update(d_terms, scale)
        self._log_terms("d", d_terms)
        self.stop_at_max_generator_steps()
        self.batches_seen += 1
        self.log("generator_steps", float(self.generator_steps), on_step=True, prog_bar=True)

    # ------------------------------------------------------------------ validate / test: the cycle L1
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._log_cycle(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._log_cycle(batch, "test")

    @torch.no_grad()
    def _log_cycle(self, batch: Any, stage: str) -> None:
        """<stage>/cycle_a = mean |G_BA(G_AB(a)) - a| and <stage>/cycle_b = mean |G_AB(G_BA(b)) - b| on held-out
        images, with the generators :meth:`translate` uses (the EMA ones when kept)."""
        a, b = self.source_from_batch(batch), self.real_from_batch(batch)
        cycle_a = cycle_consistency_loss(a, self.translate(self.translate(a), reverse=True))
        cycle_b = cycle_consistency_loss(b, self.translate(self.translate(b, reverse=True)))
        self.log_dict({f"{stage}/cycle_a": cycle_a, f"{stage}/cycle_b": cycle_b}, sync_dist=True)

    # ------------------------------------------------------------------ translation and pictures
    @torch.no_grad()
    def translate(
        self,
        source: torch.Tensor,
        weights: Literal["ema", "raw"] | None = None,
        seed: int | None = None,
        reverse: bool = False,
    ) -> torch.Tensor:
        """G_AB(source) (``reverse=True``: G_BA(source)) in eval mode, with the EMA generators when kept
        (``weights="raw"``: the trained ones). ``seed`` is accepted for the common signature: nothing is drawn."""
        expected = self.data_shape if reverse else self.source_shape
        if tuple(source.shape[1:]) != tuple(expected):
            side = "B" if reverse else "A"
            raise LightgenError(
                f"CycleGAN translates {side} images of shape {tuple(expected)} with reverse={reverse}; "
                f"got {tuple(source.shape[1:])}"
            )
        net = self.generator_ema if weights != "raw" and self.generator_ema is not None else self.generator
        was_training = net.training
        net.eval()
        try:
            return net(source.to(self.device), reverse=reverse)
        finally:
            net.train(was_training)

    def translation_panels(self, weights: Literal["ema", "raw"] | None = None) -> list[tuple[str, torch.Tensor]]:
        """Six columns for the stored examples (Zhu et al. 2017, fig. 3's round trips): a, G_AB(a),
        G_BA(G_AB(a)), b, G_BA(b), G_AB(G_BA(b)), with a from ``example_sources`` and b from ``example_targets``."""
        a, b = self.example_sources, self.example_targets
        ab = self.translate(a, weights)
        ba = self.translate(b, weights, reverse=True)
        return [
            ("a", a),
            ("G_AB(a)", ab),
            ("G_BA(G_AB(a))", self.translate(ab, weights, reverse=True)),
            ("b", b),
            ("G_BA(b)", ba),
            ("G_AB(G_BA(b))", self.translate(ba, weights)),
        ]

    # ------------------------------------------------------------------ checkpoints: the history pools
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Also save each rank's history pools (rows of (world, count, C, H, W)), so a resume is exact."""
        super().on_save_checkpoint(checkpoint)
        pools = {}
        for name, pool in (("a", self.pool_a), ("b", self.pool_b)):
            state = pool.get_state()
            pools[name] = {"images": self._gather_rows(state["images"]), "count": state["count"]}
        checkpoint["lightgen"]["history_pools"] = pools

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        pools = checkpoint.get("lightgen", {}).get("history_pools", {})
        world, rank = (self.trainer.world_size, self.trainer.global_rank) if self._trainer is not None else (1, 0)
        for name, pool in (("a", self.pool_a), ("b", self.pool_b)):
            if name in pools:
                rows = pools[name]["images"]
                row = rows[rank] if len(rows) == world else rows[0]
                pool.set_state({"images": row, "count": pools[name]["count"]})
