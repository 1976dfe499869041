"""CycleGAN's reconstruction terms (Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks"): pure functions of tensors, each a mean absolute error.

Cycle consistency (eq. 2), for G: X -> Y and F: Y -> X::

    L_cyc(G, F) = E_x ||F(G(x)) - x||_1 + E_y ||G(F(y)) - y||_1

The identity-mapping term (sec. 5.2, "Photo generation from paintings", after Taigman et al. 2017)::

    L_idt(G, F) = E_y ||G(y) - y||_1 + E_x ||F(x) - x||_1

"E ||.||_1" is the mean over pixels, as in the authors' code (``torch.nn.L1Loss``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lightgen.losses.gan import LossDict

Translator = Callable[[torch.Tensor], torch.Tensor]


def cycle_consistency_loss(original: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """One half of eq. 2: mean |F(G(x)) - x| for ``reconstruction`` = F(G(x)) of ``original`` = x."""
    return (reconstruction - original).abs().mean()


def identity_loss(image: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """One half of the identity term (sec. 5.2): mean |G(y) - y| for ``mapped`` = G(y) of ``image`` = y
    (an image already of G's target domain should pass through G unchanged)."""
    return (mapped - image).abs().mean()


def cycle_losses(a: torch.Tensor, b: torch.Tensor, g_ab: Translator, g_ba: Translator) -> LossDict:
    """Eq. 2 for the two generators: ``cycle_a`` = mean |G_BA(G_AB(a)) - a|, ``cycle_b`` = mean
    |G_AB(G_BA(b)) - b|, ``loss`` their sum (unweighted: the model multiplies by lambda)."""
    cycle_a = cycle_consistency_loss(a, g_ba(g_ab(a)))
    cycle_b = cycle_consistency_loss(b, g_ab(g_ba(b)))
    return {"loss": cycle_a + cycle_b, "cycle_a": cycle_a, "cycle_b": cycle_b}
