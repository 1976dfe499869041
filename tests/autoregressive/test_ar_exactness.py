"""Exactness of the autoregressive models on tiny spaces: normalisation, the autoregressive
property, NADE's one-pass NLL, and the MADE ensemble."""

from __future__ import annotations

import math

import pytest
import torch
from ar_models import (
    BINARY,
    CATEGORICAL,
    GAUSSIAN,
    MIXTURE,
    all_configs,
    build,
    mask_indices,
    one_thread,  # noqa: F401  (autouse fixture)
    use,
)

SHAPE_BINARY = (1, 2, 5)  # d = 10: 1024 configurations
SHAPE_CATEGORICAL = (1, 1, 4)  # d = 4, k = 3: 81 configurations


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_probabilities_sum_to_one(name: str) -> None:
    model = build(name, BINARY, SHAPE_BINARY)
    with torch.no_grad():
        log_p = model.log_prob(all_configs(SHAPE_BINARY))
    assert log_p.shape == (1024,)
    assert torch.logsumexp(log_p, 0).item() == pytest.approx(0.0, abs=1e-9)
    assert log_p.std() > 0.1  # a non-trivial distribution, not uniform


@pytest.mark.parametrize("name", sorted(CATEGORICAL))
def test_categorical_probabilities_sum_to_one(name: str) -> None:
    model = build(name, CATEGORICAL, SHAPE_CATEGORICAL, distribution="categorical", num_levels=3)
    with torch.no_grad():
        log_p = model.log_prob(all_configs(SHAPE_CATEGORICAL, levels=3))
    assert torch.logsumexp(log_p, 0).item() == pytest.approx(0.0, abs=1e-9)


def test_made_ensemble_is_log_mean_exp_of_masks() -> None:
    model = build("made_ensemble", BINARY, SHAPE_BINARY)
    x = all_configs(SHAPE_BINARY)[::37]
    with torch.no_grad():
        per_mask = torch.stack([model.mask_log_prob(x, m) for m in range(4)])
        expected = torch.log(per_mask.exp().mean(0))
        assert torch.allclose(model.log_prob(x), expected, atol=1e-10)
        # the masks differ (orderings and connectivity), so the ensemble is a real mixture
        assert (per_mask[0] - per_mask[1]).abs().max() > 1e-3
        orders = set()
        for m in range(4):
            model.use_mask(m)
            orders.add(tuple(model.ordering().tolist()))
        assert len(orders) == 4


def _perturb(x: torch.Tensor, j: int, distribution: str, levels: int) -> torch.Tensor:
    y = x.clone()
    if distribution == "bernoulli":
        y[:, j] = 1 - y[:, j]
    elif distribution == "categorical":
        y[:, j] = torch.remainder(torch.round(y[:, j] * (levels - 1)) + 1, levels) / (levels - 1)
    else:
        y[:, j] = y[:, j] + 1.3
    return y


CASES = (
    [(n, BINARY, "bernoulli", SHAPE_BINARY) for n in sorted(BINARY)]
    + [(n, CATEGORICAL, "categorical", SHAPE_CATEGORICAL) for n in sorted(CATEGORICAL)]
    + [(n, GAUSSIAN, "gaussian", SHAPE_CATEGORICAL) for n in sorted(GAUSSIAN)]
    + [(n, MIXTURE, "gaussian_mixture", SHAPE_CATEGORICAL) for n in sorted(MIXTURE)]
)


@pytest.mark.parametrize("name,table,distribution,shape", CASES, ids=[f"{c[2]}-{c[0]}" for c in CASES])
def test_autoregressive_property(name: str, table: dict, distribution: str, shape: tuple[int, ...]) -> None:
    """Changing x_j leaves p(x_i | x_<i) unchanged for every i at or before j in the ordering,
    and does change some later conditional (so the test can tell a broken mask)."""
    extra = {"distribution": distribution, "num_levels": 3} if distribution != "bernoulli" else {}
    model = build(name, table, shape, **extra)
    if distribution.startswith("gaussian"):
        x = torch.randn(64, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    else:
        x = all_configs(shape, levels=3 if distribution == "categorical" else 2)
    xf = x.flatten(1)
    d = xf.shape[1]
    for m in mask_indices(model):
        use(model, m)
        position = torch.empty(d, dtype=torch.long)
        position[model.ordering().cpu()] = torch.arange(d)
        with torch.no_grad():
            base = model.conditionals(xf)
            later_changed = False
            for j in range(d):
                moved = model.conditionals(_perturb(xf, j, distribution, 3))
                change = (moved - base).abs().amax(dim=(0, 2))  # (D,): largest change of each conditional
                not_after = position <= position[j]
                assert change[not_after].max() < 1e-12, f"mask {m}: x_{j} changed a conditional at or before it"
                later_changed |= bool((change[~not_after] > 1e-6).any())
            assert later_changed, f"mask {m}: no conditional depends on any earlier variable"


def test_nade_one_pass_equals_naive_loop() -> None:
    model = build("nade", BINARY, (1, 4, 7))
    x = torch.bernoulli(torch.full((16, 28), 0.4, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        fast, slow = model.conditionals(x), model.conditionals_naive(x)
    assert torch.allclose(fast, slow, atol=1e-10)
    # and the NLL from the naive conditionals matches log_prob
    nll_naive = torch.nn.functional.binary_cross_entropy_with_logits(slow[..., 0], x, reduction="none").sum(1)
    assert torch.allclose(-model.log_prob(x.view(16, 1, 4, 7)), nll_naive, atol=1e-10)


def test_nade_cached_sampling_equals_uncached() -> None:
    model = build("nade", BINARY, SHAPE_BINARY)
    assert torch.equal(model.sample(50, seed=3), model.sample_uncached(50, seed=3))


def test_log_prob_per_example_and_bits_per_dim() -> None:
    from lightgen.losses.likelihood import nll_terms

    model = build("fvbn", BINARY, SHAPE_BINARY)
    x = all_configs(SHAPE_BINARY)[:8]
    log_p = model.log_prob(x)
    assert log_p.shape == (8,)
    assert torch.allclose(model.log_prob(x[3:4]), log_p[3:4])  # per example, batch-independent
    terms = nll_terms(log_p, 10)
    assert terms["bpd"].item() == pytest.approx(-log_p.mean().item() / (10 * math.log(2)))
