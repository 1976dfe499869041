"""InfoGAN's categorical code as an MNIST digit classifier, beside the paper's 5% error (Chen et al. 2016, sec. 7.1).

Trains :class:`~lightgen.models.InfoGAN` with the settings of configs/infogan.yaml (62 noise variables, a 10-way
categorical and two U(-1, 1) codes, Adam 2e-4 for D and Q, 1e-3 for G, lambda 1, batch 128) within a wall-clock
budget (``--minutes``) or a count of generator steps (``--max-g-steps``; the authors' run made 5,000), or
loads ``--ckpt``. Q's most probable category on each MNIST test image (D in eval mode) is matched one to one to
the digits (Hungarian method on the 10x10 counts, :func:`lightgen.metrics.code_accuracy.matched_accuracy`) and
the accuracy printed with its budget. Several ``--seeds``: mean and standard error over them.
``--picture`` saves fig. 2(a) of the first seed: one row per category, ordered by the digit it was matched to.

    nice -n 10 .venv/bin/python tools/bench/infogan_accuracy.py --minutes 10 --picture docs/img/infogan_categories.png
    .venv/bin/python tools/bench/infogan_accuracy.py --ckpt runs/infogan/version_0/checkpoints/last.ckpt
    .venv/bin/python tools/bench/infogan_accuracy.py --seeds 0,1,2 --max-g-steps 5000     # on a GPU
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from common import bench_trainer, mean_se  # noqa: E402  (tools/bench is on sys.path)
from PIL import Image

from lightgen.callbacks.infogan_pictures import code_pictures
from lightgen.checkpoint import load_model
from lightgen.data.mnist import MNIST
from lightgen.metrics.code_accuracy import MatchedAccuracy, matched_accuracy
from lightgen.models import InfoGAN

PAPER_ACCURACY = 0.95  # "5% error", sec. 7.1


def datamodule(args: argparse.Namespace, seed: int) -> MNIST:
    dm = MNIST(root=args.root, dataset="mnist", value_range=(-1.0, 1.0), batch_size=args.batch_size, seed=seed)
    dm.setup("fit")
    return dm


def train(args: argparse.Namespace, seed: int) -> tuple[InfoGAN, dict[str, Any]]:
    """One InfoGAN trained from ``seed`` until the time budget or the step count runs out."""
    L.seed_everything(seed, verbose=False)
    model = InfoGAN((1, 28, 28), max_generator_steps=args.max_g_steps)
    accelerator = "gpu" if args.device == "cuda" else "cpu"
    trainer = bench_trainer(accelerator=accelerator, max_time={"seconds": int(args.minutes * 60)})
    start = time.perf_counter()
    trainer.fit(model, datamodule=datamodule(args, seed))
    seconds = time.perf_counter() - start
    if args.save_ckpt:
        trainer.save_checkpoint(Path(args.save_ckpt).with_suffix(f".seed{seed}.ckpt"))
    budget = {
        "train_seconds": round(seconds, 1),
        "generator_steps": model.generator_steps,
        "batches": model.batches_seen,
        "epochs": round(model.batches_seen * args.batch_size / 55000, 2),  # 60k minus the 5k validation split
        "device": args.device,
        "threads": torch.get_num_threads(),
    }
    return model, budget


@torch.no_grad()
def categorical_accuracy(model: InfoGAN, dm: MNIST, batch_size: int = 500) -> MatchedAccuracy:
    """argmax_k Q(c1 = k | x) on every test image, matched one to one to the digits."""
    clusters, labels = [], []
    for x, y in torch.utils.data.DataLoader(dm.test_set, batch_size=batch_size, shuffle=False):
        logits, _ = model.infer_codes(x)
        clusters.append(logits.argmax(1).cpu())
        labels.append(y)
    return matched_accuracy(torch.cat(clusters), torch.cat(labels), model.num_categories, 10)


def save_category_picture(model: InfoGAN, result: MatchedAccuracy, path: str) -> None:
    """Fig. 2(a): rows = categories ordered by their matched digit (unmatched ones last), columns = noise."""
    by_digit = sorted(result.mapping, key=lambda k: result.mapping[k])
    order = by_digit + [k for k in range(model.num_categories) if k not in result.mapping]
    grid = code_pictures(model, columns=10, seed=0, row_categories=order)["infogan_categories"]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pixels = grid[0].mul(255).round().clamp(0, 255).to(torch.uint8).numpy()  # grey: the three channels are equal
    Image.fromarray(pixels).save(path, optimize=True)  # 2-D uint8: mode "L"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", default=None, help="score this checkpoint instead of training")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock training budget per seed")
    parser.add_argument("--max-g-steps", type=int, default=5000, help="generator steps per seed (authors: 5,000)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (CPU)")
    parser.add_argument("--root", default=None, help="data root (default $LIGHTGEN_DATA or data/)")
    parser.add_argument("--picture", default=None, help="PNG of the categories picture (first seed)")
    parser.add_argument("--save-ckpt", default=None, help="save each trained model as <path>.seed<N>.ckpt")
    parser.add_argument("--out", default=None, help="JSON of the results")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    rows: list[dict[str, Any]] = []
    runs = [("ckpt", None)] if args.ckpt else [("seed", int(s)) for s in args.seeds.split(",")]
    for kind, seed in runs:
        if kind == "ckpt":
            model = load_model(args.ckpt).to(args.device)
            budget: dict[str, Any] = {"checkpoint": args.ckpt, "generator_steps": model.generator_steps}
            dm = datamodule(args, 0)
        else:
            model, budget = train(args, seed)
            dm = datamodule(args, seed)
        result = categorical_accuracy(model, dm)
        row = {"seed": seed, "accuracy": result.accuracy, "error": result.error, "mapping": result.mapping, **budget}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.picture and len(rows) == 1:
            save_category_picture(model, result, args.picture)
            print(f"wrote {args.picture}")
    accuracies = [r["accuracy"] for r in rows]
    mean, se = mean_se(accuracies)
    spread = f" ± {se:.4f} (standard error over {len(rows)} seeds)" if len(rows) > 1 else ""
    print(
        f"InfoGAN categorical code as an MNIST classifier (10k test images, Hungarian-matched): accuracy "
        f"{mean:.4f}{spread}, error {1 - mean:.4f}; paper: {PAPER_ACCURACY:.2f} (5% error); budget: "
        + "; ".join(f"{r.get('train_seconds', '-')} s, {r['generator_steps']} G steps" for r in rows)
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        summary = {"accuracy_mean": mean, "accuracy_se": se, "paper_accuracy": PAPER_ACCURACY}
        Path(args.out).write_text(json.dumps({"config": vars(args), "rows": rows, **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
