"""PSNR and SSIM on the luminance channel, by the protocol of the super-resolution literature.

SRGAN (Ledig et al. 2017, sec. 3.1: "calculated on the y-channel of center-cropped, removal of a 4-pixel
wide strip from each border images") and the common SR evaluation code (MATLAB ``rgb2ycbcr``; BasicSR's
``calculate_psnr`` / ``calculate_ssim`` with ``test_y_channel``) measure:

1. the output and the ground truth as 8-bit images (the SR result is saved as a PNG: :func:`quantize_8bit`);
2. ``scale`` pixels cropped from every border (:func:`crop_border`);
3. the luma Y of ITU-R BT.601 as MATLAB's ``rgb2ycbcr``, Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB
   in [0, 1], so Y lies in [16, 235] on the 0-255 scale (:func:`rgb_to_y`; a grey image is R = G = B);
4. PSNR = 10 log10(255^2 / MSE) and SSIM (Wang et al. 2004: Gaussian window 11, sigma 1.5, K1 = 0.01,
   K2 = 0.03) with ``data_range`` 255, per image, by torchmetrics; the reported value is the mean over
   the test images (:func:`psnr_y`, :func:`ssim_y` give the per-image values).
"""

from __future__ import annotations

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from lightgen.errors import LightgenError

Y_WEIGHTS = (65.481, 128.553, 24.966)  # MATLAB rgb2ycbcr, ITU-R BT.601, for R, G, B in [0, 1]
Y_OFFSET = 16.0
DATA_RANGE = 255.0
SSIM_WINDOW = 11  # Gaussian window size and sigma of Wang et al. 2004 (and MATLAB ssim, BasicSR)
SSIM_SIGMA = 1.5
Y_FORMULA = "Y = 16 + 65.481 R + 128.553 G + 24.966 B, RGB in [0, 1] (ITU-R BT.601, MATLAB rgb2ycbcr); grey: R=G=B"


def _check_images(x: torch.Tensor, name: str = "images") -> None:
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise LightgenError(f"{name} must be (N, 1 or 3, H, W) in [0, 1]; got shape {tuple(x.shape)}")


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] rounded to the 256 levels of an 8-bit image (still floats in [0, 1])."""
    return (x.clamp(0, 1) * 255).round() / 255


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """Luma (N, 1, H, W) in [16, 235] (0-255 scale) of images (N, 3 or 1, H, W) in [0, 1] (see :data:`Y_FORMULA`)."""
    _check_images(x)
    x = x.double()
    if x.shape[1] == 1:
        return Y_OFFSET + sum(Y_WEIGHTS) * x
    w = torch.tensor(Y_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return Y_OFFSET + (x * w).sum(1, keepdim=True)


def crop_border(x: torch.Tensor, border: int) -> torch.Tensor:
    """``x`` (..., H, W) without ``border`` pixels on each of its four sides."""
    if border < 0 or 2 * border >= min(x.shape[-2:]):
        raise LightgenError(
            f"border must be in [0, {(min(x.shape[-2:]) - 1) // 2}] for {tuple(x.shape[-2:])}; got {border}"
        )
    return x if border == 0 else x[..., border:-border, border:-border]


def _y_pair(output: torch.Tensor, target: torch.Tensor, border: int) -> tuple[torch.Tensor, torch.Tensor]:
    _check_images(output, "output")
    _check_images(target, "target")
    if output.shape != target.shape:
        raise LightgenError(
            f"output and target must have the same shape; got {tuple(output.shape)} and {tuple(target.shape)}"
        )
    return rgb_to_y(crop_border(output, border)), rgb_to_y(crop_border(target, border))


def psnr_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image PSNR (N,) in dB on Y (0-255 scale, ``data_range`` 255) after cropping ``border`` pixels;
    inf for identical images."""
    y_out, y_tgt = _y_pair(output, target, border)
    return peak_signal_noise_ratio(y_out, y_tgt, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))


def ssim_y(output: torch.Tensor, target: torch.Tensor, border: int = 0) -> torch.Tensor:
    """Per-image SSIM (N,) on Y (0-255 scale, ``data_range`` 255, Gaussian window 11, sigma 1.5) after
    cropping ``border`` pixels; 1 for identical images."""
    y_out, y_tgt = _y_pair(output, target, border)
    if min(y_out.shape[-2:]) < SSIM_WINDOW:
        raise LightgenError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} after the border crop; "
            f"got {tuple(y_out.shape[-2:])}"
        )
    return structural_similarity_index_measure(
        y_out,
        y_tgt,
        gaussian_kernel=True,
        sigma=SSIM_SIGMA,
        kernel_size=SSIM_WINDOW,
        data_range=DATA_RANGE,
        reduction="none",
    )
