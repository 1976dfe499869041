"""The LSUN datamodule on a real (tiny) LMDB written in LSUN's layout."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from conftest import make_lsun_db

from lightgen.data import LSUN
from lightgen.data.lsun import LSUNScenes
from lightgen.errors import DataNotFoundError, LightgenError


@pytest.fixture
def lsun_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    make_lsun_db(root / "LSUN", "bedroom_train", n=12, seed=0)
    make_lsun_db(root / "LSUN", "bedroom_val", n=5, seed=1)
    make_lsun_db(root / "LSUN", "church_outdoor_train", n=6, seed=2)
    return root


def test_batches_are_center_cropped_to_image_size_in_value_range(lsun_root: Path) -> None:
    dm = LSUN(root=str(lsun_root), categories=["bedroom_train"], image_size=64, batch_size=4)
    dm.setup("fit")
    assert dm.data_shape == (3, 64, 64)
    assert len(dm.train_set) == 12 and len(dm.val_set) == 5  # bedroom_val found beside bedroom_train
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 3, 64, 64) and x.dtype == torch.float32
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.min() < -0.5  # the dark noise maps near -1
    assert (y == 0).all()
    # the box of one colour fills the centre: the crop kept the middle of the image
    assert x[:, :, 28:36, 28:36].std(dim=(2, 3)).max() < 0.05


def test_several_categories_label_by_category_and_value_range_01(lsun_root: Path) -> None:
    dm = LSUN(root=str(lsun_root), categories=["bedroom_train", "church_outdoor_train"], image_size=32,
              value_range=(0.0, 1.0), batch_size=18)  # fmt: skip
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (18, 3, 32, 32) and x.min() >= 0.0 and x.max() <= 1.0
    assert sorted(y.tolist()) == [0] * 12 + [1] * 6


def test_key_cache_lives_in_the_data_directory_not_the_working_directory(
    lsun_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    scenes = LSUNScenes(lsun_root / "LSUN", ["bedroom_train"])
    assert list(work.iterdir()) == []  # torchvision would have written _cache_... here
    cache = lsun_root / "LSUN" / "_keys" / "bedroom_train.txt"
    assert len(cache.read_text().split()) == 12
    # a second dataset reads the cache instead of walking the database: poison the walk to prove it
    monkeypatch.setattr("lightgen.data.lsun.read_key_cache", lambda *a: scenes.dbs[0].keys[::-1])
    again = LSUNScenes(lsun_root / "LSUN", ["bedroom_train"])
    assert again.dbs[0].keys == scenes.dbs[0].keys[::-1]


def test_stale_key_cache_is_rebuilt(lsun_root: Path) -> None:
    cache = lsun_root / "LSUN" / "_keys" / "bedroom_train.txt"
    cache.parent.mkdir(parents=True)
    cache.write_text("00\n")  # one key, but the database holds twelve
    scenes = LSUNScenes(lsun_root / "LSUN", ["bedroom_train"])
    assert len(scenes) == 12 and len(cache.read_text().split()) == 12
    assert scenes[11][0].size[0] >= 96


def test_lmdb_opens_read_only_lazily_per_process(lsun_root: Path) -> None:
    scenes = LSUNScenes(lsun_root / "LSUN", ["bedroom_train"])
    db = scenes.dbs[0]
    assert db._env is not None  # opened here to count the entries
    assert db.env.flags()["readonly"] is True
    clone = pickle.loads(pickle.dumps(scenes))  # what a spawned worker receives
    assert clone.dbs[0]._env is None
    assert clone[3][0].tobytes() == scenes[3][0].tobytes()  # opened on first use, same record
    assert clone.dbs[0].env is db.env  # one handle per process and database, as LMDB requires


def test_workers_read_the_same_images_as_the_main_process(lsun_root: Path) -> None:
    kwargs = dict(root=str(lsun_root), categories=["bedroom_train"], image_size=32, batch_size=4, seed=3)
    single, multi = LSUN(**kwargs), LSUN(**kwargs, num_workers=2)
    single.setup("fit")
    multi.setup("fit")
    a = torch.cat([x for x, _ in single.train_dataloader()])
    b = torch.cat([x for x, _ in multi.train_dataloader()])
    assert a.shape == (12, 3, 32, 32) and torch.equal(a, b)
    # the workers closed only their inherited copies: the main process still reads its handle
    assert torch.equal(torch.cat([x for x, _ in single.train_dataloader()]), a)


def test_missing_category_names_the_path_and_the_download_script(tmp_path: Path) -> None:
    dm = LSUN(root=str(tmp_path), categories=["tower_train"])
    with pytest.raises(DataNotFoundError, match=r"tower_train.*tower_train_lmdb/data.mdb.*download.py -c tower"):
        dm.prepare_data()


def test_unknown_category_is_a_one_line_error(lsun_root: Path) -> None:
    with pytest.raises(LightgenError, match=r"'bathroom'.*bedroom") as err:
        LSUNScenes(lsun_root / "LSUN", ["bathroom_train"])
    assert "\n" not in str(err.value)


def test_no_val_database_means_no_validation_loop_and_a_clear_test_error(tmp_path: Path) -> None:
    make_lsun_db(tmp_path / "LSUN", "tower_train", n=4)
    dm = LSUN(root=str(tmp_path), categories=["tower_train"], batch_size=2)
    dm.setup("fit")
    assert dm.val_set is None and dm.val_dataloader() == []
    with pytest.raises(LightgenError, match="LSUN has no test split"):
        dm.test_dataloader()
