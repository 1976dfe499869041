"""Configs travel with the package: shipped as ``lightgen/configs`` (a symlink to ``configs/`` in the
checkout), found through importlib.resources, taken by name (``--config dcgan``), listed by ``lightgen
configs``; and a wheel installed into a fresh environment outside the checkout trains from one by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import CONFIGS, REPO, make_mnist_tree

from lightgen.cli import base_config_files
from lightgen.config_files import description, resolve_config, resolve_config_args, shipped_configs, shipped_dir
from lightgen.errors import LightgenError

HEAVY = ("torch", "lightning", "wandb", "torchmetrics")


def test_the_shipped_configs_are_the_checkouts_configs() -> None:
    assert shipped_dir() == CONFIGS.resolve()
    names = {p.stem for p in CONFIGS.glob("*.yaml")} - {"base"}
    assert set(shipped_configs()) == names and {"dcgan", "gan_mlp", "vae"} <= names
    assert base_config_files() == [str(CONFIGS.resolve() / "base.yaml")]
    assert description(CONFIGS / "dcgan.yaml").startswith("DCGAN (Radford et al. 2015) on MNIST")


def test_a_name_resolves_to_the_shipped_config_and_a_local_file_wins(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    shipped = str(CONFIGS.resolve() / "dcgan.yaml")
    for value in ("dcgan", "dcgan.yaml", "configs/dcgan.yaml"):
        assert resolve_config(value) == (shipped, Path(shipped)), value
    assert resolve_config_args(["fit", "--config", "dcgan", "--trainer.max_steps", "2"]) == [
        "fit", "--config", shipped, "--trainer.max_steps", "2",
    ]  # fmt: skip
    assert resolve_config_args(["fit", "--config=gan_mlp"]) == ["fit", f"--config={CONFIGS.resolve() / 'gan_mlp.yaml'}"]
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"lightgen: config dcgan -> {shipped}",
        f"lightgen: config gan_mlp -> {CONFIGS.resolve()}/gan_mlp.yaml",
    ]
    # a file of that name in the working directory wins, silently
    (tmp_path / "dcgan.yaml").write_text("trainer: {max_steps: 1}\n")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "dcgan.yaml").write_text("trainer: {max_steps: 1}\n")
    for value in ("dcgan.yaml", "configs/dcgan.yaml"):
        assert resolve_config(value) == (value, None)
    assert resolve_config_args(["fit", "-c", "dcgan.yaml"]) == ["fit", "-c", "dcgan.yaml"]
    assert capsys.readouterr().err == ""
    # YAML text after --config is jsonargparse's business
    assert resolve_config("{trainer: {max_steps: 1}}") == ("{trainer: {max_steps: 1}}", None)


@pytest.mark.parametrize("value", ["dcgan_typo", "nowhere/dcgan.yaml", "gan_mlp.yml.bak"])
def test_an_unknown_config_is_one_line_listing_the_names(value: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LightgenError) as info:
        resolve_config(value)
    text = str(info.value)
    assert "\n" not in text and repr(value) in text and "dcgan, dcgan_imagenet" in text


def lightgen_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = (
        "import sys; from lightgen.cli import main\n"
        "try:\n    main(sys.argv[1:])\nfinally:\n"
        f"    print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


def test_lightgen_configs_lists_names_and_descriptions_without_the_heavy_stack(tmp_path: Path) -> None:
    proc = lightgen_cli("configs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr
    lines = proc.stdout.splitlines()
    dcgan = next(line for line in lines if line.split()[:1] == ["dcgan"])
    assert "DCGAN (Radford et al. 2015) on MNIST at 32x32" in dcgan
    assert all(any(line.split()[:1] == [name] for line in lines) for name in shipped_configs())
    assert f"read before each: {CONFIGS.resolve() / 'base.yaml'}" in lines


def test_an_unknown_config_name_stops_before_lightning(tmp_path: Path) -> None:
    proc = lightgen_cli("fit", "--config", "dcgna", cwd=tmp_path)
    assert proc.returncode == 1
    message = [line for line in proc.stderr.splitlines() if line.startswith("lightgen: error:")]
    assert len(message) == 1 and "'dcgna'" in message[0] and "gan_mlp" in message[0], proc.stderr
    assert "HEAVY []" in proc.stderr


def build_wheel(out: Path) -> tuple[Path, str]:
    """A wheel of a copy of the checkout (so the build leaves nothing in it), and the build's output."""
    src = out / "src"
    shutil.copytree(REPO / "lightgen", src / "lightgen", symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "configs", src / "configs")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    assert (src / "lightgen" / "configs").is_symlink()
    # the build backend of this environment (setuptools, as pyproject.toml asks): no index needed
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-v", "-w", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("lightgen-*.whl")
    return wheel, proc.stdout + proc.stderr


@pytest.mark.slow
def test_an_installed_wheel_trains_from_a_shipped_config_by_name(tmp_path: Path) -> None:
    wheel, build_output = build_wheel(tmp_path / "wheel")
    # our packaging prints no deprecation banner (setuptools warns about outdated pyproject.toml fields)
    assert "deprecat" not in build_output.lower(), [ln for ln in build_output.splitlines() if "eprecat" in ln]
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {f"lightgen/configs/{p.name}" for p in CONFIGS.glob("*.yaml")}
    assert shipped <= set(names) and "lightgen/configs/base.yaml" in names
    assert not [n for n in names if n.startswith("configs/")]  # no top-level `configs` in site-packages

    # a fresh environment outside the checkout; torch, lightning... come from this one's site-packages by a
    # .pth line (a plain path: the editable install's own .pth files there are not processed)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)]
    proc = subprocess.run(install, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0 and "deprecat" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr
    # after the install, so that pip never sees (nor touches) the editable lightgen of this environment
    Path(site, "parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "work"
    make_mnist_tree(work / "data", n_train=96, n_test=32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIGHTGEN_", "PYTHONPATH"))}
    env.update(CUDA_VISIBLE_DEVICES="", WANDB_MODE="offline", WANDB_SILENT="true")
    where = subprocess.run(
        [str(python), "-c", "import lightgen; print(lightgen.__file__)"],
        capture_output=True, text=True, cwd=work, env=env, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(Path(site)) and not Path(where).resolve().is_relative_to(REPO), where

    args = [
        str(venv / "bin" / "lightgen"), "fit", "--config", "gan_mlp",
        "--data.init_args.root", "data", "--data.init_args.val_size", "32", "--trainer.logger", "false",
        "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "1",
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, cwd=work, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    config = Path(site) / "lightgen" / "configs" / "gan_mlp.yaml"
    assert f"lightgen: config gan_mlp -> {config}" in proc.stderr.splitlines()
    run = work / "runs" / "gan_mlp" / "version_0"
    assert (run / "checkpoints" / "last.ckpt").is_file()
    saved = (run / "config.yaml").read_text()
    # the installed base.yaml was read: its log_every_n_steps (10; Lightning's default is 50) and sample grids
    assert "log_every_n_steps: 10" in saved and "every_n_steps: 500" in saved
