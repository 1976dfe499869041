"""The ``lightgen`` command: a LightningCLI (subclass mode) plus ``sample`` and ``data prepare``.

    lightgen fit --config configs/dcgan.yaml          train (also validate / test / predict)
    lightgen fit --model=DCGAN --data=MNIST           short names of every imported model/datamodule
    lightgen sample --ckpt last.ckpt --num 64 --out grid.png [--seed 0] [--label 3 | --class-grid]
    lightgen data prepare mnist|fashion-mnist|mnist-classifier|inception [--root data]
    lightgen evaluate --ckpt last.ckpt --metrics fid,kid,cfid,modes,nn --out report.json

Each ``fit`` gets its own versioned run folder, ``<run_root>/<run_name>/version_N``, holding
``config.yaml``, ``checkpoints/`` (``last.ckpt`` always), ``samples/`` and the logger's files, so
nothing from an earlier run is overwritten; ``validate``/``test``/``predict`` get ``test_N`` etc.
The data shape is linked from the datamodule into the model (``data.data_shape ->
model.init_args.data_shape``), so networks fit the data.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from jsonargparse import lazy_instance
from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar
from lightning.pytorch.cli import LightningCLI

import lightgen.data  # noqa: F401  (imports register the datamodules' short names)
import lightgen.models  # noqa: F401  (imports register the models' short names)
from lightgen import __version__
from lightgen.callbacks import RunCheckpoint, SampleGrid
from lightgen.checkpoint import AtomicCheckpointIO, load_model
from lightgen.errors import LightgenError
from lightgen.models.base import GenerativeModel

DDP_STRATEGY_NAMES = ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")

EXTRA_COMMANDS = {
    "sample": "write a grid of samples from a checkpoint",
    "data": "prepare datasets (`lightgen data prepare mnist`)",
    "evaluate": "metrics of a checkpoint (FID, KID, P/R, NLL, memorisation...) with a JSON report",
}


def wandb_key_available() -> bool:
    """True when wandb can log online: an API key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def next_version_dir(parent: Path, kind: str = "version") -> Path:
    """``parent/<kind>_N`` with N one above the highest existing one (kind: version, test, ...)."""
    taken = [int(m.group(1)) for p in parent.glob(f"{kind}_*") if (m := re.fullmatch(rf"{kind}_(\d+)", p.name))]
    return parent / f"{kind}_{max(taken, default=-1) + 1}"


def launcher_run_id() -> str | None:
    """A folder name shared by all tasks that a cluster launcher started for one run, if any."""
    if os.environ.get("SLURM_JOB_ID") and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return f"slurm_{os.environ['SLURM_JOB_ID']}_{os.environ.get('SLURM_STEP_ID', '0')}"
    if os.environ.get("TORCHELASTIC_RUN_ID", "none") != "none":  # torchrun --rdzv-id
        return f"torchrun_{os.environ['TORCHELASTIC_RUN_ID']}"
    return None


def _short_names(base: type) -> str:
    names = set()
    stack = list(base.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("lightgen.") and not cls.__name__.startswith("Generative"):
            names.add(cls.__name__)
    return ", ".join(sorted(names))


class LightgenCLI(LightningCLI):
    """LightningCLI with lightgen's run folders, links and default callbacks."""

    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.add_argument("--run_root", type=str, default="runs", help="folder under which runs are written")
        parser.add_argument("--run_name", type=str | None, default=None, help="run name (default: config file name)")
        parser.link_arguments("data.data_shape", "model.init_args.data_shape", apply_on="instantiate")
        parser.add_lightning_class_args(RunCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_top_k": 0})
        parser.add_lightning_class_args(SampleGrid, "sample_grid")

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if self.subcommand:
            run_dir = self._run_dir(config, "version" if self.subcommand == "fit" else self.subcommand)
            config.trainer.default_root_dir = str(run_dir)
            if not config.checkpoint.dirpath:
                config.checkpoint.dirpath = str(run_dir / "checkpoints")
            self._point_loggers_at(config, run_dir)
            self._ddp_for_gans(config)
        if not wandb_key_available() and not os.environ.get("WANDB_MODE"):
            os.environ["WANDB_MODE"] = "offline"
            if self._uses_wandb(config):
                print("lightgen: no wandb API key found; wandb runs offline (sync later with `wandb sync`)")

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        """The trainer, with a Rich progress bar unless bars are off or another bar was chosen."""
        trainer_config = self._get(self.config_init, "trainer", default={})
        callbacks = list(kwargs.get("callbacks", trainer_config.get("callbacks") or []))
        wants_bar = trainer_config.get("enable_progress_bar") is not False
        if wants_bar and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            kwargs["callbacks"] = [*callbacks, RichProgressBar()]
        return super().instantiate_trainer(**kwargs)

    def _run_dir(self, config: Any, kind: str) -> Path:
        name = config.get("run_name")
        if not name:
            paths = [p for p in (config.get("config") or []) if p is not None]
            name = Path(str(paths[-1])).stem if paths else str(config.model.class_path).rsplit(".", 1)[-1].lower()
        parent = Path(config.run_root) / name
        launched = launcher_run_id()
        if launched:  # every task of a SLURM step / torchrun job runs this CLI: one folder for all
            run_dir = parent / launched
        elif int(os.environ.get("LOCAL_RANK", 0)) or int(os.environ.get("NODE_RANK", 0)):
            # processes started by Lightning's own DDP launcher inherit rank 0's folder
            return Path(os.environ.get("LIGHTGEN_RUN_DIR", next_version_dir(parent, kind)))
        else:
            run_dir = next_version_dir(parent, kind)
        run_dir.mkdir(parents=True, exist_ok=True)
        os.environ["LIGHTGEN_RUN_DIR"] = str(run_dir)
        return run_dir

    @staticmethod
    def _ddp_for_gans(config: Any) -> None:
        """A GAN's players alternate, so under DDP each step leaves the other's parameters unused: map
        Lightning's `ddp*` strategy names to their public `*_find_unused_parameters_true` twins, and
        refuse an explicit `find_unused_parameters: false` with a one-line error."""
        from lightgen.checkpoint import resolve_model_class
        from lightgen.models.gan import GAN

        try:
            is_gan = issubclass(resolve_model_class(str(config.model.class_path)), GAN)
        except Exception:  # noqa: BLE001  (an unknown class is reported by LightningCLI itself)
            return
        strategy = config.trainer.get("strategy")
        if not is_gan or strategy is None:
            return
        if isinstance(strategy, str):
            if strategy in DDP_STRATEGY_NAMES:
                config.trainer.strategy = f"{strategy}_find_unused_parameters_true"
                print(f"lightgen: GAN under DDP: strategy {strategy!r} -> {config.trainer.strategy!r}")
            return
        if hasattr(strategy, "get") and "DDPStrategy" in str(strategy.get("class_path", "")):
            args = strategy.get("init_args") or {}
            if "find_unused_parameters" in args and args["find_unused_parameters"] is False:
                raise LightgenError(
                    "a GAN under DDP needs find_unused_parameters: true (its players alternate); "
                    "the config sets it to false"
                )

    @staticmethod
    def _logger_configs(config: Any) -> list[Any]:
        logger = config.trainer.get("logger")
        if logger is None or isinstance(logger, bool):
            return []
        return list(logger) if isinstance(logger, list) else [logger]

    def _uses_wandb(self, config: Any) -> bool:
        return any(
            "Wandb" in str(lg.get("class_path", "")) for lg in self._logger_configs(config) if hasattr(lg, "get")
        )

    def _point_loggers_at(self, config: Any, run_dir: Path) -> None:
        """Put every logger's files in the run folder (TensorBoard/CSV without their own versioning)."""
        for logger in self._logger_configs(config):
            if not hasattr(logger, "get") or "init_args" not in logger:
                continue
            args = logger.init_args
            if "save_dir" in args and args.save_dir in (None, ".", "", "runs"):
                args.save_dir = str(run_dir)
            class_path = str(logger.class_path)
            if "TensorBoardLogger" in class_path or "CSVLogger" in class_path:
                args.name, args.version = "", ""


def base_config_files() -> list[str]:
    """configs/base.yaml, read before every config: $LIGHTGEN_BASE_CONFIG, else the checkout's own."""
    path = Path(os.environ.get("LIGHTGEN_BASE_CONFIG", Path(__file__).resolve().parents[1] / "configs" / "base.yaml"))
    return [str(path)] if path.is_file() else []


def default_trainer_config() -> dict[str, Any]:
    """Trainer defaults for an installation without configs/base.yaml (which sets the same and more)."""
    return {"plugins": [lazy_instance(AtomicCheckpointIO)]}


def run_lightning_cli(args: list[str] | None) -> LightgenCLI:
    description = (
        f"lightgen {__version__}: deep generative models on PyTorch Lightning.\n"
        f"models: {_short_names(GenerativeModel)}\n"
        f"datamodules: {_short_names(LightningDataModule)}\n"
        "more commands: " + "; ".join(f"{k} ({v})" for k, v in EXTRA_COMMANDS.items())
    )
    return LightgenCLI(
        GenerativeModel,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        trainer_defaults=default_trainer_config(),
        save_config_kwargs={"overwrite": False},
        parser_kwargs={
            "description": description,
            "formatter_class": argparse.RawDescriptionHelpFormatter,
            **{cmd: {"default_config_files": base_config_files()} for cmd in ("fit", "validate", "test", "predict")},
        },
        args=args,
        auto_configure_optimizers=False,
    )


def sample_command(argv: list[str]) -> None:
    from lightgen.callbacks.sample_grid import save_sample_grid

    parser = argparse.ArgumentParser(prog="lightgen sample", description=EXTRA_COMMANDS["sample"])
    parser.add_argument("--ckpt", required=True, help="a lightgen checkpoint (.ckpt)")
    parser.add_argument("--num", type=int, default=64, help="number of samples")
    parser.add_argument("--out", default="samples.png", help="PNG file to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples")
    parser.add_argument("--nrow", type=int, default=8, help="images per row (a class grid: samples per class)")
    parser.add_argument("--device", default="cpu", help="torch device to sample on")
    parser.add_argument("--label", type=int, default=None, help="conditional models: --num samples of this class")
    parser.add_argument(
        "--class-grid",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="conditional models: one row of --nrow samples per class (their default; --no-class-grid: --num "
        "samples of labels drawn uniformly)",
    )
    ns = parser.parse_args(argv)
    if ns.num < 1 or ns.nrow < 1:
        raise LightgenError(f"--num and --nrow must be positive integers; got {ns.num} and {ns.nrow}")
    if ns.label is not None and ns.class_grid:
        raise LightgenError("--label and --class-grid exclude each other: one class, or a row per class")
    model = load_model(ns.ckpt).to(ns.device)
    name, classes = type(model).__name__, int(getattr(model, "num_classes", 0) or 0)
    if ns.label is not None and not classes:
        raise LightgenError(f"--label needs a conditional model; {name} is unconditional")
    if ns.label is not None and not 0 <= ns.label < classes:
        raise LightgenError(f"--label {ns.label} is not a class of {name}; choose one of 0..{classes - 1}")
    if ns.class_grid and not classes:
        raise LightgenError(f"--class-grid needs a conditional model; {name} is unconditional")
    grid = bool(classes) and ns.label is None and ns.class_grid is not False
    path = save_sample_grid(model, ns.out, ns.num, ns.nrow, ns.seed, label=ns.label, class_grid=ns.class_grid)
    what = f"{classes} rows of {ns.nrow}, one per class" if grid else str(ns.num)
    print(f"wrote {what} samples of {name}{'' if ns.label is None else f' (class {ns.label})'} to {path}")


def data_command(argv: list[str]) -> None:
    from lightgen.data.prepare import PREPARERS, prepare

    parser = argparse.ArgumentParser(prog="lightgen data", description=EXTRA_COMMANDS["data"])
    sub = parser.add_subparsers(dest="action", required=True)
    prep = sub.add_parser("prepare", help="download or copy a dataset into the data root, verified")
    prep.add_argument("name", help=f"one of {sorted(PREPARERS)}")
    prep.add_argument("--root", default=None, help="data root (default $LIGHTGEN_DATA or data/)")
    ns = parser.parse_args(argv)
    prepare(ns.name, ns.root)


def user_error(exc: BaseException) -> LightgenError | None:
    """The LightgenError behind ``exc`` (jsonargparse wraps errors raised while building classes)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, LightgenError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``lightgen`` console script."""
    # Lightning's own use of a torch API it deprecates: nothing a user can act on
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    argv = list(sys.argv[1:] if args is None else args)
    try:
        if argv and argv[0] == "sample":
            sample_command(argv[1:])
        elif argv and argv[0] == "data":
            data_command(argv[1:])
        elif argv and argv[0] == "evaluate":
            from lightgen.evaluate import evaluate_command

            evaluate_command(argv[1:])
        else:
            run_lightning_cli(args)  # None: LightningCLI reads sys.argv itself
    except Exception as exc:
        err = user_error(exc)
        if err is None:
            raise
        print(f"lightgen: error: {err}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
