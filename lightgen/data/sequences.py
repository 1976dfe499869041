"""Token sequences for SeqGAN (Yu et al. 2017): the synthetic oracle data and plain-text corpora.

- :class:`OracleSequences`: the paper's synthetic experiment (sec. 4, LantaoYu/SeqGAN protocol). An oracle
  LSTM with N(0, 1) parameters (vocabulary 5000, length 20, embedding and hidden size 32) is the true
  model; it generates 10,000 training sequences, and a held-out set for NLL_test. The sequences are
  drawn once and cached under ``<root>/oracle_sequences/<key>.pt``, the key a digest of every setting
  that selects them. ``oracle`` is the true model, for NLL_oracle (:mod:`lightgen.metrics.sequence_nll`).
- :class:`TextSequences`: a plain text file, one sentence a line, split on whitespace; the vocabulary is
  built from the training lines and written beside the corpus as ``<corpus>.vocab.json``. Ids: 0 <pad>,
  1 <eos>, 2 <unk>; each sentence ends with <eos>, is truncated to ``max_length`` and padded with <pad>.

A batch is a LongTensor (B, T). ``data_shape`` is (T,), linked to the model by the CLI; ``vocab_size``
is what the model's networks are built for.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import torch
from torch.utils.data import Dataset

from lightgen.data.base import GenerativeDataModule
from lightgen.errors import DataNotFoundError, LightgenError
from lightgen.nets.sequence import LSTMGenerator, oracle_lstm

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
SPECIALS = (PAD, EOS, UNK)
CACHE_VERSION = 1  # bump when the way sequences are drawn changes


class TokenTensors(Dataset):
    """Rows of a LongTensor (N, T); item i is the sequence (T,)."""

    def __init__(self, tokens: torch.Tensor) -> None:
        self.tokens = tokens

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.tokens[index]


@torch.no_grad()
def draw_oracle_sequences(oracle: LSTMGenerator, n: int, seed: int, chunk: int = 2000) -> torch.Tensor:
    """n sequences (n, T) from ``oracle``, drawn in chunks from one generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.cat([oracle.sample(min(chunk, n - i), gen) for i in range(0, n, chunk)]) if n else torch.empty(0)


class OracleSequences(GenerativeDataModule):
    """The synthetic oracle benchmark of SeqGAN (sec. 4).

    Args:
        vocab_size / max_length / embed_dim / hidden_dim: the oracle LSTM (5000 / 20 / 32 / 32 in the paper).
        oracle_seed: seed of the oracle's N(0, 1) parameters.
        num_train: training sequences drawn from the oracle (10,000 in the paper).
        num_test: held-out sequences (NLL_test); they serve as the validation and the test split.
        root / batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule;
            ``seed`` seeds the shuffle and the draws of the sequences.
    """

    auto_workers = False  # in-memory tensors

    def __init__(
        self,
        vocab_size: int = 5000,
        max_length: int = 20,
        embed_dim: int = 32,
        hidden_dim: int = 32,
        oracle_seed: int = 0,
        num_train: int = 10_000,
        num_test: int = 10_000,
        root: str | None = None,
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        if num_train < batch_size:
            raise LightgenError(f"num_train must be at least batch_size ({batch_size}); got {num_train}")
        if num_test < 1:
            raise LightgenError(f"num_test must be a positive integer (the held-out set); got {num_test}")
        self.save_hyperparameters()
        self.vocab_size, self.max_length = vocab_size, max_length
        self.num_train, self.num_test = num_train, num_test
        self.oracle = oracle_lstm(vocab_size, max_length, embed_dim, hidden_dim, oracle_seed)
        self.data_shape = (max_length,)
        self.value_range = (0.0, float(vocab_size - 1))

    def cache_path(self) -> Path:
        """``<root>/oracle_sequences/<digest of the settings>.pt``."""
        h = self.hparams
        key = (CACHE_VERSION, h.vocab_size, h.max_length, h.embed_dim, h.hidden_dim, h.oracle_seed)
        key += (h.num_train, h.num_test, h.seed)
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
        return self.root / "oracle_sequences" / f"{digest}.pt"

    def load_or_draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(train (num_train, T), test (num_test, T)): read from the cache, or drawn and cached."""
        path = self.cache_path()
        if path.is_file():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            return saved["train"], saved["test"]
        train = draw_oracle_sequences(self.oracle, self.num_train, self.seed)
        test = draw_oracle_sequences(self.oracle, self.num_test, self.seed + 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"train": train, "test": test, "settings": dict(self.hparams)}, tmp)
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        return train, test

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        train, test = self.load_or_draw()
        self.train_set = TokenTensors(train)
        self.val_set = self.test_set = TokenTensors(test)


def read_corpus(path: Path) -> list[list[str]]:
    """The non-blank lines of a UTF-8 text file, split on whitespace; one-line errors when unusable."""
    if not path.is_file():
        raise DataNotFoundError(f"text corpus {path} not found; give a plain text file, one sentence a line")
    lines = [line.split() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [words for words in lines if words]
    if not lines:
        raise LightgenError(f"text corpus {path} holds no sentences (every line is blank)")
    return lines


def build_vocabulary(sentences: list[list[str]], min_count: int = 1, max_vocab: int | None = None) -> list[str]:
    """<pad>, <eos>, <unk>, then the words seen at least ``min_count`` times, most frequent first (ties
    alphabetically), at most ``max_vocab`` entries in all."""
    counts = Counter(word for words in sentences for word in words if word not in SPECIALS)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    vocab = list(SPECIALS) + words
    return vocab[:max_vocab] if max_vocab else vocab


def encode(sentences: list[list[str]], vocab: list[str], max_length: int) -> torch.Tensor:
    """(N, max_length) ids: the words, <eos>, then <pad>; truncated to max_length; unknown words -> <unk>."""
    index = {w: i for i, w in enumerate(vocab)}
    rows = torch.full((len(sentences), max_length), index[PAD], dtype=torch.long)
    for i, words in enumerate(sentences):
        ids = [index.get(w, index[UNK]) for w in words][: max_length - 1] + [index[EOS]]
        rows[i, : len(ids)] = torch.tensor(ids[:max_length])
    return rows


class TextSequences(GenerativeDataModule):
    """A plain text corpus, one sentence a line, as fixed-length token sequences.

    Args:
        path: the corpus file (UTF-8 text).
        max_length: T; longer sentences are truncated, shorter ones padded (the <eos> counts).
        vocab_size: at most this many tokens (specials included); None: every word seen ``min_count`` times.
        min_count: rarer words become <unk>.
        val_fraction / test_fraction: shares of the lines held out, chosen by ``seed`` (at least one line
            each when the fraction is positive and the corpus has room).
        root / batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule.
    """

    auto_workers = False

    def __init__(
        self,
        path: str,
        max_length: int = 20,
        vocab_size: int | None = None,
        min_count: int = 1,
        val_fraction: float = 0.05,
        test_fraction: float = 0.05,
        root: str | None = None,
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        if max_length < 2:
            raise LightgenError(f"max_length must be at least 2 (a word and <eos>); got {max_length}")
        if vocab_size is not None and vocab_size <= len(SPECIALS):
            raise LightgenError(f"vocab_size must exceed the {len(SPECIALS)} special tokens; got {vocab_size}")
        for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0.0 <= value < 0.5:
                raise LightgenError(f"{name} must be in [0, 0.5); got {value}")
        self.save_hyperparameters()
        self.path = Path(path).expanduser()
        self.max_length = max_length
        self.data_shape = (max_length,)
        self.vocab: list[str] | None = None

    @property
    def vocab_path(self) -> Path:
        return self.path.with_name(self.path.name + ".vocab.json")

    @property
    def vocab_size(self) -> int:
        """The size of the vocabulary built from the training lines (reads the corpus on first use)."""
        if self.vocab is None:
            self.setup()
        return len(self.vocab)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        h = self.hparams
        sentences = read_corpus(self.path)
        order = torch.randperm(len(sentences), generator=torch.Generator().manual_seed(self.seed)).tolist()
        n = len(sentences)
        n_val = max(1, round(h.val_fraction * n)) if h.val_fraction > 0 and n >= 3 else 0
        n_test = max(1, round(h.test_fraction * n)) if h.test_fraction > 0 and n >= 3 else 0
        if n - n_val - n_test < self.batch_size:
            raise LightgenError(
                f"text corpus {self.path} leaves {n - n_val - n_test} training sentences, fewer than batch_size "
                f"{self.batch_size}; use a larger corpus or a smaller batch"
            )
        val = [sentences[i] for i in order[:n_val]]
        test = [sentences[i] for i in order[n_val : n_val + n_test]]
        train = [sentences[i] for i in order[n_val + n_test :]]
        self.vocab = build_vocabulary(train, h.min_count, h.vocab_size)
        self._write_vocab()
        self.train_set = TokenTensors(encode(train, self.vocab, self.max_length))
        self.val_set = TokenTensors(encode(val, self.vocab, self.max_length)) if val else None
        self.test_set = TokenTensors(encode(test, self.vocab, self.max_length)) if test else None
        self.value_range = (0.0, float(len(self.vocab) - 1))

    def _write_vocab(self) -> None:
        text = json.dumps({"tokens": self.vocab, "max_length": self.max_length}, ensure_ascii=False, indent=0)
        try:
            if not self.vocab_path.is_file() or self.vocab_path.read_text(encoding="utf-8") != text:
                self.vocab_path.write_text(text, encoding="utf-8")
        except OSError:  # a read-only corpus folder: the vocabulary is rebuilt from the corpus anyway
            pass

    def decode(self, tokens: torch.Tensor) -> list[str]:
        """Sentences of token rows (N, T), stopping at <eos>."""
        if self.vocab is None:
            self.setup()
        out = []
        for row in tokens.tolist():
            words = []
            for i in row:
                if self.vocab[i] == EOS:
                    break
                words.append(self.vocab[i])
            out.append(" ".join(w for w in words if w != PAD))
        return out
