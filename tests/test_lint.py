"""The code base stays ruff-clean (the rules in pyproject.toml) under the pinned ruff, and the installed
tools satisfy the pins that CI relies on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import REPO

PYPROJECT = (REPO / "pyproject.toml").read_text()
# the environment's own ruff (the dev extra's) before any other on PATH
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def pinned(requirement: str) -> str:
    """The version after ``<requirement>==`` in pyproject.toml (the dev extra's pin)."""
    match = re.search(rf'"{re.escape(requirement)}==([^"]+)"', PYPROJECT)
    assert match, f"{requirement} is not pinned with == in pyproject.toml"
    return match.group(1)


@pytest.fixture(scope="module")
def ruff() -> str:
    """The ruff executable; without one, a skip off CI (its reason checked: none on PATH) and a failure in CI."""
    if RUFF is None:
        message = "ruff is not installed (it is in the dev extra: pip install -e .[dev])"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{message}; CI must run the lint checks", pytrace=False)
        pytest.skip(message)
    return RUFF


def test_ruff_is_the_pinned_version(ruff: str) -> None:
    out = subprocess.run([ruff, "--version"], capture_output=True, text=True, check=True).stdout.split()
    assert out[:1] == ["ruff"] and out[1] == pinned("ruff"), (out, pinned("ruff"))


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(ruff: str, command: list[str]) -> None:
    proc = subprocess.run([ruff, *command, "lightgen", "tests", "tools"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]


def test_torch_fidelity_is_new_enough() -> None:
    """torch-fidelity 0.3 has no precision/recall, and the fix of its precision/recall swap first shipped in
    0.4.0: the requirement says >= 0.4 and the installed version meets it."""
    assert re.search(r'"torch-fidelity>=0\.4"', PYPROJECT), "pyproject.toml must require torch-fidelity>=0.4"
    major, minor = (int(p) for p in version("torch-fidelity").split(".")[:2])
    assert (major, minor) >= (0, 4), version("torch-fidelity")
