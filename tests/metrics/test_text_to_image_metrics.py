"""``lightgen evaluate`` for text-to-image models (StackGAN): FID/KID against the same items' real images and
the matching model's score of each sample with its caption, beside the real (ceiling) and mismatched (floor)
pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from conftest import CONFIGS
from test_stackgan import TINY, captioned, save_text_encoder
from test_translation_metrics import entries, pixel_inception

from lightgen.cli import main
from lightgen.data.text_image import CaptionedImages
from lightgen.errors import LightgenError
from lightgen.metrics.options import EvaluationOptions
from lightgen.metrics.report import Report
from lightgen.metrics.runner import Evaluation
from lightgen.models.stackgan import StackGAN

N, BS, SEED = 12, 5, 3  # three batches, the last one short


@pytest.fixture
def setup(mnist_root: Path, tmp_path: Path) -> tuple[Any, StackGAN]:
    dm = captioned(mnist_root)
    model = StackGAN(dm.data_shape, stage=1, text_encoder=str(save_text_encoder(dm, tmp_path / "t.ckpt")), **TINY)
    return dm, model.eval()


def evaluate(dm: Any, model: Any, metrics: str, **kw: Any) -> Report:
    options = EvaluationOptions(metrics=metrics, num_samples=N, batch_size=BS, seed=SEED, split="test", **kw)
    return Evaluation(options, model, dm, Report("none", type(model).__name__, {})).run()


def items(dm: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    its = [dm.test_set[i] for i in range(N)]
    return tuple(torch.stack([torch.as_tensor(it[k]) for it in its]) for k in range(3))


def test_matching_equals_the_hand_computation_of_score(setup, monkeypatch) -> None:  # noqa: ANN001
    dm, model = setup
    drawn, sample_from = [], model.sample_from
    monkeypatch.setattr(model, "sample_from", lambda *a, **k: (drawn.append(sample_from(*a, **k)), drawn[-1])[1])
    out = entries(evaluate(dm, model, "matching"))["matching"]
    runner_images = torch.cat(drawn)
    real, ids, lengths = items(dm)
    matcher, size = model.text_encoder, dm.data_shape[-1]
    fakes = []
    for i, start in enumerate(range(0, N, BS)):
        sl = slice(start, start + BS)
        captions = [dm.vocab.decode(c, int(n)) for c, n in zip(ids[sl], lengths[sl])]
        with torch.no_grad():  # the public sample() from the decoded captions: the same images
            fakes.append(model.sample(len(captions), seed=SEED + i, captions=captions))
    fake = F.interpolate(torch.cat(fakes), size=(size, size), mode="bilinear", align_corners=False)
    with torch.no_grad():
        gen = matcher.score(fake, ids, lengths)
        own = matcher.score(real, ids, lengths)
        rolled = torch.cat([matcher.score(real[s : s + BS], ids[s : s + BS].roll(1, 0), lengths[s : s + BS].roll(1, 0))
                            for s in range(0, N, BS)])  # fmt: skip
    v = out.values
    assert v["matching"] == pytest.approx(float(gen.mean()), abs=1e-6)
    torch.testing.assert_close(runner_images, torch.cat(fakes))  # the runner's images: same seeds, captions
    assert v["matching_real"] == pytest.approx(float(own.mean()), abs=1e-5)
    assert v["matching_mismatched"] == pytest.approx(float(rolled.mean()), abs=1e-5)
    assert v["matching_real_se"] == pytest.approx(float(own.std() / N**0.5), abs=1e-5)
    assert 0 <= v["r_precision"] <= 1 and 0 <= v["r_precision_real"] <= 1
    assert "ceiling" in out.card["ceiling"] or out.card["ceiling"].startswith("matching_real")
    assert "rolled by one" in out.card["floor"] and "conditioned its training" in out.card["matching_model"]
    assert out.card["num_generated"] == N and out.card["real_split"].endswith("/test")


def test_fid_of_a_model_drawing_the_items_real_images_is_zero(setup, monkeypatch) -> None:  # noqa: ANN001
    pixel_inception(monkeypatch)
    dm, model = setup
    size = model.sample_shape[-1]
    real = F.interpolate(items(dm)[0], size=(size, size), mode="area")
    seeds: list[int] = []
    make = model.make_generator
    monkeypatch.setattr(model, "make_generator", lambda seed: (seeds.append(seed), make(seed))[1])
    # batch i (seed SEED + i) returns the real images of items i*BS...: zero only if items and seeds align
    monkeypatch.setattr(
        model, "sample_from", lambda latent, weights=None: real[(seeds[-1] - SEED) * BS :][: len(latent.z)]
    )
    e = entries(evaluate(dm, model, "fid,kid"))
    assert e["fid"].values["fid"] == pytest.approx(0, abs=1e-4)
    assert abs(e["kid"].values["kid"]) < 0.05  # unbiased, on random subsets of 6: not exactly 0
    assert "area-resized" in e["fid"].card["real_resize"] and e["fid"].card["sample_size"] == size
    seeds.clear()
    # other images than the items' (the first batch's, mirrored, every time): FID is no longer 0
    monkeypatch.setattr(model, "sample_from", lambda latent, weights=None: real.flip(-1)[: len(latent.z)])
    assert entries(evaluate(dm, model, "fid"))["fid"].values["fid"] > 1e-3


def test_wrong_metrics_are_one_line_errors(setup, monkeypatch) -> None:  # noqa: ANN001
    dm, model = setup
    with pytest.raises(LightgenError, match=r"use fid, kid, matching \(not nn,prc\)") as err:
        evaluate(dm, model, "fid,prc,nn")
    assert "\n" not in str(err.value)

    class Plain:
        data_shape = (1, 8, 8)

    with pytest.raises(LightgenError, match="'matching' is for text-to-image models"):
        Evaluation(EvaluationOptions(metrics="matching"), Plain(), dm).check()


def test_evaluate_cli_writes_the_matching_report(mnist_root: Path, tmp_path: Path) -> None:
    text = save_text_encoder(captioned(mnist_root), tmp_path / "t.ckpt")
    runs = tmp_path / "runs"
    main(["fit", "--config", str(CONFIGS / "stackgan_stage1.yaml"), "--model.init_args.text_encoder", str(text),
          "--data.init_args.root", str(mnist_root), "--data.init_args.val_size", "64",
          "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
          "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
          "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
          "--sample_grid.num_samples", "4", "--run_root", str(runs),
          "--model.init_args.g_width", "4", "--model.init_args.d_width", "4"])  # fmt: skip
    ckpt = runs / "stackgan_stage1" / "version_0" / "checkpoints" / "last.ckpt"
    out = tmp_path / "r.json"
    main(["evaluate", "--ckpt", str(ckpt), "--metrics", "matching", "--num-samples", "8", "--out", str(out)])
    text = out.read_text()
    report = json.loads(text)
    assert "matching_mismatched" in text and "ceiling" in text and "matching_model" in text
    assert report


def test_a_trained_matching_model_puts_the_ceiling_above_the_floor(mnist_root: Path, tmp_path: Path) -> None:
    from conftest import quiet_trainer

    from lightgen.models.text_matching import TextImageMatching

    torch.manual_seed(0)
    dm = CaptionedImages(root=str(mnist_root), val_size=64, batch_size=32, num_workers=0, image_size=16)
    dm.setup("fit")
    matcher = TextImageMatching(dm.data_shape, vocabulary=dm.vocab.words, embedding_dim=16, word_dim=8, hidden_dim=16)
    quiet_trainer(max_steps=30, max_epochs=5).fit(matcher, datamodule=dm)
    path = tmp_path / "m.ckpt"
    meta = {"class_path": "lightgen.models.text_matching.TextImageMatching"}
    torch.save({"state_dict": matcher.state_dict(), "hyper_parameters": dict(matcher.hparams), "lightgen": meta}, path)
    model = StackGAN(dm.data_shape, stage=1, text_encoder=str(path), stage1_size=8, **TINY).eval()
    options = EvaluationOptions(metrics="matching", num_samples=64, batch_size=32, split="test")
    v = entries(Evaluation(options, model, dm).run())["matching"].values
    assert v["matching_real"] - v["matching_mismatched"] > 2 * (v["matching_real_se"] + v["matching_mismatched_se"])
    assert v["r_precision_real"] > 1 / 32
