"""DRAW: filterbank attention, the canvas recurrence, bounds and a short training run."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import quiet_trainer

from lightgen.data.mnist import MNIST
from lightgen.losses import bounds
from lightgen.models.draw import DRAW
from lightgen.nets.draw import AttentionRead, AttentionWrite, filterbank


def test_filterbank_rows_sum_to_one_and_sit_where_asked():
    gen = torch.Generator().manual_seed(0)
    params = torch.randn(6, 5, generator=gen)
    fy, fx, gamma = filterbank(params, height=12, width=20, n=3)
    assert fy.shape == (6, 3, 12) and fx.shape == (6, 3, 20) and gamma.shape == (6,)
    torch.testing.assert_close(fx.sum(-1), torch.ones(6, 3))
    torch.testing.assert_close(fy.sum(-1), torch.ones(6, 3))
    # centred grid (g~ = 0), stride delta~ = 1, narrow filters: the middle filter peaks at the centre pixel
    fy, fx, _ = filterbank(torch.tensor([[0.0, 0.0, -4.0, 0.0, 0.0]]), height=21, width=21, n=3)
    assert int(fx[0, 1].argmax()) + 1 == 11 and int(fy[0, 1].argmax()) + 1 == 11
    assert int(fx[0, 0].argmax()) + 1 == 1 and int(fx[0, 2].argmax()) + 1 == 21  # delta = (A-1)/(N-1) = 10


def test_read_and_write_shapes_and_a_read_of_a_constant_image():
    read, write = AttentionRead(8, (1, 10, 10), n=2), AttentionWrite(8, (1, 10, 10), n=4)
    h = torch.randn(3, 8)
    x = torch.full((3, 1, 10, 10), 0.5)
    r = read(x, torch.zeros_like(x), h)
    assert r.shape == (3, 8)
    _, _, gamma = filterbank(read.params(h), 10, 10, 2)
    # normalized filters average a constant image to itself, scaled by gamma
    torch.testing.assert_close(r[:, :4], 0.5 * gamma[:, None].expand(3, 4))
    assert write(h).shape == (3, 1, 10, 10)


def test_write_with_narrow_filters_puts_the_patch_on_the_grid_points():
    write = AttentionWrite(4, (1, 21, 21), n=3)
    with torch.no_grad():  # centred grid, stride (21 - 1) / (3 - 1) = 10, sigma^2 = e^-8, gamma = 1
        write.params.weight.zero_()
        write.params.bias.copy_(torch.tensor([0.0, 0.0, -8.0, 0.0, 0.0]))
        write.patch.weight.zero_()
        write.patch.bias.copy_(torch.arange(1.0, 10.0))  # patch [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    out = write(torch.randn(2, 4))[:, 0]
    expected = torch.zeros(21, 21)
    expected[0::10, 0::10] = torch.arange(1.0, 10.0).view(3, 3)  # patch (i, j) lands on pixel (10 i, 10 j)
    torch.testing.assert_close(out, expected.expand(2, -1, -1), rtol=0, atol=1e-5)


@pytest.mark.parametrize("attention", [True, False])
def test_canvas_changes_every_step_and_bounds(attention):
    torch.manual_seed(0)
    sizes = dict(steps=4, enc_hidden=16, dec_hidden=16, latent_dim=3, read_n=2, write_n=3)
    model = DRAW((1, 12, 12), attention=attention, **sizes)
    steps = model.canvas_steps(5, seed=0)
    assert steps.shape == (4, 5, 1, 12, 12) and steps.min() >= 0 and steps.max() <= 1
    for t in range(1, 4):
        assert (steps[t] - steps[t - 1]).abs().max() > 1e-4
    torch.testing.assert_close(model.sample(5, seed=0), steps[-1])
    x = torch.bernoulli(torch.rand(6, 1, 12, 12, generator=torch.Generator().manual_seed(1)))
    elbo, logp = model.elbo(x, seed=0), model.log_prob(x, k=64, batch_k=32, seed=0)
    assert elbo.shape == logp.shape == (6,) and logp.mean() > elbo.mean()
    terms = model.loss_terms(x)
    assert (terms["kl"] > 0) and torch.isclose(terms["loss"], -(terms["rec"] - terms["kl"]), atol=1e-3)


def test_draw_training_lowers_the_loss(mnist_root):
    torch.manual_seed(0)
    data = MNIST(root=str(mnist_root), value_range=(0.0, 1.0), binarize="dynamic", batch_size=32, val_size=64)
    data.setup("fit")
    x = torch.stack([data.val_set[i][0] for i in range(32)])
    model = DRAW(data.data_shape, steps=3, enc_hidden=32, dec_hidden=32, latent_dim=4, lr=3e-3)
    before = model.elbo(x, seed=0).mean()
    quiet_trainer(max_steps=30, limit_val_batches=1, gradient_clip_val=10.0).fit(model, datamodule=data)
    assert model.elbo(x, seed=0).mean() > before + 50


def _exact_draw_log_px(model: DRAW, x: torch.Tensor, half_width: float = 7.0, n: int = 561) -> torch.Tensor:
    """log p(x) (B,) of a 2-step DRAW with 1-unit z_t, by integrating p(x | c_T(z_1, z_2)) N(z_1) N(z_2) over
    a 2-D grid in float64, running only the generative half of the net (the decoder LSTM and write), never
    its encoder, q or importance weights: log p(x) = log sum_grid N(z_1) N(z_2) p(x|z) dz^2."""
    net = model.net
    grid = torch.linspace(-half_width, half_width, n, dtype=torch.float64)
    z1, z2 = (g.reshape(-1, 1) for g in torch.meshgrid(grid, grid, indexing="ij"))
    zeros = torch.zeros(z1.shape[0], net.decoder.hidden_size, dtype=torch.float64)
    h, c = net.decoder(z1, (zeros, zeros))
    canvas = net.write(h)
    h, c = net.decoder(z2, (h, c))
    canvas = canvas + net.write(h)  # (n^2, C, H, W): c_T as a function of (z_1, z_2)
    log_prior = bounds.standard_normal_log_prob(torch.cat([z1, z2], 1))  # (n^2,)
    dz = float(grid[1] - grid[0])
    out = []
    for xi in x:
        log_lik = bounds.bernoulli_log_prob(xi.expand_as(canvas), canvas, event_dims=3)
        out.append(torch.logsumexp(log_lik + log_prior, 0) + 2 * math.log(dz))
    return torch.stack(out)


def test_importance_sampled_log_px_equals_numerical_integration():
    """DRAW's log p(x) estimator against a closed-form check (issue 10): with T = 2 steps of a 1-unit z the
    marginal is a 2-D integral, done on a grid. q(z|x) is made wider than, and shifted from, the prior, so
    the weights' log p(z) - log q(z|x) matters: with its sign flipped the estimate is off by nats."""
    torch.manual_seed(0)
    model = DRAW((1, 2, 2), steps=2, enc_hidden=8, dec_hidden=8, latent_dim=1, attention=False).double()
    with torch.no_grad():  # a decoder whose canvas depends strongly on z, so p(x|z) is far from flat
        for p in (*model.net.decoder.parameters(), *model.net.write.parameters()):
            p.mul_(3.0)
        model.net.q.weight.mul_(0.3)
        model.net.q.bias.copy_(torch.tensor([0.4, 0.6], dtype=torch.float64))  # q: mean ~0.4, variance ~e^0.6
    x = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 1], [1, 1, 0, 0]], dtype=torch.float64).view(3, 1, 2, 2)
    exact = _exact_draw_log_px(model, x)
    estimate = model.log_prob(x, k=20000, batch_k=5000, seed=0)
    elbo = model.elbo(x.repeat(4000, 1, 1, 1), seed=0).view(4000, 3).mean(0)  # E_q over 4000 draws
    assert (exact - elbo).min() > 0.05  # q is not the posterior: the bound is loose, the weights matter
    torch.testing.assert_close(estimate, exact, rtol=0, atol=0.02)
