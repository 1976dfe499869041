"""LightningModules, one training rule each. This import list is the registry: the CLI's short
names (``--model=DCGAN``) resolve to the subclasses of GenerativeModel imported here."""

from lightgen.models.base import GenerativeModel
from lightgen.models.dcgan import DCGAN
from lightgen.models.gan import GAN

__all__ = ["DCGAN", "GAN", "GenerativeModel"]
