"""Gradient play on the bilinear game v(a, b) = a*b: simultaneous steps spiral out, alternating steps orbit.

Goodfellow (2016), "NIPS 2016 Tutorial: Generative Adversarial Networks" (arXiv:1701.00160), exercise 7.2
and its solution in sec. 8.2, fig. 36. Player A minimises v over a, player B maximises it over b; the only
equilibrium is (0, 0). The gradients are dv/da = b and dv/db = a, so with step size lr:

- simultaneous: (a, b) <- (a - lr*b, b + lr*a), the matrix [[1, -lr], [lr, 1]] = sqrt(1 + lr^2) * rotation,
  so each step multiplies the distance from (0, 0) by exactly sqrt(1 + lr^2): an outward spiral;
- alternating: a <- a - lr*b, then b <- b + lr*a with the new a. The step's matrix has determinant 1 and
  a^2 + b^2 - lr*a*b is conserved, an ellipse for lr < 2: the iterates orbit and never converge;
- continuous time (lr -> 0): da/dt = -b, db/dt = a, a circle of the starting radius.

    python tools/demos/nonconvergence.py --out docs/img/nonconvergence.png
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from lightgen.errors import LightgenError  # noqa: E402  (the repo root is on sys.path)


def check(steps: int, lr: float) -> None:
    """One-line LightgenError for a step count or step size the demo cannot use."""
    if steps < 1:
        raise LightgenError(f"steps must be at least 1, got {steps}")
    if not (math.isfinite(lr) and lr > 0):
        raise LightgenError(f"lr must be a positive finite number, got {lr}")


def simultaneous(start: tuple[float, float], steps: int, lr: float) -> torch.Tensor:
    """Both players step at once from the same (a, b); returns (steps + 1, 2) float64 iterates, start first."""
    check(steps, lr)
    path = torch.empty(steps + 1, 2, dtype=torch.float64)
    a, b = start
    path[0] = torch.tensor([a, b], dtype=torch.float64)
    for t in range(1, steps + 1):
        a, b = a - lr * b, b + lr * a  # descent on v for A (dv/da = b), ascent for B (dv/db = a)
        path[t] = torch.tensor([a, b], dtype=torch.float64)
    return path


def alternating(start: tuple[float, float], steps: int, lr: float) -> torch.Tensor:
    """A steps, then B steps against the new a; returns (steps + 1, 2) float64 iterates, start first."""
    check(steps, lr)
    path = torch.empty(steps + 1, 2, dtype=torch.float64)
    a, b = start
    path[0] = torch.tensor([a, b], dtype=torch.float64)
    for t in range(1, steps + 1):
        a = a - lr * b
        b = b + lr * a
        path[t] = torch.tensor([a, b], dtype=torch.float64)
    return path


def alternating_invariant(path: torch.Tensor, lr: float) -> torch.Tensor:
    """a^2 + b^2 - lr*a*b at each iterate of :func:`alternating`: constant along its path (an ellipse)."""
    a, b = path[:, 0], path[:, 1]
    return a * a + b * b - lr * a * b


def circle(start: tuple[float, float], times: torch.Tensor) -> torch.Tensor:
    """The continuous-time flow da/dt = -b, db/dt = a at ``times``: start rotated by each t, shape (len(times), 2)."""
    a, b = start
    c, s = torch.cos(times.double()), torch.sin(times.double())
    return torch.stack([a * c - b * s, a * s + b * c], dim=1)


def plot(paths: dict[str, torch.Tensor], start: tuple[float, float], lr: float, out: Path) -> None:
    """Side-by-side phase portraits (a, b) of each scheme, the continuous circle dashed, saved as a PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global state, and PNGs render through Agg

    ring = circle(start, torch.linspace(0, 2 * math.pi, 200))
    reach = max(float(p.abs().max()) for p in paths.values()) * 1.1
    fig = Figure(figsize=(8, 4))
    axes = fig.subplots(1, len(paths))
    for ax, (name, path) in zip(axes, paths.items()):
        ax.plot(ring[:, 0], ring[:, 1], "--", color="0.6", lw=1, label="continuous time")
        ax.plot(path[:, 0], path[:, 1], lw=1, label="iterates")
        ax.plot(*start, "o", color="C2", label="start")
        ax.plot(0, 0, "*", color="C3", ms=12, label="equilibrium (0, 0)")
        ax.set(xlim=(-reach, reach), ylim=(-reach, reach), xlabel="a (minimises ab)", aspect="equal")
        ax.set_title(f"{name}: {len(path) - 1} steps of lr={lr:g}")
    axes[0].set_ylabel("b (maximises ab)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    """Run both schemes, print start and final distance from (0, 0) per scheme, write the PNG; returns them."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--start", type=float, nargs=2, default=(1.0, 1.0), metavar=("A", "B"))
    p.add_argument("--out", type=Path, default=Path("outputs/demos/nonconvergence.png"))
    args = p.parse_args(argv)
    start = (args.start[0], args.start[1])
    try:
        paths = {
            "simultaneous": simultaneous(start, args.steps, args.lr),
            "alternating": alternating(start, args.steps, args.lr),
        }
    except LightgenError as err:
        raise SystemExit(f"nonconvergence: {err}") from None
    radii = {}
    for name, path in paths.items():
        first, last = float(path[0].norm()), float(path[-1].norm())
        radii[name] = (first, last)
        print(
            f"{name}: distance from (0, 0) {first:.4f} at start, {last:.4f} after {args.steps} steps (lr={args.lr:g})"
        )
    plot(paths, start, args.lr, args.out)
    print(f"wrote {args.out}")
    return radii


if __name__ == "__main__":
    main()
