"""Every config in configs/ trains for two steps through `lightgen fit` on tiny data of its kind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml
from conftest import CONFIGS, make_image_tree, make_lsun_db, make_mnist_tree

from lightgen.checkpoint import load_model
from lightgen.cli import main

CONFIG_FILES = sorted(p for p in CONFIGS.glob("*.yaml") if p.name != "base.yaml")


def mnist_data(tmp: Path) -> list[str]:
    root = make_mnist_tree(tmp / "data", "MNIST")
    make_mnist_tree(root, "FashionMNIST")
    return ["--data.init_args.root", str(root), "--data.init_args.val_size", "64"]


def lsun_data(tmp: Path) -> list[str]:
    make_lsun_db(tmp / "data" / "LSUN", "bedroom_train", n=8)
    make_lsun_db(tmp / "data" / "LSUN", "bedroom_val", n=4, seed=1)
    return ["--data.init_args.root", str(tmp / "data")]


def imagenet_data(tmp: Path) -> list[str]:
    make_image_tree(tmp / "data" / "ImageNet" / "train", ["n01440764", "n01443537"], per_class=4)
    make_image_tree(tmp / "data" / "ImageNet" / "val", ["n01440764", "n01443537"], per_class=2, seed=1)
    return ["--data.init_args.root", str(tmp / "data")]


def sr_data(tmp: Path) -> list[str]:
    """A tiny <root>/sr-images tree (what `lightgen data prepare sr-images` writes), 32-px HR crops."""
    from conftest import scene_image

    for split, n in (("train", 3), ("test", 2)):
        folder = tmp / "data" / "sr-images" / split
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            scene_image(10 * len(split) + i, width=48 + 8 * i, height=40 + 4 * i).save(folder / f"image_{i}.png")
    root = str(tmp / "data")
    return ["--data.init_args.root", root, "--data.init_args.crop_size", "32", "--data.init_args.test_crop", "32"]


def oracle_sequence_data(tmp: Path) -> list[str]:  # the oracle draws its sequences from a seed: keep it tiny
    return ["--data.init_args.root", str(tmp / "data"), "--data.init_args.vocab_size", "20",
            "--data.init_args.num_train", "16", "--data.init_args.num_test", "8"]  # fmt: skip


def text_corpus_data(tmp: Path) -> list[str]:  # a plain text corpus, one sentence a line
    corpus = tmp / "corpus.txt"
    corpus.write_text("\n".join(f"w{i} w{i + 1} w{i + 2}" for i in range(12)) + "\n")
    return ["--data.init_args.path", str(corpus)]


def toy_data(tmp: Path) -> list[str]:  # drawn in memory from a seed: only its size to keep tiny
    return ["--data.init_args.num_train", "64", "--data.init_args.num_val", "16"]


# datamodule class path -> builder of a tiny dataset in the real layout, returning CLI overrides
DATA_BUILDERS: dict[str, Callable[[Path], list[str]]] = {
    "lightgen.data.MNIST": mnist_data,
    "lightgen.data.LSUN": lsun_data,
    "lightgen.data.ImageNet": imagenet_data,
    "lightgen.data.GaussianMixture2D": toy_data,
    "lightgen.data.PairedImages": mnist_data,
    "lightgen.data.UnpairedImages": mnist_data,
    "lightgen.data.SuperResolution": sr_data,
    "lightgen.data.CaptionedImages": mnist_data,
    "lightgen.data.OracleSequences": oracle_sequence_data,
    "lightgen.data.TextSequences": text_corpus_data,
}
# configs that need a setting of their own here: SRGAN's Inception content loss needs the FID weights, which
# tests/test_srgan.py exercises; its two-step run here uses the pixel content loss
CONFIG_OVERRIDES: dict[str, list[str]] = {"srgan": ["--model.init_args.content", "mse"]}


def stackgan_overrides(name: str) -> Callable[[Path], list[str]]:
    """StackGAN's stages need a text encoder (stage I) or a stage-I checkpoint (stage II): tests/test_stackgan.py
    makes both, tiny."""

    def build(tmp: Path) -> list[str]:
        from test_stackgan import config_overrides

        return config_overrides(name, tmp)

    return build


# configs whose builder makes more than the data
CONFIG_BUILDERS: dict[str, Callable[[Path], list[str]]] = {
    "stackgan_stage1": stackgan_overrides("stackgan_stage1"),
    "stackgan": stackgan_overrides("stackgan"),
}


def test_configs_exist() -> None:
    names = {p.stem for p in CONFIG_FILES}
    assert {"gan_mlp", "dcgan", "dcgan_lsun", "dcgan_imagenet"} <= names


@pytest.mark.parametrize("config", CONFIG_FILES, ids=[p.stem for p in CONFIG_FILES])
def test_config_trains_two_steps_and_its_checkpoint_samples(config: Path, tmp_path: Path) -> None:
    spec = yaml.safe_load(config.read_text())
    data_class = spec["data"]["class_path"]
    assert data_class in DATA_BUILDERS, f"{config}: no tiny-data builder for {data_class} in this test"
    if config.stem in CONFIG_BUILDERS:  # a config that needs more than data (a text encoder, a stage-I checkpoint)
        overrides = CONFIG_BUILDERS[config.stem](tmp_path)
    else:
        overrides = DATA_BUILDERS[data_class](tmp_path) + CONFIG_OVERRIDES.get(config.stem, [])
    main([
        "fit", "--config", str(config), *overrides,
        "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
        "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--sample_grid.num_samples", "4", "--run_root", str(tmp_path / "runs"),
    ])  # fmt: skip
    run = tmp_path / "runs" / config.stem / "version_0"
    model = load_model(run / "checkpoints" / "last.ckpt")
    if not model.can_sample:  # a text-image matching model scores pairs; it draws no images
        assert model.hparams and (run / "checkpoints" / "last.ckpt").is_file()
        return
    samples = model.sample(2, seed=0)
    assert samples.shape == (2, *getattr(model, "sample_shape", model.data_shape))  # StackGAN stage I: 16 px
    if not samples.is_floating_point():  # token sequences (SeqGAN): ids in the vocabulary, no picture
        assert samples.dtype == torch.int64 and int(samples.min()) >= 0 and int(samples.max()) < model.vocab_size
        return
    assert torch.isfinite(samples).all()
    assert list((run / "samples").glob("*.png"))


BF16_CONFIGS = ["vae", "iaf", "draw", "fvbn", "nade", "made", "pixelcnn", "dcgan", "wgan_gp", "hinge_sn", "cdcgan"]


@pytest.mark.parametrize("name", BF16_CONFIGS)
def test_config_trains_under_bf16_mixed_precision(name: str, tmp_path: Path) -> None:
    """Every family under `--trainer.precision bf16-mixed` (autocast on the CPU): finite parameters after
    two steps, for automatic (VAE, autoregressive) and manual (GAN, with penalties) optimization alike."""
    config = CONFIGS / f"{name}.yaml"
    spec = yaml.safe_load(config.read_text())
    overrides = DATA_BUILDERS[spec["data"]["class_path"]](tmp_path)
    main([
        "fit", "--config", str(config), *overrides, "--trainer.precision", "bf16-mixed",
        "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
        "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "0",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--sample_grid.num_samples", "4", "--run_root", str(tmp_path / "runs"),
    ])  # fmt: skip
    model = load_model(tmp_path / "runs" / name / "version_0" / "checkpoints" / "last.ckpt")
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert torch.isfinite(model.sample(2, seed=0)).all()
