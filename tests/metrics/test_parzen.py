"""Parzen windows: the closed form on one kernel, bandwidth choice, and the known failure (Theis et al. 2016)."""

from __future__ import annotations

import math

import torch

from lightgen.metrics.parzen import THEIS_WARNING, parzen_estimate, parzen_log_density


def test_single_kernel_is_a_gaussian_log_density() -> None:
    x, s, sigma = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 0.0]]), 0.5
    expected = -5.0 / (2 * sigma**2) - math.log(2 * math.pi * sigma**2)  # D = 2
    assert abs(float(parzen_log_density(x, s, sigma)) - expected) < 1e-9


def test_bandwidth_is_chosen_on_validation() -> None:
    gen = torch.Generator().manual_seed(0)
    samples, val, test = (torch.randn(n, 2, generator=gen) * 0.1 for n in (400, 100, 100))
    out = parzen_estimate(samples, val, test, sigmas=(0.001, 0.03, 10.0))
    assert out["sigma"] == 0.03  # neither far too narrow nor far too wide for data of std 0.1
    assert out["validation_scores"][0.03] == max(out["validation_scores"].values()) and not out["sigma_at_grid_edge"]
    assert out["warning"] == THEIS_WARNING and "Theis et al. 2016" in THEIS_WARNING


def test_parzen_rates_a_memorising_model_above_a_good_model() -> None:
    """The known failure: data N(0, I) in 50-D. A model that returns its training images has a true
    log-likelihood of -inf on test data (a sum of point masses), a good model N(0, 1.1^2 I) is within
    about 0.3 nats per example of the best possible; the Parzen estimate ranks them the other way round,
    and it is far below the good model's true log-likelihood."""
    d, gen = 50, torch.Generator().manual_seed(0)
    train, val, test = (torch.randn(n, d, generator=gen) for n in (500, 200, 200))
    good = 1.1 * torch.randn(500, d, generator=gen)
    memorised = parzen_estimate(train, val, test)["log_likelihood_nats"]
    parzen_good = parzen_estimate(good, val, test)["log_likelihood_nats"]
    s2 = 1.1**2
    true_good = float((-0.5 * test.pow(2).sum(1) / s2 - 0.5 * d * math.log(2 * math.pi * s2)).mean())
    assert memorised > parzen_good  # the memoriser (true log-likelihood -inf) wins
    assert parzen_good < true_good - 10  # and the estimate is far from the truth
