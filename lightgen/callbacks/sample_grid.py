"""Sample grids during training: a fixed seed (fixed latents for a GAN), every N steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torchvision.utils import make_grid, save_image

from lightgen.callbacks.image_logging import crossed_interval, own_rng, write_picture
from lightgen.errors import LightgenError
from lightgen.models.base import GenerativeModel


def to_grid(samples: torch.Tensor, value_range: tuple[float, float], nrow: int) -> torch.Tensor:
    """(N, C, H, W) samples in ``value_range`` -> one (C, H', W') grid image in [0, 1]."""
    low, high = value_range
    images = ((samples.detach().float() - low) / (high - low)).clamp_(0, 1)
    return make_grid(images.cpu(), nrow=nrow, padding=2, pad_value=1.0)


def save_sample_grid(model: GenerativeModel, path: str | Path, num: int = 64, nrow: int = 8, seed: int = 0) -> Path:
    """Draw ``num`` samples from ``model`` with ``seed`` and write them as one PNG grid."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = to_grid(model.sample(num, seed=seed), model.value_range, nrow)
    save_image(grid, path)
    return path


class SampleGrid(Callback):
    """Every ``every_n_steps`` optimizer steps and at the end of training, draw ``num_samples``
    samples with a fixed seed, write ``<log_dir>/samples/step_XXXXXXX.png`` and log the grid to the
    active logger (wandb / TensorBoard; CSV runs keep the PNGs).

    Args:
        every_n_steps: interval in ``trainer.global_step`` (which counts every optimizer's steps).
        num_samples: images per grid.
        nrow: images per row.
        seed: the fixed seed, so successive grids show the same latents as training goes on.
    """

    def __init__(self, every_n_steps: int = 500, num_samples: int = 64, nrow: int = 8, seed: int = 0) -> None:
        if every_n_steps < 1 or num_samples < 1 or nrow < 1:
            got = f"{every_n_steps}, {num_samples}, {nrow}"
            raise LightgenError(f"SampleGrid needs positive every_n_steps, num_samples and nrow; got {got}")
        self.every_n_steps, self.num_samples, self.nrow, self.seed = every_n_steps, num_samples, nrow, seed
        self._last_step = -1
        self.last_path: Path | None = None

    def _write(self, trainer: Trainer, pl_module: LightningModule) -> None:
        step = trainer.global_step
        if step == self._last_step or not isinstance(pl_module, GenerativeModel):
            return
        self._last_step = step
        with own_rng(pl_module):  # sampling must not change training
            samples = pl_module.sample(self.num_samples, seed=self.seed)
        grid = to_grid(samples, pl_module.value_range, self.nrow)
        self.last_path = write_picture(trainer, grid, "samples", "", "samples") or self.last_path

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        if crossed_interval(self._last_step, trainer.global_step, self.every_n_steps):
            self._write(trainer, pl_module)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, pl_module)
