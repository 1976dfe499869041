"""The lightgen command: help, run folders, loggers, `sample`, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS
from PIL import Image

from lightgen.cli import main

FAST = [
    "--trainer.max_steps", "4",
    "--trainer.enable_progress_bar", "false",
    "--data.init_args.val_size", "64",
    "--sample_grid.every_n_steps", "2",
]  # fmt: skip


def fit(tmp_path: Path, root: Path, *extra: str) -> None:
    main(
        [
            "fit",
            "--config",
            str(CONFIGS / "gan_mlp.yaml"),
            "--data.init_args.root",
            str(root),
            "--run_root",
            str(tmp_path / "runs"),
            *FAST,
            *extra,
        ]
    )


def lightgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lightgen.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_help_lists_models_datamodules_and_commands() -> None:
    out = lightgen("--help").stdout
    for name in ("DCGAN", "GAN", "MNIST", "sample", "data", "fit"):
        assert name in out


def test_fit_writes_a_versioned_run_folder_with_checkpoint_samples_and_config(mnist_root: Path, tmp_path: Path) -> None:
    fit(tmp_path, mnist_root, "--trainer.logger", "false")
    fit(tmp_path, mnist_root, "--trainer.logger", "false")
    runs = sorted(p.name for p in (tmp_path / "runs" / "gan_mlp").iterdir())
    assert runs == ["version_0", "version_1"]  # a second run never overwrites the first
    run = tmp_path / "runs" / "gan_mlp" / "version_1"
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "config.yaml").is_file()
    grids = sorted((run / "samples").glob("step_*.png"))
    # max_steps 4 counts D and G steps: 2 training batches; a grid every 2 batches, named by the loggers'
    # step of the batch it follows (0-based: 1)
    assert [g.name for g in grids] == ["step_0000001.png"]
    assert Image.open(grids[-1]).size == (8 * 30 + 2, 8 * 30 + 2)  # 64 samples of 28 px, 8 per row


@pytest.mark.parametrize(
    ("logger", "expect"), [("TensorBoardLogger", "events.out.tfevents.*"), ("CSVLogger", "metrics.csv")]
)
def test_one_flag_switches_the_logger(mnist_root: Path, tmp_path: Path, logger: str, expect: str) -> None:
    fit(tmp_path, mnist_root, "--trainer.logger.class_path", logger, "--trainer.log_every_n_steps", "1")
    run = tmp_path / "runs" / "gan_mlp" / "version_0"
    assert list(run.glob(expect)), sorted(p.name for p in run.iterdir())


def test_wandb_runs_offline_without_an_api_key(mnist_root: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc with a key
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    fit(tmp_path, mnist_root)
    assert "no wandb API key found; wandb runs offline" in capsys.readouterr().out
    run = tmp_path / "runs" / "gan_mlp" / "version_0"
    assert list((run / "wandb").glob("offline-run-*"))


def test_sample_command_writes_a_grid(mnist_root: Path, tmp_path: Path) -> None:
    fit(tmp_path, mnist_root, "--trainer.logger", "false")
    ckpt = tmp_path / "runs" / "gan_mlp" / "version_0" / "checkpoints" / "last.ckpt"
    out = tmp_path / "grid.png"
    main(["sample", "--ckpt", str(ckpt), "--num", "12", "--nrow", "4", "--out", str(out), "--seed", "1"])
    assert Image.open(out).size == (4 * 30 + 2, 3 * 30 + 2)
    first = out.read_bytes()
    main(["sample", "--ckpt", str(ckpt), "--num", "12", "--nrow", "4", "--out", str(out), "--seed", "1"])
    assert out.read_bytes() == first  # same seed, same picture


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fit", "--model=NoSuchGAN", "--data=MNIST"], "NoSuchGAN"),
        (["fit", "--config", str(CONFIGS / "gan_mlp.yaml"), "--model.init_args.objective", "Hingee"], "Hingee"),
        (["fit", "--config", str(CONFIGS / "gan_mlp.yaml"), "--data.init_args.dataset", "cifar"], "cifar"),
        (["sample", "--ckpt", "missing.ckpt"], "checkpoint not found: missing.ckpt"),
        (["data", "prepare", "cifar-11"], "unknown dataset 'cifar-11'"),
    ],
    ids=["model", "loss", "dataset", "checkpoint", "prepare"],
)
def test_bad_names_give_an_error_naming_the_value(args: list[str], expected: str, tmp_path: Path) -> None:
    result = lightgen(*args, "--run_root", str(tmp_path)) if args[0] == "fit" else lightgen(*args, cwd=tmp_path)
    assert expected in result.stderr
    if args[0] != "fit":  # lightgen's own errors are exactly one line
        assert one_line_error(result).startswith("lightgen: error:") and expected in one_line_error(result)


def test_wrong_image_size_for_the_network_is_one_line(mnist_root: Path, tmp_path: Path) -> None:
    result = lightgen(
        "fit", "--config", str(CONFIGS / "dcgan.yaml"), "--data.init_args.image_size", "30",
        "--data.init_args.root", str(mnist_root), "--run_root", str(tmp_path),
    )  # fmt: skip
    line = one_line_error(result)
    assert line.startswith("lightgen: error:") and "30x30" in line and "4*2^k or 7*2^k" in line


def test_missing_dataset_names_the_prepare_command(tmp_path: Path) -> None:
    result = lightgen(
        "fit", "--config", str(CONFIGS / "dcgan.yaml"), "--data.init_args.root", str(tmp_path / "empty"),
        "--run_root", str(tmp_path), "--trainer.logger", "false",
    )  # fmt: skip
    line = one_line_error(result)
    assert "mnist not found under" in line and "lightgen data prepare mnist" in line


def test_all_tasks_of_a_slurm_step_share_one_run_folder(mnist_root: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    monkeypatch.setenv("SLURM_STEP_ID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "16")
    from lightgen.cli import launcher_run_id

    assert launcher_run_id() == "slurm_4242_3"
    monkeypatch.setenv("SLURM_NTASKS", "1")  # a one-task job (e.g. an interactive shell) versions as usual
    assert launcher_run_id() is None


def test_test_subcommand_reports_held_out_metrics_in_its_own_folder(mnist_root: Path, tmp_path: Path) -> None:
    fit(tmp_path, mnist_root, "--trainer.logger", "false")
    ckpt = tmp_path / "runs" / "gan_mlp" / "version_0" / "checkpoints" / "last.ckpt"
    main([
        "test", "--config", str(CONFIGS / "gan_mlp.yaml"), "--ckpt_path", str(ckpt),
        "--data.init_args.root", str(mnist_root), "--data.init_args.val_size", "64",
        "--run_root", str(tmp_path / "runs"), "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
    ])  # fmt: skip
    assert (tmp_path / "runs" / "gan_mlp" / "test_0" / "config.yaml").is_file()


def test_per_network_optimizers_and_schedulers_from_yaml(mnist_root: Path, tmp_path: Path) -> None:
    extra = tmp_path / "optim.yaml"
    extra.write_text(
        "model:\n  init_args:\n"
        "    d_optimizer: {class_path: torch.optim.SGD, init_args: {lr: 0.01, momentum: 0.5}}\n"
        "    g_scheduler: {class_path: torch.optim.lr_scheduler.StepLR, init_args: {step_size: 1, gamma: 0.1}}\n"
    )
    fit(tmp_path, mnist_root, "--config", str(extra), "--trainer.logger", "false")
    from lightgen.checkpoint import load_checkpoint

    ckpt = load_checkpoint(tmp_path / "runs" / "optim" / "version_0" / "checkpoints" / "last.ckpt")
    g_state, d_state = ckpt["optimizer_states"]
    assert d_state["param_groups"][0]["momentum"] == 0.5 and d_state["param_groups"][0]["lr"] == 0.01
    assert g_state["param_groups"][0]["betas"] == (0.5, 0.999)  # G keeps the default Adam
    assert ckpt["lr_schedulers"][0]["gamma"] == 0.1
