"""The ResNet generator of CycleGAN (Zhu et al. 2017, appendix 7.2), after Johnson et al. 2016, "Perceptual
Losses for Real-Time Style Transfer and Super-Resolution" (pytorch-CycleGAN-and-pix2pix's ``ResnetGenerator``).

c7s1-64, d128, d256, R256 x 9, u128, u64, c7s1-3: c7s1-k is a 7x7 stride-1 conv (reflection padding 3) -
norm - ReLU, dk a 3x3 stride-2 conv - norm - ReLU, Rk a residual block of two 3x3 convs with reflection
padding (conv - norm - ReLU - conv - norm, plus the input), uk a 3x3 stride-1/2 transposed conv - norm -
ReLU. The last c7s1 has no norm and ends in tanh. Instance norm by default (Ulyanov et al. 2016).
"""

from __future__ import annotations

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.init import dcgan_init
from lightgen.nets.norm2d import ImageNorm, check_norm, conv_bias, norm2d


class ResnetBlock(nn.Module):
    """x + (pad - conv3 - norm - ReLU - pad - conv3 - norm)(x), reflection padding (Johnson et al. 2016, sec. 3)."""

    def __init__(self, channels: int, norm: ImageNorm, bias: bool) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm2d(norm, channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm2d(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Images (N, in_channels, H, W) -> tanh images (N, out_channels, H, W); H, W divisible by 2**n_downsampling.

    9 blocks suit 256x256 images, 6 suit 128x128 (the paper). Weights N(0, 0.02) (``init_type="normal"``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int = 64,
        n_blocks: int = 9,
        norm: ImageNorm = "instance",
        n_downsampling: int = 2,
    ) -> None:
        super().__init__()
        check_norm(norm, "ResnetGenerator")
        if n_blocks < 0 or n_downsampling < 0:
            raise LightgenError(
                f"ResnetGenerator needs n_blocks >= 0 and n_downsampling >= 0; got {n_blocks}, {n_downsampling}"
            )
        self.n_downsampling = n_downsampling
        bias = conv_bias(norm)
        ch = base_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ch, 7, bias=bias),
            norm2d(norm, ch),
            nn.ReLU(),
        ]
        for _ in range(n_downsampling):
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=bias), norm2d(norm, ch * 2), nn.ReLU()]
            ch *= 2
        layers += [ResnetBlock(ch, norm, bias) for _ in range(n_blocks)]
        for _ in range(n_downsampling):
            up = nn.ConvTranspose2d(ch, ch // 2, 3, 2, padding=1, output_padding=1, bias=bias)
            layers += [up, norm2d(norm, ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        need = 2**self.n_downsampling
        if x.shape[-2] % need or x.shape[-1] % need:
            raise LightgenError(
                f"ResnetGenerator with n_downsampling={self.n_downsampling} needs H and W divisible by {need}; "
                f"got {x.shape[-2]}x{x.shape[-1]}"
            )
        return self.net(x)
