"""IWAE paper Table 1 at a small CPU budget: VAE vs IWAE, k = 1, 5, 50, one and two stochastic layers.

Burda et al. 2015 ("Importance Weighted Autoencoders", Table 1) train 784-200-200-50 (and the
2-layer 784-200-200-100-100-100-50) tanh nets for 3280 epochs on dynamically binarized MNIST and
report test -log p(x) estimated with k = 5000. This script trains the same architectures, from the
same seed and on the same batches, for ``--epochs`` epochs, then estimates log p(x) with
``--eval_k`` samples on the first ``--test_n`` test images (the same images for every model, so the
differences between models are paired), and prints the table beside the paper's.

    nice -n 10 .venv/bin/python tools/bench/iwae_table.py --epochs 1 --test_n 300 --out /tmp/iwae.json

Budget at the defaults: about 20 minutes on one CPU thread. A model trained with k = 1 is both the
VAE and the IWAE of the k = 1 column (the objectives coincide), so it is trained once.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from lightgen.data.mnist import MNIST
from lightgen.models.vae import VAE

PAPER = {  # IWAE Table 1, test NLL in nats, k = 1, 5, 50
    (1, "VAE"): (86.76, 86.47, 86.35),
    (1, "IWAE"): (86.76, 85.54, 84.78),
    (2, "VAE"): (85.33, 85.01, 84.78),
    (2, "IWAE"): (85.33, 83.89, 82.90),
}
LATENTS = {1: (50,), 2: (100, 50)}


def train(layers: int, objective: str, k: int, data: MNIST, args: argparse.Namespace) -> tuple[VAE, float]:
    """Train one model for ``args.epochs`` epochs; returns it and the seconds per epoch."""
    torch.manual_seed(args.seed)
    model = VAE((1, 28, 28), latent_dims=LATENTS[layers], k_samples=k, objective=objective)
    opt = model.configure_optimizers()
    opt = opt["optimizer"] if isinstance(opt, dict) else opt
    images = data.train_set.images.float().div_(255.0)  # (N, 1, 28, 28) intensities
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
    return model.eval(), (time.perf_counter() - start) / args.epochs


def evaluate(model: VAE, x: torch.Tensor, args: argparse.Namespace) -> dict[str, float]:
    """Test ELBO, L_50 and log p(x) ~ L_{eval_k} (nats, per example) on ``x``; times the L_{eval_k}."""
    elbo, l50, logp = [], [], []
    start = time.perf_counter()
    for i, xb in enumerate(x.split(100)):
        logp.append(model.log_prob(xb, k=args.eval_k, batch_k=1000, seed=i))
    seconds = time.perf_counter() - start
    for i, xb in enumerate(x.split(100)):
        elbo.append(model.elbo(xb, seed=i))
        l50.append(model.log_prob(xb, k=50, batch_k=50, seed=10_000 + i))
    mean = lambda parts: float(torch.cat(parts).mean())  # noqa: E731
    return {"elbo": mean(elbo), "L_50": mean(l50), "log_px": mean(logp), "eval_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--test_n", type=int, default=300, help="test images for the log p(x) estimate")
    parser.add_argument("--eval_k", type=int, default=5000)
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 5, 50])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default="data")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = MNIST(root=args.root, value_range=(0.0, 1.0), binarize="dynamic", batch_size=args.batch)
    data.setup("fit")
    x_test = data.test_set.images[: args.test_n].float().div(255.0)  # binarized once, fixed seed
    results = []
    for layers in args.layers:
        for k in args.ks:
            for objective in ("elbo", "iwae") if k > 1 else ("elbo",):
                model, epoch_s = train(layers, objective, k, data, args)
                res = {"layers": layers, "k": k, "objective": objective, "epoch_seconds": epoch_s, **evaluate(model, x_test, args)}
                results.append(res)
                print(json.dumps(res), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)
    print(f"\nTest NLL (nats) = -log p(x), k_eval = {args.eval_k} on {args.test_n} test images, "
          f"{args.epochs} epoch(s) at batch {args.batch}; paper: 3280 epochs, full test set.")
    print("| layers | model | k | NLL here | paper | -ELBO here | -L_50 here | s/epoch | s eval (k=%d) |" % args.eval_k)
    print("|---|---|---|---|---|---|---|---|---|")
    by = {(r["layers"], r["objective"], r["k"]): r for r in results}
    for layers in args.layers:
        for name, objective in (("VAE", "elbo"), ("IWAE", "iwae")):
            for j, k in enumerate(args.ks):
                r = by.get((layers, "elbo" if k == 1 else objective, k))
                paper = PAPER[(layers, name)][[1, 5, 50].index(k)] if k in (1, 5, 50) else math.nan
                if r:
                    print(f"| {layers} | {name} | {k} | {-r['log_px']:.2f} | {paper:.2f} | {-r['elbo']:.2f} | "
                          f"{-r['L_50']:.2f} | {r['epoch_seconds']:.0f} | {r['eval_seconds']:.0f} |")


if __name__ == "__main__":
    main()
