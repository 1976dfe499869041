"""The base of lightgen's datamodules: a data root, a resumable training loader, the data's shape.

Exact resume needs the training loader to pick up mid-epoch where the interrupted run stopped.
:class:`ResumableLoader` is a DataLoader with Lightning's ``state_dict`` / ``load_state_dict``
protocol: its order is a pure function of (seed, epoch) (a :class:`EpochSampler`, which is also a
``DistributedSampler`` so Lightning keeps it under DDP rather than replacing it), and a restored
state skips the batches already trained on without loading them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from torchvision import transforms as T

from lightgen.errors import LightgenError
from lightgen.seeds import mix_seed

DATA_ENV = "LIGHTGEN_DATA"
#: most DataLoader workers chosen automatically (more rarely helps one GPU and multiplies memory)
MAX_AUTO_WORKERS = 8


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a SLURM or container allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_num_workers(world_size: int = 1) -> int:
    """Workers per process when none are asked for: the usable CPUs less one for the training process,
    shared among the processes of this node, capped at :data:`MAX_AUTO_WORKERS`."""
    return max(0, min(MAX_AUTO_WORKERS, usable_cpus() // max(1, world_size) - 1))


def resolve_root(root: str | os.PathLike | None) -> Path:
    """The data root: ``root`` if given, else ``$LIGHTGEN_DATA``, else ``./data``."""
    return Path(root if root is not None else os.environ.get(DATA_ENV, "data")).expanduser()


def checked_image_options(
    image_size: int, value_range: tuple[float, float], max_size: int = 512
) -> tuple[float, float]:
    """Validate the options every image datamodule shares; returns ``value_range`` as floats."""
    if image_size < 8 or image_size > max_size:
        raise LightgenError(f"image_size must be between 8 and {max_size} pixels; got {image_size}")
    if tuple(value_range) not in ((-1.0, 1.0), (0.0, 1.0)):
        raise LightgenError(f"value_range must be (-1, 1) or (0, 1); got {tuple(value_range)}")
    return float(value_range[0]), float(value_range[1])


def center_crop_resize(image_size: int, value_range: tuple[float, float]) -> T.Compose:
    """DCGAN's preprocessing: shorter side to ``image_size``, center crop, tensor in ``value_range``."""
    low, high = value_range
    return T.Compose([
        T.Resize(image_size, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
        T.CenterCrop(image_size),
        T.ToTensor(),
        T.Normalize([-low / (high - low)] * 3, [1.0 / (high - low)] * 3),
    ])  # fmt: skip


class EpochSampler(DistributedSampler):
    """Shuffles by (seed, epoch), splits the indices over ranks, and can start mid-epoch.

    ``start`` (in samples of this rank) applies to the next iteration only.
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = True,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
        self.start = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.start = 0  # a start applies within the epoch it was saved in
        super().set_epoch(epoch)

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        start, self.start = self.start, 0
        return iter(indices[start:])


class KeyedEpochSampler(EpochSampler):
    """An :class:`EpochSampler` that yields ``(index, key)``: ``key`` seeds that item's random transforms.

    The key is a pure function of (seed, epoch, index), so random crops, flips and an unpaired
    dataset's draw of its second domain differ from epoch to epoch, do not depend on which worker
    loads the item, and repeat exactly on resume. A dataset opts in with ``keyed = True`` and accepts
    both an ``(index, key)`` pair (training) and a plain index (evaluation: no randomness).
    """

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        epoch = self.epoch
        return ((i, item_key(self.seed, epoch, i)) for i in super().__iter__())


def item_key(seed: int, epoch: int, index: int) -> int:
    """The random key of one training item in one epoch (see :class:`KeyedEpochSampler`)."""
    return mix_seed(seed, epoch, index)


def split_item(item: int | tuple[int, int]) -> tuple[int, torch.Generator | None]:
    """A keyed dataset's ``__getitem__`` argument -> (index, generator seeded by its key, or None for a
    plain index, meaning: no random transform)."""
    if isinstance(item, (tuple, list)):
        index, key = item
        return int(index), torch.Generator().manual_seed(int(key))
    return int(item), None


class ResumableLoader(DataLoader):
    """A DataLoader over an :class:`EpochSampler` that Lightning can checkpoint and restore.

    Lightning does not prefetch from sized loaders, so the count of batches this loader has
    yielded when a checkpoint is written is exactly the count trained on.
    """

    def __init__(self, dataset: Dataset, *args: Any, **kwargs: Any) -> None:
        super().__init__(dataset, *args, **kwargs)
        if not isinstance(self.sampler, EpochSampler):
            raise TypeError(f"ResumableLoader needs an EpochSampler; got {type(self.sampler).__name__}")
        self._yielded = 0

    def __iter__(self) -> Iterator[Any]:
        self._yielded = self.sampler.start // self.batch_size if self.batch_size else 0
        for batch in super().__iter__():
            self._yielded += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": int(self.sampler.epoch), "batches": int(self._yielded)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, batches = int(state["epoch"]), int(state["batches"])
        if batches >= len(self):  # saved after the epoch's last batch: the next epoch starts afresh
            epoch, batches = epoch + 1, 0
        self.sampler.set_epoch(epoch)
        self.sampler.start = batches * int(self.batch_size or 1)


class GenerativeDataModule(LightningDataModule):
    """Base datamodule: subclasses set ``data_shape`` and build ``train_set`` / ``val_set`` / ``test_set``.

    Args:
        root: data root (default ``$LIGHTGEN_DATA`` or ``data/``).
        batch_size: examples per batch and per process (the global batch is this times the world size).
        num_workers: DataLoader worker processes; None: :func:`default_num_workers` (the usable CPUs less
            one, shared by the processes on this node, at most 8) for datasets that decode files, 0 for
            in-memory tensors (``auto_workers = False``); 0 loads in the training process.
        pin_memory: page-locked host batches for faster copies to the GPU; None: on when CUDA is in use.
        persistent_workers: keep workers alive across epochs; None: on when there are workers.
        seed: seed of the shuffle order (with the epoch) and of any split.
    """

    #: shape of one example, e.g. (1, 28, 28); set by subclasses in ``__init__``
    data_shape: tuple[int, ...]
    #: range of the values the datamodule serves
    value_range: tuple[float, float] = (-1.0, 1.0)
    #: whether ``num_workers=None`` picks workers from the CPUs (decoding datasets) or 0 (in-memory tensors)
    auto_workers: bool = True

    def __init__(
        self,
        root: str | None = None,
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__()
        if batch_size <= 0:
            raise LightgenError(f"batch_size must be a positive integer; got {batch_size}")
        if num_workers is not None and num_workers < 0:
            raise LightgenError(f"num_workers must be >= 0 (or None for automatic); got {num_workers}")
        self.root = resolve_root(root)
        self.batch_size = batch_size
        self.num_workers_setting = num_workers
        self.pin_memory_setting = pin_memory
        self.persistent_workers_setting = persistent_workers
        self.seed = seed
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    @property
    def num_workers(self) -> int:
        """The workers each loader uses: the setting, or :func:`default_num_workers` for this node."""
        if self.num_workers_setting is not None:
            return self.num_workers_setting
        if not self.auto_workers:
            return 0
        trainer = self.trainer
        local_world = getattr(trainer, "num_devices", 1) if trainer is not None else 1
        return default_num_workers(local_world)

    def loader_options(self) -> dict[str, Any]:
        """num_workers, pin_memory and persistent_workers as the loaders get them."""
        workers = self.num_workers
        trainer = self.trainer
        device = getattr(getattr(trainer, "strategy", None), "root_device", None)
        on_cuda = getattr(device, "type", "cpu") == "cuda"
        pin = self.pin_memory_setting if self.pin_memory_setting is not None else on_cuda
        persistent = self.persistent_workers_setting if self.persistent_workers_setting is not None else workers > 0
        return {"num_workers": workers, "pin_memory": bool(pin), "persistent_workers": bool(persistent and workers)}

    def _rank_and_world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size

    def _loader(self, dataset: Dataset | None, *, train: bool, split: str = "train") -> DataLoader:
        if dataset is None:
            raise LightgenError(
                f"{type(self).__name__} has no {split} split here (after setup(); see its val/test options)"
            )
        rank, world = self._rank_and_world()
        # a dataset with random transforms (``keyed``) gets a key per training item; evaluation has none
        sampler_cls = KeyedEpochSampler if train and getattr(dataset, "keyed", False) else EpochSampler
        sampler = sampler_cls(dataset, num_replicas=world, rank=rank, shuffle=train, seed=self.seed, drop_last=train)
        loader_cls = ResumableLoader if train else DataLoader
        # A generator of its own keeps the loader from drawing the global RNG when it starts an
        # iterator, which would shift the stream of a resumed run.
        generator = torch.Generator().manual_seed(self.seed)
        return loader_cls(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=train,
            generator=generator,
            **self.loader_options(),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None and self.train_set is not None:
            return []  # no validation split (e.g. val_size 0): Lightning skips the validation loop
        return self._loader(self.val_set, train=False, split="validation")

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False, split="test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False, split="test")
