"""BiGAN / ALI pieces: the encoder E: x -> z and the packing of an (x, z) pair into one vector.

Donahue, Krähenbühl & Darrell 2016 ("Adversarial Feature Learning", sec. 3) and Dumoulin et al. 2016
("Adversarially Learned Inference", sec. 2) give D a pair (x, z). lightgen packs the pair into one row,
``[flatten(x), z]`` of size prod(data_shape) + latent_dim, so that D is an ordinary network on vectors
and everything that works on D's inputs works unchanged on pairs: the objectives' costs, the penalties
that interpolate between real and fake inputs (WGAN-GP's x_hat becomes a joint interpolation of x and z),
R1's input gradient, packing (PacGAN) and minibatch discrimination.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from lightgen.errors import LightgenError

EncoderOutput = Literal["linear", "tanh"]


def pack_pair(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """(x (N, *data_shape), z (N, d)) -> (N, prod(data_shape) + d): the pair as one row per example."""
    if x.shape[0] != z.shape[0]:
        raise LightgenError(f"a pair needs as many codes as examples; got {z.shape[0]} codes for {x.shape[0]}")
    return torch.cat([x.flatten(1), z.flatten(1).to(x.dtype)], dim=1)


def unpack_pair(pair: torch.Tensor, data_shape: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse of :func:`pack_pair`: (N, P) -> (x (N, *data_shape), z (N, P - prod(data_shape)))."""
    size = math.prod(data_shape)
    return pair[:, :size].reshape(pair.shape[0], *data_shape), pair[:, size:]


class MLPEncoder(nn.Module):
    """E: x (N, *in_shape) -> z (N, latent_dim), a LeakyReLU (0.2) MLP.

    ``output="linear"`` for an unbounded prior (z ~ N(0, I)); ``"tanh"`` for z ~ U(-1, 1)^d, so that E(x)
    lies in the prior's support and D cannot tell the pairs apart by |z| > 1 alone.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        latent_dim: int,
        hidden: Sequence[int] = (512, 256),
        output: EncoderOutput = "linear",
    ) -> None:
        super().__init__()
        hidden = [int(h) for h in hidden]
        if not hidden or any(h <= 0 for h in hidden):
            raise LightgenError(f"MLPEncoder hidden sizes must be positive integers, at least one; got {hidden}")
        if output not in ("linear", "tanh"):
            raise LightgenError(f"unknown MLPEncoder output {output!r}; expected 'linear' or 'tanh'")
        self.in_shape = tuple(int(s) for s in in_shape)
        layers: list[nn.Module] = []
        width = math.prod(self.in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2, True)]
            width = h
        layers += [nn.Linear(width, latent_dim), nn.Tanh() if output == "tanh" else nn.Identity()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise LightgenError(f"MLPEncoder was built for inputs of shape {self.in_shape}; got {tuple(x.shape[1:])}")
        return self.net(x.flatten(1))
