"""The training rule of every autoregressive model: exact maximum likelihood by the chain rule.

``log p(x) = sum_i log p(x_i | x_<i)`` is exact for FVBN, NARN, NADE, MADE and PixelCNN, so
one rule serves them all (Goodfellow, Bengio & Courville 2016, sec. 20.10.7-20.10.10): minimise
the mean ``-log p(x)`` with Adam under automatic optimization, log it in nats and in bits per
dimension (``nll / (D ln 2)``) for train / val / test. A model only says how it computes its
conditionals; the rest lives here:

    conditionals(x)  x (B, D) flat -> params (B, D, P) of every p(x_i | x_<i) (losses.likelihood)
    log_prob(x)      x (B, *data_shape) -> (B,) exact log p(x) in nats (default: from conditionals)
    training_log_prob(x)   what training maximises (MADE: one mask drawn per step)
    ordering()       the order in which :meth:`sample` draws variables (default: raster order)
    sample(n, seed)  ancestral sampling, one variable at a time: D network passes (NADE caches)

Data: a batch is ``(x, y)`` or ``x``, with x in [0, 1]: binary for "bernoulli", ``level/(k-1)``
for "categorical", real values for "gaussian".
"""

from __future__ import annotations

import math
from typing import Any

import torch
from lightning.pytorch.cli import OptimizerCallable

from lightgen.errors import LightgenError
from lightgen.losses.likelihood import (
    Distribution,
    log_prob_from_params,
    nll_terms,
    params_per_variable,
    sample_conditional,
)
from lightgen.models.base import GenerativeModel


class AutoregressiveModel(GenerativeModel):
    """Base of the autoregressive models: exact NLL, Adam, variable-by-variable sampling.

    Args:
        data_shape: shape of one example, linked from the datamodule by the CLI.
        distribution: family of each conditional: "bernoulli" (binary data), "categorical"
            (``num_levels`` levels), "gaussian" or "gaussian_mixture" (real values). Models name the
            ones they support (``supported``).
        num_levels: k, the levels of "categorical" data (256 for 8-bit images).
        num_components: C, the components of "gaussian_mixture" conditionals (RNADE).
        lr: Adam's learning rate (used when ``optimizer`` is None).
        optimizer: any optimizer, e.g. ``{class_path: torch.optim.SGD, init_args: {lr: 0.01}}``.
    """

    value_range = (0.0, 1.0)
    #: the conditional families a subclass supports
    supported: tuple[str, ...] = ("bernoulli", "categorical", "gaussian")

    def __init__(
        self,
        data_shape: tuple[int, ...],
        distribution: Distribution = "bernoulli",
        num_levels: int = 256,
        num_components: int = 5,
        lr: float = 1e-3,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(data_shape)
        if distribution not in self.supported:
            choices = ", ".join(map(repr, self.supported))
            raise LightgenError(f"{type(self).__name__} supports distribution {choices}; got {distribution!r}")
        if distribution == "categorical" and num_levels < 2:
            raise LightgenError(f"num_levels must be at least 2 for categorical data; got {num_levels}")
        if distribution == "gaussian_mixture" and num_components < 1:
            raise LightgenError(f"num_components must be at least 1 for a mixture; got {num_components}")
        if lr <= 0:
            raise LightgenError(f"lr must be positive; got {lr}")
        self.save_hyperparameters(ignore=["optimizer"])
        self.distribution = distribution
        self.num_levels = num_levels
        self.num_params = params_per_variable(distribution, num_levels, num_components)
        self.num_dims = math.prod(self.data_shape)
        self._optimizer_factory = optimizer

    @staticmethod
    def check_positive(**sizes: int) -> None:
        """One-line error for the first size that is not a positive integer (hidden units, layers...)."""
        for name, value in sizes.items():
            values = value if isinstance(value, (tuple, list)) else (value,)
            if any(int(v) < 1 for v in values):
                raise LightgenError(f"{name} must be positive integers; got {value!r}")

    # ------------------------------------------------------------------ what a model defines
    def conditionals(self, x: torch.Tensor) -> torch.Tensor:
        """Parameters of every conditional: x (B, D) -> (B, D, P); row i sees only x_<i."""
        raise NotImplementedError

    def ordering(self) -> torch.Tensor:
        """Variable indices in the order the model factorises p(x) (default: raster order)."""
        return torch.arange(self.num_dims, device=self.device)

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *data_shape) -> (B, D) in the model's dtype."""
        return x.reshape(x.shape[0], self.num_dims).to(self.dtype)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``log p(x)`` of each example, in nats: x (B, *data_shape) -> (B,)."""
        xf = self.flat(x)
        return log_prob_from_params(self.conditionals(xf), xf, self.distribution)

    def training_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """The log-likelihood training maximises (default: the exact :meth:`log_prob`)."""
        return self.log_prob(x)

    # ------------------------------------------------------------------ the training rule
    @staticmethod
    def data_from_batch(batch: Any) -> torch.Tensor:
        return batch[0] if isinstance(batch, (tuple, list)) else batch

    def _check_data(self, x: torch.Tensor) -> None:
        """Once per fit: binary data for "bernoulli", data in [0, 1] for "categorical"."""
        if self.distribution == "bernoulli" and not bool(((x == 0) | (x == 1)).all()):
            raise LightgenError(
                "bernoulli models need binary data in {0, 1}: set data.init_args.binarize to "
                "'dynamic' or 'threshold' and value_range to [0, 1]"
            )
        if self.distribution == "categorical" and not bool(((x >= 0) & (x <= 1)).all()):
            raise LightgenError("categorical models need data in [0, 1]: set data.init_args.value_range to [0, 1]")

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x = self.data_from_batch(batch)
        if batch_idx == 0 and self.current_epoch == 0:
            self._check_data(x)
        terms = nll_terms(self.training_log_prob(x), self.num_dims)
        self.log_dict({"train_nll": terms["nll"], "train_bpd": terms["bpd"]}, on_step=True, prog_bar=True)
        return terms["loss"]

    def _eval_step(self, batch: Any, stage: str) -> None:
        x = self.data_from_batch(batch)
        terms = nll_terms(self.log_prob(x), self.num_dims)
        # epoch means weighted by batch size: the exact mean NLL of the split
        self.log_dict(
            {f"{stage}_nll": terms["nll"], f"{stage}_bpd": terms["bpd"]},
            on_epoch=True,
            prog_bar=stage == "val",
            batch_size=x.shape[0],
            sync_dist=True,
        )

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def configure_optimizers(self) -> Any:
        if self._optimizer_factory is not None:
            return self._optimizer_factory(self.parameters())
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    # ------------------------------------------------------------------ sampling
    def draw(self, params: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """One value per row from conditionals ``params (B, P)``."""
        return sample_conditional(params, self.distribution, generator)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Ancestral sampling: x_i ~ p(x_i | x_<i) in :meth:`ordering`, one network pass per variable."""
        gen = self.make_generator(seed)
        was_training = self.training
        self.eval()
        try:
            x = torch.zeros(n, self.num_dims, device=self.device, dtype=self.dtype)
            for i in self.ordering().tolist():
                x[:, i] = self.draw(self.conditionals(x)[:, i], gen)
            return x.view(n, *self.data_shape)
        finally:
            self.train(was_training)
