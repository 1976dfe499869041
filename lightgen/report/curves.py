"""Training curves from a run's own logs: Lightning's CSV logger, TensorBoard events, wandb offline.

Each reader returns a :class:`CurveSet` (the source file, ``{name: [(step, value), ...]}`` sorted by
step, and a note when the source could not be read), so the page can say where every curve came from
and why one is missing. TensorBoard and wandb are imported only when the run holds their files.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

Series = dict[str, list[tuple[float, float]]]

# bookkeeping columns that the loggers write beside the scalars: the x-axis, counters, hparams
NOT_CURVES = frozenset({"epoch", "step", "trainer/global_step", "generator_steps", "hp_metric"})


@dataclass
class CurveSet:
    source: str  # "metrics.csv", "TensorBoard events", "wandb offline run"
    path: Path
    series: Series = field(default_factory=dict)
    note: str = ""  # why nothing (or not everything) could be read


def _clean(series: Series) -> Series:
    out = {}
    for name, points in series.items():
        kept = sorted((s, v) for s, v in points if math.isfinite(v))
        if name not in NOT_CURVES and kept:
            out[name] = kept
    return dict(sorted(out.items(), key=lambda kv: ("loss" not in kv[0].lower(), kv[0])))


def read_csv(path: Path) -> CurveSet:
    """Lightning's CSVLogger ``metrics.csv``: one column per scalar, a ``step`` column, blanks where a
    row did not log that scalar."""
    series: Series = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                step = float(row.get("step") or "nan")
            except ValueError:
                continue
            for name, text in row.items():
                if not name or not text or math.isnan(step):
                    continue
                try:
                    series.setdefault(name, []).append((step, float(text)))
                except ValueError:
                    continue
    return CurveSet("metrics.csv (CSV logger)", path, _clean(series))


def read_tensorboard(folder: Path) -> CurveSet:
    """The scalars of the TensorBoard event files in ``folder`` (tensorboard's EventAccumulator)."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return CurveSet("TensorBoard events", folder, note="tensorboard is not installed: curves skipped")
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})  # 0: keep every point
    try:
        acc.Reload()
    except Exception as exc:  # noqa: BLE001  (a truncated or foreign event file)
        return CurveSet("TensorBoard events", folder, note=f"the event files could not be read ({exc})")
    series = {tag: [(float(e.step), float(e.value)) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    return CurveSet("TensorBoard events", folder, _clean(series))


def read_wandb(path: Path) -> CurveSet:
    """The scalars of a wandb offline run's ``.wandb`` file (see :mod:`lightgen.report.wandb_log`)."""
    from lightgen.report.wandb_log import WandbLogUnreadable, read_wandb_history

    try:
        series = read_wandb_history(path)
    except (WandbLogUnreadable, OSError) as exc:
        note = f"this wandb offline log could not be read here ({exc}); view it with `wandb sync {path.parent}`"
        return CurveSet("wandb offline run", path, note=note)
    return CurveSet("wandb offline run", path, _clean(series))


def run_curves(run_dir: Path) -> list[CurveSet]:
    """Every curve source of the run folder: metrics.csv files, folders of event files, .wandb files."""
    sets = [read_csv(p) for p in sorted(run_dir.rglob("metrics.csv"))]
    event_dirs = sorted({p.parent for p in run_dir.rglob("events.out.tfevents.*")})
    sets += [read_tensorboard(d) for d in event_dirs]
    sets += [read_wandb(p) for p in sorted(run_dir.rglob("*.wandb"), key=lambda p: p.stat().st_mtime)]
    return sets
