"""The speed scripts run end to end, tiny, on the CPU: gpu.sh's dry run, dcgan_throughput.py and data_loading.py.

Their figures are not checked (a tiny run on a shared CPU measures nothing); their output format is: the
lines other tools and docs/benchmarks.md rely on, and a table row per measurement with a number or a reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLOAT = r"[0-9]+(?:\.[0-9]+)?"
NUMBER_OR_REASON = re.compile(rf"^(?:{FLOAT}(?: ± (?:{FLOAT}|nan))?|(?:skipped|failed): .+)$")


def run(args: list[str], timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def table_rows(text: str) -> dict[str, str]:
    """measurement -> result of a markdown table's body rows."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and cells[0] not in ("measurement", "---"):
            rows[cells[0]] = cells[1]
    return rows


@pytest.mark.slow
def test_gpu_script_dry_run_writes_a_row_per_measurement(tmp_path: Path) -> None:
    out = tmp_path / "bench" / "gpu_bench.md"
    args = ["bash", "tools/bench/gpu.sh", "--device", "cpu", "--quick", "--out", str(out), "--budget", "540"]
    proc = run(args, timeout=580)  # the script keeps to its budget; pytest's own limit is 600 s
    rows = table_rows(out.read_text())
    assert out.read_text() in proc.stdout  # printed as well
    expected = [
        f"DCGAN {size} px, {precision}, {side}"
        for size in (32, 64)
        for precision in ("32", "bf16-mixed", "16-mixed")
        for side in ("lightgen eager / plain fp32 eager", "compiled lightgen / plain fp32 eager")
    ] + ["FID lightgen / torch-fidelity images/s, cpu"]
    assert sorted(rows) == sorted(expected), rows
    for name, result in rows.items():
        assert NUMBER_OR_REASON.match(result), (name, result)
        if ", 16-mixed," in name:
            assert result == "skipped: needs CUDA"
        elif name.startswith("DCGAN"):  # everything else runs on a CPU
            assert not result.startswith(("skipped", "failed")), (name, result)


@pytest.mark.slow
def test_dcgan_throughput_ends_with_the_two_ratio_lines() -> None:
    script = "tools/bench/dcgan_throughput.py"
    proc = run([sys.executable, script, "--quick", "--device", "cpu", "--compile-backend", "aot_eager"], timeout=400)
    last = proc.stdout.strip().splitlines()[-2:]
    assert re.fullmatch(rf"ratio lightgen/plain: {FLOAT}", last[0]), last
    assert re.fullmatch(rf"ratio compiled/plain: {FLOAT}", last[1]), last


@pytest.mark.slow
def test_data_loading_prints_a_ratio_per_dataset(tmp_path: Path) -> None:
    proc = run([sys.executable, "tools/bench/data_loading.py", "--quick", "--cache", str(tmp_path)], timeout=300)
    ratios = dict(re.findall(rf"^ratio default/workers0 \((\w+)\): ({FLOAT}) ± ", proc.stdout, re.M))
    assert sorted(ratios) == ["imagenet", "lsun", "mnist"], proc.stdout
    assert all(float(v) > 0 for v in ratios.values())
    assert (tmp_path / "lsun-160" / "LSUN" / "bedroom_train_lmdb" / "data.mdb").is_file()
    assert len(list((tmp_path / "imagenet-160" / "ImageNet" / "train").glob("*/*.JPEG"))) == 160
