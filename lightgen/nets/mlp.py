"""Fully connected generator and discriminator, after Goodfellow et al. 2014 ("Generative
Adversarial Nets", sec. 5): G a ReLU MLP, D an MLP with dropout on its hidden units.

The paper's D used maxout units; here D uses LeakyReLU (0.2), which trains as well on MNIST with
fewer parameters and keeps D a plain MLP. Hidden widths are configurable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.minibatch import MinibatchDiscrimination


def _check_hidden(hidden: Sequence[int], what: str) -> list[int]:
    hidden = [int(h) for h in hidden]
    if not hidden or any(h <= 0 for h in hidden):
        raise LightgenError(f"{what} hidden sizes must be positive integers, at least one; got {hidden}")
    return hidden


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> x (N, *out_shape): in [-1, 1] with ``output="tanh"``, unbounded with
    ``"linear"`` (data outside [-1, 1], such as the toy 2-D mixtures of :mod:`lightgen.data.toy`)."""

    def __init__(
        self,
        latent_dim: int,
        out_shape: Sequence[int],
        hidden: Sequence[int] = (256, 512),
        output: Literal["tanh", "linear"] = "tanh",
    ) -> None:
        super().__init__()
        if output not in ("tanh", "linear"):
            raise LightgenError(f"unknown MLPGenerator output {output!r}; expected 'tanh' or 'linear'")
        self.out_shape = tuple(int(s) for s in out_shape)
        layers: list[nn.Module] = []
        width = latent_dim
        for h in _check_hidden(hidden, "MLPGenerator"):
            layers += [nn.Linear(width, h), nn.ReLU(True)]
            width = h
        # Identity keeps the parameter names of the tanh net (net.<i>.weight), so checkpoints match either way
        layers += [nn.Linear(width, math.prod(self.out_shape)), nn.Tanh() if output == "tanh" else nn.Identity()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """x (N, *in_shape) -> logits (N,); dropout on every hidden layer (Goodfellow et al. 2014).

    ``minibatch_kernels`` > 0 puts a minibatch-discrimination layer (Salimans et al. 2016, sec. 3.2;
    :mod:`lightgen.nets.minibatch`) before the output layer. ``features(x)`` gives the last hidden
    layer's activations (N, hidden[-1]), for feature matching.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        hidden: Sequence[int] = (512, 256),
        dropout: float = 0.0,
        minibatch_kernels: int = 0,
        minibatch_kernel_dim: int = 5,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise LightgenError(f"dropout must be in [0, 1); got {dropout}")
        self.in_shape = tuple(int(s) for s in in_shape)
        layers: list[nn.Module] = []
        width = math.prod(self.in_shape)
        for h in _check_hidden(hidden, "MLPDiscriminator"):
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2, True)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        self.feature_dim, self._body_layers = width, len(layers)
        self.has_minibatch = bool(minibatch_kernels)
        if self.has_minibatch:
            layers.append(MinibatchDiscrimination(width, minibatch_kernels, minibatch_kernel_dim))
            width = layers[-1].out_features
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)  # parameter names as before the minibatch option existed

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise LightgenError(
                f"MLPDiscriminator was built for inputs of shape {self.in_shape}; got {tuple(x.shape[1:])}"
            )
        return self.net[: self._body_layers](x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[self._body_layers :](self.features(x)).flatten()
