"""The GAN's speed and scale seams: the opt-in fast path and the players under DDP.

- Fast path (``compile``, ``channels_last``; mixed precision from the trainer): compiled G and D forwards
  (D stays eager under a gradient penalty: compiled graphs do not support its double backward),
  channels-last memory for conv nets and image batches, and the float16 GradScaler the penalties need.
- Players under DDP: :class:`~lightgen.strategies.PlayerDDPStrategy` wraps each player in its own
  DistributedDataParallel; the step calls a player through its wrapper only while it is trained, so
  each step all-reduces one player's gradients and no unused-parameter search is needed. Under
  Lightning's own DDP (the whole module wrapped) ``find_unused_parameters`` must be on.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.strategies import DDPStrategy
from torch import nn

from lightgen.errors import LightgenError
from lightgen.strategies import PlayerDDPStrategy


class GANScaleMixin:
    """Fast path and per-player DDP for :class:`~lightgen.models.gan.GAN` (mixed in before LightningModule)."""

    generator: nn.Module
    discriminator: nn.Module
    hparams: Any
    objective: Any
    _trainer: Any

    # ------------------------------------------------------------------ the fast path
    def configure_model(self) -> None:
        """Opt-in speed-ups, applied once before training: compiled forwards, channels-last layout."""
        if getattr(self, "_fast_path_done", False):
            return
        self._fast_path_done = True
        if self.hparams.get("channels_last"):
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        if self.hparams.get("compile"):
            self.generator.compile()  # in place: parameter names and checkpoints are unchanged
            if not self.objective.regularizers:
                self.discriminator.compile()

    def _memory_format(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.get("channels_last") and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def _grad_scaler(self) -> Any:
        """The float16 GradScaler of the trainer's precision plugin, or None (fp32, bf16)."""
        plugin = getattr(self._trainer, "precision_plugin", None) if self._trainer is not None else None
        scaler = getattr(plugin, "scaler", None)
        return scaler if scaler is not None and scaler.is_enabled() else None

    # ------------------------------------------------------------------ players under DDP
    def ddp_players(self) -> tuple[str, ...]:
        """Submodules that :class:`~lightgen.strategies.PlayerDDPStrategy` wraps, each in its own DDP."""
        return ("generator", "discriminator")

    def attach_ddp_wrappers(self, wrappers: dict[str, nn.Module]) -> None:
        """Keep the players' DDP wrappers (not registered as submodules: checkpoints keep their names)."""
        object.__setattr__(self, "_ddp_wrappers", dict(wrappers))

    def _player(self, name: str) -> nn.Module:
        """A player as the step calls it: its DDP wrapper while it is trained (gradients on and its
        parameters requiring them), else the plain network, so only the trained player is synchronised."""
        net = getattr(self, name)
        wrapper = getattr(self, "_ddp_wrappers", {}).get(name)
        if wrapper is not None and torch.is_grad_enabled():
            first = next(net.parameters(), None)
            if first is not None and first.requires_grad:
                return wrapper
        return net

    @property
    def g_net(self) -> nn.Module:
        """The generator as the training step calls it (see :meth:`_player`)."""
        return self._player("generator")

    @property
    def d_net(self) -> nn.Module:
        """The discriminator as the training step calls it (see :meth:`_player`)."""
        return self._player("discriminator")

    def setup(self, stage: str) -> None:
        """Refuse a DDP that would stop at the first step (the whole module wrapped, no unused-parameter search)."""
        strategy = self.trainer.strategy if self._trainer else None
        # Wrapped whole, D and G steps each leave the other network's parameters without gradients, so
        # Lightning's DDP must look for unused parameters; PlayerDDPStrategy wraps each player instead.
        if isinstance(strategy, PlayerDDPStrategy):
            return
        if isinstance(strategy, DDPStrategy) and strategy._ddp_kwargs.get("find_unused_parameters") is not True:
            raise LightgenError(
                f"{type(self).__name__} under DDP needs each player wrapped on its own or unused-parameter "
                "detection (its two players alternate); use strategy='ddp_players' (lightgen's, faster) or "
                "'ddp_find_unused_parameters_true'"
            )
