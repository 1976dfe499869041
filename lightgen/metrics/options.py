"""Typed options of an evaluation run (:class:`lightgen.metrics.runner.Evaluation`), argparse-free.

``lightgen evaluate`` builds them from its parsed arguments (:meth:`EvaluationOptions.from_namespace`);
Python code builds them directly, so the metrics layer runs without the command line::

    opts = EvaluationOptions(metrics=("modes",), num_samples=2500, batch_size=500)
    report = Evaluation(opts, model, datamodule).run()  # a Report: report.entries, report.write_json(path)

Every value is checked when the options are made: a bad one is a one-line :class:`LightgenError` naming
the option and the value (``num_samples must be at least 2; got 1``; from the command line the flag,
``--num-samples``). Stdlib only: the names below are the metrics layer's, and ``lightgen.commands``
keeps light copies for the fast ``--help`` (tests/metrics/test_options.py checks they agree).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from lightgen.errors import LightgenError

if TYPE_CHECKING:
    import argparse

METRIC_NAMES = ("fid", "kid", "prc", "is", "cfid", "modes", "nn", "ll", "parzen") + (
    "l1",  # the rest score image-to-image models' translations against their targets
    "psnr",
    "ssim",
    "correspondence",
    "nll_oracle",  # sequence models (SeqGAN)
    "nll_test",
    "matching",  # text-to-image models (StackGAN)
)
RESIZES = ("tf", "clean")  # the keys of lightgen.metrics.fidelity.RESIZE_RULES
SPLITS = ("train", "val", "test")


class OptionError(LightgenError):
    """A bad value of one option; the message starts with the option's name (:meth:`as_flag`: its flag)."""

    def __init__(self, name: str, problem: str) -> None:
        self.name, self.problem = name, problem
        super().__init__(f"{name} {problem}")

    def as_flag(self) -> LightgenError:
        """The same error as ``lightgen evaluate`` words it: ``--num-samples must be ...``."""
        return LightgenError(f"--{self.name.replace('_', '-')} {self.problem}")


@dataclass(frozen=True)
class EvaluationOptions:
    """What an evaluation computes and how; the defaults are ``lightgen evaluate``'s."""

    metrics: tuple[str, ...] = ("fid", "kid", "prc")  # from METRIC_NAMES; a "fid,kid" string is split
    num_samples: int | None = None  # generated samples for fid/kid/prc/is/cfid/modes; None: 10000, toy mixtures 2500
    num_real: int | None = None  # real images for fid/kid/prc/cfid; None: as many as num_samples
    split: str = "test"  # the real split compared with (and the one ll scores)
    batch_size: int = 100  # samples per batch; batch i is drawn with seed + i
    seed: int = 0  # seed of batch 0, also of KID's subsets and of ll's importance samples
    inception_weights: str | None = None  # a torch-fidelity weights file, "download", or None: under the data root
    resize: str = "tf"  # to 299x299 for Inception: "tf" (torch-fidelity, published FIDs) or "clean" (clean-fid)
    classifier: str | None = None  # the domain classifier file; None: prepared under the data root
    ll_k: int = 5000  # importance samples per example for VAEs (the IWAE paper's k for log p(x))
    ll_num: int | None = None  # examples scored by ll; None: the whole split
    nn_num: int = 1000  # generated samples (and test images) of the memorisation check
    nn_png: str | None = None  # its picture; None: beside `out`, as <out>_nn.png
    parzen_samples: int = 10000  # samples in the Parzen window
    parzen_val: int = 1000  # validation images that choose its bandwidth
    parzen_test: int = 1000  # test images it scores
    no_cache: bool = False  # recompute real-set features instead of reading the cache
    out: str = "report.json"  # the JSON report's path (only the nn picture's default is derived from it here)

    def __post_init__(self) -> None:
        metrics = self.metrics
        if isinstance(metrics, str):
            metrics = [m for m in metrics.split(",") if m.strip()]
        try:
            names = [str(m).strip().lower() for m in metrics]
        except TypeError:
            raise LightgenError(f"metrics must be names from {','.join(METRIC_NAMES)}; got {metrics!r}") from None
        unknown = [m for m in names if m not in METRIC_NAMES]
        if unknown or not names:
            raise LightgenError(f"unknown metric(s) {unknown or self.metrics!r}; choose from {','.join(METRIC_NAMES)}")
        object.__setattr__(self, "metrics", tuple(dict.fromkeys(names)))
        for name, low, optional in (
            ("num_samples", 2, True),
            ("num_real", 2, True),
            ("batch_size", 1, False),
            ("ll_k", 1, False),
            ("ll_num", 1, True),
            ("nn_num", 2, False),
            ("parzen_samples", 1, False),
            ("parzen_val", 1, False),
            ("parzen_test", 1, False),
            ("seed", None, False),
        ):
            value = getattr(self, name)
            if value is None and optional:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise OptionError(name, f"must be an integer{' or None' if optional else ''}; got {value!r}")
            if low is not None and value < low:
                raise OptionError(name, f"must be at least {low}; got {value}")
        for name, choices in (("split", SPLITS), ("resize", RESIZES)):
            if getattr(self, name) not in choices:
                raise OptionError(name, f"must be one of {', '.join(choices)}; got {getattr(self, name)!r}")
        for name in ("inception_weights", "classifier", "nn_png", "out"):
            value = getattr(self, name)
            if value is None and name != "out":
                continue
            if not isinstance(value, (str, os.PathLike)) or not str(value):
                raise OptionError(name, f"must be a file path; got {value!r}")
            object.__setattr__(self, name, os.fspath(value))
        if not isinstance(self.no_cache, bool):
            raise OptionError("no_cache", f"must be True or False; got {self.no_cache!r}")

    @classmethod
    def from_namespace(cls, ns: argparse.Namespace | Any) -> EvaluationOptions:
        """From ``lightgen evaluate``'s parsed arguments (attributes it lacks keep their defaults; others, such
        as ``ckpt`` or ``device``, are the command's own); a bad value's error names its flag."""
        values = {f.name: getattr(ns, f.name) for f in fields(cls) if hasattr(ns, f.name)}
        try:
            return cls(**values)
        except OptionError as err:
            raise err.as_flag() from None
