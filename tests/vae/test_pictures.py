"""Pictures of the VAE family: reconstructions beside inputs, interpolations, the 2-D manifold and
DRAW's canvas, checked tile by tile against the model, with a CSV and a TensorBoard logger."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from conftest import quiet_trainer
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from lightgen.callbacks.vae_pictures import DRAWCanvas, VAEPictures
from lightgen.data.mnist import MNIST
from lightgen.errors import LightgenError
from lightgen.models.draw import DRAW
from lightgen.models.vae import VAE


def tile(grid: torch.Tensor, row: int, col: int, size: int = 28) -> torch.Tensor:
    """Image (row, col) of a torchvision grid (padding 2), first channel."""
    top, left = 2 + row * (size + 2), 2 + col * (size + 2)
    return grid[0, top : top + size, left : left + size]


def _data(root) -> MNIST:  # noqa: ANN001
    return MNIST(root=str(root), value_range=(0.0, 1.0), binarize="dynamic", batch_size=16, val_size=32)


def test_vae_pictures_show_inputs_reconstructions_interpolations_and_manifold(mnist_root, tmp_path, caplog):
    torch.manual_seed(0)
    data = _data(mnist_root)
    model = VAE(data.data_shape, latent_dims=(2,), hidden=(32,), val_k=3)
    pictures = VAEPictures(num_images=8, interpolation_pairs=2, interpolation_steps=5, manifold_size=4)
    logger = CSVLogger(tmp_path / "csv", name="", version="")
    limits = dict(max_epochs=1, limit_train_batches=3, limit_val_batches=1)
    trainer = quiet_trainer(**limits, logger=logger, callbacks=[pictures], default_root_dir=tmp_path)
    trainer.fit(model, datamodule=data)
    for name in ("reconstructions", "interpolations", "manifold"):
        assert pictures.paths[name].is_file() and pictures.paths[name].parent.name == "pictures"
    # active units are counted on validation data and reported when training ends
    assert set(model.last_active_units) == {"z1"} and 0 <= model.last_active_units["z1"] <= 2
    assert f"active units (last validation): z1 {model.last_active_units['z1']}/2" in caplog.text

    model.eval()
    grids = pictures.draw(trainer, model)
    x = torch.stack([data.val_set[i][0] for i in range(8)])
    recon = model.reconstruct(x)
    for c in range(8):  # row 0: the inputs, row 1: their reconstructions
        torch.testing.assert_close(tile(grids["reconstructions"], 0, c), x[c, 0])
        torch.testing.assert_close(tile(grids["reconstructions"], 1, c), recon[c, 0])
    # interpolation row p runs from the decoding of image 2p's code to image 2p+1's, through the midpoint
    z = model.encode_mean(x[:4])
    for p in range(2):
        torch.testing.assert_close(tile(grids["interpolations"], p, 0), recon[2 * p, 0])
        torch.testing.assert_close(tile(grids["interpolations"], p, 4), recon[2 * p + 1, 0])
        mid = model.decoder_mean((z[2 * p] + z[2 * p + 1]) / 2)
        torch.testing.assert_close(tile(grids["interpolations"], p, 2), mid[0], atol=1e-6, rtol=0)
    # manifold: z = Phi^-1(u) with u = (i + 1/2) / 4; z_1 grows to the right, z_2 upwards
    lo, hi = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor([0.125, 0.875]))
    torch.testing.assert_close(tile(grids["manifold"], 0, 0), model.decoder_mean(torch.stack([lo, hi]))[0])
    torch.testing.assert_close(tile(grids["manifold"], 3, 3), model.decoder_mean(torch.stack([hi, lo]))[0])


def test_no_manifold_without_a_2d_latent_and_bad_sizes_are_errors(mnist_root):
    data = _data(mnist_root)
    data.setup("fit")
    trainer = SimpleNamespace(datamodule=data)  # draw() reads only the datamodule's validation images
    model = VAE(data.data_shape, latent_dims=(3,), hidden=(16,)).eval()
    assert set(VAEPictures(num_images=4).draw(trainer, model)) == {"reconstructions", "interpolations"}
    with pytest.raises(LightgenError, match="interpolation_steps must be an integer >= 2; got 1"):
        VAEPictures(interpolation_steps=1)
    with pytest.raises(LightgenError, match="every_n_epochs"):
        DRAWCanvas(every_n_epochs=0)


def test_draw_canvas_picture_is_the_canvas_step_by_step(mnist_root, tmp_path):
    torch.manual_seed(0)
    data = _data(mnist_root)
    model = DRAW(data.data_shape, steps=4, enc_hidden=16, dec_hidden=16, latent_dim=3)
    canvas = DRAWCanvas(num_samples=3, max_columns=3, seed=5)
    logger = TensorBoardLogger(tmp_path, name="", version="")
    limits = dict(max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    trainer = quiet_trainer(**limits, logger=logger, callbacks=[canvas], default_root_dir=tmp_path)
    trainer.fit(model, datamodule=data)
    assert canvas.paths["draw_canvas"].is_file()
    assert list(tmp_path.glob("events.out.tfevents.*"))  # the grid also went to TensorBoard

    model.eval()
    grid = canvas.draw(trainer, model)["draw_canvas"]
    steps = model.canvas_steps(3, seed=5)  # (T=4, 3, 1, 28, 28); columns are steps 0, 2, 3 (of 0..3)
    assert grid.shape[-1] == 2 + 3 * 30
    for r in range(3):
        torch.testing.assert_close(tile(grid, r, 0), steps[0, r, 0])
        torch.testing.assert_close(tile(grid, r, 1), steps[2, r, 0])
        torch.testing.assert_close(tile(grid, r, 2), model.sample(3, seed=5)[r, 0])  # the last canvas
