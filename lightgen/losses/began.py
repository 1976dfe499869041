"""BEGAN's costs and its proportional control (Berthelot, Schumm & Metz 2017, "BEGAN: Boundary Equilibrium
Generative Adversarial Networks", sec. 3).

D is an autoencoder; what it "outputs" for an example v is its reconstruction loss (eq. 1, eta = 1, the
paper's choice; a mean over pixels rather than a sum, which only rescales the costs):

    L(v) = |v - D(v)|_1 / (C H W)                                       (eq. 1)
    L_D = L(x) - k_t L(G(z_D))         L_G = L(G(z_G))                  (eq. 4)
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)        (eq. 4)
    M_global = L(x) + |gamma L(x) - L(G(z_G))|                          (eq. 5)

with L(x), L(G(z)) the batch means of the per-example losses. gamma = E L(G(z)) / E L(x) is the diversity
ratio of the equilibrium (eq. 3): lower gamma asks D to autoencode real images better than fakes by a wider
margin, which the paper finds gives sharper but less diverse samples.

:class:`BEGANObjective` is these costs as a :class:`~lightgen.losses.objectives.GANObjective` on D outputs
that are per-example reconstruction losses; it holds no state (k_t is the model's buffer, passed in).
"""

from __future__ import annotations

import torch

from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict
from lightgen.losses.objectives import GANObjective
from lightgen.losses.penalties import Critic


def reconstruction_loss(v: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """L(v) per example: the mean absolute error over all but the batch axis, (N, ...) x2 -> (N,) (eq. 1)."""
    if v.shape != reconstruction.shape:
        raise LightgenError(
            f"a reconstruction must have its input's shape {tuple(v.shape)}; got {tuple(reconstruction.shape)}"
        )
    return (v - reconstruction).abs().flatten(1).mean(1)


def discriminator_cost(l_real: torch.Tensor, l_fake: torch.Tensor, k: torch.Tensor | float) -> LossDict:
    """L_D = L(x) - k_t L(G(z)) (eq. 4) from per-example losses (N,), with L(x), L(G(z)) beside it."""
    real, fake = l_real.mean(), l_fake.mean()
    return {"loss": real - k * fake, "l_real": real.detach(), "l_fake": fake.detach()}


def generator_cost(l_fake: torch.Tensor) -> LossDict:
    """L_G = L(G(z)) (eq. 4): G makes samples that D reconstructs well."""
    return {"loss": l_fake.mean()}


def balance(l_real: torch.Tensor | float, l_fake: torch.Tensor | float, gamma: float) -> torch.Tensor:
    """gamma L(x) - L(G(z)), the equilibrium error the control drives to zero (eq. 3-4)."""
    return gamma * torch.as_tensor(l_real) - torch.as_tensor(l_fake)


def update_k(k: torch.Tensor, error: torch.Tensor | float, lambda_k: float) -> torch.Tensor:
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) (eq. 4), given that error."""
    return (k + lambda_k * torch.as_tensor(error, dtype=k.dtype, device=k.device)).clamp(0.0, 1.0)


def convergence_measure(l_real: torch.Tensor | float, l_fake: torch.Tensor | float, gamma: float) -> torch.Tensor:
    """M_global = L(x) + |gamma L(x) - L(G(z))| (eq. 5): falls as the images improve and the game balances."""
    return torch.as_tensor(l_real) + balance(l_real, l_fake, gamma).abs()


class BEGANObjective(GANObjective):
    """BEGAN's game on D outputs that are per-example reconstruction losses L(v) (the model's ``discriminate``).

    J(G) = mean L(G(z)) works through the loop as any objective's; J(D) needs the model's k_t, so
    :class:`~lightgen.models.began.BEGAN` calls :meth:`d_cost` with it (``d_loss`` of a plain GAN cannot
    supply it and refuses). ``scores`` gives the mean L(x) and L(G(z)) as ``real_score`` / ``fake_score``.
    No regularisers: D's loss is not a classifier's, and the control balances the players instead.
    """

    probabilistic = False

    def __init__(self) -> None:
        super().__init__(())

    def d_cost(self, real_out: torch.Tensor, fake_out: torch.Tensor, k: torch.Tensor | float | None = None) -> LossDict:
        if k is None:
            raise LightgenError("BEGANObjective's D cost needs k_t; train it with lightgen.models.BEGAN")
        return discriminator_cost(real_out, fake_out, k)

    def g_cost(self, fake_out: torch.Tensor) -> LossDict:
        return generator_cost(fake_out)

    def d_loss(
        self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, *args: object, **kwargs: object
    ) -> LossDict:
        raise LightgenError("BEGANObjective's D cost needs k_t; train it with lightgen.models.BEGAN")
