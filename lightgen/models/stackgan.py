"""StackGAN (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis with Stacked Generative
Adversarial Networks"): text to image in two GANs, stage I at low resolution, stage II conditioned on stage I's
image and the text.

**Text encoder.** The paper uses the fixed, pre-trained char-CNN-RNN embeddings of Reed et al. 2016. Here the
embedding phi_t comes from a text-image matching model trained in the project (``configs/text_matching.yaml``,
:class:`lightgen.models.text_matching.TextImageMatching`), loaded from its checkpoint (``text_encoder: path``)
and kept frozen: phi_t is computed per batch with no gradient.

**The hooks** (the GAN loop is unchanged; :mod:`lightgen.models.gan`):

    latent_prior(n)                Latent.z = [z (latent_dim), eps_0 (stage I's CA)] (+ eps (stage II's CA))
    condition_on_batch(latent, b)  Latent.context = phi_t of the batch's captions; Latent.codes = the
                                   wrong-text embeddings, phi_t rolled by one along the batch (image i meets
                                   the caption of image i - 1)
    real_from_batch(b)             the batch's images; stage I downsamples them to ``stage1_size`` (area)
    generate(latent)               stage I: G_0(z, CA_0(phi_t)); stage II: G(G_0(z, CA_0(phi_t)), CA(phi_t))
    discriminate(x, latent)        the matching-aware D(x, phi_t), phi_t = Latent.context
    d_loss                         matching-aware D (below)
    g_loss                         the objective's J(G) + kl_weight * KL(N(mu, sigma^2) || N(0, I)) (eq. 6)

**Matching-aware D** (Reed et al. 2016 GAN-CLS; StackGAN sec. 3.2): (real image, right text) is real, (fake,
right text) and (real image, wrong text) are fake. With the objective's cost J(real_out, fake_out) (additive in
the two halves for every objective in :mod:`lightgen.losses.objectives`), the D loss is
``1/2 [J(D(x, phi), D(G(z), phi)) + J(D(x, phi), D(x, phi_wrong))]``, which for the cross-entropy is
``1/2 [L_real + 1/2 (L_fake + L_wrong)]``: the official code's ``errD = errD_real + (errD_fake + errD_wrong) * 0.5``
(hanzhanggit/StackGAN-Pytorch, ``miscc/utils.py``) up to the objective's overall factor 1/2.

**Stages** (sec. 3.4 / 4): stage I is trained first (``stage: 1``); stage II (``stage: 2``, ``stage1: path``)
loads stage I's generator (its EMA when it kept one) and text encoder from stage I's checkpoint and freezes both
(eval mode, no gradients): only stage II's CA and G and its D train.

A checkpoint is self-contained: the text encoder's and stage I's constructor arguments are stored in the
hyper-parameters (``text_encoder_spec``, ``stage1_spec``) and their weights in the state dict, and the caption
vocabulary and example captions in ``checkpoint["lightgen"]["text"]``, so ``lightgen sample`` can encode a caption
from the checkpoint alone.
"""

from __future__ import annotations

import contextvars
import copy
import importlib
from dataclasses import replace
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from lightgen.data.vocab import Vocabulary
from lightgen.errors import CheckpointError, LightgenError
from lightgen.losses.conditioning import kl_to_standard_normal
from lightgen.losses.gan import LossDict
from lightgen.models.base import CHECKPOINT_KEY
from lightgen.models.gan import GAN
from lightgen.models.latent import Latent
from lightgen.nets.stackgan import (
    CAugment,
    MatchingDiscriminator,
    StackedGenerator,
    Stage1Generator,
    Stage2Generator,
    check_size,
)

STAGE1_KEYS = ("latent_dim", "ca_dim", "g_width", "stage1_size")


def _state(checkpoint: dict[str, Any], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of a state dict under ``prefix.``, prefix removed."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix + ".")}


def build_text_encoder(spec: dict[str, Any]) -> nn.Module:
    """The text-image matching model of ``spec`` ({class_path, hparams}), untrained weights, frozen, eval mode."""
    module_name, _, name = str(spec["class_path"]).rpartition(".")
    if not module_name.startswith("lightgen."):
        raise CheckpointError(f"text encoder class {spec['class_path']!r} is not lightgen's")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise CheckpointError(f"text encoder class {spec['class_path']!r} does not exist") from None
    if not hasattr(cls, "encode_text"):
        raise CheckpointError(f"{spec['class_path']} has no encode_text(ids, lengths); not a text encoder")
    # built in a fresh context: inside LightningCLI's instantiation of the StackGAN, Lightning's context variable
    # of "given hyper-parameters" would make the nested module's save_hyperparameters() take the StackGAN's
    encoder = contextvars.Context().run(cls, **spec["hparams"])
    return encoder.requires_grad_(False).eval()


def read_text_encoder(path: str) -> tuple[dict[str, Any], dict[str, torch.Tensor], list[str] | None]:
    """(spec, weights, vocabulary words or None) of a text-image matching checkpoint (configs/text_matching.yaml)."""
    from lightgen.checkpoint import load_checkpoint  # it imports lightgen.models: not at the top

    checkpoint = load_checkpoint(path)
    class_path = checkpoint.get(CHECKPOINT_KEY, {}).get("class_path", "")
    hparams = {k: v for k, v in dict(checkpoint.get("hyper_parameters", {})).items() if not k.startswith("_")}
    spec = {"class_path": class_path, "hparams": hparams}
    try:
        encoder = build_text_encoder(spec)
        encoder.load_state_dict(checkpoint["state_dict"])
    except (CheckpointError, TypeError, RuntimeError, KeyError) as err:
        raise CheckpointError(
            f"text_encoder {path} is not a text-image matching checkpoint (train configs/text_matching.yaml): "
            f"{str(err).splitlines()[0]}"
        ) from None
    with torch.no_grad():  # phi_t's size, from one caption "<eos>"
        spec["embed_dim"] = int(encoder.encode_text(torch.full((1, 2), 2), torch.ones(1, dtype=torch.long)).shape[1])
    words = checkpoint.get(CHECKPOINT_KEY, {}).get("text", {}).get("vocab")
    if words is None and getattr(encoder, "vocab", None) is not None:
        words = list(encoder.vocab.words)
    return spec, checkpoint["state_dict"], words


class StackGAN(GAN):
    """StackGAN's stage I (``stage: 1``) or stage II (``stage: 2``) on captioned images.

    Args:
        data_shape: (C, S, S) of the datamodule's images (linked by the CLI): stage II's output size.
        stage: 1 or 2; train stage I first, then stage II with ``stage1`` set to its checkpoint.
        text_encoder: stage I: checkpoint of a TextImageMatching model (configs/text_matching.yaml), frozen.
            Stage II takes stage I's text encoder and refuses this argument.
        stage1: stage II: stage I's checkpoint (its generator is loaded and frozen).
        stage1_size: stage I's image size (the paper: 64 for 256; here 16 for 64: the paper's ratio of 4).
        latent_dim: N_z, the size of z (the paper: 100). Stage II takes stage I's.
        ca_dim: N_g, the size of the conditioning c (the paper: 128).
        kl_weight: lambda of the KL term in G's loss (the paper: 1, eq. 6; the official code: 2 / ca_dim with
            this summed KL, see :mod:`lightgen.losses.conditioning`).
        g_width: the last upsampling block's channels (stage I: doubled per block towards the 4x4 map).
        g_res_blocks / g_down: stage II's residual blocks and downsampling convs of the stage-I image.
        d_width / text_dim: D's first block's channels and N_d, the compressed embedding (the paper: 128).
        example_captions: captions of the validation split kept at fit start for ``sample()`` without captions.
        text_encoder_spec / stage1_spec: filled in from the files when training starts; stored so a checkpoint
            rebuilds without them (leave unset).
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN` (objective, optimizers, schedulers...).
    """

    supports_packing = False  # D judges (image, text) pairs one at a time

    def __init__(
        self,
        data_shape: tuple[int, ...],
        stage: Literal[1, 2] = 1,
        text_encoder: str | None = None,
        stage1: str | None = None,
        stage1_size: int = 16,
        latent_dim: int = 100,
        ca_dim: int = 128,
        kl_weight: float = 1.0,
        g_width: int = 64,
        g_res_blocks: int = 2,
        g_down: int = 1,
        d_width: int = 64,
        text_dim: int = 128,
        example_captions: int = 8,
        text_encoder_spec: dict[str, Any] | None = None,
        stage1_spec: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if stage not in (1, 2):
            raise LightgenError(f"stage must be 1 or 2; got {stage!r}")
        if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
            raise LightgenError(f"StackGAN takes square images (C, S, S); got data_shape {tuple(data_shape)}")
        check_size(int(data_shape[-1]), "the image size")
        check_size(stage1_size, "stage1_size")
        if stage == 2 and stage1_size >= data_shape[-1]:
            raise LightgenError(
                f"stage II's images ({data_shape[-1]} px) must be larger than stage I's ({stage1_size})"
            )
        if kl_weight < 0 or ca_dim < 1:
            raise LightgenError(f"kl_weight must be >= 0 and ca_dim >= 1; got {kl_weight}, {ca_dim}")
        # what the files give: read before the networks are built (plain data until nn.Module is set up)
        self._loaded: dict[str, Any] = {"text": {}}
        if stage == 1:
            if stage1 is not None:
                raise LightgenError("stage1 is stage II's argument; stage I takes text_encoder only")
            if text_encoder_spec is None:
                if text_encoder is None:
                    raise LightgenError(
                        "StackGAN needs text_encoder: a checkpoint of configs/text_matching.yaml (train it first)"
                    )
                text_encoder_spec, weights, words = read_text_encoder(text_encoder)
                self._loaded.update(encoder=weights, text={"vocab": words} if words else {})
        else:
            if text_encoder is not None:
                raise LightgenError("stage II takes its text encoder from the stage-I checkpoint; drop text_encoder")
            if stage1_spec is None:
                if stage1 is None:
                    raise LightgenError("stage 2 needs stage1: the checkpoint of a StackGAN stage-I run")
                stage1_spec, text_encoder_spec = self._read_stage1(stage1)
            latent_dim = int(stage1_spec["latent_dim"])
            if int(stage1_spec["channels"]) != int(data_shape[0]):
                raise LightgenError(
                    f"stage I made {stage1_spec['channels']}-channel images; the data has {data_shape[0]}"
                )
        self._embed_dim = int(text_encoder_spec["embed_dim"])
        self._stage1_spec = stage1_spec
        super().__init__(data_shape, latent_dim=latent_dim, **kwargs)
        self.hparams["latent_dim"] = latent_dim
        self.hparams["text_encoder_spec"] = text_encoder_spec
        self.hparams["stage1_spec"] = stage1_spec
        self._hparams_initial = copy.deepcopy(self._hparams)
        self.text_encoder = build_text_encoder(text_encoder_spec)
        if "encoder" in self._loaded:
            self.text_encoder.load_state_dict(self._loaded.pop("encoder"))
        text = self._loaded.pop("text")
        self.vocab: Vocabulary | None = Vocabulary(text["vocab"]) if text.get("vocab") else None
        if self.vocab is None and getattr(self.text_encoder, "vocab", None) is not None:
            self.vocab = Vocabulary(list(self.text_encoder.vocab.words))  # the encoder's own (TextImageMatching's)
        self.caption_length: int = int(text.get("caption_length", 16))
        self.captions: list[str] = list(text.get("captions", []))
        self._loaded.clear()

    def _read_stage1(self, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Stage I's spec and text encoder spec; its generator and text weights are kept for the build."""
        from lightgen.checkpoint import load_checkpoint  # it imports lightgen.models: not at the top

        checkpoint = load_checkpoint(path)
        meta = checkpoint.get(CHECKPOINT_KEY, {})
        hp = dict(checkpoint.get("hyper_parameters", {}))
        if not str(meta.get("class_path", "")).endswith(".StackGAN") or hp.get("stage") != 1:
            raise CheckpointError(f"stage1 {path} is not a StackGAN stage-I checkpoint (stackgan_stage1.yaml)")
        generator = "generator_ema" if _state(checkpoint, "generator_ema") else "generator"
        self._loaded.update(
            encoder=_state(checkpoint, "text_encoder"),
            stage1=_state(checkpoint, generator),
            text=dict(meta.get("text", {})),
        )
        spec = {k: hp[k] for k in STAGE1_KEYS}
        spec["channels"] = int(hp["data_shape"][0])
        return spec, hp["text_encoder_spec"]

    # ------------------------------------------------------------------ hooks: networks
    @property
    def stage(self) -> int:
        return int(self.hparams.stage)

    @property
    def image_size(self) -> int:
        """The size this stage generates and D judges."""
        return int(self.hparams.stage1_size) if self.stage == 1 else self.data_shape[-1]

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        """Shape of one sample: stage I draws ``stage1_size`` images, stage II the datamodule's."""
        return (self.data_shape[0], self.image_size, self.image_size)

    def _stage1_generator(self, spec: dict[str, Any]) -> StackedGenerator:
        shape = (int(spec["channels"]), int(spec["stage1_size"]), int(spec["stage1_size"]))
        net = Stage1Generator(int(spec["latent_dim"]), int(spec["ca_dim"]), shape, int(spec["g_width"]))
        return StackedGenerator(CAugment(self._embed_dim, int(spec["ca_dim"])), net, int(spec["latent_dim"]))

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        c = self.data_shape[0]
        if self.stage == 1:
            spec = {"latent_dim": self.latent_dim, "ca_dim": hp.ca_dim, "g_width": hp.g_width, "channels": c}
            return self._stage1_generator({**spec, "stage1_size": hp.stage1_size})
        first = self._stage1_generator(self._stage1_spec)
        if "stage1" in self._loaded:  # before the EMA copy is taken
            first.load_state_dict(self._loaded.pop("stage1"))
        s1 = int(self._stage1_spec["stage1_size"])
        net = Stage2Generator(hp.ca_dim, (c, s1, s1), self.data_shape, hp.g_width, hp.g_res_blocks, hp.g_down)
        return StackedGenerator(CAugment(self._embed_dim, hp.ca_dim), net, self.latent_dim, stage1=first)

    def build_discriminator(self) -> nn.Module:
        hp = self.hparams
        shape = (self.data_shape[0], self.image_size, self.image_size)
        return MatchingDiscriminator(shape, self._embed_dim, hp.d_width, hp.text_dim)

    def generator_parameters(self) -> list[nn.Parameter]:
        """Stage I: CA_0 and G_0; stage II: its own CA and G only (stage I is frozen)."""
        return [*self.generator.augment.parameters(), *self.generator.net.parameters()]

    def train(self, mode: bool = True) -> StackGAN:
        """Train mode for the trained players; the frozen text encoder stays in eval mode (stage I's generator
        keeps itself in eval mode: :class:`~lightgen.nets.stackgan.StackedGenerator`)."""
        super().train(mode)
        if "text_encoder" in self._modules:
            self.text_encoder.eval()
        return self

    # ------------------------------------------------------------------ hooks: data and latents
    def embed_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """phi_t (N, E) of captions (ids (N, L), lengths (N,)) from the frozen encoder, no gradient."""
        with torch.no_grad():
            return self.text_encoder.encode_text(ids.to(self.device).long(), lengths.to(self.device).long())

    def _batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not isinstance(batch, (tuple, list)) or len(batch) < 3:
            raise LightgenError(
                "StackGAN trains on (images, caption_ids, caption_lengths, ...) batches (lightgen.data.CaptionedImages)"
            )
        images = batch[0]
        if tuple(images.shape[1:]) != self.data_shape:
            raise LightgenError(f"StackGAN was built for images {self.data_shape}; got {tuple(images.shape[1:])}")
        return images, batch[1], batch[2]

    def real_from_batch(self, batch: Any) -> torch.Tensor:
        """The batch's images at this stage's size (stage I: area-downsampled, sec. 3.2)."""
        images = self._batch(batch)[0]
        if self.stage == 1 and images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="area")
        return images

    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """[z, eps_0 (, eps)] ~ N(0, I): z and each stage's CA noise, one row per draw. Each stage's block is
        drawn in turn, so a seed gives stage II the very draws (and stage-I images) it gives stage I."""
        blocks = [torch.randn(n, d, generator=generator, device=self.device) for d in self.generator.noise_blocks]
        return Latent(torch.cat(blocks, dim=1))

    def condition_on_batch(self, latent: Latent, batch: Any) -> Latent:
        """context = phi_t of the batch's captions; codes = the wrong texts, phi_t rolled by one along the batch."""
        if batch is None:
            return latent
        _, ids, lengths = self._batch(batch)
        phi = self.embed_text(ids, lengths)
        labels = batch[3].to(self.device) if len(batch) > 3 else None
        return Latent(latent.z, labels=labels, codes=phi.roll(1, dims=0), context=phi)

    @staticmethod
    def wrong_text(latent: Latent) -> Latent:
        """The same draw paired with the wrong texts (codes) in place of the right ones."""
        if latent.codes is None:
            raise LightgenError("the matching-aware D needs wrong-text embeddings in Latent.codes (a training batch)")
        return replace(latent, context=latent.codes, codes=latent.context)

    # ------------------------------------------------------------------ hooks: the players
    def _text(self, latent: Latent | None) -> torch.Tensor:
        if latent is None or latent.context is None:
            raise LightgenError("StackGAN needs text embeddings in Latent.context (captions or a training batch)")
        return latent.context

    def generate(self, latent: Latent, net: nn.Module | None = None) -> torch.Tensor:
        """Stage I: G_0(z, c_0); stage II: G(G_0(z, c_0), c), c_i = CA_i(phi_t, eps_i)."""
        return (net if net is not None else self.g_net)(latent.z, self._text(latent))

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D(x, phi_t): logits (N,)."""
        return self.d_net(x, self._text(latent))

    def discriminator_features(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        return self.discriminator.features(x, self._text(latent))

    # ------------------------------------------------------------------ hooks: losses
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, latent: Latent, regularize: bool = True) -> LossDict:
        """Matching-aware J(D) = 1/2 [J(D(x, phi), D(G(z), phi)) + J(D(x, phi), D(x, phi_wrong))] plus the
        objective's regularisers (on the right-text pairs) when due; see the module docstring."""
        obj, critic, wrong = self.objective, self.critic(latent), self.critic(self.wrong_text(latent))
        real_out, fake_out, wrong_out = critic(real), critic(fake), wrong(real)
        matched, mismatched = obj.d_cost(real_out, fake_out), obj.d_cost(real_out, wrong_out)
        terms: LossDict = {"loss": 0.5 * (matched["loss"] + mismatched["loss"])}
        terms["fake_pairs"], terms["wrong_pairs"] = matched["loss"].detach(), mismatched["loss"].detach()
        terms.update(obj.scores(real_out.detach(), fake_out.detach()))
        wrong_score = obj.scores(wrong_out.detach(), wrong_out.detach())
        terms["d_wrong" if obj.probabilistic else "wrong_score"] = next(iter(wrong_score.values()))
        gen, scale = self.penalty_inputs(regularize)
        for reg in obj.regularizers if regularize else []:
            if self.discriminator_steps % reg.every == 0:
                reg_terms = reg(critic, real, fake, gen, scale)
                terms["loss"] = terms["loss"] + reg.every * reg_terms["loss"]
                terms[reg.name] = reg_terms["loss"].detach()
                if "grad_norm" in reg_terms:
                    terms[f"{reg.name}_grad_norm"] = reg_terms["grad_norm"]
        return terms

    def g_loss(self, fake: torch.Tensor, latent: Latent, real: torch.Tensor | None = None) -> LossDict:
        """The objective's J(G) + kl_weight * KL(N(mu(phi_t), sigma(phi_t)^2) || N(0, I)) of this stage's CA
        (eq. 6; mu and sigma recomputed from phi_t, the deterministic half of CA)."""
        terms = self.objective.g_loss(self.critic(latent), fake, real)
        kl = kl_to_standard_normal(*self.generator.augment.stats(self._text(latent)))
        terms["adversarial"], terms["kl"] = terms["loss"].detach(), kl.detach()
        terms["loss"] = terms["loss"] + self.hparams.kl_weight * kl
        return terms

    # ------------------------------------------------------------------ captions and sampling
    def encode_captions(self, captions: list[str]) -> torch.Tensor:
        """phi_t (M, E) of caption strings, through the stored vocabulary."""
        if self.vocab is None:
            raise LightgenError("this StackGAN has no caption vocabulary yet (it is stored when training starts)")
        if not captions:
            raise LightgenError("give at least one caption")
        ids, lengths = self.vocab.encode_many(list(captions), self.caption_length)
        return self.embed_text(ids, lengths)

    def caption_latent(self, n: int, seed: int | None = None, captions: list[str] | None = None) -> Latent:
        """n draws, draw i for caption i mod len(captions) (default: the stored example captions)."""
        captions = list(captions) if captions is not None else self.captions
        if not captions:
            raise LightgenError("no captions to sample from: pass captions (the model stores none before training)")
        phi = self.encode_captions(captions)
        index = torch.arange(n, device=phi.device) % len(captions)
        return self.latent_prior(n, self.make_generator(seed)).with_context(phi[index])

    def sample(
        self,
        n: int,
        seed: int | None = None,
        labels: torch.Tensor | int | None = None,
        weights: Literal["ema", "raw"] | None = None,
        captions: list[str] | None = None,
    ) -> torch.Tensor:
        """n images (N, C, S, S) for ``captions`` (cycled; default the stored example captions)."""
        if labels is not None:
            raise LightgenError("StackGAN is conditioned on captions, not labels; pass captions")
        return self.sample_from(self.caption_latent(n, seed, captions), weights)

    @torch.no_grad()
    def sample_stages(
        self, n: int, seed: int | None = None, captions: list[str] | None = None, weights: str | None = None
    ) -> list[torch.Tensor]:
        """Every stage's images for the same draws, lowest resolution first (stage I model: one entry)."""
        latent = self.caption_latent(n, seed, captions)
        net = self.generator_ema if weights != "raw" and self.generator_ema is not None else self.generator
        was_training = net.training
        net.eval()
        try:
            return net.stages(latent.z, self._text(latent))
        finally:
            net.train(was_training)

    # ------------------------------------------------------------------ vocabulary and example captions
    def on_fit_start(self) -> None:
        """Take the datamodule's vocabulary (checked against the stored one) and keep example captions."""
        super().on_fit_start()
        dm = self.trainer.datamodule if self._trainer is not None else None
        vocab = getattr(dm, "vocab", None)
        if vocab is not None:
            if self.vocab is not None and self.vocab.words != vocab.words:
                raise LightgenError(
                    "the datamodule's caption vocabulary differs from the text encoder's (train the text encoder "
                    "on the same captions: same data root and captions_per_image / caption_seed)"
                )
            self.vocab, self.caption_length = vocab, int(getattr(dm, "caption_length", self.caption_length))
        if not self.captions and dm is not None:
            split = "val" if getattr(dm, "val_set", None) is not None else "train"
            dataset = getattr(dm, f"{split}_set", None)
            count = min(int(self.hparams.example_captions), len(dataset) if dataset is not None else 0)
            self.captions = [dm.captions(i, split)[0] for i in range(count)]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint[CHECKPOINT_KEY]["text"] = {
            "vocab": self.vocab.words if self.vocab is not None else None,
            "caption_length": self.caption_length,
            "captions": list(self.captions),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        text = checkpoint.get(CHECKPOINT_KEY, {}).get("text", {})
        if text.get("vocab"):
            self.vocab = Vocabulary(text["vocab"])
        self.caption_length = int(text.get("caption_length", self.caption_length))
        self.captions = list(text.get("captions", self.captions))
