"""The report page: one HTML string with everything inline (PNG data URIs, SVG charts, a <style>).

Every text that comes from a file (config, metric names, protocol values, paths) goes through
:func:`html.escape`; pictures are embedded as ``data:image/png;base64`` URIs, so the page opens from
any folder, offline, and can be mailed as one file.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from lightgen.report.artifacts import Picture, RunArtifacts, checkpoint_in
from lightgen.report.curves import CurveSet
from lightgen.report.svg import line_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_STRIP = 16  # sample grids shown over training (evenly picked, first and last always)
HEADLINE = re.compile(r"nll_nats|bits_per_dim|^fid|^cfid|^kid|^parzen|^ll_|^modes:modes_hit|^class_accuracy:accuracy")
PICTURE_TITLES = {
    "reconstructions": "Reconstructions (inputs above their reconstructions)",
    "manifold": "Learned manifold (decoder means over a grid of the 2-D latent)",
    "interpolations": "Interpolations between the codes of two validation images",
    "draw_canvas": "DRAW canvas, step by step",
}

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1220px;padding:16px;color:#222}
h1{font-size:1.5em;margin:.2em 0}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:1.6em}
nav{margin:10px 0}nav a{margin-right:1em}.muted{color:#666}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px}
.strip{display:flex;gap:10px;overflow-x:auto;padding-bottom:6px}figure{margin:0}
figcaption{font-size:.85em;color:#444;text-align:center}
img.grid{image-rendering:pixelated;border:1px solid #ccc;max-width:100%}
.charts{display:flex;flex-wrap:wrap;gap:8px}svg.chart{border:1px solid #eee;background:#fff}
table{border-collapse:collapse;margin:6px 0;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:.9em}
pre{background:#f7f7f7;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:.85em}
.key{display:flex;flex-wrap:wrap;gap:10px}.key div{border:1px solid #ddd;border-radius:6px;padding:6px 12px}
.key b{display:block;font-size:1.3em}
"""


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None when ``data`` is not a PNG."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def embed(path: Path, alt: str, width_scale: int = 2) -> str:
    """An ``<img>`` whose src is the PNG's bytes as a data URI (a note instead when it cannot be)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f'<p class="note">{escape(str(path))} could not be read ({escape(exc.strerror or str(exc))})</p>'
    size = png_size(data)
    if size is None:
        return f'<p class="note">{escape(str(path))} is not a PNG: not shown</p>'
    if len(data) > MAX_IMAGE_BYTES:
        return f'<p class="note">{escape(str(path))} is {len(data) >> 20} MiB: not embedded</p>'
    width = min(size[0] * width_scale, 1180)
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f'<img class="grid" src="{uri}" alt="{escape(alt)}" title="{escape(str(path))}" width="{width}">'


def pick_even(items: list[Any], most: int) -> list[Any]:
    if len(items) <= most:
        return items
    idx = sorted({round(i * (len(items) - 1) / (most - 1)) for i in range(most)})
    return [items[i] for i in idx]


def table(rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> str:
    head = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def value_html(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"<code>{escape(json.dumps(value, default=str))}</code>"
    return escape(str(value))


def flatten(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(flatten(value, name + ":"))
        else:
            out.append((name, value))
    return out


def model_and_data(config_text: str | None) -> tuple[str, str]:
    """The model's and datamodule's class paths from config.yaml (PyYAML, which jsonargparse brings)."""
    if not config_text:
        return "?", "?"
    try:
        import yaml

        config = yaml.safe_load(config_text) or {}
    except Exception:  # noqa: BLE001  (an unreadable config is still shown as text below)
        return "?", "?"

    def class_path(section: Any) -> str:
        return str(section.get("class_path", "?")) if isinstance(section, dict) else "?"

    return class_path(config.get("model")), class_path(config.get("data"))


# ------------------------------------------------------------------ sections
def samples_section(art: RunArtifacts) -> str:
    if not art.samples:
        return '<p class="muted">No sample grids in samples/ (the SampleGrid callback writes them).</p>'
    shown = pick_even(art.samples, MAX_STRIP)
    more = f" ({len(shown)} of {len(art.samples)}, evenly picked)" if len(shown) < len(art.samples) else ""
    figures = "".join(
        f'<figure class="sample">{embed(p.path, f"samples at step {p.step}")}'
        f"<figcaption>step {p.step}</figcaption></figure>"
        for p in shown
    )
    intro = f'<p class="muted">Fixed-seed sample grids, ordered by training step{more}.</p>'
    return f'{intro}<div class="strip">{figures}</div>'


def pictures_section(pictures: dict[str, Picture]) -> str:
    parts = []
    for name, pic in pictures.items():
        title = PICTURE_TITLES.get(name, name.replace("_", " "))
        parts.append(f"<h3>{escape(title)}</h3><p class='muted'>step {pic.step}</p>{embed(pic.path, title)}")
    return "".join(parts)


def key_numbers(rows: list[tuple[str, ...]]) -> str:
    picked = [r for r in rows if HEADLINE.search(r[0])][:8] or rows[:4]
    return '<div class="key">' + "".join(f"<div>{escape(r[0])}<b>{escape(r[1])}</b></div>" for r in picked) + "</div>"


def report_rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """The rows of ``lightgen evaluate``'s printed table, rebuilt from its JSON."""
    from lightgen.metrics.report import Entry, Report

    report = Report(str(data.get("checkpoint", "")), str(data.get("model", "")), data.get("protocol") or {})
    for m in data.get("metrics") or []:
        if isinstance(m, dict) and isinstance(m.get("values"), dict):
            report.entries.append(Entry(str(m.get("metric")), m["values"], m.get("protocol") or {}))
    return report.rows()


def evaluation_section(art: RunArtifacts) -> tuple[str, str]:
    """(the evaluation section, its key numbers for the top of the page)."""
    report = art.latest_report
    nn = art.nn_picture()
    if report is None:
        text = (
            '<p class="muted">No evaluation report found for this run (run <code>lightgen evaluate --ckpt '
            + escape(str(art.checkpoints[-1] if art.checkpoints else "CKPT"))
            + " --out REPORT.json</code>, then <code>lightgen report</code> with <code>--eval REPORT.json</code>).</p>"
        )
        if nn is not None:
            text += "<h3>Nearest neighbours</h3>" + embed(nn.path, "nearest neighbours")
        return text, ""
    data = report.data
    rows = report_rows(data)
    common = data.get("protocol") or {}
    older = [str(r.path) for r in art.reports[:-1]]
    parts = [
        f"<p>Report <code>{escape(str(report.path))}</code> for <b>{escape(str(data.get('model', '?')))}</b>, "
        f"checkpoint <code>{escape(str(data.get('checkpoint', '?')))}</code>.</p>",
        f"<p class='muted'>Older reports of this run: {escape(', '.join(older))}</p>" if older else "",
        ""
        if checkpoint_in(str(data.get("checkpoint", "")), art.run_dir)
        else '<p class="note">This report\'s checkpoint is not in this run folder.</p>',
        table([tuple(escape(c) for c in r) for r in rows], ("metric", "value", "generated", "real", "feature space")),
        "".join(f'<p class="note">warning: {escape(str(w))}</p>' for w in data.get("warnings") or []),
    ]
    if nn is not None:
        parts.append(
            "<h3>Nearest neighbours (memorisation check)</h3><p class='muted'>Each sample, then its nearest "
            f"training images.</p>{embed(nn.path, 'nearest neighbours')}"
        )
    parts.append("<h3>Protocol common to all metrics</h3>")
    parts.append(table([(escape(k), value_html(v)) for k, v in common.items()], ("field", "value")))
    for m in data.get("metrics") or []:
        if not isinstance(m, dict):
            continue
        card = m.get("protocol") or {}
        own = [(escape(k), value_html(v)) for k, v in card.items() if k not in common or common[k] != v]
        values = [(escape(k), value_html(v)) for k, v in flatten(m.get("values") or {})]
        parts.append(f"<h3>Protocol card: {escape(str(m.get('metric')))}</h3>")
        parts.append(table(values, ("value", "")) + table(own, ("protocol field (beyond the common ones)", "")))
    return "".join(parts), key_numbers(rows) if rows else ""


def curves_section(curve_sets: list[CurveSet]) -> str:
    if not curve_sets:
        return '<p class="muted">No logs in the run folder (metrics.csv, TensorBoard events or a wandb run).</p>'
    parts = []
    for cs in curve_sets:
        parts.append(f"<h3>{escape(cs.source)}</h3><p class='muted'><code>{escape(str(cs.path))}</code></p>")
        if cs.note:
            parts.append(f'<p class="note">{escape(cs.note)}</p>')
        if cs.series:
            parts.append('<div class="charts">' + "".join(line_chart(n, p) for n, p in cs.series.items()) + "</div>")
        elif not cs.note:
            parts.append('<p class="muted">No scalars logged yet.</p>')
    return "".join(parts)


def render_page(art: RunArtifacts, curve_sets: list[CurveSet]) -> str:
    model, data = model_and_data(art.config_text)
    evaluation, numbers = evaluation_section(art)
    last_step = art.samples[-1].step if art.samples else None
    sections = [
        ("samples", "Samples over training", samples_section(art)),
        ("pictures", "Model pictures", pictures_section(art.pictures)) if art.pictures else None,
        ("evaluation", "Evaluation", evaluation),
        ("curves", "Training curves", curves_section(curve_sets)),
        (
            "config",
            "Resolved config",
            f"<pre>{escape(art.config_text)}</pre>" if art.config_text else '<p class="muted">No config.yaml.</p>',
        ),
    ]
    sections = [s for s in sections if s]
    nav = "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title, _ in sections)
    facts = [
        ("run folder", f"<code>{escape(str(art.run_dir))}</code>"),
        ("model", f"<code>{escape(model)}</code>"),
        ("data", f"<code>{escape(data)}</code>"),
        ("last sample grid", f"step {last_step}" if last_step is not None else "-"),
        ("checkpoints", ", ".join(f"<code>{escape(p.name)}</code>" for p in art.checkpoints) or "-"),
    ]
    body = "".join(f'<section id="{sid}"><h2>{escape(title)}</h2>{html}</section>' for sid, title, html in sections)
    name = "/".join(art.run_dir.resolve().parts[-2:])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>lightgen report: {escape(name)}</title><style>{STYLE}</style></head><body>"
        f"<h1>lightgen run report: {escape(name)}</h1>"
        f"<p class='muted'>written {escape(datetime.now().strftime('%Y-%m-%d %H:%M'))} by lightgen report</p>"
        f"{table(facts)}{numbers}<nav>{nav}</nav>{body}</body></html>\n"
    )
