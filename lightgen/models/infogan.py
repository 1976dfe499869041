"""InfoGAN (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information Maximizing
Generative Adversarial Nets"): the GAN loop plus a mutual-information game between the codes and G's output.

G's input is concat[z, c]: z noise (62 dims on MNIST) and the codes c of :attr:`Latent.codes`, a K-way
one-hot categorical code (K = 10) followed by M continuous codes c_j ~ U(-1, 1) (M = 2), as in sec. 7.1.
A recognition head Q shares D's body (:class:`~lightgen.nets.infogan_q.InfoGANDiscriminatorQ`) and models
Q(c | x): a softmax over the K categories and a factored Gaussian N(mu_j, sigma_j^2) per continuous code,
sigma_j = 1 by default (the authors' MNIST code, ``fix_std=True``) or learned (``learn_std``, appendix C).

The game (eq. 6) is min_{G, Q} max_D V(D, G) - lambda L_I(G, Q), L_I the bound of eq. 5
(:mod:`lightgen.losses.infogan`). In the loop's two steps:

- D step: J(D) + (-lambda L_I) on the step's (detached) fake batch, so D's optimizer trains D's body, D's
  head and Q's head (Q lives in D's module: one optimizer, and the per-player DDP wrapper of D syncs it).
- G step: J(G) + (-lambda L_I) on the same kind of fake batch, Q fixed, so G is pushed to make its codes
  recoverable from its images. Q's output comes from the same pass through D's body as D's logit.

lambda is 1 for the categorical code (sec. 6); for continuous codes the paper uses "a smaller lambda" when
the differential-entropy term would dominate: with sigma fixed to 1 the continuous term is a scaled squared
error, and the authors' MNIST run kept lambda = 1 for all codes (their ``info_reg_coeff=1.0``), the default
here; with learned sigma use e.g. 0.1. Defaults follow appendix C: Adam lr 2e-4 for D, 1e-3 for G (betas
(0.5, 0.999), DCGAN's). z ~ N(0, I) (the paper does not name the noise's law; the authors' code drew U(-1, 1)).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict
from lightgen.losses.infogan import mutual_information_terms
from lightgen.models.gan import BoundCritic
from lightgen.models.infogan_nets import InfoNetGAN
from lightgen.models.latent import Latent
from lightgen.nets.dcgan import DiscriminatorNorm
from lightgen.nets.infogan import InfoGANGenerator, OutputActivation
from lightgen.nets.infogan_q import InfoGANDiscriminatorQ

CODE_LOW, CODE_HIGH = -1.0, 1.0  # continuous codes c_j ~ U(-1, 1) (sec. 7.1)


class InfoCritic(BoundCritic):
    """D with the draw's conditioning bound that also keeps Q's output for one batch (``watch``, the fakes),
    taken from the same pass through D's body as D's logits; other inputs (real, penalty points) skip Q."""

    def __init__(self, model: InfoGAN, latent: Latent | None, watch: torch.Tensor) -> None:
        super().__init__(model, latent)
        self.watch = watch
        self.q_out: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x is not self.watch:
            return self.model.discriminate(x, self.latent)
        logits, self.q_out = self.model.discriminate_with_q(x)
        return logits


class InfoGAN(InfoNetGAN):
    """InfoGAN on MNIST-shaped images (1x28x28) with the paper's networks and codes.

    Args:
        data_shape: (1, 28, 28), linked from the datamodule by the CLI.
        latent_dim: size of the noise z (62 in the paper); G's input is latent_dim + num_categories + num_continuous.
        num_categories: K, the size of the categorical code (10 on MNIST).
        num_continuous: M, the number of continuous codes U(-1, 1) (2 on MNIST).
        info_weight_categorical: lambda of the categorical part of L_I (1 in the paper).
        info_weight_continuous: lambda of the continuous part of L_I.
        learn_std: Q outputs log sigma for the continuous codes; False: sigma = 1 (the authors' MNIST code).
        q_hidden: width of Q's hidden layer (128, Table 1).
        d_norm / g_output: see :class:`~lightgen.models.infogan_nets.InfoNetGAN`.
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN`; ``g_optimizer`` / ``d_optimizer``
            default to Adam(1e-3) / Adam(2e-4), betas (0.5, 0.999) (appendix C).
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        latent_dim: int = 62,
        num_categories: int = 10,
        num_continuous: int = 2,
        info_weight_categorical: float = 1.0,
        info_weight_continuous: float = 1.0,
        learn_std: bool = False,
        q_hidden: int = 128,
        d_norm: DiscriminatorNorm = "batch",
        g_output: OutputActivation = "tanh",
        **kwargs: Any,
    ) -> None:
        if num_categories < 2:
            raise LightgenError(f"num_categories must be at least 2; got {num_categories}")
        if num_continuous < 0:
            raise LightgenError(f"num_continuous must be >= 0; got {num_continuous}")
        weights = {"info_weight_categorical": info_weight_categorical, "info_weight_continuous": info_weight_continuous}
        for name, value in weights.items():
            if not value >= 0:
                raise LightgenError(f"{name} must be a number >= 0; got {value}")
        if kwargs.get("g_optimizer") is None:
            kwargs["g_optimizer"] = partial(torch.optim.Adam, lr=1e-3, betas=(0.5, 0.999))
        if kwargs.get("d_optimizer") is None:
            kwargs["d_optimizer"] = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
        super().__init__(data_shape, latent_dim=latent_dim, d_norm=d_norm, g_output=g_output, **kwargs)

    # ------------------------------------------------------------------ networks
    @property
    def num_categories(self) -> int:
        return int(self.hparams.num_categories)

    @property
    def num_continuous(self) -> int:
        return int(self.hparams.num_continuous)

    @property
    def code_dim(self) -> int:
        """Width of :attr:`Latent.codes`: K one-hot entries, then M continuous codes."""
        return self.num_categories + self.num_continuous

    def build_generator(self) -> nn.Module:
        return InfoGANGenerator(self.latent_dim + self.code_dim, self.data_shape, self.hparams.g_output)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        q_outputs = self.num_categories + self.num_continuous * (2 if hp.learn_std else 1)
        return InfoGANDiscriminatorQ(self.data_shape, hp.d_norm, q_outputs, hp.q_hidden)

    # ------------------------------------------------------------------ latents with codes
    def latent_with_codes(
        self,
        z: torch.Tensor,
        categories: torch.Tensor | int,
        continuous: torch.Tensor | float | None = None,
    ) -> Latent:
        """The draw (z, c): ``categories`` a class per row (or one for all) in [0, K), ``continuous`` (N, M),
        (M,) or a number for every code (None: 0, the middle of U(-1, 1)); codes are [onehot(c_cat), c_cont]."""
        n = z.shape[0]
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise LightgenError(f"z must have shape (N, {self.latent_dim}); got {tuple(z.shape)}")
        cat = torch.as_tensor(categories, device=z.device).long()
        if cat.dim() > 1 or cat.numel() not in (1, n):
            raise LightgenError(f"categories must be one class or {n} of them; got shape {tuple(cat.shape)}")
        cat = cat.expand(n).clone()
        if cat.numel() and (cat.min() < 0 or cat.max() >= self.num_categories):
            raise LightgenError(
                f"categories must be in [0, {self.num_categories - 1}]; got {sorted(cat.unique().tolist())}"
            )
        cont = torch.as_tensor(0.0 if continuous is None else continuous, dtype=z.dtype, device=z.device)
        try:
            cont = cont.expand(n, self.num_continuous).clone()
        except RuntimeError:
            raise LightgenError(
                f"continuous codes must broadcast to ({n}, {self.num_continuous}); got shape {tuple(cont.shape)}"
            ) from None
        return Latent(z, codes=torch.cat([F.one_hot(cat, self.num_categories).to(z.dtype), cont], dim=1))

    def split_codes(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, K + M) codes -> one-hot categorical (N, K) and continuous (N, M)."""
        if codes.dim() != 2 or codes.shape[1] != self.code_dim:
            raise LightgenError(f"codes must have shape (N, {self.code_dim}); got {tuple(codes.shape)}")
        return codes[:, : self.num_categories], codes[:, self.num_categories :]

    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """z ~ N(0, I), c_cat ~ U{0..K-1}, c_cont ~ U(-1, 1)^M, drawn in that order from ``generator``."""
        z = torch.randn(n, self.latent_dim, generator=generator, device=self.device)
        cat = torch.randint(0, self.num_categories, (n,), generator=generator, device=self.device)
        u = torch.rand(n, self.num_continuous, generator=generator, device=self.device)
        return self.latent_with_codes(z, cat, CODE_LOW + (CODE_HIGH - CODE_LOW) * u)

    def draw_latent(
        self,
        n: int,
        seed: int | None = None,
        labels: torch.Tensor | int | None = None,
        categories: torch.Tensor | int | None = None,
        continuous: torch.Tensor | float | None = None,
    ) -> Latent:
        """n seeded draws from the prior, with the categorical and/or continuous codes fixed when given."""
        latent = super().draw_latent(n, seed, labels)
        if categories is None and continuous is None:
            return latent
        cat, cont = self.split_codes(latent.codes)
        return self.latent_with_codes(
            latent.z, cat.argmax(1) if categories is None else categories, cont if continuous is None else continuous
        )

    def sample(
        self,
        n: int,
        seed: int | None = None,
        labels: torch.Tensor | int | None = None,
        weights: Literal["ema", "raw"] | None = None,
        categories: torch.Tensor | int | None = None,
        continuous: torch.Tensor | float | None = None,
    ) -> torch.Tensor:
        """n samples G(z, c); ``categories`` / ``continuous`` fix the codes (else drawn from the prior)."""
        return self.sample_from(self.draw_latent(n, seed, labels, categories, continuous), weights)

    # ------------------------------------------------------------------ the players
    def generate(self, latent: Latent, net: nn.Module | None = None) -> torch.Tensor:
        """G(concat[z, c])."""
        if latent.codes is None:
            raise LightgenError("InfoGAN's generator needs codes; the latent carries none (use latent_with_codes)")
        return (net if net is not None else self.g_net)(torch.cat([latent.z, latent.codes.to(latent.z.dtype)], 1))

    def discriminate_with_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits (N,) and Q's raw outputs (N, K + M [+ M]) from one pass (through D's DDP wrapper)."""
        return self.d_net(x, with_q=True)

    def q_distribution(self, q_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q's raw outputs -> categorical logits (N, K), Gaussian means (N, M), log-stds (N, M) (0: sigma 1)."""
        k, m = self.num_categories, self.num_continuous
        mean = q_out[:, k : k + m]
        log_std = q_out[:, k + m : k + 2 * m] if self.hparams.learn_std else torch.zeros_like(mean)
        return q_out[:, :k], mean, log_std

    def information_terms(self, q_out: torch.Tensor, latent: Latent) -> LossDict:
        """L_I (eq. 5) of Q's outputs on G(z, c) against the drawn c, and the cost -lambda L_I (``loss``)."""
        logits, mean, log_std = self.q_distribution(q_out)
        cat, cont = self.split_codes(latent.codes)
        hp = self.hparams
        return mutual_information_terms(
            logits, cat, mean, log_std, cont, hp.info_weight_categorical, hp.info_weight_continuous
        )

    def _with_information(self, terms: LossDict, critic: InfoCritic, fake: torch.Tensor, latent: Latent) -> LossDict:
        q_out = critic.q_out
        if q_out is None or (torch.is_grad_enabled() and not q_out.requires_grad):
            # the objective did not evaluate D on the fakes with gradients (feature matching's J(G) does so
            # under no_grad): one more pass for Q
            _, q_out = self.discriminate_with_q(fake)
        info = self.information_terms(q_out, latent)
        out = {k: v for k, v in terms.items() if k != "loss"}
        out["adversarial_loss"] = terms["loss"].detach()
        out["loss"] = terms["loss"] + info.pop("loss")
        out.update(info)
        return out

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, latent: Latent, regularize: bool = True) -> LossDict:  # type: ignore[override]
        """J(D) (with its regularisers due at this step) - lambda L_I on the fakes: trains D and Q."""
        critic = InfoCritic(self, latent, fake)
        terms = super().d_loss(real, fake, latent, regularize, critic=critic)
        return self._with_information(terms, critic, fake, latent)

    def g_loss(self, fake: torch.Tensor, latent: Latent, real: torch.Tensor | None = None) -> LossDict:
        """J(G) - lambda L_I: G makes its codes recoverable by the (fixed) Q."""
        critic = InfoCritic(self, latent, fake)
        return self._with_information(self.objective.g_loss(critic, fake, real), critic, fake, latent)

    # ------------------------------------------------------------------ Q as an encoder
    @torch.no_grad()
    def infer_codes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Q(c | x) for images x in D's eval mode: categorical logits (N, K) and continuous means (N, M)."""
        net = self.discriminator
        was_training = net.training
        net.eval()
        try:
            _, q_out = net(x.to(self.device), with_q=True)
        finally:
            net.train(was_training)
        logits, mean, _ = self.q_distribution(q_out)
        return logits, mean
