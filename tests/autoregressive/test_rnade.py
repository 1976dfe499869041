"""RNADE (Uria, Murray & Larochelle 2013): NADE with mixture-of-Gaussians conditionals on real values."""

from __future__ import annotations

import math

import pytest
import torch
from ar_models import (
    MIXTURE,
    build,
    one_thread,  # noqa: F401  (autouse fixture)
)
from scipy.stats import kstest, norm

from lightgen.models import NADE

C = 3  # components, as in ar_models.MIXTURE


def _rnade(d: int, seed: int = 0):  # noqa: ANN202
    """An RNADE on d variables with random parameters, activation scales away from 1, and standard
    deviations kept in about [0.45, 2.2] so a fine grid integrates its density accurately."""
    model = build("rnade", MIXTURE, (1, 1, d), seed=seed, distribution="gaussian_mixture")
    with torch.no_grad():
        model.net.V[:, 2 * C :] *= 0.2  # log-std rows
        model.net.b[:, 2 * C :] = 0.0
        model.net.rho.copy_(torch.linspace(0.5, 1.5, d, dtype=torch.float64))
    return model


def test_density_integrates_to_one() -> None:
    model = _rnade(2)
    grid = torch.linspace(-16.0, 16.0, 801, dtype=torch.float64)
    step = (grid[1] - grid[0]).item()
    x = torch.cartesian_prod(grid, grid).view(-1, 1, 1, 2)
    with torch.no_grad():
        mass = model.log_prob(x).exp().sum().item() * step * step
    assert mass == pytest.approx(1.0, abs=1e-4)


def test_one_pass_equals_naive_loop_and_cached_sampling_equals_uncached() -> None:
    model = _rnade(9)
    x = torch.randn(5, 9, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(model.conditionals(x), model.conditionals_naive(x), atol=1e-12)
    assert torch.allclose(model.sample(20, seed=4), model.sample_uncached(20, seed=4), atol=1e-9)


def test_first_variable_follows_its_mixture() -> None:
    """x_1 depends on nothing: its samples follow the mixture p(x_1) (Kolmogorov-Smirnov)."""
    model = _rnade(3)
    with torch.no_grad():
        params = model.conditionals(torch.zeros(1, 3, dtype=torch.float64))[0, 0]  # (3C,)
    pi, mean, std = torch.softmax(params[:C], 0), params[C : 2 * C], params[2 * C :].exp()

    def cdf(v):  # noqa: ANN001, ANN202
        return sum(pi[c].item() * norm.cdf(v, mean[c].item(), std[c].item()) for c in range(C))

    samples = model.sample(4000, seed=9).flatten(1)[:, 0].numpy()
    assert kstest(samples, cdf).pvalue > 1e-3
    assert pi.max() < 0.9  # a real mixture, not one Gaussian


def test_training_learns_the_dependence() -> None:
    """x_2 = x_1^2 - 1 + 0.1 e. Any factorised density costs at least H(x_1) + H(x_2) >= H(N(0, 1))
    + H(chi^2_1) = 1.419 + 0.784 = 2.20 nats; the true entropy is 1.419 + 1.419 + log 0.1 = 0.54 nats.
    RNADE trained 600 Adam steps must go well below the factorised bound."""
    gen = torch.Generator().manual_seed(0)
    x1 = torch.randn(2048, generator=gen)
    data = torch.stack([x1, x1**2 - 1 + 0.1 * torch.randn(2048, generator=gen)], 1).view(-1, 1, 1, 2)
    factorised_bound = 0.5 * math.log(2 * math.pi * math.e) + 0.7838  # H(N(0,1)) + H(chi^2_1)
    torch.manual_seed(0)
    model = NADE(data_shape=(1, 1, 2), hidden=16, distribution="gaussian_mixture", num_components=5)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for step in range(600):
        loss = -model.log_prob(data[(step * 128) % 2048 :][:128]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        nll = -model.log_prob(data).mean().item()
    assert nll < factorised_bound - 0.5, f"RNADE {nll:.3f} nats vs the factorised bound {factorised_bound:.3f}"
