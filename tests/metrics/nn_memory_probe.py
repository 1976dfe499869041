"""Peak memory of the memorisation check against the size of the training set (not a test module).

    .venv/bin/python tests/metrics/nn_memory_probe.py --train 50000 --mode streamed

Synthetic 28x28 grey "training images" are made chunk by chunk (seeded), so the probe itself never
holds the training set; ``--mode streamed`` runs :func:`streamed_memorisation_check` on the chunks
(pixels and a random DigitNet feature space), ``--mode in-memory`` first concatenates them (the old
``nn``, which loaded the whole training split). Prints one JSON line: the growth of the process's peak
RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over the check, in MiB, and the seconds taken.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Iterator

import torch


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--train", type=int, required=True)
    p.add_argument("--mode", choices=("streamed", "in-memory"), default="streamed")
    p.add_argument("--query", type=int, default=200, help="generated samples, and as many test images")
    p.add_argument("--chunk", type=int, default=1000)
    a = p.parse_args()
    torch.set_num_threads(1)
    from lightgen.metrics.classifier import DigitNet
    from lightgen.metrics.fidelity import FeatureSpace
    from lightgen.metrics.memorisation import streamed_memorisation_check, tensor_chunks

    torch.manual_seed(0)
    net = DigitNet(width=4, hidden=16).eval()
    space = FeatureSpace("digitnet-random/16", net.features, None, "none")
    g = torch.Generator().manual_seed(1)
    gen, test = torch.rand(a.query, 1, 28, 28, generator=g), torch.rand(a.query, 1, 28, 28, generator=g)

    def chunks() -> Iterator[tuple[torch.Tensor, None]]:
        for start in range(0, a.train, a.chunk):
            n = min(a.chunk, a.train - start)
            yield torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(100 + start)), None

    with tempfile.TemporaryDirectory() as tmp:
        streamed_memorisation_check(gen[:4], chunks_small(), test[:4], feature_space=space)  # warm-up
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        if a.mode == "streamed":
            source = chunks()
        else:
            source = tensor_chunks(torch.cat([x for x, _ in chunks()]))
        out = streamed_memorisation_check(gen, source, test, feature_space=space, png=f"{tmp}/nn.png")
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "train": a.train,
                "mode": a.mode,
                "query": a.query,
                "num_train_seen": out["pixels"]["num_train"],
                "peak_rss_delta_mib": round((after - before) / 1024, 1),
                "seconds": round(seconds, 1),
            }
        )
    )


def chunks_small() -> Iterator[tuple[torch.Tensor, None]]:
    yield torch.rand(50, 1, 28, 28, generator=torch.Generator().manual_seed(0)), None


if __name__ == "__main__":
    main()
