"""Checkpoints as untrusted input; NaN losses stop training and keep the last good checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from conftest import quiet_trainer

from lightgen.callbacks import RunCheckpoint
from lightgen.checkpoint import AtomicCheckpointIO, load_checkpoint, load_model
from lightgen.data import MNIST
from lightgen.errors import CheckpointError, NonFiniteLossError
from lightgen.models import GAN


def tiny_gan(**kwargs) -> GAN:  # noqa: ANN003
    return GAN(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,), **kwargs)


def train(model: GAN, root: Path, ckpt_dir: Path, max_steps: int) -> None:
    trainer = quiet_trainer(
        max_steps=max_steps,
        enable_checkpointing=True,
        callbacks=[RunCheckpoint(dirpath=ckpt_dir, every_n_train_steps=4, save_top_k=0)],
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(model, MNIST(root=str(root), batch_size=32, val_size=64))


@pytest.fixture
def good_ckpt(mnist_root: Path, tmp_path: Path) -> Path:
    train(tiny_gan(), mnist_root, tmp_path / "ckpt", max_steps=4)
    return tmp_path / "ckpt" / "last.ckpt"


class Exploding(GAN):
    """A generator cost that turns NaN at the fifth generator step."""

    def g_loss(self, fake, latent, real=None):  # noqa: ANN001, ANN201
        terms = super().g_loss(fake, latent, real)
        if self.generator_steps == 4:
            terms["loss"] = terms["loss"] * float("nan")
        return terms


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(mnist_root: Path, tmp_path: Path) -> None:
    model = Exploding(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,))
    with pytest.raises(NonFiniteLossError) as err:
        train(model, mnist_root, tmp_path, max_steps=40)
    message = str(err.value)
    assert "\n" not in message and "NaN" in message and str(tmp_path / "last.ckpt") in message
    ckpt = load_checkpoint(tmp_path / "last.ckpt")
    assert ckpt["lightgen"]["loop"]["generator_steps"] == 4  # written at global step 8, before the NaN
    assert all(torch.isfinite(t).all() for t in ckpt["state_dict"].values())


def test_load_model_rebuilds_the_trained_model(good_ckpt: Path) -> None:
    model = load_model(good_ckpt)
    assert type(model) is GAN and model.data_shape == (1, 28, 28)
    state = load_checkpoint(good_ckpt)["state_dict"]
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, state[name])
    torch.testing.assert_close(model.sample(4, seed=3), model.sample(4, seed=3))


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_model(tmp_path / "nope.ckpt")


def test_truncated_checkpoint_is_reported_as_corrupt(good_ckpt: Path, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.ckpt"
    bad.write_bytes(good_ckpt.read_bytes()[: good_ckpt.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated") as err:
        load_model(bad)
    assert "\n" not in str(err.value)


class Payload:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("touch pwned",))


def test_checkpoint_carrying_code_is_refused_without_running_it(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "lightgen": {"class_path": "lightgen.models.GAN"}, "x": Payload()}, evil)
    with pytest.raises(CheckpointError, match=r"holds posix\.system, which lightgen does not unpickle"):
        load_model(evil)
    assert not (tmp_path / "pwned").exists()


def test_foreign_checkpoint_is_named_as_such(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(CheckpointError, match="is not a lightgen checkpoint"):
        load_model(foreign)
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="is not a Lightning checkpoint"):
        load_model(foreign)


def test_checkpoint_naming_a_class_outside_lightgen_is_refused(good_ckpt: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(good_ckpt)
    ckpt["lightgen"]["class_path"] = "somepkg.models.Evil"
    torch.save(ckpt, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="not lightgen's"):
        load_model(tmp_path / "other.ckpt")


def test_atomic_save_keeps_the_old_file_when_a_write_fails(good_ckpt: Path, monkeypatch) -> None:  # noqa: ANN001
    before = good_ckpt.read_bytes()

    def failing_save(obj, f):  # noqa: ANN001, ANN202
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        AtomicCheckpointIO().save_checkpoint({"state_dict": {}}, good_ckpt)
    assert good_ckpt.read_bytes() == before
    assert not list(good_ckpt.parent.glob("*.tmp"))
