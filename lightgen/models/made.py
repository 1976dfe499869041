"""MADE, the Masked Autoencoder for Distribution Estimation (Germain, Gregor, Murray & Larochelle 2015).

An MLP whose weights are masked (:mod:`lightgen.nets.masked`, eq. 12-13) so output d depends only
on the inputs before d in an ordering; ``log p(x) = sum_d log p(x_d | x_<d)`` in one pass.

Order- and connectivity-agnostic training (sec. 4.2): the model holds ``num_masks`` fixed masks,
mask m drawn from seed ``(mask_seed, m)`` (an ordering, unless ``resample="connectivity"``, and
the hidden degrees); every training step uses one of them, drawn uniformly. The model evaluated
is the ensemble of the masks (sec. 4.3): ``p(x) = (1/M) sum_m p_m(x)``, computed as a log-mean-exp,
and it is also what :meth:`MADE.sample` draws from (pick m uniformly, then sample in m's order).
Paper settings on binarized MNIST: one or two hidden layers of 500 ReLU units, 32 masks.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from lightgen.losses.likelihood import Distribution, log_prob_from_params
from lightgen.models.autoregressive import AutoregressiveModel
from lightgen.models.base import mix_seed
from lightgen.nets.made import MADENet


class MADE(AutoregressiveModel):
    """Masked MLP with order-agnostic training and mask-ensemble evaluation.

    Args:
        data_shape: shape of one example (linked from the datamodule).
        hidden_sizes: widths of the hidden layers.
        num_masks: M, the fixed masks trained (1: a single ordering and connectivity).
        resample: what differs between masks: "order_and_connectivity" or "connectivity" (natural order).
        mask_seed: seed of the masks.
        activation: hidden nonlinearity (ReLU in the paper).
        direct: direct input-to-output connections.
        distribution: "bernoulli", "categorical" (inputs level / (k-1)) or "gaussian".
        **kwargs: num_levels, lr, optimizer of :class:`AutoregressiveModel`.
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        hidden_sizes: tuple[int, ...] = (500,),
        num_masks: int = 1,
        resample: Literal["order_and_connectivity", "connectivity"] = "order_and_connectivity",
        mask_seed: int = 0,
        activation: Literal["relu", "tanh", "sigmoid", "elu"] = "relu",
        direct: bool = False,
        distribution: Distribution = "bernoulli",
        **kwargs: Any,
    ) -> None:
        super().__init__(data_shape, distribution=distribution, **kwargs)
        self.check_positive(hidden_sizes=hidden_sizes, num_masks=num_masks)
        self.num_masks = num_masks
        self.net = MADENet(self.num_dims, hidden_sizes, 1, self.num_params, activation, "random", direct)
        self._mask: int | None = None
        self.use_mask(0)
        self.register_load_state_dict_post_hook(self._forget_mask)

    # ------------------------------------------------------------------ masks
    def use_mask(self, m: int) -> None:
        """Set the network's masks to mask ``m`` (an ordering and hidden degrees from its seed)."""
        if m == self._mask:
            return
        gen = torch.Generator().manual_seed(mix_seed(self.hparams.mask_seed, m))
        if self.hparams.resample == "order_and_connectivity":
            order = torch.randperm(self.num_dims, generator=gen)
        else:
            order = torch.arange(self.num_dims)
        self.net.set_masks(order, seed=int(torch.randint(0, 2**62, (1,), generator=gen)))
        self._mask = m

    def _forget_mask(self, module: torch.nn.Module, incompatible_keys: Any) -> None:
        """After any load_state_dict the mask buffers may hold any mask: rebuild before the next use."""
        self._mask = None

    def ordering(self) -> torch.Tensor:
        return self.net.order.to(self.device)

    def conditionals(self, x: torch.Tensor) -> torch.Tensor:
        """Conditionals under the current mask (in its ordering)."""
        return self.net(x)

    # ------------------------------------------------------------------ likelihoods
    def mask_log_prob(self, x: torch.Tensor, m: int) -> torch.Tensor:
        """``log p_m(x)`` under mask m: x (B, *data_shape) -> (B,)."""
        self.use_mask(m)
        xf = self.flat(x)
        return log_prob_from_params(self.net(xf), xf, self.distribution)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """The ensemble ``log (1/M) sum_m p_m(x)``, exact: x (B, *data_shape) -> (B,)."""
        per_mask = torch.stack([self.mask_log_prob(x, m) for m in range(self.num_masks)])  # (M, B)
        return torch.logsumexp(per_mask, dim=0) - math.log(self.num_masks)

    def training_mask(self, step: int) -> int:
        """The mask trained at optimizer step ``step``: uniform over the M masks, keyed by the step in
        the model's stream, so it is the same on every rank and after a resume."""
        if self.num_masks == 1:
            return 0
        return int(torch.randint(0, self.num_masks, (1,), generator=self.random_stream(step, 7)))

    def training_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p_m(x)`` for the mask m of this step (order-agnostic training, sec. 4.2)."""
        return self.mask_log_prob(x, self.training_mask(self.global_step))

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Draw from the ensemble: a mask per sample, uniformly, then ancestral sampling in its order."""
        gen = self.make_generator(seed)
        masks = torch.randint(0, self.num_masks, (n,), generator=gen, device=self.device)
        out = torch.zeros(n, self.num_dims, device=self.device, dtype=self.dtype)
        for m in range(self.num_masks):
            rows = (masks == m).nonzero().squeeze(-1)
            if len(rows):
                self.use_mask(m)
                # each mask's group gets its own seed from the stream, so the draw is reproducible
                sub_seed = None if gen is None else int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device))
                out[rows] = super().sample(len(rows), sub_seed).view(len(rows), -1)
        return out.view(n, *self.data_shape)
