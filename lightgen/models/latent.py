"""What one GAN draw carries: z plus the labels or codes that condition G (and D).

A :class:`Latent` is made by the model's ``latent_prior`` hook and travels through the loop to
``generate``, ``discriminate``, ``d_loss`` / ``g_loss``, the step hooks, ``sample()``, the sample
grids and ``lightgen evaluate``, so a conditional GAN's labels or InfoGAN's codes reach every place
that needs them without a side channel.

Shapes: ``z`` (N, latent_dim); ``labels`` (N,) int64 class indices or None; ``codes`` (N, c) float
structured codes (e.g. InfoGAN's categorical one-hots and continuous codes) or None; ``context`` (N, ...)
a tensor taken from the batch that conditions G, or None (LAPGAN's upsampled coarse image, pix2pix's
source image, StackGAN's text embedding).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from lightgen.errors import LightgenError


@dataclass(frozen=True)
class Latent:
    """One draw of a GAN's latent variables (see the module docstring for shapes)."""

    z: torch.Tensor
    labels: torch.Tensor | None = None
    codes: torch.Tensor | None = None
    context: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.z.shape[0])

    def _map(self, fn) -> Latent:  # noqa: ANN001
        return Latent(*(None if t is None else fn(t) for t in (self.z, self.labels, self.codes, self.context)))

    def __getitem__(self, index: slice | torch.Tensor) -> Latent:
        """The draws selected by ``index`` (a slice or an index tensor), every field alike."""
        return self._map(lambda t: t[index])

    def to(self, device: torch.device | str) -> Latent:
        return self._map(lambda t: t.to(device))

    def with_labels(self, labels: torch.Tensor | None) -> Latent:
        """The same z and codes with other labels (a conditional GAN pairs fakes with real labels)."""
        return replace(self, labels=labels)

    def with_context(self, context: torch.Tensor | None) -> Latent:
        """The same draw conditioned on ``context`` (a tensor from the batch, one row per draw)."""
        if context is not None and context.shape[0] != self.z.shape[0]:
            raise LightgenError(f"context has {context.shape[0]} rows for {self.z.shape[0]} draws")
        return replace(self, context=context)

    @staticmethod
    def cat(latents: list[Latent]) -> Latent:
        """Concatenate draws along the batch dimension."""
        fields = zip(*((lt.z, lt.labels, lt.codes, lt.context) for lt in latents))
        return Latent(*(None if parts[0] is None else torch.cat(parts) for parts in fields))  # type: ignore[arg-type]
