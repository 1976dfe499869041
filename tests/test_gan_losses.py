"""GAN costs against hand-computed values, the maximum-likelihood cost against its closed-form gradient,
and the optimal discriminator on two 1-D Gaussians."""

from __future__ import annotations

import math

import pytest
import torch

from lightgen.losses.gan import (
    ML_LOGIT_CLAMP,
    critic_generator_cost,
    hinge_discriminator_cost,
    least_squares_discriminator_cost,
    least_squares_generator_cost,
    maximum_likelihood_generator_cost,
    minimax_generator_cost,
    non_saturating_generator_cost,
    wasserstein_critic_cost,
)
from lightgen.losses.gan import cross_entropy_discriminator_cost as discriminator_cost
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


# ------------------------------------------------------------------ least squares, hinge, Wasserstein
# critic outputs (not probabilities) on real data and on samples
OUT_REAL = [2.0, 0.5, -1.0]
OUT_FAKE = [-2.0, 0.0, 1.5]


def outputs(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_hinge_costs_match_hand_computation() -> None:
    terms = hinge_discriminator_cost(outputs(OUT_REAL), outputs(OUT_FAKE))
    # relu(1 - D(x)) = [0, 0.5, 2]; relu(1 + D(G(z))) = [0, 1, 2.5]
    assert terms["d_real_term"].item() == pytest.approx(2.5 / 3, abs=1e-12)
    assert terms["d_fake_term"].item() == pytest.approx(3.5 / 3, abs=1e-12)
    assert terms["loss"].item() == pytest.approx(2.0, abs=1e-12)
    # G: -E D(G(z)) = -(-2 + 0 + 1.5) / 3
    assert critic_generator_cost(outputs(OUT_FAKE))["loss"].item() == pytest.approx(1 / 6, abs=1e-12)


def test_hinge_discriminator_cost_is_zero_beyond_the_margin() -> None:
    """Outputs past the margins (D(x) >= 1, D(G(z)) <= -1) cost nothing and get no gradient."""
    real = outputs([1.0, 3.0]).requires_grad_()
    fake = outputs([-1.0, -4.0]).requires_grad_()
    loss = hinge_discriminator_cost(real, fake)["loss"]
    assert loss.item() == 0.0
    grad_real, grad_fake = torch.autograd.grad(loss, (real, fake))
    assert grad_real.abs().sum().item() == 0.0 and grad_fake.abs().sum().item() == 0.0


def test_least_squares_costs_match_hand_computation() -> None:
    terms = least_squares_discriminator_cost(outputs(OUT_REAL), outputs(OUT_FAKE))
    # 1/2 mean (D(x) - 1)^2 = 1/2 (1 + 0.25 + 4) / 3; 1/2 mean D(G(z))^2 = 1/2 (4 + 0 + 2.25) / 3
    assert terms["d_real_term"].item() == pytest.approx(0.5 * 5.25 / 3, abs=1e-12)
    assert terms["d_fake_term"].item() == pytest.approx(0.5 * 6.25 / 3, abs=1e-12)
    assert terms["loss"].item() == pytest.approx(0.5 * 11.5 / 3, abs=1e-12)
    # G: 1/2 mean (D(G(z)) - 1)^2 = 1/2 (9 + 1 + 0.25) / 3
    assert least_squares_generator_cost(outputs(OUT_FAKE))["loss"].item() == pytest.approx(0.5 * 10.25 / 3, abs=1e-12)


def test_wasserstein_critic_cost_matches_hand_computation() -> None:
    real = outputs(OUT_REAL).requires_grad_()
    fake = outputs(OUT_FAKE).requires_grad_()
    terms = wasserstein_critic_cost(real, fake)
    # E f(G(z)) - E f(x) = -1/6 - 1/2; the estimate of W is its negative
    assert terms["loss"].item() == pytest.approx(-2 / 3, abs=1e-12)
    assert terms["wasserstein_estimate"].item() == pytest.approx(2 / 3, abs=1e-12)
    assert not terms["wasserstein_estimate"].requires_grad
    # the critic is pushed up on real data and down on samples
    grad_real, grad_fake = torch.autograd.grad(terms["loss"], (real, fake))
    torch.testing.assert_close(grad_real, torch.full((3,), -1 / 3, dtype=torch.float64))
    torch.testing.assert_close(grad_fake, torch.full((3,), 1 / 3, dtype=torch.float64))


# ------------------------------------------------------------------ maximum likelihood
@pytest.mark.parametrize(("mu0", "expected"), [(0.5, 0.25), (1.0, 0.5), (2.0, 1.0)])
def test_maximum_likelihood_gradient_is_half_the_kl_gradient_under_the_optimal_discriminator(
    mu0: float, expected: float
) -> None:
    """p_data = N(0, 1), G(z) = z + mu, z ~ N(0, 1), so p_g = N(mu, 1). The optimal D, fixed at mu = mu0, has
    logit(x) = log N(x; 0, 1) - log N(x; mu0, 1) = mu0^2 / 2 - mu0 x. The gradient of J(G) at mu0 is half
    that of KL(p_data || p_g) = mu^2 / 2, i.e. mu0 / 2 (Goodfellow 2016, eq. 15-16)."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(1_000_000, generator=gen, dtype=torch.float64)
    mu = torch.tensor(mu0, dtype=torch.float64, requires_grad=True)
    x = z + mu
    optimal_logit = 0.5 * mu0**2 - mu0 * x  # mu0 a constant: D is held fixed
    (grad,) = torch.autograd.grad(maximum_likelihood_generator_cost(optimal_logit)["loss"], mu)
    # the estimator's standard deviation is (mu0 / 2) sqrt((exp(mu0^2) - 1) / n) <= 0.008 here
    assert grad.item() == pytest.approx(expected, abs=0.03)


def test_maximum_likelihood_cost_survives_logits_that_overflow_exp() -> None:
    """exp(100) is inf in float32; the clamped cost stays finite, as does its gradient, and counts them."""
    assert torch.isinf(torch.exp(torch.tensor(100.0)))
    fake = torch.tensor([100.0, 100.0, 0.0, -3.0], requires_grad=True)
    terms = maximum_likelihood_generator_cost(fake)
    assert torch.isfinite(terms["loss"])
    expected = -0.5 * (2 * math.exp(ML_LOGIT_CLAMP) + 1.0 + math.exp(-3.0)) / 4
    assert terms["loss"].item() == pytest.approx(expected, rel=1e-5)
    (grad,) = torch.autograd.grad(terms["loss"], fake)
    assert torch.isfinite(grad).all()
    assert terms["clamped"].item() == 2.0
    # the unclamped logits keep their exact gradient -1/2 exp(l) / n
    assert grad[2].item() == pytest.approx(-0.5 / 4, rel=1e-6)
