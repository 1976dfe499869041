"""BEGAN (Berthelot et al. 2017): L(v), the costs of eq. 4, k_t's clipped control, M_global (eq. 5), the
players' separation in the loop, k_t in checkpoints, validation, and the networks' shapes."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import quiet_trainer
from torch import nn

from lightgen.callbacks import RunCheckpoint
from lightgen.checkpoint import AtomicCheckpointIO, load_model
from lightgen.data import MNIST
from lightgen.errors import LightgenError
from lightgen.losses import began as costs
from lightgen.losses.objectives import NonSaturating
from lightgen.models import BEGAN, GAN
from lightgen.models.latent import Latent
from lightgen.nets.began import BEGANAutoencoder, BEGANGenerator


class Scale(nn.Module):
    """A fixed "autoencoder" D(v) = c v: L(v) = |1 - c| mean |v|."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.c * v


def tiny(**kwargs) -> BEGAN:  # noqa: ANN003
    defaults = dict(data_shape=(1, 16, 16), latent_dim=8, width=4, hidden_dim=8)
    defaults.update(kwargs)
    return BEGAN(**defaults)


def mnist(root: Path, **kwargs) -> MNIST:  # noqa: ANN003
    return MNIST(root=str(root), batch_size=kwargs.pop("batch_size", 16), val_size=64, **kwargs)


# ---------------------------------------------------------------------- L(v), the costs, k_t, M_global
def test_reconstruction_loss_is_the_mean_absolute_error_and_zero_for_an_identity_d() -> None:
    model = tiny()
    x = torch.ones(2, 1, 16, 16)
    x[1] = 2.0 * torch.tensor([1.0, -1.0]).repeat(128).view(1, 16, 16)  # +-2 alternating: mean |x| = 2
    model.discriminator = nn.Identity()
    assert torch.equal(model.discriminate(x), torch.zeros(2))
    model.discriminator = Scale(0.25)
    torch.testing.assert_close(model.discriminate(x), torch.tensor([0.75, 1.5]))  # |1 - 0.25| * mean |x|
    v, recon = torch.tensor([[1.0, -2.0, 0.0, 3.0]]), torch.tensor([[0.0, 0.0, 0.0, 0.0]])
    assert costs.reconstruction_loss(v, recon).item() == pytest.approx(6.0 / 4)
    with pytest.raises(LightgenError, match=r"input's shape \(1, 4\); got \(1, 3\)"):
        costs.reconstruction_loss(v, recon[:, :3])


def test_d_loss_is_l_real_minus_k_times_l_fake_and_logs_k_and_m_global() -> None:
    model = tiny(gamma=0.5)
    model.discriminator = Scale(0.5)
    model.k_t.fill_(0.3)
    real, fake = torch.ones(3, 1, 16, 16), 2.0 * torch.ones(3, 1, 16, 16)  # L(x) = 0.5, L(G(z)) = 1.0
    terms = model.d_loss(real, fake, Latent(torch.zeros(3, 8)))
    assert terms["loss"].item() == pytest.approx(0.5 - 0.3 * 1.0)
    assert (terms["l_real"].item(), terms["l_fake"].item(), terms["k"].item()) == pytest.approx((0.5, 1.0, 0.3))
    assert terms["m_global"].item() == pytest.approx(0.5 + abs(0.5 * 0.5 - 1.0))
    assert model.g_loss(fake, Latent(torch.zeros(3, 8)))["loss"].item() == pytest.approx(1.0)  # L_G = L(G(z))
    assert model.k_t.item() == pytest.approx(0.3)  # computing the loss does not move k_t


def test_convergence_measure_matches_a_hand_computation_for_both_signs_of_the_balance() -> None:
    assert costs.convergence_measure(0.4, 0.1, 0.7).item() == pytest.approx(0.4 + (0.28 - 0.1))
    assert costs.convergence_measure(0.2, 0.5, 0.5).item() == pytest.approx(0.2 + (0.5 - 0.1))


@pytest.mark.parametrize(("l_fake", "expected"), [(0.2, 0.5 + 0.1 * 0.3), (0.9, 0.5 - 0.1 * 0.4)])
def test_k_moves_by_lambda_times_gamma_l_real_minus_l_fake(l_fake: float, expected: float) -> None:
    model = tiny(gamma=0.5, lambda_k=0.1, k_init=0.5)
    model.on_d_step({"l_real": torch.tensor(1.0), "l_fake": torch.tensor(l_fake)})  # balance 0.5 - l_fake
    assert model.k_t.item() == pytest.approx(expected)


@pytest.mark.parametrize(("l_fake", "bound"), [(0.0, 1.0), (5.0, 0.0)])
def test_k_is_clipped_to_the_unit_interval_at_both_ends(l_fake: float, bound: float) -> None:
    model = tiny(gamma=0.5, lambda_k=1e6, k_init=0.5)
    for _ in range(3):
        model.on_d_step({"l_real": torch.tensor(1.0), "l_fake": torch.tensor(l_fake)})
        assert model.k_t.item() == bound


# ---------------------------------------------------------------------- the loop
class RecordingBEGAN(BEGAN):
    """Snapshots of both players after every D and G step, and whether D's step saw G's graph."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.snapshots: list[tuple[str, torch.Tensor, torch.Tensor, float]] = [("init", *self._flat(), 0.0)]
        self.fake_had_graph: list[bool] = []

    def _flat(self) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.cat([p.detach().flatten() for p in self.generator.parameters()]).clone()
        return g, torch.cat([p.detach().flatten() for p in self.discriminator.parameters()]).clone()

    def d_loss(self, real, fake, latent, regularize=True):  # noqa: ANN001, ANN201
        if self.training:
            self.fake_had_graph.append(fake.requires_grad)
        return super().d_loss(real, fake, latent, regularize)

    def on_d_step(self, terms) -> None:  # noqa: ANN001
        before = self.k_t.item()
        super().on_d_step(terms)
        error = self.gamma * terms["l_real"].item() - terms["l_fake"].item()
        assert self.k_t.item() == pytest.approx(min(1.0, max(0.0, before + self.lambda_k * error)), abs=1e-6)
        self.snapshots.append(("D", *self._flat(), self.k_t.item()))

    def on_g_step(self, terms) -> None:  # noqa: ANN001
        self.snapshots.append(("G", *self._flat(), self.k_t.item()))


def test_the_d_step_leaves_g_alone_and_the_g_step_leaves_d_alone(mnist_root: Path) -> None:
    L.seed_everything(0)
    model = RecordingBEGAN(data_shape=(1, 28, 28), latent_dim=8, width=4, hidden_dim=8, lambda_k=0.05)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=3)
    trainer.fit(model, mnist(mnist_root))
    kinds = "".join(s[0][0] for s in model.snapshots)
    assert kinds == "iDGDGDG"
    assert model.fake_had_graph == [False] * 3  # G's output reached D's loss detached
    for (_, g0, d0, _), (kind, g1, d1, _) in zip(model.snapshots, model.snapshots[1:]):
        if kind == "D":
            assert torch.equal(g0, g1) and not torch.equal(d0, d1)
        else:
            assert torch.equal(d0, d1) and not torch.equal(g0, g1)
    assert model.snapshots[-1][3] > 0.0  # k_t moved off k_0 = 0
    for key in ("d/k", "d/m_global", "d/l_real", "d/l_fake", "g_loss"):
        assert key in trainer.callback_metrics


def test_autoencoder_d_learns_to_reconstruct_real_images() -> None:
    torch.manual_seed(0)
    model = tiny()
    ramp = torch.linspace(-1, 1, 16).view(1, 1, 1, 16).expand(1, 1, 16, 16)
    x = torch.rand(8, 1, 1, 1) * ramp + (torch.rand(8, 1, 1, 1) - 0.5)  # two numbers per image: h = 8 holds them
    opt = torch.optim.Adam(model.discriminator.parameters(), lr=3e-3)
    before = model.discriminate(x).mean().item()
    for _ in range(30):
        loss = model.discriminate(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.discriminate(x).mean().item() < 0.5 * before


def test_validation_reports_l_real_m_global_and_the_training_probe_without_moving_k(mnist_root: Path) -> None:
    model = tiny(data_shape=(1, 28, 28), k_init=0.25)
    (val,) = quiet_trainer(limit_val_batches=2).validate(model, mnist(mnist_root))
    assert val["val/l_real"] > 0 and val["val/l_fake"] > 0 and val["val/real_score_train"] > 0
    assert val["val/m_global"] == pytest.approx(val["val/l_real"] + abs(0.5 * val["val/l_real"] - val["val/l_fake"]))
    assert val["val/k"] == pytest.approx(0.25) and model.k_t.item() == pytest.approx(0.25)


# ---------------------------------------------------------------------- checkpoints
def run(root: Path, ckpt_dir: Path, max_steps: int, ckpt_path: str | None = None) -> BEGAN:
    L.seed_everything(0)
    model = BEGAN(data_shape=(1, 28, 28), latent_dim=8, width=4, hidden_dim=8, gamma=0.7, lambda_k=0.05)
    trainer = quiet_trainer(
        max_steps=max_steps,
        enable_checkpointing=True,
        callbacks=[RunCheckpoint(dirpath=ckpt_dir, every_n_train_steps=1000, save_top_k=0)],
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(model, mnist(root), ckpt_path=ckpt_path)
    return model


def test_k_survives_a_checkpoint_round_trip_and_a_resume(mnist_root: Path, tmp_path: Path) -> None:
    straight = run(mnist_root, tmp_path / "a", max_steps=2 * 5)
    stopped = run(mnist_root, tmp_path / "b", max_steps=2 * 3)
    assert 0.0 < stopped.k_t.item() < straight.k_t.item()
    loaded = load_model(tmp_path / "b" / "last.ckpt")
    assert isinstance(loaded, BEGAN) and loaded.gamma == 0.7 and loaded.lambda_k == 0.05
    assert loaded.k_t.item() == stopped.k_t.item()
    assert isinstance(loaded.objective, costs.BEGANObjective)
    resumed = run(mnist_root, tmp_path / "b", max_steps=2 * 5, ckpt_path=str(tmp_path / "b" / "last.ckpt"))
    torch.testing.assert_close(resumed.k_t, straight.k_t, rtol=0, atol=1e-7)


# ---------------------------------------------------------------------- networks and errors
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 64, 64)])
def test_networks_map_to_the_image_shape_through_the_embedding(shape: tuple[int, int, int]) -> None:
    d = BEGANAutoencoder(shape, width=4, hidden_dim=6)
    x = torch.randn(2, *shape)
    assert d(x).shape == (2, *shape)
    assert d.features(x).shape == (2, 6)
    assert BEGANGenerator(5, shape, width=4)(torch.rand(3, 5)).shape == (3, *shape)
    widths = [m.out_channels for m in d.encoder.net if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert widths == [4 * (k + 1) for k in range(1, len(widths) + 1)]  # subsampling widens linearly: 2n, 3n, ...


def test_latents_are_uniform_on_the_unit_cube() -> None:
    z = tiny().latent_prior(4000, torch.Generator().manual_seed(0)).z
    assert z.min() >= -1 and z.max() <= 1 and abs(z.mean().item()) < 0.05 and z.min() < -0.99


def test_bad_settings_are_refused_in_one_line() -> None:
    with pytest.raises(LightgenError, match=r"gamma must be in \(0, 1\]; got 0.0"):
        tiny(gamma=0.0)
    with pytest.raises(LightgenError, match="k_init must be in"):
        tiny(k_init=1.5)
    with pytest.raises(LightgenError, match="BEGAN plays its own game .*got objective NonSaturating"):
        tiny(objective=NonSaturating())
    with pytest.raises(LightgenError, match="cannot build a network for 30x30"):
        tiny(data_shape=(1, 30, 30))
    with pytest.raises(LightgenError, match="needs k_t"):
        GAN(data_shape=(4,), objective=costs.BEGANObjective()).d_loss(torch.zeros(2, 4), torch.zeros(2, 4), None)


def test_the_gamma_demos_diversity_number_is_the_mean_pairwise_distance() -> None:
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("began_gamma", REPO / "tools" / "demos" / "began_gamma.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]])  # pair distances 5, 3, 4
    assert demo.mean_pairwise_distance(points) == pytest.approx(4.0)
    with pytest.raises(LightgenError, match="at least 2 samples; got 1"):
        demo.mean_pairwise_distance(points[:1])
