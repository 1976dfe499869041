"""The VAE family through the command line: `lightgen fit`, `lightgen test` reporting the bounds, and
`lightgen sample` from the checkpoint."""

from __future__ import annotations

import math

import pytest
from conftest import CONFIGS, make_mnist_tree
from PIL import Image

from lightgen.cli import main, run_lightning_cli

QUIET = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]


@pytest.mark.parametrize("config", ["iwae", "iaf"])
def test_fit_then_test_reports_elbo_lk_log_px_and_bits_per_dim(config, tmp_path):
    root = make_mnist_tree(tmp_path / "data", "MNIST")
    common = ["--config", str(CONFIGS / f"{config}.yaml"), "--data.init_args.root", str(root)]
    common += ["--data.init_args.val_size", "64", "--run_root", str(tmp_path / "runs"), *QUIET]
    small = ["--model.init_args.hidden", "[32]", "--model.init_args.latent_dims", "[4]"]
    small += ["--model.init_args.val_k", "5", "--model.init_args.test_k", "40", "--model.init_args.test_batch_k", "16"]
    main(["fit", *common, *small, "--trainer.max_steps", "3", "--trainer.limit_val_batches", "1"])
    ckpt = tmp_path / "runs" / config / "version_0" / "checkpoints" / "last.ckpt"
    assert list((ckpt.parents[1] / "pictures").glob("reconstructions_step_*.png"))

    cli = run_lightning_cli(["test", *common, *small, "--trainer.limit_test_batches", "2", "--ckpt_path", str(ckpt)])
    m = {k: float(v) for k, v in cli.trainer.callback_metrics.items()}
    assert {"test/elbo", "test/L_5", "test/log_px", "test/nll", "test/nll_bpd", "test/elbo_bpd"} <= set(m)
    assert "test/active_units_z1" in m and 0 <= m["test/active_units_z1"] <= 4
    # the bounds in order (up to Monte Carlo noise): ELBO <= L_5 <= L_40 ~ log p(x) < 0 for binary pixels
    assert m["test/elbo"] <= m["test/L_5"] + 0.5 and m["test/L_5"] <= m["test/log_px"] + 0.5 and m["test/log_px"] < 0
    assert m["test/nll"] == pytest.approx(-m["test/log_px"])
    assert m["test/nll_bpd"] == pytest.approx(m["test/nll"] / (784 * math.log(2)), rel=1e-5)
    assert m["test/elbo_bpd"] == pytest.approx(-m["test/elbo"] / (784 * math.log(2)), rel=1e-5)

    out = tmp_path / "grid.png"
    main(["sample", "--ckpt", str(ckpt), "--num", "6", "--nrow", "3", "--out", str(out), "--seed", "1"])
    assert Image.open(out).size == (2 + 3 * 30, 2 + 2 * 30)


def test_bad_model_option_is_one_line_error(tmp_path, capsys):
    root = make_mnist_tree(tmp_path / "data", "MNIST")
    args = ["fit", "--config", str(CONFIGS / "vae.yaml"), "--data.init_args.root", str(root), *QUIET]
    with pytest.raises(SystemExit):
        main([*args, "--model.init_args.k_samples", "0", "--run_root", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert "k_samples must be an integer >= 1; got 0" in err and len(err.strip().splitlines()) == 1
