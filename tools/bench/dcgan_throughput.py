"""DCGAN training throughput: lightgen's LightningModule under a Trainer vs a plain PyTorch loop.

The step is that of PyTorch's DCGAN example (64 px, nz=100, ngf=ndf=64, batch 64, Adam 2e-4 with
betas (0.5, 0.999), binary cross-entropy; D on real, D on fake.detach(), then G on the same fake).
Both sides use the same networks, the same synthetic images and a DataLoader over them, in the same
process; repeats alternate (plain, lightgen, plain, ...) so drift in machine load hits both. Each
side is timed in steady state: the first ``--warmup`` steps of every repeat are not timed, and
Lightning's start-up (trainer construction, sanity checks) is outside the timed window.

    python tools/bench/dcgan_throughput.py [--size 64] [--steps 20] [--repeats 3] [--device cpu]

prints steps/s of each side per repeat and ``ratio lightgen/plain: X`` (median over repeats).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, TensorDataset

from lightgen.data.base import EpochSampler, ResumableLoader
from lightgen.models import DCGAN
from lightgen.nets import DCGANDiscriminator, DCGANGenerator


def synthetic_images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_steps_per_second(
    images: torch.Tensor, args: argparse.Namespace, device: torch.device, freeze_d: bool = False
) -> float:
    """The reference loop, written as in PyTorch's DCGAN example (with logits and BCE-with-logits).

    ``freeze_d`` turns off D's weight gradients during the G step, as lightgen's loop does: the
    same arithmetic as lightgen, so that ratio isolates the framework's own overhead.
    """
    torch.manual_seed(0)
    net_g = DCGANGenerator(100, (3, args.size, args.size), 64).to(device)
    net_d = DCGANDiscriminator((3, args.size, args.size), 64).to(device)
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(TensorDataset(images), batch_size=args.batch, shuffle=True, drop_last=True)
    steps, start = 0, None
    while True:
        for (real,) in loader:
            if steps == args.warmup:
                sync(device)
                start = time.perf_counter()
            real = real.to(device, non_blocking=True)
            ones = torch.ones(real.shape[0], device=device)
            zeros = torch.zeros(real.shape[0], device=device)
            # (1) D: maximise log D(x) + log(1 - D(G(z)))
            net_d.zero_grad(set_to_none=True)
            fake = net_g(torch.randn(real.shape[0], 100, device=device))
            loss_d = F.binary_cross_entropy_with_logits(net_d(real), ones) + F.binary_cross_entropy_with_logits(
                net_d(fake.detach()), zeros
            )
            loss_d.backward()
            opt_d.step()
            # (2) G: maximise log D(G(z)) on the same fake
            net_g.zero_grad(set_to_none=True)
            if freeze_d:
                net_d.requires_grad_(False)
            loss_g = F.binary_cross_entropy_with_logits(net_d(fake), ones)
            loss_g.backward()
            opt_g.step()
            if freeze_d:
                net_d.requires_grad_(True)
            steps += 1
            if steps == args.warmup + args.steps:
                sync(device)
                return args.steps / (time.perf_counter() - start)


class StepTimer(Callback):
    """Times training batches ``warmup`` .. ``warmup + steps`` of a fit."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.start = self.elapsed = 0.0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, idx: int) -> None:
        if pl_module.batches_seen == self.warmup:
            sync(pl_module.device)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        if pl_module.batches_seen == self.warmup + self.steps:
            sync(pl_module.device)
            self.elapsed = time.perf_counter() - self.start
            trainer.should_stop = True


def lightgen_steps_per_second(images: torch.Tensor, args: argparse.Namespace, device: torch.device) -> float:
    torch.manual_seed(0)
    model = DCGAN(data_shape=(3, args.size, args.size), latent_dim=100, g_width=64, d_width=64)
    dataset = TensorDataset(images)
    loader = ResumableLoader(dataset, batch_size=args.batch, sampler=EpochSampler(dataset), drop_last=True)
    timer = StepTimer(args.warmup, args.steps)
    trainer = L.Trainer(
        accelerator=device.type,
        devices=1,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        log_every_n_steps=50,
    )
    trainer.fit(model, loader)
    return args.steps / timer.elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps at the start of each repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    device = torch.device(args.device)
    images = synthetic_images(args.batch * (args.warmup + args.steps + 1), args.size)
    print(f"DCGAN {args.size}px, batch {args.batch}, {args.steps} timed steps x {args.repeats} repeats on {device}")
    print(f"torch {torch.__version__}, lightning {L.__version__}, threads {torch.get_num_threads()}")
    plain, equal, ours = [], [], []
    for r in range(args.repeats):
        plain.append(plain_steps_per_second(images, args, device))
        equal.append(plain_steps_per_second(images, args, device, freeze_d=True))
        ours.append(lightgen_steps_per_second(images, args, device))
        print(
            f"repeat {r}: plain {plain[-1]:.3f}, plain with D frozen in the G step {equal[-1]:.3f}, "
            f"lightgen {ours[-1]:.3f} steps/s"
        )
    for name, values in (("plain", plain), ("plain, D frozen", equal), ("lightgen", ours)):
        print(f"median {name}: {statistics.median(values):.3f} steps/s")
    equal_work = statistics.median(o / e for o, e in zip(ours, equal))
    print(f"ratio lightgen/plain (equal work, D frozen in the G step): {equal_work:.3f}")
    print(f"ratio lightgen/plain: {statistics.median(o / p for o, p in zip(ours, plain)):.3f}")


if __name__ == "__main__":
    main()
