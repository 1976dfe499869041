"""A linear-Gaussian latent model with closed-form posterior and marginal, for exact bound tests.

z ~ N(0, I_d), x | z ~ N(W z + b, s^2 I_D). Then (Bishop, PRML eq. 12.35 and 12.42):
    p(x)   = N(b, W W^T + s^2 I)
    p(z|x) = N(S W^T (x - b) / s^2, S),  S = (I + W^T W / s^2)^-1
With q = p(z|x) every importance weight equals p(x): L_k = log p(x) for every k and every draw.
"""

from __future__ import annotations

import math

import torch


class LinearGaussian:
    def __init__(self, d: int = 2, D: int = 3, s: float = 0.5, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.W = torch.randn(D, d, generator=gen, dtype=torch.float64)
        self.b = torch.randn(D, generator=gen, dtype=torch.float64)
        self.s, self.d, self.D = s, d, D
        self.S = torch.linalg.inv(torch.eye(d, dtype=torch.float64) + self.W.T @ self.W / s**2)

    def sample_x(self, n: int, seed: int = 1) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.d, generator=gen, dtype=torch.float64)
        return z @ self.W.T + self.b + self.s * torch.randn(n, self.D, generator=gen, dtype=torch.float64)

    def log_px(self, x: torch.Tensor) -> torch.Tensor:
        cov = self.W @ self.W.T + self.s**2 * torch.eye(self.D, dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean (n, d) and covariance (d, d) of p(z|x)."""
        return (x - self.b) @ self.W @ self.S.T / self.s**2, self.S

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x, z) for z (k, n, d), x (n, D) -> (k, n)."""
        mean = z @ self.W.T + self.b
        log_px_z = (-0.5 * (math.log(2 * math.pi * self.s**2) + (x - mean) ** 2 / self.s**2)).sum(-1)
        return log_px_z + (-0.5 * (math.log(2 * math.pi) + z**2)).sum(-1)
