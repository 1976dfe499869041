"""Discriminator regularisers against closed forms: WGAN-GP, DRAGAN and R1 (lazy R1 through an objective),
and the GAN's keying of the penalty noise by batch."""

from __future__ import annotations

import pytest
import torch

from lightgen.errors import LightgenError
from lightgen.losses.objectives import NonSaturating, WassersteinGP
from lightgen.losses.penalties import R1, DRAGANPenalty, GradientPenalty
from lightgen.models import GAN
from lightgen.models.gan import PENALTY_KEY
from lightgen.models.latent import Latent

SHAPE = (6, 1, 3, 4)  # a batch of six 1x3x4 "images" (12 pixels each)
DIM = 12


def batch(seed: int, shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def linear_critic(norm: float, seed: int = 3):  # noqa: ANN201
    """D(x) = <w, x> with ||w|| = norm: its input gradient is w everywhere."""
    w = torch.randn(DIM, generator=seeded(seed), dtype=torch.float64)
    w = w / w.norm() * norm
    return lambda x: x.flatten(1) @ w


class Recorder:
    """Wraps a critic and keeps every input it was evaluated at."""

    def __init__(self, critic) -> None:  # noqa: ANN001
        self.critic, self.inputs = critic, []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.detach().clone())
        return self.critic(x)


# ------------------------------------------------------------------ WGAN-GP
def test_gradient_penalty_vanishes_for_a_unit_norm_linear_critic() -> None:
    terms = GradientPenalty(weight=10.0)(linear_critic(1.0), batch(0), batch(1), seeded())
    assert terms["loss"].item() < 1e-6
    assert terms["grad_norm"].item() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("norm", [0.25, 3.0])
def test_gradient_penalty_is_lambda_times_squared_norm_excess_for_a_linear_critic(norm: float) -> None:
    terms = GradientPenalty(weight=10.0)(linear_critic(norm), batch(0), batch(1), seeded())
    assert terms["loss"].item() == pytest.approx(10.0 * (norm - 1.0) ** 2, rel=1e-9)
    assert terms["grad_norm"].item() == pytest.approx(norm, rel=1e-9)


def interpolation_weights(real: torch.Tensor, fake: torch.Tensor, xhat: torch.Tensor) -> torch.Tensor:
    """eps (N, pixels) solving xhat = eps real + (1 - eps) fake elementwise."""
    return ((xhat - fake) / (real - fake)).flatten(1)


def test_gradient_penalty_interpolates_with_one_weight_per_sample() -> None:
    """xhat_i = eps_i x_i + (1 - eps_i) G(z)_i with a single eps_i for all pixels of row i, and
    different rows get different weights (not one eps for the whole batch)."""
    real, fake = batch(0, (64, 1, 3, 4)), batch(1, (64, 1, 3, 4))
    critic = Recorder(linear_critic(1.0))
    GradientPenalty()(critic, real, fake, seeded())
    (xhat,) = critic.inputs
    eps = interpolation_weights(real, fake, xhat)
    per_row = eps[:, :1]
    torch.testing.assert_close(eps, per_row.expand_as(eps), atol=1e-9, rtol=0)  # constant across each row
    assert ((per_row >= 0) & (per_row <= 1)).all()
    assert per_row.unique().numel() == 64  # one draw per sample
    assert 0.3 < per_row.mean().item() < 0.7 and per_row.std().item() > 0.2  # spread over [0, 1]


def test_gradient_penalty_of_a_quadratic_critic_sees_each_samples_own_weight() -> None:
    """D(x) = 1/2 ||x||^2 has gradient x, so with fake = 0 the gradient norm at xhat_i is eps_i ||x_i||: the
    penalty is 10 mean (eps_i ||x_i|| - 1)^2 with the per-sample weights the interpolates show."""
    real = batch(0) * 2.0
    fake = torch.zeros_like(real)
    critic = Recorder(lambda x: 0.5 * x.flatten(1).pow(2).sum(1))
    terms = GradientPenalty(weight=10.0)(critic, real, fake, seeded())
    (xhat,) = critic.inputs
    eps = (xhat.flatten(1) / real.flatten(1))[:, 0]
    expected = 10.0 * (eps * real.flatten(1).norm(dim=1) - 1.0).pow(2).mean()
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-9)


def test_gradient_penalty_noise_comes_from_the_generator_it_is_given() -> None:
    real, fake = batch(0), batch(1)
    draws = []
    for seed in (5, 5, 6):
        critic = Recorder(linear_critic(1.0))
        GradientPenalty()(critic, real, fake, seeded(seed))
        draws.append(interpolation_weights(real, fake, critic.inputs[0])[:, 0])
    torch.testing.assert_close(draws[0], draws[1], atol=0, rtol=0)
    assert not torch.allclose(draws[0], draws[2])


# ------------------------------------------------------------------ DRAGAN
def test_dragan_interpolates_lie_between_x_and_x_plus_half_std() -> None:
    real = batch(0, (64, 1, 3, 4)) * 3.0 + 1.0
    critic = Recorder(linear_critic(1.0))
    DRAGANPenalty()(critic, real, batch(1, (64, 1, 3, 4)), seeded())
    (xhat,) = critic.inputs
    offset = (xhat - real) / (0.5 * real.std())  # alpha_i u_ij, each in [0, 1]
    assert offset.min().item() >= 0.0 and offset.max().item() <= 1.0
    assert offset.max().item() > 0.8  # the whole band is used, not a fraction of it
    assert offset.flatten(1).std(dim=1).min().item() > 0  # u is drawn per pixel, not per sample


def test_dragan_perturbation_scale_is_configurable() -> None:
    real = batch(0, (64, 1, 3, 4))
    critic = Recorder(linear_critic(1.0))
    DRAGANPenalty(scale=0.1)(critic, real, real, seeded())
    offset = (critic.inputs[0] - real) / real.std()
    assert offset.min().item() >= 0.0 and offset.max().item() <= 0.1
    assert offset.max().item() > 0.08


def test_dragan_penalty_vanishes_for_a_unit_norm_linear_critic_and_is_positive_otherwise() -> None:
    real, fake = batch(0), batch(1)
    assert DRAGANPenalty(weight=10.0)(linear_critic(1.0), real, fake, seeded())["loss"].item() < 1e-6
    loss = DRAGANPenalty(weight=10.0)(linear_critic(2.0), real, fake, seeded())["loss"].item()
    assert loss == pytest.approx(10.0, rel=1e-9)  # 10 (2 - 1)^2


# ------------------------------------------------------------------ R1
def quadratic() -> tuple[torch.Tensor, object]:
    """D(x) = 1/2 x^T A x with A symmetric: grad D(x) = A x."""
    m = torch.randn(DIM, DIM, generator=seeded(7), dtype=torch.float64)
    a = m + m.T
    return a, (lambda x: 0.5 * ((x.flatten(1) @ a) * x.flatten(1)).sum(1))


def r1_closed_form(a: torch.Tensor, real: torch.Tensor, gamma: float) -> float:
    return (gamma / 2 * (real.flatten(1) @ a).pow(2).sum(1).mean()).item()


def test_r1_of_a_quadratic_critic_matches_its_closed_form() -> None:
    a, critic = quadratic()
    real = batch(0)
    terms = R1(weight=3.0)(critic, real, batch(1))
    assert terms["loss"].item() == pytest.approx(r1_closed_form(a, real, 3.0), rel=1e-9)
    expected_norm = (real.flatten(1) @ a).norm(dim=1).mean().item()
    assert terms["grad_norm"].item() == pytest.approx(expected_norm, rel=1e-9)


def test_r1_penalises_real_data_only() -> None:
    a, critic = quadratic()
    real = batch(0)
    loss_a = R1(weight=3.0)(critic, real, batch(1))["loss"]
    loss_b = R1(weight=3.0)(critic, real, batch(2) * 100)["loss"]
    assert loss_a.item() == loss_b.item()


def test_r1_loss_carries_the_gradient_to_the_critics_parameters() -> None:
    """The penalty is differentiable in D's parameters (create_graph): for D = 1/2 s ||x||^2,
    R1 = gamma / 2 s^2 mean ||x||^2, so dR1/ds = gamma s mean ||x||^2."""
    s = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    real = batch(0)
    loss = R1(weight=3.0)(lambda x: 0.5 * s * x.flatten(1).pow(2).sum(1), real, real)["loss"]
    (grad,) = torch.autograd.grad(loss, s)
    assert grad.item() == pytest.approx(3.0 * 2.0 * real.flatten(1).pow(2).sum(1).mean().item(), rel=1e-9)


def test_lazy_r1_runs_every_fourth_step_with_its_loss_multiplied_by_four() -> None:
    a, critic = quadratic()
    real, fake = batch(0), batch(1)
    r1 = r1_closed_form(a, real, 10.0)
    objective = NonSaturating(regularizers=[R1(weight=10.0, every=4)])
    plain = NonSaturating().d_loss(critic, real, fake)["loss"].item()
    for step in range(9):
        terms = objective.d_loss(critic, real, fake, step=step)
        if step % 4 == 0:
            assert terms["loss"].item() == pytest.approx(plain + 4 * r1, rel=1e-9), step
            assert terms["r1"].item() == pytest.approx(r1, rel=1e-9)  # logged unscaled
        else:
            assert terms["loss"].item() == pytest.approx(plain, rel=1e-12), step
            assert "r1" not in terms
    # evaluation leaves regularisers out even on a step where one is due
    assert objective.d_loss(critic, real, fake, step=0, regularize=False)["loss"].item() == pytest.approx(plain)


def test_every_regulariser_of_an_objective_is_added_and_logged() -> None:
    a, critic = quadratic()
    real, fake = batch(0), batch(1)
    objective = WassersteinGP(gp_weight=10.0, regularizers=[R1(weight=2.0)])
    terms = objective.d_loss(critic, real, fake, step=0, generator=seeded())
    gp = GradientPenalty(weight=10.0)(critic, real, fake, seeded())["loss"].item()
    wasserstein = critic(fake).mean().item() - critic(real).mean().item()
    assert terms["gradient_penalty"].item() == pytest.approx(gp, rel=1e-9)
    assert terms["r1"].item() == pytest.approx(r1_closed_form(a, real, 2.0), rel=1e-9)
    assert terms["loss"].item() == pytest.approx(wasserstein + gp + r1_closed_form(a, real, 2.0), rel=1e-9)
    assert {"gradient_penalty_grad_norm", "r1_grad_norm", "real_score", "fake_score"} <= set(terms)


@pytest.mark.parametrize("kwargs", [{"weight": -1.0}, {"every": 0}])
def test_bad_regulariser_settings_are_one_line_errors(kwargs: dict) -> None:
    with pytest.raises(LightgenError) as err:
        R1(**kwargs)
    assert "\n" not in str(err.value) and "R1" in str(err.value)


# ------------------------------------------------------------------ the GAN's penalty noise
class RecordingGradientPenalty(GradientPenalty):
    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.inputs: list[torch.Tensor] = []

    def __call__(self, critic, real, fake, generator=None, grad_scale=1.0):  # noqa: ANN001, ANN204
        recorder = Recorder(critic)
        out = super().__call__(recorder, real, fake, generator, grad_scale)
        self.inputs += recorder.inputs
        return out


def test_gan_keys_the_penalty_noise_by_batch() -> None:
    """Two D steps at different batches draw different interpolation weights; the same batch index
    (a resumed run) draws the same ones, those of model.random_stream(batches_seen, PENALTY_KEY, rank)."""
    penalty = RecordingGradientPenalty()
    model = GAN(data_shape=(1, 3, 4), latent_dim=4, g_hidden=(8,), d_hidden=(8,), objective=NonSaturating([penalty]))
    model.stream_seed = 1234
    real, fake = batch(0, (16, 1, 3, 4)).float(), batch(1, (16, 1, 3, 4)).float()
    latent = Latent(torch.zeros(16, 4))

    def weights_at(batches_seen: int) -> torch.Tensor:
        model.batches_seen = batches_seen
        model.d_loss(real, fake, latent)
        return interpolation_weights(real, fake, penalty.inputs[-1])[:, 0]

    eps0, eps1, eps0_again = weights_at(0), weights_at(1), weights_at(0)
    assert (eps0 - eps1).abs().min().item() > 0
    torch.testing.assert_close(eps0, eps0_again)
    expected = torch.rand(16, generator=model.random_stream(0, PENALTY_KEY, 0))
    torch.testing.assert_close(eps0, expected, atol=1e-5, rtol=1e-4)
