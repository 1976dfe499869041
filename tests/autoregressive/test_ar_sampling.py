"""Samples follow the model's own probabilities: a chi-square test on a tiny space."""

from __future__ import annotations

import pytest
import torch
from ar_models import (
    BINARY,
    CATEGORICAL,
    all_configs,
    build,
    one_thread,  # noqa: F401  (autouse fixture)
)
from scipy.stats import chisquare

SHAPE = (1, 2, 2)  # d = 4: 16 configurations
N = 20000


def _chi_square(model, levels: int) -> float:
    configs = all_configs(SHAPE, levels)
    with torch.no_grad():
        probs = model.log_prob(configs).exp()
    samples = model.sample(N, seed=123)
    assert samples.shape == (N, *SHAPE)
    digits = torch.round(samples.flatten(1) * (levels - 1)).long()
    index = (digits * (levels ** torch.arange(digits.shape[1] - 1, -1, -1))).sum(1)
    observed = torch.bincount(index, minlength=levels**4).double()
    return chisquare(observed.numpy(), (probs / probs.sum() * N).numpy()).pvalue


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_sample_frequencies_match_probabilities(name: str) -> None:
    model = build(name, BINARY, SHAPE)
    assert _chi_square(model, 2) > 1e-3


@pytest.mark.parametrize("name", ["fvbn", "made_ensemble", "pixelcnn"])
def test_categorical_sample_frequencies_match_probabilities(name: str) -> None:
    model = build(name, CATEGORICAL, SHAPE, distribution="categorical", num_levels=3)
    assert _chi_square(model, 3) > 1e-3


def test_sampling_is_reproducible_and_leaves_mode() -> None:
    model = build("made_ensemble", BINARY, SHAPE).train()
    a, b = model.sample(64, seed=5), model.sample(64, seed=5)
    assert torch.equal(a, b) and model.training
    assert set(a.unique().tolist()) <= {0.0, 1.0}
