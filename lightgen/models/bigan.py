"""BiGAN / ALI: a GAN that also learns the inverse map, an encoder E: x -> z trained with G.

Donahue, Krähenbühl & Darrell 2016 ("Adversarial Feature Learning", BiGAN) and Dumoulin et al. 2016
("Adversarially Learned Inference", ALI) pit D against the joint pair (G, E). D sees pairs (x, z):

    real pairs  (x, E(x)),   x ~ p_data        fake pairs  (G(z), z),   z ~ p_z

    BiGAN eq. 3:  V(D, E, G) = E_x[log D(x, E(x))] + E_z[log(1 - D(G(z), z))],  min_{G,E} max_D V

At the optimum the two joint distributions match, so E inverts G (BiGAN Theorems 1-2). Training
(BiGAN sec. 3.4, ALI Algorithm 1) alternates:

- D step: D minimises the objective's J(D) with (x, E(x)) as real and (G(z), z) as fake; E(x) is
  computed without a graph, so only D learns here. With the default cross-entropy objective
  J(D) = -1/2 E log D(x, E(x)) - 1/2 E log(1 - D(G(z), z)), i.e. -1/2 V.
- G/E step, "inverted labels" (BiGAN sec. 3.4; ALI's generator loss): G and E minimise J(D) with the
  pairs' roles swapped, J(G, E) = J(D)[real <- (G(z), z), fake <- (x, E(x))], which for cross-entropy is
  J(G, E) = -1/2 E log D(G(z), z) - 1/2 E log(1 - D(x, E(x))):
  G wants D(G(z), z) -> real, E wants D(x, E(x)) -> fake. It has the fixed points of the minimax game
  with stronger gradients early on (the non-saturating heuristic applied to both players). Because it is
  the objective's own ``d_cost`` on swapped outputs, any objective works: LSGAN gives its swapped least
  squares, WGAN(-GP) gives E f(x, E(x)) - E f(G(z), z), exactly the critic game's J(G, E) = -J(D).
  The objective's ``g_cost`` is not used, nor are its regularisers (they belong to D's step).

How D sees a pair: packed into one vector ``[flatten(x), z]`` (:func:`lightgen.nets.bigan.pack_pair`), so
objectives, penalties (WGAN-GP interpolates real and fake pairs jointly), packing and minibatch
discrimination apply unchanged. ``discriminate`` accepts a packed pair or a plain example; an example
alone is judged with its own encoding, as the real pair (x, E(x)) (validation's D(x) on training images).

Networks: MLPs by default (the BiGAN paper's permutation-invariant MNIST setting: MLPs, a 50-dimensional
latent); z ~ U(-1, 1)^50 with a tanh encoder by default (``prior: gaussian`` gives z ~ N(0, I) and a
linear encoder). E joins G's optimizer (``generator_parameters``) and is a third DDP player.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict
from lightgen.models.gan import GAN
from lightgen.models.latent import Latent
from lightgen.nets.bigan import MLPEncoder, pack_pair
from lightgen.nets.mlp import MLPGenerator

#: names of the swapped D cost's two halves, as logged in the G/E step
SWAPPED_TERMS = {"d_real_term": "g_term", "d_fake_term": "e_term"}
#: the range of a linear-output G on the toy mixtures (as :class:`~lightgen.models.toy.ToyGAN`)
LINEAR_VALUE_RANGE = (-4.5, 4.5)


class BiGAN(GAN):
    """Bidirectional GAN (BiGAN / ALI): G: z -> x, E: x -> z, D on (x, z) pairs.

    Args:
        data_shape: shape of one example, linked from the datamodule ((1, 28, 28) for MNIST, (2,) for the
            toy mixtures).
        latent_dim: size of z (50: the BiGAN paper's MNIST latent).
        prior: "uniform": z ~ U(-1, 1)^d and E ends in tanh; "gaussian": z ~ N(0, I) and E is linear.
        e_hidden: hidden widths of the MLP encoder.
        g_output: "tanh" for images in [-1, 1]; "linear" for unbounded data (the toy 2-D mixtures).
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN` (objective, d_steps, g_hidden,
            d_hidden, d_dropout, optimizers, ema_decay...). G's optimizer updates G and E together.
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        latent_dim: int = 50,
        prior: Literal["uniform", "gaussian"] = "uniform",
        e_hidden: tuple[int, ...] = (512, 256),
        g_output: Literal["tanh", "linear"] = "tanh",
        **kwargs: Any,
    ) -> None:
        if prior not in ("uniform", "gaussian"):
            raise LightgenError(f"unknown BiGAN prior {prior!r}; expected 'uniform' or 'gaussian'")
        if g_output not in ("tanh", "linear"):
            raise LightgenError(f"unknown BiGAN g_output {g_output!r}; expected 'tanh' or 'linear'")
        super().__init__(data_shape, latent_dim=latent_dim, **kwargs)
        self.encoder = MLPEncoder(
            self.data_shape, latent_dim, e_hidden, output="tanh" if prior == "uniform" else "linear"
        )
        if g_output == "linear":
            self.value_range = LINEAR_VALUE_RANGE

    # ------------------------------------------------------------------ networks
    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return MLPGenerator(self.latent_dim, self.data_shape, hp.g_hidden, output=hp.get("g_output", "tanh"))

    @property
    def pair_dim(self) -> int:
        """Size of a packed (x, z) pair: prod(data_shape) + latent_dim."""
        return math.prod(self.data_shape) + self.latent_dim

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        """D takes packed pairs, ``d_pack`` of them side by side (PacGAN)."""
        return (self.pair_dim * int(self.hparams.get("d_pack", 1)),)

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        """G and E share one optimizer: they play one side of the game."""
        return [*self.generator.parameters(), *self.encoder.parameters()]

    def ddp_players(self) -> tuple[str, ...]:
        return ("generator", "discriminator", "encoder")

    # ------------------------------------------------------------------ latents, E, pairs
    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """z ~ U(-1, 1)^d ("uniform") or N(0, I) ("gaussian"), shape (n, latent_dim)."""
        if self.hparams.get("prior", "uniform") == "gaussian":
            return super().latent_prior(n, generator)
        return Latent(torch.rand(n, self.latent_dim, generator=generator, device=self.device) * 2 - 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """E(x): (N, *data_shape) -> (N, latent_dim), through E's DDP wrapper while E is trained."""
        return self._player("encoder")(x)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """G(E(x)) in eval mode, with the trained G (E was trained against it, not against an EMA of it)."""
        modes = [(net, net.training) for net in (self.encoder, self.generator)]
        for net, _ in modes:
            net.eval()
        try:
            return self.generator(self.encoder(x.to(self.device)))
        finally:
            for net, mode in modes:
                net.train(mode)

    def pair(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The pair (x, z) packed as D reads it, (N, pair_dim)."""
        return pack_pair(x, z)

    def _as_pair(self, x: torch.Tensor) -> torch.Tensor:
        """A packed pair unchanged; a plain example x as the real pair (x, E(x))."""
        if tuple(x.shape[1:]) == (self.pair_dim,):
            return x  # data_shape can never be (pair_dim,): pair_dim > prod(data_shape)
        return self.pair(x, self.encode(x))

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D's logits (N,) for packed pairs, or for examples x paired with E(x) (see :meth:`_as_pair`)."""
        return self.d_net(self.pack(self._as_pair(x)))

    def discriminator_features(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        return super().discriminator_features(self._as_pair(x), latent)

    # ------------------------------------------------------------------ the game
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, latent: Latent, regularize: bool = True) -> LossDict:
        """J(D) with (x, E(x)) as real and (G(z), z) as fake pairs; E(x) without a graph (D's step only)."""
        with torch.no_grad():
            z_real = self.encode(real)
        return super().d_loss(self.pair(real, z_real), self.pair(fake, latent.z), latent, regularize)

    def g_loss(self, fake: torch.Tensor, latent: Latent, real: torch.Tensor | None = None) -> LossDict:
        """J(G, E): the objective's D cost with the pairs' roles swapped ("inverted labels", see the module
        docstring): ``d_cost(real_out=D(G(z), z), fake_out=D(x, E(x)))``. Needs the step's real batch."""
        if real is None:
            raise LightgenError("BiGAN's generator/encoder cost needs the step's real batch for E(x); got real=None")
        critic = self.critic(latent)
        fake_out = critic(self.pair(fake, latent.z))  # D(G(z), z): G wants it judged real
        real_out = critic(self.pair(real, self.encode(real)))  # D(x, E(x)): E wants it judged fake
        cost = self.objective.d_cost(fake_out, real_out)
        # the loss and its two halves, renamed for the player each trains; D's other diagnostics (such as
        # WGAN's distance estimate) would read with the wrong sign under swapped labels and are left out
        terms = {"loss": cost["loss"], **{new: cost[old] for old, new in SWAPPED_TERMS.items() if old in cost}}
        terms.update(self.objective.scores(real_out.detach(), fake_out.detach()))
        return terms
