"""Per-step cost of GAN training under DDP: lightgen's PlayerDDPStrategy against Lightning's DDP with
``find_unused_parameters=True``, two gloo processes on this machine's CPU.

    python tools/bench/ddp_comm.py --batches 40 --width 512 --repeats 3

Each repeat runs both strategies (alternating order) as separate 2-process fits of the same GAN from
the same seed (tests/scripts/ddp_two_players.py), drops the first ``--warmup`` batches, and reports the
mean time per training batch with its standard error over batches, the gradient elements each rank
all-reduced per batch, and last ``ratio players/find_unused (time per batch): X``. The two runs end with
equal weights (checked), so they do the same arithmetic; only the communication and the graph search
differ.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from common import mean_se  # noqa: E402  (tools/bench is on sys.path)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "scripts" / "ddp_two_players.py"
STRATEGIES = ("ddp_players", "ddp_find_unused_parameters_true")


def run(strategy: str, out: Path, d_steps: int, batches: int, width: int) -> dict:
    cmd = [sys.executable, str(SCRIPT), str(out), strategy, str(d_steps), str(batches), str(width)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise SystemExit(f"{strategy} failed:\n{proc.stderr[-3000:]}")
    return json.loads((out / "rank0.json").read_text())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=40, help="training batches per run")
    p.add_argument("--warmup", type=int, default=5, help="first batches left out of the timing")
    p.add_argument("--width", type=int, default=512, help="hidden width of the MLP G and D")
    p.add_argument("--d-steps", type=int, default=1, help="D steps per G step")
    p.add_argument("--repeats", type=int, default=3, help="runs of each strategy, alternating")
    args = p.parse_args(argv)
    times: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    elements: dict[str, float] = {}
    states = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            order = STRATEGIES if r % 2 == 0 else STRATEGIES[::-1]
            for strategy in order:
                out = Path(tmp) / f"{strategy}_{r}"
                out.mkdir()
                result = run(strategy, out, args.d_steps, args.batches, args.width)
                times[strategy] += result["times"][args.warmup :]
                counts = result["counts"]
                sent = counts["generator_elements"] + counts["discriminator_elements"] + counts["module_elements"]
                elements[strategy] = sent / args.batches
                states[strategy] = result["state"]
    same = states[STRATEGIES[0]] == states[STRATEGIES[1]]
    print(f"| strategy | ms per batch (mean ± se, {args.repeats} runs) | gradient elements all-reduced per batch |")
    print("|---|---|---|")
    for strategy in STRATEGIES:
        m, se = mean_se(times[strategy])
        print(f"| {strategy} | {1000 * m:.2f} ± {1000 * se:.2f} | {elements[strategy]:,.0f} |")
    print(f"final weights equal across strategies: {same}")
    (mp, sp), (mf, sf) = mean_se(times[STRATEGIES[0]]), mean_se(times[STRATEGIES[1]])
    ratio = mp / mf
    print(f"ratio players/find_unused (time per batch): {ratio:.3f} ± {ratio * math.hypot(sp / mp, sf / mf):.3f}")


if __name__ == "__main__":
    main()
