"""LightningDataModules. This import list is the registry of short names (``--data=MNIST``)."""

from lightgen.data.base import GenerativeDataModule
from lightgen.data.imagenet import ImageNet
from lightgen.data.lsun import LSUN
from lightgen.data.mnist import MNIST

__all__ = ["GenerativeDataModule", "ImageNet", "LSUN", "MNIST"]
