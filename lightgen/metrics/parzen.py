"""Parzen-window (Gaussian kernel density) log-likelihood estimates for models without a density.

The estimate of Breuleux et al. (2011), used for GANs by Goodfellow et al. (2014): fit an isotropic
Gaussian kernel density to S model samples, choose its bandwidth sigma on a validation split, and
report the mean log-density of test images:

    log p(x) = logsumexp_i( -|x - s_i|^2 / (2 sigma^2) ) - log S - (D/2) log(2 pi sigma^2)

Caveat (Theis, van den Oord & Bethge 2016, "A note on the evaluation of generative models", sec. 3.2):
in high dimensions this estimate is far from the model's true log-likelihood even with millions of
samples, it ranks models differently from their true likelihoods, and a model that merely returns its
training images scores very well (the test in tests/metrics/test_parzen.py shows exactly that).
Treat it as a sample-quality heuristic, never as a likelihood.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

THEIS_WARNING = (
    "Parzen-window estimates are not log-likelihoods: they can be off by orders of magnitude in high "
    "dimensions, rank models differently from their true likelihoods, and a model that memorises its "
    "training set scores highly (Theis et al. 2016, 'A note on the evaluation of generative models')"
)
# bandwidths tried: 0.01 .. 10, four per decade (images in [0, 1] pick about 0.1-0.3)
DEFAULT_SIGMAS = tuple(float(s) for s in torch.logspace(-2, 1, 13).tolist())


def parzen_log_density(x: torch.Tensor, samples: torch.Tensor, sigma: float, chunk: int = 256) -> torch.Tensor:
    """log p(x) (N,) under the Gaussian KDE of ``samples`` (S, D) with bandwidth ``sigma``; x is (N, D)."""
    x, s = x.flatten(1).double(), samples.flatten(1).double()
    d = s.shape[1]
    norm = math.log(len(s)) + 0.5 * d * math.log(2 * math.pi * sigma**2)
    out = []
    for xb in x.split(chunk):
        sq = torch.cdist(xb, s).pow(2)  # (b, S)
        out.append(torch.logsumexp(-sq / (2 * sigma**2), dim=1) - norm)
    return torch.cat(out)


def choose_bandwidth(
    samples: torch.Tensor, validation: torch.Tensor, sigmas: Sequence[float] = DEFAULT_SIGMAS
) -> tuple[float, dict[float, float]]:
    """The sigma (from ``sigmas``) with the highest mean validation log-density, and all the scores."""
    scores = {float(s): float(parzen_log_density(validation, samples, s).mean()) for s in sigmas}
    best = max(scores, key=scores.__getitem__)
    return best, scores


def parzen_estimate(
    samples: torch.Tensor, validation: torch.Tensor, test: torch.Tensor, sigmas: Sequence[float] = DEFAULT_SIGMAS
) -> dict[str, object]:
    """Bandwidth chosen on ``validation``, mean test log-density (nats) with its standard error, and the warning."""
    sigma, scores = choose_bandwidth(samples, validation, sigmas)
    ll = parzen_log_density(test, samples, sigma)
    se = float(ll.std(unbiased=True) / math.sqrt(len(ll))) if len(ll) > 1 else float("nan")
    return {
        "log_likelihood_nats": float(ll.mean()),
        "log_likelihood_nats_se": se,
        "sigma": sigma,
        "sigma_at_grid_edge": sigma in (min(scores), max(scores)),
        "validation_scores": scores,
        "num_samples": len(samples),
        "num_validation": len(validation),
        "num_test": len(test),
        "warning": THEIS_WARNING,
    }
