"""Cache of real-set features, one file per (images selected, count, feature space, weights, resize).

Real-set features are the same for every model evaluated on the same images, so they are computed once
and kept under ``<data root>/eval_cache/``. The key names the dataset, split, image size, count and
feature space, and ends in a digest of everything that selects or transforms the images
(:func:`data_selection`: the datamodule class, seed, split sizes, folder, image size, binarization,
value range, the resize rule) and the sha256 prefix of the extractor's weights, so a datamodule with
another seed or ``val_size`` (another train/val split) or new weights never reuses old features.
Files are written atomically and loaded with ``weights_only``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lightgen.data.base import resolve_root

# datamodule hyper-parameters that change how images are loaded, not which images or how they look
LOADER_ONLY = {"root", "batch_size", "num_workers", "pin_memory", "persistent_workers"}
# attributes that select or transform the images (read when present, beside the hyper-parameters)
SELECTING_ATTRIBUTES = ("dataset", "seed", "val_size", "folder", "image_size", "binarize", "value_range", "data_shape")


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def data_selection(dm: Any) -> dict[str, Any]:
    """What selects and transforms a datamodule's images: its class, its hyper-parameters less the
    loader options, and the attributes of :data:`SELECTING_ATTRIBUTES` (seed, val_size, folder...)."""
    out: dict[str, Any] = {"class": f"{type(dm).__module__}.{type(dm).__qualname__}"}
    hparams = getattr(dm, "hparams", None) or {}
    for k, v in dict(hparams).items():
        if k not in LOADER_ONLY and not str(k).startswith("_"):
            out[str(k)] = _plain(v)
    for name in SELECTING_ATTRIBUTES:
        if hasattr(dm, name):
            out[name] = _plain(getattr(dm, name))
    return out


def selection_digest(selection: dict[str, Any] | None) -> str:
    """12 hex digits of the sha256 of ``selection`` as sorted JSON ("" for None)."""
    if not selection:
        return ""
    text = json.dumps(_plain(selection), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_key(
    dataset: str,
    split: str,
    image_size: int,
    n: int,
    space: str,
    sha256: str | None,
    extra: str = "",
    selection: dict[str, Any] | None = None,
) -> str:
    """The file name of one cached feature set; ``selection`` (e.g. :func:`data_selection` plus the
    resize rule) is folded in as a digest."""
    digest = selection_digest(selection)
    raw = f"{dataset}-{split}-{image_size}px-n{n}-{space}-{(sha256 or 'none')[:12]}{extra}"
    raw += f"-sel{digest}" if digest else ""
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


def is_cached(key: str, root: str | Path | None = None) -> bool:
    return (resolve_root(root) / "eval_cache" / f"{key}.pt").is_file()
