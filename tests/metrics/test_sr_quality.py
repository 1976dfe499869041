"""PSNR / SSIM on the Y channel with a border crop (lightgen.metrics.sr_quality): closed-form values."""

from __future__ import annotations

import math

import pytest
import torch

from lightgen.errors import LightgenError
from lightgen.metrics.sr_quality import crop_border, psnr_y, quantize_8bit, rgb_to_y, ssim_y


def images(n: int = 2, c: int = 3, size: int = 24, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_y_of_white_and_black_is_235_and_16_for_rgb_and_grey() -> None:
    for c in (1, 3):
        white, black = torch.ones(1, c, 2, 2), torch.zeros(1, c, 2, 2)
        assert torch.allclose(rgb_to_y(white), torch.full((1, 1, 2, 2), 235.0, dtype=torch.float64))
        assert torch.allclose(rgb_to_y(black), torch.full((1, 1, 2, 2), 16.0, dtype=torch.float64))
    # the BT.601 weights per channel (MATLAB rgb2ycbcr): pure red, green, blue
    rgb = torch.eye(3).view(3, 3, 1, 1)
    assert rgb_to_y(rgb).flatten().tolist() == pytest.approx([16 + 65.481, 16 + 128.553, 16 + 24.966])
    # a grey image is R = G = B
    grey = images(c=1)
    assert torch.allclose(rgb_to_y(grey), rgb_to_y(grey.expand(-1, 3, -1, -1)))


def test_psnr_and_ssim_of_an_image_with_itself_are_inf_and_one() -> None:
    x = images()
    assert torch.isinf(psnr_y(x, x)).all() and psnr_y(x, x).shape == (2,)
    assert torch.allclose(ssim_y(x, x), torch.ones(2, dtype=torch.float64))
    assert (ssim_y(x, images(seed=1)) < 0.5).all()


@pytest.mark.parametrize("d", [1.0, 5.0, 21.9])
def test_psnr_of_a_constant_offset_on_y_is_closed_form(d: float) -> None:
    target = torch.full((2, 1, 16, 16), 0.3, dtype=torch.float64)
    output = target + d / 219  # grey: Y = 16 + 219 v, so Y moves by d
    expected = 10 * math.log10(255**2 / d**2)
    assert psnr_y(output, target).tolist() == pytest.approx([expected] * 2, rel=1e-6)


def test_border_crop_removes_exactly_b_pixels_per_side() -> None:
    x = torch.arange(2 * 3 * 10 * 12.0).view(2, 3, 10, 12)
    assert torch.equal(crop_border(x, 2), x[..., 2:8, 2:10]) and crop_border(x, 0) is x
    # a difference only in the 4-pixel border leaves PSNR (inf) and SSIM (1) unchanged with border 4
    target = images(size=28)
    output = target.clone()
    output[..., :4, :] = 0
    output[..., :, -4:] = 1
    assert torch.isinf(psnr_y(output, target, border=4)).all() and torch.isfinite(psnr_y(output, target)).all()
    assert torch.allclose(ssim_y(output, target, border=4), torch.ones(2, dtype=torch.float64))
    # one pixel further in is seen
    output[..., 4, 10] = 1 - target[..., 4, 10]
    assert torch.isfinite(psnr_y(output, target, border=4)).all()


def test_quantize_rounds_to_8_bit_levels_and_bad_input_is_one_line() -> None:
    x = torch.tensor([0.0, 0.6 / 255, 0.4 / 255, 100.3 / 255, 1.2, -0.1]).view(1, 1, 1, 6)
    assert (quantize_8bit(x) * 255).flatten().tolist() == pytest.approx([0, 1, 0, 100, 255, 0])
    with pytest.raises(LightgenError, match="border must be in"):
        crop_border(images(size=8), 4)
    with pytest.raises(LightgenError, match="same shape"):
        psnr_y(images(size=8), images(size=10))
    with pytest.raises(LightgenError, match=r"\(N, 1 or 3, H, W\)"):
        rgb_to_y(torch.rand(1, 2, 4, 4))
