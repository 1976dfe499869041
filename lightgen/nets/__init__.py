"""Plain nn.Modules: networks know nothing of training (and never import lightning)."""

from lightgen.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from lightgen.nets.init import dcgan_init
from lightgen.nets.mlp import MLPDiscriminator, MLPGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator", "dcgan_init"]
