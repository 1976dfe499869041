"""How good is a BiGAN's encoder as a feature extractor? MNIST test accuracy of classifiers on E(x) vs raw pixels.

Donahue et al. 2016 ("Adversarial Feature Learning", sec. 4.1, Table 1) judge the learned representation
of permutation-invariant MNIST by the accuracy of a one-nearest-neighbour classifier in feature space.
This script trains (``--steps`` generator steps with the model settings of ``configs/bigan.yaml``) or loads
(``--ckpt``) a BiGAN, encodes ``--train-examples`` training images and the 10k test images, and reports the
test accuracy of

- multinomial logistic regression (a linear classifier) on standardised features: full-batch L-BFGS,
  L2 weight ``--l2``, ``--lr-iters`` iterations;
- 1-NN with the Euclidean distance,

for three feature sets: raw pixels (784), E(x) of the trained encoder (latent_dim), and E(x) of the same
encoder architecture untrained (a random projection: what training added). A markdown table with the
budget is printed (and written to ``--out`` if given); ``--pictures`` writes test x beside G(E(x)).

    .venv/bin/python tools/bench/bigan_probe.py --steps 3000 --max-minutes 8 --pictures runs/bigan_probe/recon.png
    .venv/bin/python tools/bench/bigan_probe.py --ckpt runs/bigan/version_0/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml
from common import bench_trainer  # noqa: E402  (tools/bench is on sys.path)

from lightgen.callbacks.bigan_pictures import save_reconstruction_grid
from lightgen.checkpoint import load_model
from lightgen.data.mnist import MNIST
from lightgen.errors import LightgenError
from lightgen.models import BiGAN

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "bigan.yaml"


def config_model_args() -> dict:
    """The model's init_args of configs/bigan.yaml (the objective as its class_path spec)."""
    return dict(yaml.safe_load(CONFIG.read_text())["model"]["init_args"])


def train(
    dm: MNIST, steps: int, max_minutes: float, accelerator: str, seed: int, overrides: dict
) -> tuple[BiGAN, float]:
    torch.manual_seed(seed)
    model = BiGAN(data_shape=dm.data_shape, max_generator_steps=steps, **{**config_model_args(), **overrides})
    trainer = bench_trainer(accelerator=accelerator, max_time={"minutes": max_minutes})
    start = time.perf_counter()
    trainer.fit(model, dm)
    return model, time.perf_counter() - start


@torch.no_grad()
def encode(encoder: torch.nn.Module, x: torch.Tensor, device: torch.device, batch: int = 1000) -> torch.Tensor:
    encoder.eval()
    return torch.cat([encoder(x[i : i + batch].to(device)).cpu() for i in range(0, len(x), batch)])


def logistic_regression_accuracy(
    train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, l2: float, iters: int
) -> float:
    """Test accuracy of multinomial logistic regression (softmax, L2 weight ``l2``) fitted by L-BFGS."""
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
    a, b = (train_x - mean) / std, (test_x - mean) / std
    linear = torch.nn.Linear(a.shape[1], 10)
    opt = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(a), train_y) + 0.5 * l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return float((linear(b).argmax(1) == test_y).float().mean())


def nearest_neighbour_accuracy(
    train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor, chunk: int = 500
) -> float:
    """Test accuracy of 1-NN with the Euclidean distance."""
    correct = 0
    for i in range(0, len(test_x), chunk):
        nearest = torch.cdist(test_x[i : i + chunk], train_x).argmin(1)
        correct += int((train_y[nearest] == test_y[i : i + chunk]).sum())
    return correct / len(test_x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="a trained BiGAN checkpoint")
    source.add_argument("--steps", type=int, help="train a BiGAN (configs/bigan.yaml's model) for this many G steps")
    parser.add_argument("--max-minutes", type=float, default=8.0, help="wall-time cap of the training (--steps)")
    parser.add_argument("--train-examples", type=int, default=10_000, help="training images the classifiers see")
    parser.add_argument("--l2", type=float, default=1e-4, help="L2 weight of the logistic regression")
    parser.add_argument(
        "--hidden", type=int, nargs="+", default=None, help="hidden widths of G, E and D (default: the config's)"
    )
    parser.add_argument("--lr-iters", type=int, default=100, help="L-BFGS iterations of the logistic regression")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--save-ckpt", default=None, help="where to save the trained model (--steps)")
    parser.add_argument("--pictures", default=None, help="PNG of 32 test images beside G(E(x))")
    parser.add_argument("--out", default=None, help="also write the markdown table here")
    args = parser.parse_args()
    if args.steps is not None and args.steps < 1:
        raise LightgenError(f"--steps must be a positive integer; got {args.steps}")

    dm = MNIST(root=args.data_root, batch_size=args.batch_size, seed=42)
    dm.setup("fit")
    if args.ckpt:
        model, budget = load_model(args.ckpt), f"checkpoint {args.ckpt}"
        if not isinstance(model, BiGAN):
            raise LightgenError(f"{args.ckpt} holds a {type(model).__name__}, not a BiGAN")
    else:
        widths = {f"{net}_hidden": tuple(args.hidden) for net in "ged"} if args.hidden else {}
        model, seconds = train(dm, args.steps, args.max_minutes, args.accelerator, args.seed, widths)
        budget = (
            f"trained here: {model.generator_steps} generator steps of batch {args.batch_size} "
            f"({model.generator_steps * args.batch_size / len(dm.train_set):.2f} epochs) in {seconds:.0f} s "
            f"on {args.accelerator} (cap: {args.steps} steps, {args.max_minutes:g} min), seed {args.seed}, "
            f"hidden widths G {model.hparams.g_hidden}, E {model.hparams.e_hidden}, D {model.hparams.d_hidden}"
        )
        if args.save_ckpt:
            Path(args.save_ckpt).parent.mkdir(parents=True, exist_ok=True)
            model.trainer.save_checkpoint(args.save_ckpt)
    model.eval()
    device = model.device

    n = min(args.train_examples, len(dm.train_set))
    train_x = torch.stack([dm.train_set[i][0] for i in range(n)])
    train_y = torch.tensor([int(dm.train_set[i][1]) for i in range(n)])
    test_x = torch.stack([dm.test_set[i][0] for i in range(len(dm.test_set))])
    test_y = torch.tensor([int(dm.test_set[i][1]) for i in range(len(dm.test_set))])
    torch.manual_seed(args.seed)
    untrained = BiGAN(data_shape=dm.data_shape, **{**config_model_args(), **_latent_args(model)}).encoder.to(device)
    features = {
        "raw pixels": (train_x.flatten(1), test_x.flatten(1)),
        "BiGAN E(x), trained": (encode(model.encoder, train_x, device), encode(model.encoder, test_x, device)),
        "E(x), same architecture untrained": (encode(untrained, train_x, device), encode(untrained, test_x, device)),
    }
    rows = []
    for name, (a, b) in features.items():
        start = time.perf_counter()
        lr = logistic_regression_accuracy(a, train_y, b, test_y, args.l2, args.lr_iters)
        nn1 = nearest_neighbour_accuracy(a, train_y, b, test_y)
        rows.append(f"| {name} | {a.shape[1]} | {100 * lr:.2f} | {100 * nn1:.2f} |")
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)

    table = "\n".join([
        f"MNIST test accuracy (%, {len(test_y)} test images) of classifiers fitted on {n} training images.",
        f"Budget: {budget}.",
        "Logistic regression: softmax on standardised features, L-BFGS, "
        f"L2 {args.l2:g}, {args.lr_iters} iterations. 1-NN: Euclidean distance.",
        "",
        "| features | dim | logistic regression | 1-NN |",
        "|---|---:|---:|---:|",
        *rows,
    ])  # fmt: skip
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table + "\n")
    if args.pictures:
        print(f"pictures: {save_reconstruction_grid(model, test_x[:32], args.pictures)}")


def _latent_args(model: BiGAN) -> dict:
    """The trained model's latent settings (a checkpoint may differ from the config)."""
    return {
        k: model.hparams[k] for k in ("latent_dim", "prior", "e_hidden", "g_hidden", "d_hidden") if k in model.hparams
    }


if __name__ == "__main__":
    main()
