"""The keyed training sampler: a per-item random key that differs by epoch, is the same on resume, and
serves datasets with random transforms (crops, flips, an unpaired dataset's second domain)."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from lightgen.data.base import EpochSampler, GenerativeDataModule, KeyedEpochSampler, ResumableLoader, split_item


class KeyedNoise(Dataset):
    """Item = (index, a random number drawn with the item's key); plain indices give no randomness."""

    keyed = True

    def __len__(self) -> int:
        return 12

    def __getitem__(self, item: int | tuple[int, int]) -> torch.Tensor:
        index, gen = split_item(item)
        noise = torch.rand((), generator=gen) if gen is not None else torch.tensor(-1.0)
        return torch.stack([torch.tensor(float(index)), noise])


class Module(GenerativeDataModule):
    def __init__(self) -> None:
        super().__init__(batch_size=4, num_workers=0, seed=3)
        self.train_set, self.val_set = KeyedNoise(), KeyedNoise()


def epoch_batches(loader: ResumableLoader, epoch: int) -> list[torch.Tensor]:
    loader.sampler.set_epoch(epoch)
    return list(loader)


def test_keyed_datasets_get_a_fresh_key_per_epoch_and_plain_indices_in_evaluation() -> None:
    dm = Module()
    train = dm.train_dataloader()
    assert isinstance(train.sampler, KeyedEpochSampler)
    first, again, second = epoch_batches(train, 0), epoch_batches(train, 0), epoch_batches(train, 1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # a pure function of (seed, epoch)
    noise = {int(i): float(r) for b in first for i, r in b.tolist()}
    noise_next = {int(i): float(r) for b in second for i, r in b.tolist()}
    assert len(noise) == 12 and all(noise[i] != noise_next[i] for i in noise)  # the same item, a new draw
    val = dm.val_dataloader()
    assert type(val.sampler) is EpochSampler
    assert all(r == -1.0 for b in val for _, r in b.tolist())  # no random transform when evaluating


def test_a_restored_keyed_loader_continues_with_the_same_keys() -> None:
    dm = Module()
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(2)
    full = list(loader)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    resumed = Module().train_dataloader()
    resumed.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(list(resumed), full[1:]))
    assert len(list(Module().train_dataloader())) == len(full)
