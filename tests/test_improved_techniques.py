"""Salimans et al. 2016's minibatch discrimination and feature matching, PacGAN's packing discriminator,
and the loop seams they ride on (the critic's features, the real batch reaching J(G), Latent.context)."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from conftest import quiet_trainer
from torch.utils.data import DataLoader, TensorDataset

from lightgen.errors import LightgenError
from lightgen.losses import objectives
from lightgen.losses.gan import feature_matching_cost
from lightgen.models import DCGAN, GAN, ConditionalGAN, InfoNetGAN
from lightgen.models.latent import Latent
from lightgen.nets.minibatch import MinibatchDiscrimination


# ---------------------------------------------------------------------- minibatch discrimination
def test_minibatch_layer_matches_the_papers_sum_on_a_hand_computed_pair() -> None:
    layer = MinibatchDiscrimination(2, num_kernels=1, kernel_dim=2)
    with torch.no_grad():
        layer.T.copy_(torch.eye(2))  # M_i = f(x_i)
    f = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    out = layer(f)
    expected = 1.0 + torch.exp(torch.tensor(-3.0))  # j = i gives exp(0); ||(0,0) - (1,2)||_1 = 3
    assert out.shape == (2, 3)
    assert torch.equal(out[:, :2], f)
    assert torch.allclose(out[:, 2], expected.expand(2))


def test_minibatch_output_for_one_sample_depends_on_the_others_but_not_on_their_order() -> None:
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, num_kernels=4, kernel_dim=3)
    f = torch.randn(5, 6)
    out = layer(f)
    changed = f.clone()
    changed[3] += 1.0
    assert not torch.allclose(layer(changed)[0], out[0])  # sample 0 sees sample 3 change
    perm = torch.tensor([4, 2, 0, 1, 3])
    assert torch.allclose(layer(f[perm]), out[perm], atol=1e-6)  # equivariant: each row invariant to order


@pytest.mark.parametrize("net", ["mlp", "dcgan"])
def test_minibatch_option_changes_ds_output_with_the_batch(net: str) -> None:
    torch.manual_seed(0)
    if net == "mlp":
        model = GAN(data_shape=(1, 8, 8), latent_dim=4, g_hidden=(8,), d_hidden=(8,), d_minibatch_kernels=5)
        x = torch.randn(4, 1, 8, 8)
    else:
        model = DCGAN(data_shape=(1, 16, 16), latent_dim=4, g_width=4, d_width=4, d_norm="none", d_minibatch_kernels=5)
        x = torch.randn(4, 1, 16, 16)
    d = model.discriminator.eval()
    with torch.no_grad():
        alone = d(x[:2])
        together = d(x)
    assert together.shape == (4,)
    assert not torch.allclose(alone, together[:2])  # the same images, another batch: another output


def test_models_without_a_minibatch_or_packing_option_refuse_it_in_one_line() -> None:
    with pytest.raises(LightgenError, match="no minibatch-discrimination option; got d_minibatch_kernels=3"):
        InfoNetGAN(data_shape=(1, 28, 28), d_minibatch_kernels=3)
    with pytest.raises(LightgenError, match="ConditionalGAN does not support d_pack=2"):
        ConditionalGAN(data_shape=(1, 8, 8), latent_dim=4, g_hidden=(8,), d_hidden=(8,), d_pack=2)
    with pytest.raises(LightgenError, match="d_pack must be a positive integer; got 0"):
        GAN(data_shape=(2,), d_pack=0)


# ---------------------------------------------------------------------- feature matching
def test_feature_matching_is_zero_when_mean_features_match_and_the_squared_gap_otherwise() -> None:
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    same_mean = torch.tensor([[2.0, 3.0], [2.0, 3.0]])  # other rows, the same mean
    assert feature_matching_cost(real, same_mean)["loss"].item() == 0.0
    shifted = real + torch.tensor([1.0, -2.0])
    assert feature_matching_cost(real, shifted)["loss"].item() == pytest.approx(1.0 + 4.0)


def test_feature_matching_sends_gradient_to_the_fakes_only() -> None:
    real = torch.randn(4, 3, requires_grad=True)
    fake = torch.randn(4, 3, requires_grad=True)
    feature_matching_cost(real, fake)["loss"].backward()
    assert real.grad is None and fake.grad is not None and fake.grad.abs().sum() > 0


def test_the_loop_hands_the_real_batch_and_ds_features_to_feature_matching() -> None:
    model = GAN(data_shape=(3,), latent_dim=2, g_hidden=(8,), d_hidden=(6,), objective=objectives.FeatureMatching())
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    latent = Latent(torch.zeros(5, 2))
    terms = model.g_loss(fake, latent, real)
    f = model.discriminator.features
    assert terms["loss"].item() == pytest.approx((f(real).mean(0) - f(fake).mean(0)).pow(2).sum().item(), rel=1e-5)
    with pytest.raises(LightgenError, match="compares with the real batch"):
        model.g_loss(fake, latent)


def test_feature_matching_moves_g_onto_a_one_dimensional_gaussian() -> None:
    torch.manual_seed(0)
    data = torch.randn(4096, 1) * 0.15 + 0.4
    adam = partial(torch.optim.Adam, lr=2e-3, betas=(0.5, 0.999))
    model = GAN(
        data_shape=(1,), latent_dim=4, g_hidden=(32,), d_hidden=(32,),
        objective=objectives.FeatureMatching(), g_optimizer=adam, d_optimizer=adam,
    )  # fmt: skip
    assert abs(model.sample(2000, seed=1).mean().item() - 0.4) > 0.3
    quiet_trainer(max_epochs=3).fit(model, DataLoader(TensorDataset(data), batch_size=64, shuffle=True))
    assert abs(model.sample(2000, seed=1).mean().item() - 0.4) < 0.06


# ---------------------------------------------------------------------- packing (PacGAN)
def test_packing_puts_m_consecutive_examples_side_by_side_and_drops_the_rest() -> None:
    model = GAN(data_shape=(2,), latent_dim=2, g_hidden=(4,), d_hidden=(4,), d_pack=3)
    x = torch.arange(14.0).view(7, 2)
    packed = model.pack(x)
    assert packed.shape == (2, 6)
    assert torch.equal(packed[1], torch.tensor([6.0, 7, 8, 9, 10, 11]))  # examples 3, 4, 5
    assert model.discriminate(x).shape == (2,)
    with pytest.raises(LightgenError, match="d_pack=3 needs batches of at least 3 examples; got 2"):
        model.pack(x[:2])


def test_a_packed_dcgan_discriminator_sees_m_images_as_channels() -> None:
    model = DCGAN(data_shape=(1, 16, 16), latent_dim=4, g_width=4, d_width=4, d_pack=4)
    x = torch.randn(8, 1, 16, 16)
    assert model.d_input_shape == (4, 16, 16)
    assert model.discriminate(x).shape == (2,)
    images = x[:4].clone()
    images[0] += 1.0  # another first member changes the group's one output
    with torch.no_grad():
        model.discriminator.eval()
        assert not torch.allclose(model.discriminate(images), model.discriminate(x[:4]))


def test_pacgan_trains_through_the_loop_with_a_gradient_penalty() -> None:
    torch.manual_seed(0)
    data = torch.randn(256, 2)
    model = GAN(
        data_shape=(2,), latent_dim=2, g_hidden=(8,), d_hidden=(8,), d_pack=2, objective=objectives.WassersteinGP()
    )
    quiet_trainer(max_steps=6).fit(model, DataLoader(TensorDataset(data), batch_size=16))
    assert model.generator_steps == 3 and model.discriminator_steps == 3


# ---------------------------------------------------------------------- Latent.context
def test_latent_context_travels_with_slicing_and_concatenation() -> None:
    latent = Latent(torch.randn(4, 2)).with_context(torch.arange(4.0).view(4, 1))
    assert torch.equal(latent[1:3].context, torch.tensor([[1.0], [2.0]]))
    joined = Latent.cat([latent[:1], latent[3:]])
    assert torch.equal(joined.context, torch.tensor([[0.0], [3.0]]))
    with pytest.raises(LightgenError, match="context has 3 rows for 4 draws"):
        Latent(torch.randn(4, 2)).with_context(torch.zeros(3, 1))
