"""Send an image to whichever loggers a trainer has: wandb, TensorBoard, or none (PNG on disk only)."""

from __future__ import annotations

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger


def log_image(trainer: Trainer, key: str, image: torch.Tensor, step: int) -> list[str]:
    """Log a (C, H, W) image in [0, 1] to every logger that takes images; returns their names.

    CSV-only runs take no images: the callers also write the PNG to disk, which is what they get.
    """
    used = []
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key=key, images=[image.permute(1, 2, 0).cpu().numpy()], step=step)
            used.append("wandb")
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(key, image.cpu(), global_step=step)
            used.append("tensorboard")
    return used
