"""The GAN networks: shapes for every supported image, DCGAN initialisation, clear shape errors."""

from __future__ import annotations

import pytest
import torch

from lightgen.errors import LightgenError
from lightgen.models import DCGAN
from lightgen.nets import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from lightgen.nets.shapes import dcgan_base_size


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_nets_fit_every_supported_image(size: int, channels: int) -> None:
    g = DCGANGenerator(16, (channels, size, size), width=8)
    d = DCGANDiscriminator((channels, size, size), width=8)
    x = g(torch.randn(3, 16))
    assert x.shape == (3, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert d(x).shape == (3,)


def test_dcgan_widths_double_as_resolution_halves() -> None:
    g = DCGANGenerator(100, (3, 64, 64), width=64)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [c.out_channels for c in convs] == [512, 256, 128, 64, 3]  # Radford et al. fig. 1
    d = DCGANDiscriminator((3, 64, 64), width=64)
    assert [c.out_channels for c in d.modules() if isinstance(c, torch.nn.Conv2d)] == [64, 128, 256, 512, 1]


def test_dcgan_init_is_normal_with_std_0_02() -> None:
    torch.manual_seed(0)
    g = DCGANGenerator(100, (3, 64, 64), width=64)
    weight = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)][1].weight
    assert abs(weight.std().item() - 0.02) < 0.001 and abs(weight.mean().item()) < 0.001
    bn = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)][0]
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and bn.bias.abs().max() == 0


@pytest.mark.parametrize(("size", "expected"), [(28, (7, 2)), (32, (4, 3)), (64, (4, 4)), (128, (4, 5)), (56, (7, 3))])
def test_dcgan_base_size(size: int, expected: tuple[int, int]) -> None:
    assert dcgan_base_size(size, "net") == expected


@pytest.mark.parametrize("size", [30, 8, 48, 100])
def test_unsupported_sizes_get_a_one_line_error(size: int) -> None:
    with pytest.raises(LightgenError, match=rf"cannot build a network for {size}x{size} images") as err:
        DCGAN(data_shape=(1, size, size))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("shape", [(2, 32, 32), (1, 32, 28), (32, 32)])
def test_non_image_shapes_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(LightgenError, match=r"expects square images of shape \(1 or 3, S, S\)"):
        DCGANGenerator(16, shape)


def test_discriminator_names_a_wrong_input_shape() -> None:
    d = DCGANDiscriminator((1, 32, 32), width=8)
    with pytest.raises(LightgenError, match=r"built for \(1, 32, 32\) images; got \(1, 28, 28\)"):
        d(torch.zeros(2, 1, 28, 28))
    m = MLPDiscriminator((1, 28, 28), hidden=(8,))
    with pytest.raises(LightgenError, match=r"built for inputs of shape \(1, 28, 28\); got \(3, 28, 28\)"):
        m(torch.zeros(2, 3, 28, 28))


def test_mlp_nets_shapes_dropout_and_bad_arguments() -> None:
    g, d = MLPGenerator(8, (1, 28, 28), hidden=(16,)), MLPDiscriminator((1, 28, 28), hidden=(16,), dropout=0.5)
    assert d(g(torch.randn(5, 8))).shape == (5,)
    assert any(isinstance(m, torch.nn.Dropout) for m in d.modules())
    with pytest.raises(LightgenError, match="dropout must be in"):
        MLPDiscriminator((1, 28, 28), dropout=1.0)
    with pytest.raises(LightgenError, match="hidden sizes must be positive"):
        MLPGenerator(8, (1, 28, 28), hidden=())
