"""The pix2pix U-Net generator (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks", sec. 3.2.1 and appendix 6.1.1; the layout of pytorch-CycleGAN-and-pix2pix's ``UnetGenerator``).

Encoder C64-C128-C256-C512-C512-C512-C512-C512 (Ck: 4x4 conv, stride 2, norm, LeakyReLU 0.2; the
activation comes first in each block, as in the reference, so block i reads LeakyReLU(e_{i-1})); the
first conv has no norm and neither has the innermost (its map can be 1x1). The decoder mirrors it with
4x4 stride-2 transposed convs, ReLU first, and concatenates encoder map i to decoder map i (the skips of
sec. 3.2.1: low-level detail, e.g. edges, bypasses the bottleneck); the last block has no norm and ends
in tanh. Widths are ``base_channels * min(2**i, 8)``.

Dropout 0.5 on the first 3 decoder blocks is the paper's noise z (sec. 3.1, "CD" layers of 6.1.1, as in
the original Torch code). Here it is a plain ``nn.Dropout``: on in training mode, off in eval mode (the
paper keeps it on at test time; ``translate`` may call ``.train()`` on the dropout modules for that).
The PyTorch port puts the dropout on decoder blocks 2-4 instead of 1-3, and under batch norm drops the
bias of every down conv, also the first and the innermost, which no norm follows; we follow the paper and
the Torch code (dropout on blocks 1-3; a conv has a bias unless batch norm follows it): 576 more
parameters than the port at num_downs=8, base 64.
"""

from __future__ import annotations

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.init import dcgan_init
from lightgen.nets.norm2d import ImageNorm, check_norm, conv_bias, norm2d


class UNetGenerator(nn.Module):
    """Images (N, in_channels, H, W) -> tanh images (N, out_channels, H, W); H, W divisible by 2**num_downs.

    ``num_downs`` = 8 takes 256x256 images to a 1x1 bottleneck (the paper); 5 takes 32x32 to 1x1; 28x28
    images allow at most 2 (28 = 4 * 7). ``dropout`` = 0 removes the noise.
    Weights are N(0, 0.02), batch-norm scales N(1, 0.02) (the reference's ``init_type="normal"``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_downs: int = 8,
        base_channels: int = 64,
        norm: ImageNorm = "batch",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        check_norm(norm, "UNetGenerator")
        if num_downs < 1:
            raise LightgenError(f"UNetGenerator needs num_downs >= 1; got {num_downs}")
        if not 0.0 <= dropout < 1.0:
            raise LightgenError(f"UNetGenerator dropout must be in [0, 1); got {dropout}")
        self.num_downs = num_downs
        widths = [base_channels * min(2**i, 8) for i in range(num_downs)]
        bias = conv_bias(norm)
        self.down = nn.ModuleList()
        for i, width in enumerate(widths):
            if i == 0:  # outermost: no activation before, no norm after
                self.down.append(nn.Conv2d(in_channels, width, 4, 2, 1))
                continue
            innermost = i == num_downs - 1
            conv = nn.Conv2d(widths[i - 1], width, 4, 2, 1, bias=bias or innermost)
            tail = [] if innermost else [norm2d(norm, width)]
            self.down.append(nn.Sequential(nn.LeakyReLU(0.2), conv, *tail))
        # up[j] maps level L = num_downs-1-j to level L-1; it reads cat(skip e_L, previous output) for j > 0
        self.up = nn.ModuleList()
        for j in range(num_downs):
            level = num_downs - 1 - j
            c_in = widths[level] * (1 if j == 0 else 2)
            if level == 0:  # outermost: to the image, tanh
                layers: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1), nn.Tanh()]
            else:
                c_out = widths[level - 1]
                layers = [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias), norm2d(norm, c_out)]
                if j < 3 and dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        need = 2**self.num_downs
        if x.shape[-2] % need or x.shape[-1] % need:
            raise LightgenError(
                f"UNetGenerator with num_downs={self.num_downs} needs H and W divisible by {need}; "
                f"got {x.shape[-2]}x{x.shape[-1]}"
            )
        skips = []
        h = x
        for block in self.down:
            h = block(h)
            skips.append(h)
        h = self.up[0](skips[-1])
        for j, block in enumerate(self.up[1:], start=1):
            h = block(torch.cat([skips[self.num_downs - 1 - j], h], dim=1))  # skip first, as the reference
        return h
