"""Errors a user can act on. The CLI prints them as one line (``lightgen: <message>``), no traceback."""

from __future__ import annotations


class LightgenError(ValueError):
    """Bad input or state the user can fix; the message names the value and what was expected."""


class DataNotFoundError(LightgenError, FileNotFoundError):
    """A dataset is missing; the message names the command that prepares it."""


class CheckpointError(LightgenError):
    """A checkpoint file is missing, corrupt, foreign or carries code (untrusted pickle)."""


class NonFiniteLossError(LightgenError, FloatingPointError):
    """A loss became NaN or infinite; training stopped and the last good checkpoint was kept."""
