"""Scatter plots of a 2-D model's samples over training: mode collapse made visible.

At chosen training steps, draw a fixed-seed set of samples (the same latents every time) and plot them
over real points and the mixture's centres (:class:`lightgen.data.GaussianMixture2D` exposes
``mode_centers``); at the end of training, one PNG holds every snapshot side by side, so a generator
that hops from mode to mode, or settles on a few, shows as a row of panels (Metz et al. 2017, fig. 1;
Srivastava et al. 2017, fig. 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from lightgen.callbacks.image_logging import crossed_interval, logging_step, own_rng, write_picture
from lightgen.errors import LightgenError
from lightgen.models.base import GenerativeModel


def render_points(
    panels: Sequence[tuple[str, torch.Tensor]],
    real: torch.Tensor | None,
    centers: torch.Tensor | None,
    limit: float,
    panel_inches: float = 3.0,
) -> torch.Tensor:
    """One row of scatter panels, each ``(title, points (N, 2))`` over the real points (grey) and the
    centres (black crosses), on the square [-limit, limit]^2; returns the picture (3, H, W) in [0, 1]."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no display, no pyplot state: a buffer
    from matplotlib.figure import Figure

    fig = Figure(figsize=(panel_inches * len(panels), panel_inches), dpi=100)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, points) in zip(axes, panels):
        if real is not None:
            ax.scatter(real[:, 0], real[:, 1], s=2, c="0.75", linewidths=0, label="real")
        ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:blue", linewidths=0, label="generated")
        if centers is not None:
            ax.scatter(centers[:, 0], centers[:, 1], s=20, c="black", marker="x", linewidths=0.8, label="modes")
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    canvas.draw()
    rgba = torch.from_numpy(np.asarray(canvas.buffer_rgba()).copy())  # (H, W, 4) uint8
    return rgba[..., :3].permute(2, 0, 1).float().div(255.0)


class PointCloudSnapshots(Callback):
    """Every ``every_n_steps`` training batches (or at the batches of ``at_steps``) and at the end of
    training, draw ``num_samples`` samples with a fixed seed, write ``<log_dir>/samples/points_step_XXXXXXX.png``
    (generated points over ``num_real`` real ones and the modes) and log it to the loggers at the step of
    that batch's scalars; at the end of training write ``<log_dir>/samples/points_timeline.png``, every
    snapshot side by side (at most ``max_panels``, evenly picked, the last always kept), and log it too.

    Args:
        every_n_steps: interval in training batches (the loggers' x-axis); None: only ``at_steps``.
        at_steps: explicit training-batch counts to snapshot at (e.g. [100, 500, 2000]), with or
            without ``every_n_steps``.
        num_samples: generated points per snapshot.
        num_real: real training points drawn under them (0: none).
        seed: the fixed seed: every snapshot shows the same latents.
        max_panels: most panels in the timeline picture.
    """

    def __init__(
        self,
        every_n_steps: int | None = 500,
        at_steps: list[int] | None = None,
        num_samples: int = 1000,
        num_real: int = 1000,
        seed: int = 0,
        max_panels: int = 8,
    ) -> None:
        if every_n_steps is not None and every_n_steps < 1:
            raise LightgenError(f"every_n_steps must be a positive integer or None; got {every_n_steps}")
        if at_steps is not None and any(int(s) < 1 for s in at_steps):
            raise LightgenError(f"at_steps must be positive training-batch counts; got {at_steps}")
        if num_samples < 1 or num_real < 0 or max_panels < 1:
            got = f"{num_samples}, {num_real}, {max_panels}"
            raise LightgenError(
                f"PointCloudSnapshots needs num_samples >= 1, num_real >= 0, max_panels >= 1; got {got}"
            )
        self.every_n_steps, self.at_steps = every_n_steps, sorted({int(s) for s in at_steps or []})
        self.num_samples, self.num_real, self.seed, self.max_panels = num_samples, num_real, seed, max_panels
        self.snapshots: list[tuple[int, torch.Tensor]] = []  # (training batches done, points (N, 2)), in order
        self._last_step = -1
        self.last_path: Path | None = None
        self.timeline_path: Path | None = None

    # ------------------------------------------------------------------ what is drawn
    @staticmethod
    def _mixture(trainer: Trainer) -> tuple[torch.Tensor | None, Any]:
        dm = getattr(trainer, "datamodule", None)
        centers = getattr(dm, "mode_centers", None)
        return (None if centers is None else centers.detach().float().cpu()), dm

    def _real(self, dm: Any) -> torch.Tensor | None:
        dataset = getattr(dm, "train_set", None)
        if not self.num_real or dataset is None:
            return None
        n = min(self.num_real, len(dataset))
        items = [dataset[i] for i in range(n)]
        return torch.stack([it[0] if isinstance(it, (tuple, list)) else it for it in items]).float().flatten(1)

    def _limit(self, centers: torch.Tensor | None, real: torch.Tensor | None) -> float:
        ref = centers if centers is not None else real
        return 1.5 * float(ref.abs().max()) if ref is not None and len(ref) else 2.0

    def _picture(self, trainer: Trainer, panels: list[tuple[str, torch.Tensor]]) -> torch.Tensor:
        centers, dm = self._mixture(trainer)
        real = self._real(dm)
        return render_points(panels, real, centers, self._limit(centers, real))

    # ------------------------------------------------------------------ when
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        shape = tuple(getattr(pl_module, "data_shape", ()))
        if shape != (2,):
            raise LightgenError(f"PointCloudSnapshots plots 2-D points; the model's data_shape is {shape}")

    def _due(self, batches_done: int) -> bool:
        periodic = self.every_n_steps is not None and crossed_interval(
            self._last_step, batches_done, self.every_n_steps
        )
        return periodic or any(max(self._last_step, 0) < s <= batches_done for s in self.at_steps)

    def _snapshot(self, trainer: Trainer, pl_module: LightningModule, batches_done: int) -> None:
        if batches_done == self._last_step or not isinstance(pl_module, GenerativeModel):
            return
        self._last_step = batches_done
        with own_rng(pl_module), torch.no_grad():  # sampling must not change training
            points = pl_module.sample(self.num_samples, seed=self.seed).detach().float().cpu().flatten(1)
        self.snapshots.append((batches_done, points))
        picture = self._picture(trainer, [(f"{batches_done} batches", points)])
        self.last_path = write_picture(trainer, picture, "samples", "points", "points") or self.last_path

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        batches_done = logging_step(trainer) + 1
        if self._due(batches_done):
            self._snapshot(trainer, pl_module, batches_done)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._snapshot(trainer, pl_module, logging_step(trainer))
        if not self.snapshots:
            return
        picks = self.snapshots
        if len(picks) > self.max_panels:  # evenly spaced, first and last kept
            index = torch.linspace(0, len(picks) - 1, self.max_panels).round().long().unique().tolist()
            picks = [picks[i] for i in index]
        picture = self._picture(trainer, [(f"{step} batches", points) for step, points in picks])
        path = write_picture(trainer, picture, "samples", "points_timeline", "points_timeline")
        if path is not None:  # one timeline per run: drop the step from its name
            self.timeline_path = path.replace(path.with_name("points_timeline.png"))

    # ------------------------------------------------------------------ resume: earlier panels survive
    def state_dict(self) -> dict[str, Any]:
        return {"steps": [s for s, _ in self.snapshots], "points": [p for _, p in self.snapshots]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.snapshots = list(zip(state_dict.get("steps", []), state_dict.get("points", [])))
        self._last_step = self.snapshots[-1][0] if self.snapshots else -1
