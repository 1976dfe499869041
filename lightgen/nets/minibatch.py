"""Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 3.2).

D sees each example together with its similarity to the rest of the minibatch, so a generator that
collapses to a few points is easy to tell apart: the features f(x_i) in R^A are multiplied by a learned
tensor T in R^{A x B x C}, giving B rows M_{i,b} in R^C per example; each row is compared with the same
row of every example in the batch, c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1), and
o(x_i)_b = sum_j c_b(x_i, x_j) (the sum runs over the whole minibatch, j = i included, as in the paper,
which adds the constant 1). The layer outputs [f(x_i), o(x_i)] in R^{A+B} for D's next layer.
"""

from __future__ import annotations

import torch
from torch import nn

from lightgen.errors import LightgenError


class MinibatchDiscrimination(nn.Module):
    """(N, A) features -> (N, A + B): the features with their B minibatch similarities appended.

    Args:
        in_features: A.
        num_kernels: B, the number of similarity rows.
        kernel_dim: C, the dimension each row is compared in (the paper's experiments used B=100, C=5).
    """

    def __init__(self, in_features: int, num_kernels: int = 100, kernel_dim: int = 5) -> None:
        super().__init__()
        if in_features < 1 or num_kernels < 1 or kernel_dim < 1:
            raise LightgenError(
                "minibatch discrimination needs positive sizes; got "
                f"in_features={in_features}, num_kernels={num_kernels}, kernel_dim={kernel_dim}"
            )
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) * 0.1)
        self.out_features = in_features + num_kernels

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.T).view(-1, self.num_kernels, self.kernel_dim).transpose(0, 1)  # (B, N, C)
        l1 = torch.cdist(m, m, p=1)  # (B, N, N): ||M_{i,b} - M_{j,b}||_1, without an (N, N, B, C) tensor
        o = torch.exp(-l1).sum(2).t()  # (N, B): sum over j
        return torch.cat([f, o], dim=1)
