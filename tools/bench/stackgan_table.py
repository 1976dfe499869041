"""StackGAN on captioned Fashion-MNIST through the CLI: the chain, FID and matching of each stage, a picture.

The chain a user runs (Zhang et al. 2017, sec. 3-4; the text encoder is the project's own matching model):

1. ``lightgen fit --config configs/text_matching.yaml``  (the frozen text encoder, trained against images)
2. ``lightgen fit --config configs/stackgan_stage1.yaml``  (stage I at 16 px, conditioned on that encoder)
3. ``lightgen fit --config configs/stackgan.yaml``  (stage II at 64 px, stage I loaded and frozen)

each for ``--*-steps`` training batches (Lightning's ``max_steps`` counts both optimizers' steps of a GAN,
so a stage's batch budget is passed as twice that), then ``lightgen evaluate --metrics fid,matching`` of
both stages on the test split and ``lightgen sample --caption ...`` of stage II. The table gives FID (one
set of ``--num-samples``, no error bar) and the matching model's cosine score with its standard error over
test items, beside the real pairs (ceiling) and the mismatched pairs (floor).

    .venv/bin/python tools/bench/stackgan_table.py --matching-steps 600 --stage1-steps 2000 --stage2-steps 600
    .venv/bin/python tools/bench/stackgan_table.py --matching-steps 4 --stage1-steps 4 --stage2-steps 4 \
        --num-samples 64 --out /tmp/stackgan_smoke                                    # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LIGHTGEN = str(Path(sys.executable).with_name("lightgen"))
CAPTIONS = ("a dark pair of trousers", "a bright pair of sandals", "a large, dark coat", "a small bag")


def run(argv: list[str], env: dict[str, str]) -> float:
    """Run one CLI command from the repository root; its wall-clock seconds. A failure stops the script."""
    print("$ lightgen " + " ".join(argv), flush=True)
    start = time.perf_counter()
    subprocess.run([LIGHTGEN, *argv], cwd=REPO, env=env, check=True)
    return time.perf_counter() - start


def fit(config: str, name: str, batches: int, gan: bool, extra: list[str], args: argparse.Namespace) -> Path:
    steps = 2 * batches if gan else batches
    argv = ["fit", "--config", f"configs/{config}.yaml", "--run_root", str(args.out), "--run_name", name]
    argv += ["--trainer.max_steps", str(steps), "--trainer.max_epochs", "-1", "--trainer.logger", "false"]
    argv += ["--seed_everything", str(args.seed), *extra]
    seconds = run(argv, args.env)
    ckpts = sorted((args.out / name).glob("version_*/checkpoints/last.ckpt"))
    if not ckpts:
        raise SystemExit(f"no last.ckpt under {args.out / name}: the fit of {config} wrote no checkpoint")
    args.seconds[name] = seconds
    return ckpts[-1]


def evaluate(ckpt: Path, name: str, args: argparse.Namespace) -> dict[str, Any]:
    out = args.out / f"{name}_eval.json"
    argv = ["evaluate", "--ckpt", str(ckpt), "--metrics", "fid,matching", "--split", "test"]
    argv += ["--num-samples", str(args.num_samples), "--seed", "0", "--device", "cpu", "--out", str(out)]
    run(argv, args.env)
    values: dict[str, Any] = {}
    for entry in json.loads(out.read_text())["metrics"]:
        values.update(entry["values"])
    return values


def table(rows: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    head = (
        "| stage | batches | train s | FID (test, "
        f"{args.num_samples}) | matching | R-precision | real pairs (ceiling) | mismatched (floor) |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for name, v in rows.items():
        label = "stage I (16 px)" if name == "stage1" else "stage II (64 px)"
        lines.append(
            f"| {label} | {args.batches[name]} | {args.seconds[name]:.0f} | {v['fid']:.1f} "
            f"| {v['matching']:.3f} ± {v['matching_se']:.3f} | {v['r_precision']:.3f} ± {v['r_precision_se']:.3f} "
            f"| {v['matching_real']:.3f} ± {v['matching_real_se']:.3f} "
            f"| {v['matching_mismatched']:.3f} ± {v['matching_mismatched_se']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matching-steps", type=int, default=600, help="text-image matching batches")
    parser.add_argument("--stage1-steps", type=int, default=2000, help="stage-I batches (D and G step each)")
    parser.add_argument("--stage2-steps", type=int, default=600, help="stage-II batches (D and G step each)")
    parser.add_argument("--num-samples", type=int, default=1000, help="test items scored per stage")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="OMP/torch threads of each command")
    parser.add_argument("--out", type=Path, default=Path("runs/stackgan_table"))
    parser.add_argument("--picture", type=Path, default=None, help="captioned grid of stage II (default: in --out)")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.env = dict(os.environ, WANDB_MODE="offline")
    if args.threads:
        args.env["OMP_NUM_THREADS"] = str(args.threads)
    args.seconds, args.batches = {}, {}
    began = time.time()
    encoder = fit("text_matching", "text_matching", args.matching_steps, False, [], args)
    args.batches["text_matching"] = args.matching_steps
    stage1 = fit(
        "stackgan_stage1", "stage1", args.stage1_steps, True, ["--model.init_args.text_encoder", str(encoder)], args
    )
    stage2 = fit("stackgan", "stage2", args.stage2_steps, True, ["--model.init_args.stage1", str(stage1)], args)
    args.batches.update({"stage1": args.stage1_steps, "stage2": args.stage2_steps})
    rows = {name: evaluate(ckpt, name, args) for name, ckpt in (("stage1", stage1), ("stage2", stage2))}
    picture = args.picture or args.out / "stackgan_captions.png"
    sample = ["sample", "--ckpt", str(stage2), "--out", str(picture), "--nrow", "6", "--seed", "0"]
    run(sample + [arg for caption in CAPTIONS for arg in ("--caption", caption)], args.env)
    text = table(rows, args)
    print(
        f"text_matching {args.matching_steps} batches ({args.seconds['text_matching']:.0f} s); seed {args.seed}; "
        f"{time.time() - began:.0f} s in all; picture {picture}\n\n{text}"
    )
    (args.out / "results.json").write_text(json.dumps({"config": vars(args), "rows": rows}, indent=2, default=str))


if __name__ == "__main__":
    main()
