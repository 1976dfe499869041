"""Issue 10, "Measurement you can trust": the ll card's split, the real-feature cache key, precision/recall
direction, the streamed memorisation check, and `evaluate` on cfid/modes/nn without Inception."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from metric_fixtures import gan_checkpoint, tiny_classifier  # noqa: F401  (fixtures)
from PIL import Image

from lightgen.commands import evaluate_parser
from lightgen.data import MNIST
from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd
from lightgen.metrics.cache import cache_key, data_selection
from lightgen.metrics.memorisation import memorisation_check, streamed_memorisation_check, tensor_chunks
from lightgen.metrics.options import EvaluationOptions
from lightgen.metrics.report import Report
from lightgen.metrics.runner import Evaluation

HERE = Path(__file__).resolve().parent


def make_evaluation(dm, metrics: list[str], model=None, *args: str) -> Evaluation:
    ns = evaluate_parser().parse_args(["--ckpt", "none.ckpt", "--device", "cpu", "--metrics", ",".join(metrics), *args])
    report = Report("none.ckpt", "Stub", {})
    options = EvaluationOptions.from_namespace(ns)
    return Evaluation(options, model, dm, report, lambda desc, total: lambda k: None, torch.device("cpu"))


# ------------------------------------------------------------------ 1. the ll card names the split it used
class SumModel:
    """An "exact likelihood" model whose log p(x) is minus the sum of the pixels: the value tells the split."""

    data_shape = (1, 28, 28)
    device = torch.device("cpu")

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return -x.flatten(1).double().sum(1)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_ll_is_computed_on_the_split_its_card_names(mnist_root, split) -> None:
    dm = MNIST(root=str(mnist_root), value_range=(0.0, 1.0), val_size=64, seed=3)
    ev = make_evaluation(dm, ["ll"], SumModel(), "--split", split, "--batch-size", "100")
    ev.run()
    (entry,) = ev.report.entries
    ds = {"train": dm.train_set, "val": dm.val_set, "test": dm.test_set}[split]
    truth = float(torch.stack([ds[i][0] for i in range(len(ds))]).flatten(1).double().sum(1).mean())
    assert entry.card["real_split"] == f"mnist/{split}" and entry.card["num_real"] == len(ds)
    assert entry.values["nll_nats"] == pytest.approx(truth, rel=1e-9)


def test_ll_on_the_grey_train_split_of_dynamic_binarization_is_refused(mnist_root) -> None:
    dm = MNIST(root=str(mnist_root), value_range=(0.0, 1.0), val_size=64, binarize="dynamic")
    with pytest.raises(LightgenError, match="use --split test or val"):
        make_evaluation(dm, ["ll"], SumModel(), "--split", "train").check()


# ------------------------------------------------------------------ 2. the cache key selects the images
def test_real_feature_cache_is_not_shared_by_datamodules_selecting_other_images(mnist_root) -> None:
    calls: list[int] = []

    def pixels(x: torch.Tensor) -> torch.Tensor:
        calls.append(len(x))
        return x.flatten(1)

    space = fd.FeatureSpace("pixels", pixels, None, "none")

    def train_features(**kw) -> tuple[torch.Tensor, torch.Tensor]:
        dm = MNIST(root=str(mnist_root), value_range=(0.0, 1.0), **{"val_size": 64, "seed": 1, **kw})
        dm.setup("fit")
        ev = make_evaluation(dm, ["fid"])
        truth = torch.stack([dm.train_set[i][0] for i in range(32)]).flatten(1)
        return ev.real_features(space, "train", 32, "train"), truth

    first, truth1 = train_features()
    assert torch.equal(first, truth1) and len(calls) == 1
    other_seed, truth2 = train_features(seed=2)  # another train/val split: other training images
    other_val, truth3 = train_features(val_size=32)
    assert len(calls) == 3 and not torch.equal(truth1, truth2) and not torch.equal(truth1, truth3)
    assert torch.equal(other_seed, truth2) and torch.equal(other_val, truth3)
    again, _ = train_features(batch_size=7, num_workers=0)  # loader options do not select images: a hit
    assert len(calls) == 3 and torch.equal(again, first)


def test_cache_key_holds_every_selecting_option(tmp_path) -> None:
    from lightgen.data.imagenet import ImageNet

    def key(dm) -> str:
        return cache_key("x", "train", 64, 10, "space", "ab" * 32, selection=data_selection(dm))

    base = ImageNet(root=str(tmp_path), folder="A", val_size=10)
    assert key(base) == key(ImageNet(root=str(tmp_path), folder="A", val_size=10, batch_size=3))
    for other in (
        ImageNet(root=str(tmp_path), folder="B", val_size=10),
        ImageNet(root=str(tmp_path), folder="A", val_size=11),
        ImageNet(root=str(tmp_path), folder="A", val_size=10, seed=0),
        ImageNet(root=str(tmp_path), folder="A", val_size=10, image_size=32),
        ImageNet(root=str(tmp_path), folder="A", val_size=10, value_range=(0.0, 1.0)),
    ):
        assert key(other) != key(base)
    binarized = MNIST(root=str(tmp_path), binarize="threshold")
    assert key(binarized) != key(MNIST(root=str(tmp_path)))


# ------------------------------------------------------------------ 4. precision and recall are not swapped
def collapsed_and_spread(d: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(400, d, generator=gen)
    collapsed = real[:4].repeat(50, 1)  # a few real points, repeated: every sample good, little coverage
    spread = torch.randn(400, d, generator=gen) * 4  # far beyond the real data: poor samples, full coverage
    return real, collapsed, spread


def test_precision_recall_on_collapsed_and_over_dispersed_sets() -> None:
    real, collapsed, spread = collapsed_and_spread()
    c, s = fd.precision_recall(collapsed, real), fd.precision_recall(spread, real)
    assert c["precision"] > 0.95 and c["recall"] < 0.05  # collapse: high precision, low recall
    assert s["precision"] < 0.05 and s["recall"] > 0.95  # over-dispersion: low precision, high recall


def test_evaluate_prc_entry_keeps_precision_and_recall_apart_and_names_its_feature_space(mnist_root) -> None:
    real, collapsed, spread = collapsed_and_spread()
    ev = make_evaluation(MNIST(root=str(mnist_root)), ["prc"])
    space = fd.FeatureSpace("inception-v3-compat/pool3-2048", lambda x: x, "ab" * 32, "rule")
    ev.fidelity("inception", space, collapsed, real, {"prc"})
    ev.fidelity("inception", space, spread, real, {"prc"})
    (c, s) = ev.report.entries
    assert c.values["precision"] > 0.95 and c.values["recall"] < 0.05
    assert s.values["precision"] < 0.05 and s.values["recall"] > 0.95
    assert "VGG-16 fc2" in c.card["prc_feature_space"] and "Inception" in c.card["prc_feature_space"]


# ------------------------------------------------------------------ 5. the streamed memorisation check
def brute_force(gen: torch.Tensor, train: torch.Tensor, test: torch.Tensor) -> dict[str, float]:
    """The old all-in-memory computation: one cdist against the whole training set."""
    d_gen = torch.cdist(gen.flatten(1), train.flatten(1)).min(1).values
    d_test = torch.cdist(test.flatten(1), train.flatten(1)).min(1).values
    return {
        "median_nn_gen_to_train": float(d_gen.median()),
        "median_nn_test_to_train": float(d_test.median()),
        "ratio_gen_over_test": float(d_gen.median() / d_test.median()),
        "share_closer_than_any_test": float((d_gen < d_test.min()).double().mean()),
    }


def test_streamed_check_equals_the_in_memory_computation_and_writes_the_png(tiny_classifier, tmp_path) -> None:
    from lightgen.metrics.classifier import classifier_space

    g = torch.Generator().manual_seed(0)
    train, test, gen = (torch.rand(n, 1, 28, 28, generator=g) for n in (300, 40, 24))
    gen[:8] = train[torch.arange(8) * 30]  # a few copies, so the numbers are not all alike
    space, _ = classifier_space(tiny_classifier)
    out = streamed_memorisation_check(
        gen, tensor_chunks(train, chunk=37), test, feature_space=space, png=tmp_path / "nn.png", rows=5
    )
    for name, value in brute_force(gen, train, test).items():
        assert out["pixels"][name] == pytest.approx(value, rel=1e-5, abs=1e-6)
    feats = {k: torch.cat([space(b) for b in x.split(64)]) for k, x in (("g", gen), ("r", train), ("t", test))}
    for name, value in brute_force(feats["g"], feats["r"], feats["t"]).items():
        assert out["features"][name] == pytest.approx(value, rel=1e-5, abs=1e-6)
    assert out["pixels"]["num_train"] == 300
    # the picture: each sample then its 5 nearest training images, the same as one topk over the whole set
    assert Image.open(out["png"]).size == (6 * 30 + 2, 5 * 30 + 2)
    grid = torch.from_numpy(np.array(Image.open(out["png"]).convert("L"))).float() / 255
    idx = torch.cdist(gen[:5].flatten(1), train.flatten(1)).topk(5, largest=False).indices
    for row in range(5):
        for col in range(6):
            tile = grid[2 + row * 30 : 30 + row * 30, 2 + col * 30 : 30 + col * 30]
            expect = gen[row, 0] if col == 0 else train[idx[row, col - 1], 0]
            assert (tile - expect).abs().max() <= 1 / 255 + 1e-6
    # the in-memory entry point gives the same numbers through the same streaming code
    whole = memorisation_check(gen, train, test, feature_space=space)
    assert whole["pixels"] == out["pixels"] and whole["features"] == out["features"]


def test_streamed_check_memory_does_not_grow_with_the_training_set() -> None:
    """Peak RSS of the check (a subprocess each) at 5k and 25k training images: the extra 20k training
    images alone would take 60 MiB in memory (the old ``nn`` held them all)."""

    def peak(n: int, mode: str) -> float:
        cmd = [sys.executable, str(HERE / "nn_memory_probe.py"), "--train", str(n), "--mode", mode, "--query", "64"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
        return json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_delta_mib"]

    small, large = peak(5000, "streamed"), peak(25000, "streamed")
    assert large - small < 25, (small, large)


# ------------------------------------------------------------------ 6. evaluate cfid/modes/nn without Inception
def test_evaluate_cfid_modes_nn_without_inception(gan_checkpoint, tiny_classifier, tmp_path, capsys) -> None:
    from lightgen.cli import main

    ckpt, _ = gan_checkpoint
    out = tmp_path / "report.json"
    args = ["evaluate", "--ckpt", str(ckpt), "--metrics", "cfid,modes,nn", "--num-samples", "8", "--nn-num", "6"]
    args += ["--classifier", str(tiny_classifier), "--out", str(out), "--batch-size", "4", "--device", "cpu"]
    main(args)
    printed = capsys.readouterr().out
    by_name = {m["metric"]: m for m in json.loads(out.read_text())["metrics"]}
    assert sorted(by_name) == ["cfid", "modes", "nn"]
    assert by_name["cfid"]["values"]["cfid"] >= 0 and by_name["cfid"]["protocol"]["num_real"] == 8
    assert by_name["cfid"]["protocol"]["feature_extractor"].startswith("mnist-digitnet")
    assert sum(by_name["modes"]["values"]["class_counts"]) == 8
    nn = by_name["nn"]["values"]
    assert nn["pixels"]["num_generated"] == 6 and nn["pixels"]["num_train"] == 640 - 64  # val_size 64
    assert nn["features"]["num_train"] == 576 and nn["pixels"]["ratio_gen_over_test"] > 0
    assert by_name["nn"]["protocol"]["num_real"] == 576 and "chunks" in by_name["nn"]["protocol"]["train_streamed"]
    assert Image.open(nn["png"]).size == (6 * 30 + 2, 6 * 30 + 2)
    # the estimated time is printed before the work (after the first timed batch), then the table
    assert "estimated time: " in printed and printed.index("estimated time") < printed.index("wrote report")
    assert re.search(r"for 8 samples and \d+ uncached real images", printed) and "nn not included" in printed
