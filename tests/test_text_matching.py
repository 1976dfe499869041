"""The text-image matching model (lightgen.models.text_matching) and its encoders (lightgen.nets.text_encoder)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import CONFIGS, quiet_trainer

from lightgen.cli import main
from lightgen.data.vocab import Vocabulary
from lightgen.errors import CheckpointError, LightgenError
from lightgen.models.text_matching import TextImageMatching, load_text_matching
from lightgen.nets.text_encoder import ImageEncoder, TextEncoder

COLOURS = ["red", "green", "blue"]


def text_determines_image(n: int, seed: int, vocab: Vocabulary) -> tuple[torch.Tensor, ...]:
    """Class k in {0, 1, 2}: a bright square at a k-dependent place on noise, captioned "a <colour k> square"."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    x = torch.rand(n, 1, 16, 16, generator=gen) * 0.4 - 1
    for i, k in enumerate(labels.tolist()):
        x[i, 0, 2 + 4 * k : 6 + 4 * k, 2 + 4 * k : 6 + 4 * k] = 1.0
    ids, lengths = vocab.encode_many([f"a {COLOURS[k]} square" for k in labels.tolist()], 6)
    return x, ids, lengths, labels


def test_text_encoder_ignores_padding_and_image_encoder_shapes() -> None:
    torch.manual_seed(0)
    for cell, pool in [("gru", "mean"), ("lstm", "last")]:
        enc = TextEncoder(10, embedding_dim=8, word_dim=4, hidden_dim=5, cell=cell, pool=pool).eval()
        ids = torch.tensor([[3, 4, 2, 0, 0, 0]])
        longer = torch.tensor([[3, 4, 2, 7, 7, 0]])  # same first 3 tokens, junk after the length
        a, b = enc(ids, torch.tensor([3])), enc(longer, torch.tensor([3]))
        assert a.shape == (1, 8) and torch.allclose(a, b, atol=1e-6)
    assert ImageEncoder(3, 64, embedding_dim=7, width=4)(torch.randn(2, 3, 64, 64)).shape == (2, 7)


def test_contrastive_loss_falls_and_matching_beats_chance() -> None:
    torch.manual_seed(0)
    vocab = Vocabulary.build([f"a {c} square" for c in COLOURS])
    model = TextImageMatching((1, 16, 16), vocabulary=vocab.words, embedding_dim=16, word_dim=8, hidden_dim=16,
                              image_width=8, lr=3e-3)  # fmt: skip
    opt = model.configure_optimizers()
    first = model.losses(text_determines_image(24, 0, vocab))["loss"].item()
    for step in range(40):
        loss = model.losses(text_determines_image(24, step + 1, vocab))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        held_out = text_determines_image(24, 999, vocab)
        out = model.losses(held_out)
        # chance: a random caption of the batch has the image's text 1 time in 3
        assert out["loss"].item() < 0.8 * first and out["match_acc"].item() > 0.9
        x, ids, lengths, _ = held_out
        right = model.score(x, ids, lengths)
        wrong = model.score(x, ids.roll(1, 0), lengths.roll(1, 0))  # each image with another class's caption
        assert right.shape == (24,) and (right > wrong).float().mean() > 0.9


def test_bad_input_is_one_line() -> None:
    with pytest.raises(LightgenError, match="square images"):
        TextImageMatching((1, 16, 8))
    model = TextImageMatching((1, 16, 16), vocabulary=Vocabulary.build(["a b"]).words, embedding_dim=4)
    with pytest.raises(LightgenError, match="draws no images"):
        model.sample(2)
    with pytest.raises(LightgenError, match="images must have shape"):
        model.encode_image(torch.zeros(2, 3, 16, 16))
    assert TextImageMatching((1, 16, 16)).text_encoder is None  # built at setup from the datamodule's vocabulary


def test_config_fits_two_steps_and_its_checkpoint_scores(mnist_root: Path, tmp_path: Path) -> None:
    main([
        "fit", "--config", str(CONFIGS / "text_matching.yaml"), "--data.init_args.root", str(mnist_root),
        "--data.init_args.val_size", "64", "--data.init_args.image_size", "32",
        "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
        "--model.init_args.embedding_dim", "16", "--model.init_args.hidden_dim", "8", "--model.init_args.word_dim", "8",
        "--model.init_args.image_width", "4",
        "--trainer.max_steps", "2", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--run_root", str(tmp_path / "runs"),
    ])  # fmt: skip
    ckpt = tmp_path / "runs" / "text_matching" / "version_0" / "checkpoints" / "last.ckpt"
    model = load_text_matching(ckpt)
    vocab = Vocabulary.from_json((next((mnist_root / "captions").glob("*.json"))).read_text())
    assert model.vocab == vocab and model.data_shape == (1, 32, 32)
    ids, lengths = vocab.encode_many(["a dark coat", "a pale pair of trousers"], 16)
    scores = model.score(torch.zeros(2, 1, 32, 32), ids, lengths)
    assert scores.shape == (2,) and ((scores >= -1.001) & (scores <= 1.001)).all()
    # resume and evaluation through Lightning: the vocabulary rides in the hyper-parameters
    from lightgen.data.text_image import CaptionedImages

    dm = CaptionedImages(root=str(mnist_root), image_size=32, val_size=64, batch_size=4, num_workers=0)
    metrics = quiet_trainer(limit_test_batches=2).test(model, datamodule=dm, verbose=False)
    assert 0.0 <= metrics[0]["test/match_acc"] <= 1.0 and 0.0 <= metrics[0]["test/match_class_acc"] <= 1.0


def test_load_text_matching_refuses_other_models(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_text_matching(tmp_path / "missing.ckpt")
    other = {
        "state_dict": {},
        "hyper_parameters": {"data_shape": [1, 8, 8]},
        "lightgen": {"class_path": "lightgen.models.base.GenerativeModel", "data_shape": [1, 8, 8]},
    }
    torch.save(other, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="holds a GenerativeModel, not a TextImageMatching"):
        load_text_matching(tmp_path / "other.ckpt")
