"""The opt-in fast path under manual optimization: mixed precision with gradient penalties (bf16 on CPU,
and float16 with a GradScaler through an explicit CPU plugin), channels-last, compiled forwards."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import quiet_trainer
from lightning.pytorch.plugins.precision import MixedPrecision

from lightgen.data import MNIST
from lightgen.losses.objectives import NonSaturating, WassersteinGP
from lightgen.losses.penalties import R1
from lightgen.models import DCGAN
from lightgen.models.latent import Latent


def critic_gan(**kwargs) -> DCGAN:  # noqa: ANN003
    torch.manual_seed(0)
    return DCGAN(data_shape=(1, 28, 28), latent_dim=8, g_width=8, d_width=8, d_norm="layer", **kwargs)


def d_step_gradients(model: DCGAN, real: torch.Tensor, fake: torch.Tensor, dtype: torch.dtype | None, scale: float):
    """The WGAN-GP penalty and D's gradients of one D loss, in float32 or under CPU autocast."""
    model.zero_grad(set_to_none=True)
    latent = Latent(torch.zeros(len(real), 8))
    with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
        critic = lambda x: model.discriminate(x, latent)  # noqa: E731
        gen = torch.Generator().manual_seed(3)
        terms = model.objective.d_loss(critic, real, fake, 0, gen, True, scale)
    (terms["loss"] * scale).backward()
    grads = torch.cat([p.grad.flatten() / scale for p in model.discriminator.parameters()])
    return terms["gradient_penalty"].float(), grads


@pytest.mark.parametrize(("dtype", "scale", "tol"), [(torch.bfloat16, 1.0, 0.05), (torch.float16, 2.0**12, 0.02)])
def test_penalty_and_step_gradients_match_float32(dtype: torch.dtype, scale: float, tol: float) -> None:
    """Stated tolerance: the penalty within 5% (bf16, 8-bit mantissa) or 2% (fp16 with the scaled recipe),
    and D's gradient vector within the same relative L2 error."""
    model = critic_gan(objective=WassersteinGP())
    real, fake = torch.rand(16, 1, 28, 28) * 2 - 1, torch.rand(16, 1, 28, 28) * 2 - 1
    gp32, g32 = d_step_gradients(model, real, fake, None, 1.0)
    gp, g = d_step_gradients(model, real, fake, dtype, scale)
    assert gp32 > 0 and torch.isfinite(gp)
    assert abs(float(gp - gp32)) <= tol * float(gp32)
    assert float((g.float() - g32).norm() / g32.norm()) <= tol


def mnist(root: Path) -> MNIST:
    return MNIST(root=str(root), batch_size=16, val_size=64, num_workers=0)


def test_bf16_mixed_trains_a_gradient_penalty_gan(mnist_root: Path) -> None:
    model = critic_gan(objective=WassersteinGP(), d_steps=2)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=4, precision="bf16-mixed")
    trainer.fit(model, mnist(mnist_root))
    assert model.generator_steps == 2
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert torch.isfinite(trainer.callback_metrics["d/gradient_penalty"])


def test_float16_scaler_grows_when_steps_are_finite_and_backs_off_on_overflow(mnist_root: Path) -> None:
    """One GradScaler for both optimizers (Lightning's plugin), update() after every step: from 2^10 it
    doubles every `growth_interval` finite steps; from 2^24 the scaled gradients overflow, the scaler skips
    those steps and halves its scale, and the loop does not mistake the skips for a diverged loss."""
    grow = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=2)
    model = critic_gan(objective=NonSaturating(regularizers=[R1(weight=1.0)]))
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=4, plugins=[MixedPrecision("16-mixed", "cpu", grow)])
    trainer.fit(model, mnist(mnist_root))
    assert grow.get_scale() == 2.0**10 * 2 ** (8 // 2)  # 4 D + 4 G steps, all finite
    assert model.generator_steps == 4

    huge = torch.amp.GradScaler("cpu", init_scale=2.0**24, growth_interval=1000)
    model = critic_gan(objective=NonSaturating(regularizers=[R1(weight=1.0)]))
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=8, plugins=[MixedPrecision("16-mixed", "cpu", huge)])
    before = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    trainer.fit(model, mnist(mnist_root))  # no NonFiniteLossError
    assert 1.0 <= huge.get_scale() < 2.0**24  # it backed off
    assert model.discriminator_steps == 8
    changed = any(not torch.equal(before[k], v) for k, v in model.discriminator.state_dict().items())
    assert changed  # once the scale came down, steps were taken


def test_channels_last_trains_like_the_default_layout(mnist_root: Path) -> None:
    finals = []
    for channels_last in (False, True):
        L.seed_everything(0)
        model = DCGAN(data_shape=(1, 28, 28), latent_dim=8, g_width=8, d_width=8, channels_last=channels_last)
        quiet_trainer(max_epochs=1, limit_train_batches=3).fit(model, mnist(mnist_root))
        conv = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)][1]  # C_in > 1
        assert conv.weight.is_contiguous(memory_format=torch.channels_last) == channels_last
        finals.append({k: v.contiguous() for k, v in model.state_dict().items()})
    for k, v in finals[0].items():
        torch.testing.assert_close(finals[1][k], v, rtol=1e-4, atol=1e-5, msg=k)


@pytest.mark.parametrize(("objective", "compiled"), [(NonSaturating(), {"G", "D"}), (WassersteinGP(), {"G"})])
def test_compile_compiles_the_forwards_and_leaves_a_penalised_critic_eager(
    monkeypatch: pytest.MonkeyPatch, objective: object, compiled: set[str]
) -> None:
    calls: list[torch.nn.Module] = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: calls.append(self))
    model = critic_gan(objective=objective, compile=True)
    model.configure_model()
    model.configure_model()  # idempotent: Lightning may call it for fit and again for validate/test
    names = {"G" if m is model.generator else "D" if m is model.discriminator else "?" for m in calls}
    assert names == compiled and len(calls) == len(compiled)
    assert model.hparams.compile is True  # recorded in the run's hyper-parameters and config
