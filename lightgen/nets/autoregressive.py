"""Networks of the fully visible autoregressive models: FVBN/LARN, the neural autoregressive
network (Bengio & Bengio 2000) and NADE (Larochelle & Murray 2011). Plain torch, no lightning.

Every network maps flat inputs x (B, D) (encoded by the model: values, or one-hot (B, D*k)) to
the parameters of all D conditionals (B, D, P); output i depends only on x_<i (raster order).

- :class:`LinearAutoregressiveNet` (FVBN / LARN; Frey 1998, Goodfellow et al. 2016 sec. 20.10.8):
  each conditional is a linear model of the previous variables, ``params_i = b_i + sum_{j<i} W_ij x_j``
  with W strictly lower triangular: O(D^2 P) parameters. With P = 1 and a sigmoid this is logistic
  regression (the FVSBN), with P = k and a softmax it is softmax regression; the linear-Gaussian
  case keeps one log standard deviation per variable.
- :class:`NeuralAutoregressiveNet` (Bengio & Bengio 2000; Goodfellow et al. sec. 20.10.9): hidden
  group j (``hidden_per_variable`` units) sees x_<=j, and output i sees the groups j < i, so the
  features computed for x_j are reused by every later conditional: the left-to-right connectivity
  of the D separate networks merged into one. Plus direct input-to-output connections.
- :class:`NADENet` (Larochelle & Murray 2011): one weight matrix shared by all conditionals
  (W'_{j,k,i} = W_{k,i}), so ``a_i = c + W[:, <i] x_<i`` is a running sum (eq. 3-4):
  ``h_i = sigm(a_i)``, ``p(x_i = 1 | x_<i) = sigm(b_i + V_i . h_i)``. All D conditionals cost O(DH).
  With P = 3C outputs and an activation scale per conditional it is RNADE (Uria et al. 2013).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lightgen.nets.made import MADENet
from lightgen.nets.masked import MaskedLinear, input_degrees, mask_from_degrees


class LinearAutoregressiveNet(nn.Module):
    """FVBN / LARN: x (B, D) -> (B, D, P) with ``params[:, i] = b_i + W_i,<i x_<i``.

    Args:
        num_inputs: D.
        out_per_input: P (1: logits, k: softmax logits).
        log_std: also return a per-variable, input-independent log std (linear-Gaussian, P = 2).
    """

    def __init__(self, num_inputs: int, out_per_input: int = 1, log_std: bool = False) -> None:
        super().__init__()
        self.num_inputs, self.out_per_input = num_inputs, out_per_input
        self.linear = MaskedLinear(num_inputs, num_inputs * out_per_input)
        nn.init.zeros_(self.linear.weight)  # start at the independent model of the biases
        deg = input_degrees(torch.arange(num_inputs))
        self.linear.set_mask(mask_from_degrees(deg, deg.repeat_interleave(out_per_input), strict=True))
        self.log_std = nn.Parameter(torch.zeros(num_inputs)) if log_std else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = self.linear(x).view(x.shape[0], self.num_inputs, self.out_per_input)
        if self.log_std is not None:
            params = torch.cat([params, self.log_std.expand(x.shape[0], -1).unsqueeze(-1)], dim=-1)
        return params


class NeuralAutoregressiveNet(MADENet):
    """Bengio & Bengio 2000: grouped hidden units with left-to-right connectivity, one network.

    Hidden group j (j = 1..D-1, ``hidden_per_variable`` units) has degree j, so it sees the inputs of
    x_1..x_j; output i (degree i) sees groups j < i and, directly, inputs j < i.

    Args:
        num_inputs: D.
        hidden_per_variable: units per group.
        in_per_input: 1 for scalar inputs, k for one-hot discrete inputs ((i-1) x k inputs feed conditional i).
        out_per_input: P, outputs per conditional (k for a softmax over k values).
    """

    def __init__(
        self, num_inputs: int, hidden_per_variable: int = 1, in_per_input: int = 1, out_per_input: int = 1
    ) -> None:
        groups = max(num_inputs - 1, 1)
        super().__init__(
            num_inputs, (groups * hidden_per_variable,), in_per_input, out_per_input, activation="tanh", direct=True
        )
        degrees = torch.arange(1, groups + 1).repeat_interleave(hidden_per_variable)
        if num_inputs == 1:
            degrees = torch.ones_like(degrees)  # no conditional to feed
        self.group_degrees = degrees
        self.set_masks(hidden=[degrees])

    def set_masks(
        self,
        order: torch.Tensor | None = None,
        seed: int | None = None,
        hidden: Sequence[torch.Tensor] | None = None,
    ) -> None:
        """As :meth:`MADENet.set_masks`, but the hidden degrees are always the group degrees (once
        they exist): the group structure is the model, not a random connectivity."""
        if hidden is None and hasattr(self, "group_degrees"):
            hidden = [self.group_degrees]
        super().set_masks(order, seed, hidden)


class NADENet(nn.Module):
    """NADE: x (B, D) -> parameters (B, D, P) of every p(x_i | x_<i), one shared W (eq. 3-4).

    P = 1 (a logit) for binary visible units; P = 3C (mixture logits, means, log stds) for RNADE's
    mixture-of-Gaussians conditionals (Uria, Murray & Larochelle 2013, eq. 3-6), which also scale
    each conditional's pre-activation by a learnt ``rho_i``: ``h_i = sigm(rho_i a_i)``.

    Args:
        num_inputs: D.
        hidden: H, the hidden units (500 in Larochelle & Murray's MNIST experiments).
        out_per_input: P, parameters per conditional.
        scale_activations: learn RNADE's per-conditional activation scale rho_i (init 1).
        block: variables per block of the one-pass computation (a speed knob, not a model choice).
    """

    def __init__(
        self,
        num_inputs: int,
        hidden: int = 500,
        out_per_input: int = 1,
        scale_activations: bool = False,
        block: int = 28,
    ) -> None:
        super().__init__()
        if min(num_inputs, hidden, out_per_input, block) < 1:
            raise ValueError(
                f"NADENet needs positive sizes; got D={num_inputs}, H={hidden}, P={out_per_input}, block={block}"
            )
        self.num_inputs, self.hidden, self.out_per_input, self.block = num_inputs, hidden, out_per_input, block
        self.W = nn.Parameter(torch.randn(hidden, num_inputs) * 0.01)  # (H, D), shared by all conditionals
        self.c = nn.Parameter(torch.zeros(hidden))  # (H,)
        self.V = nn.Parameter(torch.randn(num_inputs, out_per_input, hidden) * 0.01)  # (D, P, H)
        self.b = nn.Parameter(torch.zeros(num_inputs, out_per_input))  # (D, P)
        self.rho = nn.Parameter(torch.ones(num_inputs)) if scale_activations else None  # (D,)

    def _hidden(self, a: torch.Tensor, first: int) -> torch.Tensor:
        """h = sigm(rho_i a_i) for pre-activations a (..., w, H) of conditionals first..first+w-1."""
        if self.rho is not None:
            a = a * self.rho[first : first + a.shape[-2], None]
        return torch.sigmoid(a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """All D conditionals in one pass, linear in D: the running sum ``a_i = c + sum_{j<i} W[:, j] x_j``.

        The sum is carried across blocks of ``block`` variables; inside a block the exclusive prefix
        sums are one small batched matmul with a strictly lower-triangular mask, so the (B, block, H)
        working set stays in cache (about 5x faster on a CPU than one (B, D, H) cumulative sum) while
        the cost stays linear in D: O(B D H block) multiply-adds with a fixed block.
        """
        n, d = x.shape
        tri = torch.ones(self.block, self.block, device=x.device, dtype=x.dtype).tril(-1)  # [i, j] = 1[j < i]
        a_start = self.c.expand(n, -1)  # (B, H): c + W[:, <s] x_<s at the block's start s
        out = []
        for s in range(0, d, self.block):
            xb, wb = x[:, s : s + self.block], self.W[:, s : s + self.block]  # (B, w), (H, w)
            w = xb.shape[1]
            a = a_start.unsqueeze(1) + torch.matmul(xb.unsqueeze(1) * tri[:w, :w], wb.t())  # (B, w, H)
            out.append(torch.einsum("nih,iph->nip", self._hidden(a, s), self.V[s : s + w]))  # (B, w, P)
            a_start = a_start + xb @ wb.t()
        return torch.cat(out, dim=1) + self.b  # (B, D, P)

    def forward_naive(self, x: torch.Tensor) -> torch.Tensor:
        """The same parameters, one conditional at a time with no reuse: O(B D^2 H). For tests and timing."""
        out = []
        for i in range(self.num_inputs):
            a = self.c + x[:, :i] @ self.W[:, :i].t()  # (B, H)
            out.append(self._hidden(a.unsqueeze(1), i)[:, 0] @ self.V[i].t() + self.b[i])  # (B, P)
        return torch.stack(out, dim=1)

    @torch.no_grad()
    def sample(self, n: int, draw: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Ancestral sampling with the running activation cached (eq. 4): O(DH) per sample.

        ``draw`` maps the parameters (n, P) of one conditional to n values (the model's family).
        """
        x = torch.zeros(n, self.num_inputs, device=self.W.device, dtype=self.W.dtype)
        a = self.c.expand(n, -1).clone()  # (n, H)
        for i in range(self.num_inputs):
            x[:, i] = draw(self._hidden(a.unsqueeze(1), i)[:, 0] @ self.V[i].t() + self.b[i])
            a += x[:, i : i + 1] * self.W[:, i]
        return x


def one_hot_inputs(levels: torch.Tensor, num_levels: int) -> torch.Tensor:
    """Integer levels (B, D) -> one-hot inputs (B, D*k), variable-major."""
    return F.one_hot(levels, num_levels).flatten(1).float()
