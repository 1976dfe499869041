"""Log-densities and variational bounds on log p(x), as pure tensor functions.

Kingma & Welling 2013 ("Auto-Encoding Variational Bayes", eq. 3 and 10) and Rezende et al. 2014:
the evidence lower bound

    ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z))                          (AEVB eq. 3)
            = E_q(z|x)[log p(x, z) - log q(z|x)]                                  (the MC form)

with the analytic Gaussian KL of AEVB appendix B (eq. 10). Burda et al. 2015 ("Importance Weighted
Autoencoders", eq. 8): with log-weights log w_i = log p(x, z_i) - log q(z_i|x), z_i ~ q(z|x),

    L_k(x) = E[ log (1/k) sum_{i=1..k} w_i ]                                      (IWAE eq. 8)

L_1 is the ELBO, L_k <= L_{k+1} <= log p(x) on average (their Theorem 1), and a single draw of
``logsumexp(log w) - log k`` with large k (5000 in their Table 1) estimates log p(x).

Conventions: a log-density sums over the trailing ``event_dims`` dimensions of its input and keeps
the leading (sample, batch) dimensions. Bounds are per example, in nats; the losses return dicts
with a ``"loss"`` key (the negative bound averaged over the batch) and their named terms.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)
LossDict = dict[str, torch.Tensor]


def _sum_event(t: torch.Tensor, event_dims: int) -> torch.Tensor:
    return t.sum(dim=tuple(range(-event_dims, 0))) if event_dims > 0 else t


# ---------------------------------------------------------------------------- log-densities
def bernoulli_log_prob(x: torch.Tensor, logits: torch.Tensor, event_dims: int = 1) -> torch.Tensor:
    """log Bernoulli(x; sigmoid(logits)) = x*l - softplus(l), summed over the event dims.

    x in {0, 1} (any real x in [0, 1] gives the cross-entropy); x and logits broadcast.
    """
    x, logits = torch.broadcast_tensors(x, logits)
    return _sum_event(-F.binary_cross_entropy_with_logits(logits, x, reduction="none"), event_dims)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor, event_dims: int = 1) -> torch.Tensor:
    """log N(x; mean, diag(exp(log_var))) = -1/2 [log 2pi + log_var + (x - mean)^2 / var]."""
    return _sum_event(-0.5 * (LOG_2PI + log_var + (x - mean) ** 2 * torch.exp(-log_var)), event_dims)


def standard_normal_log_prob(z: torch.Tensor, event_dims: int = 1) -> torch.Tensor:
    """log N(z; 0, I)."""
    return _sum_event(-0.5 * (LOG_2PI + z**2), event_dims)


def discretized_logistic_log_prob(
    x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor, bins: int = 256, event_dims: int = 1
) -> torch.Tensor:
    """log P(x) for x on the grid {0, 1/(bins-1), ..., 1} under a logistic(mean, scale) discretized
    into ``bins`` bins (Kingma et al. 2016, IAF paper sec. 5.2; Salimans et al. 2017 eq. 2): the mass
    of the bin [x - 1/2b, x + 1/2b], with the edge bins taking the tails, so the bins sum to one.

    Computed in log-sigmoid terms, so that it stays exact (and its gradient alive) far in the tails,
    where ``sigmoid(a) - sigmoid(b)`` underflows or cancels: with a = (x + h - mean)/s, b = (x - h - mean)/s,

        first bin   log sigmoid(a)
        last bin    log (1 - sigmoid(b)) = -softplus(b)
        interior    log (sigmoid(a) - sigmoid(b)) = log sigmoid(a) - softplus(b) + log(1 - exp(-2h/s))

    (the identity sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b) (1 - e^(b - a)), with b - a = -2h/s).
    """
    half = 0.5 / (bins - 1)
    inv_s = torch.exp(-log_scale)
    centered = x - mean
    log_cdf_upper = F.logsigmoid((centered + half) * inv_s)  # log P(X < x + h): the first bin
    log_sf_lower = -F.softplus((centered - half) * inv_s)  # log P(X > x - h): the last bin
    # log(1 - e^(-2h/s)), from the bin width itself rather than a difference of the two ends; clamped
    # away from 0 only where s > e^60, so that no branch of the torch.where below has an infinite gradient
    log_width = torch.log(-torch.expm1(-(2 * half * inv_s).clamp_min(1e-30)))
    log_mass = log_cdf_upper + log_sf_lower + log_width
    log_mass = torch.where(x <= 1e-6, log_cdf_upper, torch.where(x >= 1.0 - 1e-6, log_sf_lower, log_mass))
    return _sum_event(log_mass, event_dims)


# ---------------------------------------------------------------------------- KL terms
def kl_standard_normal(mean: torch.Tensor, log_var: torch.Tensor, event_dims: int = 1) -> torch.Tensor:
    """KL(N(mean, diag(exp(log_var))) || N(0, I)) = 1/2 sum(mean^2 + var - 1 - log_var)  (AEVB eq. 10)."""
    return _sum_event(0.5 * (mean**2 + torch.exp(log_var) - 1.0 - log_var), event_dims)


def kl_gaussians(
    mean_q: torch.Tensor, log_var_q: torch.Tensor, mean_p: torch.Tensor, log_var_p: torch.Tensor, event_dims: int = 1
) -> torch.Tensor:
    """KL(N(mean_q, var_q) || N(mean_p, var_p)) for diagonal Gaussians (DRAW's learned prior, two layers)."""
    term = log_var_p - log_var_q + (torch.exp(log_var_q) + (mean_q - mean_p) ** 2) * torch.exp(-log_var_p) - 1.0
    return _sum_event(0.5 * term, event_dims)


# ---------------------------------------------------------------------------- bounds
def elbo_analytic(log_px_z: torch.Tensor, kl: torch.Tensor) -> torch.Tensor:
    """ELBO (B,) = E_q log p(x|z) - KL; ``log_px_z`` (k, B) over k draws of z (or (B,)), ``kl`` (B,)."""
    rec = log_px_z.mean(0) if log_px_z.dim() == kl.dim() + 1 else log_px_z
    return rec - kl


def elbo_mc(log_w: torch.Tensor) -> torch.Tensor:
    """ELBO (B,) estimated as the mean of the log-weights (k, B): E_q[log p(x,z) - log q(z|x)]."""
    return log_w.mean(0)


def iwae_bound(log_w: torch.Tensor) -> torch.Tensor:
    """L_k (B,) = log (1/k) sum_i w_i from log-weights (k, B), computed with logsumexp (IWAE eq. 8)."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def log_mean_exp_chunks(chunks: list[torch.Tensor]) -> torch.Tensor:
    """log (1/K) sum_i w_i over log-weight chunks [(k_j, B)], K = sum k_j: L_K assembled piecewise,
    so that k = 5000 never holds all its samples at once."""
    total = sum(c.shape[0] for c in chunks)
    per_chunk = torch.stack([torch.logsumexp(c, dim=0) for c in chunks])  # (n_chunks, B)
    return torch.logsumexp(per_chunk, dim=0) - math.log(total)


def elbo_loss(log_px_z: torch.Tensor, kl: torch.Tensor) -> LossDict:
    """Negative analytic-KL ELBO averaged over the batch, with its reconstruction and KL terms (nats)."""
    rec = log_px_z.mean(0) if log_px_z.dim() == kl.dim() + 1 else log_px_z
    elbo = rec - kl
    return {"loss": -elbo.mean(), "elbo": elbo.mean().detach(), "rec": rec.mean().detach(), "kl": kl.mean().detach()}


def iwae_loss(log_w: torch.Tensor) -> LossDict:
    """Negative L_k averaged over the batch (IWAE eq. 8); the gradient weights each sample's
    gradient by its normalized importance weight (IWAE eq. 14). Also reports the MC ELBO and the
    effective sample size of the weights (1 <= ess <= k)."""
    bound = iwae_bound(log_w)
    w_norm = torch.softmax(log_w.detach(), dim=0)
    ess = 1.0 / (w_norm**2).sum(0)
    return {"loss": -bound.mean(), "bound": bound.mean().detach(), "elbo": log_w.detach().mean(), "ess": ess.mean()}


def elbo_mc_loss(log_w: torch.Tensor) -> LossDict:
    """Negative MC ELBO averaged over k draws and the batch (the 'VAE with k samples' of IWAE sec. 5)."""
    elbo = elbo_mc(log_w)
    return {"loss": -elbo.mean(), "elbo": elbo.mean().detach()}


def nats_to_bits_per_dim(nats: torch.Tensor | float, num_dims: int) -> torch.Tensor | float:
    """-log p(x) in nats -> bits per dimension: nats / (D ln 2)."""
    return nats / (num_dims * math.log(2.0))
