"""Closed-form checks of the pieces: conditional log-densities, weight counts, masks, errors."""

from __future__ import annotations

import math

import pytest
import torch
from ar_models import one_thread  # noqa: F401  (autouse fixture)

from lightgen.errors import LightgenError
from lightgen.losses.likelihood import conditional_log_probs
from lightgen.models import FVBN, MADE, NADE, NARN, PixelCNN
from lightgen.nets.autoregressive import NADENet, NeuralAutoregressiveNet
from lightgen.nets.pixelcnn import MaskedConv2d


def test_conditional_log_probs_by_hand() -> None:
    # Bernoulli: logit log 3 -> p = 3/4
    logit = torch.tensor([[[math.log(3.0)], [0.0]]])
    got = conditional_log_probs(logit, torch.tensor([[1.0, 0.0]]), "bernoulli")
    assert torch.allclose(got, torch.tensor([[math.log(0.75), math.log(0.5)]]))
    # softmax over 3 levels with probabilities 1/8, 2/8, 5/8; x = 0.5 is level 1, x = 1 level 2
    logits = torch.log(torch.tensor([1.0, 2.0, 5.0])).expand(1, 2, 3)
    got = conditional_log_probs(logits, torch.tensor([[0.5, 1.0]]), "categorical")
    assert torch.allclose(got, torch.log(torch.tensor([[2 / 8, 5 / 8]])))
    # Gaussian N(3; 1, 2^2) = exp(-1/2) / (2 sqrt(2 pi))
    params = torch.tensor([[[1.0, math.log(2.0)]]])
    got = conditional_log_probs(params, torch.tensor([[3.0]]), "gaussian")
    assert got.item() == pytest.approx(-0.5 - math.log(2.0) - 0.5 * math.log(2 * math.pi))


@pytest.mark.parametrize("distribution,per", [("bernoulli", 1), ("categorical", 4)])
def test_fvbn_has_d_squared_weights(distribution: str, per: int) -> None:
    """LARN: conditional i has i-1 weights per output unit, D(D-1)/2 * P in all (strictly lower triangular)."""
    model = FVBN(data_shape=(1, 3, 4), distribution=distribution, num_levels=4)
    mask = model.net.linear.mask  # (D * P, D)
    assert int(mask.sum()) == 12 * 11 // 2 * per
    rows = mask.view(12, per, 12)
    for i in range(12):
        assert torch.equal(rows[i], torch.cat([torch.ones(per, i), torch.zeros(per, 12 - i)], dim=1))


def test_narn_groups_and_one_hot_inputs() -> None:
    """Bengio & Bengio 2000: group j reads x_<=j; conditional i reads groups j < i and (i-1) x k inputs."""
    d, k, per_group = 5, 3, 2
    net = NeuralAutoregressiveNet(d, hidden_per_variable=per_group, in_per_input=k, out_per_input=k)
    hidden_mask = net.hidden[0].mask  # ((d-1) * per_group, d * k)
    for j in range(1, d):  # group j (degree j) sees the k one-hot inputs of each of x_1..x_j
        rows = hidden_mask[(j - 1) * per_group : j * per_group]
        assert torch.equal(rows.sum(1), torch.full((per_group,), float(j * k)))
        assert rows[:, j * k :].sum() == 0
    out_mask, direct_mask = net.out.mask.view(d, k, -1), net.direct.mask.view(d, k, -1)
    for i in range(1, d + 1):  # conditional i: k outputs, (i-1) * k inputs, (i-1) groups
        assert torch.equal(direct_mask[i - 1].sum(1), torch.full((k,), float((i - 1) * k)))
        assert torch.equal(out_mask[i - 1].sum(1), torch.full((k,), float((i - 1) * per_group)))


def test_nade_blocked_one_pass_equals_naive_loop_across_blocks() -> None:
    torch.manual_seed(0)
    net = NADENet(23, hidden=6, block=5).double()  # 5 blocks, the last one short
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.8)
    x = torch.bernoulli(torch.full((7, 23), 0.5, dtype=torch.float64))
    assert torch.allclose(net(x), net.forward_naive(x), atol=1e-12)


def test_masked_conv_kernels() -> None:
    a, b = MaskedConv2d(1, 1, 3, "A").mask[0, 0], MaskedConv2d(1, 1, 3, "B").mask[0, 0]
    assert torch.equal(a, torch.tensor([[1.0, 1, 1], [1, 0, 0], [0, 0, 0]]))
    assert torch.equal(b, torch.tensor([[1.0, 1, 1], [1, 1, 0], [0, 0, 0]]))


@pytest.mark.parametrize("distribution,levels,bits", [("bernoulli", 2, 1.0), ("categorical", 256, 8.0)])
def test_pixelcnn_uniform_head_gives_closed_form_bits_per_dim(distribution: str, levels: int, bits: float) -> None:
    """With the last layer zeroed every conditional is uniform: exactly log2(k) bits per dimension."""
    model = PixelCNN(data_shape=(1, 3, 3), channels=4, num_layers=1, kernel_size=3, distribution=distribution)
    with torch.no_grad():
        model.net.head[-1].weight.zero_()
        model.net.head[-1].bias.zero_()
    x = torch.randint(0, levels, (5, 1, 3, 3)).float() / (levels - 1)
    bpd = -model.log_prob(x) / (9 * math.log(2))
    assert torch.allclose(bpd, torch.full((5,), bits), atol=1e-6)


def test_made_training_masks_are_keyed_by_step() -> None:
    model = MADE(data_shape=(1, 2, 3), hidden_sizes=(8,), num_masks=8)
    model.stream_seed = 11
    drawn = [model.training_mask(s) for s in range(64)]
    assert drawn == [model.training_mask(s) for s in range(64)]  # the same after a resume
    assert len(set(drawn)) == 8  # uniform over the masks: all 8 appear in 64 draws (fails w.p. ~1e-3)


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: MADE(data_shape=(1, 2, 2), num_masks=0), "num_masks"),
        (lambda: MADE(data_shape=(1, 2, 2), hidden_sizes=(8, 0)), "hidden_sizes"),
        (lambda: NADE(data_shape=(1, 2, 2), hidden=0), "hidden"),
        (lambda: NARN(data_shape=(1, 2, 2), hidden_per_variable=0), "hidden_per_variable"),
        (lambda: PixelCNN(data_shape=(1, 4, 4), kernel_size=4), "kernel_size"),
        (lambda: FVBN(data_shape=(1, 2, 2), distribution="categorical", num_levels=1), "num_levels"),
        (lambda: FVBN(data_shape=(1, 2, 2), lr=0.0), "lr"),
    ],
)
def test_bad_arguments_are_one_line_errors(build, match: str) -> None:  # noqa: ANN001
    with pytest.raises(LightgenError, match=match) as err:
        build()
    assert "\n" not in str(err.value)


def test_made_rebuilds_its_mask_after_load_state_dict() -> None:
    source = MADE(data_shape=(1, 2, 3), hidden_sizes=(8,), num_masks=3)
    source.use_mask(2)  # the state dict now holds mask 2's buffers
    target = MADE(data_shape=(1, 2, 3), hidden_sizes=(8,), num_masks=3)  # believes mask 0 is set
    target.load_state_dict(source.state_dict())
    x = torch.bernoulli(torch.full((4, 1, 2, 3), 0.5))
    with torch.no_grad():
        assert torch.equal(target.mask_log_prob(x, 0), source.mask_log_prob(x, 0))
        assert torch.equal(target.ordering(), source.ordering())


@pytest.mark.parametrize("block,kernel", [("residual", 3), ("residual", 5), ("gated", 3)])
def test_pixelcnn_row_crops_give_the_full_conditionals(block: str, kernel: int) -> None:
    """Sampling runs each pass on the rows that reach a pixel: exactly the full pass's values."""
    torch.manual_seed(0)
    model = PixelCNN(data_shape=(1, 9, 4), channels=6, num_layers=2, kernel_size=kernel, block=block).double()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.7)
        assert model.net.rows_above < 8  # the crops really are smaller than the image
        x = torch.bernoulli(torch.full((3, 1, 9, 4), 0.5, dtype=torch.float64))
        full = model.conditionals(x.flatten(1)).view(3, 9, 4, 1)
        for r in range(9):
            assert torch.allclose(model.row_conditionals(x, r), full[:, r], atol=1e-12)
        # one row fewer would change a conditional: the reach is not overstated
        reach = model.net.rows_above
        if block == "residual":
            crop = model._net(x[:, :, 9 - reach : 9])[:, -4:]
            assert (crop - full[:, 8]).abs().max() > 1e-6
    generic = super(PixelCNN, model).sample(50, seed=2)
    assert torch.equal(model.sample(50, seed=2), generic)
