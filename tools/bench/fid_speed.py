"""FID throughput: lightgen's streamed FID path against calling torch-fidelity directly on the same images.

Both sides compute FID between two sets of ``--num`` MNIST-like grey images (random strokes, 28 px)
with the same Inception weights file, the same batch size and the same device:

- lightgen: :func:`lightgen.metrics.fidelity.extract` over batches of float images in [0, 1]
  (uint8 conversion, grey -> RGB, torch-fidelity's extractor), then ``fid_from_features``;
- torch-fidelity: ``torch_fidelity.calculate_metrics(input1=..., input2=..., fid=True)`` on Datasets
  that serve the same images as uint8 RGB tensors (no cache, no worker processes).

Repeats alternate (lightgen, torch-fidelity, ...) so drift in machine load hits both; the figure is
the median images/s of each side and their ratio (goal >= 0.95). Both FIDs are printed: they must agree.
Rates are given per wall-clock second and per CPU second of this process (``time.process_time``): on a
shared CPU the second is the fair one (both sides run in this process, no worker processes).

    python tools/bench/fid_speed.py [--num 64] [--batch-size 32] [--repeats 3] [--device cpu] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lightgen.metrics import fidelity as fd
from lightgen.metrics.inception import EXTRACTOR_NAME, inception_weights_path


def stroke_images(n: int, seed: int) -> torch.Tensor:
    """n grey 28x28 images in [0, 1]: a bright random rectangle on faint noise."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=gen) * 0.15
    corners = torch.randint(2, 18, (n, 2), generator=gen)
    for i, (r, c) in enumerate(corners.tolist()):
        x[i, 0, r : r + 8, c : c + 3] = 1.0
    return x


class Uint8RGB(torch.utils.data.Dataset):
    """The same images as torch-fidelity wants them: uint8 (3, H, W)."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = fd.to_uint8_rgb(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num", type=int, default=64, help="images per set")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--weights", default=None, help="Inception weights (default: prepared under the data root)")
    ns = p.parse_args()
    torch.set_num_threads(ns.threads)
    import torch_fidelity

    device = torch.device(ns.device)
    weights = str(ns.weights or inception_weights_path(None))
    a, b = stroke_images(ns.num, 0), stroke_images(ns.num, 1)
    space = fd.inception_space(weights, device)

    def ours() -> float:
        fa = fd.extract(fd.tensor_batches(a, ns.batch_size), space)
        fb = fd.extract(fd.tensor_batches(b, ns.batch_size), space)
        return fd.fid_from_features(fa, fb)

    def theirs() -> float:
        out = torch_fidelity.calculate_metrics(
            input1=Uint8RGB(a), input2=Uint8RGB(b), fid=True, cuda=device.type == "cuda", batch_size=ns.batch_size,
            feature_extractor=EXTRACTOR_NAME, feature_extractor_weights_path=weights, cache=False, verbose=False,
            save_cpu_ram=True,
        )  # fmt: skip
        return float(out["frechet_inception_distance"])

    ours()  # warm-up: first-call allocations on both sides
    rates: dict[str, list[float]] = {"lightgen": [], "torch-fidelity": []}
    cpu_rates: dict[str, list[float]] = {"lightgen": [], "torch-fidelity": []}
    fids: dict[str, float] = {}
    for r in range(ns.repeats):
        for name, fn in (("lightgen", ours), ("torch-fidelity", theirs)):
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            fids[name] = fn()
            sync(device)
            rates[name].append(2 * ns.num / (time.perf_counter() - t0))
            cpu_rates[name].append(2 * ns.num / (time.process_time() - c0))
            print(
                f"repeat {r}: {name:15s} {rates[name][-1]:8.2f} images/s wall, "
                f"{cpu_rates[name][-1]:8.2f} images/CPU-s  FID {fids[name]:.4f}"
            )
    med = {k: statistics.median(v) for k, v in rates.items()}
    cpu = {k: statistics.median(v) for k, v in cpu_rates.items()}
    print(f"device {device}, threads {ns.threads}, {ns.num} + {ns.num} images, batch {ns.batch_size}")
    print(f"median images/s: lightgen {med['lightgen']:.2f}, torch-fidelity {med['torch-fidelity']:.2f}")
    print(f"FID lightgen {fids['lightgen']:.6f} vs torch-fidelity {fids['torch-fidelity']:.6f}")
    print(f"median images/CPU-s: lightgen {cpu['lightgen']:.2f}, torch-fidelity {cpu['torch-fidelity']:.2f}")
    print(
        f"ratio lightgen/torch-fidelity: {med['lightgen'] / med['torch-fidelity']:.3f} (wall), "
        f"{cpu['lightgen'] / cpu['torch-fidelity']:.3f} (CPU time)"
    )


if __name__ == "__main__":
    main()
