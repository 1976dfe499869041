"""The metric runs behind ``lightgen evaluate`` (:mod:`lightgen.evaluate` parses and reports).

One pass over the generated samples feeds every feature space a requested metric needs (Inception,
the domain classifier) and keeps only what must stay in memory: features, class probabilities, and
the first few hundred images for the memorisation check and the Parzen window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd
from lightgen.metrics.cache import cache_key, cached_features, data_selection, is_cached
from lightgen.metrics.options import EvaluationOptions
from lightgen.metrics.report import Report
from lightgen.metrics.sequences import check_sequence_request, is_sequence_model, run_sequence_metrics
from lightgen.metrics.text_to_image import check_text_request, is_text_to_image_model, run_text_metrics
from lightgen.metrics.translation import TranslationEvaluation, check_request, is_translation_model
from lightgen.metrics.translation import refuse_for_other_models as refuse_translation_metrics

CLASSIFIER_DATASETS = ("mnist", "fashion-mnist")
DEFAULT_NUM_SAMPLES = 10000  # EvaluationOptions.num_samples when None
MIXTURE_NUM_SAMPLES = 2500  # ... on toy 2-D mixtures: the protocol of VEEGAN and PacGAN (Table 1)
NN_CHUNK = 10000  # training images per chunk of the streamed memorisation check
PRC_FEATURE_NOTE = (
    "Inception-v3 pool3 (2048-d) features; Kynkäänniemi et al. 2019 and torch-fidelity's default use "
    "VGG-16 fc2 (4096-d): not comparable with published precision/recall"
)


class Evaluation:
    """One evaluation run: checks the request, streams samples through the feature spaces, adds each metric
    with its protocol card to ``report``. ``options`` say what and how (:class:`EvaluationOptions`, typed:
    no argparse here); ``task(description, total)`` gives a progress callback (default: none).

        report = Evaluation(EvaluationOptions(metrics=("ll",), ll_k=50), model, datamodule).run()
    """

    def __init__(
        self,
        options: EvaluationOptions,
        model: Any,
        dm: Any,
        report: Report | None = None,
        task: Callable[[str, int], Callable[[int], None]] | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        if not isinstance(options, EvaluationOptions):
            raise LightgenError(f"Evaluation takes EvaluationOptions; got {type(options).__name__}")
        self.model, self.dm, self.device = model, dm, torch.device(device)
        self.report = report if report is not None else Report("none (evaluated from Python)", type(model).__name__, {})
        self.task = task if task is not None else (lambda desc, total: lambda k: None)
        self.dataset = str(getattr(dm, "dataset", type(dm).__name__.lower()))
        self.image_size = int(getattr(dm, "image_size", dm.data_shape[-1]))
        self.value_range = tuple(getattr(dm, "value_range", (0.0, 1.0)))
        self.extra = f"-bin_{dm.binarize}" if getattr(dm, "binarize", "none") != "none" else ""
        self.selection = data_selection(dm)
        # toy 2-D mixtures (lightgen.data.toy) know their modes: "modes" is measured against them
        self.mixture = getattr(dm, "mode_centers", None) is not None
        # image-to-image models (translate + source_shape) are scored on their test translations
        self.translation = is_translation_model(model)
        # sequence models (SeqGAN) are scored by likelihoods: NLL_oracle, NLL_test
        self.sequence = is_sequence_model(model)
        # text-to-image models (StackGAN) draw one image per item of --split from the item's caption
        self.text_to_image = is_text_to_image_model(model)
        if options.num_samples is None:
            options = replace(options, num_samples=MIXTURE_NUM_SAMPLES if self.mixture else DEFAULT_NUM_SAMPLES)
        self.options = options
        self.metrics = list(options.metrics)

    # ------------------------------------------------------------------ checks before any work
    def check(self) -> None:
        m = set(self.metrics)
        check_sequence_request(m, self.model, self.dm)
        if self.sequence:
            return
        check_text_request(m, self.model, self.dm)
        if self.text_to_image:
            return
        if self.translation:
            check_request(m, self.model, self.dm)
            return
        refuse_translation_metrics(m, self.model)
        if self.mixture and m - {"modes", "ll"}:
            raise LightgenError(
                f"metric(s) {','.join(sorted(m - {'modes', 'll'}))} are for images; {type(self.dm).__name__} serves "
                "2-D points: use 'modes' (modes hit, high-quality share, reverse KL of the mode histogram)"
            )
        if "is" in m:
            from lightgen.metrics.inception import has_classifier_head

            if not has_classifier_head(self.inception_weights()):
                fd.inception_score_unavailable()
        if "ll" in m and not (hasattr(self.model, "log_prob") or hasattr(self.model, "elbo")):
            raise LightgenError(
                f"metric 'll' needs a model with log_prob/elbo; {type(self.model).__name__} has no likelihood: "
                "use 'parzen' (with its caveats) or fid/kid/prc/cfid"
            )
        if "ll" in m and self.options.split == "train" and getattr(self.dm, "binarize", "none") == "dynamic":
            raise LightgenError(
                "metric 'll' on --split train of a dynamically binarized datamodule: its training images are grey "
                "(binarized afresh per batch in training), so their likelihood is not the model's; use --split "
                "test or val (binarized once, seeded)"
            )
        if m & {"cfid", "modes"} and not self.mixture and self.dataset not in CLASSIFIER_DATASETS:
            raise LightgenError(
                f"metrics cfid/modes need a domain classifier, available for {CLASSIFIER_DATASETS}; "
                f"not for {self.dataset!r}"
            )

    def split(self, name: str) -> Any:
        ds = {"train": self.dm.train_set, "val": self.dm.val_set, "test": self.dm.test_set}[name]
        if ds is None:
            raise LightgenError(f"the datamodule has no {name} split (val_size 0?); choose another with --split")
        return ds

    # ------------------------------------------------------------------ feature spaces
    def inception_weights(self) -> Path:
        from lightgen.metrics.inception import inception_weights_path

        if self.options.inception_weights == "download":
            from lightgen.metrics.inception import torch_fidelity_weights

            return torch_fidelity_weights()
        weights = (
            Path(self.options.inception_weights)
            if self.options.inception_weights
            else inception_weights_path(self.dm.root)
        )
        if not weights.is_file():
            raise LightgenError(f"Inception weights file not found: {weights}; run `lightgen data prepare inception`")
        return weights

    def inception(self, logits: bool = False) -> fd.FeatureSpace:
        resize = self.options.resize
        return fd.inception_space(self.inception_weights(), self.device, logits=logits, resize=resize)

    def classifier(self, dataset: str | None = None) -> tuple[fd.FeatureSpace, Any]:
        """The domain classifier of ``dataset`` (default: the datamodule's) as a feature space, and the net."""
        from lightgen.metrics.classifier import classifier_path, classifier_space

        dataset = dataset or self.dataset
        path = Path(self.options.classifier) if self.options.classifier else classifier_path(self.dm.root, dataset)
        return classifier_space(path, self.device, dataset)

    def key(self, space: fd.FeatureSpace, split: str, n: int, extra: str = "") -> str:
        """The cache key of ``n`` real images of ``split`` in ``space``: everything that selects the images
        (the datamodule's seed, split sizes, folder...), the weights and the resize rule."""
        selection = {**self.selection, "resize_rule": space.resize_rule}
        return cache_key(
            self.dataset, split, self.image_size, n, space.name, space.weights_sha256, self.extra + extra, selection
        )

    def real_features(self, space: fd.FeatureSpace, split: str, n: int, desc: str) -> torch.Tensor:
        ds = self.split(split)
        n = min(n, len(ds))

        def compute() -> torch.Tensor:
            return fd.extract(
                fd.dataset_batches(ds, n, self.options.batch_size, self.value_range), space, self.task(desc, n)
            )

        feats, _ = cached_features(self.key(space, split, n), compute, self.dm.root, enabled=not self.options.no_cache)
        return feats

    def real_cached(self, space: fd.FeatureSpace, split: str, n: int) -> bool:
        n = min(n, len(self.split(split)))
        return not self.options.no_cache and is_cached(self.key(space, split, n), self.dm.root)

    def estimate(
        self, first: int, t_sample: float, n_timed: int, t_space: dict[str, float], n_gen: int, n_feat: int
    ) -> str:
        """The expected time of the sampling and feature passes, from the first batch's timings: ``first``
        samples drawn in ``t_sample`` seconds, ``n_timed`` of them through each feature space in ``t_space``."""
        m, opts = set(self.metrics), self.options
        per_feat = {k: t / max(n_timed, 1) for k, t in t_space.items()}
        seconds = t_sample / first * n_gen + sum(per_feat.values()) * n_feat
        n_real = opts.num_real or opts.num_samples
        real = 0
        for name, t in per_feat.items():
            wanted = (name == "inception" and m & {"fid", "kid", "prc"}) or (name == "classifier" and "cfid" in m)
            if wanted and not self.real_cached(self.spaces[name], opts.split, n_real):
                real += min(n_real, len(self.split(opts.split)))
                seconds += t * min(n_real, len(self.split(opts.split)))
        rate = 1 / max(t_sample / first + sum(per_feat.values()), 1e-9)
        line = (
            f"estimated time: {_duration(seconds)} for {n_gen} samples and {real} uncached real images "
            f"({rate:.3g} samples/s with every feature space, measured on the first batch of {first}"
        )
        rest = [x for x in ("nn", "ll", "parzen") if x in m]
        return line + (f"; {', '.join(rest)} not included)" if rest else ")")

    # ------------------------------------------------------------------ the run
    def run(self) -> Report:
        """Every requested metric into ``self.report``, which is returned."""
        self.check()
        self.dm.setup("fit")
        m = set(self.metrics)
        opts = self.options
        if self.sequence:
            run_sequence_metrics(self)
            return self.report
        if self.text_to_image:  # samples of the split's captions against the same items' images
            run_text_metrics(self)
            return self.report
        if self.translation:  # translations of the test split against their targets, not samples of a prior
            TranslationEvaluation(self).run()
            return self.report
        if self.mixture:  # 2-D points: the known modes, no feature space (check() refused the image metrics)
            if "modes" in m:
                self.mixture_modes()
            if "ll" in m:
                self.likelihood()
            return self.report
        spaces: dict[str, fd.FeatureSpace] = {}
        self.spaces = spaces
        net = None
        if m & {"fid", "kid", "prc", "is"}:
            spaces["inception"] = self.inception(logits="is" in m)
        if m & {"cfid", "modes"} or ("nn" in m and self.dataset in CLASSIFIER_DATASETS):
            try:
                spaces["classifier"], net = self.classifier()
            except LightgenError:
                if m & {"cfid", "modes"}:
                    raise
        keep = max(opts.nn_num if "nn" in m else 0, opts.parzen_samples if "parzen" in m else 0)
        n_feat = opts.num_samples if m & {"fid", "kid", "prc", "is", "cfid", "modes"} else 0
        n_gen = max(n_feat, keep)
        gen_feats: dict[str, list[torch.Tensor]] = {k: [] for k in spaces}
        probs: list[torch.Tensor] = []
        asked: list[torch.Tensor] = []  # a conditional model's labels of the samples, for class accuracy
        conditional = int(getattr(self.model, "num_classes", 0) or 0) > 0
        want_probs = net is not None and ("modes" in m or (conditional and "cfid" in m))
        kept: list[torch.Tensor] = []
        if n_gen:
            advance = self.task("sampling + features", n_gen)
            drawn = 0
            t0 = time.perf_counter()
            t_space: dict[str, float] = {}
            n_timed = 0
            for x, y in fd.labelled_sample_batches(self.model, n_gen, opts.batch_size, opts.seed):
                t_sample = time.perf_counter() - t0
                if drawn < n_feat:
                    xs = x[: n_feat - drawn]
                    n_timed = n_timed or len(xs)
                    for k, space in spaces.items():
                        t1 = time.perf_counter()
                        gen_feats[k].append(space(xs))
                        t_space[k] = time.perf_counter() - t1
                    if y is not None:
                        asked.append(y[: n_feat - drawn])
                    if want_probs:  # from the features just computed: one pass of the net
                        with torch.no_grad():
                            logits = net.logits_from_features(gen_feats["classifier"][-1].to(self.device))
                            probs.append(torch.softmax(logits, 1).cpu())
                if sum(len(t) for t in kept) < keep:
                    kept.append(x)
                if drawn == 0:  # the first batch times every stage: the estimate of the whole run
                    print(self.estimate(len(x), t_sample, n_timed, t_space, n_gen, n_feat), flush=True)
                drawn += len(x)
                advance(len(x))
                t0 = time.perf_counter()
        n_real = opts.num_real or opts.num_samples
        for name, space in spaces.items():
            if not gen_feats[name]:  # the classifier only serves the nn check
                continue
            g = torch.cat(gen_feats[name])
            if name == "inception" and "is" in m:
                g, logits = g[:, :2048], g[:, 2048:]
                self.report.add("is", fd.inception_score(logits, seed=opts.seed), **self.card(space, len(g), 0))
            if (name == "inception" and m & {"fid", "kid", "prc"}) or (name == "classifier" and "cfid" in m):
                r = self.real_features(space, opts.split, n_real, f"real {opts.split} features ({name})")[
                    :, : g.shape[1]
                ]
                self.fidelity(name, space, g, r, m)
        if "modes" in m:
            self.modes(torch.cat(probs), spaces["classifier"])
        if want_probs and asked:
            self.class_accuracy(torch.cat(probs), torch.cat(asked), spaces["classifier"])
        images = torch.cat(kept) if kept else None
        if "nn" in m:
            self.nn(images[: opts.nn_num], spaces.get("classifier"))
        if "parzen" in m:
            self.parzen(images[: opts.parzen_samples])
        if "ll" in m:
            self.likelihood()
        return self.report

    def card(self, space: fd.FeatureSpace | None, n_gen: int, n_real: int, split: str | None = None) -> dict[str, Any]:
        card: dict[str, Any] = {
            "num_generated": n_gen,
            "num_real": n_real,
            "real_split": f"{self.dataset}/{split or self.options.split}",
        }
        if space is not None:
            card.update(space.card())
        return card

    def fidelity(self, name: str, space: fd.FeatureSpace, g: torch.Tensor, r: torch.Tensor, m: set[str]) -> None:
        card = self.card(space, len(g), len(r))
        if name == "classifier":
            if "cfid" in m:
                self.report.add("cfid", {"cfid": fd.fid_from_features(g, r)}, **card)
            return
        if "fid" in m:
            self.report.add("fid", {"fid": fd.fid_from_features(g, r)}, **card)
        if "kid" in m:
            out = fd.kid(g, r, seed=self.options.seed)
            self.report.add(
                "kid",
                {"kid": out["kid"], "kid_std": out["kid_std"]},
                kid_subsets=100,
                kid_subset_size=out["kid_subset_size"],
                **card,
            )
        if "prc" in m:
            self.report.add(
                "prc", fd.precision_recall(g, r), neighbourhood_k=3, prc_feature_space=PRC_FEATURE_NOTE, **card
            )

    def modes(self, probs: torch.Tensor, space: fd.FeatureSpace) -> None:
        from lightgen.metrics.classifier import class_histogram

        card = self.card(space, len(probs), 0)
        card["real_split"] = "none (classifier trained on the training split)"
        self.report.add("modes", class_histogram(probs), **card)

    def mixture_modes(self) -> None:
        """Mode coverage of ``--num-samples`` samples (batch i seeded ``--seed`` + i) against the
        datamodule's ``mode_centers`` and ``mode_std`` (:func:`lightgen.metrics.modes.mixture_mode_coverage`)."""
        from lightgen.metrics.modes import mixture_mode_coverage

        n, bs, seed = self.options.num_samples, self.options.batch_size, self.options.seed
        advance = self.task("samples (modes)", n)
        parts = []
        for i, start in enumerate(range(0, n, bs)):
            with torch.no_grad():
                parts.append(self.model.sample(min(bs, n - start), seed=seed + i).detach().float().cpu().flatten(1))
            advance(len(parts[-1]))
        std = float(self.dm.mode_std)
        out = mixture_mode_coverage(torch.cat(parts), self.dm.mode_centers, std)
        card = self.card(None, n, 0)
        card.update(
            real_split="none (the mixture's known centres and std)",
            feature_extractor="none (the 2-D points themselves)",
            resize_rule="none",
            mode_std=std,
            mode_assignment="nearest centre, Euclidean distance",
            high_quality=f"distance to the nearest centre <= 3 std = {3 * std:g}",
            mode_hit="at least 1 high-quality sample assigned to the mode",
            kl_definition="reverse KL(p_model || uniform) = sum_k p_k log(M p_k), p_k the share of the "
            "high-quality samples nearest mode k; inf when none is high quality",
        )
        self.report.add("modes", out, **card)

    def class_accuracy(self, probs: torch.Tensor, labels: torch.Tensor, space: fd.FeatureSpace) -> None:
        """A conditional model's samples classified as the class they were asked for, per class."""
        from lightgen.metrics.classifier import class_accuracy

        k = int(self.model.num_classes)
        card = self.card(space, len(probs), 0)
        card["real_split"] = "none (classifier trained on the training split)"
        seeds = f"batch i seeded {self.options.seed} + i"
        card["labels_asked"] = f"i.i.d. uniform over the {k} classes (the model's prior, {seeds})"
        self.report.add("class_accuracy", class_accuracy(probs, labels, k), **card)

    def nn(self, images: torch.Tensor, space: fd.FeatureSpace | None) -> None:
        """The memorisation check with the training set streamed in chunks of :data:`NN_CHUNK` images
        (their classifier features cached per chunk): memory does not grow with the training set."""
        from lightgen.metrics.memorisation import streamed_memorisation_check

        train_set, test_set = self.split("train"), self.split("test")
        test = torch.cat(list(fd.dataset_batches(test_set, len(images), 1000, self.value_range)))
        test_features = None
        if space is not None:
            test_features = self.real_features(space, "test", len(test), "test features (nn)")
        advance = self.task("train set (nn)", len(train_set))

        def chunks() -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
            start = 0
            for x in fd.dataset_batches(train_set, len(train_set), NN_CHUNK, self.value_range):
                feats = None
                if space is not None:  # the training set's features are the same for every model: cached

                    def compute(x: torch.Tensor = x) -> torch.Tensor:
                        return fd.extract(fd.tensor_batches(x, self.options.batch_size), space)

                    key = self.key(space, "train", len(x), f"-from{start}")
                    feats, _ = cached_features(key, compute, self.dm.root, enabled=not self.options.no_cache)
                yield x, feats
                start += len(x)
                advance(len(x))

        png = self.options.nn_png or str(Path(self.options.out).with_suffix("")) + "_nn.png"
        out = streamed_memorisation_check(
            images, chunks(), test, feature_space=space, test_features=test_features, png=png
        )
        card = self.card(space, len(images), len(train_set), "train (neighbours) / test (reference)")
        card["pixel_space"] = "pixels in [0, 1], L2"
        card["train_streamed"] = f"chunks of {NN_CHUNK} training images, running nearest neighbour kept"
        self.report.add("nn", out, **card)
        if out["flagged"]:
            self.report.warnings.append(
                "nn: samples are much closer to training images than held-out images are: the model may memorise"
            )

    def parzen(self, samples: torch.Tensor) -> None:
        from lightgen.metrics.parzen import THEIS_WARNING, parzen_estimate

        val = torch.cat(list(fd.dataset_batches(self.split("val"), self.options.parzen_val, 1000, self.value_range)))
        test = torch.cat(list(fd.dataset_batches(self.split("test"), self.options.parzen_test, 1000, self.value_range)))
        out = parzen_estimate(samples, val, test)
        out.pop("validation_scores", None)
        card = self.card(None, len(samples), len(test), "test (bandwidth on val)")
        card.update(feature_extractor="pixels in [0, 1]", resize_rule="none")
        self.report.add("parzen", out, **card)
        self.report.warnings.append(THEIS_WARNING)

    def likelihood(self) -> None:
        from lightgen.metrics.likelihood import likelihood_metrics

        ds = self.split(self.options.split)  # the split asked for, as the card says (train: the training NLL)
        n = min(self.options.ll_num or len(ds), len(ds))
        bs = self.options.batch_size
        # the data in its own range (the model's), not mapped to [0, 1]
        batches = (torch.stack([ds[i][0] for i in range(s, min(n, s + bs))]) for s in range(0, n, bs))
        out = likelihood_metrics(
            self.model, batches, k=self.options.ll_k, seed=self.options.seed, progress=self.task("likelihood", n)
        )
        card = self.card(None, 0, n, self.options.split)
        card.update(feature_extractor="none (the model's own density)", resize_rule="none", ll_seed=self.options.seed)
        for name in ("exact", "elbo", "is_estimate"):
            if name in out:
                extra = {"k": out["k"]} if name == "is_estimate" else {}
                self.report.add(f"ll_{name}", out[name], **extra, **card)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
