"""IWAE paper Table 1 at a small CPU budget: VAE vs IWAE, k = 1, 5, 50, one and two stochastic layers.

Burda et al. 2015 ("Importance Weighted Autoencoders", Table 1) train 784-200-200-50 (and the
2-layer 784-200-200-100-100-100-50) tanh nets for 3280 epochs on dynamically binarized MNIST and
report test -log p(x) estimated with k = 5000. This script trains the same architectures, from the
same seed and on the same batches (the same dynamic binarizations), for ``--epochs`` epochs, then
estimates log p(x) with ``--eval_k`` samples on the first ``--test_n`` test images (the same images
for every model, so the differences between models are paired), counts active units (IWAE sec. 5.2)
on the first ``--au_n`` test images, and prints the table beside the paper's.

Error bars: every NLL is a mean over test images, reported as ``mean ± SE`` with SE = std / sqrt(n)
over the per-image NLLs; every difference between two models of one seed is paired (same images,
same estimator draws) and reported with the SE of the per-image differences. ``--seeds 0,1`` trains
and evaluates once per seed and adds the seed mean with the seed-to-seed standard deviation.
Per-layer KL (``E_q[log q(z_l|.) - log p(z_l|.)]``, nats) says how much information each stochastic
layer carries; ``--grad_check`` compares the k-sample ELBO loss's gradient with the 1-sample loss's
on the batch repeated k times with the same draws (they are the same function).

    nice -n 10 .venv/bin/python tools/bench/iwae_table.py --epochs 1 --batch 20 --test_n 100 \
        --eval_k 5000 --au_n 2000 --out /tmp/iwae.json --md /tmp/iwae.md        # all 12 cells: ~28 min
    nice -n 10 .venv/bin/python tools/bench/iwae_table.py --epochs 5 --layers 1 --test_n 100 \
        --time_steps 30 --md /tmp/run2.md                                      # 1 layer, 5 epochs: ~36 min
    .venv/bin/python tools/bench/iwae_table.py --merge a.json b.json --md all.md  # one table from saved runs

(wall times on 2 shared CPU cores under load, one torch thread; results in docs/benchmarks.md).

A model trained with k = 1 is both the VAE and the IWAE of the k = 1 column (the objectives
coincide), so it is trained once. Times: seconds of one training epoch (55k images) per model, and
the k = eval_k estimate per test image, extrapolated to the 10k test set.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from common import mean_se  # tools/bench/common.py: the benchmarks' one mean ± SE (this folder is on sys.path)

from lightgen.data.mnist import MNIST
from lightgen.losses import bounds
from lightgen.metrics.active_units import active_units
from lightgen.models.vae import VAE

PAPER = {  # IWAE Table 1, test NLL in nats, k = 1, 5, 50
    (1, "VAE"): (86.76, 86.47, 86.35),
    (1, "IWAE"): (86.76, 85.54, 84.78),
    (2, "VAE"): (85.33, 85.01, 84.78),
    (2, "IWAE"): (85.33, 83.89, 82.90),
}
LATENTS = {1: (50,), 2: (100, 50)}


# ---------------------------------------------------------------------------- error bars
def paired_diff(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean and SE of the per-image differences a_i - b_i (the same images, in the same order, for both)."""
    if len(a) != len(b):
        raise ValueError(f"paired values need the same images; got {len(a)} and {len(b)}")
    return mean_se([x - y for x, y in zip(a, b)])


def seed_spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1) over seeds; the std is nan for one seed."""
    n = len(values)
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return mean, std


def pm(mean: float, err: float, digits: int = 2) -> str:
    """``mean ± err`` as text (``mean ± nan`` when the error is unknown)."""
    return f"{mean:.{digits}f} ± {err:.{digits}f}"


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2]."""
    return [int(s) for s in text.split(",") if s.strip()]


# ---------------------------------------------------------------------------- training and evaluation
def train(layers: int, objective: str, k: int, images: torch.Tensor, args: argparse.Namespace) -> tuple[VAE, float]:
    """Train one model for ``args.epochs`` epochs on intensities (N, 1, 28, 28); returns it and seconds per epoch.

    Initialisation, batch order and binarization draws are keyed by ``args.seed`` (the same for every model).
    """
    torch.manual_seed(args.seed)
    model = VAE((1, 28, 28), latent_dims=LATENTS[layers], k_samples=k, objective=objective)
    opt = model.configure_optimizers()
    opt = opt["optimizer"] if isinstance(opt, dict) else opt
    start = time.perf_counter()
    for epoch in range(args.epochs):
        gen = torch.Generator().manual_seed(args.seed + epoch)  # same batches and bits for every model
        perm = torch.randperm(len(images), generator=gen)
        for i in range(0, len(images) - args.batch + 1, args.batch):
            x = torch.bernoulli(images[perm[i : i + args.batch]], generator=gen)  # dynamic binarization
            loss = model.loss_terms(x)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval(), (time.perf_counter() - start) / max(args.epochs, 1)


@torch.no_grad()
def layer_kl(model: VAE, x: torch.Tensor, samples: int = 10, seed: int = 0) -> list[torch.Tensor]:
    """Per stochastic layer (bottom first), the per-unit KL term ``E_q[log q(z_l|.) - log p(z_l|.)]`` (d_l,)
    averaged over ``x`` and ``samples`` draws; their sum over units and layers is the total KL = rec - ELBO.

    The bottom layer of a 1-layer Gaussian model is the analytic KL(q(z|x) || N(0, I)); with more layers
    the bottom term is E[log q(z_1|x) - log p(z_1|z_2)] and the top one E_q[KL(q(z_L|z_{L-1}) || N(0, I))]
    (analytic given z_{L-1}), so the split follows the model's own factorisation (Gaussian posterior only).
    """
    if model.flow is not None:
        raise ValueError("layer_kl supports the Gaussian posterior only")
    gen = torch.Generator().manual_seed(seed)
    mean, log_var, _ = model._encode(x)
    if len(model.latent_dims) == 1:
        return [(0.5 * (mean**2 + log_var.exp() - 1.0 - log_var)).mean(0)]
    eps = torch.randn((samples, *mean.shape), generator=gen)
    zs = [mean + torch.exp(0.5 * log_var) * eps]
    log_q = [-0.5 * (bounds.LOG_2PI + log_var + eps**2)]  # per unit, (S, B, d1)
    top_kl = None
    for i, q_net in enumerate(model.upper_q):
        m, lv, _ = q_net(zs[-1])
        if i == len(model.upper_q) - 1:
            top_kl = 0.5 * (m**2 + lv.exp() - 1.0 - lv)
        e = torch.randn(m.shape, generator=gen)
        zs.append(m + torch.exp(0.5 * lv) * e)
        log_q.append(-0.5 * (bounds.LOG_2PI + lv + e**2))
    terms = []
    for i, p_net in enumerate(model.upper_p):  # p(z_i | z_{i+1})
        m, lv, _ = p_net(zs[i + 1])
        log_p = -0.5 * (bounds.LOG_2PI + lv + (zs[i] - m) ** 2 * torch.exp(-lv))
        terms.append((log_q[i] - log_p).mean((0, 1)))
    terms.append(top_kl.mean((0, 1)))
    return terms


def grad_check(layers: int, k: int, batch: int, seed: int = 0) -> dict[str, float]:
    """The k-sample ELBO loss on a batch against the 1-sample ELBO loss on the batch repeated k times, with the
    same draws (global RNG reseeded: (k, B, d) draws in the same order as (1, k * B, d)): both losses and the
    largest gradient difference, at a fresh model of ``layers`` stochastic layers on random binary images."""
    torch.manual_seed(seed)
    model = VAE((1, 28, 28), latent_dims=LATENTS[layers], k_samples=k, objective="elbo")
    x = torch.bernoulli(torch.full((batch, 1, 28, 28), 0.3), generator=torch.Generator().manual_seed(seed))
    losses, grads = [], []
    for kk, xb in ((k, x), (1, x.repeat(k, 1, 1, 1))):
        torch.manual_seed(seed + 1)
        model.zero_grad(set_to_none=True)
        loss = model.loss_terms(xb, k=kk)["loss"]
        loss.backward()
        losses.append(float(loss.detach()))
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    diff = float((grads[0] - grads[1]).abs().max())
    return {
        "layers": layers,
        "k": k,
        "loss_k": losses[0],
        "loss_1_repeated": losses[1],
        "max_abs_grad_diff": diff,
        "max_abs_grad": float(grads[0].abs().max()),
    }


def evaluate(model: VAE, x: torch.Tensor, x_au: torch.Tensor, args: argparse.Namespace) -> dict:
    """Test ELBO, L_50, log p(x) ~ L_{eval_k} (nats, mean per example and per image) on ``x``; active units
    and per-layer KL on ``x_au``."""
    elbo, l50, logp = [], [], []
    start = time.perf_counter()
    for i, xb in enumerate(x.split(100)):
        logp.append(model.log_prob(xb, k=args.eval_k, batch_k=500, seed=i))
    seconds = time.perf_counter() - start
    for i, xb in enumerate(x.split(100)):
        elbo.append(model.elbo(xb, seed=i))
        l50.append(model.log_prob(xb, k=50, batch_k=50, seed=10_000 + i))
    per_batch = [model.posterior_means(xb, seed=i) for i, xb in enumerate(x_au.split(500))]
    units = [int(active_units(torch.cat(col))["count"]) for col in zip(*per_batch)]
    kls = [layer_kl(model, xb, seed=i) for i, xb in enumerate(x_au.split(500))]
    sizes = [len(xb) for xb in x_au.split(500)]
    per_unit = [sum(kl[j] * n for kl, n in zip(kls, sizes)) / sum(sizes) for j in range(len(kls[0]))]
    nll = (-torch.cat(logp)).tolist()
    return {
        "elbo": float(torch.cat(elbo).mean()),
        "L_50": float(torch.cat(l50).mean()),
        "log_px": float(torch.cat(logp).mean()),
        "nll_per_image": nll,
        "neg_elbo_per_image": (-torch.cat(elbo)).tolist(),
        "active_units": units,
        "layer_kl": [float(u.sum()) for u in per_unit],
        "layer_kl_top_units": [sorted((float(v) for v in u), reverse=True)[:3] for u in per_unit],
        "eval_seconds_per_image": seconds / len(x),
    }


def time_other_models(images: torch.Tensor, args: argparse.Namespace) -> list[dict]:
    """Seconds per epoch of the IAF VAE, the conv VAE and DRAW at their configs' settings, extrapolated
    from ``args.time_steps`` optimizer steps (after 3 warm-up steps) to one epoch of ``images``."""
    from lightgen.models.draw import DRAW

    builds = {  # name: (model, batch) as in configs/iaf.yaml, a conv VAE, configs/draw.yaml
        "VAE + IAF (2 steps), configs/iaf.yaml": (lambda: VAE((1, 28, 28), posterior="iaf", iaf_steps=2), 100),
        "conv VAE (k=1)": (lambda: VAE((1, 28, 28), arch="conv"), 20),
        "DRAW (T=16, 256 LSTM units, attention), configs/draw.yaml": (lambda: DRAW((1, 28, 28), steps=16), 100),
    }
    rows = []
    for name, (build, batch) in builds.items():
        torch.manual_seed(args.seed)
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(args.seed)
        for i in range(3 + args.time_steps):
            if i == 3:
                start = time.perf_counter()
            x = torch.bernoulli(images[torch.randint(len(images), (batch,), generator=gen)], generator=gen)
            loss = model.loss_terms(x)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        step = (time.perf_counter() - start) / args.time_steps
        epoch = step * (len(images) // batch)
        rows.append({"model": name, "batch": batch, "step_seconds": step, "epoch_seconds": epoch})
        print(json.dumps(rows[-1]), flush=True)
    return rows


# ---------------------------------------------------------------------------- tables
def row_name(r: dict) -> str:
    """``"1L VAE k=5"``; the k = 1 model is named VAE (it is also the IWAE of k = 1)."""
    return f"{r['layers']}L {'IWAE' if r['objective'] == 'iwae' and r['k'] > 1 else 'VAE'} k={r['k']}"


def comparisons(keys: set[tuple[int, str, int]]) -> list[tuple[tuple[int, str, int], tuple[int, str, int]]]:
    """Pairs (a, b) of model keys (layers, objective, k) to difference: each model against its layer's k = 1
    model, and IWAE against VAE at the same k > 1."""
    pairs = []
    for key in sorted(keys):
        layers, objective, k = key
        if k > 1 and (layers, "elbo", 1) in keys:
            pairs.append((key, (layers, "elbo", 1)))
    for layers, objective, k in sorted(keys):
        if objective == "iwae" and k > 1 and (layers, "elbo", k) in keys:
            pairs.append(((layers, "iwae", k), (layers, "elbo", k)))
    return pairs


def markdown(results: list[dict], args: argparse.Namespace, n_train: int, timings: list[dict]) -> str:
    """The measured tables beside IWAE Table 1, as markdown: per seed NLL ± SE, paired differences, seed means."""
    seeds = sorted({r["seed"] for r in results})
    test_n = len(results[0]["nll_per_image"]) if results else args.test_n
    lines = [
        f"Budget: {args.epochs} epoch(s) of {n_train} training images at batch {args.batch}, Adam lr 1e-3 "
        f"(eps 1e-4), seed(s) {', '.join(map(str, seeds))}, {args.threads} CPU thread(s); test NLL = -log p(x) "
        f"estimated with k = {args.eval_k} on the first {test_n} test images (fixed binarization, the same images "
        f"for every model), mean ± SE over the images (SE = std / sqrt({test_n})); active units and per-layer KL "
        f"on the first {args.au_n} test images. Paper: 3280 epochs, full test set.",
        "",
        "| seed | layers | model | k | NLL here ± SE | paper NLL | -ELBO here ± SE | -L_50 here | active units "
        f"| KL per layer (bottom + top), nats | s / epoch | s / test image (k={args.eval_k}) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["seed"], r["layers"], r["objective"], r["k"]): r for r in results}
    for seed in seeds:
        for layers in sorted({r["layers"] for r in results}):
            for name, objective in (("VAE", "elbo"), ("IWAE", "iwae")):
                for k in sorted({r["k"] for r in results}):
                    r = by.get((seed, layers, "elbo" if k == 1 else objective, k))
                    paper = PAPER[(layers, name)][[1, 5, 50].index(k)] if k in (1, 5, 50) else math.nan
                    if r:
                        units = " + ".join(str(u) for u in r["active_units"])
                        kl = " + ".join(f"{v:.2f}" for v in r.get("layer_kl", []))
                        lines.append(
                            f"| {seed} | {layers} | {name} | {k} | {pm(*mean_se(r['nll_per_image']))} | {paper:.2f} | "
                            f"{pm(*mean_se(r['neg_elbo_per_image']))} | {-r['L_50']:.2f} | {units} | {kl} | "
                            f"{r['epoch_seconds']:.0f} | {r['eval_seconds_per_image']:.3f} |"
                        )
    keys = {(r["layers"], r["objective"], r["k"]) for r in results}
    pairs = comparisons(keys)
    if pairs:
        lines += [
            "",
            "Paired differences of test NLL (nats; negative: the first model is better), mean ± SE of the "
            "per-image differences on the same images; ** marks |difference| > 2 SE:",
            "",
            "| seed | difference | NLL difference ± SE | paper |",
            "|---|---|---|---|",
        ]
        for seed in seeds:
            for a, b in pairs:
                ra, rb = by.get((seed, *a)), by.get((seed, *b))
                if ra and rb:
                    d, se = paired_diff(ra["nll_per_image"], rb["nll_per_image"])
                    paper = _paper(a) - _paper(b)
                    mark = " **" if abs(d) > 2 * se else ""
                    lines.append(f"| {seed} | {row_name(ra)} - {row_name(rb)} | {pm(d, se)}{mark} | {paper:+.2f} |")
    if len(seeds) > 1:
        lines += [
            "",
            "Over seeds (models trained at every seed): mean of the per-seed NLLs ± their standard deviation "
            "across seeds (the seed-to-seed spread, not an SE), and the same for the paired differences:",
            "",
            "| quantity | seeds | mean ± seed std | per seed |",
            "|---|---|---|---|",
        ]
        for key in sorted(keys):
            vals = [(s, mean_se(by[(s, *key)]["nll_per_image"])[0]) for s in seeds if (s, *key) in by]
            if len(vals) > 1:
                name = row_name({"layers": key[0], "objective": key[1], "k": key[2]})
                per = ", ".join(f"{v:.2f}" for _, v in vals)
                lines.append(f"| NLL {name} | {len(vals)} | {pm(*seed_spread([v for _, v in vals]))} | {per} |")
        for a, b in pairs:
            vals = [
                paired_diff(by[(s, *a)]["nll_per_image"], by[(s, *b)]["nll_per_image"])[0]
                for s in seeds
                if (s, *a) in by and (s, *b) in by
            ]
            if len(vals) > 1:
                na = row_name({"layers": a[0], "objective": a[1], "k": a[2]})
                nb = row_name({"layers": b[0], "objective": b[1], "k": b[2]})
                per = ", ".join(f"{v:+.2f}" for v in vals)
                lines.append(f"| {na} - {nb} | {len(vals)} | {pm(*seed_spread(vals))} | {per} |")
    if timings:
        lines += [
            "",
            f"One training epoch of the other models ({args.threads} thread(s), extrapolated from "
            f"{args.time_steps} steps):",
            "",
            "| model | batch | s / step | s / epoch |",
            "|---|---|---|---|",
        ]
        for t in timings:
            lines.append(f"| {t['model']} | {t['batch']} | {t['step_seconds']:.3f} | {t['epoch_seconds']:.0f} |")
    return "\n".join(lines)


def _paper(key: tuple[int, str, int]) -> float:
    """IWAE Table 1's NLL of (layers, objective, k), nan where the paper has none."""
    layers, objective, k = key
    name = "IWAE" if objective == "iwae" else "VAE"
    return PAPER[(layers, name)][[1, 5, 50].index(k)] if k in (1, 5, 50) else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=20)  # Burda et al.'s batch
    parser.add_argument("--test_n", type=int, default=100, help="test images for the log p(x) estimate")
    parser.add_argument("--au_n", type=int, default=2000, help="test images for the active-unit count")
    parser.add_argument("--eval_k", type=int, default=5000)
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 50])
    parser.add_argument("--objectives", default="elbo,iwae", help="train only these objectives (k > 1)")
    parser.add_argument("--train_n", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--time_steps", type=int, default=0, help="> 0: also time IAF, conv VAE and DRAW steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", default=None, help="comma-separated seeds, one training per seed (e.g. 0,1)")
    parser.add_argument("--root", default="data")
    parser.add_argument("--out", default=None, help="write the results as JSON here (after every model)")
    parser.add_argument("--md", default=None, help="write the markdown table here")
    parser.add_argument("--merge", nargs="+", default=None, help="JSONs of earlier runs: print their joint tables")
    parser.add_argument("--grad_check", action="store_true", help="k-sample vs repeated-batch ELBO gradients, exit")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.grad_check:
        for layers in args.layers:
            for k in (k for k in args.ks if k > 1):
                print(json.dumps(grad_check(layers, k, args.batch, args.seed)), flush=True)
        return
    if args.merge:
        runs = [json.loads(Path(p).read_text()) for p in args.merge]
        vars(args).update({k: v for k, v in runs[0]["args"].items() if k not in ("merge", "md", "out")})
        results = [r for run in runs for r in run["results"]]
        table = markdown(results, args, runs[0].get("n_train", 55000), [t for run in runs for t in run["timings"]])
        print(table, flush=True)
        if args.md:
            Path(args.md).write_text(table + "\n")
        return
    seeds = parse_seeds(args.seeds) if args.seeds else [args.seed]
    objectives = [o for o in args.objectives.split(",") if o]
    data = MNIST(root=args.root, value_range=(0.0, 1.0), binarize="dynamic", batch_size=args.batch)
    data.setup("fit")
    images = data.train_set.images[: args.train_n].float().div_(255.0)  # (55000, 1, 28, 28) intensities
    x_test = data.test_set.images.float().div(255.0)  # binarized once, fixed seed
    x_eval, x_au = x_test[: args.test_n], x_test[: args.au_n]
    results: list[dict] = []
    timings: list[dict] = []

    def save() -> None:
        if args.out:
            payload = {"args": vars(args), "n_train": len(images), "results": results, "timings": timings}
            Path(args.out).write_text(json.dumps(payload, indent=1))

    for seed in seeds:
        args.seed = seed
        for layers in args.layers:
            for k in args.ks:
                for objective in [o for o in objectives if k > 1] or (["elbo"] if k == 1 else []):
                    model, epoch_s = train(layers, objective, k, images, args)
                    res = {"seed": seed, "layers": layers, "k": k, "objective": objective, "epoch_seconds": epoch_s}
                    res |= evaluate(model, x_eval, x_au, args)
                    results.append(res)
                    summary = {key: v for key, v in res.items() if not key.endswith("per_image")}
                    print(json.dumps(summary | {"nll": mean_se(res["nll_per_image"])}), flush=True)
                    save()
    args.seed = seeds[0]
    timings = time_other_models(images, args) if args.time_steps > 0 else []
    save()
    table = markdown(results, args, len(images), timings)
    print("\n" + table, flush=True)
    if args.md:
        Path(args.md).write_text(table + "\n")


if __name__ == "__main__":
    main()
