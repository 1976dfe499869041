"""Text and image encoders of a joint embedding (Reed et al. 2016, "Learning Deep Representations of
Fine-Grained Visual Descriptions", sec. 3), the text side of StackGAN's conditioning (Zhang et al. 2017,
sec. 3.1, where a pretrained char-CNN-RNN gives phi_t).

Here the text encoder is word-level: an embedding, a bidirectional GRU or LSTM over the real tokens
(packed by length, so padding never enters the state), the mean of its outputs over those tokens or the
last states of both directions, then a linear map to ``embedding_dim``. The image encoder is a small
DCGAN-style conv net (stride-2 convolutions, batch norm, leaky ReLU; Radford et al. 2015) to the same size.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class TextEncoder(nn.Module):
    """Token ids (B, L) and lengths (B,) -> text embeddings (B, embedding_dim).

    Args:
        vocab_size: ids in [0, vocab_size); id 0 is padding.
        embedding_dim: size of the output embedding.
        word_dim: size of a word vector.
        hidden_dim: recurrent state size per direction.
        cell: "gru" or "lstm".
        pool: "mean" of the outputs over the real tokens, or "last" states of both directions.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 256,
        word_dim: int = 128,
        hidden_dim: int = 128,
        cell: Literal["gru", "lstm"] = "gru",
        pool: Literal["mean", "last"] = "mean",
    ) -> None:
        super().__init__()
        self.pool = pool
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.rnn = rnn(word_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden_dim, embedding_dim)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.clamp(1, ids.shape[1])
        packed = pack_padded_sequence(self.words(ids), lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, state = self.rnn(packed)
        if self.pool == "last":
            h = state[0] if isinstance(state, tuple) else state  # (2, B, H): last forward, first backward
            pooled = torch.cat([h[0], h[1]], 1)
        else:
            padded, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])  # (B, L, 2H), 0 pad
            pooled = padded.sum(1) / lengths.to(padded.dtype)[:, None]
        return self.out(pooled)


class ImageEncoder(nn.Module):
    """Images (B, C, S, S) -> embeddings (B, embedding_dim), S >= 8.

    Stride-2 4x4 convolutions until the map is 4x4 or smaller (64 px: four), doubling the width up to
    ``8 * width``; a global average and a linear map to the embedding.
    """

    def __init__(self, channels: int, image_size: int, embedding_dim: int = 256, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size, cin, cout = image_size, channels, width
        while size > 4:
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)]
            layers += [nn.BatchNorm2d(cout)] if cin != channels else []
            layers += [nn.LeakyReLU(0.2, inplace=True)]
            size, cin, cout = size // 2, cout, min(cout * 2, 8 * width)
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(cin, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x).mean((2, 3)))
