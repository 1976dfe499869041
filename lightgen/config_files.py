"""The shipped configs: found through :mod:`importlib.resources`, so a checkout and an installed wheel agree.

The one copy of the configs is the top-level ``configs/`` folder; ``lightgen/configs`` is a symlink to it,
which setuptools ships as the package data ``lightgen/configs/*.yaml`` (pyproject.toml). So
``files("lightgen") / "configs"`` is the checkout's ``configs/`` in a checkout or an editable install and
the wheel's copy in an installed package.

``lightgen fit --config NAME`` takes a file when one of that name exists (a local file always wins), else
the shipped config ``NAME`` (``dcgan``, ``dcgan.yaml`` or ``configs/dcgan.yaml``), and says which file it
took. Imports only the standard library: ``lightgen configs`` answers without torch or lightning.
"""

from __future__ import annotations

import os
import re
import sys
from importlib.resources import files
from pathlib import Path

from lightgen.errors import LightgenError

BASE_ENV = "LIGHTGEN_BASE_CONFIG"  # another base config file ("" or a missing file: none)
BASE_NAME = "base"
CONFIG_FLAGS = ("--config", "-c")  # LightningCLI's config-file options
# a value that names a file rather than holding YAML text (jsonargparse takes both after --config)
_NAME_LIKE = re.compile(r"[\w.\-/\\~]+")


def shipped_dir() -> Path:
    """The folder of the shipped configs (the checkout's ``configs/``, or the installed package's)."""
    return Path(str(files("lightgen") / "configs")).resolve()


def shipped_configs() -> dict[str, Path]:
    """The shipped experiment configs by name (``dcgan`` -> its file), sorted; ``base`` is not one."""
    folder = shipped_dir()
    paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return {p.stem: p for p in paths if p.stem != BASE_NAME}


def description(path: Path) -> str:
    """The first comment line of a YAML file, without its ``#`` ("" when the file starts otherwise)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text:
            return text.lstrip("#").strip() if text.startswith("#") else ""
    return ""


def base_config_path() -> Path | None:
    """``base.yaml``, read before every config: ``$LIGHTGEN_BASE_CONFIG`` if set, else the shipped one."""
    value = os.environ.get(BASE_ENV)
    path = Path(value).expanduser() if value is not None else shipped_dir() / f"{BASE_NAME}.yaml"
    return path if value != "" and path.is_file() else None


def resolve_config(value: str) -> tuple[str, Path | None]:
    """The file that ``--config value`` means: ``(value, None)`` when it is a file here (or YAML text),
    else ``(path, path)`` of the shipped config of that name. An unknown name is a one-line LightgenError."""
    if not _NAME_LIKE.fullmatch(value):
        return value, None
    if Path(value).expanduser().is_file():
        check_config_file(Path(value).expanduser())
        return value, None
    if Path(value).expanduser().is_dir():
        raise LightgenError(f"config {value!r} is a folder; expected a YAML file (or a shipped config name)")
    name = Path(value).name
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix in (".yaml", ".yml") else name
    parent = Path(value).parent
    shipped = shipped_configs()
    if stem in shipped and (parent == Path(".") or parent.name == "configs"):
        return str(shipped[stem]), shipped[stem]
    raise LightgenError(
        f"config {value!r} is neither a file here nor a shipped config; shipped configs: {', '.join(shipped)} "
        "(`lightgen configs` describes them)"
    )


def check_config_file(path: Path) -> None:
    """A one-line LightgenError naming ``path`` unless it is readable YAML holding a mapping:
    jsonargparse's own messages for these name neither the file nor the line."""
    import yaml  # jsonargparse's YAML library; imported here to keep `lightgen configs` light

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise LightgenError(f"config {path} cannot be read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise LightgenError(f"config {path} is not a text file; expected a YAML file") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise LightgenError(f"config {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        raise LightgenError(f"config {path} is empty; expected a mapping of options (trainer:, model:, data:, ...)")
    if not isinstance(data, dict):
        raise LightgenError(
            f"config {path} holds a YAML {type(data).__name__}; expected a mapping of options "
            "(trainer:, model:, data:, ...)"
        )


def resolve_config_args(argv: list[str]) -> list[str]:
    """``argv`` with each ``--config NAME`` / ``--config=NAME`` / ``-c NAME`` resolved (see
    :func:`resolve_config`); prints one line to stderr for each name that became a shipped file."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, sep, value = arg.partition("=")
        if flag in CONFIG_FLAGS and (sep or i + 1 < len(argv)):
            if not sep:
                value, i = argv[i + 1], i + 1
            resolved, shipped = resolve_config(value)
            if shipped is not None:
                print(f"lightgen: config {value} -> {shipped}", file=sys.stderr)
            out.extend([f"{flag}={resolved}"] if sep else [flag, resolved])
        else:
            out.append(arg)
        i += 1
    return out


def configs_listing() -> str:
    """What ``lightgen configs`` prints: each shipped config with its one-line description."""
    shipped = shipped_configs()
    width = max((len(n) for n in shipped), default=0)
    lines = ["shipped configs (`lightgen fit --config NAME`; a file of that name in the working directory wins):"]
    lines += [f"  {name:<{width}}  {description(path)}" for name, path in shipped.items()]
    base = base_config_path()
    lines.append(f"read before each: {base if base is not None else '(no base config)'}")
    lines.append(f"folder: {shipped_dir()}")
    return "\n".join(lines)
