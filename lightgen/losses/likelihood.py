"""Exact log-likelihoods of autoregressive models by the chain rule, and draws from the conditionals.

An autoregressive model writes ``log p(x) = sum_i log p(x_i | x_<i)`` (e.g. Larochelle & Murray
2011, eq. 1). Every lightgen autoregressive network returns, for a batch of flat examples
``x (B, D)``, the parameters of all D conditionals at once, ``params (B, D, P)``, where
``params[:, i]`` depends only on the variables before ``i`` in the model's ordering:

    "bernoulli"   P = 1: the logit of p(x_i = 1 | x_<i); x_i in {0, 1}
    "categorical" P = k: logits over k levels; data in [0, 1] is level / (k - 1)
    "gaussian"    P = 2: mean and log standard deviation of N(x_i; mu_i, sigma_i^2)
    "gaussian_mixture"  P = 3C: C mixture logits, C means, C log standard deviations
                  (RNADE's conditionals, Uria, Murray & Larochelle 2013, eq. 3-6)

The functions here are pure: they score data under those parameters, draw from them, and turn a
per-example log-likelihood into the logged terms (nats and bits per dimension).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

Distribution = Literal["bernoulli", "categorical", "gaussian", "gaussian_mixture"]
LossDict = dict[str, torch.Tensor]

#: parameters per variable of each conditional family (categorical: the number of levels)
PARAMS_PER_VARIABLE = {"bernoulli": 1, "gaussian": 2}


def params_per_variable(distribution: Distribution, num_levels: int, num_components: int = 1) -> int:
    """P, the width of ``params[:, i]`` for this family."""
    if distribution == "gaussian_mixture":
        return 3 * num_components
    return num_levels if distribution == "categorical" else PARAMS_PER_VARIABLE[distribution]


def gaussian_log_density(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """``log N(x; mean, exp(log_std)^2)``, elementwise, in nats."""
    return -0.5 * ((x - mean) * torch.exp(-log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def mixture_log_probs(params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``log sum_c pi_c N(x_i; mu_c, sigma_c^2)``: params (..., 3C) as (logits, means, log stds), x (...)."""
    logits, mean, log_std = params.chunk(3, dim=-1)
    log_pi = torch.log_softmax(logits, dim=-1)
    return torch.logsumexp(log_pi + gaussian_log_density(x.unsqueeze(-1), mean, log_std), dim=-1)


def to_levels(x: torch.Tensor, num_levels: int) -> torch.Tensor:
    """Data in [0, 1] -> integer levels 0..k-1 (``round(x * (k - 1))``)."""
    return (x * (num_levels - 1)).round().clamp(0, num_levels - 1).long()


def conditional_log_probs(params: torch.Tensor, x: torch.Tensor, distribution: Distribution) -> torch.Tensor:
    """``log p(x_i | x_<i)`` of every variable: params (B, D, P), x (B, D) -> (B, D), in nats."""
    if distribution == "bernoulli":
        return -F.binary_cross_entropy_with_logits(params[..., 0], x, reduction="none")
    if distribution == "categorical":
        levels = to_levels(x, params.shape[-1])
        return torch.log_softmax(params, dim=-1).gather(-1, levels.unsqueeze(-1)).squeeze(-1)
    if distribution == "gaussian":
        return gaussian_log_density(x, params[..., 0], params[..., 1])
    if distribution == "gaussian_mixture":
        return mixture_log_probs(params, x)
    raise ValueError(f"unknown distribution {distribution!r}")


def log_prob_from_params(params: torch.Tensor, x: torch.Tensor, distribution: Distribution) -> torch.Tensor:
    """``log p(x) = sum_i log p(x_i | x_<i)``: params (B, D, P), x (B, D) -> (B,), in nats."""
    return conditional_log_probs(params, x, distribution).sum(dim=-1)


def sample_conditional(
    params: torch.Tensor, distribution: Distribution, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One draw per row from the conditionals ``params (B, P)`` -> (B,) values in data space."""
    if distribution == "bernoulli":
        return torch.bernoulli(torch.sigmoid(params[:, 0]), generator=generator)
    if distribution == "categorical":
        k = params.shape[-1]
        levels = torch.multinomial(torch.softmax(params, dim=-1), 1, generator=generator).squeeze(-1)
        return levels.to(params.dtype) / (k - 1)
    if distribution == "gaussian":
        eps = torch.randn(params.shape[0], generator=generator, device=params.device, dtype=params.dtype)
        return params[:, 0] + torch.exp(params[:, 1]) * eps
    if distribution == "gaussian_mixture":
        logits, mean, log_std = params.chunk(3, dim=-1)
        c = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)  # (B, 1) component
        eps = torch.randn(params.shape[0], generator=generator, device=params.device, dtype=params.dtype)
        return mean.gather(-1, c).squeeze(-1) + torch.exp(log_std.gather(-1, c).squeeze(-1)) * eps
    raise ValueError(f"unknown distribution {distribution!r}")


def nll_terms(log_px: torch.Tensor, num_dims: int) -> LossDict:
    """Logged terms of a batch's exact log-likelihoods ``log_px (B,)``.

    ``loss`` = ``nll`` = mean of ``-log p(x)`` in nats; ``bpd`` = nll / (D ln 2), bits per dimension.
    """
    nll = -log_px.mean()
    return {"loss": nll, "nll": nll.detach(), "bpd": nll.detach() / (num_dims * math.log(2.0))}
