"""BEGAN (Berthelot, Schumm & Metz 2017, "BEGAN: Boundary Equilibrium Generative Adversarial Networks").

The GAN loop with an autoencoder D (:mod:`lightgen.nets.began`) whose output per example is its L1
reconstruction loss L(v), the costs of eq. 4 and the proportional control of k_t (:mod:`lightgen.losses.began`):

    L_D = L(x) - k_t L(G(z))     L_G = L(G(z))     k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)

**Where the costs live.** ``objective`` is fixed to :class:`~lightgen.losses.began.BEGANObjective`: J(G) goes
through the loop's ``g_loss`` unchanged, and ``d_loss`` is overridden here to pass the model's k_t to the
objective's D cost. k_t is training state, so it is a registered buffer of this module (saved in
``state_dict``, hence in every checkpoint, restored on resume, moved with the module): objectives hold
configuration only.

**When k_t moves.** Once per D step, in ``on_d_step``, from that step's L(x) and L(G(z)) (D before its
update, the same numbers as L_D; under DDP averaged over ranks so every rank keeps one k_t). With the
paper's one D step per G step (``d_steps: 1``) that is once per training step, as in the paper, and the G
step reuses the D step's fakes, so the L(G(z_G)) of eq. 4 is that of z_D. Each D step logs ``d/k`` (the
k_t it used), ``d/l_real``, ``d/l_fake`` and ``d/m_global`` (eq. 5).

**Validation.** ``val/loss``, ``val/l_real``, ``val/l_fake`` and ``val/m_global`` on held-out images (k_t is
read, never updated), and ``val/real_score_train``: L(x) of the training probe (the loop's name for the mean
D output on training images), beside ``val/l_real`` for the held-out images.

Paper settings (sec. 4.1): Adam with an initial learning rate in [5e-5, 1e-4], halved when M_global stalls;
the paper gives no betas, so the default is Adam(1e-4, betas (0.5, 0.999)) as in DCGAN-style training;
lambda_k = 0.001, k_0 = 0, z ~ U[-1, 1]^Nz with Nz = h = 64, n = 64 or 128, batch 16.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses import began as costs
from lightgen.losses.gan import LossDict
from lightgen.losses.objectives import resolve_objective
from lightgen.models.gan import GAN
from lightgen.models.latent import Latent
from lightgen.nets.began import BEGANAutoencoder, BEGANGenerator

#: the default optimizer of both players (sec. 4.1: lr in [5e-5, 1e-4]; betas not given in the paper)
BEGAN_ADAM = partial(torch.optim.Adam, lr=1e-4, betas=(0.5, 0.999))


class BEGAN(GAN):
    """BEGAN for 1- or 3-channel square images of 16, 28, 32, 64 or 128 pixels (b * 2^L, 4 <= b <= 8).

    Args:
        data_shape: (C, S, S), linked from the datamodule by the CLI.
        latent_dim: Nz, the size of z ~ U[-1, 1]^Nz (64 in the paper, equal to h).
        width: n, the convolution width (64 or 128 in the paper); D's encoder widens to n, 2n, 3n, ...
        hidden_dim: h, the size of D's embedding (64 in the paper).
        gamma: the diversity ratio E L(G(z)) / E L(x) of the equilibrium (eq. 3), in (0, 1]; lower gives
            sharper, less diverse samples (the paper compares 0.3, 0.5 and 0.7).
        lambda_k: the proportional gain of k_t's control (0.001 in the paper); 0 keeps k_t at ``k_init``.
        k_init: k_0, in [0, 1] (0 in the paper).
        **kwargs: the rest of :class:`~lightgen.models.gan.GAN` (d_steps, optimizers, EMA, ...); ``objective``
            is always :class:`~lightgen.losses.began.BEGANObjective`, and D has no dropout, packing or
            minibatch discrimination.
    """

    supports_packing = False

    def __init__(
        self,
        data_shape: tuple[int, ...],
        latent_dim: int = 64,
        width: int = 64,
        hidden_dim: int = 64,
        gamma: float = 0.5,
        lambda_k: float = 0.001,
        k_init: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if not 0.0 < gamma <= 1.0:
            raise LightgenError(f"gamma must be in (0, 1]; got {gamma}")
        if lambda_k < 0.0:
            raise LightgenError(f"lambda_k must be >= 0; got {lambda_k}")
        if not 0.0 <= k_init <= 1.0:
            raise LightgenError(f"k_init must be in [0, 1]; got {k_init}")
        if kwargs.get("d_dropout", 0.0):
            raise LightgenError(f"BEGAN's autoencoder D has no dropout; got d_dropout={kwargs['d_dropout']} (use 0)")
        objective = resolve_objective(kwargs.pop("objective", None) or costs.BEGANObjective())
        if not isinstance(objective, costs.BEGANObjective):
            raise LightgenError(f"BEGAN plays its own game (BEGANObjective); got objective {type(objective).__name__}")
        super().__init__(data_shape, latent_dim=latent_dim, objective=objective, **kwargs)
        self.gamma, self.lambda_k = float(gamma), float(lambda_k)
        self.register_buffer("k_t", torch.tensor(float(k_init)))
        g_opt, d_opt = self._optimizer_factories
        self._optimizer_factories = (g_opt or BEGAN_ADAM, d_opt or BEGAN_ADAM)

    # ------------------------------------------------------------------ networks and latents
    def build_generator(self) -> nn.Module:
        return BEGANGenerator(self.latent_dim, self.data_shape, self.hparams.width)

    def build_discriminator(self) -> nn.Module:
        return BEGANAutoencoder(self.data_shape, self.hparams.width, self.hparams.hidden_dim)

    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """z ~ U[-1, 1]^Nz, (n, latent_dim): the paper draws z uniformly (sec. 3)."""
        return Latent(2.0 * torch.rand(n, self.latent_dim, generator=generator, device=self.device) - 1.0)

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D's output per example: its reconstruction loss L(x) = |x - D(x)|_1 / (C H W), shape (N,) (eq. 1)."""
        return costs.reconstruction_loss(x, self.d_net(x))

    # ------------------------------------------------------------------ the game
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, latent: Latent, regularize: bool = True) -> LossDict:
        """L_D = L(x) - k_t L(G(z)) (eq. 4) with the current k_t, plus k_t and M_global (eq. 5) for the logs.
        The loop passes ``fake`` detached, so this step's gradients reach D only."""
        critic = self.critic(latent)
        terms = self.objective.d_cost(critic(real), critic(fake), self.k_t)
        terms["k"] = self.k_t.detach().clone()
        terms["m_global"] = costs.convergence_measure(terms["l_real"], terms["l_fake"], self.gamma)
        return terms

    def on_d_step(self, terms: LossDict) -> None:
        """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1) (eq. 4), from this D step's losses."""
        error = costs.balance(terms["l_real"].float(), terms["l_fake"].float(), self.gamma)
        if self._trainer is not None and self.trainer.world_size > 1:  # one k_t on every rank
            error = self.trainer.strategy.reduce(error, reduce_op="mean")
        with torch.no_grad():
            self.k_t.copy_(costs.update_k(self.k_t, error, self.lambda_k))
