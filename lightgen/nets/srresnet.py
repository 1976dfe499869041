"""SRResNet and the SRGAN discriminator (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution
Using a Generative Adversarial Network", sec. 2.2 and fig. 4).

G: conv k9n64 + PReLU; B residual blocks (conv k3n64 - BN - PReLU - conv k3n64 - BN, plus the input);
conv k3n64 - BN, plus the output of the first PReLU; log2(scale) sub-pixel blocks (conv k3n256 -
PixelShuffle x2 - PReLU: Shi et al. 2016); conv k9 to the output channels, then tanh (the HR images are
in [-1, 1], sec. 3.2). PReLUs learn one slope per channel.

D: conv k3n64s1 + LeakyReLU 0.2, then seven conv - BN - LeakyReLU blocks k3n64s2, n128s1, n128s2, n256s1,
n256s2, n512s1, n512s2, then dense 1024 - LeakyReLU - dense 1; the paper's final sigmoid is left to the
loss (logits out). Both keep PyTorch's default initialisation (the paper names none).
"""

from __future__ import annotations

import torch
from torch import nn

from lightgen.errors import LightgenError


class ResidualBlock(nn.Module):
    """x + (conv3 - BN - PReLU - conv3 - BN)(x) (fig. 4, after Gross & Wilber's ResNet variant)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def upsample_block(channels: int) -> nn.Sequential:
    """conv k3 to 4*channels, PixelShuffle(2) (sub-pixel convolution, Shi et al. 2016), PReLU: x2 size."""
    return nn.Sequential(nn.Conv2d(channels, channels * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(channels))


class SRResNet(nn.Module):
    """LR images (N, in_channels, H, W) -> tanh HR images (N, out_channels, H*scale, W*scale); scale a power of 2."""

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, num_blocks: int = 16, channels: int = 64, scale: int = 4
    ) -> None:
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise LightgenError(f"SRResNet scale must be a power of two (2, 4, 8...); got {scale}")
        if num_blocks < 0:
            raise LightgenError(f"SRResNet needs num_blocks >= 0; got {num_blocks}")
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 9, 1, 4), nn.PReLU(channels))
        self.body = nn.Sequential(
            *[ResidualBlock(channels) for _ in range(num_blocks)],
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.upsample = nn.Sequential(*[upsample_block(channels) for _ in range(scale.bit_length() - 1)])
        self.tail = nn.Sequential(nn.Conv2d(channels, out_channels, 9, 1, 4), nn.Tanh())

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        h = self.head(lr)
        return self.tail(self.upsample(h + self.body(h)))  # the long skip of fig. 4


# (width multiplier, stride) of D's seven conv-BN-LeakyReLU blocks, fig. 4
DISCRIMINATOR_BLOCKS = ((1, 2), (2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2))


class SRDiscriminator(nn.Module):
    """HR images (N, in_channels, image_size, image_size) -> logits (N,); image_size divisible by 16."""

    def __init__(self, in_channels: int = 3, image_size: int = 96, base_channels: int = 64) -> None:
        super().__init__()
        if image_size < 16 or image_size % 16:
            raise LightgenError(
                f"SRDiscriminator needs image_size divisible by 16 (4 stride-2 convs); got {image_size}"
            )
        self.image_size = image_size
        layers: list[nn.Module] = [nn.Conv2d(in_channels, base_channels, 3, 1, 1), nn.LeakyReLU(0.2)]
        ch = base_channels
        for mult, stride in DISCRIMINATOR_BLOCKS:
            out = base_channels * mult
            layers += [nn.Conv2d(ch, out, 3, stride, 1, bias=False), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            ch = out
        self.features = nn.Sequential(*layers)
        side = image_size // 16
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(ch * side * side, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 1)
        )

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        if tuple(hr.shape[-2:]) != (self.image_size, self.image_size):
            raise LightgenError(
                f"SRDiscriminator was built for {self.image_size}x{self.image_size} images; "
                f"got {hr.shape[-2]}x{hr.shape[-1]}"
            )
        return self.head(self.features(hr)).squeeze(1)
