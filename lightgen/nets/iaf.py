"""Inverse autoregressive flow (Kingma et al. 2016, "Improved Variational Inference with Inverse
Autoregressive Flow", sec. 4 and Algorithm 1).

Starting from z_0 = mu + sigma * eps of a diagonal Gaussian q(z_0|x), each step t computes, with an
autoregressive (MADE) network of z_{t-1} and the encoder context h,

    [m_t, s_t] = AutoregressiveNN_t(z_{t-1}, h)
    sigma_t    = sigmoid(s_t)                                                  (eq. 14, the LSTM-type update)
    z_t        = sigma_t * z_{t-1} + (1 - sigma_t) * m_t
    log q(z_t|x) = log q(z_{t-1}|x) - sum_i log sigma_{t,i}                     (eq. 15)

Because m_t, s_t at dimension i depend on z_{t-1, <i} only, dz_t/dz_{t-1} is triangular with
diagonal sigma_t, hence the log-determinant sum log sigma_t. Successive steps reverse the order of
the variables so every dimension can depend on every other after two steps. s_t starts near +1.5
(a forget-gate-like bias), so each step starts close to the identity, as the paper advises.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.masked import MaskedLinear, hidden_degrees, input_degrees, mask_from_degrees


class ContextMADE(nn.Module):
    """An autoregressive MLP with a context: z (..., D), h (..., C) -> (..., 2, D), output [..., j, d]
    depending on z[..., :d] and on h only (MADE eq. 12-13). h is not one of the autoregressive variables
    (IAF sec. 4): it enters the first hidden layer and the outputs unmasked, so even the first variable's
    m and s depend on x. ELU hidden units."""

    def __init__(self, dim: int, hidden: int, context_dim: int = 0, outputs_per_dim: int = 2) -> None:
        super().__init__()
        self.dim, self.outputs_per_dim = dim, outputs_per_dim
        deg_in = input_degrees(torch.arange(dim))
        deg_h = hidden_degrees(hidden, dim, random=False)  # deterministic: rebuilt identically from hparams
        deg_out = deg_in.repeat(outputs_per_dim)  # block j of D outputs: parameter j of each variable
        self.l1 = MaskedLinear(dim, hidden, mask=mask_from_degrees(deg_in, deg_h, strict=False))
        self.l2 = MaskedLinear(hidden, hidden, mask=mask_from_degrees(deg_h, deg_h, strict=False))
        self.l3 = MaskedLinear(hidden, dim * outputs_per_dim, mask=mask_from_degrees(deg_h, deg_out, strict=True))
        self.context = nn.Linear(context_dim, hidden) if context_dim else None
        self.context_out = nn.Linear(context_dim, dim * outputs_per_dim, bias=False) if context_dim else None
        self.act = nn.ELU()

    def forward(self, z: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        h = self.l1(z)
        use_context = self.context is not None and context is not None
        if use_context:
            h = h + self.context(context)
        h = self.act(self.l2(self.act(h)))
        out = self.l3(self.act(h))
        if use_context:
            out = out + self.context_out(context)
        return out.unflatten(-1, (self.outputs_per_dim, self.dim))


class IAFStep(nn.Module):
    """One IAF step: z (..., D), context (..., C) -> (z', log_det (...,)) with log_det = sum log sigma."""

    def __init__(self, dim: int, hidden: int = 100, context_dim: int = 0, reverse: bool = False) -> None:
        super().__init__()
        self.reverse = reverse
        self.made = ContextMADE(dim, hidden, context_dim)
        with torch.no_grad():  # start near the identity: sigma ~ sigmoid(1.5) ~ 0.82, small m
            last = self.made.l3
            last.weight.mul_(0.01)
            last.bias.zero_()
            last.bias[dim:].fill_(1.5)
            if self.made.context_out is not None:
                self.made.context_out.weight.mul_(0.01)

    def forward(self, z: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.reverse:
            z = z.flip(-1)
        out = self.made(z, context)  # (..., 2, D)
        m, s = out[..., 0, :], out[..., 1, :]
        sigma = torch.sigmoid(s)
        z_new = sigma * z + (1.0 - sigma) * m  # eq. 14
        log_det = F.logsigmoid(s).sum(-1)  # log |det dz_new/dz| = sum log sigma  (eq. 15)
        if self.reverse:
            z_new = z_new.flip(-1)
        return z_new, log_det


class IAF(nn.Module):
    """A chain of ``steps`` IAF steps with alternating variable order: (z_0, h) -> (z_T, sum log_det)."""

    def __init__(self, dim: int, steps: int = 2, hidden: int = 100, context_dim: int = 0) -> None:
        super().__init__()
        if min(dim, steps, hidden) < 1 or context_dim < 0:
            raise LightgenError(
                f"IAF needs dim, steps, hidden >= 1 and context_dim >= 0; got {dim}, {steps}, {hidden}, {context_dim}"
            )
        self.steps = nn.ModuleList(IAFStep(dim, hidden, context_dim, reverse=bool(t % 2)) for t in range(steps))

    def forward(self, z: torch.Tensor, context: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        total = torch.zeros(z.shape[:-1], dtype=z.dtype, device=z.device)
        for step in self.steps:
            z, log_det = step(z, context)
            total = total + log_det
        return z, total
