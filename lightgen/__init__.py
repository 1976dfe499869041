"""lightgen: deep generative models (VAEs, autoregressive nets, GANs) as PyTorch Lightning modules."""

__version__ = "0.1.0"
