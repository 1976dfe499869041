"""The evaluation report: a protocol card per metric, a printed table, a JSON file.

A number without its protocol cannot be reproduced or compared: FID is biased in N, depends on the
real split, the feature extractor's weights and the resize rule (Heusel et al. 2017; Kynkäänniemi et
al. 2019; "On Aliased Resizing and Surprising Subtleties in GAN Evaluation", Parmar et al. 2022).
So every entry of the report carries a card: metric, generated and real counts, real split, feature
extractor and the sha256 of its weights, resize rule, seeds, software versions and checkpoint step.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def software_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("lightgen", "torch", "torchvision", "lightning", "torch-fidelity", "numpy", "scipy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


@dataclass
class Entry:
    """One metric's values and its protocol card."""

    metric: str
    values: dict[str, Any]
    card: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "values": self.values, "protocol": self.card}


@dataclass
class Report:
    checkpoint: str
    model: str
    common: dict[str, Any]
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, metric: str, values: dict[str, Any], **card: Any) -> Entry:
        entry = Entry(metric, values, {"metric": metric, **self.common, **card})
        self.entries.append(entry)
        return entry

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "model": self.model,
            "protocol": self.common,
            "metrics": [e.as_dict() for e in self.entries],
            "warnings": self.warnings,
        }

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, default=_jsonable) + "\n")
        return path

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(metric, value, n generated, n real, feature space) for the printed table.

        Nested results (the memorisation check's ``pixels`` / ``features``) give one row per number,
        with their own feature space; standard errors and stds are printed beside their value.
        """
        rows = []
        for e in self.entries:
            space = str(e.card.get("feature_extractor", "-"))
            rows.extend(_value_rows(e.metric, e.values, e.card, space))
        return rows

    def print_table(self, console: Any = None) -> None:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:  # rich is a dependency, but a plain table is enough without it
            for row in self.rows():
                print("  ".join(row))
            return
        table = Table(title=f"lightgen evaluate: {self.model} ({self.checkpoint})")
        for col in ("metric", "value", "generated", "real", "feature space"):
            table.add_column(col)
        for row in self.rows():
            table.add_row(*row)
        console = console or Console(width=max(160, Console().width))
        console.print(table)
        for w in self.warnings:
            console.print(f"[yellow]warning:[/yellow] {w}")


def _value_rows(metric: str, values: dict[str, Any], card: dict[str, Any], space: str) -> list[tuple[str, ...]]:
    n_gen, n_real = str(card.get("num_generated") or "-"), str(card.get("num_real") or "-")
    rows: list[tuple[str, ...]] = []
    for key, value in values.items():
        name = f"{metric}:{key}" if key != metric else metric
        if isinstance(value, dict):
            sub_space = str(value.get("feature_space", "pixels" if key == "pixels" else space))
            rows.extend(_value_rows(name, value, card, sub_space))
            continue
        if (
            key.endswith(("_se", "_std", "_threshold"))
            or isinstance(value, str)
            or key.startswith("num_")
            or key == "n"
        ):
            continue  # printed beside their value / in the JSON only
        if isinstance(value, list):
            if not all(isinstance(v, int) for v in value):
                continue
            text = " ".join(str(v) for v in value)  # a histogram, e.g. per-class counts
        else:
            err = values.get(f"{key}_se", values.get(f"{key}_std"))
            text = _fmt(value) + (f" ± {_fmt(err)}" if isinstance(err, (int, float)) else "")
        rows.append((name, text, n_gen, n_real, space))
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.4e}"
    return str(v)


def _jsonable(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
    except ImportError:
        pass
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)
