"""The error bars of tools/bench/iwae_table.py and ar_table.py against hand-computed values, their tables'
"NLL ± SE" and paired-difference lines, the k-sample ELBO gradient check, and that both scripts' --help runs."""

from __future__ import annotations

import argparse
import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "tools" / "bench"


def load(name: str) -> ModuleType:
    """Import tools/bench/<name>.py as a module (the folder is not a package)."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


iwae = load("iwae_table")


def test_mean_se_by_hand() -> None:
    # mean 2.5; sample variance ((1.5^2 + 0.5^2) * 2) / 3 = 5/3; SE = sqrt(5/3 / 4)
    mean, se = iwae.mean_se([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    assert se == pytest.approx(math.sqrt(5 / 12))
    assert iwae.mean_se([7.0])[0] == 7.0 and math.isnan(iwae.mean_se([7.0])[1])


def test_paired_difference_by_hand() -> None:
    # differences 1, 2, 0: mean 1, sample variance 1, SE 1/sqrt(3); far smaller than the unpaired SEs
    d, se = iwae.paired_diff([100.0, 92.0, 111.0], [99.0, 90.0, 111.0])
    assert d == pytest.approx(1.0)
    assert se == pytest.approx(1 / math.sqrt(3))
    assert iwae.mean_se([100.0, 92.0, 111.0])[1] > 5 * se
    with pytest.raises(ValueError, match="same images"):
        iwae.paired_diff([1.0, 2.0], [1.0])


def test_seed_spread_and_format() -> None:
    mean, std = iwae.seed_spread([1.0, 3.0])
    assert (mean, std) == pytest.approx((2.0, math.sqrt(2.0)))
    assert math.isnan(iwae.seed_spread([5.0])[1])
    assert iwae.pm(1.0, 1 / 3) == "1.00 ± 0.33"
    assert iwae.parse_seeds("0,1, 2") == [0, 1, 2]


def test_iwae_markdown_has_se_paired_and_seed_rows() -> None:
    def result(seed: int, objective: str, k: int, nll: list[float]) -> dict:
        return {
            "seed": seed, "layers": 1, "objective": objective, "k": k, "nll_per_image": nll,
            "neg_elbo_per_image": [v + 5 for v in nll], "L_50": -nll[0], "active_units": [50],
            "layer_kl": [20.0], "epoch_seconds": 1.0, "eval_seconds_per_image": 0.1,
        }  # fmt: skip

    per_image = {  # seed 0; seed 1 adds one nat to every image
        ("elbo", 1): [103.0, 93.0, 96.0],
        ("elbo", 5): [100.0, 90.0, 95.0],
        ("iwae", 5): [100.0, 90.0, 95.5],
    }
    results = [result(s, o, k, [v + s for v in nll]) for s in (0, 1) for (o, k), nll in per_image.items()]
    args = argparse.Namespace(epochs=1, batch=20, threads=1, eval_k=5000, au_n=2000, test_n=3, time_steps=0)
    text = iwae.markdown(results, args, 55000, [])
    assert f"| 0 | 1 | VAE | 1 | {iwae.pm(*iwae.mean_se([103.0, 93.0, 96.0]))} |" in text
    # VAE k=5 - VAE k=1 per image: -3, -3, -1: mean -7/3, sample variance 4/3, SE sqrt(4/9) = 2/3 -> beyond 2 SE
    assert "| 0 | 1L VAE k=5 - 1L VAE k=1 | -2.33 ± 0.67 ** |" in text
    assert "| 0 | 1L IWAE k=5 - 1L VAE k=5 | 0.17 ± 0.17 |" in text  # 0, 0, 0.5: within 2 SE, no mark
    assert "| NLL 1L VAE k=1 | 2 | " in text and "| 1L IWAE k=5 - 1L VAE k=5 | 2 | 0.17 ± 0.00 |" in text


def test_ar_paired_table_by_hand() -> None:
    ar = load("ar_table")
    runs = {0: {"fvbn": {"nll_per_image": [100.0, 92.0, 111.0]}, "nade": {"nll_per_image": [99.0, 90.0, 111.0]}}}
    lines = ar.paired_table(runs)
    assert "| 0 | fvbn - nade | 1.00 ± 0.58 |" in lines
    assert ar.nll_text({"nll_per_image": [1.0, 2.0, 3.0, 4.0]}) == "2.50 ± 0.65"
    assert ar.nll_text({"test_nll": 98.811}) == "98.81"  # rows of older JSONs, saved without per-image NLLs


def test_k_sample_elbo_is_the_one_sample_elbo_on_the_repeated_batch() -> None:
    """The 2-layer VAE's k = 50 ELBO loss and the k = 1 loss on the batch repeated 50 times, same draws."""
    out = iwae.grad_check(layers=2, k=50, batch=4)
    assert out["loss_k"] == pytest.approx(out["loss_1_repeated"], rel=1e-6)
    assert out["max_abs_grad_diff"] < 1e-5 * max(out["max_abs_grad"], 1.0)


@pytest.mark.parametrize("script", ["iwae_table.py", "ar_table.py"])
def test_help_runs(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--seeds" in proc.stdout
