"""Networks over token sequences: SeqGAN's LSTM generator, its oracle and its CNN discriminator.

Yu et al. 2017, "SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient" (AAAI), sec. 4 and
Appendix; the layer sizes and initialisations follow the authors' code (LantaoYu/SeqGAN: generator.py,
target_lstm.py, discriminator.py).

- :class:`LSTMGenerator`: embedding -> one LSTM layer -> linear to the vocabulary. Step 0 reads the
  embedding of ``start_token`` from a zero state; step t reads token t-1. Sequences have a fixed
  ``max_length`` T; tokens are int64 of shape (N, T).
- :func:`oracle_lstm`: the synthetic experiment's true model, an LSTMGenerator whose every parameter is
  drawn from N(0, 1) (the repository's TARGET_LSTM loads such parameters; its ``init_matrix`` is
  ``tf.random_normal(stddev=1.0)``).
- :class:`SequenceCNNDiscriminator`: Zhang & LeCun / Kim style text CNN: embedding, one convolution per
  window size with max-over-time pooling, a highway layer (Srivastava et al. 2015), dropout, 2-way output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from lightgen.errors import LightgenError

#: the paper's discriminator (Appendix, Table 5; sequence_gan.py): window sizes and filters per window
PAPER_FILTER_SIZES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
PAPER_NUM_FILTERS: tuple[int, ...] = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)

LSTMState = tuple[torch.Tensor, torch.Tensor]


class LSTMGenerator(nn.Module):
    """G_theta(y_t | Y_{1:t-1}): an autoregressive LSTM over a vocabulary of ``vocab_size`` tokens.

    Args:
        vocab_size: V, the number of tokens.
        max_length: T, the length of every sequence.
        embed_dim / hidden_dim: sizes of the token embedding and of the LSTM state (32 / 32 in the paper).
        start_token: the token whose embedding is the input of step 0 (0 in the repository).
        init_std: parameters drawn from N(0, init_std^2) (generator.py: 0.1); the LSTM has one bias per
            gate, as TensorFlow's cell (the second PyTorch bias is zero and stays fixed at init).
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        embed_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
        init_std: float = 0.1,
    ) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("max_length", max_length), ("embed_dim", embed_dim)):
            if int(value) < 1:
                raise LightgenError(f"{name} must be a positive integer; got {value}")
        if hidden_dim < 1:
            raise LightgenError(f"hidden_dim must be a positive integer; got {hidden_dim}")
        if not 0 <= start_token < vocab_size:
            raise LightgenError(f"start_token must be a token id in [0, {vocab_size}); got {start_token}")
        self.vocab_size, self.max_length, self.start_token = vocab_size, max_length, start_token
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.output = nn.Linear(hidden_dim, vocab_size)
        self.init_normal_(init_std)

    @torch.no_grad()
    def init_normal_(self, std: float, generator: torch.Generator | None = None) -> LSTMGenerator:
        """Every parameter from N(0, std^2), the hidden-to-hidden bias zero (one bias per gate, as in TF)."""
        for name, param in self.named_parameters():
            if name.endswith("bias_hh_l0"):
                param.zero_()
            else:
                param.copy_(torch.randn(param.shape, generator=generator) * std)
        return self

    def _start(self, n: int) -> torch.Tensor:
        return torch.full((n, 1), self.start_token, dtype=torch.long, device=self.output.weight.device)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (N, T, V) of y_t given y_{<t}, for tokens (N, T)."""
        inputs = torch.cat([self._start(tokens.shape[0]), tokens[:, :-1]], dim=1)
        hidden, _ = self.lstm(self.embedding(inputs))
        return self.output(hidden)

    def log_prob(self, tokens: torch.Tensor) -> torch.Tensor:
        """log G(y_t | y_{<t}) of each token, shape (N, T)."""
        logits = self(tokens).float()
        return torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def step(self, token: torch.Tensor, state: LSTMState | None) -> tuple[torch.Tensor, LSTMState]:
        """One step: logits (N, V) of the next token after reading ``token`` (N,), and the new state."""
        hidden, state = self.lstm(self.embedding(token.unsqueeze(1)), state)
        return self.output(hidden[:, 0]), state

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, prefix: torch.Tensor | None = None
    ) -> torch.Tensor:
        """n sequences (n, T) int64 drawn token by token; the first t tokens are ``prefix`` (n, t) when given.

        With a prefix this is one Monte Carlo rollout MC^{G_beta}(Y_{1:t}) of the paper (eq. 4): the prefix
        is read in one pass of the LSTM and only the remaining T - t tokens are drawn.
        """
        t = 0 if prefix is None else prefix.shape[1]
        if prefix is not None and (prefix.shape[0] != n or t > self.max_length):
            raise LightgenError(f"prefix must be (n={n}, t <= {self.max_length}); got {tuple(prefix.shape)}")
        state: LSTMState | None = None
        token = self._start(n)[:, 0]
        if t > 0:
            prefix = prefix.to(token.device).long()
            _, state = self.lstm(self.embedding(torch.cat([token[:, None], prefix[:, :-1]], dim=1)))
            token = prefix[:, -1]
        drawn = []
        for _ in range(self.max_length - t):
            logits, state = self.step(token, state)
            token = categorical(logits, generator)
            drawn.append(token)
        parts = ([prefix] if t > 0 else []) + ([torch.stack(drawn, dim=1)] if drawn else [])
        return torch.cat(parts, dim=1)


def categorical(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw (N,) from each row of softmax(logits (N, V)), by inverting the CDF with one uniform per row.

    Exact like ``torch.multinomial`` (a token of probability 0 is never drawn: its CDF step is empty) and
    many times faster on the CPU for large vocabularies (multinomial takes ~0.3 s for 500 x 5000).
    """
    logits = logits.float()
    cdf = (logits - logits.amax(dim=-1, keepdim=True)).exp_().cumsum(dim=-1)  # unnormalised: u scales by its end
    u = torch.rand(cdf.shape[0], 1, generator=generator, device=cdf.device, dtype=cdf.dtype)
    return torch.searchsorted(cdf, u * cdf[:, -1:], right=True).squeeze(1).clamp_(max=cdf.shape[1] - 1)


def oracle_lstm(
    vocab_size: int = 5000,
    max_length: int = 20,
    embed_dim: int = 32,
    hidden_dim: int = 32,
    seed: int = 0,
    start_token: int = 0,
) -> LSTMGenerator:
    """The synthetic experiment's oracle G_oracle (sec. 4): an LSTM whose parameters are drawn from N(0, 1)
    with ``seed`` (the repository's TARGET_LSTM; its released parameters are one such draw, ours another).
    Frozen (no gradients), in eval mode."""
    with torch.random.fork_rng(devices=[]):  # building it leaves the global RNG (training's stream) untouched
        oracle = LSTMGenerator(vocab_size, max_length, embed_dim, hidden_dim, start_token, init_std=1.0)
    oracle.init_normal_(1.0, torch.Generator().manual_seed(int(seed)))
    return oracle.requires_grad_(False).eval()


class Highway(nn.Module):
    """y = t * relu(W_h x + b_h) + (1 - t) * x, t = sigmoid(W_t x + b_t) (Srivastava et al. 2015; the
    repository's ``highway`` with gate bias 0)."""

    def __init__(self, size: int, gate_bias: float = 0.0) -> None:
        super().__init__()
        self.transform, self.gate = nn.Linear(size, size), nn.Linear(size, size)
        nn.init.constant_(self.gate.bias, gate_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(x))
        return t * F.relu(self.transform(x)) + (1 - t) * x


class SequenceCNNDiscriminator(nn.Module):
    """D_phi(Y): the probability that a whole sequence (N, T) is real (Appendix; discriminator.py).

    Embedding (uniform in [-1, 1]) -> for each window size l a convolution of ``num_filters`` filters of
    width l over the T x embed_dim matrix, ReLU, max over time -> concatenation (sum(num_filters) features)
    -> highway -> dropout -> linear to 2 logits; class 1 is "real". Smaller configurations are allowed.

    Args:
        vocab_size / max_length: V and T of the sequences.
        embed_dim: 64 in the paper's code.
        filter_sizes / num_filters: the windows and their filter counts (the paper's by default); every
            window must fit in T.
        dropout: drop probability before the output (keep probability 0.75 in the paper: 0.25).
    """

    def __init__(
        self,
        vocab_size: int,
        max_length: int,
        embed_dim: int = 64,
        filter_sizes: Sequence[int] = PAPER_FILTER_SIZES,
        num_filters: Sequence[int] = PAPER_NUM_FILTERS,
        dropout: float = 0.25,
    ) -> None:
        super().__init__()
        if len(filter_sizes) != len(num_filters) or not filter_sizes:
            raise LightgenError(
                f"filter_sizes and num_filters must be equally long and non-empty; got {len(filter_sizes)} "
                f"and {len(num_filters)}"
            )
        too_long = [int(s) for s in filter_sizes if not 1 <= int(s) <= max_length]
        if too_long:
            raise LightgenError(
                f"discriminator filter sizes {too_long} do not fit sequences of length {max_length}; "
                "give filter sizes between 1 and the length"
            )
        if any(int(k) < 1 for k in num_filters):
            raise LightgenError(f"num_filters must be positive integers; got {list(num_filters)}")
        if not 0.0 <= dropout < 1.0:
            raise LightgenError(f"dropout must be in [0, 1); got {dropout}")
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        nn.init.uniform_(self.embedding.weight, -1.0, 1.0)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, int(k), int(s)) for s, k in zip(filter_sizes, num_filters))
        for conv in self.convs:  # truncated normal (std 0.1) weights, bias 0.1
            nn.init.trunc_normal_(conv.weight, std=0.1, a=-0.2, b=0.2)
            nn.init.constant_(conv.bias, 0.1)
        width = sum(int(k) for k in num_filters)
        self.highway = Highway(width)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(width, 2)
        nn.init.trunc_normal_(self.output.weight, std=0.1, a=-0.2, b=0.2)
        nn.init.constant_(self.output.bias, 0.1)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        """Max-over-time pooled features after the highway layer, (N, sum(num_filters))."""
        x = self.embedding(tokens).transpose(1, 2)  # (N, E, T)
        pooled = [F.relu(conv(x)).amax(dim=2) for conv in self.convs]
        return self.highway(torch.cat(pooled, dim=1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (N, 2): column 0 "generated", column 1 "real"."""
        return self.output(self.dropout(self.features(tokens)))

    def prob_real(self, tokens: torch.Tensor) -> torch.Tensor:
        """D_phi(Y) = softmax(logits)[:, 1], shape (N,) (the repository's ``ypred_for_auc[:, 1]``)."""
        return torch.softmax(self(tokens).float(), dim=-1)[:, 1]
