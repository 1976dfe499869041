"""(image, caption) pairs for text-to-image models: StackGAN (Zhang et al. 2017) and the text-image
matching model that gives it a text encoder (Reed et al. 2016).

Two sources:

- default, embedded: Fashion-MNIST with captions generated from each image's class and the attributes read
  off its pixels (:mod:`lightgen.data.captions`), ``captions_per_image`` per image, resized to ``image_size``
  (64: StackGAN's stage-II size here; stage I's quarter size is the model's own downsampling).
- ``folder``: the CUB-200 / Oxford-102 caption layout of Reed et al. 2016 (as StackGAN reads it):
  ``<folder>/images/<class>/<name>.jpg`` and ``<folder>/text/<class>/<name>.txt`` (or ``text_c10/``), one
  caption per line, paired by relative path. The split is ``trainclasses.txt`` / ``valclasses.txt`` /
  ``testclasses.txt`` (one class folder a line, Reed et al.'s class-disjoint split) when present, else a
  seeded split of the images by ``val_fraction`` / ``test_fraction``.

The vocabulary (:mod:`lightgen.data.vocab`) is built from the training captions and saved with the data,
``<root>/captions/<name>.json`` (written atomically; with the caption thresholds for Fashion-MNIST), and
reloaded when present, so a matching model and a StackGAN trained later read the same ids.

A batch is ``(images (B, C, S, S) in value_range, caption_ids (B, L) int64 zero-padded and closed by
<eos>, caption_lengths (B,) int64, labels (B,) int64)``. A training item takes one of its image's captions,
chosen by the item's key (:class:`lightgen.data.base.KeyedEpochSampler`: different every epoch, the same on
resume); evaluation items take the first caption.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from lightgen.data.base import GenerativeDataModule, center_crop_resize, checked_image_options, split_item
from lightgen.data.captions import CAPTIONS_VERSION, CaptionGenerator, Thresholds, fit_thresholds, levels, measure
from lightgen.data.image_files import load_image, require_images, resolve_folder
from lightgen.data.mnist import load_idx, resize_uint8
from lightgen.data.vocab import Vocabulary
from lightgen.errors import DataNotFoundError, LightgenError

CUB_LAYOUT = "<folder>/images/<class>/<name>.jpg with captions in <folder>/text/<class>/<name>.txt (or text_c10/)"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it (no half-written file is ever read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CaptionedDataset(Dataset):
    """Items ``(image, caption_ids, caption_length, label)``; keyed (training) items draw their caption.

    Args:
        images: uint8 (N, C, S, S) tensor, or a list of image files read and resized per item.
        texts: the captions of each image.
        labels: (N,) int64 class indices.
    """

    def __init__(
        self,
        images: torch.Tensor | list[Path],
        texts: list[list[str]],
        labels: torch.Tensor,
        vocab: Vocabulary,
        caption_length: int,
        image_size: int,
        value_range: tuple[float, float],
        channels: int,
        keyed: bool,
    ) -> None:
        self.images, self.texts, self.labels, self.keyed = images, texts, labels, keyed
        self.channels, self.low, self.high = channels, *value_range
        self.transform = None if isinstance(images, torch.Tensor) else center_crop_resize(image_size, value_range)
        # captions encoded once: (N, K, L) ids (int32 to halve the memory) and (N, K) lengths; K = most per image
        most = max((len(t) for t in texts), default=1)
        ids, lengths = vocab.encode_many([c for t in texts for c in t], caption_length)
        self.ids = torch.zeros(len(texts), most, caption_length, dtype=torch.int32)
        self.lengths = torch.ones(len(texts), most, dtype=torch.int64)
        counts = torch.tensor([len(t) for t in texts], dtype=torch.int64)
        rows = torch.arange(len(texts)).repeat_interleave(counts)
        cols = torch.arange(len(rows)) - (counts.cumsum(0) - counts).repeat_interleave(counts)
        self.ids[rows, cols], self.lengths[rows, cols] = ids.to(torch.int32), lengths

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> torch.Tensor:
        if self.transform is not None:
            x = self.transform(load_image(self.images[index], 3))
            return x.mean(0, keepdim=True) if self.channels == 1 else x  # grey: the mean of R, G, B (linear)
        x = self.images[index].float().div_(255.0)
        return x.mul_(self.high - self.low).add_(self.low)

    def __getitem__(self, item: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        index, gen = split_item(item)
        j = int(torch.randint(len(self.texts[index]), (1,), generator=gen)) if gen is not None else 0
        x = self.image(index)
        if gen is not None and self.transform is not None and torch.rand(1, generator=gen).item() < 0.5:
            x = x.flip(-1)  # StackGAN's random flip of photographs (not of Fashion-MNIST, whose items face one way)
        return x, self.ids[index, j].long(), self.lengths[index, j], self.labels[index]


def read_caption_tree(folder: Path) -> tuple[list[Path], list[list[str]], list[str]]:
    """(image files, their captions, class folder of each) of a CUB / Oxford-102 style folder."""
    if not folder.is_dir():
        raise DataNotFoundError(f"caption dataset folder {folder} not found; expected {CUB_LAYOUT}")
    text_dir = next((folder / n for n in ("text", "text_c10") if (folder / n).is_dir()), None)
    if text_dir is None:
        raise DataNotFoundError(f"{folder} has no text/ or text_c10/ folder of captions; expected {CUB_LAYOUT}")
    image_dir = folder / "images"
    paths = require_images(image_dir, CUB_LAYOUT)
    texts = []
    for path in paths:
        rel = path.relative_to(image_dir)
        text_file = text_dir / rel.with_suffix(".txt")
        if not text_file.is_file():
            raise DataNotFoundError(f"image {path} has no caption file {text_file}; expected {CUB_LAYOUT}")
        lines = [line.strip() for line in text_file.read_text(encoding="utf-8", errors="replace").splitlines()]
        if not any(lines):
            raise LightgenError(f"caption file {text_file} is empty; expected one caption per line")
        texts.append([line for line in lines if line])
    classes = [p.relative_to(image_dir).parts[0] if len(p.relative_to(image_dir).parts) > 1 else "" for p in paths]
    return paths, texts, classes


class CaptionedImages(GenerativeDataModule):
    """Images with captions; see the module docstring for the two sources and the batch.

    Args:
        root: data root holding ``FashionMNIST/raw`` (default) or ``folder``; also where the vocabulary is saved.
        folder: a CUB / Oxford-102 style caption dataset (relative to ``root`` or absolute); None: Fashion-MNIST.
        image_size: served image size (Fashion-MNIST's 28 px are resized once, bilinear).
        value_range: (-1, 1) for tanh generators, (0, 1).
        caption_length: most tokens per caption, ``<eos>`` included (longer captions are cut).
        captions_per_image: generated captions per Fashion-MNIST image.
        caption_seed: seed of the generated captions' templates and synonyms.
        min_count: a folder's words seen fewer times in its training captions become ``<unk>``.
        channels: 3 (RGB) or 1 for a folder (Fashion-MNIST is 1).
        val_size: Fashion-MNIST training images held out for validation (seeded split).
        val_fraction / test_fraction: a folder's seeded split when it has no class lists.
        batch_size / num_workers / seed / pin_memory / persistent_workers: see GenerativeDataModule.
    """

    def __init__(
        self,
        root: str | None = None,
        folder: str | None = None,
        image_size: int = 64,
        value_range: tuple[float, float] = (-1.0, 1.0),
        caption_length: int = 16,
        captions_per_image: int = 5,
        caption_seed: int = 0,
        min_count: int = 1,
        channels: Literal[1, 3] = 3,
        val_size: int = 5000,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 42,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers, seed, pin_memory, persistent_workers)
        self.value_range = checked_image_options(image_size, value_range, max_size=512)
        if caption_length < 2:
            raise LightgenError(f"caption_length must be at least 2 (a word and <eos>); got {caption_length}")
        if min_count < 1:
            raise LightgenError(f"min_count must be at least 1; got {min_count}")
        if channels not in (1, 3):
            raise LightgenError(f"channels must be 1 or 3; got {channels}")
        if not 0 <= val_size < 60000:
            raise LightgenError(f"val_size must be in [0, 60000); got {val_size}")
        if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
            raise LightgenError(f"val_fraction + test_fraction must be in [0, 1); got {val_fraction}, {test_fraction}")
        self.generator = CaptionGenerator(captions_per_image, caption_seed)  # checks captions_per_image
        self.save_hyperparameters()
        self.folder, self.image_size = folder, image_size
        self.caption_length, self.min_count = caption_length, min_count
        self.val_size, self.val_fraction, self.test_fraction = val_size, val_fraction, test_fraction
        self.channels = 1 if folder is None else channels
        self.auto_workers = folder is not None  # in-memory tensors load fastest in the main process (MNIST's note)
        self.dataset = "fashion-mnist" if folder is None else Path(folder).name
        self.data_shape = (self.channels, image_size, image_size)
        self.vocab: Vocabulary | None = None
        self.class_names: list[str] = []
        self.vocab_path: Path | None = None

    # ------------------------------------------------------------------ public helpers
    def captions(self, index: int, split: Literal["train", "val", "test"] = "train") -> list[str]:
        """The captions of image ``index`` of a split (after ``setup()``)."""
        if split not in ("train", "val", "test"):
            raise LightgenError(f"split must be 'train', 'val' or 'test'; got {split!r}")
        dataset = {"train": self.train_set, "val": self.val_set, "test": self.test_set}[split]
        if dataset is None:
            raise LightgenError(f"no {split} split here (call setup() first; see val_size / fractions)")
        return list(dataset.texts[index])

    def prepare_data(self) -> None:
        if self.folder is None:
            load_idx(self.root, "fashion-mnist", train=False)  # fail early with the command that fixes it
        else:
            read_caption_tree(resolve_folder(self.root, self.folder))

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if self.folder is None:
            self._setup_fashion()
        else:
            self._setup_folder()

    # ------------------------------------------------------------------ vocabulary file
    def _vocab_file(self, name: str, build: Any) -> dict[str, Any]:
        """The saved vocabulary record ``<root>/captions/<name>.json``, built by ``build()`` when absent."""
        path = self.root / "captions" / f"{name}.json"
        self.vocab_path = path
        if path.is_file():
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                self.vocab = Vocabulary(record["words"])
                return record
            except (ValueError, KeyError, TypeError) as err:
                raise LightgenError(f"{path} is not a caption vocabulary ({err}); delete it to rebuild") from None
        record = build()
        self.vocab = Vocabulary(record["words"])
        write_atomic(path, json.dumps(record))
        return record

    def _dataset(self, images: Any, texts: list[list[str]], labels: torch.Tensor, keyed: bool) -> CaptionedDataset:
        assert self.vocab is not None
        return CaptionedDataset(
            images,
            texts,
            labels,
            self.vocab,
            self.caption_length,
            self.image_size,
            self.value_range,
            self.channels,
            keyed,
        )

    # ------------------------------------------------------------------ Fashion-MNIST
    def _setup_fashion(self) -> None:
        train_x, train_y = load_idx(self.root, "fashion-mnist", train=True)
        test_x, test_y = load_idx(self.root, "fashion-mnist", train=False)
        if self.val_size >= len(train_x):
            raise LightgenError(f"val_size {self.val_size} leaves no training images of {len(train_x)}")
        self.class_names = ["t-shirt/top", "trouser", "pullover", "dress", "coat"]
        self.class_names += ["sandal", "shirt", "sneaker", "bag", "ankle boot"]
        train_attr = measure(train_x)
        gen = self.generator
        # CAPTIONS_VERSION changes with the templates or words, so a saved vocabulary never outlives them
        name = f"fashion-mnist_v{CAPTIONS_VERSION}_n{len(train_x)}_k{gen.captions_per_image}_seed{gen.seed}"

        def build() -> dict[str, Any]:
            # the vocabulary and thresholds of all 60k training-file images: the same whatever val_size and seed
            thresholds = fit_thresholds(train_attr, train_y)
            lv = levels(train_attr, train_y, thresholds)
            texts = (c for captions in gen(train_y, lv, stream=0) for c in captions)
            return {"words": Vocabulary.build(texts).words, "thresholds": thresholds.to_json()}

        thresholds = Thresholds.from_json(self._vocab_file(name, build)["thresholds"])
        train_lv = levels(train_attr, train_y, thresholds)
        test_lv = levels(measure(test_x), test_y, thresholds)
        train_texts, test_texts = gen(train_y, train_lv, stream=0), gen(test_y, test_lv, stream=1)
        train_x, test_x = resize_uint8(train_x, self.image_size), resize_uint8(test_x, self.image_size)
        perm = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(self.seed))
        val_idx, train_idx = perm[: self.val_size], perm[self.val_size :]
        pick = lambda idx: [train_texts[i] for i in idx.tolist()]  # noqa: E731
        self.train_set = self._dataset(train_x[train_idx], pick(train_idx), train_y[train_idx], keyed=True)
        if self.val_size:
            self.val_set = self._dataset(train_x[val_idx], pick(val_idx), train_y[val_idx], keyed=False)
        self.test_set = self._dataset(test_x, test_texts, test_y, keyed=False)

    # ------------------------------------------------------------------ CUB / Oxford-102 folder
    def _setup_folder(self) -> None:
        folder = resolve_folder(self.root, self.folder)
        paths, texts, classes = read_caption_tree(folder)
        self.class_names = sorted(set(classes))
        labels = torch.tensor([self.class_names.index(c) for c in classes], dtype=torch.int64)
        splits = self._folder_split(folder, classes)
        train = splits["train"]
        if not train:
            raise LightgenError(f"{folder}: the split leaves no training images ({len(paths)} images)")
        rel = "\n".join(str(paths[i].relative_to(folder)) for i in train)
        digest = hashlib.sha256(rel.encode()).hexdigest()[:12]
        name = f"{folder.name}_{digest}_min{self.min_count}"
        self._vocab_file(
            name, lambda: {"words": Vocabulary.build((c for i in train for c in texts[i]), self.min_count).words}
        )
        sets = {
            split: self._dataset([paths[i] for i in idx], [texts[i] for i in idx], labels[idx], keyed=split == "train")
            if idx
            else None
            for split, idx in splits.items()
        }
        self.train_set, self.val_set, self.test_set = sets["train"], sets["val"], sets["test"]

    def _folder_split(self, folder: Path, classes: list[str]) -> dict[str, list[int]]:
        """Image indices of each split: by the class lists when ``trainclasses.txt`` exists, else seeded."""
        if (folder / "trainclasses.txt").is_file():
            out = {}
            for split in ("train", "val", "test"):
                file = folder / f"{split}classes.txt"
                names = set(file.read_text(encoding="utf-8").split()) if file.is_file() else set()
                out[split] = [i for i, c in enumerate(classes) if c in names]
            return out
        n = len(classes)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed)).tolist()
        n_val, n_test = int(n * self.val_fraction), int(n * self.test_fraction)
        return {
            "val": sorted(perm[:n_val]),
            "test": sorted(perm[n_val : n_val + n_test]),
            "train": sorted(perm[n_val + n_test :]),
        }
