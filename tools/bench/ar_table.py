"""Autoregressive models on binarized MNIST at a small CPU budget, beside the published test NLLs.

Each model of ``configs/{fvbn,narn,nade,made,pixelcnn}.yaml`` (their ``model.init_args``, with the
overrides in ``BENCH_OVERRIDES`` printed in the output) is trained with the training rule of
:class:`lightgen.models.AutoregressiveModel` (Adam on the mean exact ``-log p(x)``, MADE one mask
per step), batch 100, on the same batches (same order, same dynamic binarization draws) for every
model, until ``--minutes`` of training or ``--max_epochs`` epochs, whichever comes first. Then the
exact test NLL (nats, mean per image; MADE: the ensemble of its masks) on the first ``--test_n``
test images, binarized once with the datamodule's seeded draw.

Binarization: the published figures (FVSBN 97.45, NADE 88.33, MADE 86.64, PixelCNN 81.30) used
the fixed stochastic binarization of Larochelle & Murray (2011), one published Bernoulli draw that
is not available offline. Here: dynamic binarization (a fresh Bernoulli(intensity) draw each
training use; the test set one seeded Bernoulli draw), the nearest protocol: the test images are
samples from the same Bernoulli(intensity) as the fixed set. Thresholding at 0.5 would give a
different, easier dataset whose NLL is not comparable.

Also timed: NADE's one-pass NLL against the naive per-conditional loop (ratio), and sampling
(NADE with its cached running activations against a full pass per variable, and every model's
samples per second). Sample grids go to ``--grids``.

    nice -n 10 .venv/bin/python tools/bench/ar_table.py --minutes 3.5 --out /tmp/ar.json \
        --md /tmp/ar.md --grids /tmp/ar_grids
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import yaml
from torchvision.utils import save_image

import lightgen.models as models
from lightgen.data.mnist import MNIST
from lightgen.losses.likelihood import nll_terms
from lightgen.models.autoregressive import AutoregressiveModel

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("fvbn", "narn", "nade", "made", "pixelcnn")
#: published test NLL (nats) on fixed-binarization MNIST; None: no MNIST figure in the paper
PAPER = {  # as quoted in the project's DESIGN.md (fixed binarization), not re-verified here
    "fvbn": (97.45, "FVSBN"),
    "narn": (None, "no MNIST figure"),
    "nade": (88.33, "NADE, H = 500"),
    "made": (86.64, "MADE, 2 x 500, 32 masks"),
    "pixelcnn": (81.30, "PixelCNN"),
}
#: smaller than the config where a CPU minute would give too few steps (stated in the output)
BENCH_OVERRIDES = {"pixelcnn": {"channels": 32, "num_layers": 5}}


def build(name: str, lr: float | None = None) -> tuple[AutoregressiveModel, dict]:
    """The model of configs/<name>.yaml (with BENCH_OVERRIDES, and ``lr`` if given) on (1, 28, 28),
    and its init args."""
    spec = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())["model"]
    kwargs = {k: v for k, v in spec.get("init_args", {}).items() if k != "optimizer"}
    kwargs.update(BENCH_OVERRIDES.get(name, {}))
    if lr is not None:
        kwargs["lr"] = lr
    cls = getattr(models, spec["class_path"].rsplit(".", 1)[1])
    return cls(data_shape=(1, 28, 28), **kwargs), kwargs


def train(
    model: AutoregressiveModel, images: torch.Tensor, args: argparse.Namespace, minutes: float, max_steps: int | None
) -> dict[str, float]:
    """Adam on the exact NLL, batches of dynamically binarized intensities ``images (N, 1, 28, 28)``,
    for ``max_steps`` steps if given, else until ``minutes`` of training or ``args.max_epochs``."""
    opt = model.configure_optimizers()
    model.stream_seed = args.seed  # MADE's per-step mask draw
    model.train()
    steps, start, last = 0, time.perf_counter(), float("nan")
    budget = minutes * 60.0 if max_steps is None else float("inf")
    per_epoch = len(images) // args.batch
    for epoch in range(args.max_epochs):
        gen = torch.Generator().manual_seed(args.seed + epoch)  # same batches and bits for every model
        perm = torch.randperm(len(images), generator=gen)
        for i in range(per_epoch):
            x = torch.bernoulli(images[perm[i * args.batch : (i + 1) * args.batch]], generator=gen)
            if isinstance(model, models.MADE):  # no trainer here: key the mask draw by our own step count
                log_px = model.mask_log_prob(x, model.training_mask(steps))
            else:
                log_px = model.training_log_prob(x)
            loss = nll_terms(log_px, model.num_dims)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            last = float(loss.detach())
            if time.perf_counter() - start > budget or steps == max_steps:
                break
        else:
            continue
        break
    seconds = time.perf_counter() - start
    return {"steps": steps, "epochs": steps / per_epoch, "train_seconds": seconds, "last_train_nll": last}


@torch.no_grad()
def test_nll(model: AutoregressiveModel, x: torch.Tensor) -> dict[str, float]:
    """Exact mean test NLL in nats and bits/dim (MADE: mask ensemble, and its first mask alone)."""
    model.eval()
    start = time.perf_counter()
    nll = -torch.cat([model.log_prob(xb) for xb in x.split(500)]).mean().item()
    out = {"test_nll": nll, "test_bpd": nll / (model.num_dims * 0.6931471805599453)}
    out["eval_seconds"] = time.perf_counter() - start
    if isinstance(model, models.MADE):
        out["test_nll_one_mask"] = -torch.cat([model.mask_log_prob(xb, 0) for xb in x.split(500)]).mean().item()
    return out


def timed(fn, repeat: int = 1) -> float:  # noqa: ANN001
    """Best wall time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@torch.no_grad()
def nade_timings(model: models.NADE, x: torch.Tensor, n_sample: int) -> dict[str, float]:
    """One-pass vs naive-loop NLL on ``x``, and cached vs uncached sampling of ``n_sample`` images."""
    model.eval()
    xf = model.flat(x)
    fast, slow = model.conditionals(xf), model.conditionals_naive(xf)
    one_pass = timed(lambda: model.conditionals(xf), 3)
    naive = timed(lambda: model.conditionals_naive(xf))
    cached = timed(lambda: model.sample(n_sample, seed=0))
    uncached = timed(lambda: model.sample_uncached(n_sample, seed=0))
    return {
        "images": len(x),
        "one_pass_s": one_pass,
        "naive_s": naive,
        "nll_ratio": naive / one_pass,
        "max_abs_diff": float((fast - slow).abs().max()),
        "sample_n": n_sample,
        "sample_cached_s": cached,
        "sample_uncached_s": uncached,
        "sample_ratio": uncached / cached,
    }


def markdown(rows: dict[str, dict], nade: dict, args: argparse.Namespace) -> str:
    lines = [
        "| model | bench settings | budget | steps (epochs) | test NLL, nats (ours) | bits/dim "
        "| published NLL (fixed bin.) | samples/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        paper, source = PAPER[name]
        settings = ", ".join(f"{k}={v}" for k, v in r["kwargs"].items() if k not in ("distribution",))
        extra = f" (one mask: {r['test_nll_one_mask']:.2f})" if "test_nll_one_mask" in r else ""
        lines.append(
            f"| {name} | {settings} | {r['budget']} | {r['steps']} ({r['epochs']:.2f}) | {r['test_nll']:.2f}{extra} | "
            f"{r['test_bpd']:.4f} | {'-' if paper is None else f'{paper:.2f}'} ({source}) | "
            f"{r['samples_per_s']:.2f} |"
        )
    lines += [
        "",
        f"Batch {args.batch}, Adam, {args.threads} CPU thread(s); budget per model as stated (training wall time "
        f"or steps, at most {args.max_epochs} epochs); test NLL on the first {args.test_n} test images; "
        "dynamic binarization.",
        "",
        f"NADE one-pass NLL vs the naive per-conditional loop ({nade['images']} images, H = "
        f"{rows['nade']['kwargs'].get('hidden')}): {nade['one_pass_s'] * 1e3:.1f} ms vs "
        f"{nade['naive_s'] * 1e3:.1f} ms, ratio {nade['nll_ratio']:.1f}x (max |diff| of the logits "
        f"{nade['max_abs_diff']:.1e}). NADE sampling of {nade['sample_n']} images: cached running "
        f"activations {nade['sample_cached_s']:.2f} s vs a full pass per variable {nade['sample_uncached_s']:.2f} s, "
        f"ratio {nade['sample_ratio']:.1f}x.",
    ]
    return "\n".join(lines)


def per_model(spec: str) -> dict[str, float]:
    """ "nade=10,pixelcnn=6" -> {"nade": 10.0, "pixelcnn": 6.0}."""
    return {k: float(v) for k, v in (item.split("=") for item in spec.split(",") if item)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(ROOT / "data"))
    parser.add_argument("--models", default=",".join(NAMES))
    parser.add_argument("--minutes", type=float, default=3.5, help="training minutes per model")
    parser.add_argument("--minutes_for", default="", help="per-model minutes, e.g. nade=10,pixelcnn=6")
    parser.add_argument("--lr", default="", help="per-model learning rates instead of the config's, e.g. nade=3e-3")
    parser.add_argument("--merge", default=None, help="JSON of an earlier run: keep its rows for models not run now")
    parser.add_argument("--max_epochs", type=int, default=50)
    parser.add_argument(
        "--steps", default="", help="fixed steps per model instead of a time budget, e.g. fvbn=3000,nade=200"
    )
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--test_n", type=int, default=10000)
    parser.add_argument("--sample_n", type=int, default=16, help="samples per grid (and per speed figure)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="JSON results")
    parser.add_argument("--md", default=None, help="markdown table")
    parser.add_argument("--grids", default=None, help="folder for the sample grids")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dm = MNIST(root=args.root, value_range=(0.0, 1.0), binarize="dynamic", batch_size=args.batch)
    dm.setup("fit")
    images = dm.train_set.images.float() / 255.0  # intensities; bits drawn per batch
    test_x = dm.test_set.images[: args.test_n].float() / 255.0  # one seeded Bernoulli draw, {0, 1}
    fixed_steps = {k: int(v) for k, v in per_model(args.steps).items()}
    minutes_for, lrs = per_model(args.minutes_for), per_model(args.lr)
    rows: dict[str, dict] = {}
    nade: dict = {}
    if args.merge:
        earlier = json.loads(Path(args.merge).read_text())
        rows = {k: v for k, v in earlier["rows"].items() if k not in args.models.split(",")}
        nade = earlier["nade"] if "nade" not in args.models.split(",") else {}
        for row in rows.values():
            row.setdefault("budget", f"{earlier['args']['minutes']:g} min")
    for name in args.models.split(","):
        torch.manual_seed(args.seed)
        model, kwargs = build(name, lrs.get(name))
        minutes = minutes_for.get(name, args.minutes)
        budget = f"{fixed_steps[name]} steps" if name in fixed_steps else f"{minutes:g} min"
        trained = train(model, images, args, minutes, fixed_steps.get(name))
        row = {"kwargs": kwargs, "budget": budget, **trained, **test_nll(model, test_x)}
        start = time.perf_counter()
        grid = model.sample(args.sample_n, seed=0)
        row["samples_per_s"] = args.sample_n / (time.perf_counter() - start)
        if args.grids:
            Path(args.grids).mkdir(parents=True, exist_ok=True)
            save_image(grid, Path(args.grids) / f"{name}.png", nrow=4, padding=1)
        if name == "nade":
            nade = nade_timings(model, test_x[:20], args.sample_n)
        rows[name] = row
        print(name, json.dumps({k: v for k, v in row.items() if k != "kwargs"}), flush=True)
    if nade:
        print("nade_timings", json.dumps(nade), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows, "nade": nade, "args": vars(args)}, indent=1))
    if nade and set(rows) == set(NAMES):
        table = markdown({name: rows[name] for name in NAMES}, nade, args)
        print(table)
        if args.md:
            Path(args.md).write_text(table + "\n")


if __name__ == "__main__":
    main()
