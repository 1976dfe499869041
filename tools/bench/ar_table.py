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

Error bars: each test NLL is the mean of per-image NLLs, reported as ``mean ± SE`` (SE = std / sqrt(n));
the differences between models are paired (the same test images) and reported with the SE of the
per-image differences. ``--seeds 0,1`` trains and evaluates every model once per seed (initialisation,
batch order, binarization draws and MADE's mask draws keyed by the seed) and adds the seed mean with the
seed-to-seed standard deviation; the NADE timings are taken at the first seed only.

    nice -n 10 .venv/bin/python tools/bench/ar_table.py --minutes 3.5 --out /tmp/ar.json \
        --md /tmp/ar.md --grids /tmp/ar_grids
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch
import yaml
from torchvision.utils import save_image

import lightgen.models as models
from lightgen.data.mnist import MNIST
from lightgen.losses.likelihood import nll_terms
from lightgen.models.autoregressive import AutoregressiveModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from iwae_table import mean_se, paired_diff, parse_seeds, pm, seed_spread  # noqa: E402  (the shared error bars)

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
def test_nll(model: AutoregressiveModel, x: torch.Tensor) -> dict:
    """Exact mean test NLL in nats (with its SE over the images, and the per-image NLLs) and bits/dim
    (MADE: mask ensemble, and its first mask alone)."""
    model.eval()
    start = time.perf_counter()
    per_image = (-torch.cat([model.log_prob(xb) for xb in x.split(500)])).tolist()
    nll, se = mean_se(per_image)
    out = {"test_nll": nll, "test_nll_se": se, "test_bpd": nll / (model.num_dims * 0.6931471805599453)}
    out["nll_per_image"] = per_image
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


def nll_text(r: dict) -> str:
    """``"98.81 ± 0.27"`` from a row's per-image NLLs, or the bare mean for rows saved without them."""
    return pm(*mean_se(r["nll_per_image"])) if "nll_per_image" in r else f"{r['test_nll']:.2f}"


def paired_table(runs: dict[int, dict[str, dict]]) -> list[str]:
    """Markdown lines: every pair of models of one seed, the mean ± SE of their per-image NLL differences."""
    lines = [
        "Paired differences of test NLL (nats; negative: the first model is better), mean ± SE of the per-image "
        "differences on the same test images; ** marks |difference| > 2 SE:",
        "",
        "| seed | difference | NLL difference ± SE |",
        "|---|---|---|",
    ]
    for seed, rows in runs.items():
        names = [n for n in NAMES if n in rows and "nll_per_image" in rows[n]]
        for a, b in itertools.combinations(names, 2):
            d, se = paired_diff(rows[a]["nll_per_image"], rows[b]["nll_per_image"])
            lines.append(f"| {seed} | {a} - {b} | {pm(d, se)}{' **' if abs(d) > 2 * se else ''} |")
    return lines


def seed_table(runs: dict[int, dict[str, dict]]) -> list[str]:
    """Markdown lines: per model (and per pair), the mean over seeds ± the seed-to-seed standard deviation."""
    lines = [
        "Over seeds: mean of the per-seed test NLLs ± their standard deviation across seeds (the seed-to-seed "
        "spread, not an SE), and the same for the paired differences:",
        "",
        "| quantity | seeds | mean ± seed std | per seed |",
        "|---|---|---|---|",
    ]
    for name in NAMES:
        vals = [rows[name]["test_nll"] for rows in runs.values() if name in rows]
        if len(vals) > 1:
            per = ", ".join(f"{v:.2f}" for v in vals)
            lines.append(f"| NLL {name} | {len(vals)} | {pm(*seed_spread(vals))} | {per} |")
    for a, b in itertools.combinations(NAMES, 2):
        vals = [
            paired_diff(rows[a]["nll_per_image"], rows[b]["nll_per_image"])[0]
            for rows in runs.values()
            if a in rows and b in rows and "nll_per_image" in rows[a] and "nll_per_image" in rows[b]
        ]
        if len(vals) > 1:
            per = ", ".join(f"{v:+.2f}" for v in vals)
            lines.append(f"| {a} - {b} | {len(vals)} | {pm(*seed_spread(vals))} | {per} |")
    return lines


def markdown(runs: dict[int, dict[str, dict]], nade: dict, args: argparse.Namespace) -> str:
    """The per-seed table (NLL ± SE beside the published figures), the paired differences, the seed summary
    and the NADE timings, as markdown."""
    lines = [
        "| seed | model | bench settings | budget | steps (epochs) | test NLL ± SE, nats (ours) | bits/dim "
        "| published NLL (fixed bin.) | samples/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, rows in runs.items():
        for name, r in rows.items():
            paper, source = PAPER[name]
            settings = ", ".join(f"{k}={v}" for k, v in r["kwargs"].items() if k not in ("distribution",))
            extra = f" (one mask: {r['test_nll_one_mask']:.2f})" if "test_nll_one_mask" in r else ""
            lines.append(
                f"| {seed} | {name} | {settings} | {r['budget']} | {r['steps']} ({r['epochs']:.2f}) | "
                f"{nll_text(r)}{extra} | {r['test_bpd']:.4f} | {'-' if paper is None else f'{paper:.2f}'} "
                f"({source}) | {r['samples_per_s']:.2f} |"
            )
    lines += ["", *paired_table(runs)]
    if len(runs) > 1:
        lines += ["", *seed_table(runs)]
    lines += [
        "",
        f"Batch {args.batch}, Adam, {args.threads} CPU thread(s); budget per model as stated (training wall time "
        f"or steps, at most {args.max_epochs} epochs); test NLL on the first {args.test_n} test images, mean ± SE "
        "over the images; dynamic binarization.",
        "",
        f"NADE one-pass NLL vs the naive per-conditional loop ({nade['images']} images, H = "
        f"{next(iter(runs.values()))['nade']['kwargs'].get('hidden')}): {nade['one_pass_s'] * 1e3:.1f} ms vs "
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
    parser.add_argument("--seeds", default=None, help="comma-separated seeds, every model trained once per seed")
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
    seeds = parse_seeds(args.seeds) if args.seeds else [args.seed]
    wanted = args.models.split(",")
    runs: dict[int, dict[str, dict]] = {}
    nade: dict = {}
    if args.merge:  # the rows of models not run now, per seed ("rows" of an older single-seed JSON: its seed)
        earlier = json.loads(Path(args.merge).read_text())
        old_runs = earlier.get("runs") or {earlier["args"].get("seed", 0): earlier["rows"]}
        for seed, rows in old_runs.items():
            runs[int(seed)] = {k: v for k, v in rows.items() if k not in wanted}
            for row in runs[int(seed)].values():
                row.setdefault("budget", f"{earlier['args']['minutes']:g} min")
        nade = earlier["nade"] if "nade" not in wanted else {}
    for seed in seeds:
        args.seed = seed
        rows = runs.setdefault(seed, {})
        for name in wanted:
            torch.manual_seed(seed)
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
                suffix = f"_seed{seed}" if len(seeds) > 1 else ""
                save_image(grid, Path(args.grids) / f"{name}{suffix}.png", nrow=4, padding=1)
            if name == "nade" and seed == seeds[0]:
                nade = nade_timings(model, test_x[:20], args.sample_n)
            rows[name] = row
            shown = {k: v for k, v in row.items() if k not in ("kwargs", "nll_per_image")}
            print(name, json.dumps({"seed": seed, **shown}), flush=True)
    args.seed = seeds[0]
    runs = {seed: {n: rows[n] for n in NAMES if n in rows} for seed, rows in sorted(runs.items())}
    if nade:
        print("nade_timings", json.dumps(nade), flush=True)
    if args.out:
        first = runs[seeds[0]]
        Path(args.out).write_text(json.dumps({"rows": first, "runs": runs, "nade": nade, "args": vars(args)}, indent=1))
    if nade and all(set(rows) == set(NAMES) for rows in runs.values()):
        table = markdown(runs, nade, args)
        print(table)
        if args.md:
            Path(args.md).write_text(table + "\n")


if __name__ == "__main__":
    main()
