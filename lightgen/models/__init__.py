"""LightningModules, one training rule each. This import list is the registry: the CLI's short
names (``--model=DCGAN``) resolve to the subclasses of GenerativeModel imported here."""

from lightgen.models.autoregressive import AutoregressiveModel
from lightgen.models.base import GenerativeModel
from lightgen.models.began import BEGAN
from lightgen.models.bigan import BiGAN
from lightgen.models.conditional import ConditionalDCGAN, ConditionalGAN
from lightgen.models.cyclegan import CycleGAN
from lightgen.models.dcgan import DCGAN
from lightgen.models.draw import DRAW
from lightgen.models.fvbn import FVBN, NARN
from lightgen.models.gan import GAN
from lightgen.models.infogan import InfoGAN
from lightgen.models.infogan_nets import InfoNetGAN
from lightgen.models.lapgan import LAPGAN
from lightgen.models.made import MADE
from lightgen.models.nade import NADE
from lightgen.models.pix2pix import Pix2Pix
from lightgen.models.pixelcnn import PixelCNN
from lightgen.models.seqgan import SeqGAN
from lightgen.models.srgan import SRGAN, SRResNet, SuperResolutionGAN
from lightgen.models.stackgan import StackGAN
from lightgen.models.text_matching import TextImageMatching
from lightgen.models.toy import ToyGAN
from lightgen.models.translation import ImageTranslationGAN
from lightgen.models.vae import VAE

__all__ = [
    "BEGAN",
    "BiGAN",
    "DCGAN",
    "DRAW",
    "FVBN",
    "GAN",
    "LAPGAN",
    "MADE",
    "NADE",
    "NARN",
    "SRGAN",
    "SeqGAN",
    "StackGAN",
    "SuperResolutionGAN",
    "VAE",
    "AutoregressiveModel",
    "ConditionalDCGAN",
    "ConditionalGAN",
    "CycleGAN",
    "GenerativeModel",
    "ImageTranslationGAN",
    "InfoGAN",
    "InfoNetGAN",
    "Pix2Pix",
    "PixelCNN",
    "SRResNet",
    "TextImageMatching",
    "ToyGAN",
]
