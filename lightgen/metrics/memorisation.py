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

The training set is streamed in chunks (:func:`streamed_memorisation_check`): for every generated
sample and test image only the running nearest distance is kept (and, for the PNG's rows, the 5
nearest training images themselves), so memory does not grow with the training set (LSUN, ImageNet).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


class RunningNearest:
    """The ``k`` nearest reference rows seen so far for each query row, updated one reference chunk at a
    time: memory is O(queries x k), whatever the number of references.

    With ``keep_items`` the neighbours themselves (the reference chunk's items, e.g. images) are kept
    too, for the first ``keep_items`` queries (the PNG's rows).
    """

    def __init__(self, query: torch.Tensor, k: int = 1, keep_items: int = 0) -> None:
        self.query = query.flatten(1).float()
        self.k, self.keep = k, min(keep_items, len(query))
        self.dist: torch.Tensor | None = None  # (N, <=k), ascending
        self.index: torch.Tensor | None = None  # (N, <=k), global reference indices
        self.items: torch.Tensor | None = None  # (keep, <=k, *item shape)
        self.seen = 0

    def update(self, reference: torch.Tensor, items: torch.Tensor | None = None) -> None:
        if not len(reference):
            return
        d, i = nearest(self.query, reference, k=min(self.k, len(reference)))
        cand = items[i[: self.keep]] if items is not None and self.keep else None
        i = i + self.seen
        if self.dist is not None:
            d_all, i_all = torch.cat([self.dist, d], 1), torch.cat([self.index, i], 1)
            d, sel = d_all.topk(min(self.k, d_all.shape[1]), dim=1, largest=False)
            i = i_all.gather(1, sel)
            if cand is not None and self.items is not None:
                both = torch.cat([self.items, cand], 1)
                sel_k = sel[: self.keep]
                cand = both[torch.arange(self.keep).unsqueeze(1), sel_k]
        self.dist, self.index, self.items = d, i, cand
        self.seen += len(reference)


def stats_from_distances(d_gen: torch.Tensor, d_test: torch.Tensor, num_train: int) -> dict[str, Any]:
    """Ratio of median NN distances and the share of samples closer to train than any test image is."""
    ratio = float(d_gen.median() / d_test.median().clamp_min(1e-12))
    share = float((d_gen < d_test.min()).double().mean())
    return {
        "median_nn_gen_to_train": float(d_gen.median()),
        "median_nn_test_to_train": float(d_test.median()),
        "ratio_gen_over_test": ratio,
        "share_closer_than_any_test": share,
        "flagged": bool(ratio < RATIO_THRESHOLD or share > SHARE_THRESHOLD),
        "num_generated": len(d_gen),
        "num_train": num_train,
        "num_test": len(d_test),
    }


def memorisation_stats(gen: torch.Tensor, train: torch.Tensor, test: torch.Tensor) -> dict[str, Any]:
    """The statistics with the whole training set in memory (the reference for the streamed check)."""
    return stats_from_distances(nearest(gen, train)[0][:, 0], nearest(test, train)[0][:, 0], len(train))


TrainChunks = Iterable[tuple[torch.Tensor, "torch.Tensor | None"]]


def _features(space: FeatureSpace, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([space(b) for b in x.split(256)])


def streamed_memorisation_check(
    gen_images: torch.Tensor,
    train_chunks: TrainChunks,
    test_images: torch.Tensor,
    feature_space: FeatureSpace | None = None,
    test_features: torch.Tensor | None = None,
    png: str | Path | None = None,
    neighbours: int = 5,
    rows: int = 16,
) -> dict[str, Any]:
    """The check with the training set streamed: ``train_chunks`` yields ``(images, features or None)``.

    Only the running nearest distance of every generated sample and test image is kept (pixels and
    features), plus the ``neighbours`` nearest training images of the first ``rows`` samples for the
    PNG; a chunk's features are computed with ``feature_space`` when the chunk brings none.
    """
    gen_pix, test_pix = RunningNearest(gen_images), RunningNearest(test_images)
    grid = RunningNearest(gen_images[:rows], k=neighbours, keep_items=rows) if png is not None else None
    gen_feat = test_feat = None
    if feature_space is not None:
        gen_feat = RunningNearest(_features(feature_space, gen_images))
        sf = test_features if test_features is not None else _features(feature_space, test_images)
        test_feat = RunningNearest(sf)
    num_train = 0
    for images, feats in train_chunks:
        gen_pix.update(images)
        test_pix.update(images)
        if grid is not None:
            grid.update(images, items=images)
        if gen_feat is not None and test_feat is not None:
            f = feats if feats is not None else _features(feature_space, images)  # type: ignore[arg-type]
            gen_feat.update(f)
            test_feat.update(f)
        num_train += len(images)
    if not num_train:
        raise ValueError("the memorisation check needs at least one training image")
    out: dict[str, Any] = {"pixels": stats_from_distances(gen_pix.dist[:, 0], test_pix.dist[:, 0], num_train)}
    if gen_feat is not None and test_feat is not None:
        stats = stats_from_distances(gen_feat.dist[:, 0], test_feat.dist[:, 0], num_train)
        stats["feature_space"] = feature_space.name  # type: ignore[union-attr]
        out["features"] = stats
    out["flagged"] = any(v["flagged"] for v in out.values() if isinstance(v, dict))
    if grid is not None:
        out["png"] = str(save_grid(gen_images[:rows], grid.items, png))
    return out


def tensor_chunks(
    images: torch.Tensor, features: torch.Tensor | None = None, chunk: int = 8192
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """``(images, features)`` chunks of in-memory tensors, for :func:`streamed_memorisation_check`."""
    for start in range(0, len(images), chunk):
        f = features[start : start + chunk] if features is not None else None
        yield images[start : start + chunk], f


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

    In-memory training images (and features, if cached); :func:`streamed_memorisation_check` does the
    work chunk by chunk.
    """
    return streamed_memorisation_check(
        gen_images,
        tensor_chunks(train_images, train_features),
        test_images,
        feature_space=feature_space,
        test_features=test_features,
        png=png,
        neighbours=neighbours,
        rows=rows,
    )


def save_grid(gen: torch.Tensor, neighbours: torch.Tensor, path: str | Path) -> Path:
    """PNG: one row per sample, the sample then its nearest training images ``neighbours`` (N, k, C, H, W)."""
    from torchvision.utils import save_image

    tiles = torch.cat([torch.cat([g.unsqueeze(0), nb]) for g, nb in zip(gen, neighbours)])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(tiles.float().clamp(0, 1), path, nrow=neighbours.shape[1] + 1, padding=2, pad_value=1.0)
    return path


def save_neighbour_grid(gen: torch.Tensor, train: torch.Tensor, path: str | Path, neighbours: int = 5) -> Path:
    """PNG: one row per sample, the sample then its ``neighbours`` nearest training images (pixel space)."""
    _, idx = nearest(gen, train, k=neighbours)
    return save_grid(gen, train[idx], path)
