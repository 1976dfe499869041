"""Learning-rate schedules usable from YAML as ``g_scheduler`` / ``d_scheduler`` (stepped once per epoch).

:class:`LinearDecay` is CycleGAN's schedule (Zhu et al. 2017, sec. 4 / appendix 7.1: "keep the same
learning rate for the first 100 epochs and linearly decay the rate to zero over the next 100 epochs"),
with the factor of the authors' code (pytorch-CycleGAN-and-pix2pix, ``networks.get_scheduler``,
``lr_policy='linear'``, ``epoch_count=1``)::

    factor(e) = 1 - max(0, e + 1 - constant_epochs) / (decay_epochs + 1),      e = 0, 1, 2, ... (0-based)

so epochs 0 .. constant_epochs-1 train at the base rate, the decay_epochs epochs after them at
decay_epochs/(decay_epochs+1), ..., 1/(decay_epochs+1) of it, and the rate is 0 at epoch
constant_epochs + decay_epochs, where training ends.
"""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from lightgen.errors import LightgenError


class LinearDecayFactor:
    """The multiplicative factor of :class:`LinearDecay` at epoch ``e`` (a picklable callable, so the
    scheduler's ``state_dict`` keeps its two numbers)."""

    def __init__(self, constant_epochs: int, decay_epochs: int) -> None:
        self.constant_epochs, self.decay_epochs = int(constant_epochs), int(decay_epochs)

    def __call__(self, epoch: int) -> float:
        return max(0.0, 1.0 - max(0, epoch + 1 - self.constant_epochs) / (self.decay_epochs + 1))


class LinearDecay(LambdaLR):
    """Constant learning rate for ``constant_epochs`` epochs, then linear decay to 0 over ``decay_epochs``.

    YAML: ``g_scheduler: {class_path: lightgen.schedules.LinearDecay, init_args: {constant_epochs: 100,
    decay_epochs: 100}}`` (the GAN loop builds it with the optimizer and steps it at each epoch's end).

    Args:
        optimizer: the optimizer whose learning rates are scaled (given by the loop).
        constant_epochs: epochs at the base rate (100 in CycleGAN).
        decay_epochs: epochs of linear decay after them (100 in CycleGAN).
        last_epoch: the index of the last epoch (-1: start fresh), as in every torch scheduler.
    """

    def __init__(
        self, optimizer: Optimizer, constant_epochs: int = 100, decay_epochs: int = 100, last_epoch: int = -1
    ) -> None:
        if constant_epochs < 0:
            raise LightgenError(f"constant_epochs must be >= 0; got {constant_epochs}")
        if decay_epochs < 0:
            raise LightgenError(f"decay_epochs must be >= 0; got {decay_epochs}")
        self.constant_epochs, self.decay_epochs = constant_epochs, decay_epochs
        super().__init__(optimizer, LinearDecayFactor(constant_epochs, decay_epochs), last_epoch)
