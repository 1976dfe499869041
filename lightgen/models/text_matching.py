"""A text-image matching model: the project's own text encoder for StackGAN and its text-image score.

StackGAN (Zhang et al. 2017, sec. 3.1) conditions on phi_t, the embedding of a caption by a text encoder
trained beforehand as a matching model against images (Reed et al. 2016, sec. 3: a joint embedding in which
an image's own captions score higher than other captions). No embeddings are downloaded: this model learns
one from the (image, caption) pairs of :class:`lightgen.data.text_image.CaptionedImages`.

Loss: the symmetric contrastive (InfoNCE) loss over a batch (van den Oord et al. 2018; Radford et al. 2021,
"CLIP", fig. 3), in place of Reed et al.'s structured joint-embedding hinge loss (their eq. 3): both rank
an image's own caption above the batch's other captions and vice versa; InfoNCE uses every negative with a
softmax weight rather than a margin, which trains faster on small batches. With normalised embeddings
t_i, v_i and temperature tau, logits s_ij = <v_i, t_j> / tau and

    loss = ( CE(s, diag) + CE(s^T, diag) ) / 2.

Under DDP each rank uses the negatives of its own batch.

Evaluation: ``val/match_acc`` is the top-1 retrieval accuracy of a batch's captions for its images (an
R-precision with one relevant caption, Xu et al. 2018's AttnGAN, sec. 4.1 uses R = 1 of 100 candidates);
a caption with the same text as the image's own counts as right. Chance is about 1 / batch size; the ceiling
is below 1 where several captions of a batch describe an image equally well (generated Fashion-MNIST captions
of one class and attributes worded differently). ``val/match_class_acc``: the retrieved caption is one of an
image of the same class (labelled data).
``score(images, ids, lengths)`` gives each pair's cosine similarity: the text-image matching score of a
text-to-image model's samples (higher: the image fits its caption better).

The model is a :class:`~lightgen.models.base.GenerativeModel` for its checkpoint handling (``load_model``,
exact resume, the CLI's ``data_shape`` link), but draws no images: ``can_sample`` is False.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F

from lightgen.data.vocab import Vocabulary
from lightgen.errors import CheckpointError, LightgenError
from lightgen.models.base import GenerativeModel
from lightgen.nets.text_encoder import ImageEncoder, TextEncoder


class TextImageMatching(GenerativeModel):
    """A text encoder and an image encoder trained to agree (see the module docstring).

    Args:
        data_shape: (C, S, S) of the images (linked from the datamodule by the CLI).
        vocabulary: the words of the caption vocabulary in id order; None: taken from the datamodule's
            ``vocab`` at setup (then saved in the hyper-parameters, so a checkpoint rebuilds the encoder).
        embedding_dim: size of the joint embedding (StackGAN's phi_t).
        word_dim / hidden_dim / cell / pool: the text encoder (:class:`lightgen.nets.text_encoder.TextEncoder`).
        image_width: width of the image encoder's first convolution.
        temperature: tau of the contrastive loss (fixed).
        lr / weight_decay: AdamW.
    """

    can_sample = False  # a matching model draws no images (sample grids and `lightgen sample` skip or refuse it)

    def __init__(
        self,
        data_shape: Sequence[int] = (1, 64, 64),
        vocabulary: list[str] | None = None,
        embedding_dim: int = 256,
        word_dim: int = 128,
        hidden_dim: int = 128,
        cell: Literal["gru", "lstm"] = "gru",
        pool: Literal["mean", "last"] = "mean",
        image_width: int = 32,
        temperature: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(data_shape)
        if len(self.data_shape) != 3 or self.data_shape[1] != self.data_shape[2] or self.data_shape[1] < 8:
            raise LightgenError(f"TextImageMatching needs square images (C, S, S), S >= 8; got {self.data_shape}")
        if cell not in ("gru", "lstm") or pool not in ("mean", "last"):
            raise LightgenError(f"cell must be 'gru' or 'lstm' and pool 'mean' or 'last'; got {cell!r}, {pool!r}")
        if temperature <= 0 or embedding_dim < 1:
            raise LightgenError(f"temperature and embedding_dim must be positive; got {temperature}, {embedding_dim}")
        self.save_hyperparameters()
        self.image_encoder = ImageEncoder(self.data_shape[0], self.data_shape[1], embedding_dim, image_width)
        self.vocab: Vocabulary | None = None
        self.text_encoder: TextEncoder | None = None
        if vocabulary is not None:
            self._build_text_encoder(Vocabulary(vocabulary))

    def _build_text_encoder(self, vocab: Vocabulary) -> None:
        h = self.hparams
        self.vocab = vocab
        self.text_encoder = TextEncoder(len(vocab), h.embedding_dim, h.word_dim, h.hidden_dim, h.cell, h.pool)
        self.hparams["vocabulary"] = list(vocab.words)

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        data_vocab = getattr(datamodule, "vocab", None)
        if self.text_encoder is None:
            if data_vocab is None:
                raise LightgenError(
                    "TextImageMatching needs a vocabulary: a CaptionedImages datamodule or `vocabulary`"
                )
            self._build_text_encoder(data_vocab)
        elif data_vocab is not None and data_vocab != self.vocab:
            raise LightgenError(
                f"the data's vocabulary ({len(data_vocab)} words) differs from the model's ({len(self.vocab)}); "
                "use the captions the model was trained with"
            )

    # ------------------------------------------------------------------ encoders and score
    def encode_text(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Unit-norm text embeddings (B, embedding_dim) of ids (B, L) with lengths (B,)."""
        if self.text_encoder is None:
            raise LightgenError("the text encoder is built at setup (or from `vocabulary`); it has no vocabulary yet")
        return F.normalize(self.text_encoder(ids, lengths), dim=1)

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm image embeddings (B, embedding_dim) of images (B, C, S, S) in ``value_range``."""
        if tuple(x.shape[1:]) != self.data_shape:
            raise LightgenError(
                f"images must have shape (B, {', '.join(map(str, self.data_shape))}); got {tuple(x.shape)}"
            )
        return F.normalize(self.image_encoder(x), dim=1)

    def score(self, images: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Cosine similarity (B,) of each image with its caption: the text-image matching score."""
        return (self.encode_image(images) * self.encode_text(ids, lengths)).sum(1)

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        raise LightgenError("TextImageMatching is a text-image matching model; it draws no images to sample")

    # ------------------------------------------------------------------ training
    def losses(self, batch: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The symmetric InfoNCE loss of a batch (images, ids, lengths, labels) and its retrieval accuracies."""
        x, ids, lengths = batch[0], batch[1], batch[2]
        logits = self.encode_image(x) @ self.encode_text(ids, lengths).T / self.hparams.temperature  # (B, B)
        target = torch.arange(len(x), device=x.device)
        i2t, t2i = F.cross_entropy(logits, target), F.cross_entropy(logits.T, target)
        same_text = (ids[:, None, :] == ids[None, :, :]).all(2)  # (B, B): identical captions are right answers
        match = same_text.gather(1, logits.argmax(1, keepdim=True)).float().mean()
        match_t2i = same_text.gather(1, logits.T.argmax(1, keepdim=True)).float().mean()
        out = {"loss": (i2t + t2i) / 2, "loss_i2t": i2t, "loss_t2i": t2i}
        out.update(match_acc=match, match_acc_t2i=match_t2i)
        if len(batch) > 3:  # labelled data: is the retrieved caption at least one of the image's class?
            labels = batch[3]
            out["match_class_acc"] = (labels[logits.argmax(1)] == labels).float().mean()
        return out

    def training_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> torch.Tensor:
        out = self.losses(batch)
        self.log_dict({f"train/{k}": v for k, v in out.items()}, prog_bar=False, batch_size=len(batch[0]))
        return out["loss"]

    def validation_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        out = self.losses(batch)
        self.log_dict({f"val/{k}": v for k, v in out.items()}, sync_dist=True, batch_size=len(batch[0]))

    def test_step(self, batch: Sequence[torch.Tensor], batch_idx: int) -> None:
        out = self.losses(batch)
        self.log_dict({f"test/{k}": v for k, v in out.items()}, sync_dist=True, batch_size=len(batch[0]))

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """``lightgen predict``: the matching score of each (image, caption) pair of the batch."""
        return self.score(batch[0], batch[1], batch[2])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        h = self.hparams
        return torch.optim.AdamW(self.parameters(), lr=h.lr, weight_decay=h.weight_decay)


def load_text_matching(path: str | os.PathLike, map_location: Any = "cpu") -> TextImageMatching:
    """The matching model of a lightgen checkpoint (read safely, eval mode), e.g. StackGAN's text encoder."""
    from lightgen.checkpoint import load_model  # the checkpoint module imports models.base: import when called

    model = load_model(path, map_location)
    if not isinstance(model, TextImageMatching):
        raise CheckpointError(f"{path} holds a {type(model).__name__}, not a TextImageMatching text encoder")
    return model
