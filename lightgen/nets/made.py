"""MADE's degree/mask construction and a masked MLP for the autoregressive models
(Germain, Gregor, Murray & Larochelle 2015, sec. 4). Plain torch, no lightning.

MADE makes an MLP autoregressive by multiplying each weight matrix by a binary mask built from
*degrees*:

- input unit d has degree m^0(d) = its position in the ordering, in 1..D;
- hidden unit k of layer l has a degree m^l(k) in [min_k' m^{l-1}(k'), D - 1];
- hidden mask (eq. 12):   M^l[k, k'] = 1[m^l(k) >= m^{l-1}(k')];
- output mask (eq. 13):   M^V[d, k]  = 1[m^0(d) >  m^L(k)]   (strict: output d sees only x_<d).

Output d then depends only on the inputs before d in the ordering. With no hidden layer the
strict mask alone gives a linear autoregressive model (strictly lower triangular in the natural
order). Inputs and outputs may carry several units per variable (one-hot inputs, k logits or
(mean, scale) per output): they are laid out variable-major, unit ``i * per + j`` belongs to
variable ``i`` and shares its degree. The masked layer and the degree rule live in
:mod:`lightgen.nets.masked` (shared with the IAF); :class:`MADENet` can switch between orderings
and random connectivities, as order-agnostic training needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from lightgen.nets.masked import MaskedLinear, hidden_degrees, input_degrees, mask_from_degrees

HiddenDegrees = Literal["random", "cyclic"]
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU}


class MADENet(nn.Module):
    """A masked MLP: ``x (B, D*in_per_input) -> (B, D, out_per_input)``, output d sees only x_<d.

    Args:
        num_inputs: D, the number of variables.
        hidden_sizes: widths of the hidden layers (empty: a linear autoregressive model).
        in_per_input: input units per variable (1 for scalars, k for one-hot).
        out_per_input: output units per variable (1 logit, k logits, 2 for mean and log-scale).
        activation: hidden nonlinearity.
        hidden_kind: how hidden degrees are drawn ("random" as in MADE, "cyclic" as in IAF).
        direct: add direct input->output connections (a strictly masked linear layer), as in
            the neural autoregressive network of Bengio & Bengio 2000 and MADE's option.
        seed: seed of the first mask's hidden degrees (natural order).
    """

    def __init__(
        self,
        num_inputs: int,
        hidden_sizes: Sequence[int] = (500,),
        in_per_input: int = 1,
        out_per_input: int = 1,
        activation: Literal["relu", "tanh", "sigmoid", "elu"] = "relu",
        hidden_kind: HiddenDegrees = "random",
        direct: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if num_inputs < 1 or in_per_input < 1 or out_per_input < 1 or any(int(h) < 1 for h in hidden_sizes):
            raise ValueError(
                f"MADENet needs positive sizes; got D={num_inputs}, hidden={tuple(hidden_sizes)}, "
                f"in/out per input={in_per_input}/{out_per_input}"
            )
        self.num_inputs, self.in_per_input, self.out_per_input = num_inputs, in_per_input, out_per_input
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.hidden_kind = hidden_kind
        sizes = [num_inputs * in_per_input, *self.hidden_sizes]
        self.hidden = nn.ModuleList(MaskedLinear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = _ACTIVATIONS[activation]()
        self.out = MaskedLinear(sizes[-1], num_inputs * out_per_input)
        use_direct = direct and bool(self.hidden_sizes)
        self.direct = MaskedLinear(sizes[0], num_inputs * out_per_input, bias=False) if use_direct else None
        self.register_buffer("order", torch.arange(num_inputs))
        self.set_masks(seed=seed)

    @torch.no_grad()
    def set_masks(
        self,
        order: torch.Tensor | None = None,
        seed: int | None = None,
        hidden: Sequence[torch.Tensor] | None = None,
    ) -> None:
        """Rebuild every mask for ``order`` (variable indices first to last; default natural) with
        hidden degrees drawn from ``seed`` (or given as ``hidden``, one (size,) tensor per layer)."""
        order = torch.arange(self.num_inputs) if order is None else order.detach().cpu().long()
        gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        d_in = input_degrees(order)
        self.order.copy_(order)
        in_deg = d_in.repeat_interleave(self.in_per_input)
        prev = in_deg
        for i, layer in enumerate(self.hidden):
            if hidden is not None:
                deg = hidden[i].detach().cpu().long()
            else:
                low = int(prev.min())
                deg = hidden_degrees(self.hidden_sizes[i], self.num_inputs, low, gen, self.hidden_kind == "random")
            layer.set_mask(mask_from_degrees(prev, deg, strict=False))
            prev = deg
        out_deg = d_in.repeat_interleave(self.out_per_input)
        self.out.set_mask(mask_from_degrees(prev, out_deg, strict=True))
        if self.direct is not None:
            self.direct.set_mask(mask_from_degrees(in_deg, out_deg, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.hidden:
            h = self.act(layer(h))
        y = self.out(h)
        if self.direct is not None:
            y = y + self.direct(x)
        return y.view(x.shape[0], self.num_inputs, self.out_per_input)
