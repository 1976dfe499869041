"""Run by tests/test_ddp_players.py (and tools/bench/ddp_comm.py) as `python ddp_two_players.py OUT STRATEGY
D_STEPS BATCHES`: a 2-process CPU (gloo) GAN fit that counts, on every rank, the gradient buckets each player
all-reduces, and times the training batches. Lightning's launcher re-runs this file for rank 1."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for conftest's data builder

import lightning as L  # noqa: E402
from conftest import make_mnist_tree  # noqa: E402

from lightgen.data import MNIST  # noqa: E402
from lightgen.models import GAN  # noqa: E402


def counting_hook(counts: dict, name: str):  # noqa: ANN201
    """A DDP comm hook that all-reduces (mean) as DDP's default does, counting calls and elements sent."""

    def hook(state, bucket):  # noqa: ANN001, ANN202
        counts[name] += 1
        counts[f"{name}_elements"] += bucket.buffer().numel()
        tensor = bucket.buffer().div_(dist.get_world_size())
        return dist.all_reduce(tensor, async_op=True).get_future().then(lambda fut: fut.value()[0])

    return hook


class CountingGAN(GAN):
    """Registers a counting comm hook on each player's DDP wrapper (ddp_players), or on the whole module."""

    counts = {k: 0 for name in ("generator", "discriminator", "module") for k in (name, f"{name}_elements")}
    times: list[float] = []

    def attach_ddp_wrappers(self, wrappers) -> None:  # noqa: ANN001
        super().attach_ddp_wrappers(wrappers)
        for name, wrapper in wrappers.items():
            wrapper.register_comm_hook(None, counting_hook(self.counts, name))

    def on_fit_start(self) -> None:
        super().on_fit_start()
        model = self.trainer.strategy.model
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model.register_comm_hook(None, counting_hook(self.counts, "module"))

    def on_train_batch_start(self, batch, batch_idx) -> None:  # noqa: ANN001
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        super().on_train_batch_end(outputs, batch, batch_idx)
        self.times.append(time.perf_counter() - self._t0)


def main() -> None:
    out, strategy, d_steps, batches = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    width = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    root = out / "data"
    if int(os.environ.get("LOCAL_RANK", 0)) == 0 and not (root / "MNIST").exists():
        make_mnist_tree(root, "MNIST", n_train=2048, n_test=64)
    L.seed_everything(0)
    model = CountingGAN(data_shape=(1, 28, 28), latent_dim=16, g_hidden=(width, width), d_hidden=(width, width),
                        d_steps=d_steps)  # fmt: skip
    trainer = L.Trainer(
        accelerator="cpu", devices=2, strategy=strategy, max_epochs=1, limit_train_batches=batches, logger=False,
        enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=0,
        limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(model, MNIST(root=str(root), batch_size=16, val_size=0, num_workers=0))
    rank = trainer.global_rank
    state = {k: v.detach().cpu().tolist() for k, v in model.state_dict().items()}
    (out / f"rank{rank}.json").write_text(json.dumps({
        "counts": model.counts, "d_steps_done": model.discriminator_steps, "g_steps_done": model.generator_steps,
        "times": model.times, "state": state,
        "sizes": {"generator": sum(p.numel() for p in model.generator.parameters()),
                  "discriminator": sum(p.numel() for p in model.discriminator.parameters())},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
