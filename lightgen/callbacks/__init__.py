"""Callbacks: pictures and checks that work with any model and any logger."""

from lightgen.callbacks.checkpoint import RunCheckpoint
from lightgen.callbacks.sample_grid import SampleGrid

__all__ = ["RunCheckpoint", "SampleGrid"]
