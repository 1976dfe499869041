"""Quiet by default: the messages of lightgen's libraries that a user cannot act on are left out.

What is left out (each a pattern of :data:`NOISE`, applied to Lightning's log records, plus the warning
filters of :func:`quiet`):

- Lightning's advertisements (``Tip: ... litlogger`` / ``litmodels``);
- Lightning's lines about hardware that is absent (``GPU available: False, used: False``, ``TPU
  available: False...``); the lines about hardware that is present stay, as do Lightning's warnings
  that say what to change (a GPU present but unused, too few batches for the logging interval...);
- wandb's ``The anonymous setting has no effect`` (Lightning's WandbLogger passes ``anonymous=None``,
  which wandb >= 0.19 warns about: lightgen drops the argument, see
  :meth:`lightgen.lightning_cli.LightgenCLI.instantiate_trainer`);
- deprecation warnings raised inside the libraries (torch, Lightning, wandb, jsonargparse...), which
  only their authors can act on. A warning from a user's own code (any category) still shows.

``--verbose`` (any position on the command line) or ``LIGHTGEN_VERBOSE=1`` brings everything back.
Standard library only, so ``lightgen --help`` stays light.
"""

from __future__ import annotations

import logging
import os
import re
import warnings

VERBOSE_ENV = "LIGHTGEN_VERBOSE"
VERBOSE_FLAG = "--verbose"

#: lines that lightgen leaves out of a run's output (case-sensitive regular expressions, searched)
NOISE = (
    r"\bTip: .*\blit(logger|models)\b",  # Lightning's product advertisements
    r"^(GPU|TPU|HPU|IPU) available: False\b",  # hardware that is not there
    r"The anonymous setting has no effect",  # wandb, about an argument lightgen never sets
    r"isinstance\(treespec, LeafSpec\)",  # torch deprecating an API that Lightning calls
)
_NOISE = re.compile("|".join(f"(?:{p})" for p in NOISE))

# the loggers whose records Lightning prints (rank_zero_info/_debug log through one of the first three)
LIGHTNING_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning_utilities.core.rank_zero",
    "lightning.pytorch",
    "lightning.fabric",
)
# packages whose own deprecation warnings are theirs to fix, not a user's
LIBRARIES = (
    "torch",
    "torchvision",
    "lightning",
    "lightning_fabric",
    "lightning_utilities",
    "pytorch_lightning",
    "torchmetrics",
    "torch_fidelity",
    "wandb",
    "jsonargparse",
    "pydantic",
    "google",
    "tensorboard",
    "setuptools",
    "pkg_resources",
)


def is_noise(line: str) -> bool:
    """True for a line (or log message) that quiet mode leaves out."""
    return bool(_NOISE.search(line.strip()))


def verbose() -> bool:
    """True when ``LIGHTGEN_VERBOSE`` asks for every message (``1``, ``true``, ``yes``)."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def take_verbose_flag(argv: list[str]) -> list[str]:
    """``argv`` without ``--verbose``; the flag sets ``LIGHTGEN_VERBOSE=1`` (inherited by DDP's processes)."""
    if VERBOSE_FLAG in argv:
        os.environ[VERBOSE_ENV] = "1"
    return [a for a in argv if a != VERBOSE_FLAG]


class NoiseFilter(logging.Filter):
    """Drops log records whose message is noise (:func:`is_noise`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return not is_noise(record.getMessage())
        except Exception:  # noqa: BLE001  (a record that cannot be formatted is the handler's business)
            return True


_FILTER = NoiseFilter()


def quiet() -> bool:
    """Install the filters unless verbose; returns whether they are installed. Idempotent."""
    if verbose():
        return False
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    modules = "(" + "|".join(re.escape(m) for m in LIBRARIES) + r")(\.|$)"
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=modules)
    for pattern in NOISE:
        if not pattern.startswith("^"):
            warnings.filterwarnings("ignore", message=f".*{pattern}")
    return True
