"""What the benchmarks share: the mean with its standard error, and a quiet Trainer for timed fits.

Scripts in tools/bench are run as ``python tools/bench/NAME.py``, so this folder is on ``sys.path`` and
they import ``from common import ...``.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import lightning as L


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and its standard error (sample s.d. / sqrt(n); nan for one value)."""
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return statistics.fmean(values), se


def bench_trainer(**kwargs: Any) -> L.Trainer:
    """A Trainer for timing: one device, no logger, checkpoints, progress bar, summary or validation."""
    defaults: dict[str, Any] = dict(
        accelerator="cpu",
        devices=1,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        log_every_n_steps=50,
    )
    defaults.update(kwargs)
    return L.Trainer(**defaults)
