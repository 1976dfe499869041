"""The feature-map norms of the image-to-image nets (pix2pix, CycleGAN): batch, instance or none."""

from __future__ import annotations

from typing import Literal

from torch import nn

from lightgen.errors import LightgenError

ImageNorm = Literal["batch", "instance", "none"]
NORMS = ("batch", "instance", "none")


def check_norm(kind: str, owner: str) -> str:
    """``kind`` if it names a norm, else a one-line error naming ``owner`` and the choices."""
    if kind not in NORMS:
        raise LightgenError(f"unknown norm {kind!r} for {owner}; expected 'batch', 'instance' or 'none'")
    return kind


def norm2d(kind: str, channels: int) -> nn.Module:
    """BatchNorm2d; InstanceNorm2d without affine or running statistics (as pytorch-CycleGAN-and-pix2pix's
    ``get_norm_layer``: Ulyanov et al. 2016 normalise each image); or nothing."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def conv_bias(kind: str) -> bool:
    """A conv followed by batch norm needs no bias (the norm's shift replaces it)."""
    return kind != "batch"
