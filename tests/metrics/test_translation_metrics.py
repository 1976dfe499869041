"""`lightgen evaluate` on image-to-image models (lightgen.metrics.translation): translations of the test split
scored against their targets beside the bicubic / identity baseline, both CycleGAN directions, the errors."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import scene_image, synthetic_digits
from metric_fixtures import tiny_classifier  # noqa: F401  (fixture)
from torch import nn

from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd
from lightgen.metrics.options import EvaluationOptions
from lightgen.metrics.report import Report
from lightgen.metrics.runner import Evaluation
from lightgen.metrics.sr_quality import psnr_y, quantize_8bit
from lightgen.metrics.translation import baseline, bicubic_upsample


# ------------------------------------------------------------------ tiny in-memory data and fake models
class PairSet(torch.utils.data.Dataset):
    def __init__(self, sources: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor | None) -> None:
        self.sources, self.targets, self.labels = sources, targets, labels

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> tuple:
        item = (self.sources[i], self.targets[i])
        return item if self.labels is None else (*item, int(self.labels[i]))


class PairData:
    """The datamodule interface the evaluation reads: splits, shapes, value range, dataset name, root."""

    def __init__(self, test: PairSet, dataset: str, root: Path, value_range: tuple[float, float], **extra: Any) -> None:
        self.test_set, self.train_set, self.val_set = test, test, None
        self.data_shape, self.source_shape = tuple(test.targets.shape[1:]), tuple(test.sources.shape[1:])
        self.dataset, self.root, self.value_range = dataset, root, value_range
        self.__dict__.update(extra)

    def setup(self, stage: str) -> None:
        pass


def digits_data(root: Path, n: int = 32, labels: bool = True, **extra: Any) -> PairData:
    """MNIST-like pairs in (-1, 1): a synthetic digit and the same digit thickened (3x3 dilation), its class."""
    x, y = synthetic_digits(n, 5)
    thin = x.unsqueeze(1).float() / 127.5 - 1
    thick = F.max_pool2d(thin, 3, stride=1, padding=1)
    return PairData(PairSet(thin, thick, y if labels else None), "mnist2thick", root, (-1.0, 1.0), **extra)


def sr_data(root: Path, n: int = 6, scale: int = 4, size: int = 32) -> PairData:
    """(LR, HR) RGB pairs in (0, 1): PIL bicubic downsampling of small real-looking scenes, as the SR data."""
    from PIL import Image

    hr_images = [scene_image(i, size, size) for i in range(n)]
    lr_images = [im.resize((size // scale, size // scale), Image.BICUBIC) for im in hr_images]

    def tensor(ims: list) -> torch.Tensor:
        return torch.stack([torch.tensor(list(im.getdata()), dtype=torch.float32).T.reshape(3, *im.size) for im in ims])

    return PairData(PairSet(tensor(lr_images) / 255, tensor(hr_images) / 255, None), "sr-images", root, (0.0, 1.0))


class FakeTranslator(nn.Module):
    """An image-to-image model: ``mode`` "oracle" returns each source's own target (looked up), "next" the
    next item's target (another class), "identity" the source, "bicubic" the bicubic upsampling; ``two_way``
    adds CycleGAN's directions and ``reverse``."""

    def __init__(self, data: PairData, mode: str, two_way: bool = False) -> None:
        super().__init__()
        self.ds, self.mode, self.value_range = data.test_set, mode, data.value_range
        self.source_shape = data.source_shape
        if two_way:
            self.directions = ("ab", "ba")
        self.seeds: list[Any] = []

    def translate(self, source: torch.Tensor, weights: Any = None, seed: Any = None, reverse: bool = False) -> Any:
        self.seeds.append(seed)
        if self.mode == "identity":
            return source.clone()
        if self.mode == "bicubic":
            low, high = self.value_range
            unit = (source - low) / (high - low)
            return bicubic_upsample(unit, self.ds.targets.shape[-2:]) * (high - low) + low
        keys, values = (self.ds.targets, self.ds.sources) if reverse else (self.ds.sources, self.ds.targets)
        index = torch.cdist(source.flatten(1), keys.flatten(1)).argmin(1)
        return values[(index + int(self.mode == "next")) % len(values)].clone()


class Sampler:
    """A model of a prior (no translate): translation metrics are refused for it."""

    data_shape = (1, 28, 28)


def evaluate(data: PairData, model: Any, metrics: str, **kw: Any) -> Report:
    options = EvaluationOptions(metrics=metrics, batch_size=kw.pop("batch_size", 10), **kw)
    return Evaluation(options, model, data, Report("none", type(model).__name__, {})).run()


def entries(report: Report) -> dict[str, Any]:
    return {e.metric: e for e in report.entries}


def pixel_inception(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inception replaced by 4x4 average-pooled pixels (the FID code path is the same, the net is not)."""
    space = fd.FeatureSpace(
        "fake-inception", lambda x: F.adaptive_avg_pool2d(x.mean(1, keepdim=True), 4).flatten(1), None, "none"
    )
    monkeypatch.setattr(Evaluation, "inception", lambda self, logits=False: space)


# ------------------------------------------------------------------ paired translation (scale 1)
def test_a_model_returning_the_targets_scores_perfectly_and_the_identity_is_the_baseline(
    tmp_path, tiny_classifier, monkeypatch
) -> None:
    pixel_inception(monkeypatch)
    data = digits_data(tmp_path)
    clf = str(tiny_classifier)
    metrics = "l1,psnr,ssim,fid,cfid,correspondence"
    oracle = entries(evaluate(data, FakeTranslator(data, "oracle"), metrics, classifier=clf, num_samples=25))
    ident = entries(evaluate(data, FakeTranslator(data, "identity"), metrics, classifier=clf, num_samples=25))
    assert oracle["l1"].values["l1"] == 0 and math.isinf(oracle["psnr"].values["psnr"])
    assert oracle["ssim"].values["ssim"] == pytest.approx(1.0)
    assert oracle["fid"].values["fid"] == pytest.approx(0, abs=1e-4)
    assert oracle["cfid"].values["cfid"] == pytest.approx(0, abs=1e-4)
    corr = oracle["correspondence"].values
    assert corr["correspondence"] == corr["ceiling"] and corr["chance"] == 0.1
    # the identity model is its own baseline, on every metric; the baseline differs from the oracle
    for name in ("l1", "psnr", "ssim", "fid", "cfid"):
        assert ident[name].values[name] == pytest.approx(ident[name].values["identity"], rel=1e-6)
        assert ident[name].values["identity"] == pytest.approx(oracle[name].values["identity"], rel=1e-6)
    assert ident["l1"].values["l1"] > 0.01 and ident["psnr"].values["psnr"] < 30
    assert ident["correspondence"].values["correspondence"] == ident["correspondence"].values["identity"]
    # l1 by hand: mean |source - target| in [0, 1] over the first 25 items
    ds = data.test_set
    assert ident["l1"].values["l1"] == pytest.approx(float((ds.sources[:25] - ds.targets[:25]).abs().mean() / 2))
    # its standard error over the items, by hand; a perfect translator's l1 has none
    per_item = (ds.sources[:25] - ds.targets[:25]).abs().flatten(1).mean(1).double() / 2
    assert ident["l1"].values["l1_se"] == pytest.approx(float(per_item.std() / 5), rel=1e-5)
    assert ident["l1"].values["identity_se"] == pytest.approx(ident["l1"].values["l1_se"], rel=1e-6)
    assert oracle["l1"].values["l1_se"] == 0
    c = ident["correspondence"].values["correspondence"]
    assert ident["correspondence"].values["correspondence_se"] == pytest.approx(math.sqrt(c * (1 - c) / 25))
    # the cards: split, count, border, Y formula, data range, baseline, feature extractor
    card = oracle["psnr"].card
    assert card["num_generated"] == card["num_real"] == 25 and card["real_split"] == "mnist2thick/test"
    assert card["border"] == 0 and card["scale"] == 1 and card["data_range"] == 255
    assert "65.481 R + 128.553 G + 24.966 B" in card["y_channel"] and card["baseline"].startswith("identity")
    ccard = oracle["correspondence"].card
    assert ccard["classifier_dataset"] == "mnist" and ccard["feature_extractor"].startswith("mnist-digitnet")
    assert oracle["fid"].card["feature_extractor"] == "fake-inception"
    assert "targets of the same 25 items" in oracle["fid"].card["real_images"]


def test_the_classifier_dataset_comes_from_the_datamodule_mapping(tmp_path, monkeypatch) -> None:
    asked = []

    def fake_classifier(self: Evaluation, dataset: str | None = None) -> Any:
        asked.append(dataset)
        raise LightgenError(f"stop after asking for {dataset}")

    monkeypatch.setattr(Evaluation, "classifier", fake_classifier)
    data = digits_data(tmp_path, n=4, classifier_dataset="fashion-mnist")
    data.dataset = "edges2fashion"
    with pytest.raises(LightgenError, match="stop after asking for fashion-mnist"):
        evaluate(data, FakeTranslator(data, "oracle"), "correspondence")
    data.classifier_dataset = None  # the embedded defaults' names are known without it; others have none
    with pytest.raises(LightgenError, match="stop after asking for fashion-mnist"):
        evaluate(data, FakeTranslator(data, "oracle"), "cfid")
    data.dataset = "facades"
    with pytest.raises(LightgenError, match=r"available for \('mnist', 'fashion-mnist'\); not for 'facades'"):
        evaluate(data, FakeTranslator(data, "oracle"), "cfid")


# ------------------------------------------------------------------ super-resolution (scale 4)
def test_sr_scores_on_y_with_a_4_pixel_border_and_the_bicubic_model_equals_the_baseline(tmp_path) -> None:
    data = sr_data(tmp_path)
    oracle = entries(evaluate(data, FakeTranslator(data, "oracle"), "l1,psnr,ssim"))
    bicubic = entries(evaluate(data, FakeTranslator(data, "bicubic"), "l1,psnr,ssim"))
    assert oracle["l1"].values["l1"] == 0 and math.isinf(oracle["psnr"].values["psnr"])
    assert oracle["ssim"].values["ssim"] == pytest.approx(1.0)
    for name in ("l1", "psnr", "ssim"):
        assert bicubic[name].values[name] == pytest.approx(bicubic[name].values["bicubic"], rel=1e-6)
    card = bicubic["psnr"].card
    assert card["border"] == 4 and card["scale"] == 4 and card["baseline"].startswith("bicubic")
    # the baseline's PSNR by hand: per-image PSNR on Y of 8-bit images, 4 pixels cropped, averaged
    ds = data.test_set
    up = quantize_8bit(F.interpolate(ds.sources, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1))
    expected = float(psnr_y(up, quantize_8bit(ds.targets), border=4).mean())
    assert bicubic["psnr"].values["bicubic"] == pytest.approx(expected, rel=1e-6) and 10 < expected < 40


def test_baseline_rules() -> None:
    grey, rgb = torch.rand(2, 1, 8, 8), torch.rand(2, 3, 8, 8)
    assert baseline(grey, torch.rand(2, 1, 8, 8))[0] == "identity" and baseline(grey, rgb) is None
    name, up = baseline(torch.rand(2, 3, 4, 4), torch.rand(2, 3, 16, 16))
    assert name == "bicubic" and up.shape == (2, 3, 16, 16) and up.min() >= 0 and up.max() <= 1


# ------------------------------------------------------------------ CycleGAN: both directions
def test_two_way_models_are_scored_in_each_direction(tmp_path, tiny_classifier) -> None:
    data = digits_data(tmp_path, n=12)
    model = FakeTranslator(data, "oracle", two_way=True)
    got = entries(evaluate(data, model, "l1,correspondence", classifier=str(tiny_classifier), batch_size=5, seed=7))
    assert sorted(got) == ["correspondence_ab", "correspondence_ba", "l1_ab", "l1_ba"]
    assert got["l1_ab"].values["l1_ab"] == 0 and got["l1_ba"].values["l1_ba"] == 0
    assert got["l1_ab"].card["direction"].startswith("A -> B") and got["l1_ba"].card["direction"].startswith("B -> A")
    # B -> A: the sources are the thick digits and the ceiling is the classifier on the thin ones
    ab, ba = got["correspondence_ab"].values, got["correspondence_ba"].values
    assert ab["ceiling"] == ba["identity"] and ab["identity"] == ba["ceiling"]
    assert ba["correspondence_ba"] == ba["ceiling"]
    assert model.seeds == [7, 8, 9] * 2  # batch i translated with seed + i, in each direction
    # translations of the wrong class: the accuracy against the source's label, by hand (the tiny classifier
    # is perfect on these synthetic digits, thin or thick: its ceiling is 1)
    got = entries(evaluate(data, FakeTranslator(data, "next"), "correspondence", classifier=str(tiny_classifier)))
    labels = data.test_set.labels
    same_class = float((labels.roll(-1) == labels).double().mean())
    corr = got["correspondence"].values
    assert corr["ceiling"] == 1 and corr["correspondence"] == pytest.approx(same_class) and same_class < 0.5


# ------------------------------------------------------------------ one-line errors
@pytest.mark.parametrize(
    ("metrics", "model", "labels", "expected"),
    [
        ("psnr", "sampler", True, "metric(s) psnr compare translations with their targets; Sampler is not an image-to"),
        ("l1,ssim", "sampler", True, "metric(s) l1,ssim compare translations"),
        ("correspondence", "translator", False, "metric 'correspondence' needs class labels in the test items"),
        ("nn,psnr", "translator", True, "metric(s) nn are not for image-to-image models (FakeTranslator)"),
    ],
)
def test_bad_requests_are_one_line(tmp_path, metrics, model, labels, expected) -> None:
    data = digits_data(tmp_path, n=4, labels=labels)
    chosen = Sampler() if model == "sampler" else FakeTranslator(data, "oracle")
    with pytest.raises(LightgenError) as err:
        evaluate(data, chosen, metrics)
    assert expected in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------ end to end: a CycleGAN checkpoint
def test_lightgen_evaluate_on_a_cyclegan_checkpoint(mnist_root, tiny_classifier, tmp_path) -> None:
    import json

    from conftest import CONFIGS

    from lightgen.checkpoint import load_model
    from lightgen.cli import main
    from lightgen.data.unpaired import UnpairedImages

    fit = ["fit", "--config", str(CONFIGS / "cyclegan.yaml"), "--data.init_args.root", str(mnist_root)]
    fit += ["--run_root", str(tmp_path / "runs"), "--trainer.max_steps", "2", "--trainer.logger", "false"]
    fit += ["--trainer.enable_progress_bar", "false", "--trainer.callbacks=[]", "--trainer.limit_val_batches", "0"]
    fit += ["--data.init_args.val_size", "16", "--model.init_args.g_channels", "4", "--model.init_args.g_blocks", "1"]
    fit += ["--model.init_args.d_channels", "4"]
    main(fit)
    ckpt = tmp_path / "runs" / "cyclegan" / "version_0" / "checkpoints" / "last.ckpt"
    out = tmp_path / "r.json"
    main(["evaluate", "--ckpt", str(ckpt), "--metrics", "l1,psnr,ssim,cfid,correspondence", "--num-samples", "8"] + [
        "--batch-size", "4", "--classifier", str(tiny_classifier), "--device", "cpu", "--out", str(out)])  # fmt: skip
    got = {m["metric"]: m for m in json.loads(out.read_text())["metrics"]}
    names = ("l1", "psnr", "ssim", "cfid", "correspondence")
    assert sorted(got) == sorted(f"{m}_{d}" for m in names for d in ("ab", "ba"))
    card = got["psnr_ab"]["protocol"]
    assert card["real_split"] == "mnist2thick/test" and card["num_generated"] == 8 and card["border"] == 0
    assert card["checkpoint_step"]["global_step"] == 2 and got["cfid_ba"]["protocol"]["weights_sha256"]
    ab, ba = got["correspondence_ab"]["values"], got["correspondence_ba"]["values"]
    assert ab["ceiling"] == ba["identity"] and ab["identity"] == ba["ceiling"]
    # the numbers are the checkpoint's own translations of the first 8 test items, A -> B and B -> A
    model = load_model(ckpt).eval()
    dm = UnpairedImages(root=str(mnist_root), val_size=16)
    dm.setup("test")
    a, b = (torch.stack([dm.test_set[i][k] for i in range(8)]) for k in (0, 1))
    for direction, source, target, reverse in (("ab", a, b, False), ("ba", b, a, True)):
        out_ = torch.cat([model.translate(s, reverse=reverse) for s in source.split(4)])
        l1 = float(((out_ - target).abs() / 2).flatten(1).mean(1).mean())
        assert got[f"l1_{direction}"]["values"][f"l1_{direction}"] == pytest.approx(l1, rel=1e-5)
        assert got[f"l1_{direction}"]["values"]["identity"] == pytest.approx(float((a - b).abs().mean() / 2), rel=1e-5)
