"""Inception-v3 feature rate on this machine (not a test module): images per CPU-second and per second.

    N=24 BS=8 .venv/bin/python tests/metrics/inception_rate_probe.py

N random 28x28 grey images in [0, 1] through ``lightgen.metrics.fidelity.inception_space`` (the weights
prepared under the data root: ``lightgen data prepare inception``) in batches of BS, after a 2-image
warm-up; timed with ``time.process_time`` (CPU seconds of this process, all threads) and
``time.perf_counter``. Prints the load average before and after: on a shared machine the wall rate is
what other jobs left over, the CPU-second rate is the one to scale from.
"""

from __future__ import annotations

import os
import time

import torch

from lightgen.metrics import fidelity as fd
from lightgen.metrics.inception import inception_weights_path


def main() -> None:
    n, bs = int(os.environ.get("N", "24")), int(os.environ.get("BS", "8"))
    print("torch threads", torch.get_num_threads(), "load average before", os.getloadavg())
    space = fd.inception_space(inception_weights_path())
    x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    space(x[:2])  # warm-up
    c0, w0 = time.process_time(), time.perf_counter()
    fd.extract(fd.tensor_batches(x, bs), space)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(f"{n} images: wall {wall:.1f} s ({n / wall:.2f} img/s), CPU {cpu:.1f} s ({n / cpu:.2f} img per CPU-s)")
    print("load average after", os.getloadavg())


if __name__ == "__main__":
    main()
