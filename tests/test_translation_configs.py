"""The image-to-image configs train through `lightgen fit` on the real folder layouts their papers' data use
(tests/test_configs.py runs them on their embedded defaults): pix2pix on an aligned A|B folder (facades),
CycleGAN on trainA/ trainB/ testA/ testB/ (horse2zebra), SRResNet on a DIV2K root with a Set5 test folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import CONFIGS, scene_image
from PIL import Image

from lightgen.checkpoint import load_model
from lightgen.cli import main

SIDE = 40  # the files are larger than the 32-px crops, as the real datasets' are


def write_images(folder: Path, n: int, seed: int, width: int = SIDE, height: int = SIDE) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        scene_image(seed * 100 + i, width=width, height=height).save(folder / f"{i:04d}.png")


def facades(root: Path) -> list[str]:
    """pix2pix's aligned layout: train/ and test/ of A|B images side by side."""
    for split, n in (("train", 6), ("test", 2)):
        (root / "facades" / split).mkdir(parents=True)
        for i in range(n):
            ab = Image.new("RGB", (2 * SIDE, SIDE))
            ab.paste(scene_image(i, SIDE, SIDE), (0, 0))
            ab.paste(scene_image(50 + i, SIDE, SIDE), (SIDE, 0))
            ab.save(root / "facades" / split / f"{i}.jpg")
    return ["--data.folder", str(root / "facades"), "--data.channels", "3", "--data.crop_size", "32",
            "--model.init_args.num_downs", "3", "--model.init_args.g_channels", "8",
            "--model.init_args.d_channels", "8"]  # fmt: skip


def horse2zebra(root: Path) -> list[str]:
    """CycleGAN's unpaired layout: trainA/ trainB/ testA/ testB/ of different counts."""
    for name, n, seed in (("trainA", 5, 1), ("trainB", 3, 2), ("testA", 2, 3), ("testB", 2, 4)):
        write_images(root / "horse2zebra" / name, n, seed)
    return ["--data.folder", str(root / "horse2zebra"), "--data.channels", "3", "--data.crop_size", "32",
            "--model.init_args.g_channels", "8", "--model.init_args.g_blocks", "1",
            "--model.init_args.d_channels", "8"]  # fmt: skip


def div2k(root: Path) -> list[str]:
    """DIV2K's root (DIV2K_train_HR/, DIV2K_valid_HR/) for training and Set5's image_SRF_4/*_HR.png for testing."""
    write_images(root / "DIV2K" / "DIV2K_train_HR", 3, 5, width=64, height=48)
    write_images(root / "DIV2K" / "DIV2K_valid_HR", 2, 6, width=64, height=48)
    set5 = root / "Set5" / "image_SRF_4"
    write_images(set5, 2, 7, width=48, height=48)
    for path in sorted(set5.glob("*.png")):
        path.rename(path.with_name(path.stem + "_HR.png"))
    return ["--data.folder", str(root / "DIV2K"), "--data.test_folder", str(set5), "--data.crop_size", "32",
            "--data.test_crop", "32", "--model.init_args.num_blocks", "1",
            "--model.init_args.channels", "8"]  # fmt: skip


LAYOUTS = {"pix2pix": facades, "cyclegan": horse2zebra, "srresnet": div2k}


@pytest.mark.parametrize("config", sorted(LAYOUTS))
def test_config_trains_on_the_papers_folder_layout(config: str, tmp_path: Path) -> None:
    overrides = LAYOUTS[config](tmp_path / "data")
    main([
        "fit", "--config", str(CONFIGS / f"{config}.yaml"), *overrides,
        "--data.batch_size", "2", "--data.num_workers", "0",
        "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--sample_grid.num_samples", "2", "--run_root", str(tmp_path / "runs"),
    ])  # fmt: skip
    run = tmp_path / "runs" / config / "version_0"
    model = load_model(run / "checkpoints" / "last.ckpt")
    assert model.data_shape == (3, 32, 32) and model.generator_steps >= 1
    # the stored examples are the folder's images (3 channels, not the embedded 1-channel defaults)
    assert model.example_sources.shape[1] == 3 and bool(model.examples_set)
    assert model.example_sources.abs().sum() > 0
    out = model.sample(2, seed=0)
    assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()
    assert list((run / "translations").glob("*.png"))
