"""The ImageNet datamodule on a real (tiny) tree of JPEG files, in both layouts it reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import make_image_tree

from lightgen.data import ImageNet
from lightgen.errors import DataNotFoundError, LightgenError

WNIDS = ["n01440764", "n01443537", "n01484850"]


@pytest.fixture
def imagenet_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    make_image_tree(root / "ImageNet" / "train", WNIDS, per_class=4, seed=0)
    make_image_tree(root / "ImageNet" / "val", WNIDS, per_class=2, seed=1)
    return root


@pytest.mark.parametrize("size", [32, 64])
def test_standard_layout_serves_train_and_val_at_the_asked_size(imagenet_root: Path, size: int) -> None:
    dm = ImageNet(root=str(imagenet_root), image_size=size, batch_size=6)
    dm.setup("fit")
    assert dm.data_shape == (3, size, size) and dm.num_classes == 3
    assert len(dm.train_set) == 12 and len(dm.val_set) == 6
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (6, 3, size, size) and x.min() >= -1.0 and x.max() <= 1.0
    assert set(y.tolist()) <= {0, 1, 2}
    xv, yv = next(iter(dm.val_dataloader()))
    assert xv.shape == (6, 3, size, size) and sorted(yv.tolist()) == [0, 0, 1, 1, 2, 2]
    # resize + center crop keeps the image's centre: the uniform box of the fixture
    centre = x[:, :, size // 2 - 2 : size // 2 + 2, size // 2 - 2 : size // 2 + 2]
    assert centre.std(dim=(2, 3)).max() < 0.05


def test_plain_image_folder_gets_a_seeded_validation_split(tmp_path: Path) -> None:
    make_image_tree(tmp_path / "faces", ["a", "b"], per_class=5)
    make = lambda seed: ImageNet(root=str(tmp_path), folder="faces", image_size=32, val_size=3, seed=seed)  # noqa: E731
    dm, same, other = make(0), make(0), make(1)
    for d in (dm, same, other):
        d.setup("fit")
    assert len(dm.train_set) == 7 and len(dm.val_set) == 3
    assert dm.val_set.indices == same.val_set.indices != other.val_set.indices
    assert not set(dm.val_set.indices) & set(dm.train_set.indices)


def test_absolute_folder_and_value_range_01(tmp_path: Path) -> None:
    folder = make_image_tree(tmp_path / "elsewhere" / "imgs", ["cat"], per_class=3)
    dm = ImageNet(
        root=str(tmp_path / "unused"), folder=str(folder), image_size=32, value_range=(0.0, 1.0), batch_size=3
    )
    dm.setup("fit")
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (3, 3, 32, 32) and x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.3
    assert dm.val_set is None and dm.val_dataloader() == []


def test_flat_val_folder_is_skipped_with_a_warning(tmp_path: Path) -> None:
    make_image_tree(tmp_path / "ImageNet" / "train", WNIDS[:1], per_class=2)
    flat = tmp_path / "ImageNet" / "val"
    flat.mkdir()
    (flat / "ILSVRC2012_val_00000001.JPEG").write_bytes(b"\xff\xd8")
    dm = ImageNet(root=str(tmp_path), image_size=32)
    with pytest.warns(UserWarning, match="no class folders"):
        dm.setup("fit")
    assert dm.val_set is None


def test_missing_dataset_is_a_one_line_error_naming_both_layouts(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"ImageNet/train/<class>/\*\.JPEG.*plain ImageFolder") as err:
        ImageNet(root=str(tmp_path)).prepare_data()
    assert "\n" not in str(err.value)


def test_bad_options_are_one_line_errors(imagenet_root: Path) -> None:
    with pytest.raises(LightgenError, match="image_size must be between 8 and 512 pixels; got 4"):
        ImageNet(root=str(imagenet_root), image_size=4)
    with pytest.raises(LightgenError, match=r"value_range must be \(-1, 1\) or \(0, 1\)"):
        ImageNet(root=str(imagenet_root), value_range=(0.0, 255.0))
    dm = ImageNet(root=str(imagenet_root), folder=str(imagenet_root / "ImageNet" / "val"), val_size=6)
    with pytest.raises(LightgenError, match="val_size 6 leaves no training images"):
        dm.setup("fit")


def test_dcgan_refuses_a_size_it_cannot_build(imagenet_root: Path) -> None:
    from lightgen.models import DCGAN

    with pytest.raises(LightgenError, match="48"):
        DCGAN(data_shape=(3, 48, 48))
    model = DCGAN(data_shape=(3, 32, 32), g_width=8, d_width=8)
    dm = ImageNet(root=str(imagenet_root), image_size=32, batch_size=4)
    dm.setup("fit")
    x, _ = next(iter(dm.train_dataloader()))
    assert model.discriminate(x).shape[0] == 4 and torch.isfinite(model.discriminate(x)).all()
