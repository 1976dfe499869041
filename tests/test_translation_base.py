"""The image-to-image base (lightgen.models.translation): batches of (source, target), the source in
Latent.context, D on (source, image) pairs, stored example sources that survive a checkpoint."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lightgen.checkpoint import load_model
from lightgen.data.base import GenerativeDataModule
from lightgen.errors import LightgenError
from lightgen.models.translation import ImageTranslationGAN


class TinyTranslation(ImageTranslationGAN):
    """G: one conv from the source channels to the target's (x ``scale`` nearest upsampling); D: one conv."""

    def build_generator(self) -> nn.Module:
        up = nn.Upsample(scale_factor=self._scale) if self._scale > 1 else nn.Identity()
        return nn.Sequential(up, nn.Conv2d(self.source_shape[0], self.data_shape[0], 3, padding=1), nn.Tanh())

    def build_discriminator(self) -> nn.Module:
        return nn.Sequential(nn.Conv2d(self.d_input_shape[0], 1, 4, stride=2, padding=1))


class Pairs(GenerativeDataModule):
    def __init__(self, n: int = 24, scale: int = 1) -> None:
        super().__init__(batch_size=8, num_workers=0)
        gen = torch.Generator().manual_seed(0)
        self.source = torch.rand(n, 1, 8 // scale, 8 // scale, generator=gen) * 2 - 1
        self.target = torch.rand(n, 3, 8, 8, generator=gen) * 2 - 1
        self.data_shape = (3, 8, 8)

    def setup(self, stage: str | None = None) -> None:
        self.train_set = TensorDataset(self.source, self.target)
        self.val_set = TensorDataset(self.source[:4] + 0.5, self.target[:4])


def fit(model: ImageTranslationGAN, dm: Pairs, tmp_path: Path, steps: int = 2) -> L.Trainer:
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=2 * steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    trainer.fit(model, datamodule=dm)
    return trainer


def test_targets_are_real_and_sources_condition_both_players(tmp_path: Path) -> None:
    model = TinyTranslation((3, 8, 8), source_channels=1, num_examples=4)
    dm = Pairs()
    dm.setup()
    batch = [dm.source[:5], dm.target[:5]]
    assert torch.equal(model.real_from_batch(batch), dm.target[:5])
    latent = model.condition_on_batch(model.latent_prior(5), batch)
    assert latent.z.shape == (5, 0) and torch.equal(latent.context, dm.source[:5])
    seen = []
    model.discriminator.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    model.discriminate(dm.target[:5], latent)
    assert seen[0].shape == (5, 4, 8, 8) and torch.equal(seen[0][:, :1], dm.source[:5])  # source channels first
    with pytest.raises(LightgenError, match="judges \\(source, image\\) pairs"):
        model.discriminate(dm.target[:5], None)
    with pytest.raises(LightgenError, match="trains on \\(source, target\\) batches"):
        model.real_from_batch(dm.target)


def test_example_sources_are_stored_at_fit_start_and_survive_a_checkpoint(tmp_path: Path) -> None:
    model = TinyTranslation((3, 8, 8), source_channels=1, num_examples=6)
    with pytest.raises(LightgenError, match="no example sources yet"):
        model.sample(2)
    dm = Pairs()
    trainer = fit(model, dm, tmp_path)
    assert model.generator_steps == 2
    # the validation split's first 4 sources, cycled to 6
    assert torch.equal(model.example_sources, (dm.source[:4] + 0.5)[torch.arange(6) % 4])
    ckpt = tmp_path / "model.ckpt"
    trainer.save_checkpoint(ckpt)
    restored = load_model(ckpt)
    assert torch.equal(restored.sample(6), model.eval().sample(6))
    assert torch.equal(model.sample(3), model.translate(model.example_sources[:3]))
    panels = dict(restored.translation_panels())
    assert list(panels) == ["source", "output", "target"] and panels["output"].shape == (6, 3, 8, 8)
    with pytest.raises(LightgenError, match=r"translates \(N, 1, H, W\) sources; got shape \(2, 3, 8, 8\)"):
        model.translate(torch.zeros(2, 3, 8, 8))
    assert model.translate(torch.zeros(2, 1, 12, 12)).shape == (2, 3, 12, 12)  # fully convolutional


def test_super_resolution_shapes_follow_the_scale(tmp_path: Path) -> None:
    model = TinyTranslation((3, 8, 8), source_channels=1, scale=2, num_examples=2)
    assert model.source_shape == (1, 4, 4)
    fit(model, Pairs(scale=2), tmp_path, steps=1)
    panels = dict(model.translation_panels())
    assert panels["source"].shape == (2, 1, 8, 8)  # shown upsampled beside the output
    assert model.sample(2).shape == (2, 3, 8, 8)
    with pytest.raises(LightgenError, match="size divides by scale=3"):
        TinyTranslation((3, 8, 8), scale=3)
