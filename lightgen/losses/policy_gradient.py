"""SeqGAN's policy gradient: REINFORCE with Monte Carlo rollout rewards (Yu et al. 2017, sec. 3).

The generator G_theta is a policy whose state is the prefix Y_{1:t-1} and whose action is the next token
y_t; the only reward is the discriminator's D_phi(Y_{1:T}) for a finished sequence. The action value of a
prefix is estimated by N Monte Carlo rollouts with the rollout policy G_beta (eq. 4):

    Q(s = Y_{1:t-1}, a = y_t) = 1/N sum_n D_phi(Y^n_{1:T}),  Y^n ~ MC^{G_beta}(Y_{1:t}; N)   for t < T
                              = D_phi(Y_{1:t})                                                 for t = T

and the gradient of J(theta) = E[Q] is estimated by REINFORCE (eq. 6, Williams 1992):

    grad J ~= sum_t E_{y_t ~ G_theta} [ grad log G_theta(y_t | Y_{1:t-1}) Q(Y_{1:t-1}, y_t) ].

Pure functions: no state, the networks enter as callables.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lightgen.errors import LightgenError
from lightgen.losses.gan import LossDict

#: completes prefixes (n, t) into sequences (n, T) with a given generator (a rollout policy's sampler)
Completer = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]
#: D_phi(Y): the probability of "real" of each sequence, (n, T) -> (n,)
Scorer = Callable[[torch.Tensor], torch.Tensor]


def reinforce_loss(log_probs: torch.Tensor, rewards: torch.Tensor) -> LossDict:
    """The REINFORCE surrogate whose gradient is minus eq. 6's estimate, for a batch of sampled sequences.

    Args:
        log_probs: log G_theta(y_t | Y_{1:t-1}) of the sampled tokens, (N, T), with gradients.
        rewards: Q(Y_{1:t-1}, y_t), (N, T); treated as constants (no gradient flows into them).

    Returns ``loss = -1/N sum_n sum_t log_probs * rewards`` (the repository sums over the batch as well,
    which under Adam differs only by the scale seen by gradient clipping), and ``reward``, the mean Q.
    """
    if log_probs.shape != rewards.shape or log_probs.dim() != 2:
        raise LightgenError(
            f"log_probs and rewards must both be (N, T); got {tuple(log_probs.shape)} and {tuple(rewards.shape)}"
        )
    rewards = rewards.detach().to(log_probs.dtype)
    loss = -(log_probs * rewards).sum(dim=1).mean()
    return {"loss": loss, "reward": rewards.mean()}


def assemble_rollout_rewards(rollout_scores: torch.Tensor, final_scores: torch.Tensor) -> torch.Tensor:
    """Q of eq. 4 from the rollouts' scores.

    Args:
        rollout_scores: D_phi of the completions, (T - 1, R, N): prefix lengths t = 1..T-1, R rollouts each.
        final_scores: D_phi(Y_{1:T}) of the sampled sequences themselves, (N,).

    Returns the rewards (N, T): column t - 1 is the mean over rollouts from the prefix of length t, the
    last column the finished sequence's own score.
    """
    if rollout_scores.dim() != 3 or rollout_scores.shape[2] != final_scores.shape[0]:
        raise LightgenError(
            f"rollout_scores must be (T-1, R, N) with N = {final_scores.shape[0]}; got {tuple(rollout_scores.shape)}"
        )
    return torch.cat([rollout_scores.mean(dim=1), final_scores[None]], dim=0).transpose(0, 1)


@torch.no_grad()
def monte_carlo_rewards(
    tokens: torch.Tensor,
    complete: Completer,
    score: Scorer,
    num_rollouts: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Q(Y_{1:t-1}, y_t) for every t of the sampled sequences ``tokens`` (N, T), by eq. 4.

    For each prefix length t < T the N prefixes are repeated ``num_rollouts`` times and completed in one
    batch of R * N by ``complete`` (the rollout policy), then scored; t = T is scored as is.
    Returns (N, T) rewards without gradients.
    """
    if num_rollouts < 1:
        raise LightgenError(f"num_rollouts must be a positive integer; got {num_rollouts}")
    n, length = tokens.shape
    per_prefix = []
    for t in range(1, length):
        prefix = tokens[:, :t].repeat(num_rollouts, 1)  # (R * N, t): rollout r of sequence i is row r * N + i
        per_prefix.append(score(complete(prefix, generator)).reshape(num_rollouts, n))
    rollouts = torch.stack(per_prefix) if per_prefix else tokens.new_zeros((0, num_rollouts, n), dtype=torch.float)
    return assemble_rollout_rewards(rollouts.float(), score(tokens).float())
