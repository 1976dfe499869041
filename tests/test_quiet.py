"""Quiet by default: a run's output holds no known library noise, a user's own warnings still show, integer
counters show as integers, and ``--verbose`` (or LIGHTGEN_VERBOSE=1) brings everything back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS, make_mnist_tree

from lightgen.quiet import is_noise, take_verbose_flag

# what a run must not print (case-sensitive regular expressions, searched line by line)
KNOWN_NOISE = (
    r"litlogger|litmodels",  # Lightning's advertisements
    r"\bTip: ",
    r"anonymous setting",  # wandb, about an argument nobody set
    r"[Dd]eprecat",  # library deprecations
    r"LeafSpec",
    r"(GPU|TPU|HPU) available: False",  # hardware that is not there
)

USER_MODULE = """
import warnings

from lightning.pytorch.callbacks import Callback


class Warner(Callback):
    def on_train_start(self, trainer, pl_module):
        warnings.warn("my own warning: check the learning rate")
"""


@pytest.mark.parametrize(
    ("line", "noise"),
    [
        ("💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger](https://x)", True),
        ("💡 Tip: For seamless cloud uploads and versioning, try installing [litmodels](https://x)", True),
        ("GPU available: False, used: False", True),
        ("TPU available: False, using: 0 TPU cores", True),
        ("wandb: WARNING The anonymous setting has no effect and will be removed in a future version.", True),
        ("GPU available: True (cuda), used: True", False),
        ("GPU available but not used. You can set it by doing `Trainer(accelerator='gpu')`.", False),
        ("Seed set to 0", False),
        ("UserWarning: my own warning: check the learning rate", False),
    ],
)
def test_the_noise_filter_keeps_what_a_user_acts_on(line: str, noise: bool) -> None:
    assert is_noise(line) is noise


def test_verbose_flag_is_taken_out_and_kept_for_child_processes(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LIGHTGEN_VERBOSE", "0")  # restored afterwards: the flag sets it for this process
    assert take_verbose_flag(["fit", "--config", "dcgan"]) == ["fit", "--config", "dcgan"]
    assert os.environ["LIGHTGEN_VERBOSE"] == "0"
    assert take_verbose_flag(["fit", "--verbose", "--config", "dcgan"]) == ["fit", "--config", "dcgan"]
    assert os.environ["LIGHTGEN_VERBOSE"] == "1"


def test_quiet_filters_library_noise_and_keeps_user_warnings() -> None:
    """In a fresh interpreter: Lightning's tip and a library's deprecation are dropped, a user's warnings are not."""
    code = (
        "import warnings, sys\n"
        "from lightgen.quiet import quiet\n"
        "print('installed', quiet())\n"
        "from lightning.pytorch.utilities import rank_zero_info\n"
        "rank_zero_info('💡 Tip: try installing [litlogger](https://pypi.org/project/litlogger/)')\n"
        "rank_zero_info('GPU available: False, used: False')\n"
        "rank_zero_info('an info line a user wants')\n"
        "warnings.warn_explicit('old API', DeprecationWarning, 'x.py', 1, module='lightning.pytorch.x')\n"
        "warnings.warn_explicit('old API', FutureWarning, 'x.py', 1, module='torch.nn.x')\n"
        "warnings.warn('my own warning')\n"
    )
    env = {**os.environ, "LIGHTGEN_VERBOSE": "0"}
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    out = quiet.stdout + quiet.stderr
    assert quiet.returncode == 0 and "installed True" in out, out
    assert "an info line a user wants" in out and "my own warning" in out
    assert "litlogger" not in out and "GPU available" not in out and "old API" not in out, out

    env["LIGHTGEN_VERBOSE"] = "1"
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    out = loud.stdout + loud.stderr
    assert "installed False" in out and "litlogger" in out and "GPU available: False" in out, out
    assert "FutureWarning: old API" in out


def fit_output(tmp_path: Path, *extra: str) -> str:
    """``lightgen fit`` of gan_mlp for two steps (one D and one G step) with base.yaml's wandb logger,
    offline, a Rich progress bar and a user callback that warns; the combined stdout and stderr."""
    (tmp_path / "usermod.py").write_text(USER_MODULE)
    if not (tmp_path / "data").is_dir():
        make_mnist_tree(tmp_path / "data", n_train=96, n_test=32)
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_SILENT", "LIGHTGEN_VERBOSE")}
    env.update(
        WANDB_MODE="offline", CUDA_VISIBLE_DEVICES="", COLUMNS="200", PYTHONPATH=str(tmp_path), HOME=str(tmp_path)
    )
    args = [
        sys.executable, "-m", "lightgen.cli", "fit", "--config", str(CONFIGS / "gan_mlp.yaml"),
        "--data.init_args.root", "data", "--data.init_args.val_size", "32", "--run_root", "runs",
        "--trainer.max_steps", "2", "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0",
        "--trainer.callbacks+=usermod.Warner", *extra,
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def noise_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if any(re.search(p, line) for p in KNOWN_NOISE)]


@pytest.mark.slow
def test_a_run_prints_no_known_noise_and_verbose_brings_it_back(tmp_path: Path) -> None:
    out = fit_output(tmp_path)
    assert noise_lines(out) == [], noise_lines(out)
    assert "my own warning: check the learning rate" in out  # a user's own warning still shows
    assert "Seed set to 0" in out and "wandb: Run data is saved locally" in out  # what a user acts on stays
    assert re.search(r"generator_steps: 1(?![.\d])", out), out[-2000:]  # an integer counter as an integer
    assert not re.search(r"generator_steps:\s*1\.0", out)
    assert (tmp_path / "runs" / "gan_mlp" / "version_0" / "checkpoints" / "last.ckpt").is_file()

    loud = fit_output(tmp_path, "--verbose")
    assert "litlogger" in loud and "The anonymous setting has no effect" in loud, loud[-4000:]
    assert "GPU available: False" in loud and "my own warning" in loud
