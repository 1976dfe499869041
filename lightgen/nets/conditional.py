"""Label-conditioned generators and discriminators (Mirza & Osindero 2014, "Conditional Generative
Adversarial Nets"; Miyato & Koyama 2018, "cGANs with Projection Discriminator").

Mirza & Osindero condition both players by feeding the label y as an extra input (their sec. 3.2):
G sees concat[z, onehot(y)], D sees concat[x, onehot(y)]. For images the one-hot label becomes K
constant planes appended to the input channels (C + K channels). Miyato & Koyama (eq. 3) instead
project the label onto D's features: ``D(x, y) = head(phi(x)) + <embed(y), phi(x)>``, which conditions
D without changing its input and trains more stably on image data.

The networks reuse the unconditional ones (:mod:`lightgen.nets.mlp`, :mod:`lightgen.nets.dcgan`) by
composition: the generators are the plain ones built for ``latent_dim + K`` inputs; the
discriminators split the plain one into its features (``phi``) and its last layer (``head``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.dcgan import DCGANDiscriminator, DCGANGenerator, DiscriminatorNorm
from lightgen.nets.init import dcgan_init
from lightgen.nets.mlp import MLPDiscriminator, MLPGenerator
from lightgen.nets.shapes import image_shape

Conditioning = Literal["concat", "projection"]
CONDITIONINGS = ("concat", "projection")


def check_classes(num_classes: int, conditioning: str = "concat") -> None:
    """One-line errors for a bad class count or conditioning mode."""
    if int(num_classes) < 1:
        raise LightgenError(f"num_classes must be a positive integer; got {num_classes}")
    if conditioning not in CONDITIONINGS:
        raise LightgenError(f"unknown conditioning {conditioning!r}; expected one of {CONDITIONINGS}")


def check_label_shape(labels: torch.Tensor, n: int) -> torch.Tensor:
    """``labels`` as int64 (N,), or a one-line error when there is not exactly one label per example."""
    if labels.dim() != 1 or labels.shape[0] != n:
        raise LightgenError(f"expected one label per example, shape ({n},); got {tuple(labels.shape)}")
    return labels.long()


def one_hot(labels: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """Labels (N,) -> one-hot rows (N, K) in the dtype and on the device of ``like``."""
    return F.one_hot(check_label_shape(labels, like.shape[0]), num_classes).to(like)


class LabelConcatGenerator(nn.Module):
    """(z (N, latent_dim), labels (N,)) -> samples: an unconditional generator ``net`` built for
    latent_dim + K inputs, run on concat[z, onehot(y)] (Mirza & Osindero 2014)."""

    def __init__(self, num_classes: int, net: nn.Module) -> None:
        super().__init__()
        check_classes(num_classes)
        self.num_classes = int(num_classes)
        self.net = net

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, one_hot(labels, self.num_classes, z)], 1))


class ConditionalMLPGenerator(LabelConcatGenerator):
    """(z, labels) -> x (N, *out_shape): an MLPGenerator on concat[z, onehot(y)]."""

    def __init__(
        self, latent_dim: int, num_classes: int, out_shape: Sequence[int], hidden: Sequence[int] = (256, 512)
    ) -> None:
        check_classes(num_classes)
        super().__init__(num_classes, MLPGenerator(latent_dim + num_classes, out_shape, hidden))


class ConditionalDCGANGenerator(LabelConcatGenerator):
    """(z, labels) -> images (N, C, S, S): a DCGANGenerator whose 1x1 input map is concat[z, onehot(y)]."""

    def __init__(self, latent_dim: int, num_classes: int, out_shape: Sequence[int], width: int = 64) -> None:
        check_classes(num_classes)
        super().__init__(num_classes, DCGANGenerator(latent_dim + num_classes, out_shape, width))


class ConditionalDiscriminator(nn.Module):
    """(x, labels) -> logits (N,): ``head(phi(x, y))`` plus, for projection, ``<embed(y), phi(x)>``.

    Subclasses give ``phi`` (:meth:`features`, which appends the one-hot label to the input under
    "concat") and the unconditional last layer (:meth:`head_logit`).
    """

    def __init__(self, num_classes: int, conditioning: Conditioning, feature_dim: int) -> None:
        super().__init__()
        check_classes(num_classes, conditioning)
        self.num_classes, self.conditioning, self.feature_dim = int(num_classes), conditioning, int(feature_dim)
        self.embed: nn.Embedding | None = None
        if conditioning == "projection":  # Miyato & Koyama 2018, eq. 3: one feature-sized vector per class
            self.embed = nn.Embedding(self.num_classes, self.feature_dim)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def features(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def head_logit(self, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = check_label_shape(labels, x.shape[0])
        h = self.features(x, labels)
        logits = self.head_logit(h)
        if self.embed is not None:
            logits = logits + (self.embed(labels) * h).sum(1)
        return logits


class ConditionalMLPDiscriminator(ConditionalDiscriminator):
    """An MLPDiscriminator on concat[flatten(x), onehot(y)] ("concat") or on x with a projection."""

    def __init__(
        self,
        in_shape: Sequence[int],
        num_classes: int,
        hidden: Sequence[int] = (512, 256),
        dropout: float = 0.0,
        conditioning: Conditioning = "concat",
    ) -> None:
        check_classes(num_classes, conditioning)
        in_shape = tuple(int(s) for s in in_shape)
        extra = int(num_classes) if conditioning == "concat" else 0
        net = MLPDiscriminator((math.prod(in_shape) + extra,), hidden, dropout)
        super().__init__(num_classes, conditioning, net.net[-1].in_features)
        self.in_shape, self.net = in_shape, net

    def features(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise LightgenError(f"{type(self).__name__} was built for inputs of shape {self.in_shape}; got {x.shape}")
        h = x.flatten(1)
        if self.conditioning == "concat":
            h = torch.cat([h, one_hot(labels, self.num_classes, h)], 1)
        return self.net.net[:-1](h)  # every layer but the last: phi(x)

    def head_logit(self, h: torch.Tensor) -> torch.Tensor:
        return self.net.net[-1](h).flatten()


class ConditionalDCGANDiscriminator(ConditionalDiscriminator):
    """A DCGANDiscriminator for (C, S, S) images, conditioned on y.

    "concat": the K one-hot label planes are appended to the image (C + K input channels; the plain
    net's input convolution is rebuilt for them). "projection": the plain net on x, plus
    ``<embed(y), phi(x)>`` on its flattened last hidden block.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        num_classes: int,
        width: int = 64,
        dropout: float = 0.0,
        norm: DiscriminatorNorm = "batch",
        conditioning: Conditioning = "concat",
    ) -> None:
        check_classes(num_classes, conditioning)
        channels, size, _ = image_shape(in_shape, type(self).__name__)
        net = DCGANDiscriminator((channels, size, size), width, dropout, norm)
        super().__init__(num_classes, conditioning, net.feature_dim)
        self.in_shape = (channels, size, size)
        if conditioning == "concat":  # the same first layer, for C + K input channels
            first: nn.Conv2d = net.body[0]
            net.body[0] = nn.Conv2d(channels + self.num_classes, first.out_channels, 4, 2, 1, bias=False)
            dcgan_init(net.body[0])
            net.in_shape = (channels + self.num_classes, size, size)
        self.net = net

    def features(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise LightgenError(f"{type(self).__name__} was built for {self.in_shape} images; got {tuple(x.shape[1:])}")
        if self.conditioning == "concat":
            planes = one_hot(labels, self.num_classes, x)[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, planes], 1)
        return self.net.features(x)

    def head_logit(self, h: torch.Tensor) -> torch.Tensor:
        head = self.net.head
        return head(h.view(h.shape[0], -1, *head.kernel_size)).flatten()
