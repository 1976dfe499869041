"""The conditioning-augmentation regulariser of StackGAN (Zhang et al. 2017, sec. 3.1 and eq. 6).

KL(N(mu, diag(sigma^2)) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1), per example, summed
over the c_dim dimensions and averaged over the batch: the true KL of each example's Gaussian. The paper weights
it by lambda = 1 (sec. 4). The official code (hanzhanggit/StackGAN-Pytorch, ``miscc/utils.py KL_loss``) averages
over the dimensions instead of summing and weights it by ``TRAIN.COEFF.KL = 2.0``: its term is 2 / c_dim times
this one (``kl_weight = 2 / c_dim`` here reproduces it).
"""

from __future__ import annotations

import torch


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of KL(N(mu, exp(logvar)) || N(0, I)), mu and logvar (N, D); a scalar."""
    per_example = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=1)
    return per_example.mean()
