"""DRAW, the Deep Recurrent Attentive Writer (Gregor et al. 2015), as a LightningModule.

A sequential VAE: T steps of an LSTM encoder and decoder writing additively onto a canvas, with
Gaussian-filterbank read and write attention (lightgen.nets.draw). The loss (sec. 2.2) is the
negative ELBO

    L = L^x + L^z,  L^x = -log D(x | c_T),  D = Bernoulli(sigmoid(c_T))                        (eq. 9)
    L^z = sum_t KL(Q(Z_t | h^enc_t) || N(0, I)) = sum_t 1/2 (mu_t^2 + sigma_t^2 - log sigma_t^2 - 1)   (eq. 10-11)

Paper settings for MNIST (Table 3): T = 64, 256 LSTM units each, z of 100 units, read 2x2, write 5x5
attention; Adam, gradients clipped. log p(x) is estimated by importance sampling over the whole
sequence of z_t (log w = log p(x | c_T) + sum_t [log N(z_t; 0, I) - log Q(z_t | h^enc_t)]).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lightgen.errors import LightgenError
from lightgen.losses import bounds
from lightgen.models.base import GenerativeModel
from lightgen.nets.draw import DRAWNet


class DRAW(GenerativeModel):
    """DRAW with or without attention.

    Args:
        data_shape: shape of one example (C, H, W), linked from the datamodule by the CLI.
        steps: T, the number of glimpses (64 in the paper's MNIST experiment).
        enc_hidden / dec_hidden: LSTM units of the encoder and decoder (256).
        latent_dim: units of each z_t (100).
        attention: Gaussian-filterbank read/write (True) or the whole image (False, sec. 3.1).
        read_n / write_n: N of the read and write grids (2 and 5).
        lr: Adam learning rate.
        test_k / test_batch_k: samples of the test-time log p(x) estimate (0: ELBO only) and chunk size.
    """

    value_range = (0.0, 1.0)

    def __init__(
        self,
        data_shape: tuple[int, ...],
        steps: int = 64,
        enc_hidden: int = 256,
        dec_hidden: int = 256,
        latent_dim: int = 100,
        attention: bool = True,
        read_n: int = 2,
        write_n: int = 5,
        lr: float = 1e-3,
        test_k: int = 0,
        test_batch_k: int = 100,
    ) -> None:
        super().__init__(data_shape)
        if len(self.data_shape) != 3:
            raise LightgenError(f"DRAW models images of shape (C, H, W); got {self.data_shape}")
        sizes = dict(steps=steps, enc_hidden=enc_hidden, dec_hidden=dec_hidden, latent_dim=latent_dim)
        sizes |= dict(read_n=read_n, write_n=write_n, test_batch_k=test_batch_k)
        for name, value in sizes.items():
            if int(value) < 1:
                raise LightgenError(f"DRAW's {name} must be a positive integer; got {value}")
        if test_k < 0:
            raise LightgenError(f"DRAW's test_k must be >= 0 (0: no log p(x) estimate); got {test_k}")
        self.save_hyperparameters()
        self.num_dims = math.prod(self.data_shape)
        self.net = DRAWNet(self.data_shape, steps, enc_hidden, dec_hidden, latent_dim, attention, read_n, write_n)

    # ------------------------------------------------------------------ bounds
    def loss_terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> bounds.LossDict:
        """-ELBO averaged over the batch (eq. 9-11) with its terms; "elbo_per_example" (B,) too."""
        out = self.net.infer(x, generator)
        log_px = bounds.bernoulli_log_prob(x, out["canvas"], event_dims=3)  # -L^x
        kl = bounds.kl_standard_normal(out["mean"], out["log_var"]).sum(0)  # L^z, summed over steps
        elbo = log_px - kl
        return {
            "loss": -elbo.mean(),
            "rec": log_px.mean().detach(),
            "kl": kl.mean().detach(),
            "elbo_per_example": elbo.detach(),
        }

    @torch.no_grad()
    def elbo(self, x: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """Per-example ELBO (B,) in nats."""
        return self.loss_terms(x, self.make_generator(seed))["elbo_per_example"]

    @torch.no_grad()
    def log_weights(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """log w (k, B) over k draws of the whole sequence z_1..z_T."""
        xk = x.repeat(k, *([1] * (x.dim() - 1)))  # (k*B, C, H, W), sample-major
        out = self.net.infer(xk, generator)
        log_w = bounds.bernoulli_log_prob(xk, out["canvas"], event_dims=3)
        log_prior = bounds.standard_normal_log_prob(out["z"])  # (T, k*B)
        log_q = bounds.gaussian_log_prob(out["z"], out["mean"], out["log_var"])
        log_w = log_w + (log_prior - log_q).sum(0)  # the prior and posterior of every step z_1..z_T
        return log_w.view(k, x.shape[0])

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor, k: int = 1000, batch_k: int = 100, seed: int | None = None) -> torch.Tensor:
        """Importance-sampled log p(x) (B,) in nats, L_k assembled from chunks of ``batch_k`` samples."""
        gen = self.make_generator(seed)
        return bounds.log_mean_exp_chunks([self.log_weights(x, min(batch_k, k - d), gen) for d in range(0, k, batch_k)])

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def canvas_steps(self, n: int, seed: int | None = None) -> torch.Tensor:
        """sigmoid(c_t) after each step t = 1..T, (T, n, C, H, W): how DRAW draws a sample."""
        return torch.sigmoid(self.net.generate(n, self.make_generator(seed)))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """n images (n, C, H, W): the Bernoulli means sigmoid(c_T) of the final canvas."""
        return self.canvas_steps(n, seed)[-1]

    # ------------------------------------------------------------------ training
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        terms = self.loss_terms(x)
        self.log_dict({f"train/{k}": terms[k] for k in ("rec", "kl")}, on_step=True)
        self.log("train_loss", terms["loss"].detach(), prog_bar=True)
        return terms["loss"]

    def _evaluate(self, batch: Any, batch_idx: int, stage: str) -> None:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        seed = 1_000_003 * (batch_idx + 1)
        elbo = self.elbo(x, seed=seed).mean()
        metrics = {f"{stage}/elbo": elbo, f"{stage}/elbo_bpd": bounds.nats_to_bits_per_dim(-elbo, self.num_dims)}
        if stage == "test" and self.hparams.test_k > 0:
            log_px = self.log_prob(x, self.hparams.test_k, self.hparams.test_batch_k, seed=seed + 1).mean()
            metrics |= {"test/log_px": log_px, "test/nll_bpd": bounds.nats_to_bits_per_dim(-log_px, self.num_dims)}
        self.log_dict(metrics, prog_bar=stage == "val", batch_size=x.shape[0], sync_dist=True)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
