"""StackGAN (Zhang et al. 2017): conditioning augmentation, the matching-aware D, the frozen stage I, and the
configs through ``lightgen fit`` (text encoder -> stage I -> stage II)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import CONFIGS, make_mnist_tree, quiet_trainer
from torch.distributions import Normal, kl_divergence

from lightgen.callbacks.caption_pictures import save_captioned_grid
from lightgen.checkpoint import load_model
from lightgen.cli import main
from lightgen.data.text_image import CaptionedImages
from lightgen.errors import CheckpointError
from lightgen.losses.conditioning import kl_to_standard_normal
from lightgen.models.stackgan import StackGAN
from lightgen.models.text_matching import TextImageMatching
from lightgen.nets.stackgan import CAugment

TINY = dict(latent_dim=8, ca_dim=6, g_width=4, d_width=4, text_dim=4, g_res_blocks=1)


def captioned(root: Path, batch_size: int = 8) -> CaptionedImages:
    dm = CaptionedImages(root=str(root), val_size=64, batch_size=batch_size, num_workers=0)
    dm.setup("fit")
    return dm


def save_text_encoder(dm: CaptionedImages, path: Path) -> Path:
    """An untrained TextImageMatching checkpoint on the datamodule's vocabulary (what StackGAN reads of it)."""
    model = TextImageMatching(dm.data_shape, vocabulary=dm.vocab.words, embedding_dim=12, word_dim=8, hidden_dim=8)
    meta = {"class_path": "lightgen.models.text_matching.TextImageMatching"}
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams), "lightgen": meta}, path)
    return path


@pytest.fixture
def data(mnist_root: Path, tmp_path: Path) -> tuple[CaptionedImages, Path]:
    dm = captioned(mnist_root)
    return dm, save_text_encoder(dm, tmp_path / "text.ckpt")


def batch_of(dm: CaptionedImages, n: int = 8) -> tuple[torch.Tensor, ...]:
    items = [dm.train_set[(i, i)] for i in range(n)]  # keyed items: (index, key)
    return tuple(
        torch.stack([it[k] if torch.is_tensor(it[k]) else torch.tensor(it[k]) for it in items]) for k in range(4)
    )


def stage1_checkpoint(dm: CaptionedImages, text: Path, path: Path, steps: int = 2) -> tuple[StackGAN, Path]:
    model = StackGAN(dm.data_shape, stage=1, text_encoder=str(text), **TINY)
    trainer = quiet_trainer(max_steps=steps, max_epochs=1)
    trainer.fit(model, datamodule=dm)
    trainer.save_checkpoint(path)
    return model, path


def config_overrides(name: str, tmp: Path) -> list[str]:
    """CLI overrides that train configs/<name>.yaml (``stackgan_stage1`` or ``stackgan``) on tiny data: a
    Fashion-MNIST tree, an untrained text encoder and, for stage II, a 2-step stage-I checkpoint
    (for tests/test_configs.py, whose builders are keyed by the datamodule)."""
    root = make_mnist_tree(tmp / "data", "FashionMNIST")
    dm = captioned(root)
    text = save_text_encoder(dm, tmp / "text.ckpt")
    data = ["--data.init_args.root", str(root), "--data.init_args.val_size", "64"]
    if name == "stackgan_stage1":
        return [*data, "--model.init_args.text_encoder", str(text)]
    _, ckpt = stage1_checkpoint(dm, text, tmp / "stage1.ckpt")
    return [*data, "--model.init_args.stage1", str(ckpt)]


# ---------------------------------------------------------------------- conditioning augmentation
def test_kl_matches_the_closed_form_of_torch_distributions() -> None:
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 7, generator=gen), torch.randn(5, 7, generator=gen)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), expected)
    assert kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_ca_draws_c_with_mean_mu_and_std_sigma() -> None:
    torch.manual_seed(0)
    ca = CAugment(embed_dim=5, c_dim=3)
    phi = torch.randn(1, 5).expand(40000, 5)
    eps = torch.randn(40000, 3, generator=torch.Generator().manual_seed(1))
    c, mu, logvar = ca(phi, eps)
    sigma = (0.5 * logvar[0]).exp()
    assert (c.mean(0) - mu[0]).abs().max() < 4 * sigma.max() / 200  # 4 standard errors (sqrt(40000) = 200)
    torch.testing.assert_close(c.std(0), sigma, rtol=0.03, atol=0.0)
    assert not torch.allclose(c, mu)  # c is a draw around mu, not mu itself


# ---------------------------------------------------------------------- the matching-aware discriminator
def test_matching_aware_d_takes_real_images_with_wrong_text_as_negatives(data, monkeypatch) -> None:  # noqa: ANN001
    dm, text = data
    model = StackGAN(dm.data_shape, stage=1, text_encoder=str(text), **TINY)
    batch = batch_of(dm)
    real = model.real_from_batch(batch)
    latent = model.condition_on_batch(model.latent_prior(8, torch.Generator().manual_seed(0)), batch)
    fake = model.generate(latent).detach()
    calls, original = [], StackGAN.discriminate

    def spy(self, x, latent=None):  # noqa: ANN001, ANN202
        out = original(self, x, latent)
        calls.append((x, latent.context, out))
        return out

    monkeypatch.setattr(StackGAN, "discriminate", spy)
    terms = model.d_loss(real, fake, latent)
    phi = model.embed_text(batch[1], batch[2])
    assert len(calls) == 3
    (x1, t1, r), (x2, t2, f), (x3, t3, w) = calls
    assert torch.equal(x1, real) and torch.equal(x2, fake) and torch.equal(x3, real)
    assert torch.equal(t1, phi) and torch.equal(t2, phi)
    assert torch.equal(t3, phi.roll(1, dims=0)) and not torch.equal(t3, phi)  # image i meets caption i - 1
    # 1/2 [J(r, f) + J(r, w)] with J the cross-entropy 1/2 E softplus(-r) + 1/2 E softplus(f):
    # errD_real + (errD_fake + errD_wrong) / 2 of the official code, halved
    by_hand = 0.5 * F.softplus(-r).mean() + 0.25 * F.softplus(f).mean() + 0.25 * F.softplus(w).mean()
    torch.testing.assert_close(terms["loss"], by_hand)
    torch.testing.assert_close(terms["d_wrong"], torch.sigmoid(w).mean())


def test_discriminator_steps_learn_to_reject_the_wrong_text(data) -> None:  # noqa: ANN001
    dm, text = data
    torch.manual_seed(0)
    model = StackGAN(dm.data_shape, stage=1, text_encoder=str(text), **{**TINY, "d_width": 8, "text_dim": 8})
    batch = batch_of(dm, 16)
    ids = batch[1]
    differ = (ids != ids.roll(1, dims=0)).any(1)  # pairs whose wrong caption is really another caption
    assert differ.sum() >= 8
    real = model.real_from_batch(batch)
    latent = model.condition_on_batch(model.latent_prior(16, torch.Generator().manual_seed(0)), batch)
    fake = model.generate(latent).detach()
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=3e-3, betas=(0.5, 0.999))
    first = None
    for _ in range(60):
        terms = model.d_loss(real, fake, latent, regularize=False)
        first = terms["loss"].item() if first is None else first
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
    with torch.no_grad():  # train mode (batch statistics), as the loss sees D
        right = torch.sigmoid(model.discriminate(real, latent))
        wrong = torch.sigmoid(model.discriminate(real, model.wrong_text(latent)))
    assert terms["loss"].item() < 0.5 * first
    assert (right[differ] - wrong[differ]).mean() > 0.3  # D scores the matching caption above the wrong one


# ---------------------------------------------------------------------- stages
def test_stage_shapes_and_captioned_sampling(data, tmp_path: Path) -> None:  # noqa: ANN001
    dm, text = data
    model, ckpt = stage1_checkpoint(dm, text, tmp_path / "s1.ckpt")
    assert model.real_from_batch(batch_of(dm, 2)).shape == (2, 1, 16, 16)
    assert model.sample(3, seed=0).shape == (3, 1, 16, 16)  # the example captions kept at fit start
    assert len(model.captions) == 8 and model.vocab == dm.vocab
    two = StackGAN(dm.data_shape, stage=2, stage1=str(ckpt), **TINY)
    caps = ["a dark pair of trousers", "a bright bag"]
    stages = two.sample_stages(4, seed=0, captions=caps)
    assert [s.shape for s in stages] == [(4, 1, 16, 16), (4, 1, 64, 64)]
    # stage II's stage-I images are stage I's own samples for the same draws (z, eps_0 lead the noise)
    torch.testing.assert_close(stages[0], model.sample(4, seed=0, captions=caps))
    assert two.real_from_batch(batch_of(dm, 2)).shape == (2, 1, 64, 64)
    with pytest.raises(CheckpointError, match="not a StackGAN stage-I checkpoint"):
        StackGAN(dm.data_shape, stage=2, stage1=str(text), **TINY)


def test_stage2_training_leaves_stage1_frozen(data, tmp_path: Path) -> None:  # noqa: ANN001
    dm, text = data
    _, ckpt = stage1_checkpoint(dm, text, tmp_path / "s1.ckpt")
    model = StackGAN(dm.data_shape, stage=2, stage1=str(ckpt), **TINY)
    frozen = {k: v.clone() for k, v in model.generator.stage1.state_dict().items()}  # BN statistics included
    own = {k: v.clone() for k, v in model.generator.net.state_dict().items()}
    model.train()
    model.sample(2, seed=0, captions=["a bag"])  # as a grid callback does mid-training: eval, then train() again
    quiet_trainer(max_steps=3, max_epochs=1).fit(model, datamodule=dm)
    assert not model.generator.stage1.training and not model.text_encoder.training
    after = model.generator.stage1.state_dict()
    assert all(torch.equal(frozen[k], after[k]) for k in frozen)
    assert all(not p.requires_grad and p.grad is None for p in model.generator.stage1.parameters())
    assert all(p.grad is None for p in model.text_encoder.parameters())
    assert any(not torch.equal(own[k], v) for k, v in model.generator.net.state_dict().items())


# ---------------------------------------------------------------------- configs through lightgen fit
def test_configs_train_text_encoder_then_stage1_then_stage2(data, mnist_root: Path, tmp_path: Path) -> None:  # noqa: ANN001
    _, text = data
    runs = tmp_path / "runs"
    common = [
        "--data.init_args.root", str(mnist_root), "--data.init_args.val_size", "64",
        "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
        "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--sample_grid.num_samples", "4", "--run_root", str(runs),
        "--model.init_args.g_width", "4", "--model.init_args.d_width", "4",
    ]  # fmt: skip
    main(
        ["fit", "--config", str(CONFIGS / "stackgan_stage1.yaml"), *common, "--model.init_args.text_encoder", str(text)]
    )
    stage1 = runs / "stackgan_stage1" / "version_0" / "checkpoints" / "last.ckpt"
    main(["fit", "--config", str(CONFIGS / "stackgan.yaml"), *common, "--model.init_args.stage1", str(stage1)])
    run = runs / "stackgan" / "version_0"
    assert list((run / "captions").glob("step_*.png"))
    stage1.unlink()  # a stage-II checkpoint rebuilds without the files it was made from
    text.unlink()
    model = load_model(run / "checkpoints" / "last.ckpt")
    assert model.sample(2, seed=0).shape == (2, 1, 64, 64)
    out = save_captioned_grid(model, ["a dark pair of trousers"], tmp_path / "trousers.png", per_caption=3)
    from PIL import Image

    with Image.open(out) as picture:
        assert picture.size[1] > 64
    # the same picture through `lightgen sample --caption` (two captions: two rows, taller)
    cli_out = tmp_path / "cli.png"
    main(["sample", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--caption", "a dark pair of trousers",
          "--caption", "a light bag", "--nrow", "3", "--out", str(cli_out)])  # fmt: skip
    with Image.open(cli_out) as picture, Image.open(out) as one:
        assert picture.size[0] == one.size[0] and picture.size[1] > one.size[1]


def test_the_chain_trains_through_lightgen_fit_on_the_cub_caption_layout(tmp_path: Path) -> None:
    """text_matching -> stackgan_stage1 -> stackgan on a CUB-layout folder (images/<class>/*.jpg beside
    text_c10/<class>/*.txt), each stage from the one before, then a captioned grid from the last checkpoint."""
    from test_captions import make_cub

    make_cub(tmp_path / "data" / "birds")
    runs = tmp_path / "runs"
    common = [
        "--data.init_args.root", str(tmp_path / "data"), "--data.init_args.folder", "birds",
        "--data.init_args.image_size", "32", "--data.init_args.batch_size", "2", "--data.init_args.num_workers", "0",
        "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--sample_grid.num_samples", "2", "--run_root", str(runs),
    ]  # fmt: skip
    tiny_gan = ["--model.init_args.g_width", "4", "--model.init_args.d_width", "4"]
    tiny_text = ["--model.init_args.embedding_dim", "8", "--model.init_args.hidden_dim", "8",
                 "--model.init_args.word_dim", "8", "--model.init_args.image_width", "4"]  # fmt: skip
    main(["fit", "--config", str(CONFIGS / "text_matching.yaml"), *common, *tiny_text])
    text = runs / "text_matching" / "version_0" / "checkpoints" / "last.ckpt"
    main(["fit", "--config", str(CONFIGS / "stackgan_stage1.yaml"), *common, *tiny_gan,
          "--model.init_args.stage1_size", "8", "--model.init_args.text_encoder", str(text)])  # fmt: skip
    stage1 = runs / "stackgan_stage1" / "version_0" / "checkpoints" / "last.ckpt"
    main(["fit", "--config", str(CONFIGS / "stackgan.yaml"), *common, *tiny_gan,
          "--model.init_args.stage1", str(stage1)])  # fmt: skip
    model = load_model(runs / "stackgan" / "version_0" / "checkpoints" / "last.ckpt")
    assert model.sample_shape == (3, 32, 32) and model.sample(2, seed=0).shape == (2, 3, 32, 32)
    assert "seabird" in model.vocab.words and "albatross" not in model.vocab.words  # the birds' captions, not fashion
    out = save_captioned_grid(model, ["this bird is black"], tmp_path / "bird.png", per_caption=2)
    assert out.is_file()
