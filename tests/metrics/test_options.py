"""EvaluationOptions: the metrics layer runs from Python with typed options, no argparse; bad values are
one-line errors; the options agree with `lightgen evaluate`'s flags."""

from __future__ import annotations

import argparse
import ast
import dataclasses
from pathlib import Path

import pytest
import torch
from conftest import quiet_trainer

from lightgen.commands import METRICS, RESIZES, evaluate_parser
from lightgen.data import GaussianMixture2D
from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd
from lightgen.metrics import options as options_module
from lightgen.metrics import runner
from lightgen.metrics.modes import mixture_mode_coverage
from lightgen.metrics.options import EvaluationOptions
from lightgen.metrics.runner import Evaluation
from lightgen.models import ToyGAN

# flags of `lightgen evaluate` that belong to the command (loading, device, output page), not to the run
COMMAND_ONLY = {"ckpt", "data_root", "device", "html"}


def test_modes_of_a_toy_gan_from_python_with_only_the_options() -> None:
    dm = GaussianMixture2D(layout="ring", num_train=64, num_val=16, batch_size=8, seed=0)
    model = ToyGAN((2,), latent_dim=2, g_hidden=(8,), d_hidden=(8,))
    quiet_trainer(max_steps=2).fit(model, datamodule=dm)
    model.eval()
    opts = EvaluationOptions(metrics=("modes",), num_samples=200, batch_size=50, seed=7)
    report = Evaluation(opts, model, dm).run()  # no Namespace, no report, task or device given
    (entry,) = report.entries
    assert entry.metric == "modes" and entry.card["num_generated"] == 200
    # the numbers of the model's own samples, batch i seeded 7 + i
    samples = torch.cat([model.sample(50, seed=7 + i) for i in range(4)])
    assert entry.values == mixture_mode_coverage(samples, dm.mode_centers, dm.mode_std)


def test_the_runner_does_not_import_argparse() -> None:
    tree = ast.parse(Path(runner.__file__).read_text(encoding="utf-8"))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert "argparse" not in imported


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_samples": 1}, "num_samples must be at least 2; got 1"),
        ({"num_real": 0}, "num_real must be at least 2; got 0"),
        ({"batch_size": 0}, "batch_size must be at least 1; got 0"),
        ({"batch_size": "64"}, "batch_size must be an integer; got '64'"),
        ({"ll_k": 2.5}, "ll_k must be an integer; got 2.5"),
        ({"ll_num": 0}, "ll_num must be at least 1; got 0"),
        ({"nn_num": 1}, "nn_num must be at least 2; got 1"),
        ({"parzen_val": 0}, "parzen_val must be at least 1; got 0"),
        ({"seed": True}, "seed must be an integer; got True"),
        ({"split": "holdout"}, "split must be one of train, val, test; got 'holdout'"),
        ({"resize": "lanczos"}, "resize must be one of tf, clean; got 'lanczos'"),
        ({"metrics": ("fid", "bogus")}, "unknown metric(s) ['bogus']; choose from fid,kid,prc"),
        ({"metrics": ()}, "unknown metric(s) (); choose from"),
        ({"out": ""}, "out must be a file path; got ''"),
        ({"classifier": 3}, "classifier must be a file path; got 3"),
        ({"no_cache": "yes"}, "no_cache must be True or False; got 'yes'"),
    ],
)
def test_a_bad_option_is_a_one_line_error_naming_it(kwargs: dict, message: str) -> None:
    with pytest.raises(LightgenError) as err:
        EvaluationOptions(**kwargs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_from_the_command_line_the_error_names_the_flag() -> None:
    ns = evaluate_parser().parse_args(["--ckpt", "x.ckpt", "--num-samples", "1"])
    with pytest.raises(LightgenError, match=r"^--num-samples must be at least 2; got 1$"):
        EvaluationOptions.from_namespace(ns)
    with pytest.raises(LightgenError, match=r"^--parzen-test must be at least 1; got -3$"):
        EvaluationOptions.from_namespace(argparse.Namespace(parzen_test=-3))


def test_options_are_frozen_normalised_and_checked_by_the_runner() -> None:
    opts = EvaluationOptions(metrics="FID, kid,fid", classifier=Path("c.pt"))
    assert opts.metrics == ("fid", "kid") and opts.classifier == "c.pt"
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.seed = 3  # type: ignore[misc]
    dm = GaussianMixture2D(layout="ring", num_train=64, num_val=16, batch_size=8)
    with pytest.raises(LightgenError, match="Evaluation takes EvaluationOptions; got Namespace"):
        Evaluation(argparse.Namespace(metrics="modes"), ToyGAN((2,), latent_dim=2), dm)  # type: ignore[arg-type]


def test_the_options_are_the_evaluate_commands_flags() -> None:
    """Every flag of `lightgen evaluate` is an option or the command's own, with the same default; the names
    of metrics, resize rules and splits agree with the light copies of lightgen.commands."""
    parser = evaluate_parser()
    dests = {a.dest for a in parser._actions if a.dest != "help"}
    fields = {f.name for f in dataclasses.fields(EvaluationOptions)}
    assert dests - COMMAND_ONLY == fields
    assert EvaluationOptions.from_namespace(parser.parse_args(["--ckpt", "x.ckpt"])) == EvaluationOptions()
    assert tuple(METRICS) == options_module.METRIC_NAMES
    assert RESIZES == options_module.RESIZES == tuple(fd.RESIZE_RULES)
    split = next(a for a in parser._actions if a.dest == "split")
    assert tuple(split.choices) == options_module.SPLITS
