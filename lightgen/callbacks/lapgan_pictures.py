"""LAPGAN's levels picture (Denton et al. 2015, fig. 3 style): for the same samples, the image after each
level of the coarse-to-fine recursion.

Rows are samples; columns are I~_K (the coarsest GAN's output), then I~_{K-1}, ..., I~_0 (the final
sample), each shown at full size by pixel replication, so a column's resolution is visible.
:func:`save_levels_picture` writes it for a loaded model (as ``lightgen sample`` writes a grid);
:class:`LAPGANLevels` draws it during training, to ``<log_dir>/pictures/`` and the active logger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule, Trainer
from torchvision.utils import save_image

from lightgen.callbacks.image_logging import own_rng, write_picture
from lightgen.callbacks.periodic import PeriodicPicture
from lightgen.callbacks.sample_grid import to_grid
from lightgen.errors import LightgenError


def _check_model(model: Any) -> None:
    if not callable(getattr(model, "sample_levels", None)):
        raise LightgenError(f"the levels picture draws a LAPGAN's pyramid levels; {type(model).__name__} has none")


def levels_grid(model: Any, num: int = 8, seed: int = 0) -> torch.Tensor:
    """A (3, H', W') grid in [0, 1]: ``num`` rows (samples) of ``levels`` columns, coarsest first."""
    _check_model(model)
    if num < 1:
        raise LightgenError(f"the levels picture needs at least one sample; got num={num}")
    images = model.sample_levels(model.draw_latent(num, seed))  # [I~_0, ..., I~_K]
    size = images[0].shape[-2:]
    columns = [F.interpolate(image, size=size, mode="nearest") for image in reversed(images)]
    rows = torch.stack(columns, dim=1).flatten(0, 1)  # (num * levels, C, H, W), row-major
    return to_grid(rows, model.value_range, nrow=len(columns))


def save_levels_picture(model: Any, path: str | Path, num: int = 8, seed: int = 0) -> Path:
    """Write the levels picture of ``num`` samples drawn with ``seed`` as one PNG; returns its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        save_image(levels_grid(model, num, seed), path)
    return path


class LAPGANLevels(PeriodicPicture):
    """Every ``every_n_steps`` training batches and when training ends, the levels picture of
    ``num_samples`` fixed-seed samples, written as ``<log_dir>/pictures/lapgan_levels_step_XXXXXXX.png``
    and logged to wandb / TensorBoard at the step of that batch's scalars.

    Args:
        every_n_steps: interval in training batches.
        num_samples: rows of the picture.
        seed: the fixed seed, so successive pictures show the same latents.
    """

    def __init__(self, every_n_steps: int = 500, num_samples: int = 8, seed: int = 0) -> None:
        if every_n_steps < 1 or num_samples < 1:
            raise LightgenError(
                f"LAPGANLevels needs positive every_n_steps and num_samples; got {every_n_steps}, {num_samples}"
            )
        super().__init__(every_n_steps)
        self.num_samples, self.seed = num_samples, seed
        self.last_path: Path | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        _check_model(pl_module)

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        with own_rng(pl_module):  # drawing must not change training
            grid = levels_grid(pl_module, self.num_samples, self.seed)
        self.last_path = write_picture(trainer, grid, "pictures", "lapgan_levels", "lapgan_levels") or self.last_path
        return True
