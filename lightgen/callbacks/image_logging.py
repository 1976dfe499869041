"""Send an image to whichever loggers a trainer has: wandb, TensorBoard, or none (PNG on disk only)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import save_image

from lightgen.clock import crossed_interval, logging_step

__all__ = ["crossed_interval", "log_image", "logging_step", "own_rng", "write_picture"]


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


def write_picture(trainer: Trainer, grid: torch.Tensor, folder: str, stem: str, tag: str) -> Path | None:
    """Save ``grid`` as ``<log_dir>/<folder>/[<stem>_]step_XXXXXXX.png`` (rank 0; its path, else None)
    and log it under ``tag``, both at :func:`logging_step`, the step of the scalars logged with it.
    Every rank must call it: ``trainer.log_dir`` is a collective."""
    step = logging_step(trainer)
    directory = Path(trainer.log_dir or trainer.default_root_dir) / folder
    path = None
    if trainer.is_global_zero:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{stem + '_' if stem else ''}step_{step:07d}.png"
        save_image(grid, path)
    log_image(trainer, tag, grid, step)
    return path


def own_rng(module: LightningModule) -> AbstractContextManager:
    """A fork of the torch RNG (and the module's GPU's): drawing pictures must not shift training."""
    return torch.random.fork_rng(devices=[module.device] if module.device.type == "cuda" else [])
