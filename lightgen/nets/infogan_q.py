"""InfoGAN's discriminator with the recognition head Q on its body (Chen et al. 2016, appendix C.1, Table 1).

"The discriminator D and the recognition network Q share most of the network": the conv body and the
FC 1024 layer of :class:`~lightgen.nets.infogan.InfoGANDiscriminator` feed both D's logit and Q's head,

    Q: features (N, 1024) -> FC 128, norm, lReLU(0.2) -> FC (K + M [+ M])

whose output holds K categorical logits, M Gaussian means and, when the standard deviations are learned,
M log-standard-deviations (appendix C: "the standard deviation is parameterized through an exponential
transformation of the network output"). Q lives in D's module, so D's optimizer trains it and the per-player
DDP wrapper of D synchronises its gradients; ``forward(x, with_q=True)`` returns D's logits and Q's outputs
from one pass through the shared body, which is why InfoGAN costs a GAN "only negligible computation".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lightgen.errors import LightgenError
from lightgen.nets.dcgan import DiscriminatorNorm
from lightgen.nets.infogan import INFOGAN_SHAPE, InfoGANDiscriminator, vector_norm
from lightgen.nets.init import dcgan_init


class InfoGANDiscriminatorQ(InfoGANDiscriminator):
    """Images (N, 1, 28, 28) -> D's logits (N,), and with ``with_q`` also Q's outputs (N, q_outputs).

    Args:
        in_shape: (1, 28, 28).
        norm: D's norm ("batch", "layer", "none"), also used in Q's hidden layer.
        q_outputs: K + M (fixed standard deviations) or K + 2M (learned), the head's output width.
        q_hidden: width of Q's hidden layer (128 in Table 1).
    """

    def __init__(
        self,
        in_shape: Sequence[int] = INFOGAN_SHAPE,
        norm: DiscriminatorNorm = "batch",
        q_outputs: int = 12,
        q_hidden: int = 128,
    ) -> None:
        super().__init__(in_shape, norm)
        if q_outputs < 1 or q_hidden < 1:
            raise LightgenError(f"the Q head needs positive q_outputs and q_hidden; got {q_outputs}, {q_hidden}")
        self.q = nn.Sequential(
            nn.Linear(self.feature_dim, q_hidden, bias=norm == "none"),
            vector_norm(norm, q_hidden),
            nn.LeakyReLU(0.2, True),
            nn.Linear(q_hidden, q_outputs),
        )
        self.q.apply(dcgan_init)

    def forward(self, x: torch.Tensor, with_q: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        logits = self.head(h).flatten()
        return (logits, self.q(h)) if with_q else logits
