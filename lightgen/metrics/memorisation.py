"""Nearest-neighbour memorisation check: are generated samples copies of training images?

A model that returns its training images has perfect-looking samples, a perfect FID against the
training set and a high Parzen score (Theis et al. 2016, sec. 3); visual inspection cannot tell.
The check (as in Goodfellow et al. 2014, fig. 2, and the "nearest training neighbour" panels of the
GAN literature) compares distances to the training set:

- ``d_gen``: for each generated sample, the distance to its nearest training image;
- ``d_test``: for each held-out test image, the distance to its nearest training image.

If samples are fresh draws from the data distribution, the two look alike (ratio of medians ~ 1).
A memorising model gives ``d_gen`` near 0: the ratio falls well below 1 and most samples are closer
to a training image than any test image is. Both numbers are computed in pixel space and in a
feature space; a PNG shows each sample followed by its 5 nearest training images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lightgen.metrics.fidelity import FeatureSpace

RATIO_THRESHOLD = 0.5  # flagged when median d_gen < 0.5 * median d_test ...
SHARE_THRESHOLD = 0.1  # ... or when more than 10% of samples are closer to train than any test image


def nearest(
    query: torch.Tensor, reference: torch.Tensor, k: int = 1, chunk: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances (N, k) and indices (N, k) of the k nearest rows of ``reference`` (R, D) to ``query`` (N, D)."""
    q, r = query.flatten(1).float(), reference.flatten(1).float()
    dists, idx = [], []
    for qb in q.split(chunk):
        best_d, best_i = None, None
        for start in range(0, len(r), 8192):
            d = torch.cdist(qb, r[start : start + 8192])
            kk = min(k, d.shape[1])
            dv, di = d.topk(kk, dim=1, largest=False)
            di = di + start
            if best_d is not None:
                dv, sel = torch.cat([best_d, dv], 1).topk(min(k, best_d.shape[1] + kk), dim=1, largest=False)
                di = torch.cat([best_i, di], 1).gather(1, sel)
            best_d, best_i = dv, di
        dists.append(best_d)
        idx.append(best_i)
    return torch.cat(dists), torch.cat(idx)


def memorisation_stats(gen: torch.Tensor, train: torch.Tensor, test: torch.Tensor) -> dict[str, Any]:
    """Ratio of median NN distances and the share of samples closer to train than any test image is."""
    d_gen = nearest(gen, train)[0][:, 0]
    d_test = nearest(test, train)[0][:, 0]
    ratio = float(d_gen.median() / d_test.median().clamp_min(1e-12))
    share = float((d_gen < d_test.min()).double().mean())
    return {
        "median_nn_gen_to_train": float(d_gen.median()),
        "median_nn_test_to_train": float(d_test.median()),
        "ratio_gen_over_test": ratio,
        "share_closer_than_any_test": share,
        "flagged": bool(ratio < RATIO_THRESHOLD or share > SHARE_THRESHOLD),
        "num_generated": len(gen),
        "num_train": len(train),
        "num_test": len(test),
    }


def memorisation_check(
    gen_images: torch.Tensor,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    feature_space: FeatureSpace | None = None,
    train_features: torch.Tensor | None = None,
    test_features: torch.Tensor | None = None,
    png: str | Path | None = None,
    neighbours: int = 5,
    rows: int = 16,
) -> dict[str, Any]:
    """The check in pixel space (and ``feature_space`` if given); images in [0, 1], (N, C, H, W).

    Train/test features may be passed in (cached); otherwise they are computed with ``feature_space``.
    """
    out: dict[str, Any] = {"pixels": memorisation_stats(gen_images, train_images, test_images)}
    if feature_space is not None:

        def feats(x: torch.Tensor) -> torch.Tensor:
            return torch.cat([feature_space(b) for b in x.split(256)])

        tf = train_features if train_features is not None else feats(train_images)
        sf = test_features if test_features is not None else feats(test_images)
        stats = memorisation_stats(feats(gen_images), tf, sf)
        stats["feature_space"] = feature_space.name
        out["features"] = stats
    out["flagged"] = any(v["flagged"] for v in out.values() if isinstance(v, dict))
    if png is not None:
        out["png"] = str(save_neighbour_grid(gen_images[:rows], train_images, png, neighbours))
    return out


def save_neighbour_grid(gen: torch.Tensor, train: torch.Tensor, path: str | Path, neighbours: int = 5) -> Path:
    """PNG: one row per sample, the sample then its ``neighbours`` nearest training images (pixel space)."""
    from torchvision.utils import save_image

    _, idx = nearest(gen, train, k=neighbours)
    tiles = torch.cat([torch.cat([g.unsqueeze(0), train[i]]) for g, i in zip(gen, idx)])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(tiles.float().clamp(0, 1), path, nrow=neighbours + 1, padding=2, pad_value=1.0)
    return path
