"""The VAE / IWAE LightningModule: exact log p(x) on a linear-Gaussian model, training, shapes,
IAF log-determinants, active units and a checkpoint round trip."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import quiet_trainer

from lightgen.checkpoint import load_model
from lightgen.data.mnist import MNIST
from lightgen.errors import LightgenError
from lightgen.losses import bounds
from lightgen.metrics.active_units import active_units
from lightgen.models.vae import VAE, burda_lr_factor
from lightgen.nets.iaf import IAF


def linear_gaussian_vae(
    s: float = 0.5, posterior: str = "gaussian"
) -> tuple[VAE, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A VAE whose decoder is linear-Gaussian, x|z ~ N(Wz + b, s^2 I), with W's columns orthogonal so the
    true posterior N(A (x - b), S) is diagonal, and whose q(z|x) is set to that posterior (exact).

    With posterior="iaf" one IAF step with constant m, sigma (a per-unit affine map z -> sigma z + (1-sigma) m)
    follows the Gaussian, whose mean and variance are set so that the *flowed* q is the true posterior: only
    a correct log-determinant then gives L_1 = log p(x). Returns the model, W (D, d), b (D,), x (8, 1, 1, D).
    """
    d, D = 2, 3
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(D, d, generator=gen, dtype=torch.float64))
    W = q * torch.tensor([1.5, 0.7], dtype=torch.float64)  # orthogonal columns: W^T W diagonal
    b = torch.randn(D, generator=gen, dtype=torch.float64)
    flow = dict(posterior="iaf", iaf_steps=1, iaf_hidden=4) if posterior == "iaf" else {}
    model = VAE((1, 1, D), latent_dims=(d,), hidden=(), likelihood="gaussian", **flow).double()
    S = 1.0 / (1.0 + (W**2).sum(0) / s**2)  # diagonal of the posterior covariance (I + W^T W / s^2)^-1
    A = S[:, None] * W.T / s**2  # posterior mean = A (x - b)
    mean_w, mean_b, log_var = A, -A @ b, torch.log(S)
    with torch.no_grad():
        if posterior == "iaf":
            m, pre = torch.tensor([0.4, -0.3], dtype=torch.float64), torch.tensor([0.8, -0.5], dtype=torch.float64)
            sigma = torch.sigmoid(pre)
            made = model.flow.steps[0].made
            made.l3.weight.zero_()  # outputs [m_1..m_d, s_1..s_d]: constants
            made.l3.bias.copy_(torch.cat([m, pre]))
            made.context_out.weight.zero_()
            # q_0 = N((mu - (1 - sigma) m) / sigma, S / sigma^2) flows to N(mu, S)
            mean_w, mean_b = A / sigma[:, None], (-A @ b - (1 - sigma) * m) / sigma
            log_var = log_var - 2 * torch.log(sigma)
        lin = model.decoder.net[-1]  # z -> (mean, log var) per pixel
        lin.weight.zero_()
        lin.weight[:D] = W
        lin.bias.copy_(torch.cat([b, torch.full((D,), math.log(s**2), dtype=torch.float64)]))
        model.encoder.mean.weight.copy_(mean_w)
        model.encoder.mean.bias.copy_(mean_b)
        model.encoder.log_var.weight.zero_()
        model.encoder.log_var.bias.copy_(log_var)
    z = torch.randn(8, d, generator=gen, dtype=torch.float64)
    x = (z @ W.T + b + s * torch.randn(8, D, generator=gen, dtype=torch.float64)).view(8, 1, 1, D)
    return model, W, b, x


def exact_log_px(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor, s: float = 0.5) -> torch.Tensor:
    """log p(x) = log N(x; b, W W^T + s^2 I) (Bishop, PRML eq. 12.35)."""
    cov = W @ W.T + s**2 * torch.eye(len(b), dtype=torch.float64)
    return torch.distributions.MultivariateNormal(b, cov).log_prob(x.flatten(1))


def test_log_prob_equals_closed_form_on_linear_gaussian():
    model, W, b, x = linear_gaussian_vae()
    exact = exact_log_px(W, b, x)
    # with the true posterior every importance weight is p(x): one sample is exact
    torch.testing.assert_close(model.log_prob(x, k=1, seed=1), exact, rtol=0, atol=1e-6)
    # and the ELBO (analytic KL, reconstruction term averaged over 4000 draws) is tight: KL(q || p(z|x)) = 0
    torch.testing.assert_close(model.elbo(x, k=4000, seed=1), exact, rtol=0, atol=0.05)
    # a shifted encoder: the ELBO is loose by KL(q || p(z|x)) = 0.15 nats, L_5000 recovers log p(x) within 0.05
    with torch.no_grad():
        model.encoder.mean.bias.add_(0.15)
    elbo = model.elbo(x, k=5000, seed=2)
    l5000 = model.log_prob(x, k=5000, batch_k=1000, seed=3)
    assert (elbo < exact - 0.1).all()
    assert (l5000 - exact).abs().max() < 0.05, (l5000 - exact).abs().max()


def test_samples_are_ancestral_draws_through_both_layers():
    torch.manual_seed(0)
    model = VAE((1, 4, 4), latent_dims=(3, 2), hidden=(8,), upper_hidden=(5,))
    gen = torch.Generator().manual_seed(4)
    z2 = torch.randn(6, 2, generator=gen)  # p(z_2) = N(0, I)
    m, log_var, _ = model.upper_p[0](z2)  # p(z_1 | z_2)
    z1 = m + torch.exp(0.5 * log_var) * torch.randn(6, 3, generator=gen)
    probs = torch.sigmoid(model.decoder(z1)[:, 0])  # Bernoulli means of p(x | z_1)
    torch.testing.assert_close(model.sample(6, seed=4), probs)
    torch.testing.assert_close(model.sample(6, seed=4, mean=False), torch.bernoulli(probs, generator=gen))


def test_iaf_posterior_log_q_carries_the_log_determinant():
    model, W, b, x = linear_gaussian_vae(posterior="iaf")
    exact = exact_log_px(W, b, x)
    # the flowed q is the true posterior: L_1 = log p(x) for every draw, which needs log q = log q_0 - sum log sigma
    torch.testing.assert_close(model.log_prob(x, k=3, seed=0), exact, rtol=0, atol=1e-6)
    log_w = model.log_weights(x, 4, torch.Generator().manual_seed(1))["log_w"]
    torch.testing.assert_close(log_w, exact.expand(4, -1), rtol=0, atol=1e-6)
    sigma = torch.sigmoid(torch.tensor([0.8, -0.5], dtype=torch.float64))
    assert float(torch.log(sigma).sum().abs()) > 1.0  # dropping the log-det would miss by more than a nat


def test_iwae_objective_is_minus_lk_and_elbo_objective_uses_analytic_kl():
    torch.manual_seed(0)
    x = torch.bernoulli(torch.rand(4, 1, 6, 6))
    iwae = VAE((1, 6, 6), latent_dims=(3,), hidden=(8,), k_samples=5, objective="iwae")
    torch.manual_seed(1)
    terms = iwae.loss_terms(x)
    torch.manual_seed(1)
    log_w = iwae.log_weights(x, 5)["log_w"]
    torch.testing.assert_close(terms["loss"], -bounds.iwae_bound(log_w).mean())
    vae = VAE((1, 6, 6), latent_dims=(3,), hidden=(8,), k_samples=1, objective="iwae")
    assert {"rec", "kl"} <= set(vae.loss_terms(x))  # k = 1: the analytic-KL ELBO under either objective


VARIANTS = {
    "mlp": {},
    "two_layers": dict(latent_dims=(6, 3), hidden=(16,), upper_hidden=(8,)),
    "conv": dict(arch="conv"),
    "iaf": dict(posterior="iaf", iaf_steps=2, iaf_hidden=12),
}


@pytest.mark.parametrize("kwargs", list(VARIANTS.values()), ids=list(VARIANTS))
def test_shapes_and_bounds_of_every_variant(kwargs):
    kw = dict(latent_dims=(4,), hidden=(16,)) | kwargs
    model = VAE((1, 8, 8), **kw)
    x = torch.bernoulli(torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0)))
    s = model.sample(3, seed=0)
    assert s.shape == (3, 1, 8, 8) and s.min() >= 0 and s.max() <= 1
    torch.testing.assert_close(s, model.sample(3, seed=0))  # seeded
    assert model.sample(3, seed=0, mean=False).unique().tolist() in ([0.0, 1.0], [0.0], [1.0])
    assert model.reconstruct(x).shape == (5, 1, 8, 8)
    elbo, logp = model.elbo(x, seed=0), model.log_prob(x, k=64, batch_k=16, seed=0)
    assert elbo.shape == logp.shape == (5,) and torch.isfinite(logp).all()
    assert (logp.mean() > elbo.mean()) and (logp < 0).all()  # L_64 above the ELBO, log of a pmf below 0
    assert [m.shape[1] for m in model.posterior_means(x)] == list(kw["latent_dims"])


@pytest.mark.parametrize("likelihood", ["gaussian", "discretized_logistic"])
def test_grey_level_likelihoods(likelihood):
    torch.manual_seed(0)
    model = VAE((1, 8, 8), latent_dims=(4,), hidden=(16,), likelihood=likelihood)
    x = torch.randint(0, 256, (6, 1, 8, 8), generator=torch.Generator().manual_seed(0)).double().div(255).float()
    s = model.sample(3, seed=0)
    assert s.shape == (3, 1, 8, 8) and s.min() >= 0 and s.max() <= 1
    elbo, logp = model.elbo(x, seed=0), model.log_prob(x, k=64, batch_k=32, seed=0)
    assert torch.isfinite(logp).all() and logp.mean() > elbo.mean()
    if likelihood == "discretized_logistic":
        assert (logp < 0).all()  # the log of a probability mass
    # a few Adam steps on one batch raise its ELBO
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        loss = model.loss_terms(x)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.elbo(x, seed=0).mean() > elbo.mean() + 5


def test_bad_options_are_one_line_errors():
    with pytest.raises(LightgenError, match="one stochastic layer"):
        VAE((1, 8, 8), latent_dims=(4, 2), posterior="iaf")
    with pytest.raises(LightgenError, match="conv"):
        VAE((1, 8, 8), latent_dims=(4, 2), arch="conv")
    with pytest.raises(LightgenError, match="unknown likelihood 'poisson'"):
        VAE((1, 8, 8), likelihood="poisson")
    with pytest.raises(LightgenError, match="k_samples must be an integer >= 1; got 0"):
        VAE((1, 8, 8), k_samples=0)
    with pytest.raises(LightgenError, match=r"data_shape \(784,\)"):
        VAE((784,))


def test_iaf_log_det_matches_brute_force_jacobian_and_is_autoregressive():
    torch.manual_seed(0)
    flow = IAF(dim=5, steps=3, hidden=16, context_dim=4).double()
    for p in flow.parameters():  # move away from the near-identity init so the test has teeth
        p.data.add_(0.3 * torch.randn_like(p))
    z, h = torch.randn(5, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    _, log_det = flow(z, h)
    jac = torch.autograd.functional.jacobian(lambda v: flow(v, h)[0], z)
    torch.testing.assert_close(log_det, torch.linalg.slogdet(jac)[1])
    assert torch.linalg.slogdet(jac)[0] > 0
    # one step: output i depends on inputs <= i only (lower triangular), and its diagonal is sigma
    step = flow.steps[0]
    jac1 = torch.autograd.functional.jacobian(lambda v: step(v, h)[0], z)
    assert torch.all(jac1.triu(1) == 0) and torch.all(jac1.diagonal() > 0)
    assert (jac1.tril(-1) != 0).any()  # and it does depend on earlier inputs
    # the context reaches every output, the first variable's included (IAF sec. 4: m, s are functions of x)
    dz_dh = torch.autograd.functional.jacobian(lambda c: step(z, c)[0], h)
    assert (dz_dh.abs().sum(1) > 0).all()
    rev = flow.steps[1]  # the reversed step is upper triangular
    assert torch.all(torch.autograd.functional.jacobian(lambda v: rev(v, h)[0], z).tril(-1) == 0)


def test_active_units_counts_the_units_that_vary():
    gen = torch.Generator().manual_seed(0)
    means = torch.cat([torch.randn(500, 3, generator=gen), 0.05 * torch.randn(500, 4, generator=gen)], 1)
    out = active_units(means)
    assert int(out["count"]) == 3 and out["active"].tolist() == [True] * 3 + [False] * 4
    # Monte Carlo means: each row averages S = 20 draws of variance 0.4, adding 0.02 of noise variance, which
    # alone is over the threshold; with the noise variance given, it is removed and only the 3 units count
    noisy = means + (0.4 / 20) ** 0.5 * torch.randn(500, 7, generator=gen)
    assert int(active_units(noisy)["count"]) == 7
    out = active_units(noisy, noise_variance=torch.full((500, 7), 0.4 / 20))
    assert out["active"].tolist() == [True] * 3 + [False] * 4
    torch.testing.assert_close(out["variance"][3:], means.double().var(0)[3:], rtol=0, atol=0.004)
    # in a model: zero the encoder's mean weights of all but units 1 and 3
    model = VAE((1, 6, 6), latent_dims=(5,), hidden=(16,))
    with torch.no_grad():
        keep = torch.tensor([0, 1, 0, 1, 0], dtype=torch.bool)
        model.encoder.mean.weight[~keep] = 0
        model.encoder.mean.weight[keep] *= 20
    x = torch.bernoulli(torch.rand(200, 1, 6, 6, generator=gen))
    res = active_units(model.posterior_means(x)[0])
    assert res["active"].tolist() == keep.tolist()


def _iaf_vae_with_a_posterior_that_ignores_x(latent: int = 10) -> VAE:
    """An IAF VAE whose q(z|x) is the same for every x: the encoder's mean and log-variance heads and the
    IAF's context paths are zeroed (the flow itself stays as initialised, not the identity)."""
    torch.manual_seed(0)
    model = VAE((1, 6, 6), latent_dims=(latent,), hidden=(16,), posterior="iaf", iaf_steps=2, iaf_hidden=16, val_k=1)
    with torch.no_grad():
        for head in (model.encoder.mean, model.encoder.log_var):
            head.weight.zero_()
        for step in model.flow.steps:
            step.made.context.weight.zero_()
            step.made.context_out.weight.zero_()
    return model


def _validated_active_units(model: VAE, x: torch.Tensor) -> dict[str, int]:
    """Active units as the model reports them: a validation epoch over x in batches of 100."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=100)
    quiet_trainer(limit_val_batches=None).validate(model, dataloaders=loader, verbose=False)
    return model.last_active_units


def test_active_units_of_an_iaf_posterior_that_ignores_x_is_zero():
    """Issue 10: E_q[z|x] averaged over 20 draws carries Var_q(z)/20 of sampling noise (here ~0.03 per
    unit, three times the 0.01 threshold), and a posterior that ignores x counted 10 of 10 units active."""
    model = _iaf_vae_with_a_posterior_that_ignores_x()
    x = torch.bernoulli(torch.rand(400, 1, 6, 6, generator=torch.Generator().manual_seed(1)))
    z = model.flow(torch.randn(4000, 10), None)[0]  # q's own spread: the noise that must not count
    assert z.var(0).min() > 0.2  # so a 20-draw average has > 0.01 of noise variance per unit
    assert _validated_active_units(model, x) == {"z1": 0}


def test_active_units_of_an_iaf_posterior_that_uses_x_counts_those_units():
    model = _iaf_vae_with_a_posterior_that_ignores_x()
    keep = torch.tensor([1, 0, 0, 1, 1, 0, 0, 0, 1, 0], dtype=torch.bool)  # 4 units read x
    with torch.no_grad():
        model.encoder.mean.weight[keep] = 2.0 * torch.randn(
            int(keep.sum()), 16, generator=torch.Generator().manual_seed(2)
        )
    x = torch.bernoulli(torch.rand(400, 1, 6, 6, generator=torch.Generator().manual_seed(1)))
    # the truth, from E_q[z|x] with 4000 draws per example: 4 units vary with x by far more than 0.01,
    # the other 6 by far less
    means = model.posterior_means(x, samples=4000)[0]
    truth = means.var(0) > 0.01
    assert truth.tolist() == keep.tolist() and means.var(0)[keep].min() > 0.05
    assert _validated_active_units(model, x) == {"z1": 4}
    means, noise = model.posterior_mean_estimates(x)[0]
    res = active_units(means, noise_variance=noise)
    assert 0 < float(res["noise"].max()) < 0.01 / 3  # 200 draws: the noise removed is below the threshold already
    assert res["active"].tolist() == keep.tolist()


def test_burda_schedule():
    assert burda_lr_factor(0) == 1.0 and burda_lr_factor(1) == pytest.approx(10 ** (-1 / 7))
    assert burda_lr_factor(3) == pytest.approx(10 ** (-1 / 7)) and burda_lr_factor(4) == pytest.approx(10 ** (-2 / 7))
    assert burda_lr_factor(3279) == pytest.approx(0.1) and burda_lr_factor(5000) == pytest.approx(0.1)


def _data(root, batch=32):  # noqa: ANN001
    return MNIST(root=str(root), value_range=(0.0, 1.0), binarize="dynamic", batch_size=batch, val_size=64)


def test_training_raises_the_elbo_and_checkpoint_round_trip(mnist_root, tmp_path):
    torch.manual_seed(0)
    data = _data(mnist_root)
    data.setup("fit")
    x = torch.stack([data.val_set[i][0] for i in range(32)])
    kw = dict(latent_dims=(4,), hidden=(64,), lr=3e-3, val_k=5, test_k=20, test_batch_k=10)
    model = VAE(data.data_shape, k_samples=2, objective="iwae", **kw)
    before = model.elbo(x, seed=0).mean()
    trainer = quiet_trainer(max_steps=30, limit_val_batches=1, limit_test_batches=1)
    trainer.fit(model, datamodule=data)
    after = model.elbo(x, seed=0).mean()
    assert after > before + 50, (before, after)  # nats per image
    assert "val/L_5" in trainer.callback_metrics and "val/active_units_z1" in trainer.callback_metrics
    # test: ELBO, L_k and log p(x) in nats and bits/dim, ordered as bounds must be
    trainer.test(model, datamodule=data, verbose=False)
    m = trainer.callback_metrics
    assert m["test/elbo"] <= m["test/L_5"] + 0.5 and m["test/log_px"] >= m["test/L_5"] - 0.5
    assert m["test/nll_bpd"] == pytest.approx(-float(m["test/log_px"]) / (784 * math.log(2)), rel=1e-5)
    path = tmp_path / "vae.ckpt"
    trainer.save_checkpoint(path)
    loaded = load_model(path)
    assert isinstance(loaded, VAE)
    expected = model.eval().log_prob(x, k=50, batch_k=20, seed=7)
    torch.testing.assert_close(loaded.log_prob(x, k=50, batch_k=20, seed=7), expected, rtol=0, atol=0)
