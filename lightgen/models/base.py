"""The base every lightgen model shares: the data it models, how it samples, what a checkpoint holds.

A lightgen model is a LightningModule with one training rule. What all of them have in common lives
here, so the sample-grid callback, ``lightgen sample`` and ``lightgen evaluate`` work with any model:

- ``data_shape``: the shape of one example, ``(C, H, W)`` for images. The CLI links it from the
  datamodule (``data.data_shape -> model.init_args.data_shape``), so a network is built for the
  data it will see, and it is saved with the hyper-parameters so a checkpoint rebuilds the model.
- ``value_range``: the range of the model's samples (and of the data it expects).
- ``sample(n, seed=None)``: ``n`` examples, drawn reproducibly when ``seed`` is given.
- checkpoint metadata (``checkpoint["lightgen"]``): the model's class path and the lightgen version,
  so a checkpoint names what it holds and a foreign file is refused with a clear message.
- the per-rank torch RNG state (CPU and, when in use, CUDA), so a resumed run draws the same dropout
  masks and binarizations as an uninterrupted one; a fresh multi-process run seeds each rank's global
  RNG from (seed, rank), so ranks draw different dropout masks instead of copies of one stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from lightning.pytorch import LightningModule

from lightgen import __version__
from lightgen.errors import LightgenError
from lightgen.seeds import mix_seed  # noqa: F401  (re-exported: models import it from here)

CHECKPOINT_KEY = "lightgen"


class GenerativeModel(LightningModule):
    """Base LightningModule of every lightgen model.

    Subclasses implement :meth:`sample`; models with a density add ``log_prob(x)`` (and VAEs
    ``elbo(x)``). The base class gives them a reproducible random stream (:meth:`random_stream`),
    checkpoint metadata and RNG-state saving for exact resume.
    """

    #: range of the values of samples and of the data the model expects (images: [-1, 1] or [0, 1])
    value_range: tuple[float, float] = (-1.0, 1.0)
    #: whether ``sample()`` draws images the sample-grid callback can show (False: a matching model, which
    #: scores pairs, or a sequence model, whose samples are token ids)
    can_sample: bool = True

    def __init__(self, data_shape: Sequence[int]) -> None:
        super().__init__()
        if not data_shape or any(int(s) <= 0 for s in data_shape):
            raise LightgenError(f"data_shape must be positive sizes such as (1, 28, 28); got {tuple(data_shape)!r}")
        self.data_shape = tuple(int(s) for s in data_shape)
        # Seed of the model's own random stream (latents, sampling). Set at fit start from the global
        # seed (rank 0's, broadcast) unless a checkpoint restored it.
        self.stream_seed: int | None = None

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Draw ``n`` examples of shape ``(n, *data_shape)`` in ``value_range``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement sample(n)")

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """``lightgen predict``: as many samples as the batch has examples (seeded by the batch index)."""
        n = len(batch[0]) if isinstance(batch, (tuple, list)) else len(batch)
        return self.sample(n, seed=batch_idx)

    def make_generator(self, seed: int | None) -> torch.Generator | None:
        """A torch.Generator on this model's device seeded with ``seed`` (None: use the global RNG)."""
        if seed is None:
            return None
        gen = torch.Generator(device=self.device)
        gen.manual_seed(int(seed))
        return gen

    def random_stream(self, *key: int) -> torch.Generator:
        """A generator for one draw of the training stream, keyed by (stream seed, *key).

        Stateless: the same key gives the same numbers after a resume, with no state to save. Every
        rank gets the same numbers for the same key; a caller that needs per-rank numbers puts the
        rank in the key or slices a global draw (as the GAN's latents do).
        """
        if self.stream_seed is None:
            self.stream_seed = int(torch.initial_seed()) & ((1 << 63) - 1)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(mix_seed(self.stream_seed, *key))
        return gen

    def on_fit_start(self) -> None:
        if self.stream_seed is None:
            seed = int(torch.initial_seed()) & ((1 << 63) - 1)
            # every rank uses rank 0's seed; the rank enters each draw's key where it must differ
            self.stream_seed = int(self.trainer.strategy.broadcast(seed, src=0))
        rank = self.trainer.global_rank
        if rank > 0 and not getattr(self, "_rng_restored", False):
            # `seed_everything` gives every rank the same global seed, so dropout masks and on-device
            # binarizations would be copies across ranks; rank r > 0 reseeds from (seed, r), rank 0 keeps
            # its stream (a one-process run is unchanged). A resumed run restores each rank's own state.
            torch.manual_seed(mix_seed(self.stream_seed, rank))

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        cls = type(self)
        checkpoint[CHECKPOINT_KEY] = {
            "class_path": f"{cls.__module__}.{cls.__qualname__}",
            "version": __version__,
            "data_shape": list(self.data_shape),
            "stream_seed": self.stream_seed,
            # one row per rank, so every rank resumes its own stream (dropout masks, binarization)
            "torch_rng": self._gather_rows(torch.get_rng_state()),
        }
        if self.device.type == "cuda":
            checkpoint[CHECKPOINT_KEY]["cuda_rng"] = self._gather_rows(torch.cuda.get_rng_state(self.device))

    def _gather_rows(self, state: torch.Tensor) -> torch.Tensor:
        """(world_size, ...) rows of a per-rank RNG state, on the CPU."""
        if self.trainer.world_size > 1:
            return self.all_gather(state.to(self.device)).cpu()
        return state.unsqueeze(0).cpu()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        meta = checkpoint.get(CHECKPOINT_KEY, {})
        self.stream_seed = meta.get("stream_seed", self.stream_seed)
        if self._trainer is None or self.trainer.state.fn != "fit":
            return
        rows = meta.get("torch_rng")
        if rows is not None:
            rank = self.trainer.global_rank if len(rows) == self.trainer.world_size else 0
            torch.set_rng_state(rows[rank].cpu().to(torch.uint8))
            self._rng_restored = True
        cuda_rows = meta.get("cuda_rng")
        device = self.trainer.strategy.root_device  # restored before the model moves there (DDP)
        if cuda_rows is not None and device.type == "cuda":
            rank = self.trainer.global_rank if len(cuda_rows) == self.trainer.world_size else 0
            torch.cuda.set_rng_state(cuda_rows[rank].cpu().to(torch.uint8), device)
