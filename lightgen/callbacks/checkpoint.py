"""ModelCheckpoint that also writes ``last.ckpt`` after the final training step, wherever it falls.

Lightning's ModelCheckpoint saves on its interval only, so a run stopped by ``max_steps`` or
``max_generator_steps`` between two intervals would lose its final steps. The final save happens
in ``on_train_batch_end`` of the last batch (or at the end of the last epoch), the states Lightning
resumes exactly; a save in ``on_train_end`` would be read back as a finished epoch and a resumed
run would start a new one. Writes go through the trainer's checkpoint IO (lightgen's is atomic); a
run that fails (NaN loss, crash) saves nothing more, so the last good checkpoint stays.
"""

from __future__ import annotations

import warnings
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from lightgen.errors import LightgenError

# lightgen's GAN loop steps its optimizers inside training_step on purpose; the post-step state is
# the state to save, so Lightning's advice about pre-optimization state does not apply.
warnings.filterwarnings("ignore", message=".*ModelCheckpoint with manual optimization.*")


class RunCheckpoint(ModelCheckpoint):
    """ModelCheckpoint (``save_last=True`` by default) plus a ``last.ckpt`` of the final step."""

    def __init__(self, *args: Any, save_last: bool | None = True, **kwargs: Any) -> None:
        try:
            super().__init__(*args, save_last=save_last, **kwargs)
        except MisconfigurationException as err:  # a bad --checkpoint.* value: one line, as lightgen's errors
            raise LightgenError(f"bad --checkpoint option: {err}") from None

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any, **kwargs: Any) -> None:
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)
        if trainer.should_stop or 0 < trainer.max_steps <= trainer.global_step:
            self._save_final(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if trainer.max_epochs is not None and 0 < trainer.max_epochs <= trainer.current_epoch + 1:
            self._save_final(trainer)

    def _save_final(self, trainer: Trainer) -> None:
        if self.save_last and not trainer.fast_dev_run and trainer.global_step != self._last_global_step_saved:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
