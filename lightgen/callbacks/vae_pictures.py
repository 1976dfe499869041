"""Pictures of latent-variable models, for any logger: PNGs under ``<log_dir>/pictures/`` plus
:func:`log_image` (wandb / TensorBoard).

- :class:`VAEPictures` (any model with ``reconstruct``, ``encode_mean`` and ``decoder_mean``, e.g. VAE):
  inputs above their reconstructions (Kingma & Welling 2013, fig. 5 style); decodings along straight
  lines between the codes of two validation images; and, for a 2-D latent, the learned manifold: the
  decoder means over a grid of z = Phi^-1(u), u on an evenly spaced grid in (0, 1) (AEVB fig. 4).
- :class:`DRAWCanvas` (any model with ``canvas_steps``, e.g. DRAW): the canvas after each step, one
  sample per row (Gregor et al. 2015, fig. 7).
Pictures are drawn after each validation epoch (every ``every_n_epochs``) and when training ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from lightgen.callbacks.image_logging import own_rng, write_picture
from lightgen.callbacks.sample_grid import to_grid
from lightgen.errors import LightgenError


class _EveryNEpochs(Callback):
    def __init__(self, every_n_epochs: int = 1) -> None:
        if every_n_epochs < 1:
            raise LightgenError(f"every_n_epochs must be a positive integer; got {every_n_epochs}")
        self.every_n_epochs = every_n_epochs
        self.paths: dict[str, Path] = {}
        self._done_step = -1

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _maybe_draw(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking or trainer.global_step == self._done_step:
            return
        self._done_step = trainer.global_step
        was_training = pl_module.training
        pl_module.eval()
        try:
            with own_rng(pl_module), torch.no_grad():
                grids = self.draw(trainer, pl_module)
        finally:
            pl_module.train(was_training)
        for name, grid in grids.items():
            path = write_picture(trainer, grid, "pictures", name, name)
            if path is not None:
                self.paths[name] = path

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._maybe_draw(trainer, pl_module)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._maybe_draw(trainer, pl_module)


class VAEPictures(_EveryNEpochs):
    """Reconstructions, interpolations and (2-D latent) the manifold of a VAE.

    Args:
        every_n_epochs: draw after every n-th validation epoch (and at the end of training).
        num_images: validation images reconstructed (the first ones, a fixed set).
        interpolation_pairs / interpolation_steps: rows and columns of the interpolation picture.
        manifold_size: the manifold grid is manifold_size x manifold_size (2-D latents only).
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        num_images: int = 16,
        interpolation_pairs: int = 4,
        interpolation_steps: int = 10,
        manifold_size: int = 20,
    ) -> None:
        super().__init__(every_n_epochs)
        least = {"num_images": (num_images, 1), "interpolation_pairs": (interpolation_pairs, 0)}
        least |= {"interpolation_steps": (interpolation_steps, 2), "manifold_size": (manifold_size, 2)}
        for name, (value, low) in least.items():
            if int(value) < low:
                raise LightgenError(f"VAEPictures' {name} must be an integer >= {low}; got {value}")
        self.num_images, self.pairs = num_images, interpolation_pairs
        self.steps, self.manifold_size = interpolation_steps, manifold_size

    def _images(self, trainer: Trainer, n: int) -> torch.Tensor | None:
        dm = trainer.datamodule
        dataset = getattr(dm, "val_set", None) or getattr(dm, "test_set", None)
        if dataset is None or len(dataset) == 0:
            return None
        return torch.stack([dataset[i][0] for i in range(min(n, len(dataset)))])

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, torch.Tensor]:
        grids: dict[str, torch.Tensor] = {}
        vr = pl_module.value_range
        x = self._images(trainer, max(self.num_images, 2 * self.pairs))
        if x is not None:
            x = x.to(pl_module.device)
            xs = x[: self.num_images]
            # rows of (up to) 8 inputs, each row followed by the row of their reconstructions
            width = 8 if len(xs) % 8 == 0 else len(xs)
            both = torch.stack([xs, pl_module.reconstruct(xs)], 0).view(2, -1, width, *xs.shape[1:])
            grids["reconstructions"] = to_grid(both.transpose(0, 1).reshape(-1, *xs.shape[1:]), vr, nrow=width)
            pairs = min(self.pairs, len(x) // 2)
            if pairs:
                z = pl_module.encode_mean(x[: 2 * pairs])  # (2P, d)
                t = torch.linspace(0, 1, self.steps, device=z.device)[None, :, None]
                path = z[0::2, None] * (1 - t) + z[1::2, None] * t  # (P, steps, d)
                grids["interpolations"] = to_grid(pl_module.decoder_mean(path.flatten(0, 1)), vr, nrow=self.steps)
        dims = getattr(pl_module, "latent_dims", ())
        if len(dims) == 1 and dims[0] == 2:
            n = self.manifold_size
            u = (torch.arange(n, device=pl_module.device) + 0.5) / n  # evenly spaced in (0, 1)
            coords = torch.distributions.Normal(0.0, 1.0).icdf(u)  # z = Phi^-1(u)
            zy, zx = torch.meshgrid(coords.flip(0), coords, indexing="ij")
            grids["manifold"] = to_grid(pl_module.decoder_mean(torch.stack([zx, zy], -1).view(-1, 2)), vr, nrow=n)
        return grids


class DRAWCanvas(_EveryNEpochs):
    """DRAW's canvas step by step: ``num_samples`` rows, at most ``max_columns`` steps each (evenly
    spaced, always ending with the last step).

    Args:
        every_n_epochs: draw after every n-th validation epoch (and at the end of training).
        num_samples / max_columns / seed: rows, columns and the fixed seed of the samples.
    """

    def __init__(self, every_n_epochs: int = 1, num_samples: int = 8, max_columns: int = 16, seed: int = 0) -> None:
        super().__init__(every_n_epochs)
        self.num_samples, self.max_columns, self.seed = num_samples, max_columns, seed

    def draw(self, trainer: Trainer, pl_module: Any) -> dict[str, torch.Tensor]:
        steps = pl_module.canvas_steps(self.num_samples, seed=self.seed)  # (T, n, C, H, W)
        T = steps.shape[0]
        cols = torch.linspace(0, T - 1, min(T, self.max_columns)).round().long().unique()
        pics = steps[cols].transpose(0, 1).flatten(0, 1)  # row = sample, column = step
        return {"draw_canvas": to_grid(pics, pl_module.value_range, nrow=len(cols))}
