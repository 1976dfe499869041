"""GAN costs against hand-computed values, and the optimal discriminator on two 1-D Gaussians."""

from __future__ import annotations

import math

import pytest
import torch

from lightgen.losses.gan import (
    cross_entropy_discriminator_cost as discriminator_cost,
)
from lightgen.losses.gan import (
    maximum_likelihood_generator_cost,
    minimax_generator_cost,
    non_saturating_generator_cost,
)
from lightgen.models import GAN
from lightgen.models.latent import Latent

# D(x) = 0.5, 0.75 on real data; D(G(z)) = 0.5, 0.25 on samples (logit = log(D / (1 - D)))
D_REAL = [0.5, 0.75]
D_FAKE = [0.5, 0.25]


def logits(probs: list[float]) -> torch.Tensor:
    return torch.tensor([math.log(p / (1 - p)) for p in probs], dtype=torch.float64)


def test_discriminator_cost_matches_hand_computation() -> None:
    expected = -0.5 * (math.log(0.5) + math.log(0.75)) / 2 - 0.5 * (math.log(0.5) + math.log(0.75)) / 2
    got = discriminator_cost(logits(D_REAL), logits(D_FAKE))["loss"].item()
    assert got == pytest.approx(expected, abs=1e-12)


def test_minimax_cost_is_half_mean_log_one_minus_d() -> None:
    expected = 0.5 * (math.log(1 - 0.5) + math.log(1 - 0.25)) / 2
    assert minimax_generator_cost(logits(D_FAKE))["loss"].item() == pytest.approx(expected, abs=1e-12)


def test_non_saturating_cost_is_minus_half_mean_log_d() -> None:
    expected = -0.5 * (math.log(0.5) + math.log(0.25)) / 2
    assert non_saturating_generator_cost(logits(D_FAKE))["loss"].item() == pytest.approx(expected, abs=1e-12)


def test_maximum_likelihood_cost_is_minus_half_mean_odds() -> None:
    # exp(sigma^-1(D)) = D / (1 - D): the density ratio p_data / p_g under an optimal D
    expected = -0.5 * (0.5 / 0.5 + 0.25 / 0.75) / 2
    assert maximum_likelihood_generator_cost(logits(D_FAKE))["loss"].item() == pytest.approx(expected, abs=1e-12)


def test_minimax_gradient_is_minus_discriminator_gradient() -> None:
    """J(G) = -J(D): on the fake logits the two gradients are exact opposites."""
    fake = logits(D_FAKE).requires_grad_()
    (g_grad,) = torch.autograd.grad(minimax_generator_cost(fake)["loss"], fake)
    fake2 = logits(D_FAKE).requires_grad_()
    (d_grad,) = torch.autograd.grad(discriminator_cost(logits(D_REAL), fake2)["loss"], fake2)
    torch.testing.assert_close(g_grad, -d_grad)


def test_non_saturating_gradient_does_not_vanish_when_d_rejects_samples() -> None:
    """Goodfellow 2016 fig. 16: where D(G(z)) -> 0 the minimax gradient vanishes, the other does not."""
    fake = torch.tensor([-12.0], dtype=torch.float64, requires_grad=True)
    (mm,) = torch.autograd.grad(minimax_generator_cost(fake)["loss"], fake)
    fake2 = fake.detach().clone().requires_grad_()
    (ns,) = torch.autograd.grad(non_saturating_generator_cost(fake2)["loss"], fake2)
    assert abs(mm.item()) < 1e-5 < 0.4 < abs(ns.item())


def test_optimal_discriminator_on_two_gaussians() -> None:
    """Training D with J(D) on p_data = N(0, 1) vs p_model = N(1, 1) recovers
    D*(x) = p_data(x) / (p_data(x) + p_model(x)) = sigmoid(0.5 - x)."""
    torch.manual_seed(0)
    model = GAN(data_shape=(1,), d_hidden=(32, 32), g_hidden=(4,))
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=3e-3)
    for _ in range(600):
        real = torch.randn(512, 1)
        fake = torch.randn(512, 1) + 1.0
        loss = model.d_loss(real, fake, Latent(torch.zeros(512, 4)))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.linspace(-1.5, 2.5, 41).unsqueeze(1)
    with torch.no_grad():
        d = torch.sigmoid(model.discriminate(x))
    p_data = torch.exp(-0.5 * x.squeeze() ** 2)
    p_model = torch.exp(-0.5 * (x.squeeze() - 1) ** 2)
    d_star = p_data / (p_data + p_model)
    assert (d - d_star).abs().max().item() < 0.05
    # the minimised J(D) is log 2 - JSD(p_data, p_model), below log 2 (the value of a D that cannot tell)
    assert loss.item() < math.log(2) - 0.05
