"""The bounds of lightgen.losses.bounds against closed forms (linear-Gaussian model) and Monte Carlo."""

from __future__ import annotations

import math

import torch
from vae_linear_gaussian import LinearGaussian

from lightgen.losses import bounds


def _log_weights(
    model: LinearGaussian, x: torch.Tensor, k: int, mean_shift: float = 0.0, seed: int = 0
) -> torch.Tensor:
    """log w (k, n) with q = the true posterior, optionally with its mean shifted (a worse q)."""
    mu, cov = model.posterior(x)
    q = torch.distributions.MultivariateNormal(mu + mean_shift, cov)
    torch.manual_seed(seed)
    z = q.sample((k,))
    return model.log_joint(x, z) - q.log_prob(z)


def test_iwae_bound_is_exact_with_the_true_posterior():
    model = LinearGaussian(d=2, D=3)
    x = model.sample_x(16)
    exact = model.log_px(x)
    for k in (1, 2, 10, 100):
        log_w = _log_weights(model, x, k, seed=k)
        # every single weight equals p(x): the bound is exact for every k and every sample
        torch.testing.assert_close(bounds.iwae_bound(log_w), exact, rtol=0, atol=1e-9)
        torch.testing.assert_close(log_w, exact.expand(k, -1), rtol=0, atol=1e-9)


def test_l1_equals_mc_elbo_and_chunks_equal_one_pass():
    log_w = torch.randn(1, 7, dtype=torch.float64) * 3
    torch.testing.assert_close(bounds.iwae_bound(log_w), bounds.elbo_mc(log_w))
    log_w = torch.randn(50, 7, dtype=torch.float64) * 3
    chunked = bounds.log_mean_exp_chunks([log_w[:20], log_w[20:45], log_w[45:]])
    torch.testing.assert_close(chunked, bounds.iwae_bound(log_w))
    assert (bounds.iwae_bound(log_w) >= bounds.elbo_mc(log_w)).all()  # Jensen, per draw


def test_lk_increases_with_k_on_average_and_stays_below_log_px():
    model = LinearGaussian(d=2, D=3)
    x = model.sample_x(64)
    exact = model.log_px(x).mean()
    means = []
    for k in (1, 5, 50):
        draws = [_log_weights(model, x, k, mean_shift=1.0, seed=100 * k + r) for r in range(20)]
        reps = [bounds.iwae_bound(log_w).mean() for log_w in draws]
        means.append(torch.stack(reps).mean())
    assert means[0] < means[1] < means[2] < exact
    assert exact - means[0] > 0.5  # the shifted q makes the ELBO visibly loose


def test_analytic_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mean, log_var = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64) * 0.5
    z = mean + torch.exp(0.5 * log_var) * torch.randn(200_000, 4, 3, dtype=torch.float64)
    mc = (bounds.gaussian_log_prob(z, mean, log_var) - bounds.standard_normal_log_prob(z)).mean(0)
    analytic = bounds.kl_standard_normal(mean, log_var)
    torch.testing.assert_close(mc, analytic, rtol=0, atol=0.03)
    # the general Gaussian KL reduces to it against N(0, I)
    zeros = torch.zeros_like(mean)
    torch.testing.assert_close(bounds.kl_gaussians(mean, log_var, zeros, zeros), analytic)


def test_analytic_elbo_equals_mc_elbo_in_expectation():
    torch.manual_seed(1)
    mean, log_var = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64) * 0.3
    W = torch.randn(4, 2, dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64)
    z = mean + torch.exp(0.5 * log_var) * torch.randn(100_000, 5, 2, dtype=torch.float64)
    log_px_z = bounds.gaussian_log_prob(x, z @ W.T, torch.zeros(4, dtype=torch.float64))
    log_w = log_px_z + bounds.standard_normal_log_prob(z) - bounds.gaussian_log_prob(z, mean, log_var)
    analytic = bounds.elbo_analytic(log_px_z, bounds.kl_standard_normal(mean, log_var))
    torch.testing.assert_close(bounds.elbo_mc(log_w), analytic, rtol=0, atol=0.05)
    terms = bounds.elbo_loss(log_px_z, bounds.kl_standard_normal(mean, log_var))
    assert set(terms) >= {"loss", "elbo", "rec", "kl"} and torch.isclose(terms["loss"], -analytic.mean())


def test_log_densities_are_normalized():
    logits = torch.randn(6, dtype=torch.float64)
    ones, zeros = torch.ones(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    # Bernoulli: p(1) + p(0) = 1 per dimension; logit 0 gives log 1/2 per pixel, summed over the event
    total = bounds.bernoulli_log_prob(ones, logits, 0).exp() + bounds.bernoulli_log_prob(zeros, logits, 0).exp()
    torch.testing.assert_close(total, ones)
    assert math.isclose(float(bounds.bernoulli_log_prob(ones.view(2, 3), zeros.view(2, 3))[0]), 3 * math.log(0.5))
    # discretized logistic: the 256 bins sum to one
    grid = torch.arange(256, dtype=torch.float64) / 255
    loc, log_scale = torch.tensor(0.3, dtype=torch.float64), torch.tensor(-2.0, dtype=torch.float64)
    p = bounds.discretized_logistic_log_prob(grid, loc, log_scale, event_dims=0).exp()
    torch.testing.assert_close(p.sum(), torch.tensor(1.0, dtype=torch.float64))
    half, scale = 0.5 / 255, math.exp(-2.0)  # an inner bin by hand: the logistic CDF across it
    cdf = lambda v: 1 / (1 + math.exp(-(v - 0.3) / scale))  # noqa: E731
    assert math.isclose(float(p[128]), cdf(128 / 255 + half) - cdf(128 / 255 - half), rel_tol=1e-9)
    # Gaussian against torch.distributions
    x, m, lv = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    ref = torch.distributions.Normal(m, torch.exp(0.5 * lv)).log_prob(x).sum(-1)
    torch.testing.assert_close(bounds.gaussian_log_prob(x, m, lv), ref)
    assert math.isclose(float(bounds.nats_to_bits_per_dim(784 * math.log(2), 784)), 1.0)
