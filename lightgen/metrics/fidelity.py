"""Sample-quality metrics in a feature space, streamed in batches.

- FID, the Fréchet distance between Gaussians fitted to real and generated features (Heusel et al.
  2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium"):
  ``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``. Biased in the sample count: compare FIDs
  only at equal N.
- KID, the unbiased squared MMD with the cubic polynomial kernel, averaged over subsets, with its
  standard deviation (Binkowski et al. 2018, "Demystifying MMD GANs").
- Precision / recall, the share of generated samples inside the real manifold (k-NN balls, k = 3)
  and vice versa (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric"). Here in
  Inception-v3 pool3 features; the paper (and torch-fidelity's default ``feature_extractor`` for
  ``prc``) uses VGG-16 fc2 features, so the values are not comparable with published P/R.
- IS (Salimans et al. 2016) needs Inception's classifier logits, which lightgen's offline weights lack.

The numbers come from torch-fidelity's own functions (``fid_statistics_to_metric``,
``kid_features_to_metric``, ``prc_features_to_metric``) on features of torch-fidelity's Inception
extractor. Measured equality with ``torch_fidelity.calculate_metrics`` on the same images holds for
FID only (``tests/metrics/test_fid_reference.py``, 1e-3 relative). KID differs by construction:
lightgen draws its subsets with ``--seed`` in float64 and caps the subset size at half the smaller
set, torch-fidelity uses its own seed and subset size. P/R differ by feature space (Inception pool3
here, VGG-16 fc2 in torch-fidelity). Images are never all in memory: batches of samples are drawn,
turned into features on the extractor's device and dropped; only the (N, D) features are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lightgen.errors import LightgenError
from lightgen.files import file_sha256
from lightgen.metrics.inception import EXTRACTOR_NAME, IS_UNAVAILABLE, build_extractor

Batches = Iterable[torch.Tensor]  # images (B, C, H, W) with values in [0, 1]


@dataclass
class FeatureSpace:
    """A named feature map of images in [0, 1] -> (B, D) features, with what the protocol card needs."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    weights_sha256: str | None
    resize_rule: str
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.fn(images.to(self.device)).float().cpu()

    def card(self) -> dict[str, Any]:
        return {"feature_extractor": self.name, "weights_sha256": self.weights_sha256, "resize_rule": self.resize_rule}


def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats (B, C, H, W) -> uint8 (B, 3, H, W); grey images are repeated over 3 channels."""
    x = (images.clamp(0, 1) * 255).round_().to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[1] != 3:
        raise LightgenError(f"Inception features need 1- or 3-channel images; got {x.shape[1]} channels")
    return x.contiguous()


RESIZE_RULES = {
    "tf": "uint8 RGB (grey repeated), TF1-compatible bilinear resize to 299x299 (torch-fidelity)",
    "clean": "uint8 RGB (grey repeated), antialiased PIL bicubic resize to 299x299 per channel in float, "
    "rounded to uint8 (clean-fid, Parmar et al. 2022)",
}


def clean_resize(images: torch.Tensor, size: int = 299) -> torch.Tensor:
    """clean-fid's resize (Parmar et al. 2022): each channel of uint8 (B, C, H, W) images resized as a
    float image by PIL's antialiased bicubic filter, clipped to [0, 255]. Rounded back to uint8 (the
    extractor's input type), which clean-fid, keeping floats, does not do: at most half a grey level."""
    from PIL import Image

    if images.shape[-2:] == (size, size):
        return images
    arr = images.cpu().numpy().astype(np.float32)
    out = np.empty((*arr.shape[:2], size, size), dtype=np.float32)
    for b in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            out[b, c] = np.asarray(Image.fromarray(arr[b, c]).resize((size, size), resample=Image.BICUBIC))
    return torch.from_numpy(out.clip(0, 255).round()).to(torch.uint8)


def inception_space(
    weights: str | Path, device: str | torch.device = "cpu", logits: bool = False, resize: str = "tf"
) -> FeatureSpace:
    """Inception-v3 pool3 (2048-d) features through torch-fidelity's extractor and ``weights``.

    With ``logits`` the 1008 unbiased classifier logits follow the 2048 pool features (columns
    2048:), for the Inception score; only weights with a classifier head have them. ``resize`` is
    ``"tf"`` (torch-fidelity's TF1-compatible bilinear resize, as the original TF FID code) or
    ``"clean"`` (clean-fid's antialiased bicubic resize, :func:`clean_resize`).
    """
    if resize not in RESIZE_RULES:
        raise LightgenError(f"unknown resize {resize!r}; expected one of {sorted(RESIZE_RULES)}")
    device = torch.device(device)
    names = ("2048", "logits_unbiased") if logits else ("2048",)
    extractor = build_extractor(weights, names, device)

    def fn(images: torch.Tensor) -> torch.Tensor:
        x = to_uint8_rgb(images)
        if resize == "clean":
            x = clean_resize(x).to(images.device)
        return torch.cat(extractor(x), dim=1)

    name = f"{EXTRACTOR_NAME}/pool3-2048" + ("+logits-1008" if logits else "")
    return FeatureSpace(name, fn, file_sha256(weights), RESIZE_RULES[resize], device)


def pixel_space() -> FeatureSpace:
    """Raw pixels in [0, 1], flattened (for nearest-neighbour checks)."""
    return FeatureSpace("pixels", lambda x: x.flatten(1), None, "none (native resolution)")


def extract(batches: Batches, space: FeatureSpace, progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """Features (N, D) of a stream of image batches; ``progress(k)`` is told each batch's size."""
    out = []
    for images in batches:
        out.append(space(images))
        if progress is not None:
            progress(len(images))
    if not out:
        raise LightgenError("no images to extract features from")
    return torch.cat(out)


def frechet_statistics(features: torch.Tensor) -> dict[str, np.ndarray]:
    """Mean and covariance (float64) of features (N, D)."""
    if len(features) < 2:
        raise LightgenError(f"FID needs at least 2 samples per set; got {len(features)}")
    f = features.double().numpy()
    return {"mu": f.mean(0), "sigma": np.cov(f, rowvar=False)}


def frechet_distance(stats_1: dict[str, np.ndarray], stats_2: dict[str, np.ndarray]) -> float:
    """FID (Heusel et al. 2017) between two sets of statistics, by torch-fidelity's formula."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    s1 = {k: np.asarray(v, dtype=np.float64) for k, v in stats_1.items()}
    s2 = {k: np.asarray(v, dtype=np.float64) for k, v in stats_2.items()}
    return float(fid_statistics_to_metric(s1, s2, verbose=False)[KEY_METRIC_FID])


def fid_from_features(generated: torch.Tensor, real: torch.Tensor) -> float:
    return frechet_distance(frechet_statistics(generated), frechet_statistics(real))


def kid(
    generated: torch.Tensor, real: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> dict[str, float]:
    """KID mean and std over ``subsets`` random subsets (Binkowski et al. 2018).

    The subset size is ``subset_size`` (1000, the usual protocol at N = 10,000) but at most half the
    smaller set, so that subsets differ and the std means something at small N.
    """
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    size = min(subset_size, min(len(generated), len(real)) // 2)
    if size < 2:
        raise LightgenError(f"KID needs at least 4 samples per set; got {len(generated)} and {len(real)}")
    out = kid_features_to_metric(
        generated.double(), real.double(), kid_subsets=subsets, kid_subset_size=size, rng_seed=seed, verbose=False
    )
    return {"kid": float(out[KEY_METRIC_KID_MEAN]), "kid_std": float(out[KEY_METRIC_KID_STD]), "kid_subset_size": size}


def precision_recall(generated: torch.Tensor, real: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN radii, k = 3, in whatever feature
    space ``generated`` and ``real`` (N, D) come from (the paper: VGG-16 fc2; ``lightgen evaluate``:
    Inception pool3). Precision: the share of generated samples inside some real sample's k-NN ball;
    recall: the share of real samples inside some generated sample's ball."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    if min(len(generated), len(real)) <= k:
        raise LightgenError(f"precision/recall needs more than k={k} samples per set")
    out = prc_features_to_metric(generated.float(), real.float(), prc_neighborhood=k, save_cpu_ram=True, verbose=False)
    return {"precision": float(out["precision"]), "recall": float(out["recall"]), "f_score": float(out["f_score"])}


def inception_score_unavailable() -> None:
    raise LightgenError(f"cannot compute IS: {IS_UNAVAILABLE}")


def inception_score(logits: torch.Tensor, splits: int = 10, seed: int = 0) -> dict[str, float]:
    """IS = exp(E_x KL(p(y|x) || p(y))), mean and std over ``splits`` (Salimans et al. 2016, sec. 4)."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    if len(logits) < splits:
        raise LightgenError(f"IS with {splits} splits needs at least {splits} samples; got {len(logits)}")
    out = isc_features_to_metric(logits.double(), splits=splits, shuffle=True, rng_seed=seed)
    return {"is": float(out[KEY_METRIC_ISC_MEAN]), "is_std": float(out[KEY_METRIC_ISC_STD]), "is_splits": splits}


# ------------------------------------------------------------------ batch streams
def to_unit(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    low, high = value_range
    return ((x.float() - low) / (high - low)).clamp_(0, 1)


def labelled_sample_batches(
    model: Any, n: int, batch_size: int = 100, seed: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """``n`` samples of ``model`` in batches, mapped to [0, 1], with the class each was asked for.

    Batch i is drawn with seed ``seed + i``. A conditional model (``num_classes > 0``) draws its latents
    with ``draw_latent`` (labels uniform over its classes) and samples them with ``sample_from`` (the
    same samples as ``sample``); its labels (B,) come with the images. Other models give None.
    """
    value_range = tuple(getattr(model, "value_range", (0.0, 1.0)))
    conditional = int(getattr(model, "num_classes", 0) or 0) > 0
    done, i = 0, 0
    while done < n:
        b = min(batch_size, n - done)
        labels = None
        with torch.no_grad():
            if conditional:
                latent = model.draw_latent(b, seed=seed + i)
                x, labels = model.sample_from(latent), latent.labels.cpu()
            else:
                x = model.sample(b, seed=seed + i)
        yield to_unit(x, value_range).cpu(), labels
        done, i = done + b, i + 1


def sample_batches(model: Any, n: int, batch_size: int = 100, seed: int = 0) -> Iterator[torch.Tensor]:
    """``n`` samples of ``model`` in batches, mapped to [0, 1]; batch i is drawn with seed ``seed + i``."""
    for x, _ in labelled_sample_batches(model, n, batch_size, seed):
        yield x


def dataset_batches(
    dataset: Any, n: int, batch_size: int = 100, value_range: tuple[float, float] = (0.0, 1.0)
) -> Iterator[torch.Tensor]:
    """The first ``n`` images of a map-style dataset of (image, label) in batches, mapped to [0, 1]."""
    n = min(n, len(dataset))
    for start in range(0, n, batch_size):
        items = [dataset[i] for i in range(start, min(n, start + batch_size))]
        x = torch.stack([it[0] if isinstance(it, (tuple, list)) else it for it in items])
        yield to_unit(x, value_range)


def tensor_batches(images: torch.Tensor, batch_size: int = 100) -> Iterator[torch.Tensor]:
    yield from images.split(batch_size)
