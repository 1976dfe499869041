"""Masked linear layers and MADE's degree rule (Germain et al. 2015, "MADE: Masked Autoencoder for
Distribution Estimation", sec. 4, eq. 12-13), shared by MADE and the neural autoregressive net
(:mod:`lightgen.nets.made`), FVBN (:mod:`lightgen.nets.autoregressive`) and the IAF posterior
(:mod:`lightgen.nets.iaf`).

Every unit gets a degree. Input variable d has degree = its position (1..D) in the ordering; hidden
unit k gets m(k) in [1, D-1]. A connection into a hidden unit exists iff m_out >= m_in (eq. 12),
into an output iff d_out > m_in (eq. 13, strict). Output d then depends on the variables before d
only: the Jacobian d out / d in is strictly triangular in the ordering (autoregressive).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedLinear(nn.Linear):
    """nn.Linear whose weight (out, in) is multiplied by a fixed 0/1 mask (a buffer, saved with it)."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, mask: torch.Tensor | None = None
    ) -> None:
        super().__init__(in_features, out_features, bias)
        self.register_buffer("mask", torch.ones(out_features, in_features))
        if mask is not None:
            self.set_mask(mask)

    def set_mask(self, mask: torch.Tensor) -> None:
        """Set the (out, in) 0/1 mask."""
        if tuple(mask.shape) != tuple(self.weight.shape):
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not fit weight {tuple(self.weight.shape)}")
        self.mask.copy_(mask.to(self.mask.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def input_degrees(order: torch.Tensor) -> torch.Tensor:
    """Degrees (D,) of the input variables for an ordering: ``order[t]`` is the variable drawn at
    step t, so variable ``order[t]`` gets degree t + 1."""
    order = order.long()
    deg = torch.empty_like(order)
    deg[order] = torch.arange(1, len(order) + 1, device=order.device)
    return deg


def mask_from_degrees(deg_in: torch.Tensor, deg_out: torch.Tensor, strict: bool) -> torch.Tensor:
    """The (out, in) mask: 1 where deg_out > deg_in (strict: outputs, eq. 13) or >= (hidden, eq. 12)."""
    d_out, d_in = deg_out.long()[:, None], deg_in.long()[None, :]
    return ((d_out > d_in) if strict else (d_out >= d_in)).float()


def hidden_degrees(
    size: int, num_inputs: int, low: int = 1, generator: torch.Generator | None = None, random: bool = True
) -> torch.Tensor:
    """Degrees (size,) of one hidden layer: uniform in [low, D-1] (MADE sec. 4.1), or cycled evenly.

    With D = 1 no unit can feed an output: the units get degree 1 and the strict output mask cuts them.
    """
    high = max(num_inputs - 1, 1)
    low = min(low, high)
    if random:
        return torch.randint(low, high + 1, (size,), generator=generator)
    return torch.arange(size) % (high - low + 1) + low
