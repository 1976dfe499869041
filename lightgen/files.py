"""File utilities shared by every layer (data preparation, metric weights, caches): no lightgen imports.

A low-level module so that ``lightgen.data`` and ``lightgen.metrics`` can both use it without importing
each other (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: str | Path, algorithm: str) -> str:
    """The hex digest of the file at ``path`` (``algorithm``: any :func:`hashlib.new` name), read in 1 MiB blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file: the fingerprint of weights files written on every protocol card."""
    return file_digest(path, "sha256")


def verified(folder: Path, digests: dict[str, str], algorithm: str) -> bool:
    """True when every file named in ``digests`` is in ``folder`` with that digest."""
    return all((folder / n).is_file() and file_digest(folder / n, algorithm) == d for n, d in digests.items())
