"""Mode coverage on data whose modes are known.

- Toy 2-D mixtures (e.g. 8 Gaussians on a ring, a 5x5 grid; Metz et al. 2017 "Unrolled GANs",
  Srivastava et al. 2017 "VEEGAN"): a sample is "high quality" when it lies within 3 standard
  deviations of its nearest centre; a mode is hit when at least one high-quality sample is assigned to
  it. A mode-collapsed generator hits few modes with a high share of high-quality samples; a blurry
  one hits many with a low share.
- MNIST-like data: the 10 classes seen through the domain classifier
  (:func:`lightgen.metrics.classifier.class_histogram`).
"""

from __future__ import annotations

from typing import Any

import torch

from lightgen.errors import LightgenError


def mixture_mode_coverage(
    samples: torch.Tensor, centers: torch.Tensor, std: float, min_count: int = 1
) -> dict[str, Any]:
    """Modes hit within 3 std, share of high-quality samples, per-mode counts and the reverse KL.

    Each sample is assigned to its nearest centre (Euclidean); it is high quality when that distance is
    at most 3 ``std`` (3 standard deviations, not 3 variances; VEEGAN, PacGAN). With c_k the high-quality
    samples assigned to mode k and H = sum_k c_k:

    - ``modes_hit``: modes with c_k >= ``min_count`` (1: at least one high-quality sample).
    - ``high_quality_share``: H / N.
    - ``kl_from_uniform_nats``: the reverse KL of the mode histogram, KL(p_model || uniform) =
      sum_k p_k log(M p_k) with p_k = c_k / H (0 log 0 = 0): 0 when every mode gets the same share,
      log M when all high-quality samples sit in one mode, inf when no sample is high quality. (The
      forward KL(uniform || p_model) would be infinite as soon as one mode is missed.)

    Args:
        samples: (N, 2) (or (N, D)) generated points.
        centers: (M, D) mixture means.
        std: the standard deviation of each component.
        min_count: high-quality samples a mode needs to count as hit.
    """
    if not std > 0:
        raise LightgenError(f"std must be a positive number; got {std}")
    if samples.dim() != 2 or centers.dim() != 2 or samples.shape[1] != centers.shape[1]:
        raise LightgenError(
            f"samples (N, D) and centers (M, D) must agree; got {tuple(samples.shape)} and {tuple(centers.shape)}"
        )
    d = torch.cdist(samples.double(), centers.double())  # (N, M)
    dist, mode = d.min(dim=1)
    good = dist <= 3 * std
    counts = torch.bincount(mode[good], minlength=len(centers))
    hq = int(good.sum())
    p = counts.double() / max(hq, 1)
    nz = p > 0
    kl = float((p[nz] * (p[nz] * len(centers)).log()).sum()) if hq else float("inf")
    return {
        "modes_hit": int((counts >= min_count).sum()),
        "num_modes": len(centers),
        "high_quality_share": hq / max(len(samples), 1),
        "mode_counts": counts.tolist(),
        "kl_from_uniform_nats": kl,
        "num_samples": len(samples),
    }
