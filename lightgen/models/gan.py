"""The GAN training rule: the alternating two-player game with manual optimization.

Goodfellow et al. 2014 ("Generative Adversarial Nets", Algorithm 1): k discriminator updates per
generator update, each D update on a fresh minibatch. What the players minimise is an objective
class (:mod:`lightgen.losses.objectives`: minimax, non-saturating, maximum likelihood, least squares,
hinge, Wasserstein with clipping or gradient penalty, DRAGAN, any regulariser such as R1). One loop
serves every variant; a variant overrides the named hooks below, never ``training_step`` itself:

    build_generator / build_discriminator           the two networks
    latent_prior(n, generator) -> Latent             z (plus labels / codes) from the prior
    condition_on_batch(latent, batch) -> Latent      pair the fakes with the batch's labels (conditional)
    generate(latent, net=None) / discriminate(x, latent)   G and D as the loop calls them
    discriminator_features(x, latent)                D's intermediate features (feature matching)
    d_loss(real, fake, latent) / g_loss(fake, latent, real)  dicts of named terms with a "loss" key
    on_d_step(terms) / on_g_step(terms)              after each optimizer step, with that step's terms
    generator_parameters / discriminator_parameters  what each optimizer updates

Counting: each training batch gives one D step; after every ``d_steps``-th D step come ``g_steps``
G steps, each after the first on fresh latents. Lightning's ``trainer.global_step`` counts steps of
both optimizers, so stop with ``max_generator_steps`` (or ``max_epochs``). Every logged value
(scalars, sample grids, FID) uses one x-axis, the count of training batches (Lightning's logging
step); the generator-step count is logged as the metric ``generator_steps``.

Generator EMA (``ema_decay``): an exponential moving average of G's parameters, batch-norm buffers
copied, kept as ``generator_ema`` (saved in checkpoints) and used by ``sample()``, the grids, the FID
callback, ``lightgen sample`` and ``lightgen evaluate`` (Karras et al. 2018; Yazici et al. 2019).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch.utils.data import default_collate

from lightgen.clock import crossed_interval, log_sparse, logging_step
from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict
from lightgen.losses.objectives import GANObjective, resolve_objective
from lightgen.models.base import GenerativeModel
from lightgen.models.gan_sampling import GeneratorSamplingMixin
from lightgen.models.gan_scale import GANScaleMixin
from lightgen.models.latent import Latent
from lightgen.models.loop_state import LoopState
from lightgen.nets.mlp import MLPDiscriminator, MLPGenerator
from lightgen.nets.spectral import apply_spectral_norm

PENALTY_KEY = 1_000_003  # random-stream key of the regularisers' noise (distinct from the latents' draws)


class BoundCritic:
    """D with one draw's conditioning bound, as objectives and penalties call it: ``critic(x)`` is
    D(x | latent), ``critic.features(x)`` D's intermediate features (feature matching)."""

    def __init__(self, model: GAN, latent: Latent | None) -> None:
        self.model, self.latent = model, latent

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.discriminate(x, self.latent)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.discriminator_features(x, self.latent)


class GAN(LoopState, GANScaleMixin, GeneratorSamplingMixin, GenerativeModel):
    """Generative adversarial net with MLP networks (Goodfellow et al. 2014).

    Args:
        data_shape: shape of one example, linked from the datamodule by the CLI.
        latent_dim: size of z ~ N(0, I).
        objective: the game (a :class:`~lightgen.losses.objectives.GANObjective`; default NonSaturating).
        d_steps: discriminator updates per generator update (k in Algorithm 1), each on its own batch.
        g_steps: generator updates after each round of D updates (the reverse heuristic).
        d_dropout: dropout on D's hidden units (Goodfellow et al. 2014 used it in D).
        d_spectral_norm: spectral normalization of every D layer (Miyato et al. 2018).
        d_pack: m, the number of samples D judges together, concatenated along their first (channel or
            feature) axis (PacGAN, Lin et al. 2018); 1: one at a time. A batch whose size is not a
            multiple of m loses its last N mod m examples to packing.
        d_minibatch_kernels: B > 0 adds a minibatch-discrimination layer before D's output
            (Salimans et al. 2016, sec. 3.2; :mod:`lightgen.nets.minibatch`); 0: none.
        d_minibatch_kernel_dim: C, the dimension of each minibatch-discrimination kernel.
        g_hidden / d_hidden: hidden widths of the MLP networks.
        g_optimizer / d_optimizer: optimizer of each network; None means Adam(lr=2e-4, betas=(0.5, 0.999)).
        g_scheduler / d_scheduler: learning-rate schedulers, stepped once per epoch.
        scheduler_monitor: the logged metric a ReduceLROnPlateau scheduler steps on.
        max_generator_steps: stop after this many generator updates (None: no limit).
        ema_decay: keep an EMA of G with this decay (e.g. 0.999); None: no EMA.
        ema_start: G steps before averaging starts (until then the EMA copies G).
        probe_size: training images whose D(x) is logged in eval mode beside the held-out D(x).
        compile: ``torch.compile`` the forwards of G and of D (D stays eager when the objective has a
            gradient penalty: compiled graphs do not support its double backward); not the training step.
        channels_last: channels-last memory format for conv nets and image batches (faster convolutions
            on recent GPUs and on CPUs with oneDNN).

    Mixed precision comes from the trainer (``--trainer.precision bf16-mixed`` or ``16-mixed``):
    autocast covers the step, Lightning's GradScaler scales ``manual_backward`` and steps each optimizer,
    and the penalties' input gradients follow the AMP gradient-penalty recipe (scaled, then unscaled in
    float32). A step the scaler skips for overflow is not counted as a non-finite loss.
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        latent_dim: int = 100,
        objective: GANObjective | None = None,
        d_steps: int = 1,
        g_steps: int = 1,
        d_dropout: float = 0.0,
        d_spectral_norm: bool = False,
        d_pack: int = 1,
        d_minibatch_kernels: int = 0,
        d_minibatch_kernel_dim: int = 5,
        g_hidden: tuple[int, ...] = (256, 512),
        d_hidden: tuple[int, ...] = (512, 256),
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        g_scheduler: LRSchedulerCallable | None = None,
        d_scheduler: LRSchedulerCallable | None = None,
        scheduler_monitor: str = "g_loss",
        max_generator_steps: int | None = None,
        ema_decay: float | None = None,
        ema_start: int = 0,
        probe_size: int = 256,
        compile: bool = False,
        channels_last: bool = False,
    ) -> None:
        super().__init__(data_shape)
        positive = (("latent_dim", latent_dim), ("d_steps", d_steps), ("g_steps", g_steps), ("d_pack", d_pack))
        for name, value in positive:
            if int(value) < 1:
                raise LightgenError(f"{name} must be a positive integer; got {value}")
        if max_generator_steps is not None and max_generator_steps < 1:
            raise LightgenError(f"max_generator_steps must be a positive integer or None; got {max_generator_steps}")
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise LightgenError(f"ema_decay must be in (0, 1) or None; got {ema_decay}")
        if ema_start < 0:
            raise LightgenError(f"ema_start must be >= 0; got {ema_start}")
        self.objective = resolve_objective(objective)
        self.save_hyperparameters(ignore=["g_optimizer", "d_optimizer", "g_scheduler", "d_scheduler", "objective"])
        # the objective is stored as its spec (class_path + init_args), plain data a checkpoint can hold
        self.hparams["objective"] = self.objective.spec()
        self._hparams_initial = copy.deepcopy(self._hparams)
        self.automatic_optimization = False
        self.latent_dim = latent_dim
        self.d_steps, self.g_steps = d_steps, g_steps
        self.max_generator_steps = max_generator_steps
        self._optimizer_factories = (g_optimizer, d_optimizer)
        self._scheduler_factories = (g_scheduler, d_scheduler)
        self.generator = self.build_generator()
        self.discriminator = self.build_discriminator()
        self._check_discriminator_options()
        if d_spectral_norm:
            apply_spectral_norm(self.discriminator)
        self.generator_ema: nn.Module | None = None
        if ema_decay is not None:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.init_loop_state()  # counters and the lazy finite flag (lightgen.models.loop_state)
        self._probe: Any = None
        self._g_logged_at = -1  # logging step (+1) at which G's terms last went to the loggers

    # ------------------------------------------------------------------ hooks: networks
    def build_generator(self) -> nn.Module:
        return MLPGenerator(self.latent_dim, self.data_shape, self.hparams.g_hidden)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        return MLPDiscriminator(
            self.d_input_shape, hp.d_hidden, hp.d_dropout, hp.d_minibatch_kernels, hp.d_minibatch_kernel_dim
        )

    #: whether :meth:`discriminate` and the networks of this class carry ``d_pack`` > 1
    supports_packing = True

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        """What D takes per example: ``data_shape`` with its first axis times ``d_pack`` (PacGAN)."""
        m = int(self.hparams.get("d_pack", 1))
        return (self.data_shape[0] * m, *self.data_shape[1:])

    def _check_discriminator_options(self) -> None:
        """One-line errors for D options that this class's networks do not carry."""
        hp, name = self.hparams, type(self).__name__
        if hp.get("d_pack", 1) > 1 and not self.supports_packing:
            raise LightgenError(f"{name} does not support d_pack={hp.d_pack}; use d_pack: 1")
        if hp.get("d_minibatch_kernels", 0) and not (
            getattr(self.discriminator, "has_minibatch", False) or getattr(self.discriminator, "minibatch", None)
        ):
            raise LightgenError(
                f"{name}'s discriminator has no minibatch-discrimination option; "
                f"got d_minibatch_kernels={hp.d_minibatch_kernels} (use 0)"
            )

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, ...) -> (N // m, m * C, ...): m consecutive examples side by side along the first axis
        (PacGAN, Lin et al. 2018, sec. 3); the last N mod m examples are dropped. m = 1: x unchanged."""
        m = int(self.hparams.get("d_pack", 1))
        if m == 1:
            return x
        n = x.shape[0] // m
        if n == 0:
            raise LightgenError(f"d_pack={m} needs batches of at least {m} examples; got {x.shape[0]}")
        return x[: n * m].reshape(n, m * x.shape[1], *x.shape[2:])

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def discriminator_parameters(self) -> Iterable[nn.Parameter]:
        return self.discriminator.parameters()

    # ------------------------------------------------------------------ hooks: latents
    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """n draws from the prior: z ~ N(0, I) of shape (n, latent_dim)."""
        return Latent(torch.randn(n, self.latent_dim, generator=generator, device=self.device))

    def condition_on_batch(self, latent: Latent, batch: Any) -> Latent:
        """Tie a training draw to the batch (a conditional GAN takes the batch's labels); default: as is."""
        return latent

    def sample_latent(self, n: int, draw: int = 0, batch: Any = None) -> Latent:
        """The latents of draw ``draw`` of the current batch, shape (n, ...) on this rank.

        Every rank draws the latents of the whole global batch from a stream keyed by
        (seed, batch, draw) and keeps its own slice: ranks see different z, a resumed run sees the
        same z, and W ranks of batch n see exactly the z of one process with batch W*n.
        """
        world, rank = (self.trainer.world_size, self.trainer.global_rank) if self._trainer else (1, 0)
        latent = self.latent_prior(world * n, self.random_stream(self.batches_seen, draw))
        return self.condition_on_batch(latent[rank * n : (rank + 1) * n], batch)

    # ------------------------------------------------------------------ hooks: the players
    def generate(self, latent: Latent, net: nn.Module | None = None) -> torch.Tensor:
        """G(latent) with ``net`` (default the trained generator; sampling passes the EMA one)."""
        return (net if net is not None else self.g_net)(latent.z)

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D's outputs (N,) for x (N // d_pack under packing); ``latent`` carries the conditioning of
        the pair (unused here)."""
        return self.d_net(self.pack(x))

    def discriminator_features(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D's intermediate features of x, (N, F), through the network's ``features`` method (for
        feature matching, Salimans et al. 2016, sec. 3.1)."""
        features = getattr(self.discriminator, "features", None)
        if features is None:
            raise LightgenError(f"{type(self.discriminator).__name__} has no features() for feature matching")
        return features(self.pack(x))

    def critic(self, latent: Latent | None) -> BoundCritic:
        """D as the objective sees it, with the conditioning of ``latent`` bound."""
        return BoundCritic(self, latent)

    def d_loss(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        latent: Latent,
        regularize: bool = True,
        critic: BoundCritic | None = None,
    ) -> LossDict:
        """The objective's J(D) (plus its regularisers due at this D step when ``regularize``), D seen
        through ``critic`` (default :meth:`critic` of the latent; InfoGAN passes one that also keeps Q)."""
        gen, scale = self.penalty_inputs(regularize)
        critic = critic if critic is not None else self.critic(latent)
        return self.objective.d_loss(critic, real, fake, self.discriminator_steps, gen, regularize, scale)

    def penalty_inputs(self, regularize: bool, *key: int) -> tuple[torch.Generator | None, float]:
        """What the regularisers of this D step need: their noise stream, keyed by (batch, rank, *key), and
        the float16 GradScaler's scale (1 without one); (None, 1.0) when no regulariser runs."""
        if not (regularize and self.objective.regularizers):
            return None, 1.0
        rank = self.trainer.global_rank if self._trainer else 0
        scaler = self._grad_scaler()
        scale = float(scaler.get_scale()) if scaler is not None else 1.0
        return self.random_stream(self.batches_seen, PENALTY_KEY, rank, *key), scale

    def g_loss(self, fake: torch.Tensor, latent: Latent, real: torch.Tensor | None = None) -> LossDict:
        """The objective's J(G); ``real`` is the step's real batch (feature matching, pix2pix's L1)."""
        return self.objective.g_loss(self.critic(latent), fake, real)

    def on_d_step(self, terms: LossDict) -> None:
        """Called after each discriminator update with that step's terms."""

    def on_g_step(self, terms: LossDict) -> None:
        """Called after each generator update with that step's terms."""

    def real_from_batch(self, batch: Any) -> torch.Tensor:
        """The real examples of a batch: the batch itself or its first element."""
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    # ------------------------------------------------------------------ the loop
    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = self._memory_format(self.real_from_batch(batch))
        n = real.shape[0]
        g_opt, d_opt = self.optimizers()
        g_follows = (self.batches_seen + 1) % self.d_steps == 0

        # D step on this batch. G's graph is kept only when a G step reuses this fake.
        latent = self.sample_latent(n, draw=0, batch=batch)
        with torch.set_grad_enabled(g_follows):
            fake = self.generate(latent)
        with self.toggled_optimizer(d_opt):
            d_terms = self.d_loss(real, fake.detach(), latent)
            scale = self.update(d_opt, d_terms["loss"])
        self.after_d_update(d_terms, scale)
        self._log_terms("d", d_terms)

        if g_follows:
            for i in range(self.g_steps):
                if i > 0:  # each further G step draws fresh latents
                    latent = self.sample_latent(n, draw=i, batch=batch)
                    fake = self.generate(latent)
                with self.toggled_optimizer(g_opt):
                    g_terms = self.g_loss(fake, latent, real)
                    scale = self.update(g_opt, g_terms["loss"])
                self.after_g_update(g_terms, scale)
            self._log_generator_terms(g_terms)
            self.stop_at_max_generator_steps()
        self.batches_seen += 1
        self.log("generator_steps", float(self.generator_steps), on_step=True, prog_bar=True)

    # ------------------------------------------------------------------ one update, shared by every loop
    def update(self, optimizer: Any, loss: torch.Tensor) -> float | None:
        """zero_grad, backward (scaled by the AMP GradScaler when there is one) and step of ``optimizer``; returns
        the scaler's scale before the step (None without AMP), which :meth:`_track_finite` compares with after."""
        scaler = self._grad_scaler()
        optimizer.zero_grad(set_to_none=True)
        scale = scaler.get_scale() if scaler is not None else None
        self.manual_backward(loss)
        optimizer.step()
        return scale

    def after_d_update(self, terms: LossDict, scale: float | None) -> None:
        """What follows every D update: the objective's after-step (WGAN's clipping), the count, the
        ``on_d_step`` hook and the lazy finite check."""
        self.objective.after_d_step(self.discriminator)
        self.discriminator_steps += 1
        self.on_d_step(terms)
        self._track_finite(terms["loss"], self._grad_scaler(), scale)

    def after_g_update(self, terms: LossDict, scale: float | None) -> None:
        """What follows every G update: the count, the EMA, the ``on_g_step`` hook and the lazy finite check."""
        self.generator_steps += 1
        self.update_ema()
        self.on_g_step(terms)
        self._track_finite(terms["loss"], self._grad_scaler(), scale)

    def stop_at_max_generator_steps(self) -> None:
        if self.max_generator_steps is not None and self.generator_steps >= self.max_generator_steps:
            self.trainer.should_stop = True

    @staticmethod
    def _named(prefix: str, terms: LossDict) -> LossDict:
        return {f"{prefix}_loss" if k == "loss" else f"{prefix}/{k}": v.detach() for k, v in terms.items()}

    def _log_terms(self, prefix: str, terms: LossDict) -> None:
        self.log_dict(self._named(prefix, terms), on_step=True, prog_bar=False)

    def _log_generator_terms(self, terms: LossDict) -> None:
        """G's terms exist only at batches where a G step ran: logged sparsely (see
        :func:`lightgen.clock.log_sparse`), at the first G step after each ``log_every_n_steps`` boundary."""
        named = self._named("g", terms)
        batches_done = logging_step(self.trainer) + 1 if self._trainer is not None else 0
        due = self._trainer is not None and crossed_interval(
            self._g_logged_at, batches_done, self.trainer.log_every_n_steps
        )
        if due or self._g_logged_at < 0:
            self._g_logged_at = batches_done
            log_sparse(self, named)
        else:  # callback metrics only
            self.log_dict(named, on_step=True, prog_bar=False, logger=False)

    # ------------------------------------------------------------------ validate / test
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate_discriminator(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate_discriminator(batch, batch_idx, "test")

    @torch.no_grad()
    def _evaluate_discriminator(self, batch: Any, batch_idx: int, stage: str) -> None:
        """J(D), D(x) and D(G(z)) on held-out images, and D(x) on a fixed training subset in the same
        (eval) mode as ``<stage>/d_x_train``: a D that rates the training images far above held-out
        ones is overfitting (Goodfellow 2016, sec. 3.2). Regularisers are left out (no gradients here)."""
        real = self.real_from_batch(batch)
        latent = self.condition_on_batch(self.latent_prior(real.shape[0], self.random_stream(-1, batch_idx)), batch)
        terms = self.d_loss(real, self.generate(latent), latent, regularize=False)
        self.log_dict({f"{stage}/{k}": v for k, v in terms.items()}, sync_dist=True, prog_bar=False)
        probe = self._train_probe() if batch_idx == 0 else None
        if probe is not None:
            x = self.real_from_batch(probe)
            latent = self.condition_on_batch(self.latent_prior(x.shape[0], self.random_stream(-2, 0)), probe)
            out = self.discriminate(x, latent)
            scores = self.objective.scores(out, out)  # only its real-data half is logged
            key = "d_x" if "d_x" in scores else "real_score"
            self.log(f"{stage}/{key}_train", scores[key], sync_dist=True)

    def _train_probe(self) -> Any:
        """The first ``probe_size`` examples of the datamodule's training set, collated (None without one)."""
        if self._probe is None:
            dm = self.trainer.datamodule if self._trainer else None
            dataset = getattr(dm, "train_set", None)
            if dataset is None or not self.hparams.probe_size:
                return None
            items = [dataset[i] for i in range(min(self.hparams.probe_size, len(dataset)))]
            self._probe = default_collate(items)
        return self.transfer_batch_to_device(self._probe, self.device, 0)

    # ------------------------------------------------------------------ non-finite losses
    def nonfinite_message(self, last_finite_step: int) -> str:
        ckpt = getattr(self.trainer.checkpoint_callback, "last_model_path", "") if self._trainer else ""
        kept = f"the last good checkpoint is {ckpt}" if ckpt else "no checkpoint was written yet"
        return (
            f"a loss of {type(self.objective).__name__} became NaN or infinite between generator steps "
            f"{last_finite_step} and {self.generator_steps}; training stopped and {kept} "
            "(lower the learning rate or check the data)"
        )

    # ------------------------------------------------------------------ optimizers
    def configure_optimizers(self) -> Any:
        optimizers = []
        for factory, params in zip(
            self._optimizer_factories, (self.generator_parameters(), self.discriminator_parameters())
        ):
            params = list(params)
            optimizers.append(factory(params) if factory else torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999)))
        schedulers = []
        for factory, opt in zip(self._scheduler_factories, optimizers):
            if factory is not None:
                scheduler = factory(opt)
                config = {"scheduler": scheduler, "interval": "epoch"}
                schedulers.append(config)
        return optimizers, schedulers

    def on_train_epoch_end(self) -> None:
        """Step each scheduler once per epoch; ReduceLROnPlateau gets its monitored metric."""
        monitor = self.hparams.scheduler_monitor
        for config in self.trainer.lr_scheduler_configs:
            if isinstance(config.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                metrics = self.trainer.callback_metrics
                if monitor not in metrics:
                    raise LightgenError(
                        f"ReduceLROnPlateau monitors {monitor!r}, which was not logged; "
                        f"set model.scheduler_monitor to one of {sorted(metrics)}"
                    )
                config.scheduler.step(metrics[monitor])
            else:
                config.scheduler.step()
