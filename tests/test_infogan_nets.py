"""The InfoGAN MNIST networks (Lucic et al. 2018's architecture): shapes, shape errors, norm choices."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses.objectives import WassersteinGP
from lightgen.models import InfoNetGAN
from lightgen.nets.infogan import InfoGANDiscriminator, InfoGANGenerator


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_output_shapes(norm: str) -> None:
    g, d = InfoGANGenerator(64), InfoGANDiscriminator(norm=norm)
    x = g(torch.randn(5, 64))
    assert x.shape == (5, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert d(x).shape == (5,)
    assert d.features(x).shape == (5, 1024)


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 28, 28)])
def test_other_image_shapes_are_refused_in_one_line(shape: tuple[int, int, int]) -> None:
    for build in (lambda: InfoGANGenerator(64, shape), lambda: InfoGANDiscriminator(shape)):
        with pytest.raises(LightgenError, match="1x28x28") as err:
            build()
        assert "\n" not in str(err.value)
    with pytest.raises(LightgenError, match=r"\(N, 1, 28, 28\)"):
        InfoGANDiscriminator()(torch.zeros(2, *shape))


def test_critic_without_norm_has_no_batch_norm() -> None:
    model = InfoNetGAN((1, 28, 28), d_norm="none", objective=WassersteinGP(), d_steps=5)
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)
    assert not any(isinstance(m, norms) for m in model.discriminator.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.generator.modules())  # G keeps its batch norm
    assert model.latent_dim == 64
