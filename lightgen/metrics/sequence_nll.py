"""Likelihood scores of sequence generators in the synthetic oracle experiment (Yu et al. 2017, sec. 4).

- NLL_oracle = -E_{Y ~ G_theta} [ 1/T sum_t log G_oracle(y_t | Y_{1:t-1}) ]: the oracle's average per-token
  NLL of N sequences drawn from the trained generator (the repository's ``target_loss``: the mean over
  batches of ``pretrain_loss``, itself a mean over the batch's tokens; with equal batches that is the mean
  over all tokens, as here). Lower is better; the paper reports it for 10,000 samples.
- NLL_test: the trained generator's average per-token NLL of held-out oracle sequences (how well it
  covers the true distribution, which NLL_oracle alone does not measure: a collapsed G can score well).

A model here is anything with ``log_prob(tokens) -> (N, T)`` and ``sample(n, generator)``
(:class:`lightgen.nets.sequence.LSTMGenerator`).
"""

from __future__ import annotations

import torch
from torch import nn


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def sequence_nll(model: nn.Module, tokens: torch.Tensor, batch_size: int = 1000) -> float:
    """Average per-token NLL (nats) of sequences ``tokens`` (N, T) under ``model``, in float64 sums."""
    device = _device(model)
    total, count = 0.0, 0
    for i in range(0, len(tokens), batch_size):
        chunk = tokens[i : i + batch_size].to(device).long()
        total -= float(model.log_prob(chunk).double().sum())
        count += chunk.numel()
    return total / max(count, 1)


@torch.no_grad()
def nll_oracle(
    oracle: nn.Module, generator: nn.Module, num_samples: int = 10_000, seed: int = 0, batch_size: int = 1000
) -> float:
    """NLL_oracle of ``num_samples`` sequences drawn from ``generator`` with ``seed`` (see module docstring)."""
    gen = torch.Generator(device=_device(generator)).manual_seed(int(seed))
    samples = torch.cat([
        generator.sample(min(batch_size, num_samples - i), gen) for i in range(0, num_samples, batch_size)
    ])  # fmt: skip
    return sequence_nll(oracle, samples.to(_device(oracle)), batch_size)


def nll_test(generator: nn.Module, held_out: torch.Tensor, batch_size: int = 1000) -> float:
    """NLL_test: the generator's average per-token NLL of held-out oracle sequences (N, T)."""
    return sequence_nll(generator, held_out, batch_size)


@torch.no_grad()
def uniform_nll_oracle(
    oracle: nn.Module, vocab_size: int, length: int, num_samples: int = 10_000, seed: int = 0
) -> float:
    """NLL_oracle of uniformly random sequences: E_U[-log p_oracle] = log V + KL(U || p_oracle) per token,
    so at least log V (a lower bound of the paper's "random" baseline, whose generator is untrained)."""
    gen = torch.Generator().manual_seed(int(seed))
    return sequence_nll(oracle, torch.randint(0, vocab_size, (num_samples, length), generator=gen))
