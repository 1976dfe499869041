"""``lightgen report RUN_DIR [--out PAGE.html]``: one self-contained HTML page of a training run.

    lightgen report runs/dcgan/version_0                  # writes runs/dcgan/version_0/report.html
    lightgen report runs/dcgan --eval outputs/report.json --out dcgan.html
    lightgen evaluate --ckpt .../last.ckpt --metrics ll --out eval.json --html   # eval.html beside it

The page holds the resolved config, the training curves from the run's own logs (CSV, TensorBoard,
wandb offline), the sample grids over training, the model's pictures (VAE reconstructions and
manifold, DRAW canvas), the latest evaluation report with its protocol cards and the
nearest-neighbour picture. Pictures are embedded (base64 PNG), charts are inline SVG: the page needs
no network and no other file. Modules: :mod:`.artifacts` (what the run folder holds), :mod:`.curves`
and :mod:`.wandb_log` (reading the logs), :mod:`.svg` and :mod:`.render` (the page). Nothing here
imports torch or lightning.
"""

from __future__ import annotations

from pathlib import Path

from lightgen.errors import LightgenError
from lightgen.report.artifacts import collect_run, find_run_dir
from lightgen.report.curves import run_curves
from lightgen.report.render import render_page

__all__ = ["write_report"]


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    eval_reports: list[str | Path] | None = None,
    search_cwd: bool = True,
    require_run: bool = True,
) -> Path:
    """Write the page of the run in ``run_dir`` (a run folder, or a folder of ``version_N`` runs: the
    latest) to ``out`` (default ``<run>/report.html``); returns its path.

    ``eval_reports``: evaluation JSON files to show besides those found (the last one shown in full).
    ``require_run=False`` (``lightgen evaluate --html``) writes a page for a checkpoint that lives
    outside a run folder too.
    """
    try:
        run = find_run_dir(run_dir)
    except LightgenError:
        if require_run or not Path(run_dir).is_dir():
            raise
        run = Path(run_dir)
    art = collect_run(run, [Path(p) for p in eval_reports or []], search_cwd)
    page = render_page(art, run_curves(run))
    path = Path(out) if out is not None else run / "report.html"
    if path.is_dir():
        raise LightgenError(f"--out {str(out)!r} is a folder; give the HTML file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise LightgenError(f"cannot write the report page {str(path)!r}: {exc.strerror or exc}") from None
    return path
