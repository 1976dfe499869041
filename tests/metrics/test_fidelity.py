"""FID / KID / precision-recall: the formula, and the Inception path on a few images."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import numpy as np
import torch
from metric_fixtures import inception_weights  # noqa: F401  (fixtures)

from lightgen.metrics import fidelity as fd


def test_frechet_distance_matches_gaussian_closed_form():
    # N(m1, diag(a)) vs N(m2, diag(b)): |m1-m2|^2 + sum(a + b - 2 sqrt(ab))
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    m1, m2 = np.zeros(3), np.array([1.0, 2.0, 0.0])
    got = fd.frechet_distance({"mu": m1, "sigma": np.diag(a)}, {"mu": m2, "sigma": np.diag(b)})
    expected = 5.0 + float((a + b - 2 * np.sqrt(a * b)).sum())
    assert abs(got - expected) < 1e-8


def test_fid_kid_prc_on_features():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(400, 8, generator=gen)
    same = torch.randn(400, 8, generator=gen)
    shifted = torch.randn(400, 8, generator=gen) + 3.0
    assert fd.fid_from_features(same, real) < 0.5
    assert fd.fid_from_features(shifted, real) > 60  # |shift|^2 = 8 * 9 = 72
    k_same, k_shift = (
        fd.kid(same, real, subsets=10, subset_size=100),
        fd.kid(shifted, real, subsets=10, subset_size=100),
    )
    assert abs(k_same["kid"]) < 0.2 * k_shift["kid"] and k_shift["kid_std"] > 0  # subsets of 100 of 400 differ
    pr_same, pr_shift = fd.precision_recall(same, real), fd.precision_recall(shifted, real)
    assert pr_same["precision"] > 0.8 and pr_same["recall"] > 0.8
    assert pr_shift["precision"] < 0.2 and pr_shift["recall"] < 0.2


def test_inception_fid_self_zero_and_shifted_large(inception_weights):
    space = fd.inception_space(inception_weights)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(4, 1, 28, 28, generator=gen) * 0.3
    images[:, :, 8:20, 8:20] += 0.6  # a bright square on noise
    shifted = 1.0 - images  # inverted: a different distribution of images
    feats = fd.extract(fd.tensor_batches(images, 2), space)
    feats_shift = fd.extract(fd.tensor_batches(shifted, 2), space)
    assert feats.shape == (4, 2048)
    self_fid = fd.fid_from_features(feats, feats)
    shift_fid = fd.fid_from_features(feats_shift, feats)
    assert abs(self_fid) < 1e-2
    assert shift_fid > 50 and shift_fid > 1000 * abs(self_fid)


def test_sample_batches_streams_in_unit_range():
    class Model:
        value_range = (-1.0, 1.0)

        def sample(self, n, seed=None):
            return torch.full((n, 1, 4, 4), -1.0) + 2.0 * (seed % 2)

    batches = list(fd.sample_batches(Model(), 7, batch_size=3, seed=0))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert float(batches[0].max()) == 0.0 and float(batches[1].min()) == 1.0  # seeds 0, 1, 2 per batch


def test_inception_score_closed_forms_and_classifier_head_detection(tmp_path):
    from lightgen.metrics.inception import has_classifier_head

    # every sample the same prediction: p(y|x) = p(y), KL = 0, IS = exp(0) = 1
    same = torch.randn(1, 1008).repeat(20, 1)
    assert abs(fd.inception_score(same, splits=2)["is"] - 1.0) < 1e-9
    # confident and evenly spread over 4 classes within each split: IS = exp(log 4) = 4
    peaked = torch.full((40, 1008), -50.0)
    peaked[torch.arange(40), torch.arange(40) % 4] = 50.0
    out = fd.inception_score(peaked, splits=1)
    assert abs(out["is"] - 4.0) < 1e-6 and out["is_std"] == 0.0
    torch.save({"fc.weight": torch.zeros(3, 2)}, tmp_path / "headless.pth")
    torch.save({"fc.weight": torch.ones(3, 2)}, tmp_path / "head.pth")
    assert not has_classifier_head(tmp_path / "headless.pth") and has_classifier_head(tmp_path / "head.pth")
