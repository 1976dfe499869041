"""Unsupervised clustering accuracy: predicted clusters matched one to one to classes, then scored.

InfoGAN (Chen et al. 2016, sec. 7.1) reads its 10-way categorical code as a classifier of MNIST digits "by
matching each category in c1 to a digit type" and reports 5% error (95% accuracy). The clusters are
arbitrary names, so the score is the best one-to-one matching: with n_kc the images of class c put in
cluster k, accuracy = max over one-to-one maps m of sum_k n_{k, m(k)} / N, an assignment problem solved
exactly with the Hungarian method (scipy's ``linear_sum_assignment``, when scipy is installed) or, for at
most :data:`MAX_EXACT_WITHOUT_SCIPY` clusters or classes, by exact dynamic programming over subsets.
Clusters left without a class (more clusters than classes) count as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightgen.errors import LightgenError

#: largest side of the count matrix the subset dynamic programme takes (2^12 states) when scipy is missing
MAX_EXACT_WITHOUT_SCIPY = 12


@dataclass(frozen=True)
class MatchedAccuracy:
    """``accuracy`` in [0, 1]; ``mapping`` cluster -> class of the best matching; ``counts`` (K, C), n_kc."""

    accuracy: float
    mapping: dict[int, int]
    counts: torch.Tensor

    @property
    def error(self) -> float:
        return 1.0 - self.accuracy


def cluster_class_counts(
    clusters: torch.Tensor, labels: torch.Tensor, num_clusters: int, num_classes: int
) -> torch.Tensor:
    """(K, C) int64 counts n_kc of examples with cluster k and class c."""
    flat = clusters.long() * num_classes + labels.long()
    return torch.bincount(flat, minlength=num_clusters * num_classes).view(num_clusters, num_classes)


def _assignment_by_subsets(counts: list[list[int]]) -> list[tuple[int, int]]:
    """Exact maximum-weight one-to-one matching of rows to columns (columns the smaller side): for each
    row in turn, keep the best total for every set of used columns; a row may stay unmatched."""
    best: dict[int, tuple[int, tuple[tuple[int, int], ...]]] = {0: (0, ())}
    for r, row in enumerate(counts):
        nxt = dict(best)
        for used, (total, pairs) in best.items():
            for c, w in enumerate(row):
                if used >> c & 1:
                    continue
                key = used | 1 << c
                if key not in nxt or total + w > nxt[key][0]:
                    nxt[key] = (total + w, (*pairs, (r, c)))
        best = nxt
    return list(max(best.values(), key=lambda item: item[0])[1])


def best_matching(counts: torch.Tensor) -> list[tuple[int, int]]:
    """(cluster, class) pairs of a one-to-one matching that maximises the matched counts."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        linear_sum_assignment = None
    if linear_sum_assignment is not None:
        rows, cols = linear_sum_assignment(counts.cpu().numpy(), maximize=True)
        return [(int(r), int(c)) for r, c in zip(rows, cols)]
    if min(counts.shape) > MAX_EXACT_WITHOUT_SCIPY:
        raise LightgenError(
            f"matching {tuple(counts.shape)} clusters x classes without scipy is limited to "
            f"{MAX_EXACT_WITHOUT_SCIPY} on the smaller side; install scipy"
        )
    if counts.shape[1] <= counts.shape[0]:
        return _assignment_by_subsets(counts.tolist())
    return [(r, c) for c, r in _assignment_by_subsets(counts.t().tolist())]


def matched_accuracy(
    clusters: torch.Tensor, labels: torch.Tensor, num_clusters: int | None = None, num_classes: int | None = None
) -> MatchedAccuracy:
    """Accuracy of predicted ``clusters`` (N,) against true ``labels`` (N,) under the best one-to-one
    matching of clusters to classes. ``num_clusters`` / ``num_classes`` default to 1 + the largest value seen."""
    clusters, labels = torch.as_tensor(clusters).flatten().long(), torch.as_tensor(labels).flatten().long()
    if clusters.shape != labels.shape or clusters.numel() == 0:
        raise LightgenError(
            f"clusters and labels must be equally long and non-empty; got {clusters.numel()} and {labels.numel()}"
        )
    if clusters.min() < 0 or labels.min() < 0:
        raise LightgenError(f"clusters and labels must be >= 0; got minima {clusters.min()} and {labels.min()}")
    k = int(clusters.max()) + 1 if num_clusters is None else num_clusters
    c = int(labels.max()) + 1 if num_classes is None else num_classes
    if clusters.max() >= k or labels.max() >= c:
        raise LightgenError(
            f"clusters must be < num_clusters={k} and labels < num_classes={c}; got maxima "
            f"{int(clusters.max())} and {int(labels.max())}"
        )
    counts = cluster_class_counts(clusters, labels, k, c)
    mapping = dict(sorted(best_matching(counts)))
    matched = sum(int(counts[r, col]) for r, col in mapping.items())
    return MatchedAccuracy(matched / clusters.numel(), mapping, counts)
