"""Loader defaults: workers from the usable CPUs (0 for in-memory MNIST), pinned memory on CUDA,
persistent workers; order, rank split and mid-epoch resume are the same with workers as without
(tests/test_resume.py trains with a worker)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import TensorDataset

from lightgen.data import MNIST
from lightgen.data import base as data_base
from lightgen.errors import LightgenError


@pytest.mark.parametrize(("cpus", "world", "expected"), [(1, 1, 0), (2, 1, 1), (16, 1, 8), (16, 4, 3), (64, 1, 8)])
def test_default_workers_follow_the_usable_cpus(
    monkeypatch: pytest.MonkeyPatch, cpus: int, world: int, expected: int
) -> None:
    monkeypatch.setattr(data_base, "usable_cpus", lambda: cpus)
    assert data_base.default_num_workers(world) == expected


def trainer_on(device: str, devices: int = 1) -> SimpleNamespace:
    return SimpleNamespace(
        num_devices=devices, strategy=SimpleNamespace(root_device=torch.device(device)), global_rank=0, world_size=1
    )


class Tensors(data_base.GenerativeDataModule):
    """A datamodule whose items would need decoding (auto_workers stays on)."""

    data_shape = (1, 4, 4)

    def setup(self, stage: str | None = None) -> None:
        self.train_set = TensorDataset(torch.randn(64, 1, 4, 4), torch.zeros(64))


def test_loader_options_default_to_the_machine(monkeypatch: pytest.MonkeyPatch, mnist_root: Path) -> None:
    monkeypatch.setattr(data_base, "usable_cpus", lambda: 8)
    dm = Tensors()
    assert dm.loader_options() == {"num_workers": 7, "pin_memory": False, "persistent_workers": True}
    dm.trainer = trainer_on("cuda", devices=2)  # type: ignore[assignment]
    assert dm.loader_options() == {"num_workers": 3, "pin_memory": True, "persistent_workers": True}
    dm.trainer = None  # type: ignore[assignment]
    # in-memory MNIST: a worker only adds inter-process copies (measured), so automatic means 0
    assert MNIST(root=str(mnist_root), val_size=64).loader_options()["num_workers"] == 0
    zero = MNIST(root=str(mnist_root), val_size=64, num_workers=0)
    assert zero.loader_options() == {"num_workers": 0, "pin_memory": False, "persistent_workers": False}
    explicit = MNIST(root=str(mnist_root), val_size=64, num_workers=2, pin_memory=True, persistent_workers=False)
    assert explicit.loader_options() == {"num_workers": 2, "pin_memory": True, "persistent_workers": False}
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert (loader.num_workers, loader.persistent_workers) == (7, True)


def batches(loader) -> torch.Tensor:  # noqa: ANN001
    return torch.cat([x for x, _ in loader])


def test_workers_serve_the_same_batches_per_rank_as_the_main_process(mnist_root: Path) -> None:
    for rank in (0, 1):
        served = {}
        for workers in (0, 2):
            dm = MNIST(root=str(mnist_root), val_size=64, batch_size=16, num_workers=workers)
            dm.setup("fit")
            dm.trainer = SimpleNamespace(global_rank=rank, world_size=2, num_devices=2)  # type: ignore[assignment]
            served[workers] = batches(dm.train_dataloader())
        torch.testing.assert_close(served[0], served[2], rtol=0, atol=0)


def test_resumed_loader_with_workers_continues_where_it_stopped(mnist_root: Path) -> None:
    dm = MNIST(root=str(mnist_root), val_size=64, batch_size=16, num_workers=2)
    dm.setup("fit")
    full = list(dm.train_dataloader())
    loader = dm.train_dataloader()
    it = iter(loader)
    for _ in range(5):
        next(it)
    state = loader.state_dict()
    resumed = dm.train_dataloader()
    resumed.load_state_dict(state)
    rest = list(resumed)
    assert len(rest) == len(full) - 5
    for (a, _), (b, _) in zip(rest, full[5:]):
        assert torch.equal(a, b)


def test_negative_workers_is_a_one_line_error(mnist_root: Path) -> None:
    with pytest.raises(LightgenError, match="num_workers must be >= 0"):
        MNIST(root=str(mnist_root), num_workers=-1)
