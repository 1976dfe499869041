"""The base of the image-to-image GANs: G maps a source image to a target image, D judges (source, image).

pix2pix (Isola et al. 2017) and SRGAN (Ledig et al. 2017) are this loop with their own networks and
G costs; CycleGAN (Zhu et al. 2017) keeps the picture and evaluation seams and writes its own step.

What a batch is: ``(source, target)`` or ``(source, target, label)`` (the datamodules of
:mod:`lightgen.data.paired`, :mod:`lightgen.data.unpaired`, :mod:`lightgen.data.superres`). The real
examples are the targets (``real_from_batch``); the source rides in ``Latent.context``
(``condition_on_batch``), so the GAN loop, the objectives, the penalties, validation and the
checkpoints work unchanged. z is empty by default (pix2pix's noise is G's dropout, sec. 3.1).

What ``sample()`` means here: the translation of sources, by default of ``example_sources``, the first
``num_examples`` sources of the datamodule's validation (else test, else train) split, stored in the
model when fitting starts (a buffer: checkpoints keep them, so ``lightgen sample --ckpt`` needs no data).
:meth:`translate` maps any batch of sources.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import default_collate

from lightgen.errors import LightgenError
from lightgen.models.gan import GAN
from lightgen.models.latent import Latent


class ImageTranslationGAN(GAN):
    """A GAN whose generator translates a source image (``Latent.context``) into a target image.

    Args:
        data_shape: shape of one target image, linked from the datamodule.
        source_channels: channels of a source image (None: as the target's).
        scale: target size / source size (1 for translation, 4 for x4 super-resolution).
        num_examples: sources kept in the model for ``sample()`` and the pictures.
        latent_dim: size of an extra z (0: none; G's dropout is the noise, as in pix2pix).
        **kwargs: everything else of :class:`~lightgen.models.gan.GAN` (objective, optimizers, ema_decay...).
    """

    def __init__(
        self,
        data_shape: tuple[int, ...],
        source_channels: int | None = None,
        scale: int = 1,
        num_examples: int = 16,
        latent_dim: int = 0,
        **kwargs: Any,
    ) -> None:
        if scale < 1:
            raise LightgenError(f"scale must be a positive integer; got {scale}")
        if num_examples < 1:
            raise LightgenError(f"num_examples must be a positive integer; got {num_examples}")
        if len(data_shape) != 3 or any(int(s) % scale for s in data_shape[1:]):
            raise LightgenError(
                f"{type(self).__name__} needs (C, H, W) images whose size divides by scale={scale}; "
                f"got data_shape {tuple(data_shape)}"
            )
        self._source_channels = int(source_channels or data_shape[0])
        self._scale = int(scale)
        # the GAN base checks latent_dim >= 1; an empty z is represented by latent_dim 0 here
        super().__init__(data_shape, latent_dim=max(latent_dim, 1), **kwargs)
        self.latent_dim = latent_dim
        self.hparams["latent_dim"] = latent_dim
        self.register_buffer("example_sources", torch.zeros(num_examples, *self.source_shape))
        self.register_buffer("example_targets", torch.zeros(num_examples, *self.data_shape))
        self.register_buffer("examples_set", torch.zeros((), dtype=torch.bool))

    @property
    def source_shape(self) -> tuple[int, int, int]:
        """Shape of one source image: (source_channels, H / scale, W / scale)."""
        c, h, w = self.data_shape
        return (self._source_channels, h // self._scale, w // self._scale)

    # ------------------------------------------------------------------ batches and latents
    def source_from_batch(self, batch: Any) -> torch.Tensor:
        """The source images of a ``(source, target[, label])`` batch."""
        return batch[0]

    def real_from_batch(self, batch: Any) -> torch.Tensor:
        """The target images of a ``(source, target[, label])`` batch: what D calls real."""
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise LightgenError(
                f"{type(self).__name__} trains on (source, target) batches; got {type(batch).__name__} "
                "(use a paired, unpaired or super-resolution datamodule)"
            )
        return batch[1]

    def latent_prior(self, n: int, generator: torch.Generator | None = None) -> Latent:
        """z ~ N(0, I) of size ``latent_dim`` (empty by default): the source comes from the batch."""
        return Latent(torch.randn(n, self.latent_dim, generator=generator, device=self.device))

    def condition_on_batch(self, latent: Latent, batch: Any) -> Latent:
        return latent.with_context(self._memory_format(self.source_from_batch(batch)))

    # ------------------------------------------------------------------ the players
    def generate(self, latent: Latent, net: nn.Module | None = None) -> torch.Tensor:
        """G(source) (and z when ``latent_dim`` > 0: the G network takes it as a second argument)."""
        if latent.context is None:
            raise LightgenError(f"{type(self).__name__} generates from source images; the latent carries none")
        net = net if net is not None else self.g_net
        return net(latent.context, latent.z) if self.latent_dim else net(latent.context)

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        """D(source, x): a conditional D sees the pair, concatenated along channels (sources upsampled
        to x's size when ``scale`` > 1). Subclasses with an unconditional D (SRGAN) override this."""
        if latent is None or latent.context is None:
            raise LightgenError(f"{type(self).__name__}'s discriminator judges (source, image) pairs; no source given")
        source = latent.context
        if source.shape[-1] != x.shape[-1]:
            source = nn.functional.interpolate(source, size=x.shape[-2:], mode="nearest")
        return self.d_net(self.pack(torch.cat([source, x], dim=1)))

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        c, h, w = self.data_shape
        return ((c + self._source_channels) * int(self.hparams.get("d_pack", 1)), h, w)

    # ------------------------------------------------------------------ translation and samples
    @torch.no_grad()
    def translate(
        self, source: torch.Tensor, weights: Literal["ema", "raw"] | None = None, seed: int | None = None
    ) -> torch.Tensor:
        """G(source) in eval mode, with the EMA generator when kept (``weights="raw"``: the trained one). The
        generators are fully convolutional: any (N, source_channels, h, w) the network's strides allow is taken
        (a super-resolution test image is larger than the training crops)."""
        if source.dim() != 4 or source.shape[1] != self.source_shape[0]:
            raise LightgenError(
                f"{type(self).__name__} translates (N, {self.source_shape[0]}, H, W) sources; "
                f"got shape {tuple(source.shape)}"
            )
        latent = self.latent_prior(source.shape[0], self.make_generator(seed)).with_context(source.to(self.device))
        return self.sample_from(latent, weights)

    def sample(
        self,
        n: int,
        seed: int | None = None,
        labels: torch.Tensor | int | None = None,
        weights: Literal["ema", "raw"] | None = None,
        source: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Translations of ``source`` (default: the first n of ``example_sources``, cycled)."""
        if labels is not None:
            raise LightgenError(f"{type(self).__name__} translates images; it takes no labels")
        if source is None:
            if not bool(self.examples_set):
                raise LightgenError(
                    f"{type(self).__name__} has no example sources yet (they are stored when fitting starts); "
                    "pass source images"
                )
            index = torch.arange(n, device=self.example_sources.device) % len(self.example_sources)
            source = self.example_sources[index]
        return self.translate(source[:n], weights, seed)

    def on_fit_start(self) -> None:
        super().on_fit_start()
        if not bool(self.examples_set):
            self.store_examples(self.trainer.datamodule if self._trainer else None)

    def store_examples(self, datamodule: Any) -> None:
        """Keep the first ``num_examples`` (source, target) pairs of the validation split (else test, else
        train) as ``example_sources`` / ``example_targets``."""
        if datamodule is None:
            return
        for name in ("val_set", "test_set", "train_set"):
            dataset = getattr(datamodule, name, None)
            if dataset is not None and len(dataset) > 0:
                break
        else:
            return
        n = min(len(self.example_sources), len(dataset))
        items = default_collate([dataset[i] for i in range(n)])
        index = torch.arange(len(self.example_sources)) % n
        self.example_sources.copy_(items[0][index].to(self.example_sources))
        self.example_targets.copy_(items[1][index].to(self.example_targets))
        self.examples_set.fill_(True)

    def translation_panels(self, weights: Literal["ema", "raw"] | None = None) -> list[tuple[str, torch.Tensor]]:
        """The columns of the translation picture for the stored examples, each (n, C, H, W) at the target
        size in ``value_range``: the source (upsampled, nearest, when ``scale`` > 1), G(source), the target."""
        source, target = self.example_sources, self.example_targets
        shown = (
            source if self._scale == 1 else nn.functional.interpolate(source, scale_factor=self._scale, mode="nearest")
        )
        return [("source", shown), ("output", self.translate(source, weights)), ("target", target)]
