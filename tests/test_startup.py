"""Start-up of the lightgen command: help and argument errors answer without importing the heavy stack.

``lightgen --help``, ``lightgen sample --help``, ``lightgen data prepare --help``, ``lightgen evaluate
--help`` and argparse errors of those commands are answered by lightgen.cli / lightgen.commands alone;
lightning, wandb, torchmetrics (and torch) are imported only by the commands that run something. The
static name lists that the fast help prints are checked against the real registries.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from lightgen.commands import PREPARER_NAMES, static_short_names

HEAVY = ("lightning", "lightning_fabric", "lightning_utilities", "wandb", "torchmetrics", "torch")
MODELS = ("DCGAN", "GAN", "VAE", "ConditionalGAN", "PixelCNN")
DATAMODULES = ("MNIST", "LSUN", "ImageNet")
COMMANDS = ("fit", "validate", "test", "predict", "sample", "data", "evaluate")


def run_cli(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``python -X importtime -m lightgen.cli ARGS``: the result and the top-level packages it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lightgen.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    return proc, imported


def messages(proc: subprocess.CompletedProcess) -> str:
    """stderr without the -X importtime lines."""
    return "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--help"], 0, [*COMMANDS, *MODELS, *DATAMODULES, "lightgen 0.1.0"]),
        (["-h"], 0, [*COMMANDS, *MODELS, *DATAMODULES]),
        (["sample", "--help"], 0, ["--ckpt", "--num", "--class-grid"]),
        (["data", "prepare", "--help"], 0, list(PREPARER_NAMES)),
        (["data", "--help"], 0, ["prepare"]),
        (["evaluate", "--help"], 0, ["--ckpt", "--metrics", "fid", "parzen", "--num-samples"]),
    ],
    ids=["help", "h", "sample-help", "data-prepare-help", "data-help", "evaluate-help"],
)
def test_help_answers_without_the_heavy_stack(args: list[str], code: int, expected: list[str]) -> None:
    proc, imported = run_cli(*args)
    assert proc.returncode == code, messages(proc)
    assert not imported & set(HEAVY), f"`lightgen {' '.join(args)}` imported {sorted(imported & set(HEAVY))}"
    for text in expected:
        assert text in proc.stdout, (text, proc.stdout)


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["sample", "--num", "x"], 2, "argument --num: invalid int value: 'x'"),
        (["sample"], 2, "the following arguments are required: --ckpt"),
        (["evaluate", "--ckpt", "x.ckpt", "--batch-size", "many"], 2, "argument --batch-size"),
        (["evaluate", "--ckpt", "x.ckpt", "--metrics", "fid,fidd"], 1, "lightgen: error: unknown metric(s) ['fidd']"),
        (["data", "prepare"], 2, "the following arguments are required: name"),
        (["data", "prepare", "cifar-11"], 1, "lightgen: error: unknown dataset 'cifar-11'"),
        ([], 2, "usage: lightgen"),
    ],
    ids=["sample-num", "sample-no-ckpt", "evaluate-int", "evaluate-metric", "prepare-no-name", "prepare-name", "none"],
)
def test_bad_arguments_answer_without_the_heavy_stack(args: list[str], code: int, expected: str) -> None:
    proc, imported = run_cli(*args)
    assert proc.returncode == code, messages(proc)
    assert expected in messages(proc)
    assert not imported & set(HEAVY), f"`lightgen {' '.join(args)}` imported {sorted(imported & set(HEAVY))}"


def test_lightgen_cli_and_errors_import_light() -> None:
    code = (
        "import sys, lightgen.cli, lightgen.commands, lightgen.errors;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_static_name_lists_equal_the_real_registries() -> None:
    """The fast help's model/datamodule names are what `lightgen fit` resolves; the prepare names are the keys
    of lightgen.preparers.PREPARERS, each resolving to a callable in its layer's module."""
    code = (
        "import json, sys\n"
        "from lightning.pytorch import LightningDataModule\n"
        "from lightgen.cli import LightgenCLI, _short_names\n"  # the lazy names of lightgen.cli still resolve
        "from lightgen.preparers import PREPARERS, preparer\n"
        "assert all(callable(preparer(name)) for name in PREPARERS)\n"
        "from lightgen.models.base import GenerativeModel\n"
        "assert LightgenCLI.__module__ == 'lightgen.lightning_cli'\n"
        "print(json.dumps({'models': _short_names(GenerativeModel), 'data': _short_names(LightningDataModule),"
        " 'preparers': sorted(PREPARERS)}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    real = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ", ".join(static_short_names("models")) == real["models"]
    assert ", ".join(static_short_names("data")) == real["data"]
    assert list(PREPARER_NAMES) == real["preparers"]
    assert {"DCGAN", "GAN", "VAE", "ConditionalGAN"} <= set(static_short_names("models"))
