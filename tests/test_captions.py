"""Captioned Fashion-MNIST, the vocabulary, and the CUB / Oxford-102 caption layout (lightgen.data.text_image)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import scene_image

from lightgen.data.captions import (
    ATTRIBUTE_WORDS,
    CLASS_WORDS,
    CaptionGenerator,
    fit_thresholds,
    levels,
    measure,
)
from lightgen.data.text_image import CaptionedImages
from lightgen.data.vocab import Vocabulary, tokenize
from lightgen.errors import DataNotFoundError, LightgenError


def garments(tones: list[int], widths: list[int]) -> torch.Tensor:
    """uint8 (N, 1, 28, 28): a plain box of intensity ``tone`` and width ``width`` (full height) on black."""
    x = torch.zeros(len(tones), 1, 28, 28, dtype=torch.uint8)
    for i, (tone, width) in enumerate(zip(tones, widths)):
        x[i, 0, 2:26, 14 - width // 2 : 14 + (width + 1) // 2] = tone
    return x


def attribute_words(caption: str, attribute: str) -> set[int]:
    """The levels of ``attribute`` whose words the caption uses."""
    tokens = set(tokenize(caption))
    return {lv for lv, words in enumerate(ATTRIBUTE_WORDS[attribute]) if tokens & set(words)}


def test_captions_name_the_label_and_no_other_class() -> None:
    labels = torch.arange(10).repeat(20)
    level = torch.randint(0, 2, (200, 3), generator=torch.Generator().manual_seed(0))
    for label, captions in zip(labels.tolist(), CaptionGenerator(5, seed=3)(labels, level)):
        for caption in captions:
            tokens = set(tokenize(caption))
            assert tokens & CLASS_WORDS[label], caption
            assert not any(tokens & CLASS_WORDS[k] for k in range(10) if k != label), caption


def test_darker_and_wider_images_get_dark_and_large_words() -> None:
    # the training set: class 4 (coat) boxes of three tones and two widths; thresholds are its quantiles
    tones, widths = [70, 150, 240] * 4, [8, 8, 8, 20, 20, 20] * 2
    train = garments(tones, widths)
    thresholds = fit_thresholds(measure(train), torch.full((12,), 4))
    probe = garments([240, 70, 150], [22, 6, 14])  # dark + large, light + small, grey
    lv = levels(measure(probe), torch.full((3,), 4), thresholds)
    assert lv[:, 0].tolist() == [2, 0, 1] and lv[0, 1] == 1 and lv[1, 1] == 0
    captions = CaptionGenerator(5, seed=0)(torch.full((3,), 4), lv)
    for image, tone in enumerate([2, 0, 1]):
        assert set().union(*(attribute_words(c, "tone") for c in captions[image])) == {tone}, captions[image]
    assert set().union(*(attribute_words(c, "size") for c in captions[0])) <= {1}
    assert set().union(*(attribute_words(c, "size") for c in captions[1])) <= {0}


def test_several_distinct_captions_deterministic_in_the_seed() -> None:
    labels, level = torch.tensor([0, 1, 9]), torch.tensor([[0, 1, 0], [2, 0, 1], [1, 1, 1]])
    first = CaptionGenerator(5, seed=1)(labels, level)
    assert all(len(set(c)) == 5 for c in first)
    assert CaptionGenerator(5, seed=1)(labels, level) == first
    assert CaptionGenerator(5, seed=2)(labels, level) != first
    with pytest.raises(LightgenError, match="captions_per_image"):
        CaptionGenerator(0)


def test_tokenizer_round_trips_and_unseen_words_are_unk() -> None:
    vocab = Vocabulary.build(["A dark, plain T-shirt.", "a light coat"])
    assert vocab.words[:3] == ["<pad>", "<unk>", "<eos>"]
    ids, length = vocab.encode("A dark, plain T-shirt.", max_length=10)
    assert ids.dtype == torch.int64 and ids.shape == (10,) and length == 7 and ids[6] == vocab.eos_id
    assert (ids[length:] == 0).all()
    assert vocab.decode(ids) == "a dark , plain t-shirt ."
    ids, _ = vocab.encode("a purple coat", max_length=6)
    assert ids[1] == vocab.unk_id and vocab.decode(ids) == "a <unk> coat"
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    batch, lengths = vocab.encode_many(["a dark coat", "a light coat dark dark dark"], max_length=4)
    assert batch.shape == (2, 4) and lengths.tolist() == [4, 4] and batch[1, 3] == vocab.eos_id


def test_fashion_captions_vocab_saved_with_the_data_and_reloaded(mnist_root: Path, monkeypatch) -> None:  # noqa: ANN001
    dm = CaptionedImages(root=str(mnist_root), image_size=32, val_size=64, batch_size=8, caption_length=12)
    dm.setup()
    assert dm.data_shape == (1, 32, 32) and dm.vocab_path is not None and dm.vocab_path.is_file()
    assert dm.vocab_path.parent == mnist_root / "captions"
    for i in range(20):
        label = int(dm.train_set.labels[i])
        assert all(set(tokenize(c)) & CLASS_WORDS[label] for c in dm.captions(i))
    x, ids, lengths, labels = next(iter(dm.train_dataloader()))
    assert x.shape == (8, 1, 32, 32) and ids.shape == (8, 12) and ids.dtype == torch.int64
    assert lengths.dtype == torch.int64 and labels.dtype == torch.int64 and x.min() >= -1 and x.max() <= 1
    monkeypatch.setattr(Vocabulary, "build", lambda *a, **k: pytest.fail("rebuilt instead of reloaded"))
    again = CaptionedImages(root=str(mnist_root), image_size=32, val_size=64, batch_size=8, caption_length=12)
    again.setup()
    assert again.vocab == dm.vocab and again.captions(3) == dm.captions(3)


def test_keyed_caption_choice_is_reproducible(mnist_root: Path) -> None:
    dm = CaptionedImages(root=str(mnist_root), image_size=28, val_size=64, batch_size=8)
    dm.setup()
    train = dm.train_set
    assert train.keyed and not dm.val_set.keyed
    picks = {tuple(train[(5, key)][1].tolist()) for key in range(40)}
    assert train[(5, 123)][1].equal(train[(5, 123)][1]) and len(picks) > 1
    first, _ = dm.vocab.encode(dm.captions(5)[0], dm.caption_length)
    assert train[5][1].equal(first)  # evaluation (a plain index): the first caption
    assert {dm.vocab.decode(p) for p in picks} <= {" ".join(tokenize(c)) for c in dm.captions(5)}


def make_cub(folder: Path, text_dir: str = "text_c10", drop_caption: str | None = None) -> Path:
    for c, cls in enumerate(["001.Black_footed_Albatross", "002.Laysan_Albatross"]):
        for i in range(5):
            name = f"{cls.split('.')[1]}_{i}"
            (folder / "images" / cls).mkdir(parents=True, exist_ok=True)
            scene_image(c * 10 + i, 40, 30).save(folder / "images" / cls / f"{name}.jpg", quality=90)
            if name != drop_caption:
                (folder / text_dir / cls).mkdir(parents=True, exist_ok=True)
                lines = [f"this bird number {i} is {'black' if c == 0 else 'white'}", f"a seabird {i}"]
                (folder / text_dir / cls / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_cub_layout_pairs_images_and_caption_files(tmp_path: Path) -> None:
    make_cub(tmp_path / "birds", text_dir="text")
    dm = CaptionedImages(root=str(tmp_path), folder="birds", image_size=16, batch_size=2, num_workers=0)
    dm.setup()
    assert dm.data_shape == (3, 16, 16) and dm.class_names[0] == "001.Black_footed_Albatross"
    sizes = len(dm.train_set) + len(dm.val_set) + len(dm.test_set)
    assert sizes == 10 and len(dm.val_set) == 1 and len(dm.test_set) == 1
    x, ids, lengths, labels = next(iter(dm.train_dataloader()))
    assert x.shape == (2, 3, 16, 16) and ids.shape == (2, 16)
    i = 0
    label = int(dm.train_set.labels[i])
    assert any(("black" if label == 0 else "white") in c for c in dm.captions(i))
    grey = CaptionedImages(root=str(tmp_path), folder="birds", image_size=16, channels=1, num_workers=0)
    grey.setup()
    assert grey.data_shape == (1, 16, 16) and grey.train_set[0][0].shape == (1, 16, 16)
    (tmp_path / "birds" / "trainclasses.txt").write_text("001.Black_footed_Albatross\n")
    (tmp_path / "birds" / "testclasses.txt").write_text("002.Laysan_Albatross\n")
    split = CaptionedImages(root=str(tmp_path), folder="birds", image_size=16, num_workers=0)
    split.setup()
    assert (split.train_set.labels == 0).all() and (split.test_set.labels == 1).all() and split.val_set is None


def test_cub_layout_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="not found"):
        CaptionedImages(root=str(tmp_path), folder="nowhere").setup()
    make_cub(tmp_path / "birds", drop_caption="Laysan_Albatross_3")
    with pytest.raises(DataNotFoundError, match=r"Laysan_Albatross_3\.jpg has no caption file") as err:
        CaptionedImages(root=str(tmp_path), folder="birds").setup()
    assert "\n" not in str(err.value)
