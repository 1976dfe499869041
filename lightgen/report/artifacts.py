"""What a run folder holds, found by the names lightgen writes (see lightgen.lightning_cli and
lightgen.callbacks): ``config.yaml`` (LightningCLI's resolved config), ``samples/step_XXXXXXX.png``
(SampleGrid), ``pictures/<name>_step_XXXXXXX.png`` (VAEPictures, DRAWCanvas), ``checkpoints/``, the
loggers' files, and evaluation reports (``lightgen evaluate``'s JSON, with its ``*_nn.png``).

Evaluation reports are looked for in the run folder, in ``--eval`` files, and in ``./*.json`` and
``./outputs/*.json`` when their ``checkpoint`` lies in the run folder (``lightgen evaluate`` writes
``report.json`` in the working directory unless told otherwise).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightgen.errors import LightgenError

STEP_PNG = re.compile(r"(?:(?P<name>.+)_)?step_(?P<step>\d+)\.png")
RUN_MARKERS = ("config.yaml", "checkpoints", "samples", "pictures", "metrics.csv", "wandb", "hparams.yaml")
MAX_JSON_BYTES = 20 * 1024 * 1024


@dataclass
class Picture:
    name: str  # "samples", "reconstructions", "manifold", "nn", ...
    path: Path
    step: int | None = None


@dataclass
class EvalReport:
    path: Path
    data: dict[str, Any]


@dataclass
class RunArtifacts:
    run_dir: Path
    config_text: str | None = None
    samples: list[Picture] = field(default_factory=list)  # by step
    pictures: dict[str, Picture] = field(default_factory=dict)  # the latest of each kind
    reports: list[EvalReport] = field(default_factory=list)  # oldest first; the page shows the last
    checkpoints: list[Path] = field(default_factory=list)

    @property
    def latest_report(self) -> EvalReport | None:
        return self.reports[-1] if self.reports else None

    def nn_picture(self) -> Picture | None:
        """The nearest-neighbour PNG of the latest report (its ``png`` value, resolved as written, then
        beside the JSON), else one named ``*_nn.png`` in the run folder."""
        report = self.latest_report
        if report is not None:
            for entry in report.data.get("metrics") or []:
                png = (entry.get("values") or {}).get("png") if isinstance(entry, dict) else None
                if isinstance(png, str):
                    for candidate in (Path(png), report.path.parent / png, report.path.parent / Path(png).name):
                        if candidate.is_file():
                            return Picture("nn", candidate)
        found = sorted(self.run_dir.rglob("*_nn.png"), key=lambda p: p.stat().st_mtime)
        return Picture("nn", found[-1]) if found else None


def _is_run(folder: Path) -> bool:
    return any((folder / m).exists() for m in RUN_MARKERS)


def find_run_dir(path: str | Path) -> Path:
    """The run folder that ``path`` names: itself when it holds a run, else its latest ``version_N``
    (``runs/dcgan`` -> ``runs/dcgan/version_3``). A one-line :class:`LightgenError` otherwise."""
    folder = Path(path)
    if not folder.exists():
        raise LightgenError(f"run folder {str(path)!r} does not exist")
    if not folder.is_dir():
        raise LightgenError(f"{str(path)!r} is a file, not a run folder (runs/<name>/version_N)")
    if _is_run(folder):
        return folder
    versions = [p for p in folder.glob("version_*") if p.is_dir() and re.fullmatch(r"version_\d+", p.name)]
    versions = [p for p in versions if _is_run(p)]
    if versions:
        return max(versions, key=lambda p: int(p.name.split("_")[1]))
    raise LightgenError(
        f"{str(path)!r} holds no lightgen run (no config.yaml, checkpoints/, samples/ or logs, nor version_N "
        "folders); give a run folder such as runs/<name>/version_N"
    )


def run_dir_of_checkpoint(ckpt: str | Path) -> Path:
    """The run folder of a checkpoint (``<run>/checkpoints/last.ckpt`` -> ``<run>``), else its folder."""
    folder = Path(ckpt).parent
    for candidate in (folder, folder.parent):
        if (candidate / "config.yaml").is_file():
            return candidate
    return folder


def _step_pictures(folder: Path) -> list[Picture]:
    pictures = []
    for p in folder.glob("*.png") if folder.is_dir() else []:
        m = STEP_PNG.fullmatch(p.name)
        if m:
            pictures.append(Picture(m.group("name") or folder.name, p, int(m.group("step"))))
    return sorted(pictures, key=lambda pic: (pic.step, pic.path.name))


def read_eval_report(path: Path) -> dict[str, Any] | None:
    """The parsed JSON when ``path`` is a lightgen evaluation report (``metrics`` and ``protocol``), else None."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("metrics"), list) and "protocol" in data:
        return data
    return None


def checkpoint_in(path: str, folder: Path) -> bool:
    """Whether the file ``path`` lies in ``folder`` (both resolved)."""
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def find_reports(run_dir: Path, extra: list[Path], search_cwd: bool = True) -> list[EvalReport]:
    """Evaluation reports of the run, oldest first by modification time (``extra`` files always count,
    and an ``extra`` file that is not a report is a one-line error)."""
    found: dict[Path, EvalReport] = {}
    for path in extra:
        data = read_eval_report(Path(path))
        if data is None:
            raise LightgenError(f"{str(path)!r} is not a lightgen evaluation report (JSON from `lightgen evaluate`)")
        found[Path(path).resolve()] = EvalReport(Path(path), data)
    candidates = [p for p in run_dir.rglob("*.json") if "wandb" not in p.relative_to(run_dir).parts]
    if search_cwd:
        candidates += [*Path.cwd().glob("*.json"), *Path.cwd().glob("outputs/*.json")]
    for path in candidates:
        if path.resolve() in found:
            continue
        data = read_eval_report(path)
        in_run = path.resolve().is_relative_to(run_dir.resolve())
        if data is not None and (in_run or checkpoint_in(str(data.get("checkpoint", "")), run_dir)):
            found[path.resolve()] = EvalReport(path, data)
    return sorted(found.values(), key=lambda r: r.path.stat().st_mtime)


def collect_run(run_dir: Path, eval_reports: list[Path] | None = None, search_cwd: bool = True) -> RunArtifacts:
    """Everything the page shows that lies in files (the curves are read by lightgen.report.curves)."""
    config = run_dir / "config.yaml"
    art = RunArtifacts(run_dir, config.read_text(encoding="utf-8", errors="replace") if config.is_file() else None)
    art.samples = _step_pictures(run_dir / "samples")
    for pic in _step_pictures(run_dir / "pictures"):
        art.pictures[pic.name] = pic  # sorted by step: the latest of each name wins
    art.reports = find_reports(run_dir, list(eval_reports or []), search_cwd)
    art.checkpoints = sorted((run_dir / "checkpoints").glob("*.ckpt")) if (run_dir / "checkpoints").is_dir() else []
    return art
