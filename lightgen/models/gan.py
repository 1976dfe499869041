"""The GAN training rule: the alternating two-player game with manual optimization.

Goodfellow et al. 2014 ("Generative Adversarial Nets", Algorithm 1): k discriminator updates per
generator update, each D update on a fresh minibatch; Goodfellow 2016 (NIPS tutorial, sec. 3.2)
for the choice of generator cost. One loop serves every variant: a variant changes it through
constructor arguments and by overriding the named hooks below, never ``training_step`` itself:

    build_generator / build_discriminator   the two networks
    sample_latent(n, draw)                  z for one draw of the training stream
    generate(z, batch) / discriminate(x, batch)   G and D as the loop calls them (conditioning goes here)
    d_loss(real, fake, batch) / g_loss(fake, batch)   dicts of named terms with a "loss" key
    on_d_step() / on_g_step()               after each optimizer step (weight clipping, EMA, k_t)
    generator_parameters / discriminator_parameters   what each optimizer updates

Counting: each training batch gives one D step; after every ``d_steps``-th D step come ``g_steps``
G steps. Lightning's ``trainer.global_step`` counts steps of both optimizers, so ``max_steps`` is
not a count of generator updates: use ``max_generator_steps`` (or ``max_epochs``) to stop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.strategies import DDPStrategy
from lightning.pytorch.utilities import rank_zero_info
from torch import nn

from lightgen.errors import LightgenError, NonFiniteLossError
from lightgen.losses.gan import LossDict, discriminator_cost, generator_cost_by_name
from lightgen.models.base import GenerativeModel
from lightgen.nets.mlp import MLPDiscriminator, MLPGenerator

GeneratorCost = Literal["minimax", "non_saturating", "maximum_likelihood"]


class GAN(GenerativeModel):
    """Generative adversarial net with MLP networks (Goodfellow et al. 2014).

    Args:
        data_shape: shape of one example, linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I).
        generator_cost: "minimax", "non_saturating" (the default, as in practice) or "maximum_likelihood".
        d_steps: discriminator updates per generator update (k in Algorithm 1), each on its own batch.
        g_steps: generator updates after each round of D updates (the reverse heuristic).
        d_dropout: dropout on D's hidden units (Goodfellow et al. 2014 used it in D).
        g_hidden / d_hidden: hidden widths of the MLP networks.
        g_optimizer / d_optimizer: optimizer of each network; None means Adam(lr=2e-4, betas=(0.5, 0.999)).
        g_scheduler / d_scheduler: learning-rate schedulers, stepped once per epoch.
        max_generator_steps: stop after this many generator updates (None: no limit).
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        latent_dim: int = 100,
        generator_cost: GeneratorCost = "non_saturating",
        d_steps: int = 1,
        g_steps: int = 1,
        d_dropout: float = 0.0,
        g_hidden: tuple[int, ...] = (256, 512),
        d_hidden: tuple[int, ...] = (512, 256),
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        g_scheduler: LRSchedulerCallable | None = None,
        d_scheduler: LRSchedulerCallable | None = None,
        max_generator_steps: int | None = None,
    ) -> None:
        super().__init__(data_shape)
        for name, value in (("latent_dim", latent_dim), ("d_steps", d_steps), ("g_steps", g_steps)):
            if int(value) < 1:
                raise LightgenError(f"{name} must be a positive integer; got {value}")
        if max_generator_steps is not None and max_generator_steps < 1:
            raise LightgenError(f"max_generator_steps must be a positive integer or None; got {max_generator_steps}")
        self._generator_cost_fn = generator_cost_by_name(generator_cost)
        self.save_hyperparameters(ignore=["g_optimizer", "d_optimizer", "g_scheduler", "d_scheduler"])
        self.automatic_optimization = False
        self.latent_dim = latent_dim
        self.d_steps, self.g_steps = d_steps, g_steps
        self.max_generator_steps = max_generator_steps
        self._optimizer_factories = (g_optimizer, d_optimizer)
        self._scheduler_factories = (g_scheduler, d_scheduler)
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        # loop counters, saved in checkpoints; identical on every rank
        self.batches_seen = 0
        self.generator_steps = 0
        self.discriminator_steps = 0
        # lazily checked flag (no device sync per step): False once any loss was NaN/inf
        self._losses_finite: torch.Tensor | None = None

    # ------------------------------------------------------------------ hooks: networks
    def build_generator(self) -> nn.Module:
        return MLPGenerator(self.latent_dim, self.data_shape, self.hparams.g_hidden)

    def build_discriminator(self) -> nn.Module:
        return MLPDiscriminator(self.data_shape, self.hparams.d_hidden, self.hparams.d_dropout)

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return self.discriminator.parameters()

    # ------------------------------------------------------------------ hooks: the game
    def sample_latent(self, n: int, draw: int = 0) -> torch.Tensor:
        """z ~ N(0, I) of shape (n, latent_dim) for draw ``draw`` of the current batch.

        Every rank draws the latents of the whole global batch from a stream keyed by
        (seed, batch, draw) and keeps its own slice: ranks see different z, a resumed run sees the
        same z, and W ranks of batch n see exactly the z of one process with batch W*n.
        """
        world, rank = (self.trainer.world_size, self.trainer.global_rank) if self._trainer else (1, 0)
        gen = self.random_stream(self.batches_seen, draw)
        z = torch.randn(world * n, self.latent_dim, generator=gen, device=self.device)
        return z[rank * n : (rank + 1) * n]

    def generate(self, z: torch.Tensor, batch: Any = None) -> torch.Tensor:
        return self.generator(z)

    def discriminate(self, x: torch.Tensor, batch: Any = None) -> torch.Tensor:
        return self.discriminator(x)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, batch: Any = None) -> LossDict:
        real_logits = self.discriminate(real, batch)
        fake_logits = self.discriminate(fake, batch)
        terms = discriminator_cost(real_logits, fake_logits)
        terms["d_x"] = torch.sigmoid(real_logits.detach()).mean()  # D(x)
        terms["d_g_z"] = torch.sigmoid(fake_logits.detach()).mean()  # D(G(z)) before the D update
        return terms

    def g_loss(self, fake: torch.Tensor, batch: Any = None) -> LossDict:
        return self._generator_cost_fn(self.discriminate(fake, batch))

    def on_d_step(self) -> None:
        """Called after each discriminator update."""

    def on_g_step(self) -> None:
        """Called after each generator update."""

    def real_from_batch(self, batch: Any) -> torch.Tensor:
        """The real examples of a batch: the batch itself or its first element."""
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    # ------------------------------------------------------------------ the loop
    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = self.real_from_batch(batch)
        n = real.shape[0]
        g_opt, d_opt = self.optimizers()
        g_follows = (self.batches_seen + 1) % self.d_steps == 0

        # D step on this batch. G's graph is kept only when a G step reuses this fake.
        with torch.set_grad_enabled(g_follows):
            fake = self.generate(self.sample_latent(n, draw=0), batch)
        with self.toggled_optimizer(d_opt):
            d_terms = self.d_loss(real, fake.detach(), batch)
            d_opt.zero_grad(set_to_none=True)
            self.manual_backward(d_terms["loss"])
            d_opt.step()
        self.discriminator_steps += 1
        self.on_d_step()
        self._track_finite(d_terms["loss"])
        self._log_terms("d", d_terms)

        if g_follows:
            for i in range(self.g_steps):
                if i > 0:  # each further G step draws fresh latents
                    fake = self.generate(self.sample_latent(n, draw=i), batch)
                with self.toggled_optimizer(g_opt):
                    g_terms = self.g_loss(fake, batch)
                    g_opt.zero_grad(set_to_none=True)
                    self.manual_backward(g_terms["loss"])
                    g_opt.step()
                self.generator_steps += 1
                self.on_g_step()
                self._track_finite(g_terms["loss"])
            self._log_terms("g", g_terms)
            if self.max_generator_steps is not None and self.generator_steps >= self.max_generator_steps:
                self.trainer.should_stop = True
        self.batches_seen += 1
        self.log("generator_steps", float(self.generator_steps), on_step=True, prog_bar=True)

    # ------------------------------------------------------------------ validate / test
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate_discriminator(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate_discriminator(batch, batch_idx, "test")

    @torch.no_grad()
    def _evaluate_discriminator(self, batch: Any, batch_idx: int, stage: str) -> None:
        """J(D), D(x) and D(G(z)) on held-out images: a D that rates training images far above
        held-out ones is overfitting (Goodfellow 2016, sec. 3.2)."""
        real = self.real_from_batch(batch)
        gen = self.random_stream(-1, batch_idx)  # its own key: fixed latents per held-out batch
        z = torch.randn(real.shape[0], self.latent_dim, generator=gen, device=self.device)
        terms = self.d_loss(real, self.generate(z, batch), batch)
        self.log_dict({f"{stage}/{k}": v for k, v in terms.items()}, sync_dist=True, prog_bar=False)

    def _log_terms(self, prefix: str, terms: LossDict) -> None:
        logged = {f"{prefix}_loss" if k == "loss" else f"{prefix}/{k}": v.detach() for k, v in terms.items()}
        self.log_dict(logged, on_step=True, prog_bar=False)

    # ------------------------------------------------------------------ non-finite losses
    def _track_finite(self, loss: torch.Tensor) -> None:
        ok = torch.isfinite(loss.detach())
        self._losses_finite = ok if self._losses_finite is None else self._losses_finite & ok

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteLossError` if any loss since the last check was NaN or infinite."""
        flag, self._losses_finite = self._losses_finite, None
        if flag is None or bool(flag):
            self._last_finite_step = self.generator_steps
            return
        last = getattr(self, "_last_finite_step", 0)
        ckpt = getattr(self.trainer.checkpoint_callback, "last_model_path", "") if self._trainer else ""
        kept = f"the last good checkpoint is {ckpt}" if ckpt else "no checkpoint was written yet"
        raise NonFiniteLossError(
            f"a loss became NaN or infinite between generator steps {last} and {self.generator_steps}; "
            f"training stopped and {kept} (lower the learning rate or check the data)"
        )

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # CPU: check every batch (free). Accelerators: at the logging interval, avoiding a sync per step;
        # checkpoints are checked before every save, so a bad state is never written.
        every = 1 if self.device.type == "cpu" else max(1, self.trainer.log_every_n_steps)
        if (batch_idx + 1) % every == 0:
            self.check_finite()

    # ------------------------------------------------------------------ optimizers
    def configure_optimizers(self) -> Any:
        optimizers = []
        for factory, params in zip(
            self._optimizer_factories, (self.generator_parameters(), self.discriminator_parameters())
        ):
            params = list(params)
            optimizers.append(factory(params) if factory else torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999)))
        schedulers = [
            {"scheduler": factory(opt), "interval": "epoch"}
            for factory, opt in zip(self._scheduler_factories, optimizers)
            if factory is not None
        ]
        return optimizers, schedulers

    def on_train_epoch_end(self) -> None:
        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
            scheduler.step()

    # ------------------------------------------------------------------ DDP and checkpoints
    def setup(self, stage: str) -> None:
        strategy = self.trainer.strategy if self._trainer else None
        # D and G steps each leave the other network's parameters without gradients; DDP must
        # therefore look for unused parameters or it stops with a reduction error.
        if isinstance(strategy, DDPStrategy) and not strategy._ddp_kwargs.get("find_unused_parameters", False):
            strategy._ddp_kwargs["find_unused_parameters"] = True
            rank_zero_info("lightgen: GAN under DDP: enabling find_unused_parameters (the two players alternate)")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_finite()  # never write a checkpoint of a diverged run
        super().on_save_checkpoint(checkpoint)
        checkpoint["lightgen"]["loop"] = {
            "batches_seen": self.batches_seen,
            "generator_steps": self.generator_steps,
            "discriminator_steps": self.discriminator_steps,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        loop = checkpoint.get("lightgen", {}).get("loop", {})
        self.batches_seen = int(loop.get("batches_seen", 0))
        self.generator_steps = int(loop.get("generator_steps", 0))
        self.discriminator_steps = int(loop.get("discriminator_steps", 0))

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """n samples G(z), z ~ N(0, I); the generator runs in eval mode (batch-norm running statistics)."""
        z = torch.randn(n, self.latent_dim, generator=self.make_generator(seed), device=self.device)
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generate(z)
        finally:
            self.generator.train(was_training)
