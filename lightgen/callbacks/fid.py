"""Periodic FID during training, logged so ModelCheckpoint(monitor=...) can keep the best checkpoint.

Every ``every_n_steps`` training batches (the loggers' x-axis, shared by every logged value; a
GAN's ``trainer.global_step`` counts both optimizers' steps and is not used), draw ``num_samples``
samples with a fixed seed, compute the Fréchet distance (Heusel et al.
2017) to a fixed set of real images in a feature space, and log it with ``pl_module.log`` under
``key`` (default ``"fid/classifier"`` or ``"fid/inception"``); KID (Binkowski et al. 2018) too when
``kid=True``. The real features are computed once, at fit start, on the datamodule's ``split``.

    callbacks:
      - class_path: lightgen.callbacks.fid.FIDCallback
        init_args: {every_n_steps: 1000, num_samples: 2000, feature: classifier}
      - class_path: lightning.pytorch.callbacks.ModelCheckpoint
        init_args: {monitor: fid/classifier, mode: min, save_top_k: 1}

A few thousand samples give a biased but consistent number (FID decreases with N): fine for choosing
a checkpoint, not for a paper; use ``lightgen evaluate`` with the full protocol for that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from lightgen.clock import crossed_interval, log_sparse, logging_step
from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd


class FIDCallback(Callback):
    """Log FID (and optionally KID) of the model's samples every ``every_n_steps`` steps.

    Args:
        every_n_steps: interval in training batches.
        num_samples: generated samples per evaluation (and real images, once).
        feature: "classifier" (domain classifier, MNIST-like data; fast) or "inception".
        weights: feature-extractor weights (default: the prepared file under the data root).
        split: real split compared with ("val", "test" or "train").
        key: logged name (default ``fid/<feature>``); KID goes to ``kid/<feature>``.
        kid: also log KID (subset size capped by ``num_samples``).
        batch_size: samples per batch.
        seed: fixed seed of the samples, so successive values differ only by the model.
    """

    def __init__(
        self,
        every_n_steps: int = 1000,
        num_samples: int = 1000,
        feature: Literal["classifier", "inception"] = "classifier",
        weights: str | None = None,
        split: Literal["train", "val", "test"] = "val",
        key: str | None = None,
        kid: bool = False,
        batch_size: int = 100,
        seed: int = 0,
    ) -> None:
        if every_n_steps < 1 or num_samples < 2 or batch_size < 1:
            raise LightgenError(
                "FIDCallback needs every_n_steps >= 1, num_samples >= 2, batch_size >= 1; "
                f"got {every_n_steps}, {num_samples}, {batch_size}"
            )
        if feature not in ("classifier", "inception"):
            raise LightgenError(f"FIDCallback feature must be 'classifier' or 'inception'; got {feature!r}")
        self.every_n_steps, self.num_samples, self.feature = every_n_steps, num_samples, feature
        self.weights, self.split, self.kid, self.batch_size, self.seed = weights, split, kid, batch_size, seed
        self.key = key or f"fid/{feature}"
        self.kid_key = self.key.replace("fid", "kid", 1) if "fid" in self.key else f"{self.key}_kid"
        self._space: fd.FeatureSpace | None = None
        self._real: torch.Tensor | None = None
        self._real_stats: dict[str, Any] | None = None
        self._last_step = -1
        self.last_value: float | None = None

    # ------------------------------------------------------------------ setup
    def _feature_space(self, root: Path, device: torch.device, dataset: str = "mnist") -> fd.FeatureSpace:
        if self.feature == "inception":
            from lightgen.metrics.inception import inception_weights_path

            return fd.inception_space(self.weights or inception_weights_path(root), device)
        from lightgen.metrics.classifier import classifier_path, classifier_space

        space, _ = classifier_space(self.weights or classifier_path(root, dataset), device, dataset)
        return space

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        dm = trainer.datamodule
        if dm is None:
            raise LightgenError("FIDCallback needs a datamodule (the real images come from its split)")
        if getattr(dm, f"{self.split}_set", None) is None:
            dm.setup("fit")
        dataset = getattr(dm, f"{self.split}_set", None)
        if dataset is None:
            raise LightgenError(f"FIDCallback: the datamodule has no {self.split!r} split; set split to another")
        self._space = self._feature_space(Path(dm.root), pl_module.device, str(getattr(dm, "dataset", "mnist")))
        value_range = tuple(getattr(dm, "value_range", (0.0, 1.0)))
        self._real = fd.extract(
            fd.dataset_batches(dataset, self.num_samples, self.batch_size, value_range), self._space
        )
        self._real_stats = fd.frechet_statistics(self._real)

    # ------------------------------------------------------------------ evaluation
    def compute(self, pl_module: LightningModule) -> dict[str, float]:
        """FID (and KID) of ``num_samples`` fresh samples against the real features."""
        assert self._space is not None and self._real is not None and self._real_stats is not None
        was_training = pl_module.training
        pl_module.eval()
        try:
            gen = fd.extract(fd.sample_batches(pl_module, self.num_samples, self.batch_size, self.seed), self._space)
        finally:
            pl_module.train(was_training)
        out = {self.key: fd.frechet_distance(fd.frechet_statistics(gen), self._real_stats)}
        if self.kid:
            out[self.kid_key] = fd.kid(gen, self._real, subsets=20, seed=self.seed)["kid"]
        return out

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        batches_done = logging_step(trainer) + 1  # the loggers' x-axis, as for every other value
        if not crossed_interval(self._last_step, batches_done, self.every_n_steps):
            return
        self._last_step = batches_done
        self._evaluate(trainer, pl_module)

    def _evaluate(self, trainer: Trainer, pl_module: LightningModule) -> None:
        values = self.compute(pl_module) if trainer.is_global_zero else {}
        # every rank logs the same number (rank 0's), so ModelCheckpoint agrees across ranks; logged once at
        # this batch's step (log_sparse), not re-sent as a stale value at every later batch
        keys = (self.key, *([self.kid_key] if self.kid else []))
        log_sparse(pl_module, {key: float(trainer.strategy.broadcast(values.get(key, 0.0), src=0)) for key in keys})
        self.last_value = float(trainer.callback_metrics[self.key])
