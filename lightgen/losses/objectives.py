"""GAN objectives as classes: a discriminator cost, a generator cost and any regularisers.

A GAN takes ``objective:`` as a class (class_path + init_args in YAML, the class name on the command
line: ``--model.objective Hinge``); a user's own subclass of :class:`GANObjective` in their own module
works the same way, with no edit to lightgen. The loop calls three methods:

    d_loss(critic, real, fake, step, generator)   J(D) plus the regularisers due at this D step
    g_loss(critic, fake, real)                    J(G) (``real``: the step's real batch)
    after_d_step(discriminator)                   after each D update (WGAN's weight clipping)

``critic`` is ``x -> D(x)`` with the conditioning bound, so penalties can evaluate D at new points;
``critic.features(x)`` gives D's intermediate features (feature matching).
Objectives hold configuration only, no tensors: a checkpoint stores :meth:`GANObjective.spec`
(class_path and init_args), never the object.

| objective | paper | D cost | G cost |
|---|---|---|---|
| Minimax, NonSaturating, MaximumLikelihood | Goodfellow 2014/2016 | cross-entropy | eq. 9 / 13 / 15 |
| LeastSquares | Mao et al. 2017 | eq. 2 | eq. 2 |
| Hinge | Lim & Ye 2017; Miyato et al. 2018 | eq. 16 | eq. 17 |
| WassersteinClip | Arjovsky et al. 2017 | critic, weights clipped to [-c, c] | -E f(G(z)) |
| WassersteinGP | Gulrajani et al. 2017 | critic + gradient penalty | -E f(G(z)) |
| DRAGAN | Kodali et al. 2017 | cross-entropy + DRAGAN penalty | non-saturating |
| FeatureMatching | Salimans et al. 2016 | cross-entropy | sec. 3.1: squared gap of mean D features |
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses import gan as costs
from lightgen.losses.gan import LossDict
from lightgen.losses.penalties import Critic, DiscriminatorRegularizer, DRAGANPenalty, GradientPenalty


class GANObjective:
    """Base objective. Subclasses implement :meth:`d_cost` and :meth:`g_cost` on D's outputs.

    Args:
        regularizers: discriminator regularisers added to J(D), e.g. ``[R1(weight=10, every=16)]``.

    ``probabilistic``: D's output is the logit of P(real), so D(x) = sigmoid(output) is logged as
    ``d_x`` / ``d_g_z``; for critics (least squares, hinge, Wasserstein) the raw means are logged.
    """

    probabilistic = True
    #: whether :meth:`g_cost` carries the factor 1/2 of :mod:`lightgen.losses.gan` (cross-entropy, least squares),
    #: which the reference code of pix2pix, CycleGAN and SRGAN does not write (BCE(D, 1), MSE(D, 1))
    halved_g_cost = False
    #: regularisers the objective puts first in ``regularizers`` itself (WGAN-GP's and DRAGAN's penalties):
    #: rebuilt from its own arguments, so they are left out of the ``regularizers`` it reports
    builtin_regularizers = 0

    def __init__(self, regularizers: Sequence[DiscriminatorRegularizer] = ()) -> None:
        self.regularizers = list(regularizers)
        for reg in self.regularizers:
            if not isinstance(reg, DiscriminatorRegularizer):
                raise LightgenError(
                    f"regularizers must be DiscriminatorRegularizer instances (e.g. lightgen.losses.penalties.R1); "
                    f"got {type(reg).__name__}"
                )

    @property
    def paper_g_scale(self) -> float:
        """The factor that turns J(G) into the reference code's unhalved cost: 2 where :meth:`g_cost` carries 1/2
        (``halved_g_cost``), else 1. pix2pix, CycleGAN and SRGAN weigh their other G terms against that cost."""
        return 2.0 if self.halved_g_cost else 1.0

    # ------------------------------------------------------------------ the costs
    def d_cost(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
        raise NotImplementedError

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        raise NotImplementedError

    # ------------------------------------------------------------------ what the loop calls
    def d_loss(
        self,
        critic: Critic,
        real: torch.Tensor,
        fake: torch.Tensor,
        step: int = 0,
        generator: torch.Generator | None = None,
        regularize: bool = True,
        grad_scale: float = 1.0,
    ) -> LossDict:
        """J(D) on one real and one fake batch, plus every regulariser due at D step ``step``
        (a lazy one, ``every = N``, runs when ``step % N == 0`` and its loss is multiplied by N).
        ``grad_scale``: the float16 GradScaler's scale, for the penalties' input gradients."""
        real_out, fake_out = critic(real), critic(fake)
        terms = self.d_cost(real_out, fake_out)
        terms.update(self.scores(real_out.detach(), fake_out.detach()))
        if regularize:
            for reg in self.regularizers:
                if step % reg.every == 0:
                    reg_terms = reg(critic, real, fake, generator, grad_scale)
                    terms["loss"] = terms["loss"] + reg.every * reg_terms["loss"]
                    terms[reg.name] = reg_terms["loss"].detach()
                    if "grad_norm" in reg_terms:
                        terms[f"{reg.name}_grad_norm"] = reg_terms["grad_norm"]
        return terms

    def g_loss(self, critic: Critic, fake: torch.Tensor, real: torch.Tensor | None = None) -> LossDict:
        """J(G) on a fake batch (``real``, the step's real batch, for costs that compare with it)."""
        return self.g_cost(critic(fake))

    def after_d_step(self, discriminator: nn.Module) -> None:
        """Called after each discriminator update (WGAN clips the weights here)."""

    def scores(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
        """Mean outputs on real and fake data, for the logs (D(x) and D(G(z)) when probabilistic)."""
        if self.probabilistic:
            return {"d_x": torch.sigmoid(real_out).mean(), "d_g_z": torch.sigmoid(fake_out).mean()}
        return {"real_score": real_out.mean(), "fake_score": fake_out.mean()}

    # ------------------------------------------------------------------ serialisation
    def init_args(self) -> dict[str, Any]:
        extra = [reg.spec() for reg in self.regularizers[self.builtin_regularizers :]]
        return {"regularizers": extra} if extra else {}

    def spec(self) -> dict[str, Any]:
        """class_path and init_args as YAML writes them: what a checkpoint stores."""
        cls = type(self)
        return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": self.init_args()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.init_args().items())
        return f"{type(self).__name__}({args})"


class _CrossEntropy(GANObjective):
    """D minimises the cross-entropy J(D) (Goodfellow 2016 eq. 8)."""

    halved_g_cost = True

    def d_cost(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
        return costs.cross_entropy_discriminator_cost(real_out, fake_out)


class Minimax(_CrossEntropy):
    """The zero-sum game, J(G) = -J(D) (Goodfellow et al. 2014; tutorial eq. 9)."""

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        return costs.minimax_generator_cost(fake_out)


class NonSaturating(_CrossEntropy):
    """The heuristic, non-saturating game, J(G) = -1/2 E log D(G(z)) (tutorial eq. 13)."""

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        return costs.non_saturating_generator_cost(fake_out)


class MaximumLikelihood(_CrossEntropy):
    """J(G) = -1/2 E exp(sigma^-1(D(G(z)))) (tutorial eq. 15): with the optimal D its gradient is half
    that of KL(p_data || p_g). Logits are clamped at 30 before exp (no float32 overflow)."""

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        return costs.maximum_likelihood_generator_cost(fake_out)


class FeatureMatching(_CrossEntropy):
    """Feature matching (Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 3.1): D plays
    the cross-entropy game; G minimises ||E_x f(x) - E_z f(G(z))||_2^2, f D's intermediate features
    (the network's ``features()``: its last hidden layer), so G matches the statistics D finds useful
    rather than maximising D's output directly. Logged beside it: the non-saturating cost (not trained)."""

    halved_g_cost = False  # its G cost is the squared feature gap, no 1/2

    def g_loss(self, critic: Critic, fake: torch.Tensor, real: torch.Tensor | None = None) -> LossDict:
        if real is None:
            raise LightgenError("FeatureMatching's generator cost compares with the real batch; got real=None")
        features = getattr(critic, "features", None)
        if features is None:
            raise LightgenError("FeatureMatching needs a critic with features(x) (the GAN loop's BoundCritic)")
        terms = costs.feature_matching_cost(features(real), features(fake))
        with torch.no_grad():
            terms["non_saturating"] = costs.non_saturating_generator_cost(critic(fake))["loss"]
        return terms

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        """The non-saturating cost: what J(G) reports where no real batch is at hand."""
        return costs.non_saturating_generator_cost(fake_out)


class LeastSquares(GANObjective):
    """LSGAN (Mao et al. 2017, eq. 2 with the 0-1 coding a = 0, b = c = 1)."""

    probabilistic = False
    halved_g_cost = True

    def d_cost(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
        return costs.least_squares_discriminator_cost(real_out, fake_out)

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        return costs.least_squares_generator_cost(fake_out)


class Hinge(GANObjective):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018 eq. 16-17), usually with spectral norm in D."""

    probabilistic = False

    def d_cost(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
        return costs.hinge_discriminator_cost(real_out, fake_out)

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        return costs.critic_generator_cost(fake_out)


class _Wasserstein(GANObjective):
    probabilistic = False

    def d_cost(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
        return costs.wasserstein_critic_cost(real_out, fake_out)

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        return costs.critic_generator_cost(fake_out)


class WassersteinClip(_Wasserstein):
    """WGAN (Arjovsky et al. 2017, Algorithm 1): the critic's weights are clipped to [-clip, clip]
    after every update. The paper's settings: RMSProp lr 5e-5, clip 0.01, n_critic (d_steps) 5.

    Every parameter of D is clipped, batch-norm scales and shifts included, as in the authors' code."""

    def __init__(self, clip: float = 0.01, regularizers: Sequence[DiscriminatorRegularizer] = ()) -> None:
        super().__init__(regularizers)
        if clip <= 0:
            raise LightgenError(f"WassersteinClip clip must be positive; got {clip}")
        self.clip = float(clip)

    def init_args(self) -> dict[str, Any]:
        return {"clip": self.clip, **super().init_args()}

    @torch.no_grad()
    def after_d_step(self, discriminator: nn.Module) -> None:
        for p in discriminator.parameters():
            p.clamp_(-self.clip, self.clip)


class WassersteinGP(_Wasserstein):
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1): the critic cost plus lambda (||grad D(xhat)|| - 1)^2
    with one interpolation weight per sample. Paper settings: lambda 10, Adam(1e-4, betas (0, 0.9)),
    n_critic 5, no batch norm in the critic (use ``d_norm: layer`` or ``none``)."""

    builtin_regularizers = 1

    def __init__(self, gp_weight: float = 10.0, regularizers: Sequence[DiscriminatorRegularizer] = ()) -> None:
        self.gp_weight = float(gp_weight)
        super().__init__([GradientPenalty(weight=gp_weight), *regularizers])

    def init_args(self) -> dict[str, Any]:
        return {"gp_weight": self.gp_weight, **super().init_args()}


class DRAGAN(NonSaturating):
    """DRAGAN (Kodali et al. 2017): the non-saturating game plus a gradient penalty around the data
    (lambda 10, perturbation scale 0.5, as in the authors' code and Lucic et al. 2018)."""

    builtin_regularizers = 1

    def __init__(
        self, penalty_weight: float = 10.0, scale: float = 0.5, regularizers: Sequence[DiscriminatorRegularizer] = ()
    ) -> None:
        self.penalty_weight, self.scale = float(penalty_weight), float(scale)
        super().__init__([DRAGANPenalty(weight=penalty_weight, scale=scale), *regularizers])

    def init_args(self) -> dict[str, Any]:
        return {"penalty_weight": self.penalty_weight, "scale": self.scale, **super().init_args()}


# ------------------------------------------------------------------ from a checkpoint's spec
def _import_class(class_path: str, base: type) -> type:
    module_name, _, name = str(class_path).rpartition(".")
    if not module_name.startswith("lightgen.") and module_name not in sys.modules:
        try:
            importlib.import_module(module_name)
        except ImportError:
            raise LightgenError(f"cannot import {class_path!r} (its module is not importable)") from None
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        raise LightgenError(f"{class_path!r} does not exist") from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise LightgenError(f"{class_path!r} is not a {base.__name__}")
    return cls


def build_from_spec(spec: Any, base: type) -> Any:
    """An instance from ``{"class_path": ..., "init_args": {...}}`` (nested specs are built too)."""
    if isinstance(spec, base):
        return spec
    if not isinstance(spec, dict) or "class_path" not in spec:
        raise LightgenError(f"expected a {base.__name__} or a dict with class_path and init_args; got {spec!r}")
    args = dict(spec.get("init_args") or {})
    if "regularizers" in args:
        args["regularizers"] = [build_from_spec(r, DiscriminatorRegularizer) for r in args["regularizers"]]
    return _import_class(spec["class_path"], base)(**args)


def resolve_objective(objective: GANObjective | dict | None) -> GANObjective:
    """The objective a GAN was given: an instance, a spec from a checkpoint, or None (non-saturating)."""
    if objective is None:
        return NonSaturating()
    return build_from_spec(objective, GANObjective)
