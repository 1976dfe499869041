"""Argument parsers, help text and static name lists of the ``lightgen`` command.

Importable without torch, lightning, wandb or torchmetrics: ``lightgen --help``, ``lightgen sample
--help``, ``lightgen data prepare --help``, ``lightgen evaluate --help`` and their argument errors are
answered from here before anything heavy is imported. Names that the heavy modules own are kept here
statically and checked against them by tests/test_startup.py:

- model and datamodule short names: the ``__all__`` of ``lightgen/models/__init__.py`` and
  ``lightgen/data/__init__.py``, read with :mod:`ast` (the registry is what those files import).

The names of ``lightgen data prepare`` come from :mod:`lightgen.preparers`, the registry itself, which is
stdlib-only and so needs no static copy.
"""

from __future__ import annotations

import argparse
import ast
import textwrap
from pathlib import Path

from lightgen import __version__
from lightgen.errors import LightgenError
from lightgen.preparers import PREPARER_NAMES  # the registry's sorted keys (stdlib only: light)

LIGHTNING_COMMANDS = {
    "fit": "train a model (`lightgen fit --help` lists every option; --config dcgan: a shipped config by name)",
    "validate": "run the validation loop of a model or a checkpoint (--ckpt_path)",
    "test": "held-out metrics of a model or a checkpoint, in a run folder of its own (--ckpt_path)",
    "predict": "run the predict loop of a model or a checkpoint (--ckpt_path)",
}
EXTRA_COMMANDS = {
    "sample": "write a grid of samples from a checkpoint",
    "data": "prepare datasets (`lightgen data prepare mnist`)",
    "evaluate": "metrics of a checkpoint (FID, KID, P/R, NLL, memorisation...) with a JSON report",
    "report": "one self-contained HTML page of a run: config, curves, samples, metrics (`lightgen report RUN_DIR`)",
    "configs": "list the shipped configs (`lightgen fit --config NAME`) with their one-line descriptions",
}
RESIZES = ("tf", "clean")  # --resize of `lightgen evaluate` (lightgen.metrics.fidelity.RESIZE_RULES)

METRICS = {
    "fid": "Fréchet Inception distance (Heusel et al. 2017)",
    "kid": "kernel Inception distance with std (Binkowski et al. 2018)",
    "prc": "precision / recall (Kynkäänniemi et al. 2019), in Inception pool3 features (the paper: VGG-16 fc2)",
    "is": "Inception score (needs Inception's classifier head)",
    "cfid": "Fréchet distance in the domain classifier's penultimate features (MNIST-like data)",
    "modes": "per-class counts via the domain classifier: modes hit, KL from uniform (conditional models, "
    "with cfid too: class_accuracy, the samples of class k classified as k); on toy 2-D mixtures: modes hit, "
    "high-quality share, reverse KL",
    "nn": "nearest-neighbour memorisation check (pixels and features) with a PNG",
    "ll": "exact NLL, or ELBO and importance-sampled log p(x), in nats and bits/dim",
    "parzen": "Parzen-window estimate (models without a likelihood; see Theis et al. 2016)",
    "l1": "image-to-image models: mean |output - target| in [0, 1], beside the identity / bicubic baseline",
    "psnr": "image-to-image models: PSNR on the Y channel, scale pixels of border cropped (SR protocol), with baseline",
    "ssim": "image-to-image models: SSIM on Y (Gaussian 11, sigma 1.5), scale pixels of border cropped, with baseline",
    "correspondence": "image-to-image models: the domain classifier's accuracy on translations vs the source's label "
    "(MNIST/Fashion-MNIST defaults), with ceiling (targets) and identity (sources)",
    "nll_oracle": "sequence models: the synthetic oracle's per-token NLL of the model's samples (SeqGAN, sec. 4)",
    "nll_test": "sequence models: the model's per-token NLL of the held-out sequences of --split",
    "matching": "text-to-image models: the project's text-image matching model's cosine score of each generated "
    "image with its caption, beside real (ceiling) and mismatched (floor) pairs",
}


def static_short_names(package: str) -> list[str]:
    """The short names that ``lightgen/<package>/__init__.py`` registers, from its ``__all__`` read with
    :mod:`ast` (no import): the same rule as the CLI's registry, which leaves out ``Generative*`` bases."""
    path = Path(__file__).resolve().parent / package / "__init__.py"
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            names = ast.literal_eval(node.value)
            return sorted(n for n in names if not n.startswith("Generative"))
    raise LookupError(f"{path} has no __all__")


def top_level_parser() -> argparse.ArgumentParser:
    """The parser whose help ``lightgen --help`` prints (the Lightning commands are parsed by LightningCLI)."""
    try:
        models, datamodules = ", ".join(static_short_names("models")), ", ".join(static_short_names("data"))
    except (OSError, SyntaxError, ValueError, LookupError):  # an installation without the sources
        models = datamodules = "see `lightgen fit --help`"
    parser = argparse.ArgumentParser(
        prog="lightgen",
        description=f"lightgen {__version__}: deep generative models on PyTorch Lightning.",
        epilog="\n".join(
            [
                textwrap.fill(f"models (--model=NAME): {models}", 100, subsequent_indent="  "),
                textwrap.fill(f"datamodules (--data=NAME): {datamodules}", 100, subsequent_indent="  "),
                "",
                "`lightgen COMMAND --help` lists the options of one command. Options before fit/validate/test/",
                "predict (e.g. --config, --print_config) go to LightningCLI. --verbose (any command; or",
                "LIGHTGEN_VERBOSE=1) shows every library message, including the noise left out by default.",
            ]
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, text in {**LIGHTNING_COMMANDS, **EXTRA_COMMANDS}.items():
        sub.add_parser(name, help=text)
    return parser


def sample_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lightgen sample", description=EXTRA_COMMANDS["sample"])
    parser.add_argument("--ckpt", required=True, help="a lightgen checkpoint (.ckpt)")
    parser.add_argument("--num", type=int, default=64, help="number of samples")
    parser.add_argument("--out", default="samples.png", help="PNG file to write (.txt: a sequence model's samples)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples")
    parser.add_argument("--nrow", type=int, default=8, help="images per row (a class grid: samples per class)")
    parser.add_argument("--device", default="cpu", help="torch device to sample on")
    parser.add_argument("--label", type=int, default=None, help="conditional models: --num samples of this class")
    parser.add_argument(
        "--caption",
        action="append",
        default=None,
        help='text-to-image models (StackGAN): a caption, e.g. --caption "a dark pair of trousers"; repeat for more; '
        "a captioned grid of --nrow samples each",
    )
    parser.add_argument(
        "--class-grid",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="conditional models: one row of --nrow samples per class (their default; --no-class-grid: --num "
        "samples of labels drawn uniformly)",
    )
    return parser


def configs_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="lightgen configs",
        description=EXTRA_COMMANDS["configs"] + "; a file of that name in the working directory wins.",
    )


def data_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lightgen data", description=EXTRA_COMMANDS["data"])
    sub = parser.add_subparsers(dest="action", required=True)
    prep = sub.add_parser("prepare", help="download or copy a dataset into the data root, verified")
    prep.add_argument("name", help=f"one of {list(PREPARER_NAMES)}")
    prep.add_argument("--root", default=None, help="data root (default $LIGHTGEN_DATA or data/)")
    return parser


def check_preparer_name(name: str) -> None:
    """The one-line error of ``lightgen data prepare`` for an unknown dataset (as lightgen.preparers gives)."""
    if name not in PREPARER_NAMES:
        raise LightgenError(
            f"unknown dataset {name!r} for `lightgen data prepare`; expected one of {sorted(PREPARER_NAMES)}"
        )


def parse_metrics(text: str) -> list[str]:
    names = [m.strip().lower() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise LightgenError(f"unknown metric(s) {unknown or text!r}; choose from {','.join(METRICS)}")
    return list(dict.fromkeys(names))


def evaluate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lightgen evaluate",
        description="evaluate a checkpoint: " + "; ".join(f"{k}: {v}" for k, v in METRICS.items()),
    )
    p.add_argument("--ckpt", required=True, help="a lightgen checkpoint (.ckpt)")
    p.add_argument("--metrics", default="fid,kid,prc", help=f"comma-separated, from {','.join(METRICS)}")
    p.add_argument(
        "--num-samples",
        type=int,
        default=None,
        help="generated samples for fid/kid/prc/cfid/modes (default 10000; 2500 on toy 2-D mixtures)",
    )
    p.add_argument("--num-real", type=int, default=None, help="real images (default: as many as --num-samples)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"), help="real split to compare with")
    p.add_argument(
        "--data-root", default=None, help="data root (default: the checkpoint's, else $LIGHTGEN_DATA or data/)"
    )
    p.add_argument("--batch-size", type=int, default=100, help="samples per batch")
    p.add_argument("--seed", type=int, default=0, help="seed of batch 0 of the samples (batch i: seed + i)")
    p.add_argument("--device", default="auto", help="torch device (auto: cuda if available)")
    p.add_argument(
        "--inception-weights",
        default=None,
        help="torch-fidelity Inception weights file, or 'download' for torch-fidelity's own "
        "(default: the offline ones prepared under the data root)",
    )
    p.add_argument(
        "--resize",
        default="tf",
        help="resize to Inception's 299x299: 'tf' (torch-fidelity's TF1-compatible bilinear, as the original FID "
        "code and most published FIDs) or 'clean' (clean-fid's antialiased PIL bicubic, Parmar et al. 2022)",
    )
    p.add_argument("--classifier", default=None, help="domain classifier file (default: prepared under the data root)")
    p.add_argument("--ll-k", type=int, default=5000, help="importance samples per example for VAEs (IWAE: 5000)")
    p.add_argument("--ll-num", type=int, default=None, help="test examples for ll (default: the whole split)")
    p.add_argument("--nn-num", type=int, default=1000, help="generated samples (and test images) for the nn check")
    p.add_argument(
        "--nn-png", default=None, help="PNG of samples and their 5 nearest training images (default: beside --out)"
    )
    p.add_argument("--parzen-samples", type=int, default=10000, help="samples of the Parzen window")
    p.add_argument("--parzen-val", type=int, default=1000, help="validation images for the bandwidth")
    p.add_argument("--parzen-test", type=int, default=1000, help="test images scored")
    p.add_argument("--no-cache", action="store_true", help="recompute real-set features")
    p.add_argument("--out", default="report.json", help="JSON report to write")
    p.add_argument(
        "--html",
        action="store_true",
        help="also write the run's report page (lightgen report) beside the JSON, as <out>.html",
    )
    return p


def report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lightgen report",
        description="Write one self-contained HTML page of a training run (images embedded, no network): the "
        "resolved config, curves from its logs (CSV, TensorBoard, wandb offline), the sample grids over training, "
        "VAE pictures, the latest evaluation report with its protocol cards, the nearest-neighbour picture.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (runs/<name>/version_N; runs/<name>: the latest)")
    p.add_argument("--out", default=None, help="HTML file to write (default: RUN_DIR/report.html)")
    p.add_argument(
        "--eval",
        action="append",
        default=[],
        metavar="REPORT.json",
        help="an evaluation report of this run (repeatable; also found: JSON reports in the run folder, and in "
        "./ and ./outputs/ when their checkpoint is in the run folder)",
    )
    return p
