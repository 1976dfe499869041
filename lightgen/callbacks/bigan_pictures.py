"""BiGAN / ALI reconstructions: test images x beside G(E(x)), their round trip through the latent space.

BiGAN (Donahue et al. 2016, fig. 2 and 3) and ALI (Dumoulin et al. 2016, fig. 2-4) show x next to G(E(x)):
E never sees a reconstruction loss, so a G(E(x)) that keeps x's class and style shows that the two
joint distributions were matched (E inverts G), not that pixels were copied. Each grid row holds
``pairs_per_row`` pairs of columns: x on the left of each pair, G(E(x)) on its right.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from torchvision.utils import save_image

from lightgen.callbacks.image_logging import own_rng, write_picture
from lightgen.callbacks.periodic import PeriodicPicture
from lightgen.callbacks.sample_grid import to_grid
from lightgen.errors import LightgenError


def reconstruction_grid(model: Any, x: torch.Tensor, pairs_per_row: int = 8) -> torch.Tensor:
    """(N, C, H, W) images -> one (C, H', W') grid in [0, 1]: columns 2i and 2i+1 of a row are x_i and
    G(E(x_i)) (``model.reconstruct``), ``pairs_per_row`` pairs per row."""
    if x.dim() != 4:
        raise LightgenError(f"reconstruction grids need images (N, C, H, W); got shape {tuple(x.shape)}")
    if pairs_per_row < 1:
        raise LightgenError(f"pairs_per_row must be a positive integer; got {pairs_per_row}")
    x = x.to(model.device)
    pairs = torch.stack([x, model.reconstruct(x).to(x.dtype)], dim=1).flatten(0, 1)  # x0, G(E(x0)), x1, ...
    return to_grid(pairs, model.value_range, nrow=2 * min(pairs_per_row, len(x)))


def save_reconstruction_grid(model: Any, x: torch.Tensor, path: str | Path, pairs_per_row: int = 8) -> Path:
    """Write :func:`reconstruction_grid` of ``x`` as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(reconstruction_grid(model, x, pairs_per_row), path)
    return path


def held_out_images(trainer: Trainer, n: int) -> torch.Tensor | None:
    """The first ``n`` images of the datamodule's test set (else its validation set), or None."""
    dm = trainer.datamodule
    for name in ("test_set", "val_set"):
        dataset = getattr(dm, name, None)
        if dataset is not None and len(dataset) > 0:
            items = [dataset[i] for i in range(min(n, len(dataset)))]
            return torch.stack([item[0] if isinstance(item, (tuple, list)) else item for item in items])
    return None


class BiGANPictures(PeriodicPicture):
    """Every ``every_n_steps`` training batches and when training ends, write x beside G(E(x)) for the
    first ``num_images`` test images to ``<log_dir>/pictures/reconstructions_step_XXXXXXX.png`` and log it
    to the active logger (wandb / TensorBoard; CSV runs keep the PNGs). Models without ``reconstruct``
    and non-image data are skipped.

    Args:
        every_n_steps: interval in training batches (the loggers' x-axis).
        num_images: test images shown (a fixed set, so successive pictures are comparable).
        pairs_per_row: (x, G(E(x))) pairs per grid row.
    """

    def __init__(self, every_n_steps: int = 500, num_images: int = 32, pairs_per_row: int = 8) -> None:
        if every_n_steps < 1 or num_images < 1 or pairs_per_row < 1:
            got = f"{every_n_steps}, {num_images}, {pairs_per_row}"
            raise LightgenError(f"BiGANPictures needs positive every_n_steps, num_images and pairs_per_row; got {got}")
        super().__init__(every_n_steps)
        self.num_images, self.pairs_per_row = num_images, pairs_per_row
        self.last_path: Path | None = None

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        if not hasattr(pl_module, "reconstruct") or len(getattr(pl_module, "data_shape", ())) != 3:
            return False
        x = held_out_images(trainer, self.num_images)
        if x is None:
            return False
        with own_rng(pl_module):  # drawing must not change training
            grid = reconstruction_grid(pl_module, x, self.pairs_per_row)
        self.last_path = (
            write_picture(trainer, grid, "pictures", "reconstructions", "reconstructions") or self.last_path
        )
        return True
