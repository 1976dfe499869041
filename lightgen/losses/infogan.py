"""InfoGAN's variational lower bound on the mutual information I(c; G(z, c)): pure tensor functions.

Chen et al. 2016 ("InfoGAN: Interpretable Representation Learning by Information Maximizing Generative
Adversarial Nets"), eq. 5: for any auxiliary distribution Q(c | x),

    I(c; G(z, c)) >= L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)} [log Q(c | x)] + H(c),

tight when Q is the true posterior P(c | x) (their Lemma 5.1 lets the expectation be taken over the
drawn c, so no sample of the posterior is needed). The game is min_{G, Q} max_D V(D, G) - lambda L_I(G, Q)
(eq. 6). Two code families, as in their MNIST experiment (sec. 7.1):

- a K-way categorical code c ~ Cat(1/K): H(c) = log K, Q(c | x) = softmax(logits)_c; L_I lies in [0, log K].
- continuous codes c_j ~ U(-1, 1): H(c_j) = log 2 (a differential entropy), Q(c_j | x) = N(mu_j, sigma_j^2)
  (appendix C: "a diagonal Gaussian"). A differential entropy can make L_I negative; with sigma fixed to 1
  (the authors' MNIST code) L_I <= log 2 - 1/2 log(2 pi) ~ -0.23 per code even when mu recovers c exactly.

Shapes: logits (N, K), one-hot codes (N, K); means, log-stds and codes (N, M). Every term is a batch mean.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lightgen.losses.gan import LossDict

#: H(c) of one code c ~ U(-1, 1): log(high - low), the differential entropy of the uniform on [-1, 1]
UNIFORM_CODE_ENTROPY = math.log(2.0)
HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


def categorical_log_likelihood(logits: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
    """log Q(c | x) of the drawn one-hot code under softmax(logits), per example: (N,)."""
    return (F.log_softmax(logits, dim=1) * one_hot).sum(dim=1)


def gaussian_log_likelihood(mean: torch.Tensor, log_std: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """log Q(c | x) = sum_j log N(c_j; mu_j, sigma_j^2), sigma_j = exp(log_std_j), per example: (N,).

    log N(c; mu, sigma^2) = -1/2 ((c - mu) / sigma)^2 - log sigma - 1/2 log(2 pi)."""
    z = (code - mean) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - HALF_LOG_TWO_PI).sum(dim=1)


def mutual_information_terms(
    cat_logits: torch.Tensor,
    cat_code: torch.Tensor,
    cont_mean: torch.Tensor,
    cont_log_std: torch.Tensor,
    cont_code: torch.Tensor,
    weight_categorical: float = 1.0,
    weight_continuous: float = 1.0,
) -> LossDict:
    """The bound L_I (eq. 5) of a categorical and a continuous code, its parts, and the cost it adds.

    Returns:
        ``loss``: -(lambda_cat L_I^cat + lambda_cont L_I^cont), what both players' costs add (eq. 6: the
        game minimises V - lambda L_I over G and Q); ``mi_lower_bound``: L_I = L_I^cat + L_I^cont (unweighted);
        ``mi_categorical`` = log K - ``q_categorical_nll``; ``mi_continuous`` = M log 2 - ``q_continuous_nll``;
        ``q_categorical_nll`` = -E log Q(c_cat | x); ``q_continuous_nll`` = -E log Q(c_cont | x);
        ``q_categorical_accuracy``: how often argmax Q recovers the drawn category (a diagnostic).
    """
    k, m = cat_logits.shape[1], cont_mean.shape[1]
    cat_nll = -categorical_log_likelihood(cat_logits, cat_code).mean()
    mi_cat = math.log(k) - cat_nll
    if m:
        cont_nll = -gaussian_log_likelihood(cont_mean, cont_log_std, cont_code).mean()
    else:  # no continuous code: nothing to recover
        cont_nll = cat_nll.new_zeros(())
    mi_cont = m * UNIFORM_CODE_ENTROPY - cont_nll
    with torch.no_grad():
        accuracy = (cat_logits.argmax(1) == cat_code.argmax(1)).float().mean()
    return {
        "loss": -(weight_categorical * mi_cat + weight_continuous * mi_cont),
        "mi_lower_bound": (mi_cat + mi_cont).detach(),
        "mi_categorical": mi_cat.detach(),
        "mi_continuous": mi_cont.detach(),
        "q_categorical_nll": cat_nll.detach(),
        "q_continuous_nll": cont_nll.detach(),
        "q_categorical_accuracy": accuracy,
    }
