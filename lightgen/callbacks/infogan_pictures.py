"""InfoGAN's pictures (Chen et al. 2016, fig. 2): each code varied with the others fixed, for any logger.

- ``infogan_categories``: one row per category of the categorical code c1, one column per noise draw z
  (the same z down each column, continuous codes at 0): does c1 pick the digit type?
- ``infogan_c2``, ``infogan_c3``, ...: one continuous code swept from -2 to 2 across the columns (beyond
  its training range U(-1, 1), as the paper does), one row per category, z and the other codes fixed:
  rotation and width on MNIST.

PNGs go to ``<log_dir>/pictures/<name>_step_XXXXXXX.png`` and to wandb / TensorBoard through
:func:`~lightgen.callbacks.image_logging.write_picture`, every ``every_n_steps`` training batches and when
training ends. Samples come from :meth:`sample_from` (the EMA generator when kept, eval mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer

from lightgen.callbacks.image_logging import own_rng, write_picture
from lightgen.callbacks.periodic import PeriodicPicture
from lightgen.callbacks.sample_grid import to_grid
from lightgen.errors import LightgenError


def code_pictures(
    model: Any,
    columns: int = 10,
    seed: int = 0,
    sweep: tuple[float, float] = (-2.0, 2.0),
    row_categories: Sequence[int] | None = None,
) -> dict[str, torch.Tensor]:
    """The grids (C, H, W) in [0, 1] of an InfoGAN-like ``model`` (``latent_with_codes``, ``num_categories``,
    ``num_continuous``, ``latent_dim``, ``sample_from``), by name; ``seed`` fixes the noise;
    ``row_categories``: the category of each row (default 0..K-1)."""
    m, d = model.num_continuous, model.latent_dim
    order = torch.arange(model.num_categories) if row_categories is None else torch.as_tensor(row_categories).long()
    k = len(order)
    gen = torch.Generator().manual_seed(seed)
    rows = order.repeat_interleave(columns)  # category of each image, row-major
    z_per_column = torch.randn(columns, d, generator=gen)
    latent = model.latent_with_codes(z_per_column.repeat(k, 1), rows, 0.0)
    pictures = {"infogan_categories": to_grid(model.sample_from(latent), model.value_range, columns)}
    z_fixed = torch.randn(1, d, generator=gen).expand(k * columns, d)
    values = torch.linspace(sweep[0], sweep[1], columns).repeat(k)
    for j in range(m):
        cont = torch.zeros(k * columns, m)
        cont[:, j] = values
        latent = model.latent_with_codes(z_fixed, rows, cont)
        pictures[f"infogan_c{j + 2}"] = to_grid(model.sample_from(latent), model.value_range, columns)
    return pictures


class InfoGANPictures(PeriodicPicture):
    """Every ``every_n_steps`` training batches and at the end of training, write InfoGAN's code pictures.

    Args:
        every_n_steps: interval in training batches (the loggers' x-axis).
        columns: noise draws (categories picture) and sweep points (continuous pictures) per row.
        seed: fixes z, so successive pictures show the same draws as training goes on.
        sweep_low / sweep_high: the range the continuous codes are swept over (-2, 2 in fig. 2).
    """

    def __init__(
        self,
        every_n_steps: int = 500,
        columns: int = 10,
        seed: int = 0,
        sweep_low: float = -2.0,
        sweep_high: float = 2.0,
    ) -> None:
        if every_n_steps < 1 or columns < 2:
            raise LightgenError(
                f"InfoGANPictures needs every_n_steps >= 1 and columns >= 2; got {every_n_steps} and {columns}"
            )
        if not sweep_low < sweep_high:
            raise LightgenError(f"sweep_low must be below sweep_high; got {sweep_low} and {sweep_high}")
        super().__init__(every_n_steps)
        self.columns, self.seed = columns, seed
        self.sweep = (float(sweep_low), float(sweep_high))
        self.paths: dict[str, Path] = {}

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if not callable(getattr(pl_module, "latent_with_codes", None)):
            raise LightgenError(
                f"InfoGANPictures draws InfoGAN's codes; {type(pl_module).__name__} has none "
                "(use lightgen.models.InfoGAN)"
            )

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        with own_rng(pl_module), torch.no_grad():  # drawing pictures must not change training
            pictures = code_pictures(pl_module, self.columns, self.seed, self.sweep)
        for name, grid in pictures.items():
            path = write_picture(trainer, grid, "pictures", name, name)
            if path is not None:
                self.paths[name] = path
        return True
