"""`lightgen report` and `lightgen evaluate --html`: one self-contained page of a run.

A real tiny run (VAE, CSV logger, a sample grid every step) and its `evaluate --html` page are built once
for the module; small fake run folders cover TensorBoard and wandb offline logs, thinning of long sample
strips and bad input. Every page is parsed: each <img> must be a PNG data URI that PIL decodes, and
nothing may point at the network.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import CONFIGS, REPO, make_mnist_tree
from PIL import Image

from lightgen.cli import main
from lightgen.metrics.report import Report


class Page(HTMLParser):
    """The <img> sources, links and <figcaption> texts of a page, and its visible text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.imgs: list[dict[str, str]] = []
        self.links: list[str] = []
        self.captions: list[str] = []
        self.text: list[str] = []
        self._in_caption = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.imgs.append(a)
        for key in ("src", "href", "data", "srcset", "poster"):
            if key in a:
                self.links.append(a[key])
        self._in_caption = tag == "figcaption"

    def handle_endtag(self, tag: str) -> None:
        self._in_caption = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_caption:
            self.captions.append(data.strip())

    def decoded(self) -> list[bytes]:
        """The bytes of every embedded image; fails on one that is not an embedded PNG."""
        out = []
        for img in self.imgs:
            src = img.get("src", "")
            assert src.startswith("data:image/png;base64,"), f"image not embedded: {src[:80]}"
            data = base64.b64decode(src.split(",", 1)[1], validate=True)
            with Image.open(io.BytesIO(data)) as im:
                assert im.format == "PNG"
                im.load()
            out.append(data)
        return out


def check_self_contained(html: str) -> Page:
    page = Page(html)
    assert not [u for u in page.links if u.lower().startswith(("http:", "https:", "//", "file:"))]
    assert "<script" not in html.lower() and "<link" not in html.lower()  # no external CSS/JS
    page.decoded()
    return page


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------ a real tiny run
@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A VAE trained four steps with a CSV logger and a grid every step, evaluated (ll, nn) with --html."""
    tmp = tmp_path_factory.mktemp("report_run")
    root = make_mnist_tree(tmp / "data", "MNIST")
    main([
        "fit", "--config", str(CONFIGS / "vae.yaml"),
        "--data.init_args.root", str(root), "--data.init_args.val_size", "64",
        "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
        "--trainer.max_steps", "4", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false",
        "--trainer.logger", "lightning.pytorch.loggers.CSVLogger",
        "--sample_grid.num_samples", "4", "--sample_grid.every_n_steps", "1",
        "--run_root", str(tmp / "runs"),
    ])  # fmt: skip
    run = tmp / "runs" / "vae" / "version_0"
    out = tmp / "eval" / "vae_eval.json"
    main([
        "evaluate", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--metrics", "ll,nn",
        "--ll-k", "2", "--ll-num", "8", "--nn-num", "8", "--batch-size", "8",
        "--data-root", str(root), "--device", "cpu", "--out", str(out), "--html",
    ])  # fmt: skip
    return {"run": run, "json": out, "tmp": tmp}


def test_evaluate_html_writes_a_self_contained_page_beside_the_json(real_run: dict[str, Path]) -> None:
    page_path = real_run["json"].with_suffix(".html")
    assert page_path.is_file()
    html = page_path.read_text(encoding="utf-8")
    page = check_self_contained(html)
    data = json.loads(real_run["json"].read_text())
    assert {m["metric"] for m in data["metrics"]} >= {"nn", "ll_elbo", "ll_is_estimate"}
    text = " ".join(page.text)
    for metric in data["metrics"]:  # every value and protocol card, as the JSON holds it
        assert f"Protocol card: {metric['metric']}" in text
    nll = next(m for m in data["metrics"] if m["metric"] == "ll_is_estimate")["values"]["nll_nats"]
    assert escape(str(nll)) in html
    assert any(img.get("alt") == "nearest neighbours" for img in page.imgs)


def test_report_of_a_real_run_embeds_samples_in_step_order_curves_config_and_metrics(
    real_run: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, out = real_run["run"], tmp_path / "page.html"
    main(["report", str(run), "--eval", str(real_run["json"]), "--out", str(out)])
    assert str(out) in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    page = check_self_contained(html)
    images = page.decoded()

    grids = sorted(run.glob("samples/step_*.png"), key=lambda p: int(p.stem.split("_")[1]))
    assert len(grids) >= 2
    steps = [int(c.split()[1]) for c in page.captions if c.startswith("step ")]
    assert steps == sorted(steps) and steps == [int(p.stem.split("_")[1]) for p in grids]
    assert images[: len(grids)] == [p.read_bytes() for p in grids]  # the strip: the grids, in step order

    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    curves = [c for c in header if "loss" in c or c.startswith("train/")]
    assert curves and all(f'aria-label="{escape(c)}"' in html for c in curves)
    assert escape((run / "config.yaml").read_text()) in html  # the resolved config, escaped
    assert "Reconstructions" in html  # a VAE's pictures
    assert "not in this run folder" not in html
    data = json.loads(real_run["json"].read_text())
    report = Report(data["checkpoint"], data["model"], data["protocol"])
    for m in data["metrics"]:
        report.add(m["metric"], m["values"])
    for name, value, *_ in report.rows():  # the printed table's rows, values formatted the same way
        assert escape(name) in html and escape(value) in html


def test_report_defaults_to_the_run_folder_and_finds_reports_there(real_run: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "runs" / "vae" / "version_3"
    shutil.copytree(real_run["run"], run)
    shutil.copy(real_run["json"], run / "eval.json")
    main(["report", str(run.parent)])  # a folder of version_N runs: the latest
    html = (run / "report.html").read_text(encoding="utf-8")
    check_self_contained(html)
    assert "Protocol card: ll_is_estimate" in html
    assert "checkpoint is not in this run folder" in html  # the copied report names the original run


# ------------------------------------------------------------------ fake run folders
def png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def fake_run(folder: Path, steps: list[int]) -> Path:
    (folder / "config.yaml").parent.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text("model:\n  class_path: lightgen.models.VAE\n  init_args: {note: '<b>&'}\n")
    for i, step in enumerate(steps):
        png(folder / "samples" / f"step_{step:07d}.png", (i * 10 % 256, 0, 0))
    return folder


def test_strip_is_thinned_evenly_and_keeps_first_and_last(tmp_path: Path) -> None:
    from lightgen.report import write_report

    steps = [s * 50 for s in range(40)]
    run = fake_run(tmp_path / "run", steps)
    page = check_self_contained(write_report(run).read_text(encoding="utf-8"))
    shown = [int(c.split()[1]) for c in page.captions if c.startswith("step ")]
    assert 2 < len(shown) <= 16 and shown[0] == steps[0] and shown[-1] == steps[-1] and shown == sorted(shown)
    assert "&lt;b&gt;&amp;" in (run / "report.html").read_text()  # config text escaped


def test_curves_from_tensorboard_events(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    from lightgen.report import write_report

    run = fake_run(tmp_path / "run", [1, 2])
    writer = SummaryWriter(str(run))
    for step in range(5):
        writer.add_scalar("train/loss", 10.0 - step, step)
    writer.close()
    html = write_report(run).read_text(encoding="utf-8")
    assert 'aria-label="train/loss"' in html and "last 6 at step 4" in html


def test_curves_from_a_wandb_offline_run_or_a_note_to_sync(tmp_path: Path) -> None:
    wandb = pytest.importorskip("wandb")
    from lightgen.report import write_report

    run = fake_run(tmp_path / "run", [1])
    if wandb.run is not None:  # an earlier test's WandbLogger run is still open in this process (Lightning
        wandb.finish()  # leaves it open after fit); wandb.init would hand that run back
    wb = wandb.init(mode="offline", dir=str(run), project="lightgen-test", settings=wandb.Settings(silent=True))
    for step in range(4):
        wb.log({"train/loss": 5.0 - step, "trainer/global_step": step})
    wb.finish()
    assert list(run.rglob("*.wandb"))
    html = write_report(run).read_text(encoding="utf-8")
    assert 'aria-label="train/loss"' in html and "last 2 at step 3" in html

    broken = fake_run(tmp_path / "broken", [1])
    (broken / "wandb" / "offline-run-x").mkdir(parents=True)
    (broken / "wandb" / "offline-run-x" / "run-x.wandb").write_bytes(b"not a wandb log")
    html = write_report(broken).read_text(encoding="utf-8")
    assert "wandb sync" in html and "could not be read" in html


def test_report_is_light_to_start(tmp_path: Path) -> None:
    """`lightgen report` imports neither torch nor lightning nor wandb for a CSV run."""
    run = fake_run(tmp_path / "run", [1, 2])
    (run / "metrics.csv").write_text("epoch,step,train/loss\n0,0,3.0\n0,1,2.0\n")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lightgen.cli", "report", str(run)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {ln.rsplit("|", 1)[1].strip().split(".")[0] for ln in proc.stderr.splitlines() if "import time:" in ln}
    assert not imported & {"torch", "lightning", "wandb", "tensorboard", "numpy"}


def test_bad_run_dir_gives_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no_such_run"
    assert str(missing) in one_line_error(capsys, "report", str(missing))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert str(empty) in one_line_error(capsys, "report", str(empty))
    run = fake_run(tmp_path / "run", [1])
    not_report = tmp_path / "other.json"
    not_report.write_text('{"a": 1}')
    assert str(not_report) in one_line_error(capsys, "report", str(run), "--eval", str(not_report))


# ------------------------------------------------------------------ a browser renders it
def test_check_report_screenshots_the_page_in_headless_chromium(real_run: dict[str, Path], tmp_path: Path) -> None:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("chromium not installed")
    page = real_run["json"].with_suffix(".html")
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        ["bash", str(REPO / "tools" / "check_report.sh"), str(page), str(shot)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    with Image.open(shot) as im:
        assert im.size == (1280, 2000)
        grey = im.convert("L")
        low, high = grey.getextrema()
        assert high - low > 100 and len(grey.getcolors(256 * 256) or range(999)) > 16  # not blank
