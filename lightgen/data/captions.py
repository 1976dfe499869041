"""Captions for Fashion-MNIST (Xiao et al. 2017), so text-to-image models (StackGAN, Zhang et al. 2017) have
an embedded dataset of (image, caption) pairs.

Each caption names the image's class and three attributes read off its pixels:

- **tone** (``light`` / ``grey`` / ``dark``): the mean intensity of the object pixels (those above
  :data:`OBJECT_THRESHOLD`). Fashion-MNIST negated the product photos' intensities (Xiao et al. 2017,
  sec. 2, step 6), so a high value is a dark garment on the original white background.
- **size** (``small`` / ``large``): the fraction of the frame the object covers. Every item was scaled so
  its longest side fills the frame (sec. 2, step 4), so coverage measures how wide or full the item is.
- **pattern** (``plain`` / ``patterned``): the mean absolute difference between neighbouring object pixels.

The thresholds are per-class quantiles over the training images (tone: tertiles; size: the median;
pattern: the upper tertile), so every value of every attribute is common within every class: a caption
then says something about the image that its class does not. Overall thresholds would make the attributes
mostly restate the class (trousers are always narrow, bags large). The words of a caption come from
templates and synonyms drawn in row ``i`` of one draw seeded by (seed, stream): the captions are a pure
function of the images, the thresholds and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightgen.errors import LightgenError
from lightgen.seeds import mix_seed

#: version of the caption grammar below (templates, words, thresholds): part of the saved vocabulary's file name
CAPTIONS_VERSION = 1
#: uint8 intensity above which a pixel belongs to the object (0.1 of full scale; the background is 0)
OBJECT_THRESHOLD = 25

#: per class: (noun phrases that may name it, the article before an adjective: "a" or "a pair of")
CLASS_PHRASES: tuple[tuple[str, ...], ...] = (
    ("t-shirt", "top", "tee"),
    ("pair of trousers", "pair of pants"),
    ("pullover", "sweater", "jumper"),
    ("dress",),
    ("coat", "jacket"),
    ("pair of sandals",),
    ("shirt", "blouse"),
    ("sneaker", "trainer"),
    ("bag", "handbag"),
    ("ankle boot", "boot"),
)
#: the words that identify each class (one of them is in every caption of that class, none of another's)
CLASS_WORDS: tuple[frozenset[str], ...] = (
    frozenset({"t-shirt", "top", "tee"}),
    frozenset({"trousers", "pants"}),
    frozenset({"pullover", "sweater", "jumper"}),
    frozenset({"dress"}),
    frozenset({"coat", "jacket"}),
    frozenset({"sandals"}),
    frozenset({"shirt", "blouse"}),
    frozenset({"sneaker", "trainer"}),
    frozenset({"bag", "handbag"}),
    frozenset({"boot"}),
)
#: attribute -> words for each level (level 0 first); the first word of a level is its canonical word
ATTRIBUTE_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "tone": (("light", "pale"), ("grey", "mid-grey"), ("dark", "deep-toned")),
    "size": (("small", "slim"), ("large", "wide")),
    "pattern": (("plain", "smooth"), ("patterned", "textured")),
}
#: templates; {tone} {size} {pattern} are attribute words, {thing} the class phrase with its article
TEMPLATES: tuple[str, ...] = (
    "{a_tone} {thing}",
    "{a_size} {tone} {thing}",
    "{a_tone}, {pattern} {thing}",
    "{a_thing} that is {tone} and {size}",
    "this {thing} is {tone}, {size} and {pattern}",
    "{a_pattern} {thing} in a {tone} shade",
    "a picture of {a_size}, {pattern} {thing}",
    "{a_thing}, {tone} and {pattern}",
)


@dataclass(frozen=True)
class Thresholds:
    """Per-class attribute thresholds: ``tone`` (10, 2) tertiles, ``size`` (10, 1) medians, ``pattern`` (10, 1)
    upper tertiles. A value above the j-th threshold of its class has level > j."""

    tone: torch.Tensor
    size: torch.Tensor
    pattern: torch.Tensor

    def to_json(self) -> dict[str, list[list[float]]]:
        return {name: getattr(self, name).tolist() for name in ATTRIBUTE_WORDS}

    @classmethod
    def from_json(cls, data: dict[str, list[list[float]]]) -> Thresholds:
        try:
            return cls(**{name: torch.tensor(data[name], dtype=torch.float64) for name in ATTRIBUTE_WORDS})
        except (KeyError, TypeError, ValueError) as err:
            raise LightgenError(
                f"caption thresholds are malformed ({err}); delete the captions file to rebuild it"
            ) from None


def measure(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Attributes of uint8 images (N, 1, H, W): ``tone`` (mean object intensity in [0, 1]), ``size`` (object
    fraction of the frame) and ``pattern`` (mean |difference| of neighbouring object pixels in [0, 1]), each (N,)."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise LightgenError(f"measure() takes uint8 images (N, C, H, W); got {images.dtype} {tuple(images.shape)}")
    x = images.float().mean(1, keepdim=True)
    mask = x > OBJECT_THRESHOLD
    count = mask.sum((1, 2, 3)).clamp(min=1)
    tone = ((x * mask).sum((1, 2, 3)) / count / 255.0).double()
    size = mask.double().mean((1, 2, 3))
    dx, mx = (x[..., 1:] - x[..., :-1]).abs(), mask[..., 1:] & mask[..., :-1]
    dy, my = (x[..., 1:, :] - x[..., :-1, :]).abs(), mask[..., 1:, :] & mask[..., :-1, :]
    pairs = (mx.sum((1, 2, 3)) + my.sum((1, 2, 3))).clamp(min=1)
    pattern = (((dx * mx).sum((1, 2, 3)) + (dy * my).sum((1, 2, 3))) / pairs / 255.0).double()
    return {"tone": tone, "size": size, "pattern": pattern}


_QUANTILES = {"tone": (1 / 3, 2 / 3), "size": (0.5,), "pattern": (2 / 3,)}


def fit_thresholds(attributes: dict[str, torch.Tensor], labels: torch.Tensor, num_classes: int = 10) -> Thresholds:
    """Per-class quantiles of the measured attributes (a class without images gets the overall quantiles)."""
    out = {}
    for name, qs in _QUANTILES.items():
        values, q = attributes[name].double(), torch.tensor(qs, dtype=torch.float64)
        rows = [
            values[labels == k].quantile(q) if (labels == k).any() else values.quantile(q) for k in range(num_classes)
        ]
        out[name] = torch.stack(rows)
    return Thresholds(**out)


def levels(attributes: dict[str, torch.Tensor], labels: torch.Tensor, thresholds: Thresholds) -> torch.Tensor:
    """(N, 3) int64 levels (tone, size, pattern) of each image under its class's thresholds."""
    cols = [(attributes[n].double()[:, None] > getattr(thresholds, n)[labels]).sum(1) for n in ATTRIBUTE_WORDS]
    return torch.stack(cols, 1)


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


class CaptionGenerator:
    """``captions_per_image`` distinct captions per image from its label and attribute levels, seeded.

    Image ``i`` of a stream gets distinct templates and a synonym for each slot, drawn in row ``i`` of one
    seeded draw: its captions depend only on (seed, stream, i, label, levels). The draw is vectorised and only
    the distinct (label, levels, choices) combinations are formatted, so 60k images take about a second.

    Args:
        captions_per_image: captions per image (CUB and Oxford-102 have 10; Reed et al. 2016).
        seed: seed of the choice of templates and synonyms.
    """

    def __init__(self, captions_per_image: int = 5, seed: int = 0) -> None:
        if not 1 <= captions_per_image <= len(TEMPLATES):
            raise LightgenError(f"captions_per_image must be in [1, {len(TEMPLATES)}]; got {captions_per_image}")
        self.captions_per_image, self.seed = captions_per_image, seed

    def __call__(self, labels: torch.Tensor, level: torch.Tensor, stream: int = 0) -> list[list[str]]:
        """The captions of images with ``labels`` (N,) and ``level`` (N, 3) (:func:`levels`); ``stream`` tells
        apart sets of images (e.g. the training and test files) so their captions are drawn independently."""
        labels, level = torch.as_tensor(labels).long(), torch.as_tensor(level).long()
        if labels.numel() and not (int(labels.min()) >= 0 and int(labels.max()) < len(CLASS_PHRASES)):
            raise LightgenError(f"labels must be in [0, {len(CLASS_PHRASES)}); got {labels.min()}..{labels.max()}")
        n, k = len(labels), self.captions_per_image
        gen = torch.Generator().manual_seed(mix_seed(self.seed, stream))
        # one draw, row i for image i (filled in order, so a row does not depend on how many images follow)
        u = torch.rand(n, len(TEMPLATES) + 4 * k, generator=gen, dtype=torch.float64)
        templates = u[:, : len(TEMPLATES)].argsort(1)[:, :k]
        # 6 = lcm(1, 2, 3): a pick modulo any list of 1, 2 or 3 synonyms is uniform
        picks = (u[:, len(TEMPLATES) :] * 6).long().clamp_(max=5).view(n, k, 4)
        # reduce each pick modulo its list's length, so equal captions have equal keys and are formatted once
        counts = torch.tensor([len(p) for p in CLASS_PHRASES])[labels][:, None].expand(n, k)
        picks[..., 0] %= counts
        for a, words in enumerate(ATTRIBUTE_WORDS.values()):
            picks[..., a + 1] %= torch.tensor([len(w) for w in words])[level[:, a]][:, None]
        rows = torch.cat([labels[:, None, None].expand(n, k, 1), level[:, None].expand(n, k, 3)], 2)
        keys = torch.cat([rows, templates[..., None], picks], 2).reshape(n * k, 9)
        unique, inverse = torch.unique(keys, dim=0, return_inverse=True)
        rendered = [self.render(*row) for row in unique.tolist()]
        flat = [rendered[i] for i in inverse.tolist()]
        return [flat[i * k : (i + 1) * k] for i in range(n)]

    @staticmethod
    def render(label: int, tone: int, size: int, pattern: int, template: int, *picks: int) -> str:
        """One caption: class ``label``, attribute levels, template index and four synonym picks."""
        phrases = CLASS_PHRASES[label]
        thing = phrases[picks[0] % len(phrases)]
        words = {}
        for (name, level), pick in zip((("tone", tone), ("size", size), ("pattern", pattern)), picks[1:]):
            choices = ATTRIBUTE_WORDS[name][level]
            words[name] = choices[pick % len(choices)]
        fields = {
            **words,
            "thing": thing,
            "a_thing": _article(thing),
            **{f"a_{k}": _article(v) for k, v in words.items()},
        }
        return TEMPLATES[template].format(**fields)
