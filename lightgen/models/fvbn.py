"""Fully visible autoregressive models with no hidden features shared by all: FVBN / LARN and the
neural autoregressive network.

- :class:`FVBN` (Frey 1998; Goodfellow, Bengio & Courville 2016, sec. 20.10.8, "linear
  auto-regressive networks"): ``p(x_i | x_<i)`` is a linear model of x_<i, i.e. logistic
  regression (binary: the fully visible sigmoid belief net), softmax regression (k levels, inputs
  x_j = level / (k-1)) or linear-Gaussian regression (real values, one variance per variable).
  O(D^2) parameters (O(D^2 k) for softmax).
- :class:`NARN` (Bengio & Bengio 2000; sec. 20.10.9): a hidden group per variable, group j sees
  x_<=j and conditional i reads groups j < i, so the features of x_j are reused by all later
  conditionals; discrete variables enter one-hot ((i-1) x k inputs and k outputs per conditional).
"""

from __future__ import annotations

from typing import Any

import torch

from lightgen.losses.likelihood import Distribution, to_levels
from lightgen.models.autoregressive import AutoregressiveModel
from lightgen.nets.autoregressive import LinearAutoregressiveNet, NeuralAutoregressiveNet, one_hot_inputs


class FVBN(AutoregressiveModel):
    """Linear autoregressive network: logistic / softmax / linear-Gaussian regression per variable.

    Args:
        data_shape: shape of one example (linked from the datamodule).
        distribution: "bernoulli" (FVSBN), "categorical" (softmax regression) or "gaussian".
        **kwargs: num_levels, lr, optimizer of :class:`AutoregressiveModel`.
    """

    def __init__(self, data_shape: tuple[int, ...], distribution: Distribution = "bernoulli", **kwargs: Any) -> None:
        super().__init__(data_shape, distribution=distribution, **kwargs)
        gaussian = distribution == "gaussian"
        self.net = LinearAutoregressiveNet(self.num_dims, 1 if gaussian else self.num_params, log_std=gaussian)

    def conditionals(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # scalar inputs: {0, 1}, level / (k-1), or real values


class NARN(AutoregressiveModel):
    """Neural autoregressive network of Bengio & Bengio (2000), tanh hidden groups.

    Args:
        data_shape: shape of one example (linked from the datamodule).
        hidden_per_variable: hidden units in each variable's group.
        distribution: "bernoulli", "categorical" (one-hot inputs) or "gaussian".
        **kwargs: num_levels, lr, optimizer of :class:`AutoregressiveModel`.
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        hidden_per_variable: int = 1,
        distribution: Distribution = "bernoulli",
        **kwargs: Any,
    ) -> None:
        super().__init__(data_shape, distribution=distribution, **kwargs)
        self.check_positive(hidden_per_variable=hidden_per_variable)
        in_per = self.num_levels if distribution == "categorical" else 1
        self.net = NeuralAutoregressiveNet(self.num_dims, hidden_per_variable, in_per, self.num_params)

    def conditionals(self, x: torch.Tensor) -> torch.Tensor:
        if self.distribution == "categorical":
            x = one_hot_inputs(to_levels(x, self.num_levels), self.num_levels).to(x.dtype)
        return self.net(x)
