"""pix2pix: G's cost at the paper's weights, D on (source, image) pairs, learning, translation, pictures, configs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import CONFIGS, quiet_trainer
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightgen.callbacks.translation_pictures import TranslationPictures, panel_grid
from lightgen.checkpoint import load_model
from lightgen.errors import LightgenError
from lightgen.losses import objectives
from lightgen.models.latent import Latent
from lightgen.models.pix2pix import Pix2Pix

SHAPE = (1, 16, 16)


def tiny(**kwargs) -> Pix2Pix:  # noqa: ANN003
    defaults = dict(data_shape=SHAPE, num_downs=4, g_channels=8, d_channels=8, d_layers=1, num_examples=4)
    return Pix2Pix(**{**defaults, **kwargs})


def images(n: int, channels: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, channels, *SHAPE[1:], generator=torch.Generator().manual_seed(seed)) * 2 - 1


def paired(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sources (a bright 6x6 box at a random place on a dark 16x16 image) and targets (the negated sources)."""
    gen = torch.Generator().manual_seed(seed)
    source = torch.full((n, *SHAPE), -1.0)
    for i in range(n):
        row, col = torch.randint(0, SHAPE[1] - 6, (2,), generator=gen).tolist()
        source[i, :, row : row + 6, col : col + 6] = 1.0
    return source, -source


class PairedData(L.LightningDataModule):
    """A datamodule with the attributes the translation base reads (train_set / val_set of (source, target))."""

    def __init__(self, n_train: int = 32, n_val: int = 8, batch_size: int = 8) -> None:
        super().__init__()
        self.train_set = TensorDataset(*paired(n_train, seed=0))
        self.val_set = TensorDataset(*paired(n_val, seed=1))
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=False)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.batch_size)


# ------------------------------------------------------------------ G's cost (eq. 4) at the paper's weights
@pytest.mark.parametrize(
    ("objective", "paper_cost"),
    [
        (objectives.NonSaturating(), lambda d: F.binary_cross_entropy_with_logits(d, torch.ones_like(d))),
        (objectives.LeastSquares(), lambda d: F.mse_loss(d, torch.ones_like(d))),
        (objectives.Hinge(), lambda d: -d.mean()),
    ],
    ids=["bce", "least_squares", "hinge"],
)
def test_g_loss_is_the_papers_adversarial_cost_plus_100_l1(objective, paper_cost) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    model = tiny(objective=objective).eval()
    source, fake, real = images(4, seed=1), images(4, seed=2), images(4, seed=3)
    latent = Latent(torch.zeros(4, 0)).with_context(source)
    terms = model.g_loss(fake, latent, real)
    logits = model.discriminator(torch.cat([source, fake], dim=1))
    adversarial = paper_cost(logits)
    l1 = (fake - real).abs().mean()
    torch.testing.assert_close(terms["adversarial"], adversarial)
    torch.testing.assert_close(terms["l1"], l1)
    torch.testing.assert_close(terms["loss"], adversarial + 100.0 * l1)
    assert l1 > 0.1 and adversarial.abs() > 1e-3  # both terms matter in the check


def test_adversarial_scale_undoes_the_half_only_where_the_objective_has_it() -> None:
    assert objectives.NonSaturating().paper_g_scale == 2.0
    assert objectives.LeastSquares().paper_g_scale == 2.0
    assert objectives.WassersteinGP().paper_g_scale == 1.0
    assert objectives.FeatureMatching().paper_g_scale == 1.0


def test_g_loss_needs_the_target() -> None:
    model = tiny()
    latent = Latent(torch.zeros(2, 0)).with_context(images(2))
    with pytest.raises(LightgenError, match="real=None"):
        model.g_loss(images(2), latent, None)


# ------------------------------------------------------------------ D judges (source, image) pairs
class SpyD(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.seen = net, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.net(x)


def test_discriminator_sees_the_source_first_then_the_image() -> None:
    torch.manual_seed(0)
    model = tiny(source_channels=2).eval()  # 2 source channels + 1 image channel
    spy = SpyD(model.discriminator)
    model.discriminator = spy
    source, x = images(3, channels=2, seed=1), images(3, seed=2)
    out = model.discriminate(x, Latent(torch.zeros(3, 0)).with_context(source))
    assert out.shape == (3, 1, *spy.net(spy.seen[0]).shape[-2:])
    assert spy.seen[0].shape == (3, 3, 16, 16)
    torch.testing.assert_close(spy.seen[0][:, :2], source)
    torch.testing.assert_close(spy.seen[0][:, 2:], x)
    other = model.discriminate(x, Latent(torch.zeros(3, 0)).with_context(images(3, channels=2, seed=5)))
    assert (other - out).abs().max() > 1e-4  # the source changes D's verdict on the same image
    with pytest.raises(LightgenError, match="no source"):
        model.discriminate(x, None)


def test_training_step_feeds_d_pairs_of_the_batch_source() -> None:
    torch.manual_seed(0)
    model = tiny()
    spy = SpyD(model.discriminator)
    model.discriminator = spy
    data = PairedData(n_train=8, n_val=4)
    quiet_trainer(max_steps=1).fit(model, datamodule=data)
    source, target = data.train_set.tensors
    # D step: D(source, real) and D(source, fake); then the G step: D(source, fake)
    assert len(spy.seen) == 3
    for seen in spy.seen:
        torch.testing.assert_close(seen[:, :1], source)
    torch.testing.assert_close(spy.seen[0][:, 1:], target)


# ------------------------------------------------------------------ learning
def test_a_few_steps_bring_the_translation_closer_to_the_target() -> None:
    torch.manual_seed(0)
    adam = lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))  # noqa: E731 (faster than 2e-4)
    model = tiny(dropout=0.0, norm="instance", g_channels=16, g_optimizer=adam)
    source, target = paired(8, seed=1)  # held-out pairs
    before = (model.translate(source) - target).abs().mean()
    quiet_trainer(max_epochs=10).fit(model, datamodule=PairedData(n_train=32, batch_size=8))  # 40 steps
    after = (model.translate(source) - target).abs().mean()
    assert after < 0.5 * before, (before, after)


# ------------------------------------------------------------------ translation and options
def test_translate_shape_and_wrong_source() -> None:
    model = tiny()
    assert model.translate(images(3)).shape == (3, *SHAPE)
    assert model.translate(torch.zeros(2, 1, 32, 48)).shape == (2, 1, 32, 48)  # fully convolutional
    with pytest.raises(LightgenError, match=r"translates \(N, 1, H, W\) sources; got shape \(3, 3, 16, 16\)"):
        model.translate(images(3, channels=3))
    with pytest.raises(LightgenError, match="divisible by 16; got 20x20"):
        model.translate(torch.zeros(2, 1, 20, 20))


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(LightgenError, match="divisible by 32"):
        tiny(num_downs=5)
    with pytest.raises(LightgenError, match="latent_dim must be 0"):
        tiny(latent_dim=8)
    with pytest.raises(LightgenError, match="l1_weight"):
        tiny(l1_weight=-1.0)


def test_paper_inference_keeps_dropout_seeded_and_running_statistics() -> None:
    torch.manual_seed(0)
    model = tiny(paper_inference=True).eval()
    stats = [b.clone() for b in model.generator.buffers()]
    x = images(4)
    a, b, c = model.translate(x, seed=1), model.translate(x, seed=1), model.translate(x, seed=2)
    torch.testing.assert_close(a, b)
    assert (a - c).abs().max() > 1e-4  # dropout is on: another seed, another translation
    assert all(torch.equal(s, t) for s, t in zip(stats, model.generator.buffers()))
    assert not model.generator.training


# ------------------------------------------------------------------ validation, pictures, checkpoints
def test_fit_logs_val_l1_writes_pictures_and_the_checkpoint_translates_the_same(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = tiny()
    data = PairedData(n_train=16, n_val=8)
    pictures = TranslationPictures(every_n_steps=1)
    trainer = quiet_trainer(max_epochs=1, limit_val_batches=1, default_root_dir=str(tmp_path), callbacks=[pictures])
    trainer.fit(model, datamodule=data)
    val_source, val_target = data.val_set.tensors
    torch.testing.assert_close(model.example_sources, val_source[:4])
    expected = (model.translate(val_source) - val_target).abs().mean()
    torch.testing.assert_close(trainer.callback_metrics["val/l1"], expected)

    pngs = sorted((tmp_path / "translations").glob("step_*.png"))
    assert pngs and pictures.last_path == pngs[-1]
    width, height = Image.open(pngs[-1]).size
    assert (width, height) == (3 * 18 + 2, 4 * 18 + 2)  # 3 columns (source | output | target), 4 rows
    pixels = np.asarray(Image.open(pngs[-1]).convert("L"), dtype=np.float32) / 255
    first_source = (val_source[0, 0].numpy() + 1) / 2
    assert np.abs(pixels[2:18, 2:18] - first_source).max() < 1 / 255 + 1e-6  # row 0, column 0 is source 0

    trainer.save_checkpoint(tmp_path / "last.ckpt")
    reloaded = load_model(tmp_path / "last.ckpt")
    torch.testing.assert_close(reloaded.example_sources, model.example_sources)
    torch.testing.assert_close(reloaded.sample(4, seed=0), model.sample(4, seed=0))
    torch.testing.assert_close(reloaded.sample(4), model.translate(val_source[:4]))


def test_panel_grid_repeats_grey_panels_to_rgb() -> None:
    a, b = torch.zeros(2, 1, 8, 8), torch.zeros(2, 3, 8, 8)
    grid = panel_grid([(f"p{i}", x) for i, x in enumerate([a, b, a, b, a, b])], (-1.0, 1.0))
    assert grid.shape == (3, 2 * 10 + 2, 6 * 10 + 2)  # CycleGAN's 6 columns, 2 rows
    with pytest.raises(LightgenError, match="panel 'bad'"):
        panel_grid([("ok", a), ("bad", torch.zeros(3, 1, 8, 8))], (-1.0, 1.0))


# ------------------------------------------------------------------ the config
@pytest.mark.skipif(importlib.util.find_spec("lightgen.data.paired") is None, reason="lightgen.data.paired not there")
def test_config_trains_and_its_checkpoint_translates(mnist_root: Path, tmp_path: Path) -> None:
    from lightgen.cli import main

    main([
        "fit", "--config", str(CONFIGS / "pix2pix.yaml"), "--data.init_args.root", str(mnist_root),
        "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0", "--data.init_args.val_size", "64",
        "--trainer.max_steps", "4", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--sample_grid.num_samples", "4", "--run_root", str(tmp_path / "runs"),
        "--model.init_args.g_channels", "8", "--model.init_args.d_channels", "8",  # the paper's 64: 16.7M, slow
    ])  # fmt: skip
    run = tmp_path / "runs" / "pix2pix" / "version_0"
    model = load_model(run / "checkpoints" / "last.ckpt")
    assert isinstance(model, Pix2Pix) and bool(model.examples_set)
    assert model.sample(2, seed=0).shape == (2, *model.data_shape)
    assert list((run / "translations").glob("step_*.png"))
