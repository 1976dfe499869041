"""The one x-axis of every logged value, and interval tests on it.

Lightning logs the scalars of training batch b at step b (its logging step, the count of training
batches before the current one). lightgen logs everything else (sample grids, FID, the generator's
terms) at the same step. ``trainer.global_step`` is not used: under manual optimization it counts
the steps of every optimizer, about two per batch for a GAN.
"""

from __future__ import annotations

from typing import Any


def logging_step(trainer: Any) -> int:
    """Lightning's logging step: training batches before the current one (``self.log`` uses it)."""
    loop = getattr(trainer, "fit_loop", None)
    return int(getattr(getattr(loop, "epoch_loop", None), "_batches_that_stepped", trainer.global_step))


def crossed_interval(last_step: int, step: int, every: int) -> bool:
    """Whether ``step`` passed a multiple of ``every`` since ``last_step`` (-1: never): test for crossing
    one, not for landing on one, so a counter that jumps (a resumed run, a step that runs only every
    k-th batch) still fires."""
    return step // every > max(last_step, 0) // every


def log_sparse(module: Any, values: dict[str, Any], prog_bar: bool = False) -> None:
    """Log values that exist only at some batches (G's terms with d_steps > 1, a periodic FID).

    ``self.log(on_step=True)`` would re-send such a value at every later batch (Lightning keeps the last
    one until it is logged again), drawing a stale staircase. Here the values reach ``callback_metrics``
    (checkpoint monitors, schedulers, the progress bar) through ``module.log(logger=False)`` and the
    loggers directly, once, at :func:`logging_step`, the step of the batch's other scalars.
    """
    for key, value in values.items():
        module.log(key, value, on_step=True, on_epoch=False, prog_bar=prog_bar, logger=False, rank_zero_only=False)
    if module._trainer is None or not module.loggers:
        return
    scalars = {k: float(v) for k, v in values.items()}
    step = logging_step(module.trainer)
    for logger in module.loggers:
        logger.log_metrics(scalars, step=step)
