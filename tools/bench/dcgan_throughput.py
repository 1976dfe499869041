"""DCGAN training throughput: lightgen (eager, and compiled + channels-last) under a Trainer vs a plain PyTorch loop.

The step is that of PyTorch's DCGAN example (nz=100, ngf=ndf=64, batch 64, Adam 2e-4 with betas
(0.5, 0.999), binary cross-entropy; D on real, D on fake.detach(), then G on the same fake). Four
sides use the same networks, the same synthetic images and a DataLoader over them, in one process:

- plain: the example's loop in eager float32 (the reference every ratio divides by);
- plain, D frozen: the same loop with D's weight gradients off in the G step (lightgen's arithmetic);
- lightgen: ``lightgen.models.DCGAN`` under a Lightning ``Trainer`` at ``--precision``, eager;
- compiled: the same with ``compile=True, channels_last=True`` (``torch.compile`` of G's and D's forwards).

Repeats alternate (plain, plain D frozen, lightgen, compiled, then the order rotated by one) so drift
in machine load hits all sides. Each side is timed in steady state: the first ``--warmup`` steps of
every repeat are not timed, and Lightning's start-up is outside the timed window. Both lightgen models
are built once and trained on across repeats; before the first repeat each runs a fit of
``--compile-warmup`` untimed steps, where ``torch.compile`` compiles (minutes on a CPU the first time;
its wall time is printed, never timed). With ``--compile-warmup 0`` compilation falls in the first
repeat's ``--warmup`` steps, untimed as well.
Figures are mean ± standard error over repeats of the per-repeat ratio (median printed beside). On a
shared CPU, ``--clock cpu`` (steps per CPU-second of this process) and ``--threads 1`` are the steadier
measure: a second thread waits at every parallel region for a core the other jobs hold.

    python tools/bench/dcgan_throughput.py [--size 32 64] [--precision 32 bf16-mixed 16-mixed]
        [--steps 20] [--repeats 3] [--device cpu|cuda] [--quick] [--no-compile] [--markdown PATH]
        [--threads N] [--clock wall|cpu] [--compile-backend inductor|aot_eager]

prints steps/s of each side per repeat and, last, ``ratio lightgen/plain: X`` and ``ratio compiled/plain: Y``
(means; Y is compiled lightgen over the plain eager float32 loop) of the last configuration. ``--markdown``
appends one table row per measurement (a number, or ``skipped: <reason>``) to PATH, for tools/bench/gpu.sh.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from common import bench_trainer, mean_se  # noqa: E402  (tools/bench is on sys.path)
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, TensorDataset

from lightgen.data.base import EpochSampler, ResumableLoader
from lightgen.models import DCGAN
from lightgen.nets import DCGANDiscriminator, DCGANGenerator

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
#: the clock of the timed steps: wall (``perf_counter``) or this process's CPU time (``--clock cpu``)
CLOCK = [time.perf_counter]


def synthetic_images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_steps_per_second(
    images: torch.Tensor, args: argparse.Namespace, device: torch.device, freeze_d: bool = False
) -> float:
    """The reference loop, written as in PyTorch's DCGAN example (with logits and BCE-with-logits), float32.

    ``freeze_d`` turns off D's weight gradients during the G step, as lightgen's loop does: the
    same arithmetic as lightgen, so that ratio isolates the framework's own overhead.
    """
    size = images.shape[-1]
    torch.manual_seed(0)
    net_g = DCGANGenerator(100, (3, size, size), args.width).to(device)
    net_d = DCGANDiscriminator((3, size, size), args.width).to(device)
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(TensorDataset(images), batch_size=args.batch, shuffle=True, drop_last=True)
    steps, start = 0, 0.0
    while True:
        for (real,) in loader:
            if steps == args.warmup:
                sync(device)
                start = CLOCK[0]()
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
                return args.steps / (CLOCK[0]() - start)


class StepTimer(Callback):
    """Times training batches ``warmup`` .. ``warmup + steps`` of one fit (counted within that fit), then stops it."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.count = 0
        self.start = self.elapsed = 0.0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: object, idx: int) -> None:
        if self.count == self.warmup:
            sync(pl_module.device)
            self.start = CLOCK[0]()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        self.count += 1
        if self.count == self.warmup + self.steps:
            sync(pl_module.device)
            self.elapsed = CLOCK[0]() - self.start
            trainer.should_stop = True


def use_compile_backend(backend: str) -> None:
    """Route ``nn.Module.compile`` (what ``GAN.configure_model`` calls, without options) to ``backend``.

    For dry runs: ``aot_eager`` traces and runs the compiled path (dynamo, AOT autograd) without code
    generation, in seconds where inductor's first compilation takes minutes on a small CPU.
    """
    if backend == "inductor":
        return
    original = torch.nn.Module.compile

    def compile_with(self: torch.nn.Module, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("backend", backend)
        original(self, *args, **kwargs)

    torch.nn.Module.compile = compile_with  # type: ignore[method-assign]


def make_model(size: int, width: int, compiled: bool) -> DCGAN:
    torch.manual_seed(0)
    return DCGAN(
        data_shape=(3, size, size),
        latent_dim=100,
        g_width=width,
        d_width=width,
        compile=compiled,
        channels_last=compiled,
    )


def lightgen_steps_per_second(
    model: DCGAN, images: torch.Tensor, args: argparse.Namespace, device: torch.device, precision: str, warmup: int
) -> float:
    """One fit of ``model`` (built once, trained on across calls): ``warmup`` untimed steps, then ``--steps`` timed."""
    dataset = TensorDataset(images)
    loader = ResumableLoader(dataset, batch_size=args.batch, sampler=EpochSampler(dataset), drop_last=True)
    timer = StepTimer(warmup, args.steps)
    trainer = bench_trainer(accelerator=device.type, precision=precision, callbacks=[timer])
    trainer.fit(model, loader)
    return args.steps / timer.elapsed


def skip_reason(device: torch.device, precision: str) -> str | None:
    if device.type == "cuda" and not torch.cuda.is_available():
        return "no CUDA device"
    if precision == "16-mixed" and device.type != "cuda":
        return "needs CUDA"
    if precision == "bf16-mixed" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return "GPU without bfloat16"
    return None


def run_config(size: int, precision: str, args: argparse.Namespace, device: torch.device) -> list[tuple[str, str, str]]:
    """Measure one (size, precision); print its lines; return markdown rows (measurement, result, detail)."""
    label = f"DCGAN {size} px, {precision}"
    setup = f"batch {args.batch}, width {args.width}, {args.steps} timed steps x {args.repeats} repeats on {device}"
    print(f"== {label}, {setup} ==")
    reason = skip_reason(device, precision)
    names = ["lightgen eager / plain fp32 eager"]
    if not args.no_compile:
        names.append("compiled lightgen / plain fp32 eager")
    if reason:
        print(f"skipped: {reason}")
        return [(f"{label}, {name}", f"skipped: {reason}", "") for name in names]
    images = synthetic_images(args.batch * (args.warmup + args.steps + 1), size)
    models = {"lightgen": make_model(size, args.width, False)}
    if not args.no_compile:
        models["compiled"] = make_model(size, args.width, True)
    compile_s = {}
    for name, model in models.items() if args.compile_warmup else ():  # untimed: compilation, first allocations
        t0 = time.perf_counter()
        lightgen_steps_per_second(model, images, args, device, precision, args.compile_warmup)
        compile_s[name] = time.perf_counter() - t0
        print(f"{name}: untimed warm-up fit ({args.compile_warmup} + {args.steps} steps) took {compile_s[name]:.1f} s")
    unit = "steps/CPU-s" if CLOCK[0] is time.process_time else "steps/s"
    rates: dict[str, list[float]] = {"plain": [], "plain, D frozen": [], **{name: [] for name in models}}
    sides = [
        ("plain", lambda: plain_steps_per_second(images, args, device)),
        ("plain, D frozen", lambda: plain_steps_per_second(images, args, device, freeze_d=True)),
    ] + [
        (name, lambda m=model: lightgen_steps_per_second(m, images, args, device, precision, args.warmup))
        for name, model in models.items()
    ]
    for r in range(args.repeats):
        k = r % len(sides)  # the order rotates, so no side always runs first or last
        for name, measure in sides[k:] + sides[:k]:
            rates[name].append(measure())
        print(f"repeat {r}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in rates.items()) + f" {unit}")
    for name, values in rates.items():
        m, se = mean_se(values)
        print(f"{name}: {m:.3f} ± {se:.3f} {unit} (median {statistics.median(values):.3f})")
    ratios = {name: [o / p for o, p in zip(rates[name], rates["plain"])] for name in models}
    equal = mean_se([o / e for o, e in zip(rates["lightgen"], rates["plain, D frozen"])])
    print(f"ratio lightgen/plain (equal work, D frozen in the G step): {equal[0]:.3f} ± {equal[1]:.3f}")
    summary = {name: mean_se(values) for name, values in ratios.items()}
    print(
        f"mean ± s.e. over {args.repeats} repeats (median): "
        + ", ".join(
            f"{n}/plain {m:.3f} ± {se:.3f} ({statistics.median(ratios[n]):.3f})" for n, (m, se) in summary.items()
        )
    )
    print(f"ratio lightgen/plain: {summary['lightgen'][0]:.3f}")
    compiled = f"{summary['compiled'][0]:.3f}" if "compiled" in summary else "skipped (--no-compile)"
    print(f"ratio compiled/plain: {compiled}")
    plain = mean_se(rates["plain"])
    rows = []
    for name, key in zip(names, models):
        m, se = summary[key]
        detail = f"{mean_se(rates[key])[0]:.3f} vs {plain[0]:.3f} {unit}"
        if key in compile_s:
            detail += f"; warm-up fit {compile_s[key]:.0f} s (untimed)"
        if key == "compiled" and args.compile_backend != "inductor":
            detail += f"; backend {args.compile_backend}"
        rows.append((f"{label}, {name}", f"{m:.3f} ± {se:.3f}", detail))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", choices=(32, 64), default=None, help="default 64 (quick: 32)")
    parser.add_argument("--precision", nargs="+", choices=PRECISIONS, default=["32"], help="of the lightgen sides")
    parser.add_argument("--batch", type=int, default=None, help="default 64 (quick: 8)")
    parser.add_argument("--width", type=int, default=None, help="ngf = ndf; default 64 (quick: 8)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per repeat; default 20 (quick: 2)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps per repeat; default 3 (quick: 1)")
    parser.add_argument(
        "--compile-warmup",
        type=int,
        default=None,
        help="untimed steps of a first fit per model, before the repeats (0: none); default 3 (quick: 0)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (quick: 2)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall", help="cpu: steps per CPU-second of this process"
    )
    parser.add_argument("--quick", action="store_true", help="tiny run: 32 px, batch 8, width 8, 2 steps, 2 repeats")
    parser.add_argument("--no-compile", action="store_true", help="leave out the compiled side")
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend (aot_eager: dry runs)")
    parser.add_argument("--markdown", type=Path, default=None, help="append a table row per measurement here")
    args = parser.parse_args()
    quick = {"size": [32], "batch": 8, "width": 8, "steps": 2, "warmup": 1, "compile_warmup": 0, "repeats": 2}
    full = {"size": [64], "batch": 64, "width": 64, "steps": 20, "warmup": 3, "compile_warmup": 3, "repeats": 3}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    warnings.filterwarnings("ignore")
    use_compile_backend(args.compile_backend)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    device = torch.device(args.device)
    print(
        f"torch {torch.__version__}, lightning {L.__version__}, threads {torch.get_num_threads()}, "
        f"compile backend {args.compile_backend}, {args.clock} clock"
    )
    for size in args.size:
        for precision in args.precision:
            rows = run_config(size, precision, args, device)
            if args.markdown is not None:  # row by row: a run cut short keeps what it measured
                with args.markdown.open("a") as out:
                    out.writelines(f"| {a} | {b} | {c} |\n" for a, b, c in rows)


if __name__ == "__main__":
    main()
