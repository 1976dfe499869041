"""NADE, the Neural Autoregressive Distribution Estimator (Larochelle & Murray 2011), and RNADE.

Binary visible units, or real-valued ones with mixture-of-Gaussians conditionals (RNADE, Uria,
Murray & Larochelle 2013). Every conditional has its own hidden layer, but all share one weight
matrix (W'_{j,k,i} = W_{k,i}), so the pre-activations are running sums (eq. 3-4):

    a_1 = c,   a_{i+1} = a_i + W[:, i] x_i,   h_i = sigm(a_i),
    p(x_i = 1 | x_<i) = sigm(b_i + V_i . h_i)

which gives the exact ``log p(x)`` in one O(DH) pass and ancestral sampling with the running
activation cached (O(DH) per sample, :meth:`NADE.sample`) instead of a full pass per variable
(O(D^2 H), :meth:`NADE.sample_uncached`). Paper settings: H = 500, raster order.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from lightgen.models.autoregressive import AutoregressiveModel
from lightgen.nets.autoregressive import NADENet


class NADE(AutoregressiveModel):
    """NADE with binary visible units, or RNADE with real-valued ones.

    Args:
        data_shape: shape of one example (linked from the datamodule).
        hidden: H, hidden units (500 in the paper).
        distribution: "bernoulli" (NADE) or "gaussian_mixture" (RNADE: ``num_components``
            Gaussians per conditional, and a learnt activation scale rho_i per conditional).
        **kwargs: num_components, lr, optimizer of :class:`AutoregressiveModel`.
    """

    supported = ("bernoulli", "gaussian_mixture")

    def __init__(
        self,
        data_shape: tuple[int, ...],
        hidden: int = 500,
        distribution: Literal["bernoulli", "gaussian_mixture"] = "bernoulli",
        **kwargs: Any,
    ) -> None:
        super().__init__(data_shape, distribution=distribution, **kwargs)
        self.check_positive(hidden=hidden)
        rnade = distribution == "gaussian_mixture"
        self.net = NADENet(self.num_dims, hidden, self.num_params, scale_activations=rnade)

    def conditionals(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def conditionals_naive(self, x: torch.Tensor) -> torch.Tensor:
        """The same (B, D, P) parameters by a per-conditional loop without the running sum (tests, timing)."""
        return self.net.forward_naive(x)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Ancestral sampling with cached running activations: O(DH) per sample."""
        gen = self.make_generator(seed)
        return self.net.sample(n, lambda params: self.draw(params, gen)).view(n, *self.data_shape)

    def sample_uncached(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Ancestral sampling by a full network pass per variable (the generic rule): O(D^2 H)."""
        return super().sample(n, seed)
