"""``lightgen evaluate`` for text-to-image models (StackGAN): FID/KID against the same items' real images and
the text-image matching score of the samples with their captions.

For the first ``--num-samples`` items of ``--split`` one image is drawn per item from that item's caption
(batch i of ``--batch-size`` items seeded ``--seed`` + i), at the model's ``sample_shape``.

- ``fid`` / ``kid``: Inception features of the generated images against those of the same items' real images,
  area-resized to the model's sample size (stage I: ``stage1_size``; stage II: the data size, no resize).
- ``matching``: the mean cosine score of each generated image with its caption under the project's matching
  model (:class:`lightgen.models.text_matching.TextImageMatching`, the text encoder stored in the StackGAN),
  beside the real image with its own caption (the ceiling) and with the batch's captions rolled by one (a
  mismatched caption: the floor), each with the standard error over items; plus an R-precision-style accuracy
  (R = 1): the item's caption ranked first among its batch's captions, for generated and real images.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from lightgen.errors import LightgenError
from lightgen.metrics import fidelity as fd

if TYPE_CHECKING:
    from lightgen.metrics.runner import Evaluation

TEXT_TO_IMAGE_METRICS = ("fid", "kid", "matching")


def is_text_to_image_model(model: Any) -> bool:
    """A model drawing images from captions: StackGAN's ``sample_stages`` and ``encode_captions``."""
    return callable(getattr(model, "sample_stages", None)) and callable(getattr(model, "encode_captions", None))


def check_text_request(metrics: set[str], model: Any, dm: Any) -> None:
    """One-line errors before any work: 'matching' for other models, other metrics for text-to-image ones."""
    name = type(model).__name__
    if not is_text_to_image_model(model):
        if "matching" in metrics:
            raise LightgenError(f"metric 'matching' is for text-to-image models (StackGAN); {name} is not one")
        return
    other = metrics - set(TEXT_TO_IMAGE_METRICS)
    if other:
        raise LightgenError(
            f"{name} draws images from captions: use {', '.join(TEXT_TO_IMAGE_METRICS)} (not {','.join(sorted(other))})"
        )
    if not callable(getattr(dm, "captions", None)):  # check() runs before setup: the vocabulary comes later
        raise LightgenError(
            f"text-to-image metrics need a captioned datamodule; {type(dm).__name__} serves no captions"
        )
    if "matching" in metrics and not callable(getattr(getattr(model, "text_encoder", None), "score", None)):
        raise LightgenError(f"metric 'matching' needs the matching model stored in the {name}; it has none")


def _stats(values: torch.Tensor) -> tuple[float, float]:
    n = len(values)
    return float(values.mean()), float(values.std() / math.sqrt(n)) if n > 1 else float("nan")


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    mode = "area" if x.shape[-1] > size else "bilinear"
    return F.interpolate(x, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))


def text_batches(ev: Evaluation) -> Any:
    """(real images, caption ids, lengths, generated images) per batch of the first ``--num-samples`` items of
    ``--split``; the generated images drawn from the items' captions with seed ``--seed`` + i."""
    model, opts = ev.model, ev.options
    ds = ev.split(opts.split)
    n = min(opts.num_samples, len(ds))
    for i, start in enumerate(range(0, n, opts.batch_size)):
        items = [ds[j] for j in range(start, min(n, start + opts.batch_size))]
        real = torch.stack([it[0] for it in items])
        ids = torch.stack([torch.as_tensor(it[1]) for it in items]).long()
        lengths = torch.stack([torch.as_tensor(it[2]) for it in items]).long()
        with torch.no_grad():  # StackGAN.sample's path with the items' own caption ids (no re-encoding of text)
            latent = model.latent_prior(len(items), model.make_generator(opts.seed + i))
            fake = model.sample_from(latent.with_context(model.embed_text(ids, lengths))).detach().float().cpu()
        yield real, ids, lengths, fake


def run_text_metrics(ev: Evaluation) -> None:
    """Add the requested text-to-image metrics to ``ev.report``."""
    model, opts, m = ev.model, ev.options, set(ev.metrics)
    size = int(model.sample_shape[-1])
    space = ev.inception() if m & {"fid", "kid"} else None
    matcher = model.text_encoder if "matching" in m else None
    match_size = int(matcher.data_shape[-1]) if matcher is not None else size
    gen_f, real_f, scores = [], [], {"generated": [], "real": [], "mismatched": []}
    top1 = {"generated": [], "real": []}
    n = min(opts.num_samples, len(ev.split(opts.split)))
    advance = ev.task("text-to-image samples", n)
    for real, ids, lengths, fake in text_batches(ev):
        real_s = _resize(real.float(), size)
        if space is not None:
            gen_f.append(space(fd.to_unit(fake, ev.value_range)))
            real_f.append(space(fd.to_unit(real_s, ev.value_range)))
        if matcher is not None:
            with torch.no_grad():
                dev = next(matcher.parameters()).device
                t = matcher.encode_text(ids.to(dev), lengths.to(dev))
                for name, x in (("generated", fake), ("real", real.float())):
                    v = matcher.encode_image(_resize(x, match_size).to(dev))
                    sim = v @ t.T  # (B, B): image i against every caption of the batch
                    scores[name].append(sim.diagonal().cpu())
                    same = (ids[:, None, :] == ids[None, :, :]).all(2).to(dev)  # identical captions are right
                    top1[name].append(same.gather(1, sim.argmax(1, keepdim=True)).squeeze(1).float().cpu())
                    if name == "real":
                        scores["mismatched"].append((v * t.roll(1, dims=0)).sum(1).cpu())
        advance(len(real))
    seeds = f"batch i of {opts.batch_size} items drawn with seed {opts.seed} + i"
    card = {
        "num_generated": n,
        "num_real": n,
        "real_split": f"{ev.dataset}/{opts.split}",
        "pairing": f"one image per item of the first {n} of {opts.split}, from that item's caption "
        f"(the caption the dataset serves for it: the first of its captions for unkeyed val/test items), {seeds}",
        "sample_size": size,
    }
    if space is not None:
        g, r = torch.cat(gen_f), torch.cat(real_f)
        fcard = {
            **card,
            **space.card(),
            "real_resize": f"real images area-resized from {ev.image_size} to the model's sample size {size}"
            if ev.image_size != size
            else f"none (real images at the sample size {size})",
        }
        if "fid" in m:
            ev.report.add("fid", {"fid": fd.fid_from_features(g, r)}, **fcard)
        if "kid" in m:
            out = fd.kid(g, r, seed=opts.seed)
            ev.report.add(
                "kid",
                {"kid": out["kid"], "kid_std": out["kid_std"]},
                kid_subsets=100,
                kid_subset_size=out["kid_subset_size"],
                **fcard,
            )
    if matcher is not None:
        values: dict[str, float] = {}
        for name, key in (("generated", "matching"), ("real", "matching_real"), ("mismatched", "matching_mismatched")):
            values[key], values[f"{key}_se"] = _stats(torch.cat(scores[name]))
        values["r_precision"], values["r_precision_se"] = _stats(torch.cat(top1["generated"]))
        values["r_precision_real"], values["r_precision_real_se"] = _stats(torch.cat(top1["real"]))
        ev.report.add(
            "matching",
            values,
            **card,
            matching_model=f"{type(matcher).__name__}: the text encoder stored in the {type(model).__name__} "
            "(the same frozen model whose embeddings conditioned its training, so the score is not independent "
            "of it; StackGAN/AttnGAN's R-precision uses a separately trained matching model)",
            definition="cosine similarity of the matching model's unit image and text embeddings; mean over items",
            ceiling="matching_real: each real image with its own caption",
            floor="matching_mismatched: each real image with the caption of the previous item of its batch "
            "(captions rolled by one)",
            r_precision=f"R = 1: the item's caption ranked first among the {opts.batch_size} captions of its batch "
            "(an identical caption counts as right); chance about 1 / batch size",
            error="*_se: standard error over items",
            matching_resize=f"to the matching model's {match_size}, bilinear up / area down: generated images "
            f"from {size}, real images from {ev.image_size}"
            if not size == match_size == ev.image_size
            else "none",
            feature_extractor="the matching model's image and text encoders",
        )
