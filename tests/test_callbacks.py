"""Sample grids reach the disk and the active logger as images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import quiet_trainer
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger, WandbLogger
from PIL import Image

from lightgen.callbacks import SampleGrid
from lightgen.callbacks.sample_grid import to_grid
from lightgen.data import MNIST
from lightgen.models import GAN


def fit_with(logger, root: Path, tmp_path: Path) -> SampleGrid:  # noqa: ANN001
    grid = SampleGrid(every_n_steps=2, num_samples=6, nrow=3, seed=0)
    model = GAN(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,))
    trainer = quiet_trainer(
        max_steps=8, logger=logger, callbacks=[grid], default_root_dir=tmp_path, log_every_n_steps=1
    )
    trainer.fit(model, MNIST(root=str(root), batch_size=16, val_size=64))
    return grid


def test_grid_maps_the_value_range_onto_zero_one() -> None:
    samples = torch.tensor([-1.0, 0.0, 1.0]).view(3, 1, 1, 1).expand(3, 1, 2, 2)
    grid = to_grid(samples, (-1.0, 1.0), nrow=3)
    assert grid.shape == (3, 2 + 2 * 2, 2 + 3 * 4)  # make_grid pads by 2 and repeats grey to RGB
    assert grid[0, 2, 2].item() == 0.0 and grid[0, 2, 6].item() == 0.5 and grid[0, 2, 10].item() == 1.0


def test_tensorboard_gets_the_grids_as_images(mnist_root: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(save_dir=tmp_path, name="", version="")
    grid = fit_with(logger, mnist_root, tmp_path)
    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0}).Reload()
    steps = [e.step for e in events.Images("samples")]
    assert steps == [1, 3]  # every 2 training batches of 4: after batches 2 and 4 (0-based steps 1, 3)
    # one x-axis: a grid is logged at the step of the scalars of the batch it follows, and the
    # generator-step count logged there says how many G updates the grid's generator had
    scalars = {e.step: e.value for e in events.Scalars("generator_steps")}
    assert sorted(scalars) == [0, 1, 2, 3]
    assert [scalars[s] for s in steps] == [2.0, 4.0]
    assert grid.last_path is not None and Image.open(grid.last_path).size == (3 * 30 + 2, 2 * 30 + 2)


def test_wandb_offline_run_holds_the_grid_images(mnist_root: Path, tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=str(tmp_path), project="lightgen-test", offline=True)
    fit_with(logger, mnist_root, tmp_path)
    logger.experiment.finish()
    images = list(tmp_path.glob("wandb/offline-run-*/files/media/images/samples_*.png"))
    assert len(images) == 2


@pytest.mark.parametrize("logger_cls", [CSVLogger])
def test_csv_runs_keep_the_grids_as_png(mnist_root: Path, tmp_path: Path, logger_cls: type) -> None:
    fit_with(logger_cls(save_dir=tmp_path, name="", version=""), mnist_root, tmp_path)
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.png")) == ["step_0000001.png", "step_0000003.png"]


def test_intervals_fire_when_a_gan_step_jumps_over_the_multiple() -> None:
    from lightgen.callbacks.image_logging import crossed_interval

    # a GAN's global_step grows by 2 per batch (one D and one G step): 2, 4, 6, ... never lands on 3 or 9
    fired, last = [], -1
    for step in range(2, 21, 2):
        if crossed_interval(last, step, 3):
            fired.append(step)
            last = step
    assert fired == [4, 6, 10, 12, 16, 18]  # once per multiple of 3 crossed: 3, 6, 9, 12, 15, 18
    assert not crossed_interval(6, 6, 3) and not crossed_interval(-1, 0, 3)
