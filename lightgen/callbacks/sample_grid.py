"""Sample grids during training: a fixed seed (fixed latents for a GAN), every N training batches.

A conditional model (``num_classes > 0``) gets one row per class, ``nrow`` samples in each.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch import LightningModule, Trainer
from torchvision.utils import make_grid, save_image

from lightgen.callbacks.image_logging import own_rng, write_picture
from lightgen.callbacks.periodic import PeriodicPicture
from lightgen.errors import LightgenError
from lightgen.models.base import GenerativeModel


def to_grid(samples: torch.Tensor, value_range: tuple[float, float], nrow: int) -> torch.Tensor:
    """(N, C, H, W) samples in ``value_range`` -> one (C, H', W') grid image in [0, 1]."""
    low, high = value_range
    images = ((samples.detach().float() - low) / (high - low)).clamp_(0, 1)
    return make_grid(images.cpu(), nrow=nrow, padding=2, pad_value=1.0)


def class_grid_labels(num_classes: int, per_class: int) -> torch.Tensor:
    """Labels 0..K-1, each repeated ``per_class`` times: one row per class in a grid of ``per_class`` columns."""
    return torch.arange(num_classes).repeat_interleave(per_class)


def draw_grid_samples(
    model: GenerativeModel, num: int, nrow: int, seed: int, label: int | None = None, class_grid: bool | None = None
) -> tuple[torch.Tensor, int]:
    """Samples for a grid and its row length: ``num`` samples (all of ``label`` if given), or for a
    conditional model by default (``class_grid`` None or True) one row of ``nrow`` samples per class."""
    classes = int(getattr(model, "num_classes", 0) or 0)
    if class_grid and not classes:
        raise LightgenError(f"a class grid needs a conditional model; {type(model).__name__} has no classes")
    if classes and label is None and class_grid is not False:
        labels = class_grid_labels(classes, nrow)
        return model.sample(len(labels), seed=seed, labels=labels), nrow
    if label is not None:
        return model.sample(num, seed=seed, labels=label), nrow
    return model.sample(num, seed=seed), nrow


def save_sample_grid(
    model: GenerativeModel,
    path: str | Path,
    num: int = 64,
    nrow: int = 8,
    seed: int = 0,
    label: int | None = None,
    class_grid: bool | None = None,
) -> Path:
    """Draw samples from ``model`` with ``seed`` (see :func:`draw_grid_samples`) and write one PNG grid."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples, nrow = draw_grid_samples(model, num, nrow, seed, label, class_grid)
    save_image(to_grid(samples, model.value_range, nrow), path)
    return path


class SampleGrid(PeriodicPicture):
    """Every ``every_n_steps`` training batches and at the end of training, draw ``num_samples``
    samples with a fixed seed (a conditional model: one row of ``nrow`` per class), write
    ``<log_dir>/samples/step_XXXXXXX.png`` and log the grid to the active logger (wandb / TensorBoard;
    CSV runs keep the PNGs), at the same step as the scalars of that batch.

    Args:
        every_n_steps: interval in training batches (the loggers' x-axis; a GAN's ``global_step`` counts
            both optimizers' steps and is not used).
        num_samples: images per grid (unconditional models).
        nrow: images per row (for a conditional model: samples per class).
        seed: the fixed seed, so successive grids show the same latents as training goes on.
    """

    def __init__(self, every_n_steps: int = 500, num_samples: int = 64, nrow: int = 8, seed: int = 0) -> None:
        if every_n_steps < 1 or num_samples < 1 or nrow < 1:
            got = f"{every_n_steps}, {num_samples}, {nrow}"
            raise LightgenError(f"SampleGrid needs positive every_n_steps, num_samples and nrow; got {got}")
        super().__init__(every_n_steps)
        self.num_samples, self.nrow, self.seed = num_samples, nrow, seed
        self.last_path: Path | None = None

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        if not isinstance(pl_module, GenerativeModel) or len(pl_module.data_shape) != 3 or not pl_module.can_sample:
            return False  # not images (2-D points: lightgen.callbacks.toy_scatter; token sequences; a matching model)
        with own_rng(pl_module):  # sampling must not change training
            samples, nrow = draw_grid_samples(pl_module, self.num_samples, self.nrow, self.seed)
        grid = to_grid(samples, pl_module.value_range, nrow)
        self.last_path = write_picture(trainer, grid, "samples", "", "samples") or self.last_path
        return True
