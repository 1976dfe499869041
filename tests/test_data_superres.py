"""The super-resolution datamodule on real folders of PNG files (plain, DIV2K, Set5), and the sr-images
preparer with a fake pip that writes a tiny real wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lightgen.data import prepare_sr
from lightgen.data.base import item_key
from lightgen.data.prepare_sr import SPLITS, manifest_problems, prepare_sr_images
from lightgen.data.superres import SuperResolution, load_rgb, symmetry
from lightgen.errors import DataNotFoundError, LightgenError
from lightgen.files import file_sha256


def coordinate_image(width: int, height: int, ident: int) -> Image.Image:
    """R = column, G = row, B = ``ident``: a crop tells where it came from and from which image."""
    ys, xs = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    pixels = np.stack([xs, ys, np.full_like(xs, ident)], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def write_images(folder: Path, sizes: list[tuple[int, int]], names: list[str] | None = None, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (w, h) in enumerate(sizes):
        name = names[i] if names else f"{i + 1:04d}.png"
        coordinate_image(w, h, 40 * (start + i) + 20).save(folder / name)
    return folder


SIZES = [(120, 100), (140, 112), (104, 130)]


@pytest.fixture
def hr_root(tmp_path: Path) -> Path:
    """A data root with a folder of HR PNGs of varied sizes and a Set5-style test folder."""
    write_images(tmp_path / "photos", SIZES)
    set5 = tmp_path / "Set5"
    write_images(set5 / "image_SRF_4", [(72, 80), (96, 64)], ["img_001_SRF_4_HR.png", "img_002_SRF_4_HR.png"], 5)
    write_images(set5 / "image_SRF_4", [(18, 20), (24, 16)], ["img_001_SRF_4_LR.png", "img_002_SRF_4_LR.png"], 7)
    write_images(set5 / "image_SRF_2", [(10, 10)], ["img_001_SRF_2_HR.png"], 6)  # another scale: not read
    return tmp_path


def make(root: Path, **kwargs) -> SuperResolution:  # noqa: ANN003
    options = dict(root=str(root), folder="photos", test_folder="Set5", crop_size=32, test_crop=48, num_workers=0)
    dm = SuperResolution(**(options | kwargs))
    dm.setup("fit")
    return dm


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) / 2 * 255).round().to(torch.uint8)


def pil_bicubic(hr: torch.Tensor, scale: int) -> torch.Tensor:
    image = Image.fromarray(to_uint8(hr).permute(1, 2, 0).numpy().copy())
    small = image.resize((hr.shape[2] // scale, hr.shape[1] // scale), Image.BICUBIC)
    return torch.from_numpy(np.array(small)).permute(2, 0, 1)


def test_training_pairs_are_random_crops_and_their_pil_bicubic(hr_root: Path) -> None:
    dm = make(hr_root, crops_per_image=5)
    assert dm.data_shape == (3, 32, 32) and dm.source_shape == (3, 8, 8) and dm.dataset == "photos+Set5"
    assert len(dm.train_set) == 15 and dm.train_set.keyed
    seen = set()
    for i in range(15):
        lr, hr = dm.train_set[(i, item_key(0, 0, i))]
        assert lr.shape == (3, 8, 8) and hr.shape == (3, 32, 32) and hr.min() >= -1 and hr.max() <= 1
        assert torch.equal(to_uint8(lr), pil_bicubic(hr, 4))  # lr is exactly PIL's bicubic of hr
        u = to_uint8(hr)
        assert (u[2] == 40 * (i % 3) + 20).all()  # item i crops image i % n
        left, top = int(u[0].min()), int(u[1].min())
        w, h = SIZES[i % 3]
        assert 0 <= left <= w - 32 and 0 <= top <= h - 32  # the crop lies inside the image
        source = load_rgb(hr_root / "photos" / f"{i % 3 + 1:04d}.png")[:, top : top + 32, left : left + 32]
        ks = [k for k in range(8) if torch.equal(symmetry(source, k), u)]
        assert ks, "hr is not a flip/rotation of an image crop"
        seen.add(ks[0])
    assert len(seen) > 2  # the symmetries are drawn, not fixed


def test_crops_are_keyed_reproducible_and_differ_by_epoch(hr_root: Path) -> None:
    ds = make(hr_root).train_set
    a = ds[(4, item_key(42, 0, 4))][1]
    assert torch.equal(a, ds[(4, item_key(42, 0, 4))][1])
    assert not torch.equal(a, ds[(4, item_key(42, 1, 4))][1])
    # a plain index: the center crop, unrotated
    centre = to_uint8(ds[1][1])
    assert int(centre[0, 0, 0]) == (140 - 32) // 2 and int(centre[1, 0, 0]) == (112 - 32) // 2
    plain = make(hr_root, augment=False).train_set[(4, item_key(42, 0, 4))][1]
    assert to_uint8(plain)[0, 0, 1] == to_uint8(plain)[0, 0, 0] + 1  # no flip: columns increase to the right


def test_train_loader_serves_keyed_batches(hr_root: Path) -> None:
    dm = make(hr_root, batch_size=4)
    loader = dm.train_dataloader()
    lr, hr = next(iter(loader))
    assert lr.shape == (4, 3, 8, 8) and hr.shape == (4, 3, 32, 32)
    loader.sampler.set_epoch(1)
    assert not torch.equal(next(iter(loader))[1], hr)


def test_set5_layout_reads_only_hr_files_and_serves_center_crops(hr_root: Path) -> None:
    dm = make(hr_root, batch_size=2)
    assert len(dm.test_set) == 2 and len(dm.val_set) == 2
    lr, hr = next(iter(dm.test_dataloader()))
    assert lr.shape == (2, 3, 12, 12) and hr.shape == (2, 3, 48, 48)
    for j, (w, h) in enumerate([(72, 80), (96, 64)]):
        u = to_uint8(hr[j])
        assert (u[2] == 40 * (5 + j) + 20).all()  # the _HR files, not the _LR ones
        assert int(u[0, 0, 0]) == (w - 48) // 2 and int(u[1, 0, 0]) == (h - 48) // 2  # center crop
        assert torch.equal(to_uint8(lr[j]), pil_bicubic(hr[j], 4))
    lr_v, hr_v = next(iter(dm.val_dataloader()))
    assert hr_v.shape == (2, 3, 32, 32) and lr_v.shape == (2, 3, 8, 8)  # val: the training shape


def test_whole_test_images_are_cut_to_the_scale_and_come_one_per_batch(hr_root: Path) -> None:
    write_images(hr_root / "Set14", [(70, 66), (52, 61)])
    dm = make(hr_root, test_folder="Set14", test_crop=None, batch_size=8)
    shapes = [tuple(hr.shape) for _, hr in dm.test_dataloader()]
    assert shapes == [(1, 3, 64, 68), (1, 3, 60, 52)]
    lr, hr = dm.test_set[0]
    assert to_uint8(hr)[0, 0, -1] == 67 and torch.equal(to_uint8(lr), pil_bicubic(hr, 4))
    assert dm.batch_size == 8


def test_div2k_root_uses_its_valid_folder_as_test_split(tmp_path: Path) -> None:
    write_images(tmp_path / "DIV2K" / "DIV2K_train_HR", [(80, 72), (72, 80)])
    write_images(tmp_path / "DIV2K" / "DIV2K_valid_HR", [(64, 64)], ["0801.png"], 4)
    dm = SuperResolution(root=str(tmp_path), folder="DIV2K", crop_size=32, test_crop=64, num_workers=0, preload=False)
    dm.setup("fit")
    assert dm.dataset == "DIV2K" and dm.train_set.images.cache is None  # decoded per item
    assert len(dm.train_set) == 2 * 64 and len(dm.test_set) == 1
    assert (to_uint8(dm.test_set[0][1])[2] == 180).all() and dm.test_set[0][1].shape == (3, 64, 64)
    direct = SuperResolution(root=str(tmp_path), folder=str(tmp_path / "DIV2K" / "DIV2K_train_HR"), crop_size=32)
    direct.setup("fit")
    assert direct.dataset == "DIV2K_train_HR" and direct.test_set is None and direct.val_dataloader() == []


def test_grey_and_jpeg_files_become_rgb(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(np.full((40, 44), 77, np.uint8), "L").save(folder / "grey.png")
    coordinate_image(44, 40, 9).save(folder / "photo.jpg", quality=95)
    dm = SuperResolution(root=str(tmp_path), folder="mixed", crop_size=16, value_range=(0.0, 1.0), num_workers=0)
    dm.setup("fit")
    grey, photo = dm.train_set[0][1], dm.train_set[1][1]
    assert grey.shape == (3, 16, 16) and torch.allclose(grey, torch.full_like(grey, 77 / 255))
    assert photo.shape == (3, 16, 16) and (photo[2] - 9 / 255).abs().mean() < 4 / 255  # JPEG decoded, blue kept


def test_missing_default_data_names_the_prepare_command(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"lightgen data prepare sr-images --root") as err:
        SuperResolution(root=str(tmp_path)).prepare_data()
    assert "\n" not in str(err.value)
    base = tmp_path / "sr-images"
    write_images(base / "train", [(100, 100)])
    write_images(base / "test", [(128, 130)])
    dm = SuperResolution(root=str(tmp_path), num_workers=0)
    dm.setup("fit")
    assert dm.dataset == "sr-images" and len(dm.train_set) == 64 and dm.test_set[0][1].shape == (3, 128, 128)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"crop_size": 30}, "crop_size must be a multiple of scale=4; got 30"),
        ({"test_crop": 50}, "test_crop must be a positive multiple of scale=4"),
        ({"scale": 1}, "scale must be an integer >= 2; got 1"),
        ({"crops_per_image": 0}, "crops_per_image must be a positive integer; got 0"),
        ({"crop_size": 104}, r"crop_size 104 is larger than the image .*0001.png \(120x100 px\)"),
        ({"test_crop": 68}, r"test_crop 68 is larger than the image .*img_002_SRF_4_HR.png \(96x64 px\)"),
        ({"folder": "nowhere"}, "HR image folder .*nowhere not found"),
        ({"folder": "empty"}, "no image files .* in .*empty"),
    ],
)
def test_bad_input_is_a_one_line_error(hr_root: Path, kwargs: dict, message: str) -> None:
    (hr_root / "empty").mkdir()
    with pytest.raises(LightgenError, match=message) as err:
        make(hr_root, **kwargs)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------------- preparer
EXTRA = ("chessboard_GRAY.png", "logo.png", "motorcycle_right.png", "README.txt")


def fake_wheel(path: Path, drop: str | None = None) -> None:
    """A real zip in the wheel's layout: every photograph of SPLITS (grey for some, JPEG where the wheel has
    JPEG) plus files the split leaves out."""
    with zipfile.ZipFile(path, "w") as zf:
        for i, name in enumerate([*SPLITS["train"], *SPLITS["test"], *EXTRA]):
            if name == drop:
                continue
            image = coordinate_image(48 + 4 * (i % 3), 40, 10 * i)
            if name in ("camera.png", "moon.png"):
                image = image.convert("L")
            member = zf.open(f"skimage/data/{name}", "w")
            image.save(member, format="JPEG" if name.endswith(".jpg") else "PNG")
            member.close()


class FakePip:
    """Stands in for subprocess.run: checks the pip command, writes a fake wheel into ``-d``."""

    def __init__(self, fail: bool = False, drop: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail, self.drop = fail, drop

    def __call__(self, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
        self.calls.append(cmd)
        assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
        assert "--no-deps" in cmd and "--only-binary=:all:" in cmd and "scikit-image==0.26.0" in cmd
        dest = Path(cmd[cmd.index("-d") + 1])
        if self.fail:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found\n")
        fake_wheel(dest / "scikit_image-0.26.0-cp311-cp311-manylinux_2_28_x86_64.whl", self.drop)
        return subprocess.CompletedProcess(cmd, 0, "", "")


def test_prepare_extracts_the_split_as_rgb_pngs_and_verifies_them(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    pip = FakePip()
    monkeypatch.setattr(subprocess, "run", pip)
    folder = prepare_sr_images(tmp_path, log=lambda _: None)
    assert folder == tmp_path / "sr-images" and len(pip.calls) == 1
    for split, members in SPLITS.items():
        assert sorted(p.name for p in (folder / split).iterdir()) == sorted(f"{Path(m).stem}.png" for m in members)
    assert not (folder / "train" / "motorcycle_right.png").exists() and not (folder / "test" / "logo.png").exists()
    with Image.open(folder / "train" / "camera.png") as grey, Image.open(folder / "train" / "rocket.png") as jpeg:
        assert grey.mode == "RGB" and jpeg.mode == "RGB" and jpeg.format == "PNG"
        assert np.ptp(np.array(grey).astype(int), axis=-1).max() == 0  # grey replicated to three channels
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == "0.26.0" and manifest["wheel"].startswith("scikit_image-0.26.0")
    entry = next(e for e in manifest["files"] if e["file"] == "test/chelsea.png")
    assert entry["sha256"] == file_sha256(folder / "test" / "chelsea.png") and entry["source"].endswith("chelsea.png")
    assert manifest_problems(folder) == []
    # a second prepare verifies and downloads nothing
    messages: list[str] = []
    assert prepare_sr_images(tmp_path, log=messages.append) == folder and len(pip.calls) == 1
    assert "verified" in messages[-1]
    # the datamodule reads what was prepared
    dm = SuperResolution(root=str(tmp_path), crop_size=16, test_crop=32, crops_per_image=2, num_workers=0)
    dm.setup("fit")
    assert len(dm.train_set) == 2 * len(SPLITS["train"]) and len(dm.test_set) == len(SPLITS["test"])


def test_a_corrupted_file_is_extracted_again(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    pip = FakePip()
    monkeypatch.setattr(subprocess, "run", pip)
    folder = prepare_sr_images(tmp_path, log=lambda _: None)
    good = file_sha256(folder / "test" / "coffee.png")
    (folder / "test" / "coffee.png").write_bytes(b"not a png")
    (folder / "train" / "stale.png").write_bytes(b"from an older split")
    assert any("checksum mismatch" in p and "coffee" in p for p in manifest_problems(folder))
    messages: list[str] = []
    prepare_sr_images(tmp_path, log=messages.append)
    assert len(pip.calls) == 2 and any("re-extracting" in m for m in messages)
    assert file_sha256(folder / "test" / "coffee.png") == good and manifest_problems(folder) == []
    assert not (folder / "train" / "stale.png").exists()


def test_pip_failure_and_a_foreign_wheel_are_one_line_errors(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(subprocess, "run", FakePip(fail=True))
    with pytest.raises(LightgenError, match=r"pip download --no-deps scikit-image==0.26.0` failed \(ERROR: No") as err:
        prepare_sr_images(tmp_path, log=lambda _: None)
    assert "\n" not in str(err.value)
    monkeypatch.setattr(subprocess, "run", FakePip(drop="chelsea.png"))
    with pytest.raises(LightgenError, match=r"holds no skimage/data/chelsea.png"):
        prepare_sr_images(tmp_path, log=lambda _: None)
    assert prepare_sr.manifest_problems(tmp_path / "sr-images")  # no manifest is left claiming success
