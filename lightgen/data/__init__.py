"""LightningDataModules. This import list is the registry of short names (``--data=MNIST``)."""

from lightgen.data.base import GenerativeDataModule
from lightgen.data.imagenet import ImageNet
from lightgen.data.lsun import LSUN
from lightgen.data.mnist import MNIST
from lightgen.data.toy import GaussianMixture2D

__all__ = ["GaussianMixture2D", "GenerativeDataModule", "ImageNet", "LSUN", "MNIST"]
