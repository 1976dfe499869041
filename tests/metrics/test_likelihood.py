"""Likelihood metrics through the models' public methods: exact NLL, ELBO and the k-sample estimate."""

from __future__ import annotations

import math

import pytest
import torch

from lightgen.errors import LightgenError
from lightgen.metrics.likelihood import likelihood_metrics, summarise


class FactorisedBernoulli:
    """An 'autoregressive' model with a closed-form log p(x): independent pixels, p(x_i = 1) = 0.9."""

    data_shape = (1, 2, 2)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        return (x * math.log(0.9) + (1 - x) * math.log(0.1)).sum(1)


class SpyVAE:
    """A 'VAE' recording the k and seeds it is asked for; bounds are constants per example."""

    data_shape = (1, 2, 2)

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None, int | None]] = []

    def elbo(self, x: torch.Tensor, k: int = 1, seed: int | None = None) -> torch.Tensor:
        self.calls.append(("elbo", k, seed))
        return torch.full((len(x),), -3.0)

    def log_prob(self, x: torch.Tensor, k: int = 5000, seed: int | None = None) -> torch.Tensor:
        self.calls.append(("log_prob", k, seed))
        return torch.full((len(x),), -2.0)


def test_exact_nll_in_nats_and_bits_per_dim_with_standard_error() -> None:
    ones, zeros = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    out = likelihood_metrics(FactorisedBernoulli(), [ones, zeros])
    a, b = -4 * math.log(0.9), -4 * math.log(0.1)  # NLL of each example
    exact = out["exact"]
    assert out["kind"] == "exact" and exact["n"] == 2
    assert exact["nll_nats"] == pytest.approx((a + b) / 2)
    assert exact["nll_nats_se"] == pytest.approx(abs(a - b) / math.sqrt(2) / math.sqrt(2))  # std of 2 values / sqrt(2)
    assert exact["bits_per_dim"] == pytest.approx((a + b) / 2 / (4 * math.log(2)))


def test_vae_gets_elbo_and_importance_sampled_estimate_with_k_and_seeds() -> None:
    spy = SpyVAE()
    out = likelihood_metrics(spy, [torch.zeros(3, 1, 2, 2), torch.zeros(2, 1, 2, 2)], k=5000, seed=7)
    assert out["kind"] == "bound" and out["k"] == 5000
    assert out["elbo"]["nll_nats"] == 3.0 and out["is_estimate"]["nll_nats"] == 2.0 and out["elbo"]["n"] == 5
    assert spy.calls == [("elbo", 1, 7), ("log_prob", 5000, 7), ("elbo", 1, 8), ("log_prob", 5000, 8)]


def test_real_vae_estimate_is_tighter_than_its_elbo() -> None:
    import lightgen.models.vae as vae_module  # a part of lightgen: failing to import it is a failure, not a skip

    torch.manual_seed(0)
    vae = vae_module.VAE(data_shape=(1, 4, 4), latent_dims=(2,), hidden=(8,)).eval()
    x = torch.bernoulli(torch.full((6, 1, 4, 4), 0.3), generator=torch.Generator().manual_seed(0))
    out = likelihood_metrics(vae, [x], k=200, seed=0)
    # L_k >= L_1 (Burda et al. 2015, Theorem 1); both are per-example means over the same examples
    assert out["is_estimate"]["nll_nats"] < out["elbo"]["nll_nats"]
    assert out["is_estimate"]["bits_per_dim"] == pytest.approx(out["is_estimate"]["nll_nats"] / (16 * math.log(2)))


def test_model_without_a_likelihood_and_zero_density_are_refused() -> None:
    class GANLike:
        data_shape = (1, 2, 2)

    with pytest.raises(LightgenError, match="GANLike has no likelihood.*parzen"):
        likelihood_metrics(GANLike(), [torch.zeros(1, 1, 2, 2)])
    with pytest.raises(LightgenError, match="1 non-finite log-likelihoods"):
        summarise(torch.tensor([-1.0, -math.inf]), 4)
