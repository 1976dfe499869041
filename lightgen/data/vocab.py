"""A word tokenizer and vocabulary for captions (the word-level text input of Reed et al. 2016's char-CNN-RNN
successors and of StackGAN's text encoder, Zhang et al. 2017, sec. 3.1).

Tokens are lower-cased words (letters and digits, with inner hyphens or apostrophes: ``t-shirt``,
``don't``) and single punctuation marks. Ids: ``<pad>`` = 0 (so zero-padding is padding), ``<unk>`` = 1
for a word not seen when the vocabulary was built, ``<eos>`` = 2 closing every encoded caption; words
follow by descending count, then alphabetically, so a vocabulary is a pure function of its captions.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from lightgen.errors import LightgenError

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
SPECIALS = (PAD, UNK, EOS)
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens: ``"A dark, plain T-shirt."`` -> a dark , plain t-shirt ."""
    return _TOKEN.findall(text.lower())


class Vocabulary:
    """Words <-> ids. Build with :meth:`build`; save with :meth:`to_json`, reload with :meth:`from_json`.

    Args:
        words: every token in id order, starting with ``<pad>``, ``<unk>``, ``<eos>``.
    """

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if tuple(words[:3]) != SPECIALS:
            raise LightgenError(f"a vocabulary starts with {', '.join(SPECIALS)}; got {words[:3]}")
        if len(set(words)) != len(words):
            raise LightgenError("a vocabulary lists each word once; this one has duplicates")
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}

    pad_id, unk_id, eos_id = 0, 1, 2

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> Vocabulary:
        """The vocabulary of the tokens occurring at least ``min_count`` times in ``texts``."""
        counts = Counter(tok for text in texts for tok in tokenize(text))
        kept = sorted(
            (w for w, c in counts.items() if c >= min_count and w not in SPECIALS), key=lambda w: (-counts[w], w)
        )
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.words == other.words

    def encode(self, text: str, max_length: int) -> tuple[torch.Tensor, int]:
        """(ids (max_length,) int64 zero-padded, length): the tokens, cut to ``max_length - 1``, then ``<eos>``."""
        if max_length < 2:
            raise LightgenError(f"max_length must be at least 2 (a word and <eos>); got {max_length}")
        ids = [self.index.get(tok, self.unk_id) for tok in tokenize(text)][: max_length - 1] + [self.eos_id]
        out = torch.zeros(max_length, dtype=torch.int64)
        out[: len(ids)] = torch.tensor(ids, dtype=torch.int64)
        return out, len(ids)

    def encode_many(self, texts: Sequence[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids (M, max_length) int64, lengths (M,) int64) of many texts, as :meth:`encode`; repeated texts are
        tokenized once."""
        if max_length < 2:
            raise LightgenError(f"max_length must be at least 2 (a word and <eos>); got {max_length}")
        cache: dict[str, list[int]] = {}
        rows = []
        for text in texts:
            ids = cache.get(text)
            if ids is None:
                ids = [self.index.get(tok, self.unk_id) for tok in tokenize(text)][: max_length - 1] + [self.eos_id]
                cache[text] = ids = ids + [self.pad_id] * (max_length - len(ids))
            rows.append(ids)
        out = torch.tensor(rows, dtype=torch.int64).reshape(len(rows), max_length)
        return out, (out != self.pad_id).sum(1)

    def decode(self, ids: Sequence[int] | torch.Tensor, length: int | None = None) -> str:
        """Tokens joined by spaces, up to ``length`` ids or the first ``<eos>`` / ``<pad>``."""
        ids = [int(i) for i in ids][:length]
        words = []
        for i in ids:
            if i in (self.eos_id, self.pad_id):
                break
            words.append(self.words[i] if 0 <= i < len(self.words) else UNK)
        return " ".join(words)

    def to_json(self) -> str:
        return json.dumps({"words": self.words})

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        try:
            words = json.loads(text)["words"]
        except (ValueError, KeyError, TypeError) as err:
            raise LightgenError(f"not a vocabulary file ({err}); expected JSON with a 'words' list") from None
        return cls(words)
