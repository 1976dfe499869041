"""The PatchGAN discriminator (Isola et al. 2017, sec. 3.2.2 and appendix 6.1.2; pytorch-CycleGAN-and-pix2pix's
``NLayerDiscriminator``), used by pix2pix on (source, image) pairs and by CycleGAN (Zhu et al. 2017, sec. 4).

C64-C128-C256-C512: 4x4 convs, stride 2 except the last (stride 1), padding 1, LeakyReLU 0.2, no norm on
C64; then a 4x4 stride-1 conv to one channel. Each output logit judges one NxN patch of the input; with
``n_layers`` = 3 N = 70 (the paper's 70x70 PatchGAN), 1 gives 16, 2 gives 34. Widths are capped at 8x.
"""

from __future__ import annotations

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.init import dcgan_init
from lightgen.nets.norm2d import ImageNorm, check_norm, conv_bias, norm2d

KERNEL = 4


def conv_strides(n_layers: int) -> list[int]:
    """Strides of the discriminator's convs in order: n_layers halvings, a stride-1 C(8x), the 1-channel conv."""
    if n_layers < 1:
        raise LightgenError(f"PatchDiscriminator needs n_layers >= 1; got {n_layers}")
    return [2] * n_layers + [1, 1]


def field_of(geometry: list[tuple[int, int]]) -> int:
    """Receptive field of a conv stack given (kernel, stride) per layer: r <- (r - 1) * s + k, from the output."""
    field = 1
    for kernel, stride in reversed(geometry):
        field = (field - 1) * stride + kernel
    return field


def receptive_field(n_layers: int) -> int:
    """Width in input pixels of the patch one output logit sees (70 for n_layers=3)."""
    return field_of([(KERNEL, s) for s in conv_strides(n_layers)])


class PatchDiscriminator(nn.Module):
    """Images (N, in_channels, H, W) -> logits (N, 1, h, w), one per overlapping patch (30x30 at 256 px).

    For pix2pix ``in_channels`` = source + target channels (D sees the pair, sec. 2.1). Weights N(0, 0.02).
    """

    def __init__(self, in_channels: int, base_channels: int = 64, n_layers: int = 3, norm: ImageNorm = "batch") -> None:
        super().__init__()
        check_norm(norm, "PatchDiscriminator")
        strides = conv_strides(n_layers)
        bias = conv_bias(norm)
        widths = [base_channels * min(2**i, 8) for i in range(n_layers + 1)]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], KERNEL, strides[0], 1), nn.LeakyReLU(0.2)]
        for i in range(1, n_layers + 1):
            conv = nn.Conv2d(widths[i - 1], widths[i], KERNEL, strides[i], 1, bias=bias)
            layers += [conv, norm2d(norm, widths[i]), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(widths[-1], 1, KERNEL, strides[-1], 1))
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    @property
    def receptive_field(self) -> int:
        """The patch width, from the convs this net actually holds."""
        convs = [m for m in self.net if isinstance(m, nn.Conv2d)]
        return field_of([(m.kernel_size[0], m.stride[0]) for m in convs])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
