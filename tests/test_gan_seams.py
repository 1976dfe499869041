"""The GAN loop's seams: one logging axis, sparse G terms, D(x) on a training probe in eval mode,
per-rank seeds, the non-finite flag reduced across ranks, DDP's unused parameters, plateau schedulers,
fresh latents per extra G step, and the step's terms reaching the hooks."""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import quiet_trainer
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.strategies import DDPStrategy

from lightgen.cli import LightgenCLI
from lightgen.data import MNIST
from lightgen.errors import LightgenError, NonFiniteLossError
from lightgen.models import GAN
from lightgen.models.base import mix_seed


def tiny(**kwargs) -> GAN:  # noqa: ANN003
    return GAN(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,), **kwargs)


def data(root: Path, **kwargs) -> MNIST:  # noqa: ANN003
    return MNIST(root=str(root), batch_size=kwargs.pop("batch_size", 16), val_size=64, **kwargs)


def csv_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_g_terms_reach_the_logger_only_at_batches_with_a_g_step(mnist_root: Path, tmp_path: Path) -> None:
    model = tiny(d_steps=3)
    logger = CSVLogger(tmp_path, name="", version="")
    quiet_trainer(max_epochs=1, limit_train_batches=9, logger=logger, log_every_n_steps=1).fit(model, data(mnist_root))
    rows = csv_rows(tmp_path)
    g_steps = sorted(int(r["step"]) for r in rows if r.get("g_loss"))
    d_steps = sorted(int(r["step"]) for r in rows if r.get("d_loss"))
    assert d_steps == list(range(9))  # D runs on every batch
    assert g_steps == [2, 5, 8]  # G after every third D step, never a repeated stale value
    g_values = [float(r["g_loss"]) for r in rows if r.get("g_loss")]
    assert len(set(g_values)) == 3


def test_extra_g_steps_draw_fresh_latents_and_hooks_get_the_terms(mnist_root: Path) -> None:
    seen: list[torch.Tensor] = []
    hook_terms: list[set[str]] = []

    class Recording(GAN):
        def g_loss(self, fake, latent, real=None):  # noqa: ANN001, ANN202
            assert real is not None and real.shape[0] == fake.shape[0]  # the step's real batch reaches J(G)
            seen.append(latent.z.clone())
            return super().g_loss(fake, latent, real)

        def on_g_step(self, terms) -> None:  # noqa: ANN001
            hook_terms.append(set(terms))

        def on_d_step(self, terms) -> None:  # noqa: ANN001
            hook_terms.append(set(terms))

    model = Recording(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,), g_steps=3)
    quiet_trainer(max_epochs=1, limit_train_batches=2).fit(model, data(mnist_root))
    assert len(seen) == 6
    for a in range(6):
        for b in range(a + 1, 6):
            assert not torch.allclose(seen[a], seen[b]), f"G steps {a} and {b} reused latents"
    assert {"loss", "d_x", "d_g_z", "d_real_term"} <= hook_terms[0]  # the D step's terms
    assert "loss" in hook_terms[1]


def test_held_out_and_training_d_x_are_both_measured_in_eval_mode(mnist_root: Path) -> None:
    """val/d_x_train is D(x) on the first probe_size training images with D in eval mode (dropout off),
    the same mode as val/d_x, so a gap between them reads as overfitting, not as a mode switch."""
    torch.manual_seed(0)
    model = tiny(d_dropout=0.5, probe_size=32)
    dm = data(mnist_root)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=3, limit_val_batches=2)
    trainer.fit(model, dm)
    logged = trainer.callback_metrics
    assert "val/d_x" in logged and "val/d_x_train" in logged
    x = torch.stack([dm.train_set[i][0] for i in range(32)])
    model.eval()
    with torch.no_grad():
        expected = torch.sigmoid(model.discriminator(x)).mean()
        model.train()
        in_train_mode = torch.sigmoid(model.discriminator(x)).mean()
    assert float(logged["val/d_x_train"]) == pytest.approx(float(expected), abs=1e-6)
    assert abs(float(in_train_mode) - float(expected)) > 1e-4  # dropout would have changed it


def fake_trainer(rank: int, world: int, **strategy: object) -> SimpleNamespace:
    return SimpleNamespace(
        global_rank=rank, world_size=world, strategy=SimpleNamespace(broadcast=lambda x, src=0: x, **strategy)
    )


def test_each_rank_reseeds_its_global_rng_from_the_seed_and_its_rank() -> None:
    draws = []
    for rank in (0, 1, 2):
        model = tiny()
        model.stream_seed = 11
        torch.manual_seed(7)  # seed_everything gives every rank the same global seed
        model._trainer = fake_trainer(rank, 3)
        model.on_fit_start()
        draws.append(torch.rand(5))
    torch.manual_seed(7)
    torch.testing.assert_close(draws[0], torch.rand(5))  # rank 0 (and a one-process run) is unchanged
    assert not torch.allclose(draws[0], draws[1]) and not torch.allclose(draws[1], draws[2])
    torch.manual_seed(mix_seed(11, 2))
    torch.testing.assert_close(draws[2], torch.rand(5))


def test_a_non_finite_loss_on_another_rank_stops_every_rank(mnist_root: Path) -> None:
    calls = []

    def reduce_boolean_decision(decision: bool, all: bool = True) -> bool:  # noqa: A002
        calls.append((decision, all))
        return False  # another rank saw NaN

    model = tiny()
    model._trainer = fake_trainer(0, 2, reduce_boolean_decision=reduce_boolean_decision)
    model._trainer.checkpoint_callback = None
    model._track_finite(torch.tensor(0.5))
    with pytest.raises(NonFiniteLossError, match="NaN or infinite"):
        model.check_finite()
    assert calls == [(True, True)]  # this rank's own flag was fine; the reduction decided


def test_ddp_without_unused_parameter_detection_is_refused_with_the_fix() -> None:
    model = tiny()
    model._trainer = SimpleNamespace(strategy=DDPStrategy())
    with pytest.raises(LightgenError, match="ddp_players.*ddp_find_unused_parameters_true") as err:
        model.setup("fit")
    assert "\n" not in str(err.value)
    model._trainer = SimpleNamespace(strategy=DDPStrategy(find_unused_parameters=True))
    model.setup("fit")  # the public argument is respected


def config_with_strategy(strategy: object, model: str = "lightgen.models.DCGAN") -> SimpleNamespace:
    trainer = {"strategy": strategy}
    ns = SimpleNamespace(model=SimpleNamespace(class_path=model), trainer=SimpleNamespace())
    ns.trainer.get = trainer.get
    ns.trainer.__dict__.update(trainer)
    return ns


@pytest.mark.parametrize(
    ("name", "mapped"), [("ddp", "ddp_players"), ("ddp_spawn", "ddp_spawn_find_unused_parameters_true")]
)
def test_cli_maps_ddp_names_to_strategies_that_handle_alternating_players(name: str, mapped: str) -> None:
    config = config_with_strategy(name)
    LightgenCLI._ddp_for_gans(config)
    assert config.trainer.strategy == mapped


@pytest.mark.parametrize(
    ("model", "mapped"),
    [("lightgen.models.SeqGAN", "ddp_find_unused_parameters_true"), ("lightgen.models.VAE", "ddp")],
)
def test_cli_maps_ddp_for_seqgan_phases_and_leaves_other_models(model: str, mapped: str) -> None:
    """SeqGAN's phases leave a player idle but it has no ddp_players: Lightning's unused-parameter DDP."""
    config = config_with_strategy("ddp", model)
    LightgenCLI._ddp_for_gans(config)
    assert config.trainer.strategy == mapped


def test_cli_refuses_an_explicit_find_unused_parameters_false() -> None:
    spec = {"class_path": "lightning.pytorch.strategies.DDPStrategy", "init_args": {"find_unused_parameters": False}}
    with pytest.raises(LightgenError, match="find_unused_parameters: true"):
        LightgenCLI._ddp_for_gans(config_with_strategy(spec))


def test_plateau_scheduler_steps_on_its_monitored_metric(mnist_root: Path) -> None:
    # generator_steps only grows, so in mode "min" it never improves: with patience 0 the LR halves
    # at the end of every epoch after the first
    plateau = partial(torch.optim.lr_scheduler.ReduceLROnPlateau, mode="min", factor=0.5, patience=0)
    model = tiny(g_scheduler=plateau, scheduler_monitor="generator_steps")
    trainer = quiet_trainer(max_epochs=3, limit_train_batches=2)
    trainer.fit(model, data(mnist_root))
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(2e-4 * 0.25)
    assert trainer.optimizers[1].param_groups[0]["lr"] == pytest.approx(2e-4)


def test_plateau_scheduler_on_a_metric_never_logged_is_a_one_line_error(mnist_root: Path) -> None:
    plateau = partial(torch.optim.lr_scheduler.ReduceLROnPlateau, patience=0)
    model = tiny(d_scheduler=plateau, scheduler_monitor="val/fid")
    with pytest.raises(LightgenError, match="ReduceLROnPlateau monitors 'val/fid', which was not logged"):
        quiet_trainer(max_epochs=1, limit_train_batches=2).fit(model, data(mnist_root))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the CUDA RNG state cannot be exercised")
def test_cuda_rng_state_is_saved_and_restored(mnist_root: Path, tmp_path: Path) -> None:
    model = tiny().cuda()
    trainer = quiet_trainer(accelerator="gpu", max_epochs=1, limit_train_batches=2, enable_checkpointing=True)
    trainer.fit(model, data(mnist_root))
    ckpt = {}
    model.on_save_checkpoint(ckpt)
    assert ckpt["lightgen"]["cuda_rng"].shape[0] == 1
    expected = torch.rand(3, device="cuda")
    torch.cuda.set_rng_state(ckpt["lightgen"]["cuda_rng"][0].to(torch.uint8))
    torch.testing.assert_close(torch.rand(3, device="cuda"), expected)
