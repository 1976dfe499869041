"""Cache of real-set features, one file per (dataset, split, image size, count, feature space, weights).

Real-set features are the same for every model evaluated on a dataset, so they are computed once and
kept under ``<data root>/eval_cache/``. The key holds the sha256 prefix of the extractor's weights, so
new weights never reuse old features. Files are written atomically and loaded with ``weights_only``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import torch

from lightgen.data.base import resolve_root


def cache_key(
    dataset: str, split: str, image_size: int, n: int, space: str, sha256: str | None, extra: str = ""
) -> str:
    raw = f"{dataset}-{split}-{image_size}px-n{n}-{space}-{(sha256 or 'none')[:12]}{extra}"
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", raw)


def cached_features(
    key: str, compute: Callable[[], torch.Tensor], root: str | Path | None = None, enabled: bool = True
) -> tuple[torch.Tensor, bool]:
    """``(features, hit)``: the cached tensor for ``key``, or ``compute()`` stored under it."""
    path = resolve_root(root) / "eval_cache" / f"{key}.pt"
    if enabled and path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True), True
        except Exception:  # a truncated cache file is recomputed, not trusted
            path.unlink(missing_ok=True)
    features = compute()
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save(features, tmp)
        tmp.replace(path)
    return features, False
