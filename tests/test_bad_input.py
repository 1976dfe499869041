"""Bad input at every entry point of the ``lightgen`` command is answered with one line.

Each case runs ``lightgen.cli.main`` in-process and checks: a non-zero exit, the error is one line
(``lightgen: error: ...``; LightningCLI's usage errors too, which print no usage), and that line names
the bad value or file and what was expected. Lightgen's own errors exit 1, parser (usage) errors 2.
A couple of cases run the real command in a subprocess, to see that stderr holds that line alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import CONFIGS, make_mnist_tree

from lightgen.cli import main
from lightgen.errors import LightgenError

# a fit that stops at once if a check were missing (no logger, no grids, no progress bar)
QUICK = ["--trainer.max_steps", "1", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bad (and two good) files of every kind a user hands to lightgen."""
    root = tmp_path_factory.mktemp("bad")
    f = {name: root / name for name in ("invalid.yaml", "list.yaml", "unknown.yaml", "empty.yaml", "text.ckpt")}
    f["invalid.yaml"].write_text("model: [unclosed\n  x: 1\n")
    f["list.yaml"].write_text("- trainer\n- model\n")
    f["unknown.yaml"].write_text("nosuch_key: 1\n")
    f["empty.yaml"].write_text("")
    f["text.ckpt"].write_text("not a checkpoint\n")
    vae = root / "vae.ckpt"  # a lightgen checkpoint of a VAE, as far as its metadata goes
    torch.save({"state_dict": {}, "hyper_parameters": {}, "lightgen": {"class_path": "lightgen.models.VAE"}}, vae)
    f["vae.ckpt"] = vae
    whole = vae.read_bytes()
    (root / "truncated.ckpt").write_bytes(whole[: len(whole) // 2])
    f["truncated.ckpt"] = root / "truncated.ckpt"
    f["folder"] = root
    f["data"] = make_mnist_tree(root / "data", n_train=64, n_test=16)
    corrupt = make_mnist_tree(root / "corrupt", n_train=64, n_test=16)
    images = corrupt / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:3000])  # a copy cut short
    f["corrupt"], f["corrupt_file"] = corrupt, images
    return f


def fill(text: str, files: dict[str, Path]) -> str:
    """``text`` with each ``{name}`` replaced by the path ``files[name]``."""
    for name, path in files.items():
        text = text.replace("{" + name + "}", str(path))
    return text


def error_line(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 1) -> str:
    """The one error line of ``lightgen ARGV`` (which must exit with ``code`` and print no traceback)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == code
    err = [line for line in capsys.readouterr().err.splitlines() if "args parameter is intended" not in line]
    errors = [line for line in err if line.startswith("lightgen: error: ")]
    assert len(errors) == 1 and err[-1] == errors[0], err  # one line, and the last one
    return errors[0]


def fit(files: dict[str, Path], tmp: Path, *extra: str, config: str = "gan_mlp") -> list[str]:
    return [
        "fit", "--config", str(CONFIGS / f"{config}.yaml"), "--data.init_args.root", str(files["data"]),
        "--run_root", str(tmp / "runs"), *QUICK, *extra,
    ]  # fmt: skip


# (id, extra fit arguments, expected exit code, substrings of the error line); {name} is files[name]
FIT_CASES = [
    ("config-missing", ["--config", "{folder}/nowhere.yaml"], 1, ["nowhere.yaml", "neither a file here nor"]),
    ("config-folder", ["--config", "{folder}"], 1, ["is a folder; expected a YAML file"]),
    ("config-invalid-yaml", ["--config", "{invalid.yaml}"], 1, ["invalid.yaml is not valid YAML at line 2"]),
    ("config-list", ["--config", "{list.yaml}"], 1, ["list.yaml holds a YAML list; expected a mapping"]),
    ("config-empty", ["--config", "{empty.yaml}"], 1, ["empty.yaml is empty; expected a mapping"]),
    ("config-unknown-key", ["--config", "{unknown.yaml}"], 2, ["unknown.yaml sets 'nosuch_key'", "lightgen fit"]),
    ("latent-abc", ["--model.init_args.latent_dim", "abc"], 2, ["--model.init_args.latent_dim", "an int", "'abc'"]),
    ("latent-negative", ["--model.init_args.latent_dim", "-3"], 1, ["latent_dim must be a positive integer; got -3"]),
    ("unknown-option", ["--model.init_args.nope", "1"], 2, ["--model.init_args.nope", "has no option 'nope'"]),
    ("unknown-model", ["--model", "NoSuchGAN"], 2, ["'NoSuchGAN' is not a known class", "DCGAN", "VAE"]),
    ("unknown-data", ["--data", "NoSuchData"], 2, ["'NoSuchData' is not a known class", "MNIST"]),
    ("unknown-objective", ["--model.objective", "NoSuch"], 2, ["'NoSuch' is not a known class", "NonSaturating"]),
    ("unknown-dataset", ["--data.init_args.dataset", "cifar"], 2, ["'cifar'", "one of 'mnist', 'fashion-mnist'"]),
    ("resume-missing", ["--ckpt_path", "{folder}/none.ckpt"], 1, ["checkpoint not found", "none.ckpt", ".ckpt file"]),
    ("resume-text", ["--ckpt_path", "{text.ckpt}"], 1, ["text.ckpt is not a readable checkpoint"]),
    ("resume-truncated", ["--ckpt_path", "{truncated.ckpt}"], 1, ["truncated.ckpt is not a readable checkpoint"]),
    ("resume-other-model", ["--ckpt_path", "{vae.ckpt}"], 1, ["vae.ckpt holds a VAE", "config's model is"]),
    ("root-missing", ["--data.init_args.root", "{folder}/nowhere"], 1, ["nowhere/MNIST/raw", "data prepare mnist"]),
    ("root-corrupt", ["--data.init_args.root", "{corrupt}"], 1, ["{corrupt_file} holds 3000 bytes", "data prepare"]),
    ("batch-size-0", ["--data.init_args.batch_size", "0"], 1, ["batch_size must be a positive integer; got 0"]),
    ("val-size-negative", ["--data.init_args.val_size", "-1"], 1, ["val_size must be in [0, 60000); got -1"]),
    ("max-steps-abc", ["--trainer.max_steps", "abc"], 2, ["--trainer.max_steps: expected an int; got 'abc'"]),
    ("max-epochs-negative", ["--trainer.max_epochs", "-5"], 1, ["--trainer.max_epochs -5", "non-negative"]),
    ("accelerator", ["--trainer.accelerator", "tpu9"], 1, ["--trainer.accelerator 'tpu9'", "Available names"]),
    ("precision", ["--trainer.precision", "13"], 2, ["--trainer.precision: expected one of 64, 32", "got '13'"]),
    ("checkpoint-every", ["--checkpoint.every_n_epochs", "-3"], 1, ["every_n_epochs=-3. Must be >= 0"]),
]


@pytest.mark.parametrize(("extra", "code", "expected"), [c[1:] for c in FIT_CASES], ids=[c[0] for c in FIT_CASES])
def test_fit_names_the_bad_value(
    extra: list[str], code: int, expected: list[str], files: dict[str, Path], tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    line = error_line(fit(files, tmp_path, *(fill(a, files) for a in extra)), capsys, code)
    for text in expected:
        assert fill(text, files) in line, line


def test_dcgan_refuses_an_image_size_its_network_cannot_build(files: dict[str, Path], tmp_path: Path, capsys) -> None:  # noqa: ANN001
    line = error_line(fit(files, tmp_path, "--data.init_args.image_size", "30", config="dcgan"), capsys)
    assert "30x30" in line and "4*2^k or 7*2^k" in line


def test_a_command_without_model_or_config_says_what_to_give(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    line = error_line(["fit", "--run_root", str(tmp_path)], capsys, 2)
    assert "required" in line and "--config FILE" in line


SAMPLE_EVALUATE_CASES = [
    ("sample-missing", ["sample", "--ckpt", "{folder}/none.ckpt"], 1, ["checkpoint not found", "none.ckpt"]),
    ("sample-folder", ["sample", "--ckpt", "{folder}"], 1, ["checkpoint not found", "expected a .ckpt file"]),
    ("sample-text", ["sample", "--ckpt", "{text.ckpt}"], 1, ["text.ckpt is not a readable checkpoint"]),
    ("sample-truncated", ["sample", "--ckpt", "{truncated.ckpt}"], 1, ["truncated.ckpt is not a readable"]),
    ("sample-num-0", ["sample", "--ckpt", "{vae.ckpt}", "--num", "0"], 1, ["--num and --nrow must be positive", "0"]),
    ("sample-num-negative", ["sample", "--ckpt", "{vae.ckpt}", "--num", "-5"], 1, ["positive integers; got -5"]),
    ("sample-out-folder", ["sample", "--ckpt", "{vae.ckpt}", "--out", "{folder}"], 1, ["--out {folder} is a folder"]),
    ("sample-out-csv", ["sample", "--ckpt", "{vae.ckpt}", "--out", "x.csv"], 1, ["--out x.csv", "ending in .png"]),
    ("sample-device", ["sample", "--ckpt", "{vae.ckpt}", "--device", "gpu7"], 1, ["--device 'gpu7'", "cpu, cuda"]),
    ("evaluate-missing", ["evaluate", "--ckpt", "{folder}/none.ckpt"], 1, ["checkpoint not found", "none.ckpt"]),
    ("evaluate-text", ["evaluate", "--ckpt", "{text.ckpt}"], 1, ["text.ckpt is not a readable checkpoint"]),
    ("evaluate-truncated", ["evaluate", "--ckpt", "{truncated.ckpt}"], 1, ["truncated.ckpt is not a readable"]),
    (
        "evaluate-n-0",
        ["evaluate", "--ckpt", "{vae.ckpt}", "--num-samples", "0"],
        1,
        ["--num-samples", "least 2; got 0"],
    ),
    ("evaluate-n-negative", ["evaluate", "--ckpt", "{vae.ckpt}", "--num-samples", "-4"], 1, ["least 2; got -4"]),
    ("evaluate-metric", ["evaluate", "--ckpt", "{vae.ckpt}", "--metrics", "fid,nosuch"], 1, ["'nosuch'", "fid,kid"]),
    ("evaluate-device", ["evaluate", "--ckpt", "{vae.ckpt}", "--device", "gpu7"], 1, ["--device 'gpu7'", "auto, cpu"]),
    ("evaluate-out-folder", ["evaluate", "--ckpt", "{vae.ckpt}", "--out", "{folder}"], 1, ["--out {folder} is a fold"]),
    ("prepare-unknown", ["data", "prepare", "nosuch"], 1, ["unknown dataset 'nosuch'", "'mnist'"]),
    ("prepare-root-file", ["data", "prepare", "mnist", "--root", "{text.ckpt}"], 1, ["text.ckpt is a file", "folder"]),
    ("report-not-a-run", ["report", "{data}"], 1, ["holds no lightgen run", "runs/<name>/version_N"]),
    ("report-missing", ["report", "{folder}/nowhere"], 1, ["nowhere' does not exist"]),
]


@pytest.mark.parametrize(
    ("argv", "code", "expected"), [c[1:] for c in SAMPLE_EVALUATE_CASES], ids=[c[0] for c in SAMPLE_EVALUATE_CASES]
)
def test_sample_evaluate_data_and_report_name_the_bad_value(
    argv: list[str], code: int, expected: list[str], files: dict[str, Path], capsys
) -> None:  # noqa: ANN001
    line = error_line([fill(a, files) for a in argv], capsys, code)
    for text in expected:
        assert fill(text, files) in line, line


def test_argparse_usage_errors_end_with_the_value_and_the_choices(files: dict[str, Path], capsys) -> None:  # noqa: ANN001
    """`sample` and `evaluate` keep argparse's short usage (a dozen lines); its last line is the error."""
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--ckpt", str(files["vae.ckpt"]), "--split", "nosuch"])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--split: invalid choice: 'nosuch'" in last and "'train', 'val', 'test'" in last


def test_the_shell_sees_one_line_and_no_traceback(files: dict[str, Path], tmp_path: Path) -> None:
    for argv, code, expected in [
        (fit(files, tmp_path, "--model.init_args.latent_dim", "abc"), 2, "expected an int; got 'abc'"),
        (fit(files, tmp_path, "--ckpt_path", str(files["truncated.ckpt"])), 1, "truncated.ckpt is not a readable"),
    ]:
        result = subprocess.run([sys.executable, "-m", "lightgen.cli", *argv], capture_output=True, text=True)
        assert result.returncode == code
        assert result.stderr.strip().splitlines() == [result.stderr.strip()] and expected in result.stderr, (
            result.stderr
        )


def test_lightnings_trainer_errors_become_one_line_but_a_bug_in_lightgen_keeps_its_traceback() -> None:
    from lightning.pytorch import Trainer

    from lightgen.data.base import resolve_root
    from lightgen.lightning_cli import LightgenCLI

    try:
        Trainer(max_epochs=-5, logger=False)  # refused inside Lightning: bad input
    except Exception as err:  # noqa: BLE001
        user = LightgenCLI._trainer_option_error(err, {"max_epochs": -5})
    assert isinstance(user, LightgenError) and "--trainer.max_epochs -5" in str(user) and "\n" not in str(user)
    try:
        resolve_root(123)  # a TypeError raised below lightgen's code: a bug, not the user's input
    except TypeError as err:
        assert LightgenCLI._trainer_option_error(err, {}) is None


def test_jsonargparse_messages_it_does_not_know_still_make_one_line() -> None:
    from lightgen.parse_errors import one_line

    assert one_line("Something new:\n  happened here\n") == "Something new: happened here"
    nested = "Parser key \"seed_everything\":\n  Errors:\n    - Expected a <class 'bool'>\n" + (
        "    - Expected a <class 'int'>\n  Given value type: <class 'str'>\n  Given value: abc\n"
    )
    assert one_line(nested) == "--seed_everything: expected true or false or an int; got 'abc'"
