"""Likelihood metrics: exact NLL, ELBO and importance-sampled log p(x), in nats and bits/dim.

- Exact ``log p(x)`` for autoregressive models (FVBN, NADE, MADE, PixelCNN): the chain rule.
- VAEs: the ELBO (a lower bound) and the importance-sampled estimate ``L_k`` with k = 5000 draws
  (Burda et al. 2015, "Importance Weighted Autoencoders", sec. 5), itself a lower bound in expectation
  that tightens as k grows.

Every number comes with its standard error over test examples (``std / sqrt(N)``), so two models can
be told apart or not. Bits per dimension are ``nats / (D ln 2)`` for the data as the model sees it
(binarized or [0, 1] intensities): numbers are comparable only under the same data protocol.
Theis et al. 2016 ("A note on the evaluation of generative models"): likelihood and sample quality
are largely independent; a good likelihood does not imply good samples, nor the reverse.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from lightgen.errors import LightgenError


def likelihood_kind(model: Any) -> str | None:
    """ "exact" (log_prob without a bound), "bound" (a VAE: elbo + importance-sampled log_prob) or None."""
    if hasattr(model, "elbo"):
        return "bound"
    if hasattr(model, "log_prob"):
        return "exact"
    return None


def summarise(values: torch.Tensor, num_dims: int) -> dict[str, float]:
    """Mean log-likelihood -> NLL in nats and bits/dim with standard errors (over examples)."""
    v = values.double()
    if not torch.isfinite(v).all():
        raise LightgenError(
            f"{int((~torch.isfinite(v)).sum())} non-finite log-likelihoods; the model assigns zero density to test data"
        )
    n = len(v)
    se = float(v.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan")
    nll = float(-v.mean())
    scale = num_dims * math.log(2)
    return {"nll_nats": nll, "nll_nats_se": se, "bits_per_dim": nll / scale, "bits_per_dim_se": se / scale, "n": n}


def _accepts(fn: Callable, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def likelihood_metrics(
    model: Any,
    batches: Iterable[torch.Tensor],
    k: int = 5000,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Per-example log-likelihoods of test ``batches`` (in the model's value range), summarised.

    Returns ``{"kind", "exact" | ("elbo", "is_estimate"), "k"}``; each entry from :func:`summarise`.
    """
    kind = likelihood_kind(model)
    if kind is None:
        raise LightgenError(
            f"{type(model).__name__} has no likelihood (no log_prob/elbo): metric 'll' needs a VAE or an "
            "autoregressive model; use 'parzen' (with its caveats) or sample-quality metrics instead"
        )
    device = getattr(model, "device", torch.device("cpu"))
    num_dims = int(math.prod(model.data_shape))
    exact, elbo, iwae = [], [], []
    with torch.no_grad():
        for i, x in enumerate(batches):
            x = x.to(device)
            if kind == "exact":
                exact.append(model.log_prob(x).double().cpu())
            else:
                kw = {"seed": seed + i} if _accepts(model.elbo, "seed") else {}
                elbo.append(model.elbo(x, **kw).double().cpu())
                kw_is = dict(kw)
                if _accepts(model.log_prob, "k"):
                    kw_is["k"] = k
                iwae.append(model.log_prob(x, **kw_is).double().cpu())
            if progress is not None:
                progress(len(x))
    if kind == "exact":
        return {"kind": "exact", "exact": summarise(torch.cat(exact), num_dims)}
    return {
        "kind": "bound",
        "k": k,
        "elbo": summarise(torch.cat(elbo), num_dims),
        "is_estimate": summarise(torch.cat(iwae), num_dims),
    }
