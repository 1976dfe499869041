"""The image-to-image models on their embedded data, each beside its baseline, within a stated CPU budget.

- pix2pix (Isola et al. 2017) on edges2fashion (edges -> Fashion-MNIST, 32 px): L1, FID (Inception) and
  cFID (the Fashion-MNIST classifier) of the translated test images against the test targets, and the
  classifier's accuracy on them (correspondence), beside the identity baseline (the edge map itself).
- CycleGAN (Zhu et al. 2017) on mnist2thick (MNIST <-> thickened MNIST, unpaired in training): both
  directions' L1 to the true counterparts and correspondence (does a translated 3 stay a 3), beside identity.
- SRResNet then SRGAN initialised from it (Ledig et al. 2017) on sr-images (x4): PSNR and SSIM on the Y
  channel with a 4-pixel border, whole test images, beside bicubic upsampling.

Every number comes from ``lightgen evaluate``'s runner (:class:`lightgen.metrics.runner.Evaluation`), with the
standard error over the test items. The networks are narrowed for a CPU (stated per row); the budget is wall
clock per model (``--minutes``), so the step counts printed are what the machine managed.

    .venv/bin/python tools/bench/translation_table.py --minutes 6 --out runs/translation_table/results.json
    .venv/bin/python tools/bench/translation_table.py --models srresnet,srgan --minutes 20 --paper-nets  # GPU
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
from common import bench_trainer  # noqa: E402  (tools/bench is on sys.path)

from lightgen.data import PairedImages, SuperResolution, UnpairedImages
from lightgen.metrics.options import EvaluationOptions
from lightgen.metrics.runner import Evaluation
from lightgen.models import SRGAN, CycleGAN, Pix2Pix, SRResNet

# Set5 / Set14, x4, PSNR (dB) on Y with a 4-pixel border (Ledig et al. 2017, Table 2)
PAPER_PSNR = {"bicubic": (28.43, 25.99), "SRResNet": (32.05, 28.49), "SRGAN": (29.40, 26.02)}


def save_picture(model: L.LightningModule, args: argparse.Namespace, name: str) -> None:
    """The model's translation picture of its stored examples (``--pictures DIR``: DIR/<name>.png)."""
    if args.pictures:
        from lightgen.callbacks.translation_pictures import save_translation_grid

        path = save_translation_grid(model, Path(args.pictures) / f"{name}.png", max_rows=8)
        print(f"wrote {path}", flush=True)


def fit(model: L.LightningModule, dm: Any, minutes: float, accelerator: str) -> dict[str, Any]:
    trainer = bench_trainer(accelerator=accelerator, max_time={"seconds": int(minutes * 60)})
    start = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    return {"train_seconds": round(time.perf_counter() - start, 1), "generator_steps": model.generator_steps}


def evaluate(model: L.LightningModule, dm: Any, metrics: str, num: int, batch_size: int) -> dict[str, Any]:
    options = EvaluationOptions(metrics=metrics, num_samples=num, split="test", batch_size=batch_size, seed=0)
    report = Evaluation(options, model.eval(), dm, device=model.device).run()
    return {entry.metric: entry.values for entry in report.entries}


def pix2pix(args: argparse.Namespace) -> dict[str, Any]:
    dm = PairedImages(root=args.root, batch_size=16, seed=args.seed)
    dm.setup("fit")
    widths = 64 if args.paper_nets else 32
    model = Pix2Pix(dm.data_shape, num_downs=5, g_channels=widths, d_channels=widths, d_layers=2)
    budget = fit(model, dm, args.minutes, args.accelerator)
    save_picture(model, args, "pix2pix")
    scores = evaluate(model, dm, "l1,fid,cfid,correspondence", args.num_items, 100)
    nets = f"U-Net 5 levels x{widths}, PatchGAN 34 px x{widths}"
    return {"model": "pix2pix", "data": "edges2fashion 32 px", "nets": nets, "batch": 16, **budget, "scores": scores}


def cyclegan(args: argparse.Namespace) -> dict[str, Any]:
    dm = UnpairedImages(root=args.root, batch_size=1, seed=args.seed)
    dm.setup("fit")
    wide = args.paper_nets
    model = CycleGAN(dm.data_shape, g_channels=64 if wide else 16, g_blocks=9 if wide else 3,
                     d_channels=64 if wide else 16, d_layers=3 if wide else 2)  # fmt: skip
    budget = fit(model, dm, args.minutes, args.accelerator)
    save_picture(model, args, "cyclegan")
    scores = evaluate(model, dm, "l1,correspondence", args.num_items, 100)
    nets = "ResNet 9 blocks x64, PatchGAN 70 px" if wide else "ResNet 3 blocks x16, PatchGAN 34 px x16"
    return {"model": "CycleGAN", "data": "mnist2thick 32 px", "nets": nets, "batch": 1, **budget, "scores": scores}


def sr_data(args: argparse.Namespace) -> SuperResolution:
    crop = 96 if args.paper_nets else 48
    dm = SuperResolution(root=args.root, crop_size=crop, test_crop=None, batch_size=16, seed=args.seed)
    dm.setup("fit")
    return dm


def sr_nets(args: argparse.Namespace) -> dict[str, int]:
    return {"num_blocks": 16, "channels": 64} if args.paper_nets else {"num_blocks": 8, "channels": 32}


def srresnet(args: argparse.Namespace, keep: dict[str, Any]) -> dict[str, Any]:
    dm = sr_data(args)
    model = SRResNet(dm.data_shape, **sr_nets(args))
    budget = fit(model, dm, args.minutes, args.accelerator)
    save_picture(model, args, "srresnet")
    keep["srresnet"] = model
    scores = evaluate(model, dm, "psnr,ssim", len(dm.test_set), 1)
    return {"model": "SRResNet", "data": f"sr-images, {dm.data_shape[-1]} px HR crops", "nets": str(sr_nets(args)),
            "batch": 16, **budget, "scores": scores}  # fmt: skip


def srgan(args: argparse.Namespace, keep: dict[str, Any]) -> dict[str, Any]:
    dm = sr_data(args)
    model = SRGAN(dm.data_shape, content="features", d_channels=64 if args.paper_nets else 32, **sr_nets(args))
    start = "random"
    if "srresnet" in keep:  # the paper initialises SRGAN with the trained SRResNet
        model.generator.load_state_dict(keep["srresnet"].generator.state_dict())
        start = "the SRResNet above"
    budget = fit(model, dm, args.minutes, args.accelerator)
    save_picture(model, args, "srgan")
    scores = evaluate(model, dm, "psnr,ssim", len(dm.test_set), 1)
    return {"model": "SRGAN", "data": f"sr-images, {dm.data_shape[-1]} px HR crops", "nets": str(sr_nets(args)),
            "batch": 16, "init": start, **budget, "scores": scores}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="pix2pix,cyclegan,srresnet,srgan")
    parser.add_argument("--minutes", type=float, default=6.0, help="wall-clock training budget per model")
    parser.add_argument("--num-items", type=int, default=1000, help="test items scored (pix2pix, CycleGAN)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paper-nets", action="store_true", help="the papers' network widths (for a GPU)")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--root", default=None, help="data root (default $LIGHTGEN_DATA or data/)")
    parser.add_argument("--out", default=None, help="JSON of the results, rewritten after each model")
    parser.add_argument("--pictures", default=None, help="folder for each model's translation picture (PNG)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    keep: dict[str, Any] = {}
    rows = []
    for name in args.models.split(","):
        L.seed_everything(args.seed, verbose=False)
        row = {"pix2pix": pix2pix, "cyclegan": cyclegan}.get(name)
        result = row(args) if row else {"srresnet": srresnet, "srgan": srgan}[name](args, keep)
        rows.append({"seed": args.seed, "threads": args.threads, "minutes": args.minutes, **result})
        print(json.dumps(rows[-1], default=str), flush=True)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps({"config": vars(args), "rows": rows}, indent=1, default=str))
    if "srresnet" in args.models or "srgan" in args.models:
        print("paper (Set5 / Set14, x4, PSNR on Y):", PAPER_PSNR)


if __name__ == "__main__":
    main()
