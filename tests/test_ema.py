"""Generator EMA: the closed-form average, batch-norm buffers, checkpoints, and who samples with it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import quiet_trainer

from lightgen.callbacks import RunCheckpoint
from lightgen.checkpoint import AtomicCheckpointIO, load_checkpoint, load_model
from lightgen.data import MNIST
from lightgen.errors import LightgenError
from lightgen.models import DCGAN, GAN


def test_ema_equals_the_closed_form_average() -> None:
    """With G's parameters p_1..p_T after G steps 1..T, start s and decay d, the EMA is
    e_T = d^(T-s) p_s + sum_{t=s+1}^{T} (1-d) d^(T-t) p_t (a copy of G up to step s)."""
    decay, start, steps = 0.8, 2, 6
    model = GAN(data_shape=(3,), latent_dim=2, g_hidden=(4,), d_hidden=(4,), ema_decay=decay, ema_start=start)
    values = [torch.randn(()) for _ in range(steps)]
    for t, v in enumerate(values, start=1):
        with torch.no_grad():
            for p in model.generator.parameters():
                p.fill_(float(v))
        model.generator_steps = t
        model.update_ema()
    expected = decay ** (steps - start) * values[start - 1]
    for t in range(start + 1, steps + 1):
        expected = expected + (1 - decay) * decay ** (steps - t) * values[t - 1]
    for p in model.generator_ema.parameters():
        torch.testing.assert_close(p, torch.full_like(p, float(expected)), rtol=0, atol=1e-6)


def test_ema_copies_batch_norm_buffers_and_takes_no_gradients() -> None:
    model = DCGAN(data_shape=(1, 28, 28), latent_dim=8, g_width=4, d_width=4, ema_decay=0.9)
    bn = next(m for m in model.generator.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_mean.fill_(3.0)
    model.generator_steps = 1
    model.update_ema()
    ema_bn = next(m for m in model.generator_ema.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.equal(ema_bn.running_mean, bn.running_mean)
    assert not any(p.requires_grad for p in model.generator_ema.parameters())


def test_sample_uses_the_ema_generator_when_present() -> None:
    model = GAN(data_shape=(4,), latent_dim=2, g_hidden=(8,), d_hidden=(8,), ema_decay=0.5)
    with torch.no_grad():
        for p in model.generator_ema.parameters():
            p.mul_(0.0)  # EMA generator: constant output tanh(0) = 0
    assert model.sampling_weights == "ema"
    assert torch.equal(model.sample(5, seed=0), torch.zeros(5, 4))
    assert not torch.equal(model.sample(5, seed=0, weights="raw"), torch.zeros(5, 4))
    plain = GAN(data_shape=(4,), latent_dim=2, g_hidden=(8,), d_hidden=(8,))
    assert plain.sampling_weights == "raw" and plain.generator_ema is None


def test_ema_is_trained_saved_and_used_after_loading(mnist_root: Path, tmp_path: Path) -> None:
    model = GAN(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,), ema_decay=0.9, ema_start=2)
    trainer = quiet_trainer(
        max_epochs=1, limit_train_batches=6, enable_checkpointing=True,
        callbacks=[RunCheckpoint(dirpath=tmp_path, save_top_k=0)], plugins=[AtomicCheckpointIO()],
    )  # fmt: skip
    trainer.fit(model, MNIST(root=str(mnist_root), batch_size=16, val_size=64))
    g = dict(model.generator.named_parameters())
    ema = dict(model.generator_ema.named_parameters())
    assert any(not torch.allclose(g[k], ema[k]) for k in g)  # averaged, not a copy
    ckpt = load_checkpoint(tmp_path / "last.ckpt")
    assert any(k.startswith("generator_ema.") for k in ckpt["state_dict"])
    loaded = load_model(tmp_path / "last.ckpt")
    assert loaded.sampling_weights == "ema"
    torch.testing.assert_close(loaded.sample(4, seed=3), model.eval().sample(4, seed=3))
    # no optimizer updates the EMA
    opt_params = {id(p) for opt in trainer.optimizers for group in opt.param_groups for p in group["params"]}
    assert not opt_params & {id(p) for p in model.generator_ema.parameters()}


@pytest.mark.parametrize(("decay", "start"), [(1.0, 0), (0.0, 0), (0.9, -1)])
def test_bad_ema_settings_are_one_line_errors(decay: float, start: int) -> None:
    with pytest.raises(LightgenError, match="ema_"):
        GAN(data_shape=(4,), ema_decay=decay, ema_start=start)


def test_evaluate_samples_with_the_ema_generator_and_says_so(mnist_root: Path, tmp_path: Path) -> None:
    """`lightgen evaluate` on a checkpoint of a run with ema_decay: the card says generator_weights "ema",
    and the memorisation check's samples are the EMA generator's (its nearest distances equal those of
    a check run by hand on model.sample, which uses the EMA)."""
    import json

    from conftest import CONFIGS

    from lightgen.cli import main

    main([
        "fit", "--config", str(CONFIGS / "gan_mlp.yaml"), "--data.init_args.root", str(mnist_root),
        "--data.init_args.val_size", "64", "--data.init_args.batch_size", "8", "--trainer.max_steps", "8",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--model.init_args.ema_decay", "0.5", "--model.init_args.g_hidden", "[16]",
        "--model.init_args.d_hidden", "[16]", "--run_root", str(tmp_path / "runs"),
    ])  # fmt: skip
    ckpt = tmp_path / "runs" / "gan_mlp" / "version_0" / "checkpoints" / "last.ckpt"
    out = tmp_path / "report.json"
    main([
        "evaluate", "--ckpt", str(ckpt), "--metrics", "parzen", "--parzen-samples", "16", "--parzen-val", "16",
        "--parzen-test", "16", "--batch-size", "8", "--device", "cpu", "--out", str(out),
        "--data-root", str(mnist_root),
    ])  # fmt: skip
    report = json.loads(out.read_text())
    (parzen,) = report["metrics"]
    assert parzen["protocol"]["generator_weights"] == "ema"
    # recompute the estimate by hand from the EMA generator's samples (seed i for batch i, as evaluate does)
    from lightgen.metrics import fidelity as fd
    from lightgen.metrics.parzen import parzen_estimate

    model = load_model(ckpt)
    dm = MNIST(root=str(mnist_root), val_size=64, batch_size=8)
    dm.setup("fit")
    val = torch.cat(list(fd.dataset_batches(dm.val_set, 16, 1000, dm.value_range)))
    test = torch.cat(list(fd.dataset_batches(dm.test_set, 16, 1000, dm.value_range)))

    def estimate(weights: str) -> float:
        batches = [model.sample(8, seed=i, weights=weights) for i in (0, 1)]
        samples = fd.to_unit(torch.cat(batches), model.value_range)
        return parzen_estimate(samples, val, test)["log_likelihood_nats"]

    assert parzen["values"]["log_likelihood_nats"] == pytest.approx(estimate("ema"), rel=1e-5)
    assert parzen["values"]["log_likelihood_nats"] != pytest.approx(estimate("raw"), rel=1e-5)
