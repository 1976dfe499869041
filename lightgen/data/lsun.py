"""LSUN scene categories (Yu et al. 2015) from their LMDB databases, as in DCGAN (Radford et al. 2015).

The images are read through torchvision's ``LSUN`` / ``LSUNClass`` (the category names, their
checks and the decoding of each record are torchvision's), with two changes a cluster needs:

- **Per-process, lock-free, read-only LMDB.** torchvision opens the environment in ``__init__``;
  a DataLoader worker forked from that process would share the handle, which LMDB forbids. Here
  the environment opens on first use in each process (``readonly=True, lock=False``), so the files
  can sit on read-only or network storage and every worker has its own handle.
- **Key cache in the data directory.** torchvision writes ``_cache_<path>`` into the current
  working directory. Here the list of keys is kept as ``<root>/LSUN/_keys/<category>.txt`` (one
  hex key per line, written atomically) and rebuilt when its count disagrees with the database.

Layout: ``<root>/LSUN/<category>_lmdb/{data,lock}.mdb``, as the LSUN download script unpacks it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchvision import datasets as tv_datasets

from lightgen.data.base import GenerativeDataModule, center_crop_resize, checked_image_options
from lightgen.errors import DataNotFoundError, LightgenError

LSUN_FOLDER = "LSUN"


_OPEN_ENVS: dict[str, tuple[int, Any]] = {}  # path -> (pid, environment): LMDB allows one handle per process


def open_readonly(path: str) -> Any:
    """This process's read-only, lock-free handle on the LMDB at ``path`` (opened once per process)."""
    import lmdb

    pid, env = _OPEN_ENVS.get(path, (-1, None))
    if pid != os.getpid():
        if env is not None:  # inherited through fork: LMDB handles must not cross processes; drop this copy
            env.close()
        env = lmdb.open(path, max_readers=126, readonly=True, lock=False, readahead=False, meminit=False)
        _OPEN_ENVS[path] = (os.getpid(), env)
    return env


def read_key_cache(cache: Path, entries: int) -> list[bytes] | None:
    """The cached keys of a database, or None when the file is missing or has another count."""
    if not cache.is_file():
        return None
    lines = cache.read_text().split()
    if len(lines) != entries:
        return None
    return [bytes.fromhex(line) for line in lines]


def write_key_cache(cache: Path, keys: list[bytes]) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(key.hex() + "\n" for key in keys))
    os.replace(tmp, cache)


class LazyLSUNClass(tv_datasets.LSUNClass):
    """torchvision's LSUNClass with its LMDB opened lazily per process and its keys cached in ``cache_dir``."""

    def __init__(self, root: str, cache_dir: Path, transform: Callable | None = None) -> None:
        tv_datasets.VisionDataset.__init__(self, root, transform=transform)
        self._env: Any = None
        self._env_pid = -1
        with self.env.begin(write=False) as txn:
            self.length = txn.stat()["entries"]
        cache = Path(cache_dir) / f"{Path(root).name.removesuffix('_lmdb')}.txt"
        keys = read_key_cache(cache, self.length)
        if keys is None:
            with self.env.begin(write=False) as txn:
                keys = list(txn.cursor().iternext(keys=True, values=False))
            write_key_cache(cache, keys)
        self.keys = keys

    @property
    def env(self) -> Any:  # torchvision's __getitem__ reads self.env
        if self._env is None or self._env_pid != os.getpid():
            self._env, self._env_pid = open_readonly(self.root), os.getpid()
        return self._env

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_env"], state["_env_pid"] = None, -1  # a spawned worker opens its own
        return state


class LSUNScenes(tv_datasets.LSUN):
    """torchvision's LSUN over :class:`LazyLSUNClass` databases; the target is the category's index."""

    def __init__(self, root: str | Path, classes: list[str], transform: Callable | None = None) -> None:
        tv_datasets.VisionDataset.__init__(self, str(root), transform=transform)
        try:
            self.classes = self._verify_classes(list(classes))
        except ValueError as err:
            raise LightgenError(f"LSUN categories {list(classes)!r}: {err}") from None
        self.dbs = []
        for category in self.classes:
            path = Path(root) / f"{category}_lmdb"
            if not (path / "data.mdb").is_file():
                raise DataNotFoundError(
                    f"LSUN category {category!r} not found at {path}/data.mdb; download it with the LSUN "
                    f"script (github.com/fyu/lsun: python download.py -c {category.rsplit('_', 1)[0]}) and unzip "
                    f"it into {root}"
                )
            self.dbs.append(LazyLSUNClass(str(path), Path(root) / "_keys", transform=transform))
        self.indices, count = [], 0
        for db in self.dbs:
            count += len(db)
            self.indices.append(count)
        self.length = count


class LSUN(GenerativeDataModule):
    """LSUN scenes (e.g. ``bedroom_train``) center-cropped and resized to ``image_size`` (64 in DCGAN).

    Args:
        root: data root holding ``LSUN/<category>_lmdb`` (default ``$LIGHTGEN_DATA`` or ``data/``).
        categories: training databases, e.g. ``["bedroom_train"]`` or several scene categories.
        val_categories: held-out databases; by default each ``<scene>_val`` whose files exist.
        image_size: served image size (shorter side resized, then center crop).
        value_range: (-1, 1) for tanh generators, (0, 1) otherwise.
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule.
    """

    def __init__(
        self,
        root: str | None = None,
        categories: list[str] | None = None,
        val_categories: list[str] | None = None,
        image_size: int = 64,
        value_range: tuple[float, float] = (-1.0, 1.0),
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        value_range = checked_image_options(image_size, value_range)
        self.save_hyperparameters()
        self.categories = list(categories or ["bedroom_train"])
        self.val_categories = val_categories
        self.image_size = image_size
        self.value_range = value_range
        self.data_shape = (3, image_size, image_size)
        self.lsun_root = self.root / LSUN_FOLDER

    def _default_val_categories(self) -> list[str]:
        names = [c.rsplit("_", 1)[0] + "_val" for c in self.categories if c.endswith("_train")]
        return [c for c in dict.fromkeys(names) if (self.lsun_root / f"{c}_lmdb" / "data.mdb").is_file()]

    def _dataset(self, categories: list[str]) -> LSUNScenes:
        return LSUNScenes(self.lsun_root, categories, transform=center_crop_resize(self.image_size, self.value_range))

    def prepare_data(self) -> None:
        self._dataset(self.categories)  # fails early with the missing path; builds the key caches once

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.train_set = self._dataset(self.categories)
        val = self.val_categories if self.val_categories is not None else self._default_val_categories()
        self.val_set = self._dataset(val) if val else None
        self.test_set = self.val_set  # LSUN's test split carries no categories; its val split serves both
