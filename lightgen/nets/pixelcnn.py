"""PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks",
sec. 3.4-3.5) and its gated variant (van den Oord et al. 2016, "Conditional Image Generation with
PixelCNN Decoders", sec. 2.2). Plain torch, no lightning.

Masked convolutions make pixel i depend only on the pixels before it in raster order:

- mask A (first layer): the kernel sees the rows above and the pixels left of the centre, not
  the centre itself, so output i does not see x_i;
- mask B (later layers): also the centre, which now holds features of x_<i only.

Single-channel images (C = 1): the RGB channel masks of the paper are not implemented.
The "residual" net is the paper's PixelCNN: a 7x7 mask-A convolution to 2h channels, residual
blocks (ReLU, 1x1 2h->h, ReLU, 3x3 mask B h->h, ReLU, 1x1 h->2h, + input; Fig. 5), then ReLU-1x1
layers to P outputs per pixel. The "gated" net uses a vertical and a horizontal stack with
``tanh(W_f * x) . sigm(W_g * x)`` units, which removes the residual net's blind spot.

Shapes: x (B, 1, H, W) encoded inputs -> (B, H*W, P) parameters of every conditional.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn


class MaskedConv2d(nn.Conv2d):
    """A convolution whose kernel is masked to the raster-order past: type "A" excludes the centre."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: Literal["A", "B"]) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        k = kernel_size // 2
        mask = torch.ones_like(self.weight)
        mask[:, :, k, k + (mask_type == "B") :] = 0  # the centre row: right of (or from) the centre
        mask[:, :, k + 1 :] = 0  # every row below the centre
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class ResidualBlock(nn.Module):
    """PixelCNN residual block (Fig. 5): 2h -> h (1x1) -> h (3x3, mask B) -> 2h (1x1), plus the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        h = channels // 2
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, h, 1),
            nn.ReLU(),
            MaskedConv2d(h, h, 3, "B"),
            nn.ReLU(),
            nn.Conv2d(h, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class GatedLayer(nn.Module):
    """Gated PixelCNN layer (van den Oord et al. 2016b, Fig. 2): vertical stack v (rows above) and
    horizontal stack h (pixels left in the row), ``y = tanh(f) * sigm(g)``.

    The vertical stack at row r carries rows <= r and is shifted down one row before it feeds the
    horizontal stack, so the horizontal stack only receives rows strictly above; the first layer's
    horizontal convolution excludes the centre pixel (mask A), later ones include it (mask B).
    """

    def __init__(self, channels: int, kernel_size: int, first: bool) -> None:
        super().__init__()
        k = kernel_size // 2
        self.k, self.first = k, first
        # vertical: (k+1) x kernel window covering rows i-k..i (shifted down afterwards)
        self.v_conv = nn.Conv2d(channels, 2 * channels, (k + 1, kernel_size))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        # horizontal: 1 x (k+1) window covering columns j-k..j (first layer: j-k..j-1 by a shift)
        self.h_conv = nn.Conv2d(channels, 2 * channels, (1, k + 1))
        self.h_out = nn.Conv2d(channels, channels, 1)

    @staticmethod
    def _gate(x: torch.Tensor) -> torch.Tensor:
        f, g = x.chunk(2, dim=1)
        return torch.tanh(f) * torch.sigmoid(g)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k, H, W = self.k, v.shape[-2], v.shape[-1]
        v_feat = self.v_conv(F.pad(v, (k, k, k, 0)))  # (B, 2C, H, W): rows i-k..i
        v_down = F.pad(v_feat, (0, 0, 1, 0))[:, :, :H]  # rows i-k-1..i-1: strictly above
        h_in = F.pad(h, (k, 0, 0, 0))
        if self.first:  # exclude the centre pixel: shift the row right by one
            h_in = F.pad(h, (k + 1, 0, 0, 0))[:, :, :, : W + k]
        h_feat = self.h_conv(h_in) + self.v_to_h(v_down)
        v_next = self._gate(v_feat)  # rows <= i: only ever passed on shifted down
        h_gated = self.h_out(self._gate(h_feat))
        h_next = h_gated if self.first else h + h_gated
        return v_next, h_next


class PixelCNNNet(nn.Module):
    """x (B, 1, H, W) -> (B, H*W, P).

    Args:
        out_per_pixel: P (1 Bernoulli logit, 256 softmax logits).
        channels: 2h, the feature maps (the paper's MNIST nets used a few dozen to 128).
        num_layers: residual blocks / gated layers after the first layer.
        block: "residual" (PixelCNN, 2016a) or "gated" (Gated PixelCNN, 2016b).
        kernel_size: first layer's kernel (7 in the paper); gated layers use it throughout.
    """

    def __init__(
        self,
        out_per_pixel: int = 1,
        channels: int = 64,
        num_layers: int = 7,
        block: Literal["residual", "gated"] = "residual",
        kernel_size: int = 7,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0 or kernel_size < 3:
            raise ValueError(f"kernel_size must be odd and >= 3; got {kernel_size}")
        self.block, self.out_per_pixel = block, out_per_pixel
        k = kernel_size // 2
        # rows above a pixel that can reach its output: mask A k, each 3x3 mask-B block 1; a gated
        # layer's vertical stack k, plus the one-row shift into the horizontal stack
        self.rows_above = k + num_layers if block == "residual" else (num_layers + 1) * k + 1
        if block == "residual":
            self.first = MaskedConv2d(1, channels, kernel_size, "A")
            self.layers = nn.ModuleList(ResidualBlock(channels) for _ in range(num_layers))
        elif block == "gated":
            self.embed = nn.Conv2d(1, channels, 1)  # per-pixel, so no leak: the layers mask
            self.layers = nn.ModuleList(GatedLayer(channels, kernel_size, first=i == 0) for i in range(num_layers + 1))
        else:
            raise ValueError(f"unknown block {block!r}; expected 'residual' or 'gated'")
        self.head = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(), nn.Conv2d(channels, out_per_pixel, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, H, W) -> (B, H*W, P). No layer looks below a pixel's row, and rows more than
        ``rows_above`` above it do not reach it, so rows r-rows_above..r of x give row r exactly."""
        if self.block == "residual":
            h = self.first(x)
            for layer in self.layers:
                h = layer(h)
        else:
            v = h = self.embed(x)
            for layer in self.layers:
                v, h = layer(v, h)
        out = self.head(h)  # (B, P, H, W)
        return out.permute(0, 2, 3, 1).reshape(x.shape[0], -1, self.out_per_pixel)
