"""A discriminator trained to optimality on two known 1-D densities matches d*(x) = p_data / (p_data + p_model).

Goodfellow et al. (2014), "Generative Adversarial Nets", Proposition 1, eq. (2): for a fixed generator the
D maximising V(G, D) = E_{p_data}[log D(x)] + E_{p_model}[log(1 - D(x))] (eq. 1) is d*(x) above, because
a log y + b log(1 - y) peaks at y = a / (a + b). (Also Goodfellow 2016, NIPS tutorial, exercise 7.1 / sec. 8.1.)

Here both densities are equal-weight Gaussian mixtures given as ``MEAN STD`` pairs. The expectations of
eq. (1) are taken on a fine grid with the densities as weights (a Riemann sum, no sampling noise), and a
small MLP D is trained on them with Adam, full batch, by the cross-entropy loss -V. The plot shows D(x)
against d*(x) above and both densities below; the printed gap is max |D(x) - d*(x)| where
p_data + p_model exceeds SUPPORT = 1% of its peak. Outside that the loss weighs D's error by next to no
density, so D is barely constrained there: a GAN's D is only meaningful where some player puts mass.

    python tools/demos/optimal_discriminator.py --out docs/img/optimal_discriminator.png
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from lightgen.errors import LightgenError  # noqa: E402  (the repo root is on sys.path)

Mixture = list[tuple[float, float]]  # (mean, std) of each equal-weight Gaussian component
# the gap is measured where p_data + p_model exceeds this fraction of its peak: below it eq. (1) weighs D's error
# by so little density that no finite training pins D down (D is free where neither player puts mass)
SUPPORT = 1e-2


def mixture(values: list[float], name: str) -> Mixture:
    """``MEAN STD [MEAN STD ...]`` from the command line as a Mixture; one-line LightgenError if malformed."""
    if not values or len(values) % 2:
        raise LightgenError(f"--{name} takes MEAN STD pairs, got {len(values)} numbers: {values}")
    pairs = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    for mean, std in pairs:
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise LightgenError(f"--{name} needs a finite mean and a positive std, got mean={mean} std={std}")
    return pairs


def density(x: torch.Tensor, components: Mixture) -> torch.Tensor:
    """The mixture's density at each x (any shape), the components weighted equally."""
    total = torch.zeros_like(x)
    for mean, std in components:
        total = total + torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    return total / len(components)


def optimal_discriminator(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """d*(x) = p_data(x) / (p_data(x) + p_model(x)), Goodfellow et al. (2014) eq. (2), from the densities at x."""
    return p_data / (p_data + p_model)


def grid(data: Mixture, model: Mixture, n: int = 201) -> torch.Tensor:
    """n evenly spaced float32 points covering every component's mean +- 5 std."""
    both = data + model
    lo = min(mean - 5 * std for mean, std in both)
    hi = max(mean + 5 * std for mean, std in both)
    return torch.linspace(lo, hi, n)


class Discriminator(nn.Module):
    """A 1-D MLP D(x) in (0, 1); x is standardised by the grid's centre and half-width before the first layer."""

    def __init__(self, centre: float, scale: float, width: int = 32) -> None:
        super().__init__()
        self.centre, self.scale = centre, scale
        self.net = nn.Sequential(
            nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1)
        )

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        """The pre-sigmoid output for x of shape (n,), shape (n,)."""
        return self.net(((x - self.centre) / self.scale).unsqueeze(-1)).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logit(x))


def train(x: torch.Tensor, p_data: torch.Tensor, p_model: torch.Tensor, steps: int, seed: int) -> Discriminator:
    """Adam on -V(G, D) (eq. 1) with the expectations as density-weighted sums over the grid x; returns D."""
    if steps < 1:
        raise LightgenError(f"steps must be at least 1, got {steps}")
    torch.manual_seed(seed)
    d = Discriminator(centre=float(x.mean()), scale=float(x.max() - x.mean()))
    w_data, w_model = p_data / p_data.sum(), p_model / p_model.sum()  # each sums to 1: an expectation
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)  # a decaying rate settles D onto the optimum
    for _ in range(steps):
        logit = d.logit(x)
        # -log D(x) = softplus(-logit), -log(1 - D(x)) = softplus(logit): stable for large |logit|
        loss = (w_data * F.softplus(-logit)).sum() + (w_model * F.softplus(logit)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return d


def max_gap(d_x: torch.Tensor, d_star: torch.Tensor, p_data: torch.Tensor, p_model: torch.Tensor) -> float:
    """max |D(x) - d*(x)| over the x where p_data + p_model > SUPPORT times its maximum."""
    total = p_data + p_model
    mask = total > SUPPORT * total.max()
    return float((d_x - d_star).abs()[mask].max())


def plot(
    x: torch.Tensor,
    d_x: torch.Tensor,
    d_star: torch.Tensor,
    p_data: torch.Tensor,
    p_model: torch.Tensor,
    gap: float,
    out: Path,
) -> None:
    """D(x) against d*(x) above (the measured region shaded), p_data and p_model below, saved as a PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global state, and PNGs render through Agg

    fig = Figure(figsize=(6, 5))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    top.plot(x, d_star, "--", color="k", lw=2, label="d*(x) = p_data / (p_data + p_model)")
    top.plot(x, d_x, color="C3", lw=1.2, label=f"trained D(x), max gap {gap:.3f}")
    top.axhline(0.5, color="0.7", lw=0.8)
    total = p_data + p_model
    inside = x[total > SUPPORT * total.max()]
    top.axvspan(float(inside.min()), float(inside.max()), color="0.92", zorder=0, label="where the gap is measured")
    top.set(ylabel="D(x)", ylim=(-0.02, 1.02), title="The optimal discriminator (Goodfellow et al. 2014, Prop. 1)")
    top.legend(fontsize=8, loc="lower left")
    bottom.fill_between(x, p_data, alpha=0.4, color="C0", label="p_data")
    bottom.fill_between(x, p_model, alpha=0.4, color="C1", label="p_model")
    bottom.set(xlabel="x", ylabel="density")
    bottom.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)


def main(argv: list[str] | None = None) -> float:
    """Train D on the grid, print the max gap to d*, write the PNG; returns the gap."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=float, nargs="+", default=[0.0, 1.0], metavar="MEAN STD", help="p_data's pairs")
    p.add_argument("--model", type=float, nargs="+", default=[1.5, 0.7], metavar="MEAN STD", help="p_model's pairs")
    p.add_argument("--steps", type=int, default=2000, help="full-batch Adam steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("outputs/demos/optimal_discriminator.png"))
    args = p.parse_args(argv)
    torch.set_num_threads(
        1
    )  # 201 points through a 32-wide MLP: more threads only add synchronisation, many-fold slower
    try:
        data, model = mixture(args.data, "data"), mixture(args.model, "model")
        x = grid(data, model)
        p_data, p_model = density(x, data), density(x, model)
        d = train(x, p_data, p_model, args.steps, args.seed)
    except LightgenError as err:
        raise SystemExit(f"optimal_discriminator: {err}") from None
    with torch.no_grad():
        d_x = d(x)
    d_star = optimal_discriminator(p_data, p_model)
    gap = max_gap(d_x, d_star, p_data, p_model)
    print(f"max |D(x) - d*(x)| = {gap:.4f} where p_data + p_model > {SUPPORT:g} of its max ({args.steps} Adam steps)")
    plot(x, d_x, d_star, p_data, p_model, gap, args.out)
    print(f"wrote {args.out}")
    return gap


if __name__ == "__main__":
    main()
