"""GAN costs on discriminator outputs: pure functions of the logits (or critic values).

Every function returns a dict of named terms with the total under ``"loss"``. The objectives in
:mod:`lightgen.losses.objectives` pair a discriminator cost with a generator cost and regularisers.

Cross-entropy family (Goodfellow et al. 2014; Goodfellow 2016, "NIPS 2016 Tutorial: GANs", sec. 3.2).
D outputs a logit ``l`` with D(x) = sigmoid(l); log D = -softplus(-l), log(1 - D) = -softplus(l),
which is exact and stable:

    J(D) = -1/2 E_x log D(x) - 1/2 E_z log(1 - D(G(z)))                    (tutorial eq. 8)
    minimax             J(G) = -J(D); only its G-dependent term +1/2 E_z log(1 - D(G(z)))  (eq. 9)
    non-saturating      J(G) = -1/2 E_z log D(G(z))                          (eq. 13)
    maximum likelihood  J(G) = -1/2 E_z exp(sigma^-1(D(G(z))))                (eq. 15)

Least squares (Mao et al. 2017, "Least Squares GANs", eq. 2 with a = 0, b = c = 1):
    D: 1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2        G: 1/2 E (D(G(z)) - 1)^2
Hinge (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018, "Spectral Normalization", eq. 16-17):
    D: E relu(1 - D(x)) + E relu(1 + D(G(z)))       G: -E D(G(z))
Wasserstein (Arjovsky et al. 2017, "Wasserstein GAN", eq. 3 and Algorithm 1), a critic f:
    D: E f(G(z)) - E f(x)                           G: -E f(G(z))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LossDict = dict[str, torch.Tensor]

#: exp(l) overflows float32 above l = 88.7; the maximum-likelihood cost clamps its logits here
ML_LOGIT_CLAMP = 30.0


# ------------------------------------------------------------------ cross-entropy family
def cross_entropy_discriminator_cost(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> LossDict:
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
    """J(G) = -1/2 E exp(sigma^-1(D(G(z)))) (tutorial eq. 15).

    With the optimal D, exp(logit) = p_data / p_g, and the gradient of J(G) with respect to G's
    parameters is **one half** of the gradient of KL(p_data || p_g) (the factor 1/2 of eq. 15).
    Logits are clamped at :data:`ML_LOGIT_CLAMP` (exp(30) ~ 1e13): above ~88 exp overflows float32
    to inf, and such a sample gets a bounded, not infinite, weight. The number of clamped logits is
    returned as ``clamped`` so a run can see it happen.
    """
    clamped = (fake_logits.detach() > ML_LOGIT_CLAMP).sum().to(fake_logits.dtype)
    return {"loss": -0.5 * torch.exp(fake_logits.clamp(max=ML_LOGIT_CLAMP)).mean(), "clamped": clamped}


# ------------------------------------------------------------------ least squares
def least_squares_discriminator_cost(real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
    """LSGAN's D cost (Mao et al. 2017, eq. 2, a = 0 for fakes, b = 1 for real data)."""
    real = 0.5 * (real_out - 1.0).pow(2).mean()
    fake = 0.5 * fake_out.pow(2).mean()
    return {"loss": real + fake, "d_real_term": real, "d_fake_term": fake}


def least_squares_generator_cost(fake_out: torch.Tensor) -> LossDict:
    """LSGAN's G cost (Mao et al. 2017, eq. 2, c = 1): 1/2 E (D(G(z)) - 1)^2."""
    return {"loss": 0.5 * (fake_out - 1.0).pow(2).mean()}


# ------------------------------------------------------------------ hinge
def hinge_discriminator_cost(real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
    """E relu(1 - D(x)) + E relu(1 + D(G(z))) (Lim & Ye 2017; Miyato et al. 2018, eq. 16)."""
    real = F.relu(1.0 - real_out).mean()
    fake = F.relu(1.0 + fake_out).mean()
    return {"loss": real + fake, "d_real_term": real, "d_fake_term": fake}


def critic_generator_cost(fake_out: torch.Tensor) -> LossDict:
    """-E D(G(z)): the generator cost of the hinge (Miyato et al. eq. 17) and Wasserstein objectives."""
    return {"loss": -fake_out.mean()}


# ------------------------------------------------------------------ Wasserstein
def wasserstein_critic_cost(real_out: torch.Tensor, fake_out: torch.Tensor) -> LossDict:
    """E f(G(z)) - E f(x): minus the critic's estimate of W(p_data, p_g) (Arjovsky et al. eq. 3)."""
    real, fake = real_out.mean(), fake_out.mean()
    return {"loss": fake - real, "wasserstein_estimate": (real - fake).detach()}


def feature_matching_cost(real_features: torch.Tensor, fake_features: torch.Tensor) -> LossDict:
    """||E_x f(x) - E_z f(G(z))||_2^2 over D's intermediate features f (Salimans et al. 2016, sec. 3.1);
    the real features are a fixed target (no gradient)."""
    gap = real_features.detach().float().mean(0) - fake_features.float().mean(0)
    return {"loss": gap.pow(2).sum()}
