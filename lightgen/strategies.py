"""DDP for two-player training: each player in its own DistributedDataParallel, no unused-parameter search.

Lightning's DDP wraps the whole LightningModule. A GAN's step updates one player, so the other's
parameters get no gradient and plain DDP stops with a reduction error; the usual fix,
``find_unused_parameters=True``, makes every backward walk the autograd graph to find the idle
parameters and still all-reduces the idle player's (zero) gradient buckets, in each of a batch's two
steps.

:class:`PlayerDDPStrategy` (``--trainer.strategy ddp_players``, what the CLI uses for ``ddp`` with a GAN)
instead wraps each player named by the module's ``ddp_players()`` in a DistributedDataParallel of its
own, with ``find_unused_parameters=False``, and leaves the LightningModule itself unwrapped. The module
calls a player through its wrapper only while that player is being trained (its parameters require
gradients: ``toggled_optimizer`` turns the other player's off), so a D step all-reduces D's buckets
and a G step G's, each exactly once, and nothing searches the graph. Models without ``ddp_players``
get Lightning's plain DDP from this strategy.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry
from torch import nn

from lightgen.errors import LightgenError

STRATEGY_NAME = "ddp_players"


class PlayerDDPStrategy(DDPStrategy):
    """DDP with one DistributedDataParallel per player (see the module docstring).

    Takes DDPStrategy's arguments; ``find_unused_parameters`` must stay False (nothing is unused).
    """

    strategy_name = STRATEGY_NAME

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("find_unused_parameters"):
            raise LightgenError(
                "ddp_players wraps each player separately, so no parameter is unused: "
                "drop find_unused_parameters (or use strategy 'ddp_find_unused_parameters_true')"
            )
        super().__init__(*args, **kwargs)

    def configure_ddp(self) -> None:
        module = self.lightning_module
        players = getattr(module, "ddp_players", None)
        if players is None:
            return super().configure_ddp()
        wrappers: dict[str, nn.Module] = {}
        for name in players():
            wrappers[name] = self._setup_model(getattr(module, name))
        module.attach_ddp_wrappers(wrappers)
        return None

    def teardown(self) -> None:
        module = self.lightning_module
        if module is not None and hasattr(module, "attach_ddp_wrappers"):
            module.attach_ddp_wrappers({})
        super().teardown()


if STRATEGY_NAME not in StrategyRegistry:
    StrategyRegistry.register(
        STRATEGY_NAME,
        PlayerDDPStrategy,
        description="DDP with each GAN player in its own DistributedDataParallel (no unused-parameter search)",
    )
