"""CycleGAN (Zhu et al. 2017): cycle and identity terms, the history pool, the LR schedule, the G and D
costs against a hand computation, training, translation, the config, and exact resume."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from conftest import CONFIGS, quiet_trainer
from torch import nn

from lightgen.callbacks import RunCheckpoint
from lightgen.checkpoint import AtomicCheckpointIO, load_checkpoint, load_model
from lightgen.data.unpaired import UnpairedImages
from lightgen.errors import LightgenError
from lightgen.losses.cycle import cycle_losses
from lightgen.models.cyclegan import CycleGAN, CycleGenerators
from lightgen.models.history_pool import ImagePool
from lightgen.schedules import LinearDecay

TINY = dict(g_channels=4, g_blocks=1, g_downsampling=1, d_channels=4, d_layers=1)


def tiny_model(data_shape: tuple[int, ...] = (1, 16, 16), **kwargs: object) -> CycleGAN:
    return CycleGAN(data_shape, **{**TINY, **kwargs})


def unpaired(root: Path, **kwargs: object) -> UnpairedImages:
    options = dict(root=str(root), image_size=16, val_size=16, batch_size=4, num_workers=0)
    return UnpairedImages(**{**options, **kwargs})


class Affine(nn.Module):
    def __init__(self, scale: float, shift: float) -> None:
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.shift


# ---------------------------------------------------------------------- cycle consistency
def test_cycle_loss_vanishes_for_inverse_generators_only() -> None:
    a, b = torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8)
    forward = lambda x: 2 * x + 1  # noqa: E731
    inverse = lambda y: (y - 1) / 2  # noqa: E731
    exact = cycle_losses(a, b, forward, inverse)
    assert exact["loss"].item() == pytest.approx(0.0, abs=1e-6)
    wrong = cycle_losses(a, b, forward, lambda y: (y - 1) / 3)  # G_BA(G_AB(a)) = 2a/3; G_AB(G_BA(b)) = (2b+1)/3
    assert wrong["cycle_a"].item() == pytest.approx((a.abs() / 3).mean().item(), rel=1e-5)
    assert wrong["cycle_b"].item() == pytest.approx(((2 * b + 1) / 3 - b).abs().mean().item(), rel=1e-5)


def test_the_model_scores_inverse_generators_with_zero_cycle_terms() -> None:
    model = tiny_model()
    model.generator = CycleGenerators(Affine(2.0, 1.0), Affine(0.5, -0.5))
    terms, _, _ = model.generator_loss(torch.randn(2, 1, 16, 16), torch.randn(2, 1, 16, 16))
    assert terms["cycle_a"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["cycle_b"].item() == pytest.approx(0.0, abs=1e-6)
    assert terms["idt_a"].item() > 0.1  # G_BA is no identity


# ---------------------------------------------------------------------- the history pool
def test_full_pool_returns_a_stored_image_half_the_time_and_never_grows() -> None:
    pool, gen = ImagePool(50, (1, 1, 1)), torch.Generator().manual_seed(0)
    first = pool.query(torch.arange(50.0).view(50, 1, 1, 1), gen)
    assert torch.equal(first.flatten(), torch.arange(50.0))  # filling: each image comes back as it is
    seen, stored_returned, draws = set(range(50)), 0, 2000
    for start in range(1000, 1000 + draws, 8):  # batches of 8: the swaps are applied image by image
        batch = torch.arange(start, start + 8, dtype=torch.float).view(8, 1, 1, 1)
        out = pool.query(batch, gen).flatten().long().tolist()
        for incoming, returned in zip(range(start, start + 8), out):
            if returned != incoming:
                assert returned in seen  # an image the pool held
                stored_returned += 1
            seen.add(incoming)
        assert len(pool) == 50 and pool.images.shape[0] == 50
        held = pool.images.flatten().long().tolist()
        assert len(set(held)) == 50 and set(held) <= seen
    se = math.sqrt(draws * 0.25)  # binomial(2000, 1/2)
    assert abs(stored_returned - draws / 2) < 4 * se


def test_pool_state_survives_a_round_trip(tmp_path: Path) -> None:
    pool = ImagePool(5, (1, 2, 2))
    pool.query(torch.randn(7, 1, 2, 2), torch.Generator().manual_seed(1))
    torch.save(pool.get_state(), tmp_path / "pool.pt")
    restored = ImagePool(5, (1, 2, 2))
    restored.set_state(torch.load(tmp_path / "pool.pt", weights_only=True))
    assert len(restored) == 5 and torch.equal(restored.images, pool.images)
    batch = torch.randn(6, 1, 2, 2)
    out_a = pool.query(batch, torch.Generator().manual_seed(2))
    out_b = restored.query(batch, torch.Generator().manual_seed(2))
    assert torch.equal(out_a, out_b) and torch.equal(pool.images, restored.images)
    with pytest.raises(LightgenError, match="does not fit this pool"):
        ImagePool(3, (1, 2, 2)).set_state(pool.get_state())


# ---------------------------------------------------------------------- the learning-rate schedule
def test_linear_decay_is_constant_then_falls_to_zero() -> None:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = LinearDecay(opt, constant_epochs=3, decay_epochs=4)
    lrs = []
    for _ in range(9):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    # factor(e) = 1 - max(0, e + 1 - 3) / 5: epochs 0-2 at 1, then 0.8, 0.6, 0.4, 0.2, and 0 from epoch 7
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0])
    with pytest.raises(LightgenError, match="decay_epochs must be >= 0; got -1"):
        LinearDecay(opt, decay_epochs=-1)


# ---------------------------------------------------------------------- the costs by hand
def test_generator_and_discriminator_losses_equal_the_authors_formulas() -> None:
    torch.manual_seed(0)
    model = tiny_model(lambda_cycle=7.0)
    a, b = torch.randn(3, 1, 16, 16).tanh(), torch.randn(3, 1, 16, 16).tanh()
    terms, fake_b, fake_a = model.generator_loss(a, b)
    g_ab, g_ba = model.generator.g_ab, model.generator.g_ba
    d_a, d_b = model.discriminator.d_a, model.discriminator.d_b
    ones = lambda x: torch.ones_like(x)  # noqa: E731
    # cycle_gan_model.backward_G: MSE(D(G(x)), 1) per direction (no 1/2), lambda * L1 cycles, 0.5 lambda * L1 idt
    expected = (
        F.mse_loss(d_b(g_ab(a)), ones(d_b(g_ab(a))))
        + F.mse_loss(d_a(g_ba(b)), ones(d_a(g_ba(b))))
        + 7.0 * (F.l1_loss(g_ba(g_ab(a)), a) + F.l1_loss(g_ab(g_ba(b)), b))
        + 0.5 * 7.0 * (F.l1_loss(g_ba(a), a) + F.l1_loss(g_ab(b), b))
    )
    torch.testing.assert_close(terms["loss"], expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(terms["adv_ab"], 0.5 * (d_b(g_ab(a)) - 1).pow(2).mean())
    # backward_D_basic: (MSE(D(real), 1) + MSE(D(fake), 0)) / 2, for D_A and for D_B
    d_terms = model.discriminator_loss(a, b, fake_a.detach(), fake_b.detach())
    expected_a = 0.5 * (F.mse_loss(d_a(a), ones(d_a(a))) + d_a(fake_a).pow(2).mean())
    expected_b = 0.5 * (F.mse_loss(d_b(b), ones(d_b(b))) + d_b(fake_b).pow(2).mean())
    torch.testing.assert_close(d_terms["a"], expected_a)
    torch.testing.assert_close(d_terms["loss"], expected_a + expected_b)


def test_identity_loss_needs_domains_of_equal_channels() -> None:
    with pytest.raises(LightgenError, match="same channels; got 3 and 1"):
        tiny_model(source_channels=3)
    model = tiny_model(source_channels=3, lambda_identity=0.0)
    terms, _, _ = model.generator_loss(torch.randn(2, 3, 16, 16), torch.randn(2, 1, 16, 16))
    assert "idt_a" not in terms


# ---------------------------------------------------------------------- translation
def test_translate_maps_both_directions_and_panels_have_six_columns() -> None:
    model = tiny_model(source_channels=3, lambda_identity=0.0, num_examples=2)
    a, b = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 1, 16, 16) * 2 - 1
    assert model.translate(a).shape == (2, 1, 16, 16)
    assert model.translate(b, reverse=True).shape == (2, 3, 16, 16)
    with pytest.raises(LightgenError, match=r"translates B images of shape \(1, 16, 16\) with reverse=True"):
        model.translate(a, reverse=True)
    model.example_sources.copy_(a)
    model.example_targets.copy_(b)
    panels = model.translation_panels()
    assert [name for name, _ in panels] == ["a", "G_AB(a)", "G_BA(G_AB(a))", "b", "G_BA(b)", "G_AB(G_BA(b))"]
    assert [x.shape[1] for _, x in panels] == [3, 1, 3, 1, 3, 1]
    assert model.directions == ("ab", "ba")


# ---------------------------------------------------------------------- training
def test_a_few_steps_lower_the_held_out_cycle_loss(mnist_root: Path) -> None:
    L.seed_everything(0)
    adam = lambda params: torch.optim.Adam(params, lr=2e-3, betas=(0.5, 0.999))  # noqa: E731
    model = tiny_model(pool_size=4, g_optimizer=adam, d_optimizer=adam)
    data = unpaired(mnist_root)
    trainer = quiet_trainer(max_steps=2 * 30, limit_val_batches=2)
    before = trainer.validate(model, data, verbose=False)[0]
    trainer.fit(model, data)
    logged = set(trainer.callback_metrics)
    after = trainer.validate(model, data, verbose=False)[0]
    for key in ("val/cycle_a", "val/cycle_b"):
        assert after[key] < 0.6 * before[key], (key, before[key], after[key])
    assert (model.generator_steps, model.discriminator_steps, model.batches_seen) == (30, 30, 30)
    assert len(model.pool_a) == len(model.pool_b) == 4
    assert {"g/adv_ab", "g/adv_ba", "g/cycle_a", "g/cycle_b", "g/idt_a", "g/idt_b", "d/a", "d/b"} <= logged


def test_config_trains_through_the_cli(mnist_root: Path, tmp_path: Path) -> None:
    from lightgen.cli import main

    main([
        "fit", "--config", str(CONFIGS / "cyclegan.yaml"), "--data.root", str(mnist_root),
        "--data.val_size", "16", "--data.num_workers", "0", "--trainer.max_steps", "4",
        "--trainer.limit_val_batches", "1", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--sample_grid.num_samples", "4", "--run_root", str(tmp_path / "runs"),
    ])  # fmt: skip
    run = tmp_path / "runs" / "cyclegan" / "version_0"
    ckpt = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert ckpt["lightgen"]["loop"]["generator_steps"] == 2
    assert ckpt["lr_schedulers"][0]["lr_lambdas"] == [{"constant_epochs": 5, "decay_epochs": 5}]
    assert ckpt["lightgen"]["history_pools"]["b"]["count"] == 2  # two batches of 1
    model = load_model(run / "checkpoints" / "last.ckpt")
    assert isinstance(model, CycleGAN) and len(model.pool_b) == 2
    assert model.sample(2, seed=0).shape == (2, 1, 32, 32)
    assert list((run / "translations").glob("*.png"))


# ---------------------------------------------------------------------- exact resume
def resumable_run(root: Path, ckpt_dir: Path, max_steps: int, ckpt_path: str | None = None) -> CycleGAN:
    L.seed_everything(0)
    decay = lambda opt: LinearDecay(opt, constant_epochs=1, decay_epochs=2)  # noqa: E731
    model = tiny_model(pool_size=3, ema_decay=0.9, g_scheduler=decay, d_scheduler=decay)
    trainer = quiet_trainer(
        max_steps=max_steps,
        limit_train_batches=4,  # epochs of 4 batches: the run crosses two epoch ends and LR changes
        enable_checkpointing=True,
        callbacks=[RunCheckpoint(dirpath=ckpt_dir, every_n_train_steps=1000, save_top_k=0)],
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(model, unpaired(root, batch_size=2), ckpt_path=ckpt_path)
    return model


def test_resumed_run_equals_uninterrupted_run(mnist_root: Path, tmp_path: Path) -> None:
    total, stop = 10, 5  # batches; one optimizer step each of G and D per batch
    straight = resumable_run(mnist_root, tmp_path / "a", max_steps=2 * total)
    resumable_run(mnist_root, tmp_path / "b", max_steps=2 * stop)
    last = tmp_path / "b" / "last.ckpt"
    stopped = load_checkpoint(last)
    assert stopped["lightgen"]["history_pools"]["a"]["count"] == 3
    assert [s["_last_lr"][0] for s in stopped["lr_schedulers"]] == pytest.approx([2e-4 * 2 / 3] * 2)  # epoch 1
    resumed = resumable_run(mnist_root, tmp_path / "b", max_steps=2 * total, ckpt_path=str(last))

    assert (
        (resumed.generator_steps, resumed.batches_seen)
        == (straight.generator_steps, straight.batches_seen)
        == (
            total,
            total,
        )
    )
    for (name, x), (_, y) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-6, msg=f"{name} differs after resume")
    for pool in ("pool_a", "pool_b"):
        torch.testing.assert_close(getattr(straight, pool).images, getattr(resumed, pool).images, rtol=0, atol=1e-6)
    for opt_a, opt_b in zip(straight.trainer.optimizers, resumed.trainer.optimizers):
        # epochs 0, 1 ran at factors 1, 2/3; the stop in epoch 2 (factor 1/3) ends it, stepping to factor(3) = 0
        assert opt_a.param_groups[0]["lr"] == opt_b.param_groups[0]["lr"] == 0.0
        for key, state in opt_a.state_dict()["state"].items():
            torch.testing.assert_close(state["exp_avg"], opt_b.state_dict()["state"][key]["exp_avg"], rtol=0, atol=1e-6)
