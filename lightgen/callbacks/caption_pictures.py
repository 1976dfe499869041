"""Captioned text-to-image pictures (StackGAN, Zhang et al. 2017, figs. 3-4): one row per caption, the caption's
text, then several stage-I samples (upscaled, nearest, to the final size, at least 64 px) and the stage-II
samples made from those same stage-I images (the same draws).

:class:`CaptionPictures` draws them during training into ``<log_dir>/captions/step_XXXXXXX.png``;
:func:`save_captioned_grid` writes one for ``lightgen sample --caption``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule, Trainer
from PIL import Image, ImageDraw, ImageFont
from torchvision.transforms.functional import pil_to_tensor

from lightgen.callbacks.image_logging import own_rng, write_picture
from lightgen.callbacks.periodic import PeriodicPicture
from lightgen.errors import LightgenError

TEXT_WIDTH = 230  # pixels of the caption column (PIL's default bitmap font: about 6 px a character)
GAP = 4
HEADER = 16
MIN_TILE = 64  # samples are shown at least this large (nearest upscaling), so a caption gets several lines


def _tile(image: torch.Tensor, value_range: tuple[float, float], size: int) -> Image.Image:
    """One (C, H, W) sample in ``value_range`` -> an RGB PIL tile of size x size (nearest upscaling)."""
    low, high = value_range
    x = ((image.detach().float().cpu() - low) / (high - low)).clamp(0, 1)
    x = F.interpolate(x[None], size=(size, size), mode="nearest")[0]
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return Image.fromarray((x.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy(), "RGB")


def captioned_picture(
    model: LightningModule, captions: Sequence[str], per_caption: int = 4, seed: int = 0
) -> Image.Image:
    """The picture of ``model`` (a StackGAN) for ``captions``: rows of [caption | stage I ... | stage II ...]."""
    if not hasattr(model, "sample_stages"):
        raise LightgenError(f"captioned pictures need a text-to-image model (StackGAN); got {type(model).__name__}")
    captions = list(captions) if captions else list(getattr(model, "captions", []))
    if not captions or per_caption < 1:
        raise LightgenError("a captioned picture needs at least one caption and per_caption >= 1")
    repeated = [c for c in captions for _ in range(per_caption)]
    stages = model.sample_stages(len(repeated), seed=seed, captions=repeated)
    size = max(int(stages[-1].shape[-1]), MIN_TILE)
    block = per_caption * (size + GAP) + GAP
    width = TEXT_WIDTH + len(stages) * block
    height = HEADER + len(captions) * (size + GAP) + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default()
    names = ["stage I", "stage II"] if len(stages) == 2 else ["stage I"]
    for s, images in enumerate(stages):
        draw.text((TEXT_WIDTH + s * block + GAP, 2), f"{names[s]} ({images.shape[-1]} px)", fill="black", font=font)
    chars = max(10, TEXT_WIDTH // 6 - 1)
    for row, caption in enumerate(captions):
        top = HEADER + row * (size + GAP) + GAP
        lines = textwrap.wrap(caption, chars)[: max(1, size // 12)]
        draw.multiline_text((GAP, top), "\n".join(lines), fill="black", font=font, spacing=2)
        for s, images in enumerate(stages):
            for j in range(per_caption):
                tile = _tile(images[row * per_caption + j], model.value_range, size)
                canvas.paste(tile, (TEXT_WIDTH + s * block + GAP + j * (size + GAP), top))
    return canvas


def save_captioned_grid(
    model: LightningModule, captions: Sequence[str] | None, path: str | Path, per_caption: int = 4, seed: int = 0
) -> Path:
    """Write the captioned picture of ``captions`` (None: the model's stored example captions) as a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    captioned_picture(model, captions or [], per_caption, seed).save(path)
    return path


class CaptionPictures(PeriodicPicture):
    """Every ``every_n_steps`` training batches and at the end: the captioned picture of fixed draws (``seed``)
    for ``captions`` (None: the model's example captions from the validation split), written to
    ``<log_dir>/captions/step_XXXXXXX.png`` and logged to the active logger.

    Args:
        every_n_steps: interval in training batches.
        captions: captions to draw (None: the model's stored examples).
        per_caption: samples per caption (each a stage-I image and, for stage II, its stage-II image).
        seed: the fixed seed of the draws.
    """

    def __init__(
        self, every_n_steps: int = 500, captions: list[str] | None = None, per_caption: int = 4, seed: int = 0
    ) -> None:
        if every_n_steps < 1 or per_caption < 1:
            raise LightgenError(
                f"CaptionPictures needs positive every_n_steps and per_caption; got {every_n_steps}, {per_caption}"
            )
        super().__init__(every_n_steps)
        self.captions, self.per_caption, self.seed = captions, per_caption, seed
        self.last_path: Path | None = None

    def draw(self, trainer: Trainer, pl_module: LightningModule) -> bool:
        captions = self.captions or list(getattr(pl_module, "captions", []))
        if not hasattr(pl_module, "sample_stages") or not captions:
            return False
        with own_rng(pl_module):  # drawing must not change training
            picture = captioned_picture(pl_module, captions, self.per_caption, self.seed)
        grid = pil_to_tensor(picture).float() / 255.0
        self.last_path = write_picture(trainer, grid, "captions", "", "captions") or self.last_path
        return True
