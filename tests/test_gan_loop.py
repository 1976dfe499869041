"""The alternating loop: k D steps per G step on fresh batches, g_steps, stopping by generator steps."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from conftest import quiet_trainer
from torch.utils.data import DataLoader, TensorDataset

from lightgen.data import MNIST
from lightgen.losses import objectives
from lightgen.models import DCGAN, GAN
from lightgen.models.latent import Latent

COSTS = {"minimax": objectives.Minimax, "non_saturating": objectives.NonSaturating,
         "maximum_likelihood": objectives.MaximumLikelihood}  # fmt: skip


class RecordingGAN(GAN):
    """Records which real batch each D step saw and how many G updates followed."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.d_batches: list[float] = []
        self.events: list[str] = []

    def d_loss(self, real, fake, latent, regularize=True):  # noqa: ANN001, ANN201
        self.d_batches.append(float(real.sum()))
        return super().d_loss(real, fake, latent, regularize)

    def on_d_step(self, terms) -> None:  # noqa: ANN001
        assert "loss" in terms
        self.events.append("D")

    def on_g_step(self, terms) -> None:  # noqa: ANN001
        assert "loss" in terms
        self.events.append("G")


def tiny_gan(cls: type = RecordingGAN, **kwargs) -> GAN:  # noqa: ANN003
    defaults = dict(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,))
    defaults.update(kwargs)
    return cls(**defaults)


def mnist(root: Path, **kwargs) -> MNIST:  # noqa: ANN003
    return MNIST(root=str(root), batch_size=kwargs.pop("batch_size", 32), val_size=64, **kwargs)


def test_five_d_steps_per_g_step_each_on_a_fresh_batch(mnist_root: Path) -> None:
    model = tiny_gan(d_steps=5)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=10)
    trainer.fit(model, mnist(mnist_root))
    assert "".join(model.events) == "DDDDDG" * 2
    assert (model.discriminator_steps, model.generator_steps) == (10, 2)
    assert len(set(model.d_batches)) == 10  # every D step saw a different minibatch
    assert trainer.global_step == 12  # Lightning counts the steps of both optimizers


def test_g_steps_gives_several_generator_updates_per_d_update(mnist_root: Path) -> None:
    model = tiny_gan(g_steps=3)
    quiet_trainer(max_epochs=1, limit_train_batches=4).fit(model, mnist(mnist_root))
    assert "".join(model.events) == "DGGG" * 4


def test_training_stops_after_max_generator_steps(mnist_root: Path) -> None:
    model = tiny_gan(d_steps=2, max_generator_steps=3)
    trainer = quiet_trainer(max_epochs=50)
    trainer.fit(model, mnist(mnist_root))
    assert model.generator_steps == 3
    assert model.discriminator_steps == 6
    assert model.batches_seen == 6  # stopped inside the first epoch of 18 batches


def test_each_rank_of_a_batch_gets_its_own_latents_and_draws_are_reproducible() -> None:
    model = tiny_gan(cls=GAN)
    model.stream_seed = 123
    z0, z1 = model.sample_latent(4, draw=0).z, model.sample_latent(4, draw=1).z
    assert not torch.allclose(z0, z1)
    torch.testing.assert_close(model.sample_latent(4, draw=0).z, z0)  # stateless: same key, same z
    model.batches_seen += 1
    assert not torch.allclose(model.sample_latent(4, draw=0).z, z0)


def test_losses_and_discriminator_outputs_are_logged(mnist_root: Path) -> None:
    model = tiny_gan(cls=GAN)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=3)
    trainer.fit(model, mnist(mnist_root))
    logged = trainer.callback_metrics
    for key in ("d_loss", "g_loss", "d/d_x", "d/d_g_z", "generator_steps"):
        assert key in logged and torch.isfinite(torch.as_tensor(logged[key]))
    assert 0.0 < float(logged["d/d_x"]) < 1.0
    assert float(logged["generator_steps"]) == 3.0


@pytest.mark.parametrize("cost", ["minimax", "non_saturating", "maximum_likelihood"])
def test_dcgan_learns_to_raise_d_of_samples_under_each_cost(mnist_root: Path, cost: str) -> None:
    """A few G updates against a fixed D raise D(G(z)) under all three costs (they agree in sign)."""
    torch.manual_seed(0)
    model = DCGAN(data_shape=(1, 28, 28), g_width=8, d_width=8, latent_dim=16, objective=COSTS[cost]())
    z = Latent(torch.randn(64, 16))
    opt = torch.optim.Adam(model.generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
    with torch.no_grad():
        before = torch.sigmoid(model.discriminate(model.generate(z), z)).mean()
    for _ in range(15):
        loss = model.g_loss(model.generate(z), z)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = torch.sigmoid(model.discriminate(model.generate(z), z)).mean()
    assert after > before + 0.01


@pytest.mark.parametrize("cost", ["minimax", "non_saturating", "maximum_likelihood"])
def test_the_loop_fits_a_one_dimensional_gaussian_under_each_cost(cost: str) -> None:
    """Through the Trainer, G moves its samples from about N(-0.16, .) onto p_data = N(0.4, 0.15^2)."""
    torch.manual_seed(0)
    data = torch.randn(4096, 1) * 0.15 + 0.4
    adam = partial(torch.optim.Adam, lr=2e-3, betas=(0.5, 0.999))
    model = GAN(
        data_shape=(1,),
        latent_dim=4,
        g_hidden=(32,),
        d_hidden=(32,),
        objective=COSTS[cost](),
        g_optimizer=adam,
        d_optimizer=adam,
    )
    assert abs(model.sample(2000, seed=1).mean().item() - 0.4) > 0.4
    quiet_trainer(max_epochs=4).fit(model, DataLoader(TensorDataset(data), batch_size=64, shuffle=True))
    samples = model.sample(2000, seed=1)
    assert abs(samples.mean().item() - 0.4) < 0.05
    assert samples.std().item() > 0.04  # not collapsed onto a point


def test_validate_and_test_report_discriminator_outputs_on_held_out_images(mnist_root: Path) -> None:
    model = tiny_gan(cls=GAN)
    trainer = quiet_trainer(limit_val_batches=2)
    data = mnist(mnist_root)
    (val,) = trainer.validate(model, data)
    (test,) = trainer.test(model, data)
    for metrics, stage in ((val, "val"), (test, "test")):
        assert 0.0 < metrics[f"{stage}/d_x"] < 1.0 and 0.0 < metrics[f"{stage}/d_g_z"] < 1.0
        assert metrics[f"{stage}/loss"] > 0
    samples = trainer.predict(model, data)
    assert samples[0].shape == (32, 1, 28, 28)


def test_per_network_optimizers_and_schedulers(mnist_root: Path) -> None:
    model = tiny_gan(
        cls=GAN,
        g_optimizer=partial(torch.optim.SGD, lr=0.1, momentum=0.5),
        g_scheduler=partial(torch.optim.lr_scheduler.ExponentialLR, gamma=0.5),
    )
    trainer = quiet_trainer(max_epochs=2, limit_train_batches=2)
    trainer.fit(model, mnist(mnist_root))
    g_opt, d_opt = trainer.optimizers
    assert isinstance(g_opt, torch.optim.SGD) and g_opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**2)
    assert isinstance(d_opt, torch.optim.Adam) and d_opt.param_groups[0]["lr"] == 2e-4  # the paper's default
    assert d_opt.param_groups[0]["betas"] == (0.5, 0.999)
    assert {id(p) for p in g_opt.param_groups[0]["params"]} == {id(p) for p in model.generator.parameters()}
