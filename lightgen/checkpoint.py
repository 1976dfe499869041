"""Checkpoints as untrusted input, written atomically.

Reading: ``torch.load(weights_only=True)`` only, which unpickles tensors, containers and primitive
types and nothing that could run code; the few other types a Lightning checkpoint holds are
allow-listed by name (:data:`SAFE_GLOBALS`). A file that is missing, truncated, not a checkpoint,
not lightgen's, or carries other Python objects is refused with a one-line :class:`CheckpointError`.

Writing: :class:`AtomicCheckpointIO` writes to a temporary file in the same folder, fsyncs it and
renames it over the target, so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import importlib
import os
import pickle
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lightgen.errors import CheckpointError
from lightgen.models.base import CHECKPOINT_KEY, GenerativeModel


def _safe_globals() -> list[Any]:
    """Types a lightgen/Lightning checkpoint may hold besides tensors and builtins."""
    from lightning.fabric.utilities.data import AttributeDict

    return [AttributeDict]


SAFE_GLOBALS = _safe_globals()


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """The checkpoint dict at ``path``, read without running any code it might carry."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path} (expected a .ckpt file written by lightgen)")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a readable checkpoint (not a torch zip archive: corrupt or truncated)")
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"(?:Unsupported global|GLOBAL)[: ]+(?:GLOBAL )?([\w.]+)", str(err))
        what = found.group(1) if found else "an object that is not plain data"
        raise CheckpointError(
            f"refusing to load {path}: it holds {what}, which lightgen does not unpickle (untrusted code); "
            "only load checkpoints you trust with plain torch.load"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated): {err}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (no 'state_dict' entry)")
    return checkpoint


def resolve_model_class(class_path: str) -> type[GenerativeModel]:
    """The class named in a checkpoint: lightgen's own, or one already imported by the user."""
    module_name, _, name = class_path.rpartition(".")
    if not module_name.startswith("lightgen.") and module_name not in __import__("sys").modules:
        raise CheckpointError(
            f"checkpoint names model class {class_path!r}, which is not lightgen's; import its module first"
        )
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise CheckpointError(f"checkpoint names model class {class_path!r}, which does not exist") from None
    if not (isinstance(cls, type) and issubclass(cls, GenerativeModel)):
        raise CheckpointError(f"checkpoint names {class_path!r}, which is not a lightgen GenerativeModel")
    return cls


def load_model(path: str | os.PathLike, map_location: Any = "cpu") -> GenerativeModel:
    """Rebuild the model a lightgen checkpoint holds, weights loaded, in eval mode."""
    checkpoint = load_checkpoint(path, map_location)
    meta = checkpoint.get(CHECKPOINT_KEY)
    if not isinstance(meta, dict) or "class_path" not in meta:
        raise CheckpointError(f"{path} is not a lightgen checkpoint (no '{CHECKPOINT_KEY}' metadata)")
    cls = resolve_model_class(meta["class_path"])
    hparams = {k: v for k, v in dict(checkpoint.get("hyper_parameters", {})).items() if not k.startswith("_")}
    try:
        model = cls(**hparams)
        model.load_state_dict(checkpoint["state_dict"])
    except (TypeError, RuntimeError) as err:
        raise CheckpointError(f"{path} does not match {cls.__name__}: {str(err).splitlines()[0]}") from None
    model.on_load_checkpoint(checkpoint)
    return model.eval()


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes atomically (local paths) and reads with ``weights_only``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        fs = get_filesystem(path)
        if fs.protocol not in ("file", ("file", "local")) and "file" not in fs.protocol:
            return super().save_checkpoint(checkpoint, path, storage_options)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_checkpoint(path, map_location if map_location is not None else "cpu")
