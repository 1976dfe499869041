"""The ``lightgen`` command: a LightningCLI (subclass mode) plus ``sample`` and ``data prepare``.

    lightgen fit --config configs/dcgan.yaml          train (also validate / test / predict)
    lightgen fit --model=DCGAN --data=MNIST           short names of every imported model/datamodule
    lightgen sample --ckpt last.ckpt --num 64 --out grid.png [--seed 0] [--label 3 | --class-grid]
    lightgen data prepare mnist|fashion-mnist|mnist-classifier|inception [--root data]
    lightgen evaluate --ckpt last.ckpt --metrics fid,kid,cfid,modes,nn --out report.json [--html]
    lightgen report runs/dcgan/version_0 [--out page.html]   one HTML page of a run (lightgen.report)

Each ``fit`` gets its own versioned run folder, ``<run_root>/<run_name>/version_N``, holding
``config.yaml``, ``checkpoints/`` (``last.ckpt`` always), ``samples/`` and the logger's files, so
nothing from an earlier run is overwritten; ``validate``/``test``/``predict`` get ``test_N`` etc.
The data shape is linked from the datamodule into the model (``data.data_shape ->
model.init_args.data_shape``), so networks fit the data.

This module stays light: :func:`main` dispatches on the first argument before anything heavy is
imported. ``lightgen --help`` (or ``-h``, or no argument) prints a help built without lightning;
``sample``, ``data`` and ``evaluate`` parse their arguments first (so ``--help`` and bad arguments
answer at once) and only then import torch and lightning; fit/validate/test/predict go to the
LightningCLI subclass in :mod:`lightgen.lightning_cli`. Its names (``LightgenCLI``,
``run_lightning_cli``...) are still importable from here, lazily.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Any

from lightgen import __version__  # noqa: F401  (re-exported, as before)
from lightgen.commands import (
    EXTRA_COMMANDS,  # noqa: F401  (re-exported, as before)
    check_preparer_name,
    configs_parser,
    data_parser,
    evaluate_parser,
    parse_metrics,
    report_parser,
    sample_parser,
    top_level_parser,
)
from lightgen.config_files import base_config_path, configs_listing, resolve_config_args
from lightgen.errors import LightgenError
from lightgen.quiet import quiet, take_verbose_flag

# names that live in lightgen.lightning_cli (or that this module imported from lightning before), served lazily
_LAZY = frozenset(
    {
        "DDP_STRATEGY_NAMES",
        "LightgenCLI",
        "run_lightning_cli",
        "default_trainer_config",
        "_short_names",
        "AtomicCheckpointIO",
        "GenerativeModel",
        "LightningCLI",
        "LightningDataModule",
        "ProgressBar",
        "RichProgressBar",
        "RunCheckpoint",
        "SampleGrid",
        "lazy_instance",
        "load_model",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("lightgen.lightning_cli"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def wandb_key_available() -> bool:
    """True when wandb can log online: an API key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def next_version_dir(parent: Path, kind: str = "version") -> Path:
    """``parent/<kind>_N`` with N one above the highest existing one (kind: version, test, ...)."""
    taken = [int(m.group(1)) for p in parent.glob(f"{kind}_*") if (m := re.fullmatch(rf"{kind}_(\d+)", p.name))]
    return parent / f"{kind}_{max(taken, default=-1) + 1}"


def launcher_run_id() -> str | None:
    """A folder name shared by all tasks that a cluster launcher started for one run, if any."""
    if os.environ.get("SLURM_JOB_ID") and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return f"slurm_{os.environ['SLURM_JOB_ID']}_{os.environ.get('SLURM_STEP_ID', '0')}"
    if os.environ.get("TORCHELASTIC_RUN_ID", "none") != "none":  # torchrun --rdzv-id
        return f"torchrun_{os.environ['TORCHELASTIC_RUN_ID']}"
    return None


def base_config_files() -> list[str]:
    """base.yaml, read before every config: $LIGHTGEN_BASE_CONFIG, else the shipped one (lightgen.config_files)."""
    path = base_config_path()
    return [str(path)] if path is not None else []


def sample_command(argv: list[str]) -> None:
    ns = sample_parser().parse_args(argv)
    if ns.num < 1 or ns.nrow < 1:
        raise LightgenError(f"--num and --nrow must be positive integers; got {ns.num} and {ns.nrow}")
    if ns.label is not None and ns.class_grid:
        raise LightgenError("--label and --class-grid exclude each other: one class, or a row per class")
    out = Path(ns.out)
    if out.is_dir():
        raise LightgenError(f"--out {ns.out} is a folder; expected an image file name such as {out / 'samples.png'}")
    if out.suffix.lower() == ".txt":  # a sequence model's samples, one a line
        return write_text_samples(ns, out)
    from PIL import Image

    if out.suffix.lower() not in Image.registered_extensions():
        raise LightgenError(
            f"--out {ns.out}: expected an image file name ending in .png (or .jpg, .webp...), or .txt for sequences"
        )
    from lightgen.callbacks.sample_grid import save_sample_grid  # torch and lightning: after parsing
    from lightgen.checkpoint import load_model
    from lightgen.evaluate import resolve_device

    device = resolve_device(ns.device, auto=False)
    model = load_model(ns.ckpt).to(device)
    name, classes = type(model).__name__, int(getattr(model, "num_classes", 0) or 0)
    if ns.caption is not None:
        if not hasattr(model, "sample_stages"):
            raise LightgenError(f"--caption needs a text-to-image model (StackGAN); {name} takes no captions")
        from lightgen.callbacks.caption_pictures import save_captioned_grid

        path = save_captioned_grid(model, ns.caption, ns.out, per_caption=ns.nrow, seed=ns.seed)
        print(f"wrote {len(ns.caption)} captions x {ns.nrow} samples of {name} to {path}")
        return
    if ns.label is not None and not classes:
        raise LightgenError(f"--label needs a conditional model; {name} is unconditional")
    if ns.label is not None and not 0 <= ns.label < classes:
        raise LightgenError(f"--label {ns.label} is not a class of {name}; choose one of 0..{classes - 1}")
    if ns.class_grid and not classes:
        raise LightgenError(f"--class-grid needs a conditional model; {name} is unconditional")
    grid = bool(classes) and ns.label is None and ns.class_grid is not False
    path = save_sample_grid(model, ns.out, ns.num, ns.nrow, ns.seed, label=ns.label, class_grid=ns.class_grid)
    what = f"{classes * ns.nrow} samples ({ns.nrow} per class, one row each)" if grid else f"{ns.num} samples"
    print(f"wrote {what} of {name}{'' if ns.label is None else f' (class {ns.label})'} to {path}")


def write_text_samples(ns: argparse.Namespace, out: Path) -> None:
    """``lightgen sample --out samples.txt``: a sequence model's --num samples (seed --seed), one a line, as words
    when the checkpoint holds its vocabulary (a text corpus), else as token ids (the oracle)."""
    from lightgen.checkpoint import load_model
    from lightgen.evaluate import resolve_device

    model = load_model(ns.ckpt).to(resolve_device(ns.device, auto=False))
    if not hasattr(model, "decode"):
        raise LightgenError(f"--out {out} (.txt) is for sequence models; {type(model).__name__} draws images: use .png")
    lines = model.decode(model.sample(ns.num, seed=ns.seed).cpu())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} sequences of {type(model).__name__} to {out}")


def data_command(argv: list[str]) -> None:
    ns = data_parser().parse_args(argv)
    check_preparer_name(ns.name)
    root = Path(ns.root if ns.root is not None else os.environ.get("LIGHTGEN_DATA", "data")).expanduser()
    if root.exists() and not root.is_dir():  # as lightgen.data.base.resolve_root finds it
        raise LightgenError(f"data root {root} is a file; expected a folder (created if missing)")
    from lightgen.preparers import prepare  # the registry; the preparer's module (torch...) loads on call

    prepare(ns.name, ns.root)


def evaluate_command(argv: list[str]) -> Any:
    ns = evaluate_parser().parse_args(argv)
    parse_metrics(ns.metrics)  # an unknown metric is refused before torch is imported
    from lightgen.evaluate import evaluate

    return evaluate(ns)


def report_command(argv: list[str]) -> Any:
    ns = report_parser().parse_args(argv)
    from lightgen.report import write_report  # stdlib only: no torch, no lightning

    path = write_report(ns.run_dir, ns.out, ns.eval)
    print(f"wrote the run report {path} (open it in a browser)")
    return path


def user_error(exc: BaseException) -> LightgenError | None:
    """The LightgenError behind ``exc`` (jsonargparse wraps errors raised while building classes)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, LightgenError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``lightgen`` console script."""
    argv = take_verbose_flag(list(sys.argv[1:] if args is None else args))
    quiet()  # library noise off unless --verbose / LIGHTGEN_VERBOSE=1 (lightgen.quiet)
    if not argv or argv[0] in ("-h", "--help"):  # the top-level help, without lightning
        parser = top_level_parser()
        if argv:
            parser.print_help()
            raise SystemExit(0)
        parser.print_help(sys.stderr)
        raise SystemExit(2)  # no command: a usage error, as before
    try:
        if argv[0] == "sample":
            sample_command(argv[1:])
        elif argv[0] == "data":
            data_command(argv[1:])
        elif argv[0] == "evaluate":
            evaluate_command(argv[1:])
        elif argv[0] == "report":
            report_command(argv[1:])
        elif argv[0] == "configs":
            configs_parser().parse_args(argv[1:])
            print(configs_listing())
        else:
            argv = resolve_config_args(argv)  # --config NAME: a local file, else the shipped config
            from lightgen.lightning_cli import run_lightning_cli

            if args is None:  # LightningCLI reads sys.argv itself (and DDP's launcher re-runs it)
                sys.argv[1:] = argv
            run_lightning_cli(None if args is None else argv)
    except Exception as exc:
        err = user_error(exc)
        if err is None:
            raise
        print(f"lightgen: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
