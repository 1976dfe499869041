"""BiGAN / ALI: D's pairs, who learns in which step, the swapped cost, E's direction, checkpoints, the picture."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import quiet_trainer
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lightgen.callbacks.bigan_pictures import BiGANPictures, reconstruction_grid
from lightgen.checkpoint import load_model
from lightgen.data import MNIST, GaussianMixture2D
from lightgen.errors import LightgenError
from lightgen.losses import objectives
from lightgen.models import BiGAN
from lightgen.nets.bigan import pack_pair, unpack_pair

SHAPE = (1, 6, 6)  # 36 pixels + 4 latent dimensions = 40 per pair


def tiny(cls: type = BiGAN, **kwargs) -> BiGAN:  # noqa: ANN003
    defaults = dict(data_shape=SHAPE, latent_dim=4, g_hidden=(8,), d_hidden=(8,), e_hidden=(8,))
    return cls(**{**defaults, **kwargs})


def images(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def fit_one_batch(model: BiGAN, n: int = 8) -> None:
    loader = DataLoader(TensorDataset(images(n)), batch_size=n)
    quiet_trainer(max_epochs=1, limit_train_batches=1).fit(model, loader)


class LinearCritic(nn.Module):
    """A fixed D on packed pairs: logit = v . x + w . z (no parameters trained)."""

    def __init__(self, v: torch.Tensor, w: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", torch.cat([v, w]))

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return pair @ self.weight


# ------------------------------------------------------------------ what D sees
class RecordingBiGAN(BiGAN):
    """Records the pairs D scores in the D step, the z that G took and E's codes of the real batch."""

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(**kwargs)
        self.in_d_step, self.seen, self.generated = False, [], []
        self.expected_real: torch.Tensor | None = None

    def generate(self, latent, net=None):  # noqa: ANN001, ANN201
        out = super().generate(latent, net)
        self.generated.append((out.detach().clone(), latent.z.clone()))
        return out

    def d_loss(self, real, fake, latent, regularize=True):  # noqa: ANN001, ANN201
        with torch.no_grad():
            self.expected_real = (real.clone(), self.encoder(real).clone())
        self.in_d_step = True
        try:
            return super().d_loss(real, fake, latent, regularize)
        finally:
            self.in_d_step = False

    def discriminate(self, x, latent=None):  # noqa: ANN001, ANN201
        if self.in_d_step:
            self.seen.append(x.detach().clone())
        return super().discriminate(x, latent)


def test_d_sees_real_pairs_x_with_E_x_and_fake_pairs_G_z_with_z() -> None:
    model = tiny(RecordingBiGAN)
    fit_one_batch(model)
    real_pair, fake_pair = model.seen  # the D step scores exactly two batches of pairs
    x, e_x = model.expected_real
    g_z, z = model.generated[0]  # the D step's fakes, G(z) with its z
    assert real_pair.shape == fake_pair.shape == (8, 36 + 4)
    torch.testing.assert_close(real_pair, pack_pair(x, e_x))
    torch.testing.assert_close(fake_pair, pack_pair(g_z, z))
    x_part, z_part = unpack_pair(real_pair, SHAPE)
    torch.testing.assert_close(x_part, images(8))  # the batch's real images, unchanged
    assert not torch.equal(z_part, z)  # E(x), not a prior draw


def test_d_step_leaves_E_without_gradients_and_the_g_step_trains_G_and_E_but_not_D() -> None:
    model = tiny()
    x, latent = images(), model.latent_prior(8, torch.Generator().manual_seed(1))
    model.d_loss(x, model.generate(latent).detach(), latent)["loss"].backward()
    assert all(p.grad is None for p in model.encoder.parameters())  # E(x) is detached in the D step
    assert all(p.grad is None for p in model.generator.parameters())
    assert all(p.grad is not None for p in model.discriminator.parameters())

    model = tiny()
    snapshots = {}
    model.on_d_step = lambda terms: snapshots.update(after_d=copy.deepcopy(model.state_dict()))
    before = copy.deepcopy(model.state_dict())
    fit_one_batch(model)
    after_d, after_g = snapshots["after_d"], model.state_dict()

    def changed(a: dict, b: dict, prefix: str) -> bool:
        return any(not torch.equal(a[k], b[k]) for k in a if k.startswith(prefix))

    assert changed(before, after_d, "discriminator.")  # the D step trains D ...
    assert not changed(before, after_d, "encoder.") and not changed(before, after_d, "generator.")  # ... only
    assert changed(after_d, after_g, "encoder.") and changed(after_d, after_g, "generator.")  # G step: G and E
    assert not changed(after_d, after_g, "discriminator.")  # ... and not D
    assert {id(p) for p in model.generator_parameters()} == {
        id(p) for p in [*model.generator.parameters(), *model.encoder.parameters()]
    }


# ------------------------------------------------------------------ the swapped cost
def hand_costs(name: str, d_fake_pair: torch.Tensor, d_real_pair: torch.Tensor) -> torch.Tensor:
    """J(G, E) written out: the objective's D cost with (G(z), z) as real and (x, E(x)) as fake."""
    if name == "cross_entropy":  # -1/2 E log D(G(z), z) - 1/2 E log(1 - D(x, E(x)))
        return (
            -0.5 * torch.log(torch.sigmoid(d_fake_pair)).mean() - 0.5 * torch.log(1 - torch.sigmoid(d_real_pair)).mean()
        )
    if name == "least_squares":  # 1/2 E (D(G(z), z) - 1)^2 + 1/2 E D(x, E(x))^2
        return 0.5 * (d_fake_pair - 1).pow(2).mean() + 0.5 * d_real_pair.pow(2).mean()
    return d_real_pair.mean() - d_fake_pair.mean()  # Wasserstein: E f(x, E(x)) - E f(G(z), z)


@pytest.mark.parametrize(
    ("objective", "name"),
    [(objectives.NonSaturating(), "cross_entropy"), (objectives.Minimax(), "cross_entropy"),
     (objectives.LeastSquares(), "least_squares"), (objectives.WassersteinGP(), "wasserstein")],
)  # fmt: skip
def test_g_and_e_minimise_the_d_cost_with_the_pairs_swapped(objective: objectives.GANObjective, name: str) -> None:
    model = tiny(objective=objective)
    gen = torch.Generator().manual_seed(3)
    model.discriminator = LinearCritic(torch.randn(36, generator=gen) * 0.3, torch.randn(4, generator=gen))
    x, latent = images(), model.latent_prior(8, torch.Generator().manual_seed(4))
    fake = model.generate(latent)
    terms = model.g_loss(fake, latent, x)
    with torch.no_grad():
        d_fake_pair = model.discriminator(pack_pair(fake, latent.z))
        d_real_pair = model.discriminator(pack_pair(x, model.encoder(x)))
    torch.testing.assert_close(terms["loss"], hand_costs(name, d_fake_pair, d_real_pair))
    if name == "cross_entropy":  # the halves, named for the player each one trains
        torch.testing.assert_close(terms["g_term"], 0.5 * F.softplus(-d_fake_pair).mean())
        torch.testing.assert_close(terms["e_term"], 0.5 * F.softplus(d_real_pair).mean())
        torch.testing.assert_close(terms["d_x"], torch.sigmoid(d_real_pair).mean())  # D(x, E(x)), logged
    if name == "wasserstein":  # D's distance estimate would read with the wrong sign under swapped labels
        assert "wasserstein_estimate" not in terms


def test_with_a_fixed_d_a_g_step_moves_E_x_towards_fake_and_G_z_towards_real() -> None:
    """D's logit rises along v in x and w in z. The swapped cost pushes D(x, E(x)) down (E makes its pairs
    look fake) and D(G(z), z) up (G makes its pairs look real)."""
    model = tiny()
    gen = torch.Generator().manual_seed(5)
    model.discriminator = LinearCritic(torch.randn(36, generator=gen) * 0.3, torch.randn(4, generator=gen))
    x, latent = images(), model.latent_prior(8, torch.Generator().manual_seed(6))

    def scores() -> tuple[float, float]:
        with torch.no_grad():
            real = model.discriminator(pack_pair(x, model.encoder(x))).mean()
            fake = model.discriminator(pack_pair(model.generator(latent.z), latent.z)).mean()
        return float(real), float(fake)

    real_before, fake_before = scores()
    opt = torch.optim.SGD(list(model.generator_parameters()), lr=0.05)
    model.g_loss(model.generate(latent), latent, x)["loss"].backward()
    opt.step()
    real_after, fake_after = scores()
    assert real_after < real_before - 1e-4
    assert fake_after > fake_before + 1e-4


# ------------------------------------------------------------------ shapes, options, players
def test_shapes_priors_and_bad_options() -> None:
    model = tiny(d_pack=2)
    x = images(6)
    assert model.encode(x).shape == (6, 4)
    assert model.pair(x, model.encode(x)).shape == (6, 40)
    assert model.d_input_shape == (80,)
    assert model.discriminate(x).shape == (3,)  # plain examples are paired with E(x), then packed by 2
    assert model.reconstruct(x).shape == x.shape
    assert model.sample(5, seed=0).shape == (5, *SHAPE)
    z = model.latent_prior(4000, torch.Generator().manual_seed(0)).z
    assert z.min() >= -1 and z.max() <= 1 and abs(float(z.mean())) < 0.05  # U(-1, 1)
    assert model.encode(x * 50).abs().max() <= 1  # tanh encoder: E(x) stays in the prior's support
    gaussian = tiny(prior="gaussian")
    assert gaussian.latent_prior(4000, torch.Generator().manual_seed(0)).z.abs().max() > 1
    with pytest.raises(LightgenError, match="prior"):
        tiny(prior="laplace")
    with pytest.raises(LightgenError, match="g_output"):
        tiny(g_output="sigmoid")
    with pytest.raises(LightgenError, match="real batch"):
        model.g_loss(x, model.latent_prior(6), None)


def test_encoder_is_a_third_ddp_player_called_through_its_wrapper_while_trained() -> None:
    model = tiny()
    assert model.ddp_players() == ("generator", "discriminator", "encoder")
    calls = []

    class Counting(nn.Module):
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(1)
            return self.net(x)

    model.attach_ddp_wrappers({"encoder": Counting(model.encoder)})
    x, latent = images(), model.latent_prior(8)
    model.g_loss(model.generate(latent), latent, x)  # E trained: through the wrapper
    assert len(calls) == 1
    model.d_loss(x, model.generate(latent).detach(), latent)  # D step: E(x) without a graph, plain net
    assert len(calls) == 1


def test_toy_mixture_with_a_linear_generator_trains() -> None:
    model = BiGAN(data_shape=(2,), latent_dim=2, g_output="linear", g_hidden=(16,), d_hidden=(16,), e_hidden=(16,))
    assert isinstance(model.generator.net[-1], nn.Identity)  # unbounded output for the +-4 grid
    dm = GaussianMixture2D(layout="grid", num_train=64, num_val=0, batch_size=16)
    quiet_trainer(max_epochs=1, limit_train_batches=3).fit(model, dm)
    assert model.generator_steps == 3
    assert model.sample(4, seed=0).shape == (4, 2)
    assert model.encode(torch.zeros(3, 2)).shape == (3, 2)


# ------------------------------------------------------------------ checkpoints and the picture
def test_checkpoint_round_trip_keeps_the_encoder(tmp_path: Path) -> None:
    model = tiny(prior="gaussian", e_hidden=(5, 7))
    loader = DataLoader(TensorDataset(images(8)), batch_size=8)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=1)
    trainer.fit(model, loader)
    trainer.save_checkpoint(tmp_path / "bigan.ckpt")
    loaded = load_model(tmp_path / "bigan.ckpt")
    assert isinstance(loaded, BiGAN) and loaded.hparams.prior == "gaussian"
    for key, value in model.encoder.state_dict().items():
        torch.testing.assert_close(loaded.encoder.state_dict()[key], value)
    torch.testing.assert_close(loaded.reconstruct(images(3)), model.reconstruct(images(3)))


def test_reconstruction_grid_puts_x_beside_G_of_E_x() -> None:
    model = tiny()
    x = images(3)
    grid = reconstruction_grid(model, x, pairs_per_row=3)
    assert grid.shape == (3, 6 + 4, 6 * (6 + 2) + 2)  # one row of 3 pairs = 6 columns, padding 2 (grey as RGB)
    recon = model.reconstruct(x)
    for i in range(3):
        left = grid[0, 2:8, 2 + 2 * i * 8 : 8 + 2 * i * 8]
        right = grid[0, 2:8, 2 + (2 * i + 1) * 8 : 8 + (2 * i + 1) * 8]
        torch.testing.assert_close(left, (x[i, 0] + 1) / 2)
        torch.testing.assert_close(right, (recon[i, 0] + 1) / 2)


def test_picture_callback_writes_two_columns_per_test_image(mnist_root: Path, tmp_path: Path) -> None:
    model = BiGAN(data_shape=(1, 28, 28), latent_dim=4, g_hidden=(8,), d_hidden=(8,), e_hidden=(8,))
    dm = MNIST(root=str(mnist_root), batch_size=16, val_size=32)
    callback = BiGANPictures(every_n_steps=1, num_images=3, pairs_per_row=3)
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=2, callbacks=[callback], default_root_dir=tmp_path)
    trainer.fit(model, dm)
    pictures = sorted((tmp_path / "pictures").glob("reconstructions_step_*.png"))
    assert [p.name for p in pictures] == [f"reconstructions_step_{s:07d}.png" for s in (0, 1)]  # after each batch
    image = torch.from_numpy(np.array(Image.open(pictures[-1]).convert("L"))).float() / 255
    assert image.shape == (28 + 4, 2 * 3 * (28 + 2) + 2)  # 3 pairs of columns
    test_x = torch.stack([dm.test_set[i][0] for i in range(3)])
    recon = model.reconstruct(test_x)
    for i in range(3):
        left = image[2:30, 2 + 2 * i * 30 : 30 + 2 * i * 30]
        right = image[2:30, 2 + (2 * i + 1) * 30 : 30 + (2 * i + 1) * 30]
        assert (left - (test_x[i, 0] + 1) / 2).abs().max() <= 1 / 255 + 1e-6
        assert (right - (recon[i, 0] + 1) / 2).abs().max() <= 1 / 255 + 1e-6
