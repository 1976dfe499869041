"""Image-to-image translations during training: one row per stored example, one column per panel.

The columns are the model's ``translation_panels()`` (:class:`~lightgen.models.translation.ImageTranslationGAN`):
source | output | target for pix2pix and SRGAN (Isola et al. 2017, fig. 1; Ledig et al. 2017, fig. 2), and for
CycleGAN a, G_AB(a), G_BA(G_AB(a)), b, G_BA(b), G_AB(G_BA(b)) (Zhu et al. 2017, fig. 3's round trips).
The examples are the model's ``example_sources`` / ``example_targets`` buffers, fixed when fitting starts,
so successive pictures show the same inputs as training goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from torch import nn
from torchvision.utils import save_image

from lightgen.callbacks.image_logging import own_rng, write_picture
from lightgen.callbacks.periodic import PeriodicPicture
from lightgen.callbacks.sample_grid import to_grid
from lightgen.errors import LightgenError


def panel_grid(
    panels: list[tuple[str, torch.Tensor]], value_range: tuple[float, float], max_rows: int | None = None
) -> torch.Tensor:
    """Columns of (n, C, H, W) images in ``value_range`` -> one (C', H', W') grid in [0, 1], row i holding
    example i of every column. 1-channel columns are repeated to 3 channels when another column has 3;
    smaller columns are upsampled (nearest) to the largest size."""
    if not panels:
        raise LightgenError("a translation picture needs at least one panel; the model returned none")
    images = [x.detach().float() for _, x in panels]
    for (name, _), x in zip(panels, images):
        if x.dim() != 4 or x.shape[1] not in (1, 3) or len(x) != len(images[0]):
            raise LightgenError(
                f"translation panel {name!r} must be (n, 1 or 3, H, W) with n = {len(images[0])}; got {tuple(x.shape)}"
            )
    channels = max(x.shape[1] for x in images)
    height, width = max(x.shape[2] for x in images), max(x.shape[3] for x in images)
    rows = len(images[0]) if max_rows is None else min(max_rows, len(images[0]))
    fitted = []
    for x in images:
        x = x[:rows].cpu()
        if x.shape[1] != channels:
            x = x.expand(-1, channels, -1, -1)
        if x.shape[-2:] != (height, width):
            x = nn.functional.interpolate(x, size=(height, width), mode="nearest")
        fitted.append(x)
    ordered = torch.stack(fitted, dim=1).flatten(0, 1)  # row-major: example 0's columns, then example 1's...
    return to_grid(ordered, value_range, nrow=len(fitted))


def translation_grid(model: Any, max_rows: int | None = None) -> torch.Tensor:
    """The grid of ``model.translation_panels()`` (one row per stored example, at most ``max_rows``)."""
    return panel_grid(model.translation_panels(), model.value_range, max_rows)


def save_translation_grid(model: Any, path: str | Path, max_rows: int | None = None) -> Path:
    """Write :func:`translation_grid` of ``model`` as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(translation_grid(model, max_rows), path)
    return path


class TranslationPictures(PeriodicPicture):
    """Every ``every_n_steps`` training batches and when training ends, write the translation grid of the
    stored examples (one row each, the columns of ``translation_panels()``) to
    ``<log_dir>/translations/step_XXXXXXX.png`` and log it to the active logger (wandb / TensorBoard; CSV runs
    keep the PNGs), at the step of the scalars of that batch. Models without ``translation_panels`` or whose
    examples are not stored yet are skipped.

    Args:
        every_n_steps: interval in training batches (the loggers' x-axis).
        max_rows: examples shown (None: all of the model's ``num_examples``).
    """

    def __init__(self, every_n_steps: int = 500, max_rows: int | None = None) -> None:
        if every_n_steps < 1 or (max_rows is not None and max_rows < 1):
            raise LightgenError(
                f"TranslationPictures needs a positive every_n_steps and max_rows; got {every_n_steps}, {max_rows}"
            )
        super().__init__(every_n_steps)
        self.max_rows = max_rows
        self.last_path: Path | None = None

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        if not hasattr(pl_module, "translation_panels"):
            return False
        if not bool(getattr(pl_module, "examples_set", True)):
            return False
        with own_rng(pl_module):  # drawing must not change training
            grid = translation_grid(pl_module, self.max_rows)
        self.last_path = write_picture(trainer, grid, "translations", "", "translations") or self.last_path
        return True
