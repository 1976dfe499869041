"""UnpairedImages on a real CycleGAN folder (trainA/ trainB/ testA/ testB/ PNGs) and the embedded mnist2thick."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from lightgen.data.base import item_key
from lightgen.data.derived import thicken
from lightgen.data.mnist import load_idx, resize_uint8
from lightgen.data.unpaired import UnpairedImages
from lightgen.errors import DataNotFoundError, LightgenError


def write_domain(folder: Path, n: int, green: int) -> None:
    """n solid images: red = 40 * index + 10 names the image, green names the domain."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (40, 36), (40 * i + 10, green, 128)).save(folder / f"img{i}.png")


def identity(x: torch.Tensor) -> int:
    """The index a solid fixture image was written with (from its red value in (-1, 1))."""
    return round(((float(x[0].mean()) + 1) * 127.5 - 10) / 40)


@pytest.fixture
def horse2zebra(tmp_path: Path) -> Path:
    folder = tmp_path / "horse2zebra"
    write_domain(folder / "trainA", 3, green=0)
    write_domain(folder / "trainB", 5, green=255)  # unequal counts
    write_domain(folder / "testA", 2, green=0)
    write_domain(folder / "testB", 3, green=255)
    return folder


def make(folder: Path, **kwargs) -> UnpairedImages:  # noqa: ANN003
    dm = UnpairedImages(folder=str(folder), crop_size=32, num_workers=0, **kwargs)
    dm.setup("fit")
    return dm


def test_folder_splits_shapes_and_no_validation(horse2zebra: Path) -> None:
    dm = make(horse2zebra, batch_size=2)
    assert dm.dataset == "horse2zebra" and dm.data_shape == dm.source_shape == (3, 32, 32)
    assert dm.jitter.flip and dm.jitter.load_size == 36  # folders: CycleGAN's 286/256 jitter and flips
    assert len(dm.train_set) == 5 and len(dm.test_set) == 3  # max(nA, nB)
    assert dm.val_set is None and dm.val_dataloader() == []
    a, b = next(iter(dm.train_dataloader()))
    assert a.shape == b.shape == (2, 3, 32, 32)
    assert (a[:, 1] < -0.9).all() and (b[:, 1] > 0.9).all()  # green tells the domains apart
    # test items: (testA[i % 2], testB[i % 3]), no randomness
    assert [(identity(a), identity(b)) for a, b in (dm.test_set[i] for i in range(3))] == [(0, 0), (1, 1), (0, 2)]


def test_b_is_drawn_independently_per_key_and_epoch(horse2zebra: Path) -> None:
    ds = make(horse2zebra).train_set
    assert ds.keyed
    seen_a, seen_b = set(), set()
    for i in range(5):
        partners = []
        for epoch in range(8):
            a, b = ds[(i, item_key(42, epoch, i))]
            assert identity(a) == i % 3  # A walks its images in order
            partners.append(identity(b))
            seen_a.add(identity(a))
        seen_b.update(partners)
        assert len(set(partners)) > 1, f"item {i} met the same B in every epoch"
        again = ds[(i, item_key(42, 0, i))]
        assert identity(again[1]) == partners[0]  # same key, same draw
    assert seen_a == {0, 1, 2} and seen_b == {0, 1, 2, 3, 4}


def test_a_and_b_get_their_own_crops(tmp_path: Path) -> None:
    folder = tmp_path / "ramps"
    for domain in ("trainA", "trainB"):
        (folder / domain).mkdir(parents=True)
        ramp = torch.arange(40).mul(6).to(torch.uint8).expand(40, 40)  # R encodes x
        Image.fromarray(ramp.numpy(), "L").convert("RGB").save(folder / domain / "ramp.png")
    ds = make(folder).train_set
    different = [not torch.equal(*ds[(0, key)]) for key in range(20)]
    assert any(different)


def test_missing_folders_are_one_line_errors(tmp_path: Path, horse2zebra: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"no unpaired dataset at .*nowhere.*trainA/.*trainB/") as err:
        UnpairedImages(root=str(tmp_path), folder="nowhere").prepare_data()
    assert "\n" not in str(err.value)
    for image in (horse2zebra / "testB").iterdir():
        image.unlink()
    with pytest.raises(DataNotFoundError, match=r"testB holds no image files"):
        make(horse2zebra)
    with pytest.raises(LightgenError, match="grey"):
        UnpairedImages(channels=3)


def test_thicken_is_a_dilation() -> None:
    image = torch.zeros(1, 1, 9, 9, dtype=torch.uint8)
    image[0, 0, 4, 4] = 200
    thick = thicken(image)[0, 0]
    assert (thick[3:6, 3:6] == 200).all() and thick.sum() == 9 * 200


def test_mnist2thick_default(mnist_root: Path) -> None:
    dm = UnpairedImages(root=str(mnist_root), val_size=40, batch_size=4)
    dm.setup("fit")
    assert dm.dataset == "mnist2thick" and dm.data_shape == (1, 32, 32)
    assert not dm.jitter.flip and dm.jitter.load_size == 32  # digits: no flip, no crop
    idx = dm.split_indices
    assert len(idx["a"]) == 300 and len(idx["b"]) == 300 and len(idx["val"]) == 40
    assert len(set(idx["a"].tolist()) | set(idx["b"].tolist()) | set(idx["val"].tolist())) == 640  # disjoint
    train_x, _ = load_idx(mnist_root, "mnist", train=True)
    train_x = resize_uint8(train_x, 32)
    a, b = dm.train_set[3]
    assert torch.allclose(a, train_x[idx["a"][3]].float() / 127.5 - 1, atol=1e-6)
    assert torch.allclose(b, thicken(train_x[idx["b"][3 % 300]][None])[0].float() / 127.5 - 1, atol=1e-6)
    _, test_y = load_idx(mnist_root, "mnist", train=False)
    for i in range(6):
        source, target, label = dm.test_set[i]
        assert label == int(test_y[i])
        assert (target >= source).all() and (target > source).any()
        assert torch.equal(target, F.max_pool2d(source[None], 3, 1, 1)[0])  # the true counterpart
    source, target, label = dm.val_set[0]
    assert torch.equal(target, F.max_pool2d(source[None], 3, 1, 1)[0])
    a, b = next(iter(dm.train_dataloader()))
    assert a.shape == b.shape == (4, 1, 32, 32)
