"""SRResNet and SRGAN: x4 single-image super-resolution (Ledig et al. 2017, "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network").

- :class:`SRResNet`: the generator G_theta alone (16 residual blocks, two sub-pixel x2 upsamplings, fig. 4)
  trained on the pixel MSE (eq. 4); the paper's PSNR-oriented network and SRGAN's initialisation.
- :class:`SRGAN`: the same G against the paper's D on HR images (eq. 2), G minimising the perceptual loss
  l^SR = l^SR_X + 1e-3 l^SR_Gen (eq. 3): a content loss (pixel MSE, or MSE of pretrained-network feature
  maps, eq. 5) plus the adversarial -log D(G(I_LR)) (eq. 6).

Batches are ``(lr, hr)`` pairs (:mod:`lightgen.data.superres`); images in [-1, 1] (G ends in tanh, sec. 3.2).
Validation logs ``val/mse``, ``val/psnr`` (the SR protocol of :mod:`lightgen.metrics.sr_quality`: 8-bit
output, Y channel, a 4-pixel border cropped, mean over images) and, once, ``val/psnr_bicubic``: bicubic
upsampling of the LR input (PIL's kernel, a = -0.5 as MATLAB's imresize), the baseline of the paper's
tables. Paper schedule (sec. 3.2): Adam beta1 0.9; SRResNet 10^6 updates at lr 1e-4; SRGAN initialised
with it, 10^5 updates at 1e-4 then 10^5 at 1e-5; batches of 16 HR crops of 96 px.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lightgen.errors import CheckpointError, LightgenError
from lightgen.files import file_sha256
from lightgen.losses.gan import LossDict
from lightgen.metrics.sr_quality import psnr_y, quantize_8bit
from lightgen.models.base import CHECKPOINT_KEY
from lightgen.models.latent import Latent
from lightgen.models.translation import ImageTranslationGAN
from lightgen.nets import srresnet
from lightgen.nets.content_features import DEFAULT_LAYER, InceptionContentFeatures

PAPER_LR, PAPER_BETAS = 1e-4, (0.9, 0.999)  # sec. 3.2: Adam, beta1 = 0.9, lr 1e-4
FEATURE_WEIGHT = 1 / 12.75  # see SRGAN's docstring: keeps the feature loss on the scale of the pixel MSE
ADVERSARIAL_WEIGHT = 1e-3  # eq. 3


def bicubic_upsample(lr: torch.Tensor, scale: int, value_range: tuple[float, float]) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, h*scale, w*scale) by PIL's bicubic filter on each float channel, clipped to
    ``value_range``: the baseline of the SR literature (MATLAB imresize; PIL and MATLAB use a = -0.5)."""
    from PIL import Image

    arr = lr.detach().float().cpu().numpy()
    n, c, h, w = arr.shape
    out = np.empty((n, c, h * scale, w * scale), dtype=np.float32)
    for i in range(n):
        for j in range(c):
            out[i, j] = np.asarray(Image.fromarray(arr[i, j]).resize((w * scale, h * scale), Image.BICUBIC))
    return torch.from_numpy(out).clamp(*value_range).to(lr)


def optimizer_with_paper_default(factory: Any, params: Any) -> torch.optim.Optimizer:
    """``factory(params)``, or the paper's Adam(lr=1e-4, betas=(0.9, 0.999)) when none is given."""
    params = list(params)
    return factory(params) if factory else torch.optim.Adam(params, lr=PAPER_LR, betas=PAPER_BETAS)


class SuperResolutionGAN(ImageTranslationGAN):
    """What SRResNet and SRGAN share: the SRResNet generator, the content loss, PSNR validation.

    Args:
        data_shape: shape of one HR image, linked from the datamodule.
        scale: HR size / LR size (4 in the paper; a power of two).
        num_blocks: residual blocks of G (B = 16 in the paper).
        channels: feature maps of G (64).
        eval_border: pixels cropped from each border before PSNR (4 in the paper, sec. 3.1).
        **kwargs: :class:`~lightgen.models.translation.ImageTranslationGAN`'s and the GAN's options
            (num_examples, g_optimizer, g_scheduler, max_generator_steps, ema_decay, ...).
    """

    content: str = "mse"

    def __init__(
        self,
        data_shape: tuple[int, ...],
        scale: int = 4,
        num_blocks: int = 16,
        channels: int = 64,
        eval_border: int = 4,
        **kwargs: Any,
    ) -> None:
        if eval_border < 0:
            raise LightgenError(f"eval_border must be >= 0 pixels; got {eval_border}")
        super().__init__(data_shape, scale=scale, **kwargs)
        self._bicubic_logged = False

    def build_generator(self) -> nn.Module:
        hp = self.hparams
        return srresnet.SRResNet(self._source_channels, self.data_shape[0], hp.num_blocks, hp.channels, self._scale)

    # ------------------------------------------------------------------ losses
    def content_terms(self, fake: torch.Tensor, real: torch.Tensor) -> LossDict:
        """l^SR_MSE (eq. 4): the pixel MSE of G(I_LR) against I_HR, images in [-1, 1] as in sec. 3.2."""
        mse = F.mse_loss(fake, real)
        return {"loss": mse, "mse": mse}

    # ------------------------------------------------------------------ validation
    def psnr(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-image PSNR (N,) in dB: 8-bit images, Y channel, ``eval_border`` pixels cropped."""
        low, high = self.value_range

        def unit(x: torch.Tensor) -> torch.Tensor:
            return quantize_8bit((x.float() - low) / (high - low))

        return psnr_y(unit(output), unit(target), border=self.hparams.eval_border)

    @torch.no_grad()
    def _evaluate_sr(self, batch: Any, stage: str) -> None:
        """``<stage>/mse`` and ``<stage>/psnr`` of G(lr) (the EMA generator when kept); the bicubic baseline
        ``<stage>/psnr_bicubic`` in the first validation after the sanity check (it does not change), and
        in every test."""
        lr, hr = self.source_from_batch(batch), self.real_from_batch(batch)
        sr = self.translate(lr)
        metrics = {f"{stage}/mse": F.mse_loss(sr, hr), f"{stage}/psnr": self.psnr(sr, hr).mean()}
        if stage != "val" or not self._bicubic_logged:
            metrics[f"{stage}/psnr_bicubic"] = self.psnr(bicubic_upsample(lr, self._scale, self.value_range), hr).mean()
        self.log_dict(metrics, sync_dist=True, batch_size=hr.shape[0])

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate_sr(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate_sr(batch, "test")

    def on_validation_epoch_end(self) -> None:
        if self._trainer is not None and not self.trainer.sanity_checking:
            self._bicubic_logged = True


class SRResNet(SuperResolutionGAN):
    """SRResNet (Ledig et al. 2017, sec. 2.2 and 3.2): G alone, one Adam step per batch on the pixel MSE
    (eq. 4). No discriminator is built (an empty module stands in its place) and only G's optimizer
    exists; the D options of the GAN base are ignored. Counters, EMA, ``max_generator_steps``, the
    non-finite check and logging are the GAN's (``g_loss`` and ``g/mse``).

    Args: those of :class:`SuperResolutionGAN`; ``g_optimizer`` defaults to the paper's Adam(1e-4, (0.9, 0.999)).
    """

    def build_discriminator(self) -> nn.Module:
        return nn.Module()  # SRResNet has no adversary

    def ddp_players(self) -> tuple[str, ...]:
        return ("generator",)

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return []

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real = self._memory_format(self.real_from_batch(batch))
        opt = self.optimizers()
        latent = self.sample_latent(real.shape[0], draw=0, batch=batch)
        terms = self.content_terms(self.generate(latent), real)
        scale = self.update(opt, terms["loss"])
        self.after_g_update(terms, scale)
        self._log_terms("g", terms)
        self.stop_at_max_generator_steps()
        self.batches_seen += 1
        self.log("generator_steps", float(self.generator_steps), on_step=True, prog_bar=True)

    def configure_optimizers(self) -> Any:
        g_factory, g_scheduler = self._optimizer_factories[0], self._scheduler_factories[0]
        opt = optimizer_with_paper_default(g_factory, self.generator_parameters())
        schedulers = [{"scheduler": g_scheduler(opt), "interval": "epoch"}] if g_scheduler is not None else []
        return [opt], schedulers


class SRGAN(SuperResolutionGAN):
    """SRGAN (Ledig et al. 2017, sec. 2): the SRResNet G against the paper's D, which judges HR images
    alone (unconditional, eq. 2); G minimises l^SR = l^SR_X + 1e-3 l^SR_Gen (eq. 3).

    Adversarial term: the paper's l^SR_Gen = -log D(G(I_LR)) (eq. 6, averaged over the batch). lightgen's
    objectives carry a factor 1/2 (NonSaturating's G cost is 0.5 softplus(-D) = 0.5 (-log sigmoid(D))), so
    the objective's G cost is doubled here: with the default NonSaturating objective the G loss is exactly
    content + 1e-3 * mean(-log D(G(I_LR))). D's cost, 0.5 (BCE(real) + BCE(fake)), is the objective's own.

    Content loss (``content``): ``"mse"`` (SRGAN-MSE, eq. 4) or ``"features"`` (eq. 5): the MSE between
    feature maps of G(I_LR) and I_HR in a fixed pretrained network. The paper uses VGG19's phi_{5,4},
    which cannot be downloaded here; we use the FID Inception-v3 that lightgen already prepares, up to
    ``Mixed_5d`` (:mod:`lightgen.nets.content_features` says why). Scale: the paper rescales its VGG
    feature maps by 1/12.75 (the loss by ~0.006) so that the VGG loss is on the scale of the pixel MSE.
    Inception's Mixed_5d maps have unit-order activations; on 96-px photo crops their MSE was 12.6x the
    pixel MSE (in [-1, 1]) for bicubic x4 blur and 15x for Gaussian noise, so the same aim is reached by
    multiplying the feature MSE by ``feature_weight`` = 1/12.75 (0.078).

    The feature network is not a submodule: it is never optimised nor saved in checkpoints. The model keeps
    only the weights file's path and sha256 (hyper-parameters, recorded at first use) and loads the file
    lazily; a different file under that path is refused.

    Args:
        d_channels: channels of D's first conv (64; the others are 2x, 4x, 8x of it, fig. 4).
        content: ``"mse"`` or ``"features"``.
        feature_layer: the Inception block of the feature maps (``"Mixed_5d"``).
        feature_weight: multiplier of the feature MSE (see above).
        adversarial_weight: weight of -log D(G(I_LR)) in G's loss (1e-3, eq. 3).
        content_weights: the Inception weights file (None: ``<data root>/inception/`` of the datamodule's root,
            else of ``$LIGHTGEN_DATA`` or ``./data``; made by ``lightgen data prepare inception``).
        content_weights_sha256: the file's expected sha256 (None: recorded at first use).
        generator_init: an SRResNet (or SRGAN) checkpoint whose generator initialises G when a fit starts
            from scratch (the paper's SRGAN starts from the trained SRResNet, sec. 3.2); its EMA generator
            when it kept one.
        **kwargs: those of :class:`SuperResolutionGAN` (scale, num_blocks, channels, ...) and the GAN's
            (objective, d_steps, g_optimizer, d_optimizer, ...); optimizers default to the paper's Adam.
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        d_channels: int = 64,
        content: Literal["mse", "features"] = "features",
        feature_layer: str = DEFAULT_LAYER,
        feature_weight: float = FEATURE_WEIGHT,
        adversarial_weight: float = ADVERSARIAL_WEIGHT,
        content_weights: str | None = None,
        content_weights_sha256: str | None = None,
        generator_init: str | None = None,
        **kwargs: Any,
    ) -> None:
        if content not in ("mse", "features"):
            raise LightgenError(f"content must be 'mse' or 'features'; got {content!r}")
        if len(data_shape) == 3 and data_shape[1] != data_shape[2]:
            raise LightgenError(f"SRGAN's discriminator takes square HR crops; got data_shape {tuple(data_shape)}")
        super().__init__(data_shape, **kwargs)
        self.content = content
        self._content_net: InceptionContentFeatures | None = None

    def build_discriminator(self) -> nn.Module:
        c, h, _ = self.d_input_shape
        return srresnet.SRDiscriminator(c, image_size=h, base_channels=self.hparams.d_channels)

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        """HR images only (packed along channels under ``d_pack``): D is unconditional (eq. 2)."""
        m = int(self.hparams.get("d_pack", 1))
        return (self.data_shape[0] * m, *self.data_shape[1:])

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D(x) (N,) for HR or SR images x; the LR source in ``latent`` is not shown to D."""
        return self.d_net(self.pack(x))

    # ------------------------------------------------------------------ losses
    def content_network(self) -> InceptionContentFeatures:
        """The frozen feature network, loaded on first use (not a submodule: never optimised nor saved)."""
        if self._content_net is None:
            path = self._content_weights_path()
            digest, expected = file_sha256(path), self.hparams.get("content_weights_sha256")
            if expected and digest != expected:
                raise LightgenError(
                    f"content weights {path} have sha256 {digest[:16]}..., not the {expected[:16]}... this model "
                    "was trained with; restore that file or set model.init_args.content_weights_sha256"
                )
            self.hparams["content_weights"], self.hparams["content_weights_sha256"] = str(path), digest
            object.__setattr__(self, "_content_net", InceptionContentFeatures(path, self.hparams.feature_layer))
        net = self._content_net.to(self.device)
        object.__setattr__(self, "_content_net", net)
        return net

    def _content_weights_path(self) -> Path:
        from lightgen.metrics.inception import inception_weights_path

        if self.hparams.get("content_weights"):
            path = Path(self.hparams.content_weights)
            if not path.is_file():
                raise LightgenError(
                    f"content weights not found at {path}; run `lightgen data prepare inception` "
                    "or set model.init_args.content_weights"
                )
            return path
        datamodule = self.trainer.datamodule if self._trainer is not None else None
        return inception_weights_path(getattr(datamodule, "root", None))

    def content_terms(self, fake: torch.Tensor, real: torch.Tensor) -> LossDict:
        """l^SR_X: the pixel MSE (eq. 4), or ``feature_weight`` * MSE(phi(G(I_LR)), phi(I_HR)) (eq. 5)."""
        if self.content == "mse":
            return super().content_terms(fake, real)
        net = self.content_network()
        with torch.no_grad():
            target = net(real)
        features = self.hparams.feature_weight * F.mse_loss(net(fake), target)
        return {"loss": features, "features": features, "mse": F.mse_loss(fake.detach(), real)}

    def g_loss(self, fake: torch.Tensor, latent: Latent, real: torch.Tensor | None = None) -> LossDict:
        """l^SR = l^SR_X + adversarial_weight * paper_g_scale * J(G) (eq. 3): for NonSaturating, 2 J(G) is the
        paper's -log D(G(I_LR)) (eq. 6)."""
        if real is None:
            raise LightgenError("SRGAN's generator loss needs the HR images of the batch")
        content = self.content_terms(fake, real)
        adversarial = self.objective.paper_g_scale * self.objective.g_loss(self.critic(latent), fake, real)["loss"]
        loss = content["loss"] + self.hparams.adversarial_weight * adversarial
        return {"loss": loss, "content": content["loss"], "adversarial": adversarial, "mse": content["mse"]}

    # ------------------------------------------------------------------ initialisation from SRResNet
    def on_fit_start(self) -> None:
        super().on_fit_start()
        if self.hparams.generator_init and self.generator_steps == 0:  # not on a resumed run
            self.init_generator(self.hparams.generator_init)

    def init_generator(self, path: str | Path) -> None:
        """Copy the generator weights of an SRResNet / SRGAN checkpoint into G (and its EMA), exactly."""
        from lightgen.checkpoint import load_checkpoint, resolve_model_class  # it imports the models: not at the top

        checkpoint = load_checkpoint(path)
        class_path = str((checkpoint.get(CHECKPOINT_KEY) or {}).get("class_path", ""))
        try:
            cls = resolve_model_class(class_path)
        except CheckpointError:
            cls = None
        if cls is None or not issubclass(cls, SuperResolutionGAN):
            held = class_path or "no lightgen model"
            raise CheckpointError(f"generator_init {path} is not an SRResNet/SRGAN checkpoint (it holds {held})")
        state = checkpoint["state_dict"]
        prefix = "generator_ema." if any(k.startswith("generator_ema.") for k in state) else "generator."
        weights = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        own = self.generator.state_dict()
        bad = sorted(set(own) ^ set(weights)) or [k for k in own if own[k].shape != weights[k].shape]
        if bad:
            raise CheckpointError(
                f"generator_init {path}: its generator does not fit this SRGAN's (first mismatch {bad[0]!r}; "
                "num_blocks, channels, scale and image channels must match)"
            )
        self.generator.load_state_dict(weights)
        if self.generator_ema is not None:
            self.generator_ema.load_state_dict(weights)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._evaluate_sr(batch, "val")
        self._evaluate_discriminator(batch, batch_idx, "val")  # J(D), D(x), D(G(z)) on held-out pairs

    def configure_optimizers(self) -> Any:
        optimizers = [
            optimizer_with_paper_default(factory, params)
            for factory, params in zip(
                self._optimizer_factories, (self.generator_parameters(), self.discriminator_parameters())
            )
        ]
        schedulers = [
            {"scheduler": factory(opt), "interval": "epoch"}
            for factory, opt in zip(self._scheduler_factories, optimizers)
            if factory is not None
        ]
        return optimizers, schedulers
