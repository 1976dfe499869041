"""SeqGAN against MLE on the synthetic oracle benchmark (Yu et al. 2017, sec. 4, Table 1 and Figure 2).

Protocol (LantaoYu/SeqGAN): an oracle LSTM with N(0, 1) parameters (vocabulary 5000, length 20, embedding
and hidden size 32) generates 10,000 training sequences (:class:`lightgen.data.sequences.OracleSequences`);
a generator LSTM of the same size is trained on them and scored by NLL_oracle, the oracle's per-token NLL
of ``--eval-samples`` (10,000) generated sequences, and by NLL_test, its own NLL of 10,000 held-out oracle
sequences. For each seed (the generator's initialisation and training stream; the oracle and its data are
fixed):

1. MLE pre-training for ``--pretrain-steps`` batches of 64 (the paper: 120 epochs = 18,750 batches);
   this checkpoint is the common start of both arms.
2. MLE-only: MLE goes on for ``--rounds`` x ``--mle-steps-per-round`` batches (one epoch per round by
   default: the x-axis of the paper's Figure 2 counts an MLE epoch and an adversarial round alike).
3. SeqGAN: D pre-training for ``--pretrain-d-steps`` batches, then ``--rounds`` rounds of 1 policy-gradient
   step (16 rollouts, rollout policy update rate 0.8) and ``--d-steps`` D steps of 64 real + 64 generated
   sequences (the paper: 5 x 3 epochs over 10,000 + 10,000 sequences, i.e. ~2,350 such steps).

The table gives mean ± standard error over the seeds, beside the paper's figures (random 10.310, MLE 9.038,
SeqGAN 8.736; the repository's own log: MLE levels at about 9.07, SeqGAN reaches 8.68), which come from
the paper's far larger budget and the repository's own oracle draw (ours is another draw of N(0, 1), so the
absolute levels differ somewhat; the oracle's own samples give the floor, its entropy rate).

    .venv/bin/python tools/bench/seqgan_oracle.py --device cuda                  # the full comparison
    .venv/bin/python tools/bench/seqgan_oracle.py --tiny                         # smoke test, < 1 min on a CPU
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from common import bench_trainer, mean_se  # noqa: E402  (tools/bench is on sys.path)

from lightgen.data.sequences import OracleSequences
from lightgen.metrics.sequence_nll import nll_oracle, nll_test, uniform_nll_oracle
from lightgen.models.seqgan import SeqGAN
from lightgen.nets.sequence import PAPER_FILTER_SIZES, PAPER_NUM_FILTERS, LSTMGenerator

PAPER = {"random": "10.310", "MLE": "9.038 (repo log: ~9.07)", "SeqGAN": "8.736 (repo log: 8.68)"}
TINY = dict(
    vocab=100, length=8, num_train=256, num_test=128, pretrain_steps=30, pretrain_d_steps=4, rounds=3,
    d_steps=2, mle_steps_per_round=2, rollouts=4, eval_samples=128, seeds=2,
)  # fmt: skip


def model_args(args: argparse.Namespace) -> dict[str, Any]:
    tiny_d = {"d_filter_sizes": (1, 2, 3, 5), "d_num_filters": (16, 16, 16, 16), "d_embed_dim": 16}
    paper_d = {"d_filter_sizes": PAPER_FILTER_SIZES, "d_num_filters": PAPER_NUM_FILTERS}
    return dict(
        data_shape=(args.length,), vocab_size=args.vocab, pretrain_g_steps=args.pretrain_steps,
        pretrain_d_steps=args.pretrain_d_steps, g_steps=1, d_steps=args.d_steps, adversarial_rounds=args.rounds,
        num_rollouts=args.rollouts, rollout_update_rate=0.8, oracle_eval_samples=0,
        **(tiny_d if args.tiny or args.small_d else paper_d),
    )  # fmt: skip


def fit(model: SeqGAN, data: OracleSequences, max_steps: int, device: str, ckpt: Path | None = None) -> L.Trainer:
    trainer = bench_trainer(accelerator=device, max_steps=max_steps)
    trainer.fit(model, data, ckpt_path=str(ckpt) if ckpt else None, weights_only=True)
    return trainer


def scores(generator: LSTMGenerator, data: OracleSequences, args: argparse.Namespace) -> tuple[float, float]:
    generator = copy.deepcopy(generator).eval()
    oracle = data.oracle.to(next(generator.parameters()).device)
    return nll_oracle(oracle, generator, args.eval_samples, seed=12345), nll_test(generator, data.test_set.tokens)


def run_seed(seed: int, data: OracleSequences, args: argparse.Namespace, folder: Path) -> dict[str, tuple]:
    """NLL_oracle and NLL_test of the pre-trained start, the MLE-only arm and the SeqGAN arm for one seed."""
    L.seed_everything(seed)
    start = SeqGAN(**model_args(args))
    fit(start, data, args.pretrain_steps, args.device).save_checkpoint(folder / f"start_{seed}.ckpt")
    out = {"MLE pre-trained start": scores(start.generator, data, args)}

    L.seed_everything(seed)
    mle = SeqGAN(**model_args(args), mle_only=True)
    fit(
        mle,
        data,
        args.pretrain_steps + args.rounds * args.mle_steps_per_round,
        args.device,
        folder / f"start_{seed}.ckpt",
    )
    out["MLE"] = scores(mle.generator, data, args)

    L.seed_everything(seed)
    gan = SeqGAN(**model_args(args))
    total = args.pretrain_steps + args.pretrain_d_steps + args.rounds * (1 + args.d_steps)
    fit(gan, data, total, args.device, folder / f"start_{seed}.ckpt")
    assert gan.rounds_done() == args.rounds, (gan.rounds_done(), args.rounds)
    out["SeqGAN"] = scores(gan.generator, data, args)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a small oracle and budget (smoke test, < 1 min)")
    parser.add_argument("--device", default="cpu", help="accelerator: cpu or cuda")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--num-train", type=int, default=10_000)
    parser.add_argument("--num-test", type=int, default=10_000)
    parser.add_argument("--pretrain-steps", type=int, default=18_750, help="MLE batches (paper: 120 epochs)")
    parser.add_argument("--pretrain-d-steps", type=int, default=1_000, help="D pre-training batches")
    parser.add_argument("--rounds", type=int, default=50, help="adversarial rounds (MLE-only: as many epochs)")
    parser.add_argument("--d-steps", type=int, default=15, help="D steps per round (paper: ~2,350)")
    parser.add_argument("--mle-steps-per-round", type=int, default=None, help="default: one epoch of batches")
    parser.add_argument("--rollouts", type=int, default=16)
    parser.add_argument("--eval-samples", type=int, default=10_000)
    parser.add_argument("--small-d", action="store_true", help="a 4-window, 64-filter D instead of the paper's")
    parser.add_argument("--data-root", default=None, help="where the oracle's sequences are cached")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.tiny:
        for key, value in TINY.items():
            setattr(args, key, value)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.mle_steps_per_round is None:
        args.mle_steps_per_round = args.num_train // 64
    began = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_root or str(Path(tmp) / "data")
        data = OracleSequences(args.vocab, args.length, num_train=args.num_train, num_test=args.num_test, root=root)
        data.setup()
        oracle = data.oracle.to(args.device)
        floor = nll_oracle(oracle, oracle, args.eval_samples, seed=1)
        untrained = [
            nll_oracle(oracle, LSTMGenerator(args.vocab, args.length).to(args.device), args.eval_samples, seed=s)
            for s in range(args.seeds)
        ]  # the paper's "random": an untrained generator (N(0, 0.1) weights: nearly uniform)
        uniform = uniform_nll_oracle(data.oracle.cpu(), args.vocab, args.length, args.eval_samples)
        rows: dict[str, list[tuple[float, float]]] = {}
        for seed in range(args.seeds):
            for name, value in run_seed(seed, data, args, Path(tmp)).items():
                rows.setdefault(name, []).append(value)
                print(f"seed {seed} | {name} | NLL_oracle {value[0]:.4f} | NLL_test {value[1]:.4f}", flush=True)
    budget = (
        f"budget: {args.pretrain_steps} MLE batches of 64 (paper: 18,750 = 120 epochs), then MLE-only "
        f"{args.rounds} x {args.mle_steps_per_round} further MLE batches; SeqGAN {args.pretrain_d_steps} D "
        f"pre-training batches and {args.rounds} rounds of 1 G step ({args.rollouts} rollouts) + {args.d_steps} "
        f"D steps. Oracle: V={args.vocab}, T={args.length}, {args.num_train} training sequences; "
        f"NLL_oracle of {args.eval_samples} samples; {args.seeds} seeds; {time.time() - began:.0f} s on {args.device}."
    )
    print(budget)
    print("\n| model | NLL_oracle | NLL_test | paper NLL_oracle |\n|---|---|---|---|")
    r, se = mean_se(untrained)
    print(f"| random (untrained G) | {r:.3f} ± {se:.3f} | - | {PAPER['random']} |")
    print(f"| uniform random sequences | {uniform:.3f} | - | - |")
    for name, values in rows.items():
        (o, o_se), (t, t_se) = mean_se([v[0] for v in values]), mean_se([v[1] for v in values])
        print(f"| {name} | {o:.3f} ± {o_se:.3f} | {t:.3f} ± {t_se:.3f} | {PAPER.get(name, '-')} |")
    print(f"| oracle's own samples (floor) | {floor:.3f} | - | - |")


if __name__ == "__main__":
    main()
