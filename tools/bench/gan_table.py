"""GAN objectives beside Lucic et al. 2018 ("Are GANs Created Equal? A Large-Scale Study", Table 2 / fig. 4)
at a small CPU budget: MM, NS, LSGAN, WGAN, WGAN-GP, DRAGAN and BEGAN on MNIST and Fashion-MNIST.

Every model but BEGAN is :class:`~lightgen.models.infogan_nets.InfoNetGAN` (the InfoGAN MNIST networks Lucic et
al. used for all models, z of size 64), batch 64, data in [-1, 1], trained from the same seed on the same data order
(the datamodule's seeded sampler) for the same number of training batches ``--steps`` (the same data, as
Lucic et al.'s fixed 20 epochs; every batch is one D step, so WGAN and WGAN-GP, with 5 critic steps per
generator step, make ``--steps / 5`` generator steps, the others ``--steps``). Settings are the papers':

    MM, NS, LSGAN, DRAGAN   Adam(2e-4, betas (0.5, 0.999)), 1 D step per G step; DRAGAN lambda 10
    WGAN                    RMSprop(5e-5), clip 0.01, 5 critic steps (Arjovsky et al. 2017)
    WGAN-GP                 Adam(1e-4, betas (0, 0.9)), lambda 10, 5 critic steps, no norm in the critic
                            (Gulrajani et al. 2017, Algorithm 1)
    BEGAN                   its own autoencoder D and decoder G (:class:`~lightgen.models.BEGAN`, n = 32,
                            h = z = 64), Adam(1e-4, betas (0.5, 0.999)), gamma 0.5, lambda_k 0.001
                            (Berthelot et al. 2017, sec. 4.1)

Lucic et al. report each model's best FID over a large hyper-parameter search (20 epochs, 10k samples vs
10k test images); this script trains one setting per model, briefly. Each trained model is saved as a
checkpoint and scored with the ``lightgen evaluate`` machinery: Inception FID with ``--num-fid`` samples vs
as many test images, and (with ``--num-cfid`` samples) the domain classifier's FID and class coverage. One
model (the first) is also scored at half the FID count, to show FID's bias with the sample count.

    .venv/bin/python tools/bench/gan_table.py --steps 30 --num-fid 50 --num-cfid 500 --out runs/gan_table/results.json
    .venv/bin/python tools/bench/gan_table.py --quick --out /tmp/gan_quick.json        # smoke test
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from common import bench_trainer  # noqa: E402  (tools/bench is on sys.path)

from lightgen.data.mnist import MNIST
from lightgen.errors import NonFiniteLossError
from lightgen.evaluate import build_parser, evaluate
from lightgen.losses import objectives as obj
from lightgen.losses.began import BEGANObjective
from lightgen.models import BEGAN, InfoNetGAN

ADAM_DCGAN = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
ADAM_WGAN_GP = partial(torch.optim.Adam, lr=1e-4, betas=(0.0, 0.9))
RMSPROP_WGAN = partial(torch.optim.RMSprop, lr=5e-5)
ADAM_BEGAN = partial(torch.optim.Adam, lr=1e-4, betas=(0.5, 0.999))
# name -> (objective factory, d_steps, optimizer of both players, D norm)
OBJECTIVES: dict[str, tuple[Any, int, Any, str]] = {
    "MM": (obj.Minimax, 1, ADAM_DCGAN, "batch"),
    "NS": (obj.NonSaturating, 1, ADAM_DCGAN, "batch"),
    "LSGAN": (obj.LeastSquares, 1, ADAM_DCGAN, "batch"),
    "WGAN": (partial(obj.WassersteinClip, clip=0.01), 5, RMSPROP_WGAN, "batch"),
    "WGAN-GP": (partial(obj.WassersteinGP, gp_weight=10.0), 5, ADAM_WGAN_GP, "none"),
    "DRAGAN": (partial(obj.DRAGAN, penalty_weight=10.0), 1, ADAM_DCGAN, "batch"),
    "BEGAN": (BEGANObjective, 1, ADAM_BEGAN, "none"),  # norm unused: BEGAN's nets have none
}
LUCIC_BEST_FID = {  # Lucic et al. 2018: best FID over their search, 20 epochs, 10k samples vs 10k test images
    "mnist": {"MM": 9.8, "NS": 6.8, "LSGAN": 7.8, "WGAN": 6.7, "WGAN-GP": 20.3, "DRAGAN": 7.6, "BEGAN": 13.1},
    "fashion-mnist": {
        "MM": 29.6,
        "NS": 26.5,
        "LSGAN": 30.7,
        "WGAN": 21.5,
        "WGAN-GP": 24.5,
        "DRAGAN": 27.7,
        "BEGAN": 22.9,
    },
}


def datamodule(dataset: str, args: argparse.Namespace) -> MNIST:
    dm = MNIST(root=args.root, dataset=dataset, value_range=(-1.0, 1.0), batch_size=64, seed=args.seed)
    dm.hparams["_class_path"] = f"{MNIST.__module__}.{MNIST.__qualname__}"  # what `lightgen evaluate` rebuilds
    return dm


def train(dataset: str, name: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Train one model on ``args.steps`` batches; returns its checkpoint path and timings."""
    make_objective, d_steps, optimizer, norm = OBJECTIVES[name]
    L.seed_everything(args.seed, verbose=False)
    common: dict[str, Any] = dict(
        objective=make_objective(),
        d_steps=d_steps,
        g_optimizer=optimizer,
        d_optimizer=optimizer,
        max_generator_steps=max(1, args.steps // d_steps),
    )
    if name == "BEGAN":  # an autoencoder D: BEGAN's own networks, not InfoGAN's
        model: InfoNetGAN | BEGAN = BEGAN((1, 28, 28), latent_dim=64, width=32, hidden_dim=64, **common)
    else:
        model = InfoNetGAN((1, 28, 28), latent_dim=64, d_norm=norm, **common)
    trainer = bench_trainer()
    start = time.perf_counter()
    row: dict[str, Any] = {"dataset": dataset, "objective": name, "d_steps": d_steps, "d_norm": norm}
    try:
        trainer.fit(model, datamodule=datamodule(dataset, args))
        ckpt = folder / f"{dataset}_{name}.ckpt"
        trainer.save_checkpoint(ckpt)  # refuses (NonFiniteLossError) a diverged model
        row["checkpoint"] = str(ckpt)
    except NonFiniteLossError as err:
        row["diverged"] = str(err)
    row.update(
        train_seconds=time.perf_counter() - start,
        generator_steps=model.generator_steps,
        batches=model.batches_seen,
    )
    return row


def run_evaluate(ckpt: str, metrics: str, n: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """``lightgen evaluate --ckpt ckpt --metrics metrics --num-samples n``: the metric values by name."""
    argv = ["--ckpt", ckpt, "--metrics", metrics, "--num-samples", str(n), "--batch-size", "50"]
    argv += ["--seed", "0", "--device", "cpu", "--out", str(out)]
    argv += ["--data-root", args.root] if args.root else []
    report = evaluate(build_parser().parse_args(argv), progress=False)
    return {e.metric: {"values": e.values, "protocol": e.card} for e in report.entries}


def score(row: dict[str, Any], args: argparse.Namespace, folder: Path) -> None:
    """Add FID (Inception, N vs N test), classifier FID and class coverage to a trained model's row."""
    if "checkpoint" not in row:
        return
    stem = folder / f"{row['dataset']}_{row['objective']}"
    start = time.perf_counter()
    fid = run_evaluate(row["checkpoint"], "fid", args.num_fid, args, stem.with_suffix(".fid.json"))["fid"]
    row["fid_seconds"] = time.perf_counter() - start
    row["fid"], row["fid_protocol"] = fid["values"]["fid"], fid["protocol"]
    found = run_evaluate(row["checkpoint"], "cfid,modes", args.num_cfid, args, stem.with_suffix(".cls.json"))
    row["cfid"] = found["cfid"]["values"]["cfid"]
    modes = found["modes"]["values"]
    row.update(modes_hit=modes["modes_hit"], kl_from_uniform=modes["kl_from_uniform_nats"])
    row["lucic_best_fid"] = LUCIC_BEST_FID[row["dataset"]][row["objective"]]


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"| dataset | objective | FID ({args.num_fid} vs {args.num_fid}) | classifier FID ({args.num_cfid}) "
        "| classes hit / KL from uniform | Lucic et al. best FID (10k vs 10k) | training time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "checkpoint" not in r:
            cells = ["diverged (NaN/inf loss)", "-", "-"]
        else:
            cells = [f"{r['fid']:.1f}", f"{r['cfid']:.1f}", f"{r['modes_hit']}/10 / {r['kl_from_uniform']:.3f}"]
        lucic = LUCIC_BEST_FID[r["dataset"]][r["objective"]]
        cells += [f"{lucic}", f"{r['train_seconds']:.0f} s ({r['generator_steps']} G steps, {r['batches']} batches)"]
        lines.append(f"| {r['dataset']} | {r['objective']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="mnist,fashion-mnist")
    parser.add_argument("--objectives", default=",".join(OBJECTIVES))
    parser.add_argument("--steps", type=int, default=100, help="training batches (D steps) per model: the budget")
    parser.add_argument("--num-fid", type=int, default=250, help="generated samples and test images for FID")
    parser.add_argument("--num-cfid", type=int, default=2000, help="samples for classifier FID and class coverage")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=None, help="data root (default $LIGHTGEN_DATA or data/)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--quick", action="store_true", help="tiny smoke test: 5 batches, 10 FID samples")
    parser.add_argument("--no-bias", action="store_true", help="skip the FID-vs-N pair (a second FID of one model)")
    parser.add_argument("--out", default="runs/gan_table/results.json", help="JSON of all results")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.num_fid, args.num_cfid = 5, 10, 50
    unknown = set(args.objectives.split(",")) - set(OBJECTIVES)
    if unknown:
        parser.error(f"unknown objectives {sorted(unknown)}; choose from {','.join(OBJECTIVES)}")
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    folder = out.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    bias: dict[str, Any] = {}
    results = {"config": vars(args), "rows": rows, "fid_bias": bias}
    for dataset in args.datasets.split(","):
        for name in args.objectives.split(","):
            row = train(dataset, name, args, folder)
            score(row, args, folder)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "fid_protocol"}), flush=True)
            if (
                not bias and not args.no_bias and "checkpoint" in row
            ):  # FID's bias with N: the first model at N / 2 as well
                half = max(2, args.num_fid // 2)
                fid = run_evaluate(row["checkpoint"], "fid", half, args, folder / "bias_half.fid.json")["fid"]
                bias.update(
                    model=f"{dataset} {name}", counts={str(half): fid["values"]["fid"], str(args.num_fid): row["fid"]}
                )
            out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    table = markdown(rows, args)
    print(table)
    if bias:
        print(f"FID bias, {bias['model']}: " + ", ".join(f"N = {n}: {v:.2f}" for n, v in bias["counts"].items()))
    results["table"] = table
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
