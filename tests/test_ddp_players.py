"""PlayerDDPStrategy: each step all-reduces only the player it updates (two gloo processes on the CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lightgen.errors import LightgenError
from lightgen.strategies import PlayerDDPStrategy

SCRIPT = Path(__file__).parent / "scripts" / "ddp_two_players.py"


@pytest.mark.slow
def test_each_step_communicates_only_the_trained_players_gradients(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), "ddp_players", "2", "6", "32"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for rank in ranks:
        counts, sizes = rank["counts"], rank["sizes"]
        assert (rank["d_steps_done"], rank["g_steps_done"]) == (6, 3)
        assert counts["module"] == 0  # the LightningModule itself is not wrapped
        # one all-reduce of D's gradients per D step, of G's per G step; nothing of the idle player
        assert counts["discriminator_elements"] == 6 * sizes["discriminator"]
        assert counts["generator_elements"] == 3 * sizes["generator"]
    assert ranks[0]["state"] == ranks[1]["state"]  # the ranks stay identical


def test_unused_parameter_detection_is_refused_as_pointless() -> None:
    with pytest.raises(LightgenError, match="no parameter is unused"):
        PlayerDDPStrategy(find_unused_parameters=True)
