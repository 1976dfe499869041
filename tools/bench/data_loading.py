"""Data loading throughput: images/s from the MNIST, LSUN and ImageNet training loaders, automatic workers vs none.

Each datamodule is built twice, with its defaults (``num_workers=None``: the usable CPUs less one, at
most 8; ``persistent_workers`` when there are workers; no pinning off CUDA) and with ``num_workers=0``
(loading in this process), and its training loader is drained for ``--batches`` batches (or one epoch,
if shorter) with nothing else to do: the rate a training step can be fed at, not a training rate. The
data are in the real on-disk formats:

- MNIST: the IDX files under ``data/MNIST/raw`` when they exist, else a generated IDX tree (60,000 images);
- LSUN: a generated LMDB in LSUN's layout (WebP records, as tests/conftest.py's ``make_lsun_db`` writes);
- ImageNet: a generated ``train/<wnid>/*.JPEG`` tree (tests/conftest.py's ``make_image_tree``).

The fixtures are built once under ``--cache`` (git-ignored under data/). Each loader is warmed up first
(worker start-up, one untimed pass of a few batches); then repeats alternate (default, workers0, ...)
so drift in machine load hits both settings. Figures: mean ± standard error over repeats, and of the
per-repeat ratio default / workers0.

    python tools/bench/data_loading.py [--cache data/bench_fixtures] [--repeats 5] [--batches 40] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from pathlib import Path

import torch
from common import mean_se  # noqa: E402  (tools/bench is on sys.path)

from lightgen.data import LSUN, MNIST, ImageNet
from lightgen.data.base import GenerativeDataModule, default_num_workers

REPO = Path(__file__).resolve().parents[2]
DATASETS = ("mnist", "lsun", "imagenet")


def fixture_helpers() -> tuple:
    """make_mnist_tree, make_lsun_db and make_image_tree from tests/conftest.py (its torch thread setting undone)."""
    threads = torch.get_num_threads()
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from conftest import make_image_tree, make_lsun_db, make_mnist_tree
    finally:
        sys.path.pop(0)
        torch.set_num_threads(threads)  # conftest sets 1 thread for tests on import
    return make_mnist_tree, make_lsun_db, make_image_tree


def build_fixtures(cache: Path, n_mnist: int, n_lsun: int, n_imagenet: int, mnist: bool) -> dict[str, Path]:
    """Data roots of the generated fixtures, built once (a ``.done`` marker names the sizes)."""
    make_mnist_tree, make_lsun_db, make_image_tree = fixture_helpers()
    roots = {
        "mnist": cache / f"mnist-{n_mnist}",
        "lsun": cache / f"lsun-{n_lsun}",
        "imagenet": cache / f"imagenet-{n_imagenet}",
    }
    for name, root in roots.items():
        if (root / ".done").is_file() or (name == "mnist" and not mnist):
            continue
        t0 = time.perf_counter()
        if name == "mnist":
            make_mnist_tree(root, "MNIST", n_train=n_mnist, n_test=max(64, n_mnist // 10))
        elif name == "lsun":
            make_lsun_db(root / "LSUN", "bedroom_train", n_lsun)
        else:
            classes = [f"n{c:08d}" for c in range(10)]
            make_image_tree(root / "ImageNet" / "train", classes, per_class=math.ceil(n_imagenet / 10))
        (root / ".done").write_text("built\n")
        print(f"built {name} fixture under {root} in {time.perf_counter() - t0:.0f} s")
    return roots


def datamodule(name: str, root: Path, workers: int | None, batch_size: int, image_size: int) -> GenerativeDataModule:
    if name == "mnist":
        dm: GenerativeDataModule = MNIST(root=str(root), batch_size=batch_size, val_size=0, num_workers=workers)
    elif name == "lsun":
        dm = LSUN(root=str(root), image_size=image_size, batch_size=batch_size, num_workers=workers)
    else:
        dm = ImageNet(root=str(root), image_size=image_size, batch_size=batch_size, num_workers=workers)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def drain(loader: torch.utils.data.DataLoader, batches: int) -> float:
    """Images/s over the first ``batches`` batches of a fresh pass over ``loader``."""
    t0, images = time.perf_counter(), 0
    for i, batch in enumerate(loader):
        images += len(batch[0])
        if i + 1 == batches:
            break
    return images / (time.perf_counter() - t0)


def measure(name: str, root: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    loaders = {}
    for setting, workers in (("default", None), ("workers0", 0)):
        dm = datamodule(name, root, workers, args.batch_size, args.image_size)
        loaders[setting] = dm.train_dataloader()
        drain(loaders[setting], args.warmup_batches)  # untimed: worker start-up, first reads
    rates: dict[str, list[float]] = {"default": [], "workers0": []}
    batches = min(args.batches or 10**9, len(loaders["default"]))
    for r in range(args.repeats):
        order = ("default", "workers0") if r % 2 == 0 else ("workers0", "default")
        for setting in order:
            rates[setting].append(drain(loaders[setting], batches))
        print(f"{name} repeat {r}: default {rates['default'][-1]:.0f}, workers0 {rates['workers0'][-1]:.0f} images/s")
    # shut the persistent workers down here, so the next datamodule's workers are not forked holding them
    del loaders
    gc.collect()
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", type=Path, default=REPO / "data" / "bench_fixtures", help="where fixtures are built")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument(
        "--mnist-root", type=Path, default=None, help="default: data/ if data/MNIST/raw exists, else generated"
    )
    p.add_argument("--lsun-images", type=int, default=3000)
    p.add_argument("--imagenet-images", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, default=64, help="of LSUN and ImageNet (MNIST stays 28)")
    p.add_argument("--batches", type=int, default=None, help="timed batches per pass; default one epoch")
    p.add_argument("--warmup-batches", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="tiny generated data (also for MNIST), 5 batches, 2 repeats")
    args = p.parse_args()
    n_mnist = 60000
    if args.quick:
        args.lsun_images, args.imagenet_images, n_mnist = 160, 160, 640
        args.batch_size, args.batches, args.warmup_batches, args.repeats = 16, 5, 1, 2
    mnist_root = args.mnist_root
    if mnist_root is None and not args.quick and (REPO / "data" / "MNIST" / "raw").is_dir():
        mnist_root = REPO / "data"
    roots = build_fixtures(args.cache, n_mnist, args.lsun_images, args.imagenet_images, mnist=mnist_root is None)
    roots["mnist"] = mnist_root or roots["mnist"]
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, automatic workers {default_num_workers()}, "
        f"batch {args.batch_size}, {args.repeats} repeats; MNIST from {roots['mnist']}"
    )
    results = {name: measure(name, roots[name], args) for name in args.datasets}
    print("\n| dataset | default (automatic workers) images/s | num_workers=0 images/s | ratio default / workers0 |")
    print("|---|---|---|---|")
    for name, rates in results.items():
        (dm, dse), (zm, zse) = mean_se(rates["default"]), mean_se(rates["workers0"])
        rm, rse = mean_se([d / z for d, z in zip(rates["default"], rates["workers0"])])
        print(f"| {name} | {dm:.0f} ± {dse:.0f} | {zm:.0f} ± {zse:.0f} | {rm:.3f} ± {rse:.3f} |")
    print()
    for name, rates in results.items():
        rm, rse = mean_se([d / z for d, z in zip(rates["default"], rates["workers0"])])
        print(f"ratio default/workers0 ({name}): {rm:.3f} ± {rse:.3f}")


if __name__ == "__main__":
    main()
