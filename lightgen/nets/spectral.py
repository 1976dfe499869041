"""Spectral normalization of a discriminator (Miyato et al. 2018, "Spectral Normalization for GANs").

Every linear and convolutional layer's weight W is divided by its largest singular value sigma(W),
estimated by one power iteration per forward pass (their Algorithm 1), so each layer, and with
1-Lipschitz activations the whole network, is at most 1-Lipschitz. Uses torch's parametrization.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

SPECTRAL_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)


def apply_spectral_norm(net: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Spectrally normalise every linear, convolutional and embedding layer of ``net`` in place."""
    for module in list(net.modules()):
        if isinstance(module, SPECTRAL_LAYERS) and not hasattr(module, "parametrizations"):
            spectral_norm(module, n_power_iterations=n_power_iterations)
    return net
