"""``lightgen evaluate`` for sequence models (SeqGAN): NLL_oracle and NLL_test (Yu et al. 2017, sec. 4).

- ``nll_oracle``: the oracle's average per-token NLL of ``--num-samples`` sequences the model draws (batch i
  seeded ``--seed`` + i); needs a datamodule with an ``oracle`` (:class:`lightgen.data.OracleSequences`).
- ``nll_test``: the model's average per-token NLL of the ``--split`` sequences (held-out oracle data or
  held-out sentences of a corpus): the coverage NLL_oracle does not measure.

Both are per-token means in nats, with the standard error over the sequences.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from lightgen.errors import LightgenError

if TYPE_CHECKING:
    from lightgen.metrics.runner import Evaluation

SEQUENCE_METRICS = ("nll_oracle", "nll_test")


def is_sequence_model(model: Any) -> bool:
    """A model of token sequences: (T,) data and a ``decode`` of its samples to text."""
    return len(getattr(model, "data_shape", ())) == 1 and callable(getattr(model, "decode", None))


def check_sequence_request(metrics: set[str], model: Any, dm: Any) -> None:
    """One-line errors before any work: metrics for other models, NLL_oracle without an oracle."""
    name = type(model).__name__
    if not is_sequence_model(model):
        if metrics & set(SEQUENCE_METRICS):
            raise LightgenError(f"metrics nll_oracle/nll_test are for sequence models; {name} is not one")
        return
    other = metrics - set(SEQUENCE_METRICS)
    if other:
        raise LightgenError(f"{name} models token sequences: use nll_oracle, nll_test (not {','.join(sorted(other))})")
    if "nll_oracle" in metrics and getattr(dm, "oracle", None) is None:
        raise LightgenError(f"nll_oracle needs the synthetic oracle's datamodule; {type(dm).__name__} has no oracle")


def per_sequence_nll(net: torch.nn.Module, tokens: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Each sequence's average per-token NLL under ``net`` (``log_prob(tokens) -> (N, T)``), float64."""
    device = next(net.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(tokens), batch_size):
            chunk = tokens[i : i + batch_size].to(device).long()
            out.append(-net.log_prob(chunk).double().mean(1).cpu())
    return torch.cat(out)


def mean_and_se(values: torch.Tensor) -> dict[str, float]:
    n = len(values)
    se = float(values.std() / math.sqrt(n)) if n > 1 else float("nan")
    return {"mean": float(values.mean()), "se": se}


def run_sequence_metrics(ev: Evaluation) -> None:
    """Add the requested sequence metrics to ``ev.report``."""
    model, dm, opts, m = ev.model, ev.dm, ev.options, set(ev.metrics)
    card = {"unit": "nats per token", "error": "se: standard error over the sequences"}
    if "nll_oracle" in m:
        n, bs = opts.num_samples, opts.batch_size
        samples = torch.cat([model.sample(min(bs, n - s), seed=opts.seed + i) for i, s in enumerate(range(0, n, bs))])
        values = per_sequence_nll(dm.oracle, samples.cpu(), bs)
        stats = mean_and_se(values)
        ev.report.add(
            "nll_oracle",
            {"nll_oracle": stats["mean"], "nll_oracle_se": stats["se"]},
            **card,
            num_generated=n,
            seeds=f"batch i of {bs} sequences drawn with seed {opts.seed} + i",
            definition="-1/T sum_t log p_oracle(y_t | y_<t) of the model's samples, averaged (Yu et al. 2017, sec. 4)",
        )
    if "nll_test" in m:
        ds = ev.split(opts.split)
        tokens = torch.stack([ds[i] for i in range(len(ds))])
        stats = mean_and_se(per_sequence_nll(model.generator, tokens, opts.batch_size))
        ev.report.add(
            "nll_test",
            {"nll_test": stats["mean"], "nll_test_se": stats["se"]},
            **card,
            num_real=len(tokens),
            real_split=f"{type(dm).__name__}/{opts.split}",
            definition="-1/T sum_t log p_model(y_t | y_<t) of the held-out sequences, averaged",
        )
