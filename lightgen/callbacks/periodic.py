"""The schedule every picture callback shares: draw every N training batches and once when training ends.

Subclasses implement :meth:`PeriodicPicture.draw`; the base counts batches on the loggers' x-axis
(:func:`lightgen.clock.logging_step`, not ``global_step``, which a GAN advances once per optimizer) and
never draws twice at one step (the last periodic picture and the end-of-training one can coincide).
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from lightgen.clock import crossed_interval, logging_step


class PeriodicPicture(Callback):
    """Calls :meth:`draw` every ``every_n_steps`` training batches and when training ends."""

    def __init__(self, every_n_steps: int) -> None:
        self.every_n_steps = every_n_steps
        self._last_step = -1

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        """Draw and write the picture; False when there was nothing to draw (the step is then not spent)."""
        raise NotImplementedError

    def _write(self, trainer: Trainer, pl_module: LightningModule, batches_done: int) -> None:
        if batches_done != self._last_step and self.draw(trainer, pl_module):
            self._last_step = batches_done

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        batches_done = logging_step(trainer) + 1
        if crossed_interval(self._last_step, batches_done, self.every_n_steps):
            self._write(trainer, pl_module, batches_done)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, pl_module, logging_step(trainer))
