"""DDP on CPU: two gloo processes from the same config equal one process on the same global batch.

The equivalence holds for nets without batch norm or dropout (gan_mlp.yaml with d_dropout 0): with
batch norm each process normalises by its own half-batch unless `--trainer.sync_batchnorm true`, and
dropout masks come from each rank's own RNG stream."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import CONFIGS

from lightgen.checkpoint import load_checkpoint


def fit(root: Path, runs: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    args = [
        sys.executable, "-m", "lightgen.cli", "fit", "--config", str(CONFIGS / "gan_mlp.yaml"),
        "--trainer.accelerator", "cpu", "--trainer.max_steps", "10", "--trainer.logger", "false",
        "--trainer.enable_progress_bar", "false", "--model.init_args.d_dropout", "0",
        "--data.init_args.root", str(root), "--data.init_args.val_size", "64",
        "--sample_grid.every_n_steps", "1000", "--run_root", str(runs), "--run_name", name, *extra,
    ]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_two_process_ddp_equals_one_process_on_the_same_global_batch(mnist_root: Path, tmp_path: Path) -> None:
    two = fit(
        mnist_root,
        tmp_path,
        "two",
        "--trainer.devices",
        "2",
        "--trainer.strategy",
        "ddp",
        "--data.init_args.batch_size",
        "16",
    )
    assert two.returncode == 0, two.stderr[-3000:]
    # plain `ddp` works: for a GAN the CLI maps it to lightgen's `ddp_players` (each player in its own DDP)
    assert "'ddp' -> 'ddp_players'" in two.stdout + two.stderr
    one = fit(mnist_root, tmp_path, "one", "--trainer.devices", "1", "--data.init_args.batch_size", "32")
    assert one.returncode == 0, one.stderr[-3000:]

    runs = sorted((tmp_path / "two").iterdir())
    assert [r.name for r in runs] == ["version_0"]  # both ranks wrote into rank 0's run folder
    a = load_checkpoint(tmp_path / "two" / "version_0" / "checkpoints" / "last.ckpt")
    b = load_checkpoint(tmp_path / "one" / "version_0" / "checkpoints" / "last.ckpt")
    assert a["lightgen"]["loop"]["generator_steps"] == b["lightgen"]["loop"]["generator_steps"] == 5
    rows = a["lightgen"]["torch_rng"]
    assert rows.shape[0] == 2  # one RNG row per rank, each rank its own stream (seeded from seed and rank)
    assert not torch.equal(rows[0], rows[1])
    for name, tensor in b["state_dict"].items():
        torch.testing.assert_close(a["state_dict"][name], tensor, rtol=0, atol=1e-5, msg=name)
