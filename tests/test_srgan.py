"""SRResNet and SRGAN (Ledig et al. 2017): G's loss by hand, D on HR images only, MSE training, generator
initialisation from an SRResNet checkpoint, the frozen feature network, PSNR validation, the configs."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)
from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from conftest import CONFIGS, quiet_trainer, scene_image
from lightning.pytorch.callbacks import Callback
from metrics.metric_fixtures import inception_weights  # noqa: F401  (fixture)
from torch.utils.data import DataLoader, TensorDataset

from lightgen.checkpoint import load_model
from lightgen.errors import CheckpointError, LightgenError
from lightgen.metrics.sr_quality import psnr_y, quantize_8bit
from lightgen.models.latent import Latent
from lightgen.models.srgan import SRGAN, SRResNet, bicubic_upsample

TINY = dict(num_blocks=1, channels=8, num_examples=2)


def tiny_pairs(n: int = 8, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(lr, hr): smooth random HR images in [-1, 1] and their 4x4 box-downsampled LR versions."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 4, size // 4, generator=gen) * 2 - 1
    hr = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return F.avg_pool2d(hr, 4), hr


class TinySR(L.LightningDataModule):
    def __init__(self, n: int = 8, size: int = 16, batch_size: int = 4) -> None:
        super().__init__()
        self.train_set = self.val_set = TensorDataset(*tiny_pairs(n, size))
        self.batch_size = batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.batch_size)


def save_sr_checkpoint(
    model: L.LightningModule, path: Path, class_path: str = "lightgen.models.srgan.SRResNet"
) -> Path:
    torch.save({"state_dict": model.state_dict(), "lightgen": {"class_path": class_path}}, path)
    return path


def test_srgan_g_loss_is_content_plus_1e3_of_the_papers_adversarial_term() -> None:
    torch.manual_seed(0)
    model = SRGAN((3, 16, 16), content="mse", d_channels=4, **TINY).eval()
    lr, hr = tiny_pairs(4)
    fake = model.generate(Latent(torch.zeros(4, 0)).with_context(lr))
    terms = model.g_loss(fake, Latent(torch.zeros(4, 0)).with_context(lr), hr)
    d_fake = model.discriminator(fake)
    paper_adversarial = (-torch.log(torch.sigmoid(d_fake))).mean()  # eq. 6: -log D(G(I_LR))
    expected = ((fake - hr) ** 2).mean() + 1e-3 * paper_adversarial  # eq. 3
    assert torch.allclose(terms["adversarial"], paper_adversarial, atol=1e-6)
    assert torch.allclose(terms["loss"], expected, atol=1e-6)
    assert torch.allclose(terms["content"], ((fake - hr) ** 2).mean())


def test_content_loss_is_zero_for_identical_images_and_positive_otherwise() -> None:
    model = SRGAN((3, 16, 16), content="mse", d_channels=4, **TINY)
    _, hr = tiny_pairs(2)
    assert float(model.content_terms(hr, hr)["loss"]) == 0.0
    assert float(model.content_terms(hr.flip(-1), hr)["loss"]) > 0.0


class GeneratorSnapshot(Callback):
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.weights = {k: v.clone() for k, v in pl_module.generator.state_dict().items()}


def test_discriminator_sees_only_hr_images_and_generator_init_applies_at_fit_start(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = save_sr_checkpoint(SRResNet((3, 16, 16), **TINY), tmp_path / "srresnet.ckpt")
    model = SRGAN((3, 16, 16), content="mse", d_channels=4, generator_init=str(source), probe_size=4, **TINY)
    shapes: list[tuple[int, ...]] = []
    model.discriminator.register_forward_pre_hook(lambda mod, args: shapes.append(tuple(args[0].shape)))
    snapshot = GeneratorSnapshot()
    quiet_trainer(max_steps=4, limit_val_batches=1, callbacks=[snapshot]).fit(model, TinySR())
    assert shapes and all(s[1:] == (3, 16, 16) for s in shapes), shapes  # HR size, 3 channels: no LR input
    expected = torch.load(source, weights_only=True)["state_dict"]
    for k, v in snapshot.weights.items():
        assert torch.equal(v, expected[f"generator.{k}"]), k
    assert model.generator_steps == 2 and model.discriminator_steps == 2  # max_steps counts both optimizers


def test_generator_init_copies_weights_exactly_and_refuses_wrong_files(tmp_path: Path) -> None:
    torch.manual_seed(0)
    srresnet = SRResNet((3, 16, 16), **TINY)
    model = SRGAN((3, 16, 16), content="mse", d_channels=4, ema_decay=0.9, **TINY)
    model.init_generator(save_sr_checkpoint(srresnet, tmp_path / "a.ckpt"))
    for net in (model.generator, model.generator_ema):
        for (k, v), w in zip(net.state_dict().items(), srresnet.generator.state_dict().values()):
            assert torch.equal(v, w), k
    with pytest.raises(CheckpointError, match="not an SRResNet/SRGAN checkpoint.*DCGAN"):
        model.init_generator(save_sr_checkpoint(srresnet, tmp_path / "b.ckpt", "lightgen.models.dcgan.DCGAN"))
    wider = SRResNet((3, 16, 16), num_blocks=2, channels=8)
    with pytest.raises(CheckpointError, match="does not fit this SRGAN"):
        model.init_generator(save_sr_checkpoint(wider, tmp_path / "c.ckpt"))
    (tmp_path / "d.ckpt").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        model.init_generator(tmp_path / "d.ckpt")


def test_srresnet_mse_falls_with_generator_steps_only() -> None:
    torch.manual_seed(0)
    model = SRResNet((3, 16, 16), g_optimizer=lambda params: torch.optim.Adam(params, lr=3e-3), **TINY)
    data = TinySR(n=8, batch_size=8)
    lr, hr = data.train_set.tensors
    before = float(F.mse_loss(model.translate(lr, weights="raw"), hr))
    quiet_trainer(max_epochs=40, enable_checkpointing=False).fit(model, data)
    after = float(F.mse_loss(model.translate(lr, weights="raw"), hr))
    assert model.generator_steps == 40 and model.discriminator_steps == 0
    assert list(model.discriminator.parameters()) == []
    assert after < 0.5 * before, (before, after)


def test_val_psnr_and_bicubic_baseline_equal_a_hand_computation() -> None:
    torch.manual_seed(0)
    model = SRResNet((3, 16, 16), eval_border=2, **TINY)
    data = TinySR(n=8, batch_size=8)
    (metrics,) = quiet_trainer(limit_val_batches=1).validate(model, data)
    lr, hr = data.val_set.tensors
    sr = model.translate(lr)

    def hand_psnr(x: torch.Tensor) -> float:
        unit = [quantize_8bit((y + 1) / 2) for y in (x, hr)]
        y_x, y_hr = [16 + (u.double() * torch.tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)).sum(1) for u in unit]
        mse = ((y_x - y_hr)[:, 2:-2, 2:-2] ** 2).mean(dim=(1, 2))
        return float((10 * torch.log10(255**2 / mse)).mean())

    assert metrics["val/psnr"] == pytest.approx(hand_psnr(sr), abs=1e-3)
    assert metrics["val/mse"] == pytest.approx(float(F.mse_loss(sr, hr)), abs=1e-6)
    assert metrics["val/psnr_bicubic"] == pytest.approx(hand_psnr(bicubic_upsample(lr, 4, (-1.0, 1.0))), abs=1e-3)
    assert hand_psnr(sr) == pytest.approx(float(psnr_y(*[quantize_8bit((y + 1) / 2) for y in (sr, hr)], 2).mean()))
    (again,) = quiet_trainer(limit_val_batches=1).validate(model, data)
    assert "val/psnr_bicubic" not in again and again["val/psnr"] == pytest.approx(metrics["val/psnr"])  # logged once


def test_feature_content_network_is_frozen_unsaved_and_zero_only_for_identical_images(inception_weights) -> None:
    torch.manual_seed(0)
    model = SRGAN((3, 32, 32), content="features", content_weights=str(inception_weights), d_channels=4, **TINY)
    _, hr = tiny_pairs(2, size=32)
    assert float(model.content_terms(hr, hr)["loss"]) == 0.0
    fake = hr.flip(-1).clone().requires_grad_(True)
    loss = model.content_terms(fake, hr)["loss"]
    assert float(loss.detach()) > 0.0
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    net = model.content_network()
    assert all(p.grad is None and not p.requires_grad for p in net.parameters())
    assert not net.training
    ids = {id(p) for p in net.parameters()}
    assert not ids & {id(p) for p in model.parameters()}
    assert not any("stem" in k or "Mixed" in k for k in model.state_dict())
    optimized = {id(p) for opt in model.configure_optimizers()[0] for g in opt.param_groups for p in g["params"]}
    assert not ids & optimized
    assert len(model.hparams.content_weights_sha256) == 64
    model.train()
    assert not net.training  # stays in eval mode (Inception's batch-norm statistics)


def test_missing_content_weights_name_the_prepare_command(tmp_path: Path) -> None:
    model = SRGAN((3, 32, 32), content="features", content_weights=str(tmp_path / "none.pth"), d_channels=4, **TINY)
    _, hr = tiny_pairs(2, size=32)
    with pytest.raises(LightgenError, match="lightgen data prepare inception"):
        model.content_terms(hr, hr)


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(LightgenError, match="content must be"):
        SRGAN((3, 16, 16), content="vgg", **TINY)
    with pytest.raises(LightgenError, match="square"):
        SRGAN((3, 16, 32), content="mse", **TINY)
    with pytest.raises(LightgenError, match="eval_border"):
        SRResNet((3, 16, 16), eval_border=-1, **TINY)


def make_sr_tree(root: Path) -> Path:
    for split, n in (("train", 3), ("test", 2)):
        folder = root / "sr-images" / split
        folder.mkdir(parents=True)
        for i in range(n):
            scene_image(10 * n + i, width=48 + 8 * i, height=40 + 8 * i).save(folder / f"img{i}.png")
    return root


def test_configs_train_srresnet_then_srgan_from_its_checkpoint(tmp_path: Path) -> None:
    from lightgen.cli import main

    root = make_sr_tree(tmp_path / "data")
    tiny = ["--model.init_args.num_blocks", "1", "--model.init_args.channels", "8"]
    common = [
        "--data.init_args.root", str(root), "--data.init_args.crop_size", "32", "--data.init_args.test_crop", "32",
        "--data.init_args.crops_per_image", "2", "--data.init_args.batch_size", "2", "--data.init_args.num_workers",
        "0", "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--sample_grid.num_samples", "2",
        "--run_root", str(tmp_path / "runs"), *tiny,
    ]  # fmt: skip
    main(["fit", "--config", str(CONFIGS / "srresnet.yaml"), *common])
    ckpt = tmp_path / "runs" / "srresnet" / "version_0" / "checkpoints" / "last.ckpt"
    srresnet = load_model(ckpt)
    assert type(srresnet) is SRResNet and srresnet.generator_steps == 2
    assert srresnet.sample(2, seed=0).shape == (2, 3, 32, 32)
    args = ["--model.init_args.generator_init", str(ckpt), "--model.init_args.content", "mse"]
    main(["fit", "--config", str(CONFIGS / "srgan.yaml"), *common, *args, "--model.init_args.d_channels", "4"])
    srgan = load_model(tmp_path / "runs" / "srgan" / "version_0" / "checkpoints" / "last.ckpt")
    assert type(srgan) is SRGAN and srgan.generator_steps == 1
    assert list((tmp_path / "runs" / "srgan" / "version_0" / "translations").glob("*.png"))
