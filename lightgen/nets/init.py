"""Weight initialisation schemes."""

from __future__ import annotations

from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2015, sec. 4: all weights from N(0, 0.02); batch-norm scales from N(1, 0.02).

    Use as ``net.apply(dcgan_init)``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
