"""The in-training FID callback logs a curve, and ModelCheckpoint keeps the best-FID checkpoint."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import quiet_trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from metric_fixtures import tiny_classifier  # noqa: F401  (fixtures)

from lightgen.callbacks.fid import FIDCallback
from lightgen.data import MNIST
from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd
from lightgen.metrics.classifier import classifier_space
from lightgen.models import GAN


def test_fid_is_logged_every_n_steps_and_the_best_checkpoint_is_kept(
    mnist_root: Path,
    tmp_path: Path,
    tiny_classifier,
) -> None:
    fid = FIDCallback(every_n_steps=2, num_samples=8, feature="classifier", weights=str(tiny_classifier), kid=True)
    best = ModelCheckpoint(
        dirpath=tmp_path / "ckpt", monitor="fid/classifier", mode="min", save_top_k=1, every_n_train_steps=2,
        filename="best-{step}", auto_insert_metric_name=False,
    )  # fmt: skip
    model = GAN(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,))
    trainer = quiet_trainer(
        max_steps=12, callbacks=[fid, best], logger=CSVLogger(tmp_path / "logs", name="", version=""),
        log_every_n_steps=1, enable_checkpointing=True,
    )  # fmt: skip
    trainer.fit(model, MNIST(root=str(mnist_root), batch_size=16, val_size=64))
    with open(tmp_path / "logs" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    curve = {int(r["step"]): float(r["fid/classifier"]) for r in rows if r.get("fid/classifier")}
    kids = [r["kid/classifier"] for r in rows if r.get("kid/classifier")]
    # every 2 of 6 training batches: after batches 2, 4, 6, logged once each at the step of that batch's
    # scalars (0-based 1, 3, 5), never re-sent as a stale value at the batches in between
    assert sorted(curve) == [1, 3, 5] and len(kids) == 3 and all(v >= 0 for v in curve.values())
    assert float(best.best_model_score) == pytest.approx(min(curve.values()), rel=1e-6)
    # the last logged value is the FID of the final model's fixed-seed samples against the val split
    space, _ = classifier_space(tiny_classifier)
    dm = MNIST(root=str(mnist_root), val_size=64)
    dm.setup("fit")
    real = fd.extract(fd.dataset_batches(dm.val_set, 8, 100, dm.value_range), space)
    gen = fd.extract(fd.sample_batches(model.eval(), 8, 100, 0), space)
    assert fid.last_value == pytest.approx(fd.fid_from_features(gen, real), rel=1e-4)


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(LightgenError, match="every_n_steps >= 1"):
        FIDCallback(every_n_steps=0)
    with pytest.raises(LightgenError, match="'classifier' or 'inception'; got 'vgg'"):
        FIDCallback(feature="vgg")  # type: ignore[arg-type]
