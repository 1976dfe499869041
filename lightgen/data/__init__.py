"""LightningDataModules. This import list is the registry of short names (``--data=MNIST``)."""

from lightgen.data.base import GenerativeDataModule
from lightgen.data.imagenet import ImageNet
from lightgen.data.lsun import LSUN
from lightgen.data.mnist import MNIST
from lightgen.data.paired import PairedImages
from lightgen.data.sequences import OracleSequences, TextSequences
from lightgen.data.superres import SuperResolution
from lightgen.data.text_image import CaptionedImages
from lightgen.data.toy import GaussianMixture2D
from lightgen.data.unpaired import UnpairedImages

__all__ = [
    "LSUN",
    "MNIST",
    "CaptionedImages",
    "GaussianMixture2D",
    "GenerativeDataModule",
    "ImageNet",
    "OracleSequences",
    "PairedImages",
    "SuperResolution",
    "TextSequences",
    "UnpairedImages",
]
