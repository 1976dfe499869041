"""IWAE paper Table 1 at a small CPU budget: VAE vs IWAE, k = 1, 5, 50, one and two stochastic layers.

Burda et al. 2015 ("Importance Weighted Autoencoders", Table 1) train 784-200-200-50 (and the
2-layer 784-200-200-100-100-100-50) tanh nets for 3280 epochs on dynamically binarized MNIST and
report test -log p(x) estimated with k = 5000. This script trains the same architectures, from the
same seed and on the same batches (the same dynamic binarizations), for ``--epochs`` epochs, then
estimates log p(x) with ``--eval_k`` samples on the first ``--test_n`` test images (the same images
for every model, so the differences between models are paired), counts active units (IWAE sec. 5.2)
on the first ``--au_n`` test images, and prints the table beside the paper's.

    nice -n 10 .venv/bin/python tools/bench/iwae_table.py --epochs 1 --batch 20 --test_n 100 \
        --eval_k 5000 --au_n 2000 --out /tmp/iwae.json --md /tmp/iwae.md        # all 12 cells: ~28 min
    nice -n 10 .venv/bin/python tools/bench/iwae_table.py --epochs 5 --layers 1 --test_n 100 \
        --time_steps 30 --md /tmp/run2.md                                      # 1 layer, 5 epochs: ~36 min

(wall times on 2 shared CPU cores under load, one torch thread; results in docs/vae.md).

A model trained with k = 1 is both the VAE and the IWAE of the k = 1 column (the objectives
coincide), so it is trained once. Times: seconds of one training epoch (55k images) per model, and
the k = eval_k estimate per test image, extrapolated to the 10k test set.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from lightgen.data.mnist import MNIST
from lightgen.metrics.active_units import active_units
from lightgen.models.vae import VAE

PAPER = {  # IWAE Table 1, test NLL in nats, k = 1, 5, 50
    (1, "VAE"): (86.76, 86.47, 86.35),
    (1, "IWAE"): (86.76, 85.54, 84.78),
    (2, "VAE"): (85.33, 85.01, 84.78),
    (2, "IWAE"): (85.33, 83.89, 82.90),
}
LATENTS = {1: (50,), 2: (100, 50)}


def train(layers: int, objective: str, k: int, images: torch.Tensor, args: argparse.Namespace) -> tuple[VAE, float]:
    """Train one model for ``args.epochs`` epochs on intensities (N, 1, 28, 28); returns it and seconds per epoch."""
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


def evaluate(model: VAE, x: torch.Tensor, x_au: torch.Tensor, args: argparse.Namespace) -> dict[str, float]:
    """Test ELBO, L_50, log p(x) ~ L_{eval_k} (nats, mean per example) on ``x``; active units on ``x_au``."""
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
    return {
        "elbo": float(torch.cat(elbo).mean()),
        "L_50": float(torch.cat(l50).mean()),
        "log_px": float(torch.cat(logp).mean()),
        "active_units": units,
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


def markdown(results: list[dict], args: argparse.Namespace, n_train: int, timings: list[dict]) -> str:
    """The measured table beside IWAE Table 1, as markdown."""
    lines = [
        f"Budget: {args.epochs} epoch(s) of {n_train} training images at batch {args.batch}, Adam lr 1e-3 "
        f"(eps 1e-4), seed {args.seed}, {args.threads} CPU thread(s); test NLL = -log p(x) estimated with "
        f"k = {args.eval_k} on the first {args.test_n} test images (fixed binarization, the same images for "
        f"every model); active units on the first {args.au_n} test images. Paper: 3280 epochs, full test set.",
        "",
        "| layers | model | k | NLL here | paper NLL | -ELBO here | -L_50 here | active units | s / epoch | "
        f"s / test image (k={args.eval_k}) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["layers"], r["objective"], r["k"]): r for r in results}
    for layers in args.layers:
        for name, objective in (("VAE", "elbo"), ("IWAE", "iwae")):
            for k in args.ks:
                r = by.get((layers, "elbo" if k == 1 else objective, k))
                paper = PAPER[(layers, name)][[1, 5, 50].index(k)] if k in (1, 5, 50) else math.nan
                if r:
                    units = " + ".join(str(u) for u in r["active_units"])
                    lines.append(
                        f"| {layers} | {name} | {k} | {-r['log_px']:.2f} | {paper:.2f} | {-r['elbo']:.2f} | "
                        f"{-r['L_50']:.2f} | {units} | {r['epoch_seconds']:.0f} | {r['eval_seconds_per_image']:.3f} |"
                    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=20)  # Burda et al.'s batch
    parser.add_argument("--test_n", type=int, default=100, help="test images for the log p(x) estimate")
    parser.add_argument("--au_n", type=int, default=2000, help="test images for the active-unit count")
    parser.add_argument("--eval_k", type=int, default=5000)
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 50])
    parser.add_argument("--train_n", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--time_steps", type=int, default=0, help="> 0: also time IAF, conv VAE and DRAW steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default="data")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--md", default=None, help="write the markdown table here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = MNIST(root=args.root, value_range=(0.0, 1.0), binarize="dynamic", batch_size=args.batch)
    data.setup("fit")
    images = data.train_set.images[: args.train_n].float().div_(255.0)  # (55000, 1, 28, 28) intensities
    x_test = data.test_set.images.float().div(255.0)  # binarized once, fixed seed
    x_eval, x_au = x_test[: args.test_n], x_test[: args.au_n]
    results = []
    for layers in args.layers:
        for k in args.ks:
            for objective in ("elbo", "iwae") if k > 1 else ("elbo",):
                model, epoch_s = train(layers, objective, k, images, args)
                res = {"layers": layers, "k": k, "objective": objective, "epoch_seconds": epoch_s}
                res |= evaluate(model, x_eval, x_au, args)
                results.append(res)
                print(json.dumps(res), flush=True)
    timings = time_other_models(images, args) if args.time_steps > 0 else []
    table = markdown(results, args, len(images), timings)
    print("\n" + table, flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results, "timings": timings}, f, indent=1)
    if args.md:
        with open(args.md, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
