"""``lightgen evaluate``: every metric of a checkpoint, with its protocol, as a table and a JSON report.

    lightgen evaluate --ckpt runs/dcgan/version_0/checkpoints/last.ckpt --metrics fid,kid,prc,cfid,modes,nn \
        --num-samples 10000 --out report.json

The model is rebuilt from the checkpoint (generator EMA weights when the checkpoint carries them: an
``ema`` entry holding a state dict, or a callback state named ``*EMA*`` with a ``state_dict``), the
real data from the checkpoint's datamodule hyper-parameters (class and init args; ``--data-root``
overrides the root). Samples are drawn in batches (seed ``--seed + i`` for batch i), each batch passes
through every feature space that a requested metric needs and is then dropped; the first batch is
timed and the estimated time of the run printed. Real-set features are cached under ``<data
root>/eval_cache`` per (images selected: the datamodule's class, seed, split sizes, folder, image size,
binarization, value range; split, count, feature space, weights, resize rule).

Metrics (see docs/evaluation.md): fid, kid, prc (Inception pool3, ``--resize tf`` or ``clean``; Heusel
2017, Binkowski 2018, Kynkäänniemi 2019, whose P/R used VGG-16 fc2 features), is (refused: the offline
Inception weights have no classifier head), cfid and modes (MNIST-like data: the domain classifier; a
conditional model also gets ``class_accuracy``, per class; toy 2-D mixtures: modes hit within 3 std,
high-quality share and reverse KL against the datamodule's ``mode_centers``, 2,500 samples by default),
nn (memorisation), ll (exact NLL, or ELBO + importance-sampled log p(x)), parzen (Parzen window, for
models without a likelihood; Theis et al. 2016 warning).

Image-to-image models (``translate`` and ``source_shape``: pix2pix, CycleGAN, SRGAN) are scored on the
translations of the split's sources against their targets, each number beside the bicubic (scale > 1)
or identity baseline (:mod:`lightgen.metrics.translation`): l1, psnr and ssim (Y channel, ``scale``
pixels of border cropped), fid/kid/prc/cfid against the real targets, correspondence (the domain
classifier's accuracy against the source's label; MNIST/Fashion-MNIST defaults); both directions of a
CycleGAN (``_ab``, ``_ba``).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from lightgen.checkpoint import load_checkpoint, load_model
from lightgen.commands import METRICS, RESIZES, parse_metrics  # noqa: F401  (kept light for `lightgen evaluate --help`)
from lightgen.commands import evaluate_parser as build_parser
from lightgen.errors import LightgenError
from lightgen.metrics.options import EvaluationOptions
from lightgen.metrics.report import Report, software_versions

INCEPTION_METRICS = {"fid", "kid", "prc", "is"}
CLASSIFIER_METRICS = {"cfid", "modes"}
CLASSIFIER_DATASETS = ("mnist", "fashion-mnist")


# ------------------------------------------------------------------ checkpoint -> model, data
def load_ema(model: torch.nn.Module, checkpoint: dict[str, Any]) -> str:
    """Load generator EMA weights into ``model`` when the checkpoint holds them; returns "ema" or "raw"."""
    candidates = [checkpoint.get("ema")]
    for name, state in (checkpoint.get("callbacks") or {}).items():
        if "ema" in str(name).lower() and isinstance(state, dict):
            candidates.append(state.get("state_dict", state.get("ema_state_dict")))
    for state in candidates:
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if isinstance(state, dict) and state and all(isinstance(v, torch.Tensor) for v in state.values()):
            own = model.state_dict()
            matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
            if matched:
                model.load_state_dict(matched, strict=False)
                return "ema"
    return "raw"


def build_datamodule(checkpoint: dict[str, Any], data_root: str | None) -> Any:
    hp = dict(checkpoint.get("datamodule_hyper_parameters") or {})
    class_path = hp.pop("_class_path", None)
    if not class_path:
        raise LightgenError(
            "the checkpoint stores no datamodule hyper-parameters, so the real data cannot be rebuilt; "
            "train with `lightgen fit`"
        )
    module_name, _, name = str(class_path).rpartition(".")
    if not module_name.startswith("lightgen."):
        raise LightgenError(f"checkpoint names datamodule {class_path!r}, which is not lightgen's")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise LightgenError(f"checkpoint names datamodule {class_path!r}, which does not exist") from None
    args = {k: v for k, v in hp.items() if not k.startswith("_")}
    if data_root is not None:
        args["root"] = data_root
    if "value_range" in args and isinstance(args["value_range"], list):
        args["value_range"] = tuple(args["value_range"])
    return cls(**args)


def resolve_device(name: str, auto: bool = True) -> torch.device:
    """``--device name`` as a torch device ("auto": cuda if available), or a one-line LightgenError."""
    if auto and name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        expected = "auto, cpu, cuda or cuda:N" if auto else "cpu, cuda or cuda:N"
        raise LightgenError(f"--device {name!r} is not a torch device; expected {expected}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise LightgenError(f"--device {name}: CUDA is not available here; use --device cpu")
    return device


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """``task(description, total)`` -> ``advance(k)``, on a rich progress bar."""
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    except ImportError:
        enabled = False
    if not enabled:
        yield lambda desc, total: lambda k: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as prog:

        def task(desc: str, total: int) -> Callable[[int], None]:
            tid = prog.add_task(desc, total=total)
            return lambda k: prog.advance(tid, k)

        yield task


# ------------------------------------------------------------------ the command
def evaluate(ns: argparse.Namespace, progress: bool = True) -> Report:
    """Run the evaluation described by parsed arguments ``ns``; returns the report (also written to --out)."""
    from lightgen.metrics.runner import Evaluation  # the metric runs; split out to keep files small

    # every value typed and checked (one line naming the flag); the metrics layer takes no argparse
    options = EvaluationOptions.from_namespace(ns)
    for flag, value, example in (("--out", ns.out, "report.json"), ("--nn-png", getattr(ns, "nn_png", None), "nn.png")):
        if value is not None and Path(value).is_dir():  # refused now, not after the whole evaluation
            raise LightgenError(f"{flag} {value} is a folder; expected a file name such as {Path(value) / example}")
    device = resolve_device(ns.device)  # a bad --device is refused before the checkpoint is read
    checkpoint = load_checkpoint(ns.ckpt)
    model = load_model(ns.ckpt)
    weights = load_ema(model, checkpoint)
    if weights == "raw":  # a GAN trained with ema_decay samples with its own generator_ema
        weights = getattr(model, "sampling_weights", "raw")
    model = model.to(device).eval()
    dm = build_datamodule(checkpoint, ns.data_root)
    meta = checkpoint.get("lightgen", {})
    common = {
        "checkpoint": str(ns.ckpt),
        "checkpoint_step": {
            "global_step": int(checkpoint.get("global_step", 0)),
            "epoch": int(checkpoint.get("epoch", 0)),
            **{k: v for k, v in (meta.get("loop") or {}).items()},
        },
        "generator_weights": weights,
        "model_class": meta.get("class_path", type(model).__name__),
        "datamodule": {
            k: v
            for k, v in (checkpoint.get("datamodule_hyper_parameters") or {}).items()
            if not str(k).startswith("_instantiator")
        },
        "seeds": {
            "samples": ns.seed,
            "sample_batches": f"batch i drawn with seed {ns.seed} + i",
            "kid_subsets": ns.seed,
        },
        "software": software_versions(),
        "device": str(device),
    }
    report = Report(str(ns.ckpt), type(model).__name__, common)
    with progress_bar(progress) as task:
        Evaluation(options, model, dm, report, task, device).run()
    out = report.write_json(ns.out)
    report.print_table()
    print(f"wrote report to {out}")
    if getattr(ns, "html", False):  # the run's page beside the JSON (lightgen.report imports nothing heavy)
        from lightgen.report import write_report
        from lightgen.report.artifacts import run_dir_of_checkpoint

        html = out.with_suffix(".html") if out.suffix != ".html" else out.with_name(out.stem + "_page.html")
        page = write_report(run_dir_of_checkpoint(ns.ckpt), html, [out], require_run=False)
        print(f"wrote the run report {page} (open it in a browser)")
    return report


def evaluate_command(argv: list[str]) -> Report:
    """``lightgen evaluate`` on ``argv`` (lightgen.cli.main parses first, then calls :func:`evaluate`)."""
    return evaluate(build_parser().parse_args(argv))
