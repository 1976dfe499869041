"""The bounds of lightgen.losses.bounds against closed forms (linear-Gaussian model) and Monte Carlo."""

from __future__ import annotations

import math

import pytest
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


# ---------------------------------------------------------------- the discretized logistic, bin by bin
def _reference_log_mass(x: float, mean: float, log_scale: float, bins: int = 256) -> float:
    """log of the logistic(mean, e^log_scale) density integrated over x's bin, in float64 by
    scipy.integrate.quad: [x - h, x + h], the first bin from -inf and the last to +inf (h = 1/2(bins-1)).
    The density is divided by its largest value on the bin before integrating, so that a mass of
    e^-75 is integrated to full relative precision."""
    from scipy.integrate import quad

    s, half = math.exp(log_scale), 0.5 / (bins - 1)
    lo = -math.inf if x <= 1e-6 else x - half
    hi = math.inf if x >= 1 - 1e-6 else x + half

    def log_density(y: float) -> float:
        u = abs(y - mean) / s  # the logistic density is symmetric about its mean
        return -u - 2.0 * math.log1p(math.exp(-u)) - log_scale

    peak = log_density(min(max(mean, lo), hi))  # the density's largest value on [lo, hi]
    pieces = [(lo, mean), (mean, hi)] if lo < mean < hi else [(lo, hi)]  # never integrate across a hidden peak
    total = 0.0
    for a, b in pieces:
        value, _ = quad(lambda y: math.exp(log_density(y) - peak), a, b, epsabs=0.0, epsrel=1e-11, limit=200)
        total += value
    return peak + math.log(total)


def _dl(x: float, mean: float, log_scale: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    t = lambda v: torch.tensor(v, dtype=dtype)  # noqa: E731
    return bounds.discretized_logistic_log_prob(t(x), t(mean), t(log_scale), event_dims=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_discretized_logistic_far_tails_match_numerical_integration(dtype: torch.dtype) -> None:
    # the two cases of issue 10: a bin 74 nats down (it was floored at log 1e-12 = -27.63), and a bin
    # near the top of the CDF, where sigmoid(a) - sigmoid(b) cancels to 0 in float32
    for (x, mean, log_scale), exact in (((0.5, 0.0, -5.0), -74.73), ((0.5, 0.2, -4.0), -17.92)):
        ref = _reference_log_mass(x, mean, log_scale)
        assert math.isclose(ref, exact, abs_tol=0.005)
        tol = 1e-9 if dtype == torch.float64 else 1e-4 * abs(ref)
        assert math.isclose(float(_dl(x, mean, log_scale, dtype)), ref, abs_tol=tol), (x, mean, log_scale, dtype)
    # a sweep over the tails on both sides, the middle, narrow and wide scales, and the two edge bins
    for x in (0.0, 1 / 255, 0.2, 0.5, 128 / 255, 0.9, 254 / 255, 1.0):
        for mean in (-0.6, 0.0, 0.31, 0.5, 1.0, 1.7):
            for log_scale in (-7.0, -5.0, -3.0, -1.0, 1.0):
                ref = _reference_log_mass(x, mean, log_scale)
                got = float(_dl(x, mean, log_scale, dtype))
                tol = 1e-8 * max(1.0, abs(ref)) if dtype == torch.float64 else 2e-5 * max(1.0, abs(ref))
                assert math.isclose(got, ref, abs_tol=tol), (x, mean, log_scale, dtype, got, ref)


def _f64(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def test_discretized_logistic_every_bin_in_the_middle_and_at_the_edges() -> None:
    grid = torch.arange(256, dtype=torch.float64) / 255
    for mean, log_scale in ((0.3, -2.0), (0.02, -4.5), (0.97, -6.0)):
        got = bounds.discretized_logistic_log_prob(grid, _f64(mean), _f64(log_scale), event_dims=0)
        ref = torch.tensor([_reference_log_mass(float(v), mean, log_scale) for v in grid], dtype=torch.float64)
        torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(torch.logsumexp(got, 0), torch.tensor(0.0, dtype=torch.float64))  # sums to one


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_discretized_logistic_gradients_live_in_the_far_tail(dtype: torch.dtype) -> None:
    """74 nats down the left tail d log P / d mean is about -1/s (pulling the mean towards x), and d log P /
    d log_scale about +(x - mean)/s: both checked against central differences of the quad reference."""
    mean = torch.tensor(0.0, dtype=dtype, requires_grad=True)
    log_scale = torch.tensor(-5.0, dtype=dtype, requires_grad=True)
    log_p = bounds.discretized_logistic_log_prob(torch.tensor(0.5, dtype=dtype), mean, log_scale, event_dims=0)
    log_p.backward()
    h = 1e-5
    d_mean = (_reference_log_mass(0.5, h, -5.0) - _reference_log_mass(0.5, -h, -5.0)) / (2 * h)
    d_scale = (_reference_log_mass(0.5, 0.0, -5.0 + h) - _reference_log_mass(0.5, 0.0, -5.0 - h)) / (2 * h)
    assert abs(d_mean) > 100 and abs(d_scale) > 50  # far from the old clamp's zero gradient
    assert math.isclose(float(mean.grad), d_mean, rel_tol=1e-3) and math.isclose(
        float(log_scale.grad), d_scale, rel_tol=1e-3
    )
