"""Exact resume: a run stopped at step N and resumed equals the uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import quiet_trainer

from lightgen.callbacks import RunCheckpoint
from lightgen.checkpoint import AtomicCheckpointIO, load_checkpoint
from lightgen.data import MNIST
from lightgen.models import DCGAN


def run(root: Path, ckpt_dir: Path, max_steps: int, ckpt_path: str | None = None) -> DCGAN:
    L.seed_everything(0)
    # dropout in D and dynamic binarization both draw the global RNG, which must be restored too
    model = DCGAN(data_shape=(1, 28, 28), g_width=8, d_width=8, latent_dim=16, d_dropout=0.3)
    data = MNIST(root=str(root), batch_size=32, val_size=64, binarize="dynamic", num_workers=1)  # a worker too
    trainer = quiet_trainer(
        max_steps=max_steps,
        enable_checkpointing=True,
        callbacks=[RunCheckpoint(dirpath=ckpt_dir, every_n_train_steps=1000, save_top_k=0)],
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(model, data, ckpt_path=ckpt_path)
    return model


@pytest.mark.parametrize("stop_at_batch", [7, 18], ids=["mid-epoch", "epoch-boundary"])
def test_resumed_run_equals_uninterrupted_run(mnist_root: Path, tmp_path: Path, stop_at_batch: int) -> None:
    total_batches = 24  # an epoch of the fixture is 18 batches of 32: the run crosses an epoch
    straight = run(mnist_root, tmp_path / "a", max_steps=2 * total_batches)
    run(mnist_root, tmp_path / "b", max_steps=2 * stop_at_batch)
    last = tmp_path / "b" / "last.ckpt"
    assert load_checkpoint(last)["lightgen"]["loop"]["batches_seen"] == stop_at_batch
    resumed = run(mnist_root, tmp_path / "b", max_steps=2 * total_batches, ckpt_path=str(last))

    assert (resumed.generator_steps, resumed.batches_seen) == (straight.generator_steps, straight.batches_seen)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=f"{name} differs after resume")
    opt_a = straight.trainer.optimizers[0].state_dict()["state"]
    opt_b = resumed.trainer.optimizers[0].state_dict()["state"]
    for key in opt_a:
        torch.testing.assert_close(opt_a[key]["exp_avg"], opt_b[key]["exp_avg"], rtol=0, atol=1e-6)


def test_checkpoint_holds_both_optimizers_counters_and_rng(mnist_root: Path, tmp_path: Path) -> None:
    run(mnist_root, tmp_path, max_steps=6)
    ckpt = load_checkpoint(tmp_path / "last.ckpt")
    assert len(ckpt["optimizer_states"]) == 2
    assert ckpt["lightgen"]["loop"] == {"batches_seen": 3, "generator_steps": 3, "discriminator_steps": 3}
    assert ckpt["lightgen"]["torch_rng"].shape[0] == 1  # one row per rank
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 0, "batches": 3}]
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temporary file
