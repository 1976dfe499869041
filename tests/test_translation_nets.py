"""The image-to-image networks: U-Net (pix2pix), PatchGAN, ResNet generator (CycleGAN), SRResNet and SRGAN's D."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.patchgan import PatchDiscriminator, receptive_field
from lightgen.nets.resnet_generator import ResnetGenerator
from lightgen.nets.srresnet import SRDiscriminator, SRResNet
from lightgen.nets.unet import UNetGenerator


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


class TestUNet:
    @pytest.mark.parametrize("num_downs", [1, 3, 5, 8])
    def test_output_has_the_input_shape(self, num_downs: int) -> None:
        torch.manual_seed(0)
        side = 2**num_downs
        g = UNetGenerator(3, 2, num_downs=num_downs, base_channels=2 if num_downs == 8 else 4)
        hw = (side, side) if num_downs == 8 else (side, 2 * side)
        y = g(torch.randn(2, 3, *hw))
        assert y.shape == (2, 2, *hw)
        assert y.abs().max() <= 1  # tanh

    def test_size_not_divisible_is_a_one_line_error(self) -> None:
        g = UNetGenerator(1, 1, num_downs=5, base_channels=4)
        with pytest.raises(LightgenError, match=r"num_downs=5 needs H and W divisible by 32; got 30x32") as err:
            g(torch.randn(1, 1, 30, 32))
        assert "\n" not in str(err.value)

    def test_layout_of_the_paper(self) -> None:
        g = UNetGenerator(3, 3)  # appendix 6.1.1
        downs = [m for m in g.down.modules() if isinstance(m, nn.Conv2d)]
        assert [c.out_channels for c in downs] == [64, 128, 256, 512, 512, 512, 512, 512]
        ups = [m for m in g.up.modules() if isinstance(m, nn.ConvTranspose2d)]
        assert [c.in_channels for c in ups] == [512, 1024, 1024, 1024, 1024, 512, 256, 128]
        assert [c.out_channels for c in ups] == [512, 512, 512, 512, 256, 128, 64, 3]
        dropped = [j for j, block in enumerate(g.up) if any(isinstance(m, nn.Dropout) for m in block)]
        assert dropped == [0, 1, 2]  # CD512 x 3: the first three decoder blocks
        norms = [j for j, block in enumerate(g.down) if any(isinstance(m, nn.BatchNorm2d) for m in block.modules())]
        assert norms == [1, 2, 3, 4, 5, 6]  # none on the outermost and innermost encoder layers
        assert isinstance(g.down[0], nn.Conv2d)  # no activation before the first conv
        assert isinstance(g.up[-1][-1], nn.Tanh)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in g.up[-1])
        for seq in [*g.down, *g.up]:  # a conv followed by batch norm has no bias; the others have one
            if isinstance(seq, nn.Sequential):
                for a, b in zip(seq[:-1], seq[1:]):
                    if isinstance(a, (nn.Conv2d, nn.ConvTranspose2d)):
                        assert (a.bias is None) == isinstance(b, nn.BatchNorm2d)
        assert abs(downs[4].weight.std().item() - 0.02) < 0.001  # N(0, 0.02)

    def test_instance_norm_is_the_references(self) -> None:
        g = UNetGenerator(1, 1, num_downs=3, base_channels=4, norm="instance")
        norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
        assert norms and all(not m.affine and not m.track_running_stats for m in norms)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in g.modules())

    def test_skips_carry_detail_that_the_bottleneck_does_not(self) -> None:
        """Sec. 3.2.1: with the bottleneck held fixed, a high-frequency change of the input still reaches the output
        through the skips, through the innermost one alone too, and through nothing else."""
        torch.manual_seed(0)
        # instance norm rescales every map, so a deep path is not shrunk by the N(0, 0.02) weights
        g = UNetGenerator(1, 1, num_downs=4, base_channels=8, norm="instance").double().eval()
        x = torch.randn(1, 1, 16, 16, dtype=torch.float64)
        i, j = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
        x_checker = x + 0.05 * (1 - 2 * ((i + j) % 2)).double()  # a +-0.05 checkerboard: the highest frequency
        with torch.no_grad():
            fixed = g.down[-1](g.down[-2](g.down[-3](g.down[-4](x))))  # the clean bottleneck (1x1)
            assert (g.down[-1](g.down[-2](g.down[-3](g.down[-4](x_checker)))) - fixed).abs().max() > 0
        g.down[-1].register_forward_hook(lambda module, args, out: fixed)  # from now on the bottleneck is `fixed`

        def zero_skip(module: nn.Module, args: tuple[torch.Tensor]) -> tuple[torch.Tensor]:
            h = args[0].clone()
            h[:, : h.shape[1] // 2] = 0  # the skip is the first half of the channels
            return (h,)

        def change(zeroed: list[int]) -> float:
            hooks = [g.up[j].register_forward_pre_hook(zero_skip) for j in zeroed]
            with torch.no_grad():
                delta = (g(x_checker) - g(x)).abs().max().item()
            for hook in hooks:
                hook.remove()
            return delta

        assert change(zeroed=[1, 2, 3]) == 0  # no skips: the output sees the input only through the bottleneck
        scale = g(x).abs().max().item()
        assert change(zeroed=[]) > 1e-3 * scale
        assert change(zeroed=[2, 3]) > 1e-3 * scale  # up[1] reads the innermost skip (encoder map 3 of 4)


class TestPatchGAN:
    @pytest.mark.parametrize(("n_layers", "field"), [(1, 16), (2, 34), (3, 70)])
    def test_receptive_field_computed_and_measured(self, n_layers: int, field: int) -> None:
        torch.manual_seed(0)
        assert receptive_field(n_layers) == field
        d = PatchDiscriminator(2, base_channels=4, n_layers=n_layers, norm="none").double().eval()
        assert d.receptive_field == field
        x = torch.randn(1, 2, 128, 128, dtype=torch.float64, requires_grad=True)
        out = d(x)
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
        support = x.grad.abs().sum(dim=(0, 1)) > 0
        for axis in (0, 1):
            hit = support.any(dim=axis).nonzero().flatten()
            assert hit.numel() == field and hit[-1] - hit[0] + 1 == field  # one contiguous window, exactly field wide

    def test_shape_and_size_of_the_references_70x70_d(self) -> None:
        d = PatchDiscriminator(6)  # pix2pix: (source, image) pairs of 3 channels each
        assert n_params(d) == 2_768_705  # the reference prints "Total number of parameters : 2.769 M"
        convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
        assert [(c.out_channels, c.stride[0]) for c in convs] == [(64, 2), (128, 2), (256, 2), (512, 1), (1, 1)]
        assert isinstance(d.net[1], nn.LeakyReLU) and d.net[1].negative_slope == 0.2  # no norm after C64
        small = PatchDiscriminator(6, base_channels=4).eval()
        assert small(torch.randn(1, 6, 256, 256)).shape == (1, 1, 30, 30)


class TestResnetGenerator:
    def test_shapes(self) -> None:
        torch.manual_seed(0)
        g = ResnetGenerator(3, 1, base_channels=4, n_blocks=2)
        y = g(torch.randn(2, 3, 32, 24))
        assert y.shape == (2, 1, 32, 24) and y.abs().max() <= 1
        g3 = ResnetGenerator(1, 3, base_channels=4, n_blocks=1, n_downsampling=3, norm="batch")
        assert g3(torch.randn(2, 1, 16, 32)).shape == (2, 3, 16, 32)
        with pytest.raises(LightgenError, match=r"n_downsampling=2 needs H and W divisible by 4; got 30x32"):
            g(torch.randn(1, 3, 30, 32))

    def test_layout_of_cyclegan(self) -> None:
        g = ResnetGenerator(3, 3)  # c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3
        assert n_params(g) == 11_378_179  # the reference prints "Total number of parameters : 11.378 M"
        convs = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        assert [c.out_channels for c in convs] == [64, 128, 256] + [256] * 18 + [128, 64, 3]
        assert sum(isinstance(m, nn.ReflectionPad2d) for m in g.modules()) == 2 + 18
        assert all(not m.affine for m in g.modules() if isinstance(m, nn.InstanceNorm2d))


class TestSRResNet:
    @pytest.mark.parametrize("scale", [2, 4, 8])
    def test_shapes(self, scale: int) -> None:
        torch.manual_seed(0)
        g = SRResNet(3, 3, num_blocks=2, channels=8, scale=scale)
        y = g(torch.randn(2, 3, 6, 5))
        assert y.shape == (2, 3, 6 * scale, 5 * scale) and y.abs().max() <= 1
        shuffles = [m for m in g.upsample.modules() if isinstance(m, nn.PixelShuffle)]
        assert [m.upscale_factor for m in shuffles] == [2] * (scale.bit_length() - 1)  # log2(scale) sub-pixel blocks

    def test_the_papers_x4_generator(self) -> None:
        g = SRResNet()  # 16 blocks, 64 channels, x4
        assert g(torch.randn(1, 3, 6, 6)).shape == (1, 3, 24, 24)
        assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 2 * 16 + 1
        assert [m.out_channels for m in g.upsample.modules() if isinstance(m, nn.Conv2d)] == [256, 256]
        assert g.head[0].kernel_size == (9, 9) and g.tail[0].kernel_size == (9, 9)

    def test_pixel_unshuffle_inverts_pixel_shuffle(self) -> None:
        x = torch.randn(2, 16, 5, 7)
        y = nn.PixelShuffle(2)(x)
        assert y.shape == (2, 4, 10, 14)
        assert torch.equal(nn.PixelUnshuffle(2)(y), x)
        assert torch.equal(y[0, 0, 1, 0], x[0, 2, 0, 0])  # channel c*4 + 2*dy + dx goes to offset (dy, dx)

    def test_scale_must_be_a_power_of_two(self) -> None:
        with pytest.raises(LightgenError, match=r"SRResNet scale must be a power of two \(2, 4, 8...\); got 3"):
            SRResNet(scale=3)


class TestSRDiscriminator:
    def test_logits_per_image(self) -> None:
        torch.manual_seed(0)
        d = SRDiscriminator(3, image_size=32, base_channels=4)
        assert d(torch.randn(3, 3, 32, 32)).shape == (3,)
        with pytest.raises(LightgenError, match=r"built for 32x32 images; got 48x48"):
            d(torch.randn(1, 3, 48, 48))

    def test_the_papers_d(self) -> None:
        d = SRDiscriminator()
        convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
        assert [(c.out_channels, c.stride[0]) for c in convs] == [
            (64, 1), (64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2)
        ]  # fmt: skip
        linears = [m for m in d.modules() if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in linears] == [(512 * 6 * 6, 1024), (1024, 1)]

    @pytest.mark.parametrize("size", [40, 8, 100])
    def test_image_size_must_divide_by_16(self, size: int) -> None:
        with pytest.raises(LightgenError, match=rf"image_size divisible by 16 \(4 stride-2 convs\); got {size}") as err:
            SRDiscriminator(image_size=size)
        assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: UNetGenerator(1, 1, num_downs=2, norm="group"),
        lambda: PatchDiscriminator(2, norm="group"),
        lambda: ResnetGenerator(1, 1, norm="group"),
    ],
    ids=["UNetGenerator", "PatchDiscriminator", "ResnetGenerator"],
)
def test_bad_norm_name_is_a_one_line_error(build, request: pytest.FixtureRequest) -> None:
    name = request.node.callspec.id
    with pytest.raises(
        LightgenError, match=rf"unknown norm 'group' for {name}; expected 'batch', 'instance' or 'none'"
    ) as err:
        build()
    assert "\n" not in str(err.value)
