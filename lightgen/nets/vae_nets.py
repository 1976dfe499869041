"""Encoders and decoders of the VAE family (Kingma & Welling 2013, appendix C; Burda et al. 2015,
"Importance Weighted Autoencoders", sec. 5 and appendix A).

Burda et al.'s MNIST architectures: one stochastic layer 784-200-200-50 (two deterministic tanh
layers of 200 units, then a Gaussian of 50 units), and for two stochastic layers 784-200-200-100
then 100-100-100-50; the generative nets mirror them. A Gaussian head outputs (mean, log variance);
an image decoder outputs ``params`` numbers per pixel (1 logit for Bernoulli, mean and log scale for
Gaussian / discretized logistic). Inputs may carry leading sample dimensions: (..., in_dim).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from lightgen.errors import LightgenError


def mlp(in_dim: int, hidden: Sequence[int], activation: type[nn.Module] = nn.Tanh) -> tuple[nn.Sequential, int]:
    """Linear+activation layers of the given widths; returns the net and its output width."""
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        if int(h) <= 0:
            raise LightgenError(f"hidden sizes must be positive integers; got {list(hidden)}")
        layers += [nn.Linear(width, int(h)), activation()]
        width = int(h)
    return nn.Sequential(*layers), width


class GaussianHeads(nn.Module):
    """A ``body`` net followed by two linear heads: (mean, log_var) each (..., out_dim), and h (..., H)."""

    def __init__(self, body: nn.Module, width: int, out_dim: int) -> None:
        super().__init__()
        self.body = body
        self.mean = nn.Linear(width, out_dim)
        self.log_var = nn.Linear(width, out_dim)
        self.hidden_dim = width

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mean(h), self.log_var(h), h


class GaussianMLP(GaussianHeads):
    """x (..., in_dim) -> (mean, log_var) each (..., out_dim), and the last hidden layer h (..., H).

    Used for q(z|x), q(z2|z1) and p(z1|z2). h is the context that IAF steps read (Kingma et al. 2016).
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, activation: type[nn.Module] = nn.Tanh) -> None:
        super().__init__(*mlp(in_dim, hidden, activation), out_dim)


class MLPImageDecoder(nn.Module):
    """z (..., latent_dim) -> pixel parameters (..., params, C, H, W)."""

    def __init__(
        self,
        latent_dim: int,
        hidden: Sequence[int],
        data_shape: Sequence[int],
        params: int = 1,
        activation: type[nn.Module] = nn.Tanh,
    ) -> None:
        super().__init__()
        self.data_shape, self.params = tuple(data_shape), params
        body, width = mlp(latent_dim, hidden, activation)
        self.net = nn.Sequential(body, nn.Linear(width, params * math.prod(self.data_shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).unflatten(-1, (self.params, *self.data_shape))


class ConvEncoder(GaussianHeads):
    """Images (B, C, H, W) -> (mean, log_var) (B, latent_dim) and h (B, hidden); H, W divisible by 4.

    Two stride-2 4x4 convolutions (32, 64 channels, ELU), then a dense layer of ``hidden`` units.
    """

    def __init__(self, data_shape: Sequence[int], latent_dim: int, hidden: int = 256, width: int = 32) -> None:
        c, h, w = (int(s) for s in data_shape)
        if h % 4 or w % 4:
            raise LightgenError(f"the conv VAE needs image sides divisible by 4; got {tuple(data_shape)}")
        body = nn.Sequential(
            nn.Conv2d(c, width, 4, 2, 1),
            nn.ELU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1),
            nn.ELU(),
            nn.Flatten(),
            nn.Linear(2 * width * (h // 4) * (w // 4), hidden),
            nn.ELU(),
        )
        super().__init__(body, hidden, latent_dim)


class ConvImageDecoder(nn.Module):
    """z (..., latent_dim) -> pixel parameters (..., params, C, H, W): dense to a (2w, H/4, W/4) map,
    then two stride-2 transposed convolutions (the mirror of :class:`ConvEncoder`)."""

    def __init__(
        self, latent_dim: int, data_shape: Sequence[int], params: int = 1, hidden: int = 256, width: int = 32
    ) -> None:
        super().__init__()
        c, h, w = (int(s) for s in data_shape)
        if h % 4 or w % 4:
            raise LightgenError(f"the conv VAE needs image sides divisible by 4; got {tuple(data_shape)}")
        self.data_shape, self.params = (c, h, w), params
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.ELU(),
            nn.Linear(hidden, 2 * width * (h // 4) * (w // 4)),
            nn.ELU(),
            nn.Unflatten(1, (2 * width, h // 4, w // 4)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
            nn.ELU(),
            nn.ConvTranspose2d(width, params * c, 4, 2, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        lead = z.shape[:-1]
        out = self.net(z.reshape(-1, z.shape[-1]))  # (N, params*C, H, W)
        return out.reshape(*lead, self.params, *self.data_shape)
