"""BEGAN's diversity ratio gamma, seen: two BEGANs trained alike but for gamma, their samples side by side.

Berthelot, Schumm & Metz (2017), "BEGAN: Boundary Equilibrium Generative Adversarial Networks", sec. 3.3
(eq. 3): gamma = E L(G(z)) / E L(x) at equilibrium; a lower gamma makes D autoencode real images better than
fakes by a wider margin, which the paper finds gives sharper but less diverse samples. Each model trains from
the same seed on the same MNIST batches for the same number of steps (a short CPU budget, far from the
paper's), then draws the same z. Diversity numbers per gamma:

- ``pairwise_l2``: the mean Euclidean distance between two different samples (pixels in [-1, 1], clipped),
  beside the same number for as many real test images;
- with the MNIST domain classifier (``lightgen data prepare mnist-classifier``): the classes hit and the
  KL of the predicted-class histogram from uniform (0: every digit equally often), and the confident share.

    python tools/demos/began_gamma.py --gammas 0.3,0.7 --steps 700 --max-minutes 4.5 --out docs/img/began_gamma.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[2]
for path in (REPO, REPO / "tools" / "bench"):  # lightgen, and the benchmarks' timing Trainer
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
from common import bench_trainer  # noqa: E402

from lightgen.errors import LightgenError  # noqa: E402  (the repo root is on sys.path)


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance over all pairs i < j of the rows of x flattened, (N, ...) -> float."""
    if x.shape[0] < 2:
        raise LightgenError(f"pairwise distances need at least 2 samples; got {x.shape[0]}")
    return float(torch.pdist(x.flatten(1).double()).mean())


def class_stats(images: torch.Tensor, root: str | None) -> dict[str, Any]:
    """Classes hit, KL from uniform and confident share under the MNIST DigitNet ({} without the classifier)."""
    from lightgen.metrics import classifier as cls

    path = cls.classifier_path(root)
    if not path.is_file():
        return {}
    net, _ = cls.load_classifier(path)
    probs = cls.class_probabilities(net, [cls.prepare_input((images + 1) / 2)])
    hist = cls.class_histogram(probs)
    return {k: hist[k] for k in ("modes_hit", "kl_from_uniform_nats", "confident_share")}


def train(gamma: float, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """One BEGAN at this gamma on ``args.steps`` MNIST batches; returns the model and its row of numbers."""
    from functools import partial

    import lightning as L

    from lightgen.data.mnist import MNIST
    from lightgen.models import BEGAN

    L.seed_everything(args.seed, verbose=False)
    adam = partial(torch.optim.Adam, lr=args.lr, betas=(0.5, 0.999))
    model = BEGAN(
        (1, args.size, args.size),
        latent_dim=args.hidden,
        width=args.width,
        hidden_dim=args.hidden,
        gamma=gamma,
        lambda_k=args.lambda_k,
        g_optimizer=adam,
        d_optimizer=adam,
        max_generator_steps=args.steps,
    )
    dm = MNIST(root=args.root, image_size=args.size, value_range=(-1.0, 1.0), batch_size=args.batch, seed=args.seed)
    trainer = bench_trainer(max_time=None if args.max_minutes is None else {"seconds": round(60 * args.max_minutes)})
    start = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    seconds = time.perf_counter() - start
    metrics = trainer.callback_metrics
    row = {
        "gamma": gamma,
        "steps": model.generator_steps,
        "train_seconds": round(seconds, 1),
        "k_t": round(model.k_t.item(), 4),
        "l_real": round(float(metrics["d/l_real"]), 4),
        "l_fake": round(float(metrics["d/l_fake"]), 4),
        "m_global": round(float(metrics["d/m_global"]), 4),
    }
    return model, row


def real_images(n: int, args: argparse.Namespace) -> torch.Tensor:
    """n MNIST test images in [-1, 1] at the demo's size (the diversity of the data, for reference)."""
    from lightgen.data.mnist import MNIST

    dm = MNIST(root=args.root, image_size=args.size, value_range=(-1.0, 1.0), batch_size=n)
    dm.setup("test")
    return next(iter(dm.test_dataloader()))[0][:n]


def picture(grids: dict[str, torch.Tensor], titles: dict[str, str], out: Path) -> None:
    """Sample grids side by side with a title each, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    fig, axes = plt.subplots(1, len(grids), figsize=(3.2 * len(grids), 3.6))
    for ax, (name, images) in zip(axes, grids.items()):
        grid = make_grid(((images.clamp(-1, 1) + 1) / 2), nrow=8, padding=1, pad_value=1.0)
        ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_title(titles[name], fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=72)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gammas", default="0.3,0.7", help="comma-separated diversity ratios, each in (0, 1]")
    p.add_argument("--steps", type=int, default=700, help="training steps (one D and one G update each) per model")
    p.add_argument("--size", type=int, default=28, help="image size (28 or 32)")
    p.add_argument("--width", type=int, default=8, help="n, the conv width (paper: 64-128)")
    p.add_argument("--hidden", type=int, default=32, help="h = Nz, embedding and latent size (paper: 64)")
    p.add_argument("--batch", type=int, default=16, help="batch size (paper: 16)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam lr of both players (paper: 5e-5 to 1e-4)")
    # k_t moves by about lambda_k * |gamma L(x) - L(G(z))| ~ 1e-4 per step at the paper's 0.001: over a short
    # run it would stay near k_0 = 0 for both gammas, and the two runs would barely differ
    p.add_argument("--lambda-k", type=float, default=0.01, help="gain of k_t's control (paper: 0.001)")
    p.add_argument("--num-samples", type=int, default=500, help="samples for the diversity numbers")
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock cap per model (steps may fall short)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--root", default=None, help="data root (default $LIGHTGEN_DATA or data/)")
    p.add_argument("--out", type=Path, default=Path("outputs/demos/began_gamma.png"))
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = p.parse_args(argv)
    try:
        gammas = [float(g) for g in args.gammas.split(",")]
    except ValueError:
        raise SystemExit(f"began_gamma: --gammas must be comma-separated numbers; got {args.gammas!r}") from None
    if args.steps < 1 or args.num_samples < 2:
        raise SystemExit(f"began_gamma: need --steps >= 1 and --num-samples >= 2; got {args.steps}, {args.num_samples}")
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    real = real_images(args.num_samples, args)
    reference = {"data": "MNIST test", "pairwise_l2": round(mean_pairwise_distance(real), 3)}
    reference.update(class_stats(real, args.root))
    print(json.dumps(reference), flush=True)
    rows, grids, titles = [], {}, {}
    for gamma in gammas:
        try:
            model, row = train(gamma, args)
        except LightgenError as err:
            raise SystemExit(f"began_gamma: {err}") from None
        samples = model.sample(args.num_samples, seed=args.seed + 1).clamp(-1, 1)
        row["pairwise_l2"] = round(mean_pairwise_distance(samples), 3)
        row.update(class_stats(samples, args.root))
        rows.append(row)
        print(json.dumps(row), flush=True)
        grids[f"{gamma:g}"] = samples[:64]
        titles[f"{gamma:g}"] = f"gamma = {gamma:g}: pairwise L2 {row['pairwise_l2']:.2f}"
    grids["data"] = real[:64]
    titles["data"] = f"MNIST test: pairwise L2 {reference['pairwise_l2']:.2f}"
    picture(grids, titles, args.out)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"config": vars(args), "reference": reference, "rows": rows}, default=str))
    print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
