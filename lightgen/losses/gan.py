"""GAN costs on discriminator logits (Goodfellow 2014; Goodfellow 2016, "NIPS 2016 Tutorial: GANs", sec. 3.2).

The discriminator outputs a logit ``l`` with D(x) = sigmoid(l); every cost is written in terms of
``l`` through softplus, which is exact and stable: log D = -softplus(-l), log(1 - D) = -softplus(l).

Discriminator cost (tutorial eq. 8):
    J(D) = -1/2 E_x log D(x) - 1/2 E_z log(1 - D(G(z)))
Generator costs:
    minimax            J(G) = -J(D)  (eq. 9). Its real-data term does not depend on G, so only the
                       fake term +1/2 E_z log(1 - D(G(z))) is computed; gradients are those of -J(D).
    non_saturating     J(G) = -1/2 E_z log D(G(z))                  (eq. 13)
    maximum_likelihood J(G) = -1/2 E_z exp(sigma^-1(D(G(z))))       (eq. 15; sigma^-1(D) is the logit)

Each function returns a dict of named terms with the total under ``"loss"``; new costs (Wasserstein,
hinge, least squares) register in ``GENERATOR_COSTS`` / ``DISCRIMINATOR_COSTS`` under a name.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from lightgen.errors import LightgenError

LossDict = dict[str, torch.Tensor]


def discriminator_cost(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> LossDict:
    """J(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z))) (the cross-entropy of real vs fake)."""
    real = 0.5 * F.softplus(-real_logits).mean()
    fake = 0.5 * F.softplus(fake_logits).mean()
    return {"loss": real + fake, "d_real_term": real, "d_fake_term": fake}


def minimax_generator_cost(fake_logits: torch.Tensor) -> LossDict:
    """J(G) = -J(D) up to the G-independent real term: +1/2 E log(1 - D(G(z)))."""
    return {"loss": -0.5 * F.softplus(fake_logits).mean()}


def non_saturating_generator_cost(fake_logits: torch.Tensor) -> LossDict:
    """J(G) = -1/2 E log D(G(z)): strong gradients while D rejects samples confidently."""
    return {"loss": 0.5 * F.softplus(-fake_logits).mean()}


def maximum_likelihood_generator_cost(fake_logits: torch.Tensor) -> LossDict:
    """J(G) = -1/2 E exp(sigma^-1(D(G(z)))): with an optimal D its gradient is that of KL(p_data || p_g)."""
    return {"loss": -0.5 * torch.exp(fake_logits).mean()}


GENERATOR_COSTS: dict[str, Callable[[torch.Tensor], LossDict]] = {
    "minimax": minimax_generator_cost,
    "non_saturating": non_saturating_generator_cost,
    "maximum_likelihood": maximum_likelihood_generator_cost,
}

DISCRIMINATOR_COSTS: dict[str, Callable[[torch.Tensor, torch.Tensor], LossDict]] = {
    "cross_entropy": discriminator_cost,
}


def _lookup(table: dict, name: str, what: str) -> Callable:
    try:
        return table[name]
    except KeyError:
        raise LightgenError(f"unknown {what} {name!r}; expected one of {sorted(table)}") from None


def generator_cost_by_name(name: str) -> Callable[[torch.Tensor], LossDict]:
    """The generator cost registered under ``name`` (one-line error naming the choices otherwise)."""
    return _lookup(GENERATOR_COSTS, name, "generator cost")


def discriminator_cost_by_name(name: str) -> Callable[[torch.Tensor, torch.Tensor], LossDict]:
    """The discriminator cost registered under ``name``."""
    return _lookup(DISCRIMINATOR_COSTS, name, "discriminator cost")
