"""What an alternating training loop keeps besides its weights: its counters and a lazily checked finite flag.

Shared by :class:`~lightgen.models.gan.GAN` (and every GAN built on it) and
:class:`~lightgen.models.seqgan.SeqGAN`, whose loops differ but whose bookkeeping does not: the counters go into
checkpoints (``checkpoint["lightgen"]["loop"]``) so a resumed run continues them, and NaN/inf losses are
folded into a device flag without a sync per step, read every step on the CPU, at the logging interval on
accelerators, before every checkpoint, and reduced across ranks so every rank raises together.
"""

from __future__ import annotations

from typing import Any

import torch

from lightgen.errors import NonFiniteLossError


class LoopState:
    """Loop counters and the lazy finite check (mixed in before LightningModule). Subclasses call
    :meth:`init_loop_state` in ``__init__`` and say what diverged in :meth:`nonfinite_message`."""

    def init_loop_state(self) -> None:
        # loop counters, saved in checkpoints; identical on every rank
        self.batches_seen = 0
        self.generator_steps = 0
        self.discriminator_steps = 0
        # lazily checked flag (no device sync per step): False once any loss was NaN/inf
        self._losses_finite: torch.Tensor | None = None

    def nonfinite_message(self, last_finite_step: int) -> str:
        """The one-line error when a loss became NaN or infinite."""
        raise NotImplementedError

    def _track_finite(self, loss: torch.Tensor, scaler: Any = None, scale_before: float | None = None) -> None:
        """Fold isfinite(loss) into the lazily checked flag. Under float16 a step whose scaled gradients
        overflowed is skipped by the GradScaler, which lowers its scale: that is not a divergence."""
        if scaler is not None and scale_before is not None and scaler.get_scale() < scale_before:
            return
        ok = torch.isfinite(loss.detach())
        self._losses_finite = ok if self._losses_finite is None else self._losses_finite & ok

    def check_finite(self) -> None:
        """Raise :class:`NonFiniteLossError` if any loss since the last check was NaN or infinite on any
        rank. Under DDP the flag is reduced across ranks first, so every rank raises together (a rank
        raising alone would leave the others waiting in the next collective)."""
        flag, self._losses_finite = self._losses_finite, None
        ok = flag is None or bool(flag)
        if self._trainer is not None and self.trainer.world_size > 1:
            ok = bool(self.trainer.strategy.reduce_boolean_decision(ok, all=True))
        if ok:
            self._last_finite_step = self.generator_steps
            return
        raise NonFiniteLossError(self.nonfinite_message(getattr(self, "_last_finite_step", 0)))

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # CPU: check every batch (free). Accelerators: at the logging interval, avoiding a sync per step;
        # checkpoints are checked before every save, so a bad state is never written.
        every = 1 if self.device.type == "cpu" else max(1, self.trainer.log_every_n_steps)
        if (batch_idx + 1) % every == 0:
            self.check_finite()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.check_finite()  # never write a checkpoint of a diverged run
        super().on_save_checkpoint(checkpoint)
        checkpoint["lightgen"]["loop"] = {
            "batches_seen": self.batches_seen,
            "generator_steps": self.generator_steps,
            "discriminator_steps": self.discriminator_steps,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        loop = checkpoint.get("lightgen", {}).get("loop", {})
        self.batches_seen = int(loop.get("batches_seen", 0))
        self.generator_steps = int(loop.get("generator_steps", 0))
        self.discriminator_steps = int(loop.get("discriminator_steps", 0))
