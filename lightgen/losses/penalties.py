"""Discriminator regularisers: gradient penalties that any GAN objective can carry.

A regulariser is called in the D step with the critic (``x -> D(x)``, conditioning already bound),
the real and the fake batch and a ``torch.Generator`` for its own noise (keyed by the training step,
so a resumed run draws the same numbers). It returns a dict with its weighted penalty under
``"loss"``. ``every`` makes it lazy (Karras et al. 2020, StyleGAN2 sec. 3.1): it runs on every
``every``-th D step only and the loop multiplies its loss by ``every`` so its average strength stays.

    GradientPenalty   WGAN-GP (Gulrajani et al. 2017, eq. 3): lambda E_xhat (||grad D(xhat)|| - 1)^2,
                      xhat = eps x + (1 - eps) G(z), one eps ~ U[0, 1] per sample
    DRAGANPenalty     Kodali et al. 2017 ("On Convergence and Stability of GANs", eq. 6): the same
                      penalty around the data: xhat = x + alpha * delta, delta = 0.5 std(x) u,
                      u ~ U[0, 1], as in the authors' code and Lucic et al.'s comparison
    R1                Mescheder et al. 2018 ("Which Training Methods for GANs do actually Converge?",
                      eq. 9): gamma / 2 E_x ||grad D(x)||^2 on real data
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict

Critic = Callable[[torch.Tensor], torch.Tensor]


def input_gradient_norm(critic: Critic, x: torch.Tensor, grad_scale: float = 1.0) -> torch.Tensor:
    """||grad_x D(x)||_2 per sample, shape (N,); the graph is kept so the norm can be penalised.

    ``grad_scale``: under float16 mixed precision, the GradScaler's current scale. The AMP recipe for
    gradient penalties (PyTorch AMP examples, "Gradient penalty"): differentiate ``scale * D(x)`` so
    small input gradients do not underflow in float16, then divide by the scale in float32. An
    overflow gives an infinite penalty, hence infinite gradients, and the scaler skips that step.
    """
    x = x.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum() * grad_scale, x, create_graph=True)
    if grad.dtype in (torch.float16, torch.bfloat16):
        grad = grad.float()  # unscale and take the norm in float32
    return (grad / grad_scale).flatten(1).norm(2, dim=1)


def per_sample_uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One U[0, 1] weight per sample, shaped (N, 1, ..., 1) to broadcast over x."""
    u = torch.rand(x.shape[0], generator=generator, device=x.device, dtype=x.dtype)
    return u.view(-1, *([1] * (x.dim() - 1)))


class DiscriminatorRegularizer:
    """Base of the regularisers: ``name`` (the logged key), ``weight`` and ``every`` (lazy interval)."""

    name = "penalty"

    def __init__(self, weight: float = 10.0, every: int = 1) -> None:
        if weight < 0:
            raise LightgenError(f"{type(self).__name__} weight must be >= 0; got {weight}")
        if every < 1:
            raise LightgenError(f"{type(self).__name__} every must be a positive integer; got {every}")
        self.weight, self.every = float(weight), int(every)

    def __call__(
        self,
        critic: Critic,
        real: torch.Tensor,
        fake: torch.Tensor,
        generator: torch.Generator | None = None,
        grad_scale: float = 1.0,
    ) -> LossDict:
        """The weighted penalty under "loss"; ``grad_scale`` as in :func:`input_gradient_norm`."""
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """class_path and init_args, as YAML writes it (stored in checkpoints instead of the object)."""
        cls = type(self)
        return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": self.init_args()}

    def init_args(self) -> dict[str, Any]:
        return {"weight": self.weight, "every": self.every}


class GradientPenalty(DiscriminatorRegularizer):
    """WGAN-GP: lambda E (||grad D(eps x + (1 - eps) G(z))|| - 1)^2 (Gulrajani et al. 2017, eq. 3).

    ``eps`` is drawn once per sample (their Algorithm 1, line 4), not once per batch.
    """

    name = "gradient_penalty"

    def __call__(self, critic, real, fake, generator=None, grad_scale=1.0) -> LossDict:  # noqa: ANN001
        eps = per_sample_uniform(real, generator)
        xhat = eps * real.detach() + (1.0 - eps) * fake.detach()
        norm = input_gradient_norm(critic, xhat, grad_scale)
        penalty = (norm - 1.0).pow(2).mean()
        return {"loss": self.weight * penalty, "grad_norm": norm.detach().mean()}


class DRAGANPenalty(DiscriminatorRegularizer):
    """DRAGAN: the gradient-norm penalty on points near the data (Kodali et al. 2017, eq. 6).

    xhat = x + alpha (x_p - x) with x_p = x + ``scale`` * std(x) * u, u ~ U[0, 1] elementwise and
    alpha ~ U[0, 1] per sample (the authors' code; Lucic et al. 2018 use the same).
    """

    name = "dragan_penalty"

    def __init__(self, weight: float = 10.0, every: int = 1, scale: float = 0.5) -> None:
        super().__init__(weight, every)
        self.scale = float(scale)

    def init_args(self) -> dict[str, Any]:
        return {**super().init_args(), "scale": self.scale}

    def __call__(self, critic, real, fake, generator=None, grad_scale=1.0) -> LossDict:  # noqa: ANN001
        real = real.detach()
        u = torch.rand(real.shape, generator=generator, device=real.device, dtype=real.dtype)
        perturbed = real + self.scale * real.std() * u
        alpha = per_sample_uniform(real, generator)
        norm = input_gradient_norm(critic, real + alpha * (perturbed - real), grad_scale)
        return {"loss": self.weight * (norm - 1.0).pow(2).mean(), "grad_norm": norm.detach().mean()}


class R1(DiscriminatorRegularizer):
    """R1: gamma / 2 E_{x ~ p_data} ||grad_x D(x)||^2 (Mescheder et al. 2018, eq. 9).

    ``weight`` is gamma. With ``every = N`` it is StyleGAN2's lazy R1: computed on every N-th D step
    and its loss multiplied by N by the objective.
    """

    name = "r1"

    def __call__(self, critic, real, fake, generator=None, grad_scale=1.0) -> LossDict:  # noqa: ANN001
        norm = input_gradient_norm(critic, real, grad_scale)
        return {"loss": 0.5 * self.weight * norm.pow(2).mean(), "grad_norm": norm.detach().mean()}
