"""``--trainer.default_root_dir DIR`` is the run root (as ``--run_root DIR``): the run lands in
``DIR/<run_name>/version_N``; giving both with different folders is a one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import CONFIGS

from lightgen.cli import main

FAST = [
    "fit", "--config", str(CONFIGS / "gan_mlp.yaml"),
    "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "false", "--trainer.logger", "false",
    "--trainer.limit_val_batches", "1", "--data.init_args.val_size", "64",
]  # fmt: skip


def test_default_root_dir_is_the_run_root(mnist_root: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "elsewhere"
    for _ in range(2):
        main([*FAST, "--data.init_args.root", str(mnist_root), "--trainer.default_root_dir", str(root)])
    assert sorted(p.name for p in (root / "gan_mlp").iterdir()) == ["version_0", "version_1"]
    run = root / "gan_mlp" / "version_1"
    assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "samples").is_dir()
    assert not (tmp_path / "runs").exists()
    # the saved config keeps the user's folder (running it again makes a version beside this one)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"]["default_root_dir"] == str(root) and saved["run_root"] == str(root)


def test_default_root_dir_and_a_different_run_root_is_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as info:
        main([*FAST, "--trainer.default_root_dir", str(tmp_path / "a"), "--run_root", str(tmp_path / "b")])
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lightgen: error: --trainer.default_root_dir"), err
    assert "--run_root" in err[0] and "give one" in err[0]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
