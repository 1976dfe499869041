"""The nearest-neighbour memorisation check flags a model that returns training images, not a fresh one."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import torch
from conftest import synthetic_digits
from metric_fixtures import tiny_classifier  # noqa: F401  (fixtures)
from PIL import Image

from lightgen.metrics.classifier import classifier_space
from lightgen.metrics.memorisation import memorisation_check, nearest


def digits(n: int, seed: int) -> torch.Tensor:
    return synthetic_digits(n, seed)[0].unsqueeze(1).float() / 255.0  # (n, 1, 28, 28) in [0, 1]


def test_nearest_matches_brute_force_across_chunks() -> None:
    gen = torch.Generator().manual_seed(0)
    q, r = torch.randn(7, 5, generator=gen), torch.randn(20, 5, generator=gen)
    d, i = nearest(q, r, k=3, chunk=2)
    full = torch.cdist(q, r)
    expect_d, expect_i = full.topk(3, dim=1, largest=False)
    assert torch.equal(i, expect_i) and torch.allclose(d, expect_d, atol=1e-5)


def test_memorising_model_is_flagged_and_held_out_model_is_not(tiny_classifier, tmp_path) -> None:
    train, test = digits(640, 0), digits(128, 1)
    space, _ = classifier_space(tiny_classifier)
    copies = train[torch.randperm(640, generator=torch.Generator().manual_seed(3))[:32]]  # "model" = training images
    fresh = digits(32, 2)  # "model" = unseen draws from the same distribution
    memorised = memorisation_check(copies, train, test, feature_space=space, png=tmp_path / "nn.png")
    honest = memorisation_check(fresh, train, test, feature_space=space)
    assert memorised["flagged"] and not honest["flagged"]
    pix_m, pix_h = memorised["pixels"], honest["pixels"]
    assert pix_m["median_nn_gen_to_train"] == 0.0 and pix_m["share_closer_than_any_test"] == 1.0
    assert 0.8 < pix_h["ratio_gen_over_test"] < 1.25 and pix_h["share_closer_than_any_test"] < 0.1
    assert memorised["features"]["ratio_gen_over_test"] < 0.01 and not honest["features"]["flagged"]
    # the picture: 16 rows, each the sample then its 5 nearest training images; a copy's first neighbour is itself
    assert Image.open(memorised["png"]).size == (6 * 30 + 2, 16 * 30 + 2)
    _, idx = nearest(copies[:16], train, k=5)
    assert torch.equal(train[idx[:, 0]], copies[:16])
