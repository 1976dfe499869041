"""Mode coverage: class histograms through a classifier and toy 2-D mixtures, checked by hand."""

from __future__ import annotations

import math

import pytest
import torch

from lightgen.errors import LightgenError
from lightgen.metrics.classifier import class_histogram
from lightgen.metrics.modes import mixture_mode_coverage


def test_class_histogram_counts_modes_and_kl_from_uniform() -> None:
    # 4 samples, all confidently class 2; 1 sample unsure between 0 and 1 (argmax 0)
    probs = torch.zeros(5, 10)
    probs[:4, 2] = 1.0
    probs[4, 0], probs[4, 1] = 0.6, 0.4
    out = class_histogram(probs)
    assert out["class_counts"] == [1, 0, 4, 0, 0, 0, 0, 0, 0, 0] and out["modes_hit"] == 2
    p = torch.tensor([0.2, 0.8], dtype=torch.float64)
    assert out["kl_from_uniform_nats"] == pytest.approx(float((p * (p * 10).log()).sum()))
    assert out["confident_share"] == pytest.approx(0.8)
    balanced = class_histogram(torch.eye(10).repeat(3, 1))
    assert balanced["modes_hit"] == 10 and balanced["kl_from_uniform_nats"] == pytest.approx(0.0, abs=1e-12)
    collapsed = class_histogram(torch.eye(10)[[3] * 7])
    assert collapsed["kl_from_uniform_nats"] == pytest.approx(math.log(10))


def test_mixture_coverage_on_a_ring_of_eight() -> None:
    angles = torch.arange(8) * (2 * math.pi / 8)
    centers = torch.stack([angles.cos(), angles.sin()], 1) * 2.0
    std = 0.02
    # 3 samples at each of modes 0..3 (exactly on the centre), 2 far-off samples (low quality)
    samples = torch.cat([centers[:4].repeat_interleave(3, 0), torch.tensor([[0.0, 0.0], [5.0, 5.0]])])
    out = mixture_mode_coverage(samples, centers, std)
    assert out["modes_hit"] == 4 and out["num_modes"] == 8
    assert out["mode_counts"] == [3, 3, 3, 3, 0, 0, 0, 0]
    assert out["high_quality_share"] == pytest.approx(12 / 14)
    assert out["kl_from_uniform_nats"] == pytest.approx(math.log(2))  # uniform over half the modes
    with pytest.raises(LightgenError, match="must agree"):
        mixture_mode_coverage(torch.zeros(3, 3), centers, std)
