"""A fixed pretrained feature network for SRGAN's content loss (Ledig et al. 2017, sec. 2.2.1, eq. 5).

The paper compares SR and HR images in the feature space of VGG19 (phi_{5,4}: the ReLU after the 4th
conv before the 5th max pool). VGG's weights cannot be downloaded here; lightgen already prepares the
FID Inception-v3 (``lightgen data prepare inception``, :mod:`lightgen.metrics.inception`), which is, like
VGG19, trained on ImageNet classification. We keep its stem and the three 35x35-grid Inception blocks,
up to ``Mixed_5d`` (288 channels), and use that feature map:

- deep, as the paper found the deeper VGG54 features perceptually better than VGG22 (sec. 3.4);
- still spatial: Inception reduces a 299-px input 8.5x by Mixed_5d (35x35), a 96-px HR crop to 9x9
  (VGG54 keeps 6x6 of it); the next block (Mixed_6a) would leave 4x4, and the end of the net none.

No resize (torch-fidelity resizes every input to 299 px; here SR and HR stay aligned pixel for pixel):
inputs must be at least :data:`MIN_SIZE` pixels. Images in [-1, 1] are mapped to Inception's own input,
(255 (x + 1) / 2 - 128) / 128, the TF graph's normalisation of 8-bit pixels; grey images are repeated
to 3 channels. The weights are frozen and the net stays in eval mode (batch-norm running statistics).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lightgen.errors import LightgenError

LAYERS = ("Conv2d_4a_3x3", "Mixed_5b", "Mixed_5c", "Mixed_5d")  # where the features may be taken
DEFAULT_LAYER = "Mixed_5d"
MIN_SIZE = 27  # smallest input whose stem leaves a 1x1 map (stride-2 conv, two 3x3 convs, two 3x3/2 pools)


def build_stem(layer: str) -> nn.ModuleDict:
    """torch-fidelity's Inception-v3 layers (names as in its weights files) up to and including ``layer``."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    if layer not in LAYERS:
        raise LightgenError(f"content feature layer must be one of {list(LAYERS)}; got {layer!r}")
    blocks: dict[str, nn.Module] = {
        "Conv2d_1a_3x3": fe.BasicConv2d(3, 32, kernel_size=3, stride=2),
        "Conv2d_2a_3x3": fe.BasicConv2d(32, 32, kernel_size=3),
        "Conv2d_2b_3x3": fe.BasicConv2d(32, 64, kernel_size=3, padding=1),
        "MaxPool_1": nn.MaxPool2d(kernel_size=3, stride=2),
        "Conv2d_3b_1x1": fe.BasicConv2d(64, 80, kernel_size=1),
        "Conv2d_4a_3x3": fe.BasicConv2d(80, 192, kernel_size=3),
        "MaxPool_2": nn.MaxPool2d(kernel_size=3, stride=2),
        "Mixed_5b": fe.InceptionA(192, pool_features=32),
        "Mixed_5c": fe.InceptionA(256, pool_features=64),
        "Mixed_5d": fe.InceptionA(288, pool_features=64),
    }
    names = list(blocks)
    # Conv2d_4a's features are taken after its pool (the 35x35 grid, as torch-fidelity's "192" features)
    end = names.index("MaxPool_2") if layer == "Conv2d_4a_3x3" else names.index(layer)
    return nn.ModuleDict({n: blocks[n] for n in names[: end + 1]})


class InceptionContentFeatures(nn.Module):
    """Frozen Inception-v3 feature maps phi(x): images (N, 1 or 3, H, W) in [-1, 1], H, W >= 27 ->
    (N, C, h, w) (C = 288, h ~ H / 10.7 for ``Mixed_5d``).

    Args:
        weights: a torch-fidelity ``FeatureExtractorInceptionV3`` state dict file (the FID weights).
        layer: the block whose output is returned (one of :data:`LAYERS`).
    """

    def __init__(self, weights: str | Path, layer: str = DEFAULT_LAYER) -> None:
        super().__init__()
        self.layer = layer
        self.stem = build_stem(layer)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise LightgenError(f"{weights} is not an Inception state dict (got {type(state).__name__})")
        prefixes = tuple(f"{name}." for name in self.stem)
        wanted = {k: v for k, v in state.items() if k.startswith(prefixes)}
        missing = set(self.stem.state_dict()) - set(wanted)
        if missing:
            raise LightgenError(f"{weights} lacks Inception parameters such as {sorted(missing)[0]!r}")
        self.stem.load_state_dict(wanted)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> InceptionContentFeatures:
        """Always eval mode: the batch-norm layers use Inception's own statistics."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, 3) or min(x.shape[-2:]) < MIN_SIZE:
            raise LightgenError(
                f"Inception content features need (N, 1 or 3, H, W) images with H, W >= {MIN_SIZE}; "
                f"got {tuple(x.shape)}"
            )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (127.5 * (x + 1) - 128) / 128  # [-1, 1] -> 8-bit levels -> Inception's (v - 128) / 128
        for block in self.stem.values():
            x = block(x)
        return x
