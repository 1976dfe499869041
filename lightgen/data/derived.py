"""The derived images of the embedded image-to-image defaults: edge maps and thickened digits.

- :func:`edge_map` makes the sources of "edges2fashion", a stand-in for pix2pix's edges2shoes (Isola et
  al. 2017, sec. 4; there the edges are HED's, Xie & Tu 2015, drawn as dark lines on white). Here: the
  Sobel gradient magnitude of the image in [0, 1], divided by 4 so that a unit step scores 1, thresholded
  at :data:`EDGE_THRESHOLD`; edge pixels are black (0), the rest white (255). A step lights the pixels on
  both sides of it, so the lines are about 2 pixels wide; flat regions (the background, uniform cloth)
  give none.
- :func:`thicken` makes domain B of "mnist2thick" (a CycleGAN-style unpaired task, Zhu et al. 2017, with
  a known correspondence): grey-scale dilation with a 3x3 max filter, so ``thicken(a) >= a`` pixelwise
  and each stroke grows by a pixel on every side.

Both map uint8 (N, 1, H, W) to uint8 (N, 1, H, W) and are computed once, at the served size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Sobel magnitude (a unit step scores 1) above which a pixel is an edge: steps of ~1/4 of the range
EDGE_THRESHOLD = 0.25

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_magnitude(images: torch.Tensor) -> torch.Tensor:
    """|grad| of uint8 (N, 1, H, W) images by the Sobel filters, scaled so a unit step scores 1 (float)."""
    x = images.float().div(255.0)
    x = F.pad(x, (1, 1, 1, 1), mode="replicate")  # no false edges at the border
    kernels = torch.stack([_SOBEL_X, _SOBEL_X.t()])[:, None]  # (2, 1, 3, 3): d/dx, d/dy
    grad = F.conv2d(x, kernels)
    return grad.pow(2).sum(1, keepdim=True).sqrt().div_(4.0)


def edge_map(images: torch.Tensor, threshold: float = EDGE_THRESHOLD, chunk: int = 8192) -> torch.Tensor:
    """Binary edge maps of uint8 (N, 1, H, W) images: 0 (black line) where the Sobel magnitude exceeds
    ``threshold``, 255 (white) elsewhere; uint8 (N, 1, H, W)."""
    out = [(sobel_magnitude(part) <= threshold).to(torch.uint8) * 255 for part in images.split(chunk)]
    return torch.cat(out) if out else images.clone()


def thicken(images: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Grey-scale dilation of uint8 (N, 1, H, W) images by a 3x3 max filter (``>= images`` pixelwise)."""
    out = [F.max_pool2d(part.float(), 3, stride=1, padding=1).to(torch.uint8) for part in images.split(chunk)]
    return torch.cat(out) if out else images.clone()
