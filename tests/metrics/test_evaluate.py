"""`lightgen evaluate` on a GAN checkpoint: every sample metric, the protocol card, the table, errors."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import json
import math

import pytest
import torch
from metric_fixtures import gan_checkpoint, inception_weights, tiny_classifier  # noqa: F401  (fixtures)
from PIL import Image

from lightgen.cli import main
from lightgen.files import file_sha256
from lightgen.metrics.cache import cache_key, cached_features


def test_evaluate_gan_checkpoint_writes_report_with_protocol_cards(
    gan_checkpoint,
    inception_weights,
    tiny_classifier,
    tmp_path,
    capsys,
) -> None:
    ckpt, root = gan_checkpoint
    out = tmp_path / "report.json"
    args = ["evaluate", "--ckpt", str(ckpt), "--metrics", "cfid,modes,nn,fid,kid,prc", "--num-samples", "6"]
    args += ["--nn-num", "6", "--classifier", str(tiny_classifier), "--inception-weights", str(inception_weights)]
    args += ["--out", str(out), "--batch-size", "4", "--device", "cpu"]
    main(args)
    report = json.loads(out.read_text())
    by_name = {m["metric"]: m for m in report["metrics"]}
    assert sorted(by_name) == ["cfid", "fid", "kid", "modes", "nn", "prc"]
    # sample-quality numbers: finite, in their ranges
    assert by_name["fid"]["values"]["fid"] > 0 and by_name["cfid"]["values"]["cfid"] >= 0
    assert by_name["kid"]["values"]["kid_std"] >= 0
    assert 0 <= by_name["prc"]["values"]["precision"] <= 1 and 0 <= by_name["prc"]["values"]["recall"] <= 1
    counts = by_name["modes"]["values"]["class_counts"]
    assert len(counts) == 10 and sum(counts) == 6
    assert by_name["modes"]["values"]["modes_hit"] == sum(c > 0 for c in counts)
    # the protocol card of every number
    fid_card = by_name["fid"]["protocol"]
    assert fid_card["num_generated"] == 6 and fid_card["num_real"] == 6 and fid_card["real_split"] == "mnist/test"
    assert fid_card["weights_sha256"] == file_sha256(inception_weights)
    assert "299" in fid_card["resize_rule"] and fid_card["feature_extractor"].startswith("inception")
    assert by_name["cfid"]["protocol"]["weights_sha256"] == file_sha256(tiny_classifier)
    assert by_name["cfid"]["protocol"]["feature_extractor"].startswith("mnist-digitnet")
    assert fid_card["checkpoint_step"]["global_step"] == 4 and fid_card["seeds"]["samples"] == 0
    assert fid_card["software"]["torch"] == torch.__version__.split("+")[0]
    # memorisation: numbers in pixel and classifier space, and the picture (6 rows of sample + 5 neighbours)
    nn = by_name["nn"]["values"]
    assert nn["pixels"]["num_generated"] == 6 and nn["pixels"]["ratio_gen_over_test"] > 0
    assert nn["features"]["feature_space"].startswith("mnist-digitnet")
    assert Image.open(nn["png"]).size == (6 * 30 + 2, 6 * 30 + 2)
    # the printed table carries the sample counts beside each value
    table = capsys.readouterr().out
    fid_row = next(line for line in table.splitlines() if line.strip("│ ").startswith("fid "))
    assert "│ 6 " in fid_row and "inception" in fid_row


def test_real_features_are_cached_per_protocol(tmp_path) -> None:
    calls = []

    def compute() -> torch.Tensor:
        calls.append(1)
        return torch.arange(6.0).view(3, 2)

    key = cache_key("mnist", "test", 28, 3, "space", "ab" * 32)
    first, hit1 = cached_features(key, compute, tmp_path)
    second, hit2 = cached_features(key, compute, tmp_path)
    assert (hit1, hit2) == (False, True) and len(calls) == 1 and torch.equal(first, second)
    # another split, size or extractor weights never reuse the file
    assert cache_key("mnist", "val", 28, 3, "space", "ab" * 32) != key
    assert cache_key("mnist", "test", 28, 3, "space", "cd" * 32) != key
    assert cache_key("mnist", "test", 32, 3, "space", "ab" * 32) != key


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--metrics", "fid,bogus"], "unknown metric(s) ['bogus']"),
        (["--metrics", "ll"], "metric 'll' needs a model with log_prob/elbo; GAN has no likelihood"),
        (["--metrics", "fid", "--inception-weights", "/nonexistent/w.pth"], "run `lightgen data prepare inception`"),
        (["--metrics", "cfid", "--classifier", "/nonexistent/c.pt"], "lightgen data prepare mnist-classifier"),
        (["--metrics", "fid", "--num-samples", "1"], "--num-samples must be at least 2; got 1"),
        (["--metrics", "fid", "--batch-size", "0"], "--batch-size must be at least 1; got 0"),
    ],
)
def test_bad_requests_give_one_line_errors(gan_checkpoint, tmp_path, capsys, extra, expected) -> None:
    ckpt, _ = gan_checkpoint
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--ckpt", str(ckpt), "--out", str(tmp_path / "r.json"), *extra])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("lightgen: error: ") and expected in err and "\n" not in err
    assert not (tmp_path / "r.json").exists()


def test_missing_checkpoint_is_one_line(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--ckpt", str(tmp_path / "none.ckpt"), "--metrics", "fid"])
    err = capsys.readouterr().err.strip()
    assert err.startswith("lightgen: error: checkpoint not found") and "\n" not in err


def test_inception_score_from_offline_weights_is_refused_with_the_reason(
    gan_checkpoint,
    inception_weights,
    tmp_path,
    capsys,
) -> None:
    ckpt, _ = gan_checkpoint
    with pytest.raises(SystemExit):
        main(["evaluate", "--ckpt", str(ckpt), "--metrics", "fid,is", "--inception-weights", str(inception_weights)])
    err = capsys.readouterr().err.strip()
    assert err.startswith("lightgen: error: cannot compute IS: the Inception Score needs Inception's 1008-way")
    assert "--inception-weights" in err and "\n" not in err


def test_generator_ema_weights_are_used_when_the_checkpoint_has_them() -> None:
    from lightgen.evaluate import load_ema
    from lightgen.models import GAN

    model = GAN(data_shape=(1, 4, 4), latent_dim=2, g_hidden=(3,), d_hidden=(3,))
    key = next(k for k in model.state_dict() if k.startswith("generator"))
    ema = {key: torch.full_like(model.state_dict()[key], 0.25)}
    assert load_ema(model, {"callbacks": {"GeneratorEMA{'decay': 0.999}": {"state_dict": ema}}}) == "ema"
    assert torch.equal(model.state_dict()[key], ema[key])
    assert load_ema(model, {"callbacks": {"ModelCheckpoint": {"best": 1.0}}}) == "raw"


def test_evaluate_vae_checkpoint_reports_elbo_and_log_px_through_the_model_methods(mnist_root, tmp_path) -> None:
    from conftest import CONFIGS

    from lightgen.checkpoint import load_model
    from lightgen.data import MNIST

    fit = ["fit", "--config", str(CONFIGS / "vae.yaml"), "--data.init_args.root", str(mnist_root)]
    fit += ["--run_root", str(tmp_path / "runs"), "--trainer.max_steps", "2", "--trainer.logger", "false"]
    fit += ["--trainer.enable_progress_bar", "false", "--data.init_args.val_size", "64", "--trainer.callbacks=[]"]
    fit += ["--trainer.limit_val_batches", "0"]
    main(fit)
    ckpt = tmp_path / "runs" / "vae" / "version_0" / "checkpoints" / "last.ckpt"
    out = tmp_path / "vae.json"
    main(["evaluate", "--ckpt", str(ckpt), "--metrics", "ll", "--ll-k", "20", "--ll-num", "24"] + [
        "--batch-size", "24", "--out", str(out)])  # fmt: skip
    entries = {m["metric"]: m for m in json.loads(out.read_text())["metrics"]}
    elbo, iw = entries["ll_elbo"], entries["ll_is_estimate"]
    assert iw["protocol"]["k"] == 20 and elbo["protocol"]["num_real"] == 24 and elbo["values"]["n"] == 24
    assert elbo["protocol"]["real_split"] == "mnist/test"
    # the same numbers from the model's public methods: one batch of the 24 binarized test images, seed 0
    model = load_model(ckpt)
    dm = MNIST(root=str(mnist_root), value_range=(0.0, 1.0), binarize="dynamic", val_size=64, batch_size=20)
    dm.setup("test")
    x = torch.stack([dm.test_set[i][0] for i in range(24)])
    assert elbo["values"]["nll_nats"] == pytest.approx(-float(model.elbo(x, seed=0).double().mean()), rel=1e-6)
    assert iw["values"]["nll_nats"] == pytest.approx(-float(model.log_prob(x, k=20, seed=0).double().mean()), rel=1e-6)
    assert iw["values"]["bits_per_dim"] == pytest.approx(iw["values"]["nll_nats"] / (784 * math.log(2)))
