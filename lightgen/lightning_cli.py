"""The LightningCLI behind ``lightgen fit|validate|test|predict`` (imports lightning and every model).

lightgen.cli imports this module only for those commands, so that ``lightgen --help`` and the
``sample``/``data``/``evaluate`` commands start without lightning (see lightgen/commands.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from jsonargparse import lazy_instance
from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities.exceptions import MisconfigurationException

import lightgen.data  # noqa: F401  (imports register the datamodules' short names)
import lightgen.models  # noqa: F401  (imports register the models' short names)
from lightgen import __version__
from lightgen.callbacks import RunCheckpoint, SampleGrid
from lightgen.checkpoint import AtomicCheckpointIO, load_model  # noqa: F401  (load_model: lightgen.cli.load_model)
from lightgen.cli import base_config_files, launcher_run_id, next_version_dir, wandb_key_available
from lightgen.commands import EXTRA_COMMANDS
from lightgen.errors import LightgenError
from lightgen.models.base import GenerativeModel
from lightgen.parse_errors import one_line
from lightgen.quiet import verbose

DDP_STRATEGY_NAMES = ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")


def _short_names(base: type) -> str:
    names = set()
    stack = list(base.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("lightgen.") and not cls.__name__.startswith("Generative"):
            names.add(cls.__name__)
    return ", ".join(sorted(names))


class LightgenProgressBar(RichProgressBar):
    """Lightning's Rich bar, with integer counters (``generator_steps``, ``*_epoch``...) shown as integers:
    the bar formats every number as ``.3f``, and values logged through ``self.log`` arrive as floats."""

    COUNTER = re.compile(r"(^|[/_])(steps?|epochs?|counts?)$")

    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        items = super().get_metrics(trainer, pl_module)
        for name, value in items.items():
            if self.COUNTER.search(str(name)) and isinstance(value, int | float) and float(value).is_integer():
                items[name] = str(int(value))
        return items


def _known_classes(base_path: str) -> str:
    """The short names of lightgen's classes under ``base_path`` (for an unknown ``--model NAME``...)."""
    module, _, name = base_path.rpartition(".")
    try:
        names = _short_names(getattr(sys.modules[module], name)).split(", ")
    except (KeyError, AttributeError, TypeError):
        return ""
    return ", ".join(n for n in names if n and not n.startswith("_"))


class LightgenArgumentParser(LightningArgumentParser):
    """LightningCLI's parser, whose errors are one line (``lightgen: error: ...``, exit 2) naming the option,
    the value and what was expected, instead of the command's 80-line usage and jsonargparse's nested error
    tree (lightgen.parse_errors); ``--verbose`` (or JSONARGPARSE_DEBUG) shows those as they are."""

    config_files: tuple[str, ...] = ()  # the --config files of this command line (set by LightgenCLI)

    def error(self, message: str, ex: Exception | None = None) -> Any:
        from jsonargparse._common import debug_mode_active

        if not self.exit_on_error or debug_mode_active() or verbose():
            return super().error(message, ex)
        prog = (getattr(ex, "subcommand_parser", None) or self).prog.split()
        command = next((w for w in reversed(prog) if w in ("fit", "validate", "test", "predict")), "fit")
        line = one_line(message, command, _known_classes)
        found = re.fullmatch(r"Subcommand '\w+' does not accept option '([^']+)'", line)
        if found:  # a top-level key of a config file: name the file
            files = [f for f in self.config_files if _top_level_keys(f) and found.group(1) in _top_level_keys(f)]
            source = f"config {files[-1]}" if files else "the config"
            line = f"{source} sets {found.group(1)!r}, which is not an option of `lightgen {command}`"
        if line.startswith("the following arguments are required"):
            line += " (give --config FILE, or --model NAME and --data NAME)"
        elif line.startswith(("unrecognized arguments", "Subcommand", "config", "the config")):
            line += f" (`lightgen {command} --help` lists the options)"
        sys.stderr.write(f"lightgen: error: {line}\n")
        self.exit(2)


def _top_level_keys(path: str) -> set[str]:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    return set(data) if isinstance(data, dict) else set()


class LightgenCLI(LightningCLI):
    """LightningCLI with lightgen's run folders, links and default callbacks."""

    run_folder: Path | None = None  # this command's run folder: the trainer's default_root_dir

    def parse_arguments(self, parser: Any, args: Any) -> None:
        argv = list(sys.argv[1:] if args is None else args) if not isinstance(args, dict) else []
        files = [v for f, v in zip(argv, argv[1:]) if f in ("--config", "-c")]
        files += [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
        LightgenArgumentParser.config_files = tuple(files)
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        """``--ckpt_path FILE`` is read as lightgen reads every checkpoint (a one-line error for a missing,
        corrupt, foreign or code-carrying file) and must hold the config's model class; then Lightning
        takes the model's hyper-parameters from it as usual. Lightning's own names (``last``, ``best``,
        ``hpc``, ``registry...``) and remote URLs are left to Lightning."""
        from lightgen.checkpoint import load_checkpoint, resolve_model_class
        from lightgen.errors import CheckpointError
        from lightgen.models.base import CHECKPOINT_KEY

        subcommand = self.config.get("subcommand")
        path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if (
            path
            and str(path) not in ("last", "best", "hpc")
            and not str(path).startswith("registry")
            and "://" not in str(path)
        ):
            meta = load_checkpoint(path).get(CHECKPOINT_KEY)
            if not isinstance(meta, dict) or "class_path" not in meta:
                raise CheckpointError(
                    f"--ckpt_path {path} is not a lightgen checkpoint (no '{CHECKPOINT_KEY}' metadata)"
                )
            saved = resolve_model_class(str(meta["class_path"]))
            wanted = str(self.config[subcommand].model.class_path)
            module, _, name = wanted.rpartition(".")
            if saved is not getattr(sys.modules.get(module), name, None):  # the config's class is imported
                raise CheckpointError(
                    f"--ckpt_path {path} holds a {saved.__name__} ({meta['class_path']}), but the config's model is "
                    f"{wanted}; resume with the config the checkpoint was trained with"
                )
        super()._parse_ckpt_path()

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
            self._root_from_default_root_dir(config)
            run_dir = self._run_dir(config, "version" if self.subcommand == "fit" else self.subcommand)
            # the trainer gets the run folder (instantiate_trainer); the saved config keeps what the user gave,
            # so that running it again makes a new version beside this one, not a folder inside it
            self.run_folder = run_dir
            if not config.checkpoint.dirpath:
                config.checkpoint.dirpath = str(run_dir / "checkpoints")
            self._point_loggers_at(config, run_dir)
            self._ddp_for_gans(config)
        if not wandb_key_available() and not os.environ.get("WANDB_MODE"):
            os.environ["WANDB_MODE"] = "offline"
            if self._uses_wandb(config):
                print("lightgen: no wandb API key found; wandb runs offline (sync later with `wandb sync`)")

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        """The trainer in the run folder, with a Rich progress bar unless bars are off or another bar was
        chosen; quiet unless verbose (lightgen.quiet): wandb is not handed Lightning's ``anonymous=None``."""
        trainer_config = self._get(self.config_init, "trainer", default={})
        callbacks = list(kwargs.get("callbacks", trainer_config.get("callbacks") or []))
        wants_bar = trainer_config.get("enable_progress_bar") is not False
        if wants_bar and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            kwargs["callbacks"] = [*callbacks, LightgenProgressBar()]
        if self.run_folder is not None:
            kwargs.setdefault("default_root_dir", str(self.run_folder))
        try:
            trainer = super().instantiate_trainer(**kwargs)
        except (MisconfigurationException, ValueError, TypeError) as err:
            user = self._trainer_option_error(err, trainer_config)
            if user is None:
                raise
            raise user from None
        return self._quiet_wandb(trainer)

    @staticmethod
    def _trainer_option_error(err: Exception, trainer_config: Any) -> LightgenError | None:
        """Lightning's refusal of a trainer option, as one LightgenError naming the option's value; None (the
        error keeps its traceback) when lightgen's own code ran below this call (a bug, not bad input)."""
        lightgen_dir = str(Path(__file__).resolve().parent)
        frames = traceback.extract_tb(err.__traceback__)[1:]  # [0]: this method's caller, instantiate_trainer
        if not frames or any(str(Path(f.filename).resolve()).startswith(lightgen_dir) for f in frames):
            return None
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        named = [n for n in re.findall(r"`(\w+)(?:=[^`]*)?`", text) if n in trainer_config]
        given = ", ".join(f"--trainer.{n} {trainer_config[n]!r}" for n in dict.fromkeys(named))
        return LightgenError(f"bad trainer option{f' ({given})' if given else ''}: {text}")

    def _quiet_wandb(self, trainer: Any) -> Any:
        if not verbose():
            for logger in trainer.loggers:
                init = getattr(logger, "_wandb_init", None)  # WandbLogger's arguments of wandb.init
                if isinstance(init, dict) and init.get("anonymous", "") is None:
                    del init["anonymous"]
        return trainer

    @staticmethod
    def _root_from_default_root_dir(config: Any) -> None:
        """``--trainer.default_root_dir DIR`` is the run root, as ``--run_root DIR``: the run folder is
        ``DIR/<run_name>/version_N`` (Lightning's own default puts ``DIR/lightning_logs/version_N``). Both
        options with different folders is a one-line error."""
        root = config.trainer.get("default_root_dir")
        if root is None or str(root) == "":
            return
        if str(config.run_root) not in ("runs", str(root)):
            raise LightgenError(
                f"--trainer.default_root_dir {root} and --run_root {config.run_root} both choose the folder "
                "of the runs; give one (each run goes to <run_root>/<run_name>/version_N)"
            )
        config.run_root = str(root)

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
        """A GAN's players alternate, so under DDP each step leaves the other's parameters unused: map `ddp`
        to lightgen's `ddp_players` (each player in its own DDP, lightgen.strategies), the other `ddp_*`
        launch variants to Lightning's public `*_find_unused_parameters_true` twins, and refuse an
        explicit `find_unused_parameters: false` with a one-line error."""
        from lightgen.checkpoint import resolve_model_class
        from lightgen.models.gan import GAN

        try:
            cls = resolve_model_class(str(config.model.class_path))
        except Exception:  # noqa: BLE001  (an unknown class is reported by LightningCLI itself)
            return
        # SeqGAN's phases also leave a player idle, but it has no ddp_players: Lightning's unused-parameter twin
        is_gan = issubclass(cls, GAN) or bool(getattr(cls, "alternating_players", False))
        strategy = config.trainer.get("strategy")
        if not is_gan or strategy is None:
            return
        if isinstance(strategy, str):
            if strategy in DDP_STRATEGY_NAMES:
                players = strategy == "ddp" and issubclass(cls, GAN)
                config.trainer.strategy = "ddp_players" if players else f"{strategy}_find_unused_parameters_true"
                print(f"lightgen: GAN under DDP: strategy {strategy!r} -> {config.trainer.strategy!r}")
            return
        if hasattr(strategy, "get") and "DDPStrategy" in str(strategy.get("class_path", "")):
            args = strategy.get("init_args") or {}
            if "find_unused_parameters" in args and args["find_unused_parameters"] is False:
                raise LightgenError(
                    "a GAN under Lightning's DDPStrategy needs find_unused_parameters: true (its players "
                    "alternate); the config sets it to false: use strategy ddp_players (each player in its own DDP)"
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
        parser_class=LightgenArgumentParser,
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
