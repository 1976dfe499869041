"""PairedImages on real pix2pix folders (aligned A|B PNGs, A/ B/ trees) and the embedded edges2fashion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from lightgen.data.base import item_key
from lightgen.data.derived import edge_map
from lightgen.data.mnist import load_idx, resize_uint8
from lightgen.data.paired import PairedImages
from lightgen.errors import DataNotFoundError, LightgenError

SIDE = 40  # each half of an aligned image is SIDE x SIDE


def coordinate_image(side: int, blue: int, shift: int = 0) -> Image.Image:
    """R = 6 * x + shift, G = 6 * y: the pixel values carry their coordinates; B: a constant."""
    y, x = np.mgrid[0:side, 0:side]
    pixels = np.stack([6 * x + shift, 6 * y, np.full_like(x, blue)], axis=-1).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def write_aligned(folder: Path, split: str, n: int) -> None:
    """n A|B images: both halves carry the same coordinates; A's blue is 0, B's 255."""
    (folder / split).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        ab = Image.new("RGB", (2 * SIDE, SIDE))
        ab.paste(coordinate_image(SIDE, 0, shift=i), (0, 0))
        ab.paste(coordinate_image(SIDE, 255, shift=i), (SIDE, 0))
        ab.save(folder / split / f"{i}.png")


@pytest.fixture
def aligned(tmp_path: Path) -> Path:
    folder = tmp_path / "facades"
    write_aligned(folder, "train", 4)
    write_aligned(folder, "test", 2)
    return folder


def make(folder: Path, **kwargs) -> PairedImages:  # noqa: ANN003
    dm = PairedImages(folder=str(folder), crop_size=32, num_workers=0, **kwargs)
    dm.setup("fit")
    return dm


def test_aligned_halves_left_is_a_and_direction_swaps(aligned: Path) -> None:
    dm = make(aligned, batch_size=2)
    assert dm.dataset == "facades" and dm.data_shape == dm.source_shape == (3, 32, 32)
    assert len(dm.train_set) == 4 and dm.val_set is None and len(dm.test_set) == 2
    source, target = dm.test_set[0]
    assert source.shape == target.shape == (3, 32, 32)
    assert torch.allclose(source[2], torch.tensor(-1.0)) and torch.allclose(target[2], torch.tensor(1.0))
    assert torch.equal(source[:2], target[:2])  # eval: both halves resized alike, no flip
    assert (source[0, :, 1:] > source[0, :, :-1]).all()  # R grows with x: not flipped
    swapped_source, swapped_target = make(aligned, direction="BtoA").test_set[0]
    assert torch.equal(swapped_source, target) and torch.equal(swapped_target, source)
    s, t = next(iter(dm.train_dataloader()))
    assert s.shape == t.shape == (2, 3, 32, 32) and s.min() >= -1 and t.max() <= 1


def test_training_crop_and_flip_are_the_same_on_a_and_b(aligned: Path) -> None:
    ds = make(aligned).train_set
    assert ds.keyed
    flips = set()
    for key in range(40):
        source, target = ds[(key % 4, key)]
        assert torch.equal(source[:2], target[:2]), f"key {key}: A and B got different crops or flips"
        flips.add(bool(source[0, 0, 0] > source[0, 0, -1]))  # R falls along x when flipped
    assert flips == {True, False}


def test_keyed_items_are_reproducible_and_change_with_the_epoch(aligned: Path) -> None:
    ds = make(aligned).train_set
    for i in range(4):
        first, again = ds[(i, item_key(42, 0, i))], ds[(i, item_key(42, 0, i))]
        assert all(torch.equal(x, y) for x, y in zip(first, again))
    differs = [not torch.equal(ds[(i, item_key(42, 0, i))][0], ds[(i, item_key(42, 1, i))][0]) for i in range(4)]
    assert any(differs)
    # the training loader hands the keys out: same epoch, same batches; next epoch, other crops
    dm = make(aligned, batch_size=4)
    loader = dm.train_dataloader()
    epoch0, again0 = next(iter(loader))[0], next(iter(loader))[0]
    loader.sampler.set_epoch(1)
    epoch1 = next(iter(loader))[0]
    assert torch.equal(epoch0, again0) and not torch.equal(epoch0, epoch1)


def test_jitter_off_and_seeded_validation_split(aligned: Path) -> None:
    dm = make(aligned, load_size=32, flip=False, val_size=1)
    assert len(dm.train_set) == 3 and len(dm.val_set) == 1
    source, _ = dm.train_set[(0, 123)]
    assert torch.equal(source, dm.train_set[0][0])  # no crop margin and no flip: the key changes nothing
    with pytest.raises(LightgenError, match="load_size must be >= crop_size"):
        PairedImages(folder=str(aligned), crop_size=32, load_size=16)


def write_tree(folder: Path, split: str, names: list[str], blue: int) -> None:
    (folder / split).mkdir(parents=True, exist_ok=True)
    for name in names:
        coordinate_image(SIDE, blue, shift=int(name[:2])).save(folder / split / f"{name}.png")


def test_trees_layout_pairs_files_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "pairs"
    write_tree(folder / "A", "train", ["10", "20", "30"], blue=0)
    write_tree(folder / "B", "train", ["05_extra", "10", "20", "30"], blue=255)  # an unmatched B sorts first
    dm = make(folder, val_size=0)
    assert len(dm.train_set) == 3 and dm.test_set is None
    for i, shift in enumerate([10, 20, 30]):
        source, target = dm.train_set[i]
        assert torch.equal(source[:2], target[:2])  # partner found by name, not by position
        assert source[2].max() == -1 and target[2].min() == 1
        assert abs(float(source[0, 0, 0]) - (shift / 127.5 - 1)) < 0.02


def test_missing_partner_is_a_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "pairs"
    write_tree(folder / "A", "train", ["10", "20"], blue=0)
    write_tree(folder / "B", "train", ["10"], blue=255)
    with pytest.raises(DataNotFoundError, match=r"20\.png has no partner in .*B/train") as err:
        make(folder)
    assert "\n" not in str(err.value)


def test_missing_folder_names_both_layouts(tmp_path: Path, aligned: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"nowhere.*A\|B side by side \(aligned\).*A/train.*\(trees\)") as err:
        PairedImages(root=str(tmp_path), folder="nowhere").prepare_data()
    assert "\n" not in str(err.value)
    with pytest.raises(DataNotFoundError, match=r"\(trees\)$"):
        PairedImages(folder=str(aligned), layout="trees").prepare_data()


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(LightgenError, match="direction 'CtoD'"):
        PairedImages(direction="CtoD")
    with pytest.raises(LightgenError, match="grey"):
        PairedImages(channels=3)
    with pytest.raises(LightgenError, match="layout 'side'"):
        PairedImages(folder="x", layout="side")


def test_edge_map_marks_boundaries_and_not_flat_regions() -> None:
    image = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    image[..., 8:24, 8:24] = 200
    edges = edge_map(image)[0, 0]
    assert set(edges.unique().tolist()) == {0, 255}
    assert (edges[8:24, 7] == 0).all() and (edges[8:24, 8] == 0).all() and (edges[23, 8:24] == 0).all()
    assert (edges[10:22, 10:22] == 255).all() and (edges[:6] == 255).all()  # inside and outside: flat


def test_edges2fashion_default(mnist_root: Path) -> None:
    dm = PairedImages(root=str(mnist_root), val_size=64, batch_size=8)
    dm.setup("fit")
    assert dm.dataset == "edges2fashion" and dm.data_shape == dm.source_shape == (1, 32, 32)
    assert len(dm.train_set) == 576 and len(dm.val_set) == 64 and len(dm.test_set) == 128
    images, labels = load_idx(mnist_root, "fashion-mnist", train=False)
    images = resize_uint8(images, 32).float() / 127.5 - 1
    for i in range(8):
        source, target, label = dm.test_set[i]
        assert label == int(labels[i]) and torch.allclose(target, images[i], atol=1e-6)
        assert set(source.unique().tolist()) <= {-1.0, 1.0} and (source == -1).sum() > 10  # black lines on white
        local_range = F.max_pool2d(target[None], 3, 1, 1) + F.max_pool2d(-target[None], 3, 1, 1)
        assert (source[local_range[0] < 0.05] == 1).all()  # no edge where the image is flat
        near_edge = F.max_pool2d((source == -1).float()[None], 3, 1, 1)[0] > 0
        assert near_edge[local_range[0] > 1.0].all()  # an edge beside every sharp step (> half the range)
    # the validation split is a seeded slice of the training set, labels kept
    train_x, train_y = load_idx(mnist_root, "fashion-mnist", train=True)
    val_idx = torch.randperm(640, generator=torch.Generator().manual_seed(42))[:64]
    _, target, label = dm.val_set[0]
    assert label == int(train_y[val_idx[0]])
    assert torch.allclose(target, resize_uint8(train_x[val_idx[:1]], 32)[0].float() / 127.5 - 1, atol=1e-6)
    source, target, label = next(iter(dm.train_dataloader()))
    assert source.shape == target.shape == (8, 1, 32, 32) and label.shape == (8,)
    jittered = [not torch.equal(dm.train_set[(i, 7 + i)][1], dm.train_set[i][1]) for i in range(4)]
    assert any(jittered)
