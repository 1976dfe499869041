"""Mode collapse on the toy 2-D mixtures: modes captured, high-quality share and reverse KL per GAN variant,
beside VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) Table 1.

Data: :class:`~lightgen.data.GaussianMixture2D`, the ring of 8 (radius 1, sigma 0.01) and the 5 x 5 grid
(means {-4..4 step 2}^2, sigma 0.05), 100k training points drawn from each seed. Every model is a
:class:`~lightgen.models.ToyGAN` (linear G output) with the same MLPs (``--hidden``, ReLU G, LeakyReLU D),
z of size 16, batch 256, trained for ``--steps`` training batches (each batch is one D step; WGAN-GP's 5
critic steps per G step give it ``--steps / 5`` G steps, the others ``--steps``) from each of ``--seeds``
seeds (the seed selects the data, the initialisation and the latents). Variants:

    GAN         non-saturating cost, Adam(--lr, betas (0.5, 0.999))
    MBD         the same plus minibatch discrimination in D (Salimans et al. 2016; ``d_minibatch_kernels``)
    WGAN-GP     Wasserstein critic with gradient penalty 10, 5 critic steps, Adam(--lr, betas (0, 0.9))
                (Gulrajani et al. 2017, Algorithm 1)
    BiGAN       encoder E with G, D on (x, z) pairs (Donahue et al. 2016), Gaussian prior, as GAN otherwise
    PacGAN4     GAN with D judging 4 samples packed together (``d_pack: 4``; Lin et al. 2018)

A variant whose option this lightgen lacks is reported as skipped, with the reason. Each trained model is
saved as a checkpoint and scored by ``lightgen evaluate --metrics modes`` on 2,500 samples: modes captured
(a mode counts when it is the nearest mode of at least one sample within 3 sigma), the share of such
high-quality samples, and the reverse KL of the mode histogram, KL(p_model || uniform) over the
high-quality samples. The table gives mean ± standard error over the seeds.

    .venv/bin/python tools/bench/toy_table.py --out runs/toy_table/results.json            # the full table
    .venv/bin/python tools/bench/toy_table.py --seeds 1 --steps 50 --out /tmp/toy.json      # smoke test
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from common import bench_trainer, mean_se  # noqa: E402  (tools/bench is on sys.path)

import lightgen.models
from lightgen.data import GaussianMixture2D
from lightgen.errors import NonFiniteLossError
from lightgen.evaluate import build_parser, evaluate
from lightgen.losses import objectives as obj
from lightgen.models.gan import GAN

BETAS_GAN, BETAS_WGAN_GP = (0.5, 0.999), (0.0, 0.9)  # DCGAN's; Gulrajani et al. 2017, Algorithm 1
LATENT_DIM = 16
BATCH = 256
#: modes captured of 2,500 samples, as published (VEEGAN Table 1: ring radius 2, sigma 0.02; PacGAN Table 1:
#: ring radius 1, sigma 0.01, grid sigma 0.05); other settings and budgets than here
PUBLISHED = {
    ("ring", "GAN"): "VEEGAN: 1; PacGAN: 6.3",
    ("ring", "PacGAN4"): "PacGAN: 7.8",
    ("grid", "GAN"): "VEEGAN: 3.3; PacGAN: 17.3",
    ("grid", "PacGAN4"): "PacGAN: 24.8",
}


def gan_arg(name: str) -> str | None:
    """None when the GAN loop takes ``name``; else why the variant is skipped."""
    if name in inspect.signature(GAN.__init__).parameters:
        return None
    return f"lightgen.models.GAN has no argument {name!r} in this version"


def bigan_class() -> tuple[Any, str | None]:
    cls = getattr(lightgen.models, "BiGAN", None)
    return cls, None if cls is not None else "lightgen.models.BiGAN does not exist in this version"


def variants(hidden: list[int], lr: float = 1e-3) -> dict[str, tuple[Callable[..., Any] | None, str | None, int]]:
    """name -> (model factory or None, reason when skipped, D steps per G step). Each call of a factory
    builds a fresh model with a fresh objective. Every variant's Adam has learning rate ``lr``."""
    adam_gan = partial(torch.optim.Adam, lr=lr, betas=BETAS_GAN)
    adam_wgan_gp = partial(torch.optim.Adam, lr=lr, betas=BETAS_WGAN_GP)
    common = dict(latent_dim=LATENT_DIM, g_hidden=hidden, d_hidden=hidden, g_optimizer=adam_gan, d_optimizer=adam_gan)
    wgan_gp = dict(common, d_steps=5, g_optimizer=adam_wgan_gp, d_optimizer=adam_wgan_gp)

    def make(cls: Any, objective: Callable[[], Any], **kw: Any) -> Callable[..., Any]:
        return lambda **extra: cls((2,), objective=objective(), **kw, **extra)

    toy, ns, gp = lightgen.models.ToyGAN, obj.NonSaturating, partial(obj.WassersteinGP, gp_weight=10.0)
    bigan, bigan_reason = bigan_class()
    mbd = dict(d_minibatch_kernels=32, d_minibatch_kernel_dim=5)
    return {
        "GAN": (make(toy, ns, **common), None, 1),
        "MBD": (make(toy, ns, **common, **mbd), gan_arg("d_minibatch_kernels"), 1),
        "WGAN-GP": (make(toy, gp, **wgan_gp), None, 5),
        "BiGAN": (
            make(bigan, ns, g_output="linear", prior="gaussian", e_hidden=hidden, **common) if bigan else None,
            bigan_reason,
            1,
        ),
        "PacGAN4": (make(toy, ns, **common, d_pack=4), gan_arg("d_pack"), 1),
    }


def datamodule(layout: str, seed: int) -> GaussianMixture2D:
    dm = GaussianMixture2D(layout=layout, num_train=100_000, num_val=0, batch_size=BATCH, seed=seed)
    cls = GaussianMixture2D
    dm.hparams["_class_path"] = f"{cls.__module__}.{cls.__qualname__}"  # what `lightgen evaluate` rebuilds
    return dm


def train_and_score(
    layout: str, name: str, make: Callable[..., Any], d_steps: int, seed: int, args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    """Train one model from ``seed`` for ``args.steps`` batches, then score it with `lightgen evaluate`."""
    L.seed_everything(seed, verbose=False)
    model = make(max_generator_steps=max(1, args.steps // d_steps))
    row: dict[str, Any] = {"layout": layout, "variant": name, "seed": seed}
    start = time.perf_counter()
    try:
        trainer = bench_trainer(max_steps=-1)
        trainer.fit(model, datamodule=datamodule(layout, seed))
        ckpt = folder / f"{layout}_{name}_seed{seed}.ckpt"
        trainer.save_checkpoint(ckpt)  # refuses (NonFiniteLossError) a diverged model
    except NonFiniteLossError as err:
        row["diverged"] = str(err)
        return row
    row.update(train_seconds=time.perf_counter() - start, generator_steps=model.generator_steps)
    argv = ["--ckpt", str(ckpt), "--metrics", "modes", "--num-samples", str(args.num_samples), "--seed", "0"]
    argv += ["--device", "cpu", "--out", str(ckpt.with_suffix(".json"))]
    (entry,) = evaluate(build_parser().parse_args(argv), progress=False).entries
    v = entry.values
    row.update(modes=v["modes_hit"], num_modes=v["num_modes"], hq=v["high_quality_share"])
    row.update(reverse_kl=v["kl_from_uniform_nats"], mode_counts=v["mode_counts"], protocol=entry.card)
    return row


def pm(values: list[float], digits: int) -> str:
    if any(math.isinf(x) for x in values):
        return "inf (a seed with no high-quality sample)"
    mean, se = mean_se(values)
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def markdown(rows: list[dict[str, Any]], skipped: dict[str, str], args: argparse.Namespace) -> str:
    lines = [
        f"| layout | variant | modes captured | high-quality share (%) | reverse KL (nats) | seeds "
        f"| G steps | train s / seed | published modes ({args.num_samples} samples) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for layout in args.layouts.split(","):
        for name in args.variants.split(","):
            published = PUBLISHED.get((layout, name), "-")
            if name in skipped:
                lines.append(f"| {layout} | {name} | skipped: {skipped[name]} | | | | | | {published} |")
                continue
            runs = [r for r in rows if r["layout"] == layout and r["variant"] == name]
            ok = [r for r in runs if "diverged" not in r]
            if not ok:
                lines.append(
                    f"| {layout} | {name} | failed: every seed diverged (NaN/inf loss) | | | | | | {published} |"
                )
                continue
            m = ok[0]["num_modes"]
            cells = [
                f"{pm([r['modes'] for r in ok], 1)} / {m}",
                pm([100 * r["hq"] for r in ok], 1),
                pm([r["reverse_kl"] for r in ok], 3),
                f"{len(ok)}" + (f" ({len(runs) - len(ok)} diverged)" if len(ok) < len(runs) else ""),
                f"{ok[0]['generator_steps']}",
                f"{sum(r['train_seconds'] for r in ok) / len(ok):.0f}",
                published,
            ]
            lines.append(f"| {layout} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layouts", default="ring,grid")
    parser.add_argument("--variants", default="GAN,MBD,WGAN-GP,BiGAN,PacGAN4")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per (layout, variant)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="start at this seed (finish a table stopped after some seeds)"
    )
    parser.add_argument("--steps", type=int, default=3000, help="training batches (D steps) per model: the budget")
    parser.add_argument("--hidden", default="128,128,128", help="hidden widths of G and D (and BiGAN's E)")
    parser.add_argument(
        "--lr", type=float, default=1e-3, help="Adam's learning rate, every variant (1e-4 leaves G unconverged)"
    )
    parser.add_argument("--num-samples", type=int, default=2500, help="samples scored per model")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", default="runs/toy_table/results.json", help="JSON of all results")
    parser.add_argument(
        "--table-from",
        nargs="+",
        default=None,
        metavar="JSON",
        help="print the table of the rows in these results files (runs split over processes or stopped "
        "early: each file is rewritten after every model) instead of training",
    )
    args = parser.parse_args()
    if args.table_from:
        rows = [row for path in args.table_from for row in json.loads(Path(path).read_text())["rows"]]
        print(markdown(rows, {}, args))
        return
    hidden = [int(h) for h in args.hidden.split(",")]
    table = variants(hidden, args.lr)
    unknown = set(args.variants.split(",")) - set(table)
    if unknown or set(args.layouts.split(",")) - {"ring", "grid"}:
        parser.error(
            f"choose variants from {','.join(table)} and layouts from ring,grid; got {args.variants}, {args.layouts}"
        )
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    folder = out.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    skipped = {name: reason for name, (_, reason, _) in table.items() if reason and name in args.variants.split(",")}
    rows: list[dict[str, Any]] = []
    results = {"config": vars(args), "skipped": skipped, "rows": rows}
    for layout in args.layouts.split(","):
        for name in args.variants.split(","):
            make, reason, d_steps = table[name]
            if reason or make is None:
                print(f"{layout} {name}: skipped: {reason}", flush=True)
                continue
            for seed in range(args.first_seed, args.seeds):
                row = train_and_score(layout, name, make, d_steps, seed, args, folder)
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "protocol"}), flush=True)
                out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results["table"] = markdown(rows, skipped, args)
    print(results["table"])
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
