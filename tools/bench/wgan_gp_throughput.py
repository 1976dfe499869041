"""WGAN-GP training throughput: lightgen's GAN module under a Lightning Trainer vs a plain PyTorch loop.

The step is WGAN-GP's Algorithm 1 (Gulrajani et al. 2017): n_critic = 5 critic updates per generator
update, each on its own batch, critic cost D(G(z)) - D(x) + lambda (||grad D(xhat)|| - 1)^2 with
lambda = 10 and one interpolation weight eps ~ U[0, 1] per sample, Adam(1e-4, betas (0, 0.9)) for both
players. Both sides use the same networks (the InfoGAN MNIST nets of Lucic et al. 2018, critic without
batch norm), batch 64 of 28x28 images, the same synthetic data through a DataLoader, in the same process
and the same number of torch threads. The plain loop does lightgen's arithmetic: G's graph is built only
at the batch whose fake the G step reuses, and D's weights get no gradients in the G step.

Repeats alternate (plain, lightgen, plain, ...) so drift in machine load hits both; each repeat times
``--batches`` training batches after ``--warmup`` untimed ones (both multiples of 5, so both sides do the
same G steps); Lightning's start-up is outside the timed window.

    python tools/bench/wgan_gp_throughput.py [--batches 50] [--warmup 10] [--repeats 5] [--threads 1]

prints batches/s (critic steps/s) of each side per repeat, mean +- standard error, and last the line
``ratio lightgen/plain: X`` (ratio of the means; goal >= 0.97).
"""

from __future__ import annotations

import argparse
import time
import warnings
from functools import partial

import lightning as L
import torch
from common import bench_trainer, mean_se  # noqa: E402  (tools/bench is on sys.path)
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, TensorDataset

from lightgen.data.base import EpochSampler, ResumableLoader
from lightgen.losses.objectives import WassersteinGP
from lightgen.models import InfoNetGAN
from lightgen.nets.infogan import InfoGANDiscriminator, InfoGANGenerator

SHAPE, Z, N_CRITIC, GP = (1, 28, 28), 64, 5, 10.0
ADAM = {"lr": 1e-4, "betas": (0.0, 0.9)}


def plain_batches_per_second(images: torch.Tensor, args: argparse.Namespace) -> float:
    torch.manual_seed(0)
    net_g, net_d = InfoGANGenerator(Z, SHAPE), InfoGANDiscriminator(SHAPE, norm="none")
    opt_g, opt_d = torch.optim.Adam(net_g.parameters(), **ADAM), torch.optim.Adam(net_d.parameters(), **ADAM)
    loader = DataLoader(TensorDataset(images), batch_size=args.batch, shuffle=True, drop_last=True)
    batches, start = 0, 0.0
    while True:
        for (real,) in loader:
            if batches == args.warmup:
                start = time.perf_counter()
            g_follows = (batches + 1) % N_CRITIC == 0
            n = real.shape[0]
            with torch.set_grad_enabled(g_follows):
                fake = net_g(torch.randn(n, Z))
            # critic step: D(G(z)) - D(x) + lambda (||grad D(xhat)|| - 1)^2, one eps per sample
            net_g.requires_grad_(False)
            eps = torch.rand(n, 1, 1, 1)
            xhat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
            (grad,) = torch.autograd.grad(net_d(xhat).sum(), xhat, create_graph=True)
            penalty = (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()
            loss_d = net_d(fake.detach()).mean() - net_d(real).mean() + GP * penalty
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            net_g.requires_grad_(True)
            if g_follows:  # generator step on the same fake, D frozen
                net_d.requires_grad_(False)
                loss_g = -net_d(fake).mean()
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                net_d.requires_grad_(True)
            batches += 1
            if batches == args.warmup + args.batches:
                return args.batches / (time.perf_counter() - start)


class BatchTimer(Callback):
    """Times training batches ``warmup`` .. ``warmup + batches`` of a fit, then stops it."""

    def __init__(self, warmup: int, batches: int) -> None:
        self.warmup, self.batches = warmup, batches
        self.start = self.elapsed = 0.0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        if pl_module.batches_seen == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        if pl_module.batches_seen == self.warmup + self.batches:
            self.elapsed = time.perf_counter() - self.start
            trainer.should_stop = True


def lightgen_batches_per_second(images: torch.Tensor, args: argparse.Namespace) -> float:
    torch.manual_seed(0)
    model = InfoNetGAN(
        SHAPE,
        latent_dim=Z,
        d_norm="none",
        objective=WassersteinGP(gp_weight=GP),
        d_steps=N_CRITIC,
        g_optimizer=partial(torch.optim.Adam, **ADAM),
        d_optimizer=partial(torch.optim.Adam, **ADAM),
    )
    dataset = TensorDataset(images)
    loader = ResumableLoader(dataset, batch_size=args.batch, sampler=EpochSampler(dataset), drop_last=True)
    timer = BatchTimer(args.warmup, args.batches)
    trainer = bench_trainer(callbacks=[timer])
    trainer.fit(model, loader)
    return args.batches / timer.elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=50, help="timed training batches per repeat (multiple of 5)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed batches per repeat (multiple of 5)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, the same for both sides")
    args = parser.parse_args()
    if args.batches % N_CRITIC or args.warmup % N_CRITIC:
        parser.error(f"--batches and --warmup must be multiples of n_critic = {N_CRITIC}")
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    images = torch.rand(
        args.batch * (args.warmup + args.batches + 1), *SHAPE, generator=torch.Generator().manual_seed(0)
    )
    images = images * 2 - 1
    print(
        f"WGAN-GP, InfoGAN MNIST nets (critic without norm), batch {args.batch}, n_critic {N_CRITIC}, lambda {GP}, "
        f"{args.batches} timed batches x {args.repeats} repeats on cpu"
    )
    print(f"torch {torch.__version__}, lightning {L.__version__}, threads {torch.get_num_threads()}")
    plain, ours = [], []
    for r in range(args.repeats):
        plain.append(plain_batches_per_second(images, args))
        ours.append(lightgen_batches_per_second(images, args))
        print(f"repeat {r}: plain {plain[-1]:.3f}, lightgen {ours[-1]:.3f} batches/s")
    (pm, pse), (om, ose) = mean_se(plain), mean_se(ours)
    print(f"plain    {pm:.3f} +- {pse:.3f} batches/s (mean +- s.e., {args.repeats} repeats)")
    print(f"lightgen {om:.3f} +- {ose:.3f} batches/s")
    print(f"ratio lightgen/plain: {om / pm:.3f}")


if __name__ == "__main__":
    main()
