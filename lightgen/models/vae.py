"""Variational autoencoders: VAE (Kingma & Welling 2013; Rezende et al. 2014), IWAE (Burda et al.
2015, "Importance Weighted Autoencoders") and the IAF posterior (Kingma et al. 2016), one training rule.

Generative model with L stochastic layers (Burda et al. sec. 2):
    p(z_L) = N(0, I),  p(z_l | z_{l+1}) = N(mu, diag sigma^2),  p(x | z_1) = Bernoulli (or Gaussian,
    discretized logistic) with parameters from a decoder net.
Recognition model q(z_1|x) q(z_2|z_1)...: diagonal Gaussians, reparameterized z = mu + sigma * eps
(AEVB eq. 4), optionally followed by IAF steps on z_1 (Kingma et al. 2016 eq. 14-15).

Objectives (lightgen.losses.bounds): with log w_i = log p(x, z_i) - log q(z_i|x),
    objective="iwae", k_samples=k: maximize L_k = E log (1/k) sum w_i        (IWAE eq. 8)
    objective="elbo", k_samples=k: maximize the k-sample ELBO (1/k) sum log w_i, the "VAE" column of
                                   IWAE Table 1; with one Gaussian layer the KL is analytic (AEVB eq. 10)
k_samples=1 trains the ELBO under either objective. Evaluation reports the ELBO, L_k (``val_k``)
and, at test time, log p(x) ~ L_{test_k} with test_k = 5000 as in IWAE sec. 5, in nats and bits/dim.
Adam (beta2 0.999, eps 1e-4) with the IWAE paper's schedule optional (lr 1e-3 * 10^(-i/7) for 3^i
epochs, i = 0..7).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from lightning.pytorch.utilities import rank_zero_info
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses import bounds
from lightgen.metrics.active_units import active_units
from lightgen.models.base import GenerativeModel
from lightgen.nets.iaf import IAF
from lightgen.nets.vae_nets import ConvEncoder, ConvImageDecoder, GaussianMLP, MLPImageDecoder

Likelihood = Literal["bernoulli", "gaussian", "discretized_logistic"]


def burda_lr_factor(epoch: int) -> float:
    """IWAE sec. 5: pass i = 0..7 lasts 3^i epochs at lr * 10^(-i/7); afterwards the last rate."""
    i, start = 0, 0
    while i < 7 and epoch >= start + 3**i:
        start += 3**i
        i += 1
    return 10.0 ** (-i / 7.0)


class VAE(GenerativeModel):
    """VAE / IWAE with MLP or conv nets, 1 or 2 stochastic layers and a Gaussian or IAF posterior.

    Args:
        data_shape: shape of one example (C, H, W), linked from the datamodule by the CLI.
        arch: "mlp" (Burda et al.'s nets) or "conv" (one stochastic layer).
        latent_dims: units of each stochastic layer, bottom first: (50,) or (100, 50) in IWAE sec. 5.
        hidden: deterministic tanh layers between x and z_1 (and mirrored in the decoder).
        upper_hidden: deterministic layers between z_l and z_{l+1} (100-100 in IWAE sec. 5).
        likelihood: p(x|z): "bernoulli" for binarized data, "gaussian" or "discretized_logistic"
            (256 bins) for grey levels in [0, 1].
        k_samples: samples of z per example in training (k in IWAE eq. 8).
        objective: "iwae" (L_k) or "elbo" (k-sample ELBO); the same for k_samples=1.
        posterior: "gaussian" or "iaf" (Gaussian followed by ``iaf_steps`` IAF steps, one layer only).
        iaf_steps / iaf_hidden: number of IAF steps and width of their MADE nets.
        lr / lr_schedule: Adam learning rate; "constant" or "burda" (the IWAE paper's 3280-epoch schedule).
        val_k: k of the L_k reported on validation and test data.
        test_k / test_batch_k: k of the log p(x) estimate at test time (0: skip) and its chunk size.
        active_threshold: a unit is active when Cov_x(E_q[u]) exceeds this (IWAE sec. 5.2).
    """

    value_range = (0.0, 1.0)

    def __init__(
        self,
        data_shape: tuple[int, ...],
        arch: Literal["mlp", "conv"] = "mlp",
        latent_dims: tuple[int, ...] = (50,),
        hidden: tuple[int, ...] = (200, 200),
        upper_hidden: tuple[int, ...] = (100, 100),
        likelihood: Likelihood = "bernoulli",
        k_samples: int = 1,
        objective: Literal["iwae", "elbo"] = "iwae",
        posterior: Literal["gaussian", "iaf"] = "gaussian",
        iaf_steps: int = 2,
        iaf_hidden: int = 100,
        lr: float = 1e-3,
        lr_schedule: Literal["constant", "burda"] = "constant",
        val_k: int = 50,
        test_k: int = 5000,
        test_batch_k: int = 500,
        active_threshold: float = 0.01,
    ) -> None:
        super().__init__(data_shape)
        latent_dims = tuple(int(d) for d in latent_dims)
        if not latent_dims or any(d < 1 for d in latent_dims):
            raise LightgenError(f"latent_dims must be positive sizes, bottom layer first; got {latent_dims}")
        if len(self.data_shape) != 3:
            raise LightgenError(f"VAE models images of shape (C, H, W); got data_shape {self.data_shape}")
        for name, value, allowed in (
            ("arch", arch, ("mlp", "conv")),
            ("likelihood", likelihood, ("bernoulli", "gaussian", "discretized_logistic")),
            ("objective", objective, ("iwae", "elbo")),
            ("posterior", posterior, ("gaussian", "iaf")),
            ("lr_schedule", lr_schedule, ("constant", "burda")),
        ):
            if value not in allowed:
                raise LightgenError(f"unknown {name} {value!r}; expected one of {list(allowed)}")
        for name, value, low in (("k_samples", k_samples, 1), ("val_k", val_k, 1), ("test_k", test_k, 0)):
            if int(value) < low:
                raise LightgenError(f"{name} must be an integer >= {low}; got {value}")
        if test_batch_k < 1:
            raise LightgenError(f"test_batch_k must be a positive integer; got {test_batch_k}")
        if arch == "conv" and len(latent_dims) > 1:
            raise LightgenError(f"arch='conv' supports one stochastic layer; got latent_dims {latent_dims} (use 'mlp')")
        if posterior == "iaf" and (len(latent_dims) > 1 or iaf_steps < 1):
            raise LightgenError(
                f"posterior='iaf' needs one stochastic layer and iaf_steps >= 1; got latent_dims {latent_dims}, "
                f"iaf_steps {iaf_steps}"
            )
        self.save_hyperparameters()
        self.latent_dims = latent_dims
        self.num_dims = math.prod(self.data_shape)
        params = 1 if likelihood == "bernoulli" else 2
        d1 = latent_dims[0]
        if arch == "mlp":
            self.encoder: nn.Module = GaussianMLP(self.num_dims, hidden, d1)
            self.decoder: nn.Module = MLPImageDecoder(d1, tuple(reversed(hidden)), self.data_shape, params)
        else:
            self.encoder = ConvEncoder(self.data_shape, d1)
            self.decoder = ConvImageDecoder(d1, self.data_shape, params)
        # upper layers: q(z_{l+1} | z_l) and p(z_l | z_{l+1}), l = 1..L-1
        self.upper_q = nn.ModuleList(GaussianMLP(a, upper_hidden, b) for a, b in zip(latent_dims[:-1], latent_dims[1:]))
        self.upper_p = nn.ModuleList(
            GaussianMLP(b, tuple(reversed(upper_hidden)), a) for a, b in zip(latent_dims[:-1], latent_dims[1:])
        )
        self.flow = IAF(d1, iaf_steps, iaf_hidden, self.encoder.hidden_dim) if posterior == "iaf" else None
        self.last_active_units: dict[str, int] = {}
        self._eval_means: list[list[tuple[torch.Tensor, torch.Tensor]]] = []

    # ------------------------------------------------------------------ densities
    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q(z_1|x): mean, log_var (B, d1) and context h (B, H)."""
        return self.encoder(x.flatten(1) if self.hparams.arch == "mlp" else x)

    def log_px_given_z(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (..., B) from x (B, C, H, W) and decoder output (..., B, P, C, H, W)."""
        kind = self.hparams.likelihood
        loc = params[..., 0, :, :, :]
        if kind == "bernoulli":
            return bounds.bernoulli_log_prob(x, loc, event_dims=3)
        scale = params[..., 1, :, :, :]
        if kind == "gaussian":  # log variance kept in [-10, 5] so a pixel cannot claim infinite density
            return bounds.gaussian_log_prob(x, loc, scale.clamp(-10, 5), event_dims=3)
        return bounds.discretized_logistic_log_prob(x, loc, scale.clamp_min(-7), event_dims=3)

    def decoder_mean(self, z: torch.Tensor) -> torch.Tensor:
        """E[x|z_1] (..., C, H, W) in [0, 1]: Bernoulli probabilities or the location clamped to [0, 1]."""
        params = self.decoder(z)
        if self.hparams.likelihood == "bernoulli":
            return torch.sigmoid(params[..., 0, :, :, :])
        return params[..., 0, :, :, :].clamp(0.0, 1.0)

    def log_weights(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> dict[str, Any]:
        """Draw z_i ~ q(z|x), i = 1..k, and return log w (k, B) = log p(x, z) - log q(z|x), log p(x|z)
        (k, B), the analytic KL (B,) where it exists (one Gaussian layer, else None) and q's first mean."""
        mean, log_var, h = self._encode(x)
        eps = torch.randn((k, *mean.shape), generator=generator, device=mean.device, dtype=mean.dtype)
        z = mean + torch.exp(0.5 * log_var) * eps  # (k, B, d1), AEVB eq. 4
        log_q = bounds.gaussian_log_prob(z, mean, log_var)
        if self.flow is not None:
            z, log_det = self.flow(z, h.expand(k, *h.shape))
            log_q = log_q - log_det  # IAF eq. 15
        zs = [z]
        for q_net in self.upper_q:  # z_{l+1} ~ q(z_{l+1} | z_l)
            m, lv, _ = q_net(zs[-1])
            eps = torch.randn(m.shape, generator=generator, device=m.device, dtype=m.dtype)
            zs.append(m + torch.exp(0.5 * lv) * eps)
            log_q = log_q + bounds.gaussian_log_prob(zs[-1], m, lv)
        log_p = bounds.standard_normal_log_prob(zs[-1])
        for i in range(len(self.upper_p) - 1, -1, -1):  # p(z_i | z_{i+1}), top down
            m, lv, _ = self.upper_p[i](zs[i + 1])
            log_p = log_p + bounds.gaussian_log_prob(zs[i], m, lv)
        log_px_z = self.log_px_given_z(x, self.decoder(z))
        analytic = self.flow is None and len(self.latent_dims) == 1
        kl = bounds.kl_standard_normal(mean, log_var) if analytic else None
        return {"log_w": log_px_z + log_p - log_q, "log_px_z": log_px_z, "kl": kl, "mean": mean}

    def loss_terms(self, x: torch.Tensor, k: int | None = None) -> bounds.LossDict:
        """The training objective's named terms (a dict with "loss"), for the configured objective."""
        k = k or self.hparams.k_samples
        out = self.log_weights(x, k)
        if self.hparams.objective == "elbo" or k == 1:
            if out["kl"] is not None:
                return bounds.elbo_loss(out["log_px_z"], out["kl"])
            return bounds.elbo_mc_loss(out["log_w"])
        return bounds.iwae_loss(out["log_w"])

    # ------------------------------------------------------------------ public API
    @torch.no_grad()
    def elbo(self, x: torch.Tensor, k: int = 1, seed: int | None = None) -> torch.Tensor:
        """Per-example ELBO (B,) in nats (analytic KL where it exists, averaged over k draws of z)."""
        out = self.log_weights(x, k, self.make_generator(seed))
        if out["kl"] is not None:
            return bounds.elbo_analytic(out["log_px_z"], out["kl"])
        return bounds.elbo_mc(out["log_w"])

    @torch.no_grad()
    def log_prob(self, x: torch.Tensor, k: int = 5000, batch_k: int = 500, seed: int | None = None) -> torch.Tensor:
        """Importance-sampled log p(x) (B,) in nats: L_k with k samples drawn in chunks of ``batch_k``
        (IWAE sec. 5: k = 5000), so memory holds batch_k * B samples at a time."""
        gen = self.make_generator(seed)
        chunks = [self.log_weights(x, min(batch_k, k - done), gen)["log_w"] for done in range(0, k, batch_k)]
        return bounds.log_mean_exp_chunks(chunks)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, mean: bool = True) -> torch.Tensor:
        """n images (n, C, H, W) by ancestral sampling from the prior: the decoder means E[x|z_1] (default),
        or with ``mean=False`` Bernoulli draws x ~ p(x|z_1) (grey-level likelihoods always give means)."""
        gen = self.make_generator(seed)
        z = torch.randn(n, self.latent_dims[-1], generator=gen, device=self.device, dtype=self.dtype)
        for i in range(len(self.upper_p) - 1, -1, -1):
            m, lv, _ = self.upper_p[i](z)
            z = m + torch.exp(0.5 * lv) * torch.randn(m.shape, generator=gen, device=m.device, dtype=m.dtype)
        probs = self.decoder_mean(z)
        if mean or self.hparams.likelihood != "bernoulli":
            return probs
        return torch.bernoulli(probs, generator=gen)

    @torch.no_grad()
    def encode_mean(self, x: torch.Tensor) -> torch.Tensor:
        """A point estimate of z_1 (B, d1): q's mean, passed through the IAF steps when there are any."""
        mean, _, h = self._encode(x)
        return self.flow(mean, h)[0] if self.flow is not None else mean

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder means (B, C, H, W) at the encoder's point estimate of z_1."""
        return self.decoder_mean(self.encode_mean(x))

    @torch.no_grad()
    def posterior_means(self, x: torch.Tensor, samples: int = 200, seed: int | None = 0) -> list[torch.Tensor]:
        """E_q[z_l | x] (B, d_l) of every layer: q's mean for a Gaussian bottom layer, a Monte Carlo average
        over ``samples`` draws for the IAF and upper layers (see :meth:`posterior_mean_estimates`)."""
        return [m for m, _ in self.posterior_mean_estimates(x, samples, seed)]

    @torch.no_grad()
    def posterior_mean_estimates(
        self, x: torch.Tensor, samples: int = 200, seed: int | None = 0
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer, (estimate of E_q[z_l | x] (B, d_l), the variance of that estimate (B, d_l)), for active units.

        A Gaussian bottom layer's mean is exact (variance 0). With IAF steps the mean is the average of
        ``samples`` flowed draws, and an upper layer's is the average of its conditional means
        E[z_{l+1} | z_l] over draws of z_l; such an average carries Var/S of sampling noise, estimated here
        by the sample variance over the S draws divided by S, so that :func:`active_units` can remove it
        from Cov_x (with S = 20 it alone exceeded the 0.01 threshold: issue 10).
        """
        if samples < 2:
            raise LightgenError(f"posterior mean estimates need samples >= 2 (a variance of the draws); got {samples}")
        gen = self.make_generator(seed)
        mean, log_var, h = self._encode(x)

        def mc(draws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return draws.mean(0), draws.var(0, unbiased=True) / draws.shape[0]

        eps = torch.randn((samples, *mean.shape), generator=gen, device=mean.device, dtype=mean.dtype)
        z = mean + torch.exp(0.5 * log_var) * eps
        if self.flow is not None:
            z = self.flow(z, h.expand(samples, *h.shape))[0]
        estimates = [(mean, torch.zeros_like(mean)) if self.flow is None else mc(z)]
        for q_net in self.upper_q:
            m, lv, _ = q_net(z)
            estimates.append(mc(m))
            z = m + torch.exp(0.5 * lv) * torch.randn(m.shape, generator=gen, device=m.device, dtype=m.dtype)
        return estimates

    # ------------------------------------------------------------------ training and evaluation
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        terms = self.loss_terms(x)
        self.log_dict({f"train/{k}": v.detach() for k, v in terms.items()}, on_step=True, prog_bar=False)
        self.log("train_loss", terms["loss"].detach(), prog_bar=True)
        return terms["loss"]

    def _evaluate(self, batch: Any, batch_idx: int, stage: str) -> None:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        seed = 1_000_003 * (batch_idx + 1)  # fixed draws: evaluation is deterministic
        elbo = self.elbo(x, seed=seed)
        bound = bounds.iwae_bound(self.log_weights(x, self.hparams.val_k, self.make_generator(seed + 1))["log_w"])
        k = self.hparams.val_k
        metrics = {
            f"{stage}/elbo": elbo.mean(),
            f"{stage}/L_{k}": bound.mean(),
            f"{stage}/elbo_bpd": bounds.nats_to_bits_per_dim(-elbo.mean(), self.num_dims),
        }
        if stage == "test" and self.hparams.test_k > 0:
            log_px = self.log_prob(x, self.hparams.test_k, self.hparams.test_batch_k, seed=seed + 2)
            metrics["test/log_px"] = log_px.mean()
            metrics["test/nll"] = -log_px.mean()
            metrics["test/nll_bpd"] = bounds.nats_to_bits_per_dim(-log_px.mean(), self.num_dims)
        self.log_dict(metrics, prog_bar=stage == "val", batch_size=x.shape[0], sync_dist=True)
        estimates = self.posterior_mean_estimates(x, seed=seed + 3)
        self._eval_means.append([(m.cpu(), v.cpu()) for m, v in estimates])

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")

    def _report_active_units(self, stage: str) -> None:
        """Count active units (IWAE sec. 5.2) over this epoch's evaluation data, log them per layer."""
        per_layer = [(torch.cat([m for m, _ in col]), torch.cat([v for _, v in col])) for col in zip(*self._eval_means)]
        self._eval_means = []
        if not per_layer or len(per_layer[0][0]) < 2:  # a variance needs two data points
            return
        threshold = self.hparams.active_threshold
        counts = {
            f"z{i + 1}": int(active_units(m, threshold, noise_variance=v)["count"])
            for i, (m, v) in enumerate(per_layer)
        }
        self.last_active_units = counts
        self.log_dict({f"{stage}/active_units_{name}": float(c) for name, c in counts.items()}, sync_dist=True)
        if stage == "test":
            rank_zero_info(f"lightgen: active units (test): {self._units_text()}")

    def _units_text(self) -> str:
        pairs = zip(self.last_active_units.items(), self.latent_dims)
        return ", ".join(f"{name} {count}/{dim}" for (name, count), dim in pairs)

    def on_validation_epoch_start(self) -> None:
        self._eval_means = []

    def on_test_epoch_start(self) -> None:
        self._eval_means = []

    def on_validation_epoch_end(self) -> None:
        self._report_active_units("val")

    def on_test_epoch_end(self) -> None:
        self._report_active_units("test")

    def on_train_end(self) -> None:
        if self.last_active_units:
            rank_zero_info(f"lightgen: active units (last validation): {self._units_text()}")

    def configure_optimizers(self) -> Any:
        # IWAE sec. 5: Adam with beta1 = 0.9, beta2 = 0.999, eps = 1e-4
        opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr, betas=(0.9, 0.999), eps=1e-4)
        if self.hparams.lr_schedule == "constant":
            return opt
        sched = torch.optim.lr_scheduler.LambdaLR(opt, burda_lr_factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
