"""``lightgen evaluate`` for image-to-image models: test translations scored against their targets.

The items ``(source, target[, label])`` of the asked split (``--split``, test by default; the first
``--num-samples`` of them) are translated in batches (batch i with seed ``--seed`` + i, for a G with
noise) and every requested number is computed beside a baseline on the same images and card:

- ``l1``: mean |output - target| in [0, 1] pixels (pix2pix, Isola et al. 2017, the L1 term of eq. 3);
- ``psnr`` / ``ssim``: on the Y channel after cropping ``scale`` pixels per border (none at scale 1), the
  SR protocol of :mod:`lightgen.metrics.sr_quality` (Ledig et al. 2017, sec. 3.1);
- ``fid`` / ``kid`` / ``prc`` (Inception pool3) and ``cfid`` (the domain classifier's features): the
  translated images against the real targets of the same items (pix2pix sec. 4.2 scores realism by
  such a distribution distance; target features are cached like any real set);
- ``correspondence``: the domain classifier's accuracy on translated images against the source's label
  (does a 3 stay a 3; the "FCN-score" idea of pix2pix sec. 4.2 / CycleGAN sec. 5.1.1, with a digit
  classifier), with its ceiling (the real targets) and the identity baseline (the untranslated sources).

Baselines: ``bicubic`` (scale > 1: the LR source upsampled by ``torch.nn.functional.interpolate``,
bicubic, ``align_corners=False``, no antialiasing, clamped to [0, 1]) and ``identity`` (scale 1: the
source itself, when it has the target's channels). A CycleGAN (``directions = ("ab", "ba")``) is scored
in both directions (A->B: source -> target; B->A: ``translate(target, reverse=True)`` -> source), each
metric named with its direction (``psnr_ab``, ``psnr_ba``).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd
from lightgen.metrics import sr_quality as srq
from lightgen.metrics.cache import cached_features, is_cached

if TYPE_CHECKING:
    from lightgen.metrics.runner import Evaluation

TRANSLATION_ONLY = ("l1", "psnr", "ssim", "correspondence")  # metrics that need (output, target) pairs
TRANSLATION_METRICS = (*TRANSLATION_ONLY, "fid", "kid", "prc", "cfid")
CLASSIFIER_DATASETS = ("mnist", "fashion-mnist")
# the embedded defaults' classifiers, when the datamodule names none (``classifier_dataset``)
KNOWN_CLASSIFIER_DATASETS = {"mnist2thick": "mnist", "edges2fashion": "fashion-mnist"}
BASELINES = {
    "bicubic": "the LR source upsampled to the target size: torch.nn.functional.interpolate, bicubic, "
    "align_corners=False, antialias=False, clamped to [0, 1]",
    "identity": "the source image itself as the output (scale 1, same channels as the target)",
}
DIRECTIONS = {"": "source -> target", "ab": "A -> B: source -> target", "ba": "B -> A: target -> source (reverse=True)"}


# ------------------------------------------------------------------ what the model and data are
def is_translation_model(model: Any) -> bool:
    """True for an image-to-image model: it has ``translate`` and a ``source_shape``."""
    return hasattr(model, "translate") and getattr(model, "source_shape", None) is not None


def model_directions(model: Any) -> tuple[str, ...]:
    """``("ab", "ba")`` for a two-way model (CycleGAN's ``directions``), else ``("",)``: one direction."""
    directions = tuple(getattr(model, "directions", None) or ("",))
    unknown = [d for d in directions if d not in DIRECTIONS]
    if unknown:
        raise LightgenError(f"{type(model).__name__}.directions must be from ('ab', 'ba'); got {directions!r}")
    return directions


def classifier_dataset(dm: Any) -> str:
    """The classifier's dataset: ``dm.classifier_dataset``, else :data:`KNOWN_CLASSIFIER_DATASETS` of
    ``dm.dataset`` (edges2fashion -> fashion-mnist), else ``dm.dataset`` itself."""
    if getattr(dm, "classifier_dataset", None):
        return str(dm.classifier_dataset)
    dataset = str(getattr(dm, "dataset", type(dm).__name__.lower()))
    return KNOWN_CLASSIFIER_DATASETS.get(dataset, dataset)


def check_request(metrics: set[str], model: Any, dm: Any) -> None:
    """One-line errors for metrics an image-to-image model cannot be scored by, before any work."""
    refused = sorted(metrics - set(TRANSLATION_METRICS))
    if refused:
        raise LightgenError(
            f"metric(s) {','.join(refused)} are not for image-to-image models ({type(model).__name__}); "
            f"choose from {','.join(TRANSLATION_METRICS)}"
        )
    clf = classifier_dataset(dm)
    if metrics & {"cfid", "correspondence"} and clf not in CLASSIFIER_DATASETS:
        raise LightgenError(
            f"metrics cfid/correspondence need a domain classifier, available for {CLASSIFIER_DATASETS}; "
            f"not for {clf!r}"
        )


def refuse_for_other_models(metrics: set[str], model: Any) -> None:
    """One-line error for translation-only metrics asked of a model that samples from a prior."""
    asked = sorted(metrics & set(TRANSLATION_ONLY))
    if asked:
        raise LightgenError(
            f"metric(s) {','.join(asked)} compare translations with their targets; {type(model).__name__} is not "
            "an image-to-image model (no translate/source_shape)"
        )


# ------------------------------------------------------------------ baselines
def bicubic_upsample(source: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Images in [0, 1] upsampled to ``size`` (see :data:`BASELINES`)."""
    out = F.interpolate(source.float(), size=tuple(size), mode="bicubic", align_corners=False, antialias=False)
    return out.clamp(0, 1)


def baseline(source: torch.Tensor, target: torch.Tensor) -> tuple[str, torch.Tensor] | None:
    """``(name, images)``: bicubic upsampling when the target is larger, the source itself when it has the
    target's shape, None when neither applies (e.g. other channels)."""
    if tuple(source.shape[-2:]) != tuple(target.shape[-2:]):
        return "bicubic", bicubic_upsample(source, target.shape[-2:])
    if source.shape[1] == target.shape[1]:
        return "identity", source
    return None


# ------------------------------------------------------------------ the run
class TranslationEvaluation:
    """The translation path of :class:`lightgen.metrics.runner.Evaluation` (its options, data, report,
    feature spaces and cache keys)."""

    def __init__(self, ev: Evaluation) -> None:
        self.ev = ev
        self.metrics = set(ev.metrics)
        self.clf_dataset = classifier_dataset(ev.dm)

    def run(self) -> None:
        ev, m = self.ev, self.metrics
        ds = ev.split(ev.options.split)
        n = min(ev.options.num_samples, len(ds))
        if n < 1:
            raise LightgenError(f"the {ev.options.split} split is empty; choose another with --split")
        if "correspondence" in m and len(ds[0]) < 3:
            raise LightgenError(
                f"metric 'correspondence' needs class labels in the {ev.options.split} items (source, target, label); "
                f"{type(ev.dm).__name__} gives (source, target)"
            )
        spaces: dict[str, fd.FeatureSpace] = {}
        self.net = None
        if m & {"fid", "kid", "prc"}:
            spaces["inception"] = ev.inception()
        if m & {"cfid", "correspondence"}:
            spaces["classifier"], self.net = ev.classifier(self.clf_dataset)
        for direction in model_directions(ev.model):
            self.score(ds, n, direction, spaces)

    def stream(
        self, ds: Any, n: int, direction: str, spaces: dict[str, fd.FeatureSpace], want_targets: set[str]
    ) -> dict[str, Any]:
        """One pass over ``n`` items: per-image numbers and features of the outputs, the baseline, the targets
        (features only for spaces in ``want_targets``) and the sources (classifier only)."""
        ev, m, opts = self.ev, self.metrics, self.ev.options
        vals: dict[str, dict[str, list[torch.Tensor]]] = defaultdict(lambda: defaultdict(list))
        labels: list[torch.Tensor] = []
        names: dict[str, Any] = {"baseline": None, "scale": 1}
        advance = ev.task(f"translating {direction or 'test'} + features", n)
        kwargs = {"reverse": True} if direction == "ba" else {}
        t0 = time.perf_counter()
        for i, start in enumerate(range(0, n, opts.batch_size)):
            items = [ds[j] for j in range(start, min(n, start + opts.batch_size))]
            source, target = torch.stack([it[0] for it in items]), torch.stack([it[1] for it in items])
            if direction == "ba":
                source, target = target, source
            if len(items[0]) >= 3:
                labels.append(torch.as_tensor([int(it[2]) for it in items]))
            with torch.no_grad():
                out = ev.model.translate(source.to(ev.device), seed=opts.seed + i, **kwargs)
            out, source, target = (fd.to_unit(x.detach().cpu(), ev.value_range) for x in (out, source, target))
            if out.shape != target.shape:
                raise LightgenError(
                    f"{type(ev.model).__name__}.translate gave {tuple(out.shape[1:])} for targets of shape "
                    f"{tuple(target.shape[1:])}"
                )
            names["scale"] = target.shape[-1] // source.shape[-1]
            base = baseline(source, target)
            variants = {"output": out}
            if base is not None:
                names["baseline"] = base[0]
                variants[base[0]] = base[1]
            for variant, x in variants.items():
                self.pair_scores(vals[variant], x, target, names["scale"] if names["scale"] > 1 else 0)
                for k, space in spaces.items():
                    vals[variant][k].append(space(x))
            for k in want_targets:
                vals["target"][k].append(spaces[k](target))
            if "correspondence" in m:  # the identity baseline: the untranslated sources classified
                vals["source"]["classifier"].append(spaces["classifier"](source))
            if i == 0:
                rate = len(items) / max(time.perf_counter() - t0, 1e-9)
                print(f"estimated time ({direction or 'translation'}): {n / rate:.0f} s for {n} test items", flush=True)
            advance(len(items))
        out_vals = {v: {k: torch.cat(t) for k, t in d.items()} for v, d in vals.items()}
        return {"values": out_vals, "labels": torch.cat(labels) if labels else None, **names}

    def pair_scores(
        self, acc: dict[str, list[torch.Tensor]], x: torch.Tensor, target: torch.Tensor, border: int
    ) -> None:
        m = self.metrics
        if "l1" in m:
            acc["l1"].append((x - target).abs().flatten(1).double().mean(1))
        if m & {"psnr", "ssim"}:
            xq, tq = srq.quantize_8bit(x), srq.quantize_8bit(target)
            if "psnr" in m:
                acc["psnr"].append(srq.psnr_y(xq, tq, border))
            if "ssim" in m:
                acc["ssim"].append(srq.ssim_y(xq, tq, border))

    def probs(self, features: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.softmax(self.net.logits_from_features(features.to(self.ev.device)), 1).cpu()

    def score(self, ds: Any, n: int, direction: str, spaces: dict[str, fd.FeatureSpace]) -> None:
        """Stream one direction and add its entries (metric names suffixed ``_ab`` / ``_ba`` for two-way models)."""
        ev, m, opts = self.ev, self.metrics, self.ev.options
        tag = f"-targets-{direction}" if direction else "-targets"
        keys = {k: ev.key(space, opts.split, n, tag) for k, space in spaces.items()}
        real_sets = {k for k in spaces if k == "inception" or "cfid" in m}  # spaces with a distance to the targets
        want_targets = {k for k in real_sets if opts.no_cache or not is_cached(keys[k], ev.dm.root)}
        if "correspondence" in m:
            want_targets.add("classifier")  # the ceiling: the real targets classified
        got = self.stream(ds, n, direction, spaces, want_targets)
        vals, base, scale = got["values"], got["baseline"], got["scale"]
        suffix = f"_{direction}" if direction else ""
        card = ev.card(None, n, n)
        card.update(
            direction=DIRECTIONS[direction],
            scale=scale,
            baseline=f"{base}: {BASELINES[base]}" if base else "none (the source has other channels than the target)",
            seeds=f"batch i of {opts.batch_size} items translated with seed {opts.seed} + i",
        )

        def add(
            metric: str, value_of: Callable[[str], Any], se_of: Callable[[str], float] | None = None, **extra: Any
        ) -> None:
            values = {metric + suffix: value_of("output")}
            if se_of is not None:
                values[metric + suffix + "_se"] = se_of("output")
            if base is not None:
                values[base] = value_of(base)
                if se_of is not None:
                    values[base + "_se"] = se_of(base)
            ev.report.add(metric + suffix, values, **card, **extra)

        def mean_of(name: str) -> Callable[[str], float]:
            return lambda variant: float(vals[variant][name].mean())

        def se_of(name: str) -> Callable[[str], float]:
            """The standard error of the mean over the test items (sample s.d. / sqrt(n))."""
            return lambda variant: item_standard_error(vals[variant][name])

        pixels = {"feature_extractor": "pixels", "resize_rule": "none (native resolution)", "error": SE_NOTE}
        if "l1" in m:
            add("l1", mean_of("l1"), se_of("l1"), **pixels, definition=L1_DEFINITION)
        sr_card = {**pixels, **sr_protocol(scale)}
        if "psnr" in m:
            add("psnr", mean_of("psnr"), se_of("psnr"), **sr_card, definition="10 log10(255^2 / MSE) dB, per image")
        if "ssim" in m:
            add("ssim", mean_of("ssim"), se_of("ssim"), **sr_card, definition=SSIM_DEFINITION)
        for k in sorted(real_sets):
            real, _ = cached_features(keys[k], lambda k=k: vals["target"][k], ev.dm.root, enabled=not opts.no_cache)
            fcard = {**spaces[k].card(), "real_images": f"the targets of the same {n} items ({DIRECTIONS[direction]})"}
            names = ("cfid",) if k == "classifier" else tuple(x for x in ("fid", "kid", "prc") if x in m)
            for name in names:
                extra = {"kid_subsets": 100} if name == "kid" else {"neighbourhood_k": 3} if name == "prc" else {}
                add(
                    name,
                    lambda v, k=k, real=real, name=name: distance(name, vals[v][k], real, opts.seed),
                    **fcard,
                    **extra,
                )
        if "correspondence" in m:
            probs = {v: self.probs(vals[v]["classifier"]) for v in ("output", "target", "source")}
            labels = got["labels"]
            accuracy = {v: float((p.argmax(1) == labels).double().mean()) for v, p in probs.items()}
            n_items = len(labels)
            values = {
                "correspondence" + suffix: accuracy["output"],
                "correspondence" + suffix + "_se": math.sqrt(accuracy["output"] * (1 - accuracy["output"]) / n_items),
                "ceiling": accuracy["target"],
                "identity": accuracy["source"],
                "chance": 1.0 / probs["output"].shape[1],
            }
            ccard = {
                **card,
                **spaces["classifier"].card(),
                "baseline": "identity: the untranslated sources classified; ceiling: the real targets classified",
                "classifier_dataset": self.clf_dataset,
                "definition": "the domain classifier's top-1 accuracy on the translated images against the class "
                "label of their source item",
            }
            ev.report.add("correspondence" + suffix, values, **ccard)


SE_NOTE = "*_se: standard error of the mean over the test items (sample s.d. / sqrt(n); binomial for accuracies)"
L1_DEFINITION = "mean over the images of the mean |output - target| over pixels and channels, in [0, 1], unquantized"
SSIM_DEFINITION = (
    f"Wang et al. 2004, Gaussian window {srq.SSIM_WINDOW}, sigma {srq.SSIM_SIGMA}, K1 0.01, K2 0.03, per image"
)


def item_standard_error(values: torch.Tensor) -> float:
    """s.d. / sqrt(n) of per-item values (nan for one item; an infinite PSNR, a perfect match, gives nan)."""
    v = values.double().flatten()
    return float(v.std() / math.sqrt(len(v))) if len(v) > 1 else float("nan")


def distance(name: str, generated: torch.Tensor, real: torch.Tensor, seed: int) -> Any:
    """FID (also cfid: the same distance in the classifier's features), KID or precision/recall."""
    if name in ("fid", "cfid"):
        return fd.fid_from_features(generated, real)
    if name == "kid":
        return fd.kid(generated, real, seed=seed)["kid"]
    return fd.precision_recall(generated, real)


def sr_protocol(scale: int) -> dict[str, Any]:
    """The card of PSNR / SSIM: border, Y formula, data range, quantization and averaging."""
    return {
        "border": scale if scale > 1 else 0,
        "border_rule": "scale pixels cropped from each border (SRGAN, Ledig et al. 2017 sec. 3.1); none at scale 1",
        "y_channel": srq.Y_FORMULA,
        "y_scale": "Y in [16, 235] on the 0-255 scale",
        "data_range": srq.DATA_RANGE,
        "quantization": "output and target rounded to 8-bit levels first (as saved PNGs)",
        "averaging": "per-image value, mean over the test images",
        "implementation": "torchmetrics peak_signal_noise_ratio, structural_similarity_index_measure",
    }
