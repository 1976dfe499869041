"""A small MNIST-domain classifier: a fast feature space ("classifier FID") and a mode counter.

Inception features were learnt on ImageNet photographs; on 28x28 digits a classifier trained on the
domain itself is both faster and more telling (as in the "FID on MNIST with a LeNet" practice, e.g.
Lucic et al. 2018 use Inception but note the domain gap; Binkowski et al. 2018 use a LeNet for MNIST).
The net is two conv blocks (16 and 32 channels) and a 128-unit penultimate layer; ``lightgen data
prepare mnist-classifier`` trains it (3 epochs, Adam, one-cycle schedule) on the MNIST training split
and reports its test accuracy (99.18% here; about 5.6 CPU-minutes).

Per-class counts of generated samples give mode coverage over the 10 classes and the KL divergence of
the class histogram from uniform (0 for a perfectly balanced generator, log 10 = 2.30 nats when all
samples fall in one class). For a conditional GAN (Mirza & Osindero 2014) the classifier also checks
that the samples asked for class k are classified as k (per-class accuracy, :func:`class_accuracy`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from lightgen.data.base import resolve_root
from lightgen.errors import LightgenError
from lightgen.files import file_sha256
from lightgen.metrics.fidelity import FeatureSpace

CLASSIFIER_INPUT = 28  # the net sees 28x28 grey images in [0, 1]


class DigitNet(nn.Module):
    """conv(16)-pool-conv(32)-pool-fc(128)-fc(classes) (widths scale with ``width``).

    ``features(x)`` is the 128-d penultimate layer, the feature space of the classifier FID."""

    def __init__(self, num_classes: int = 10, width: int = 16, hidden: int = 128) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.fc1 = nn.Linear(2 * width * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.config = {"num_classes": num_classes, "width": width, "hidden": hidden}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = prepare_input(x)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, w, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 2w, 7, 7)
        return F.relu(self.fc1(x.flatten(1)))  # (B, hidden)

    def logits_from_features(self, features: torch.Tensor) -> torch.Tensor:
        """Class logits from the penultimate features, so a caller holding them skips the conv layers."""
        return self.fc2(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_from_features(self.features(x))


def prepare_input(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> (B, 1, 28, 28): RGB averaged to grey, other sizes resized (bilinear, antialiased)."""
    if x.shape[1] == 3:
        x = x.mean(1, keepdim=True)
    if x.shape[-1] != CLASSIFIER_INPUT or x.shape[-2] != CLASSIFIER_INPUT:
        x = F.interpolate(
            x, size=(CLASSIFIER_INPUT, CLASSIFIER_INPUT), mode="bilinear", antialias=True, align_corners=False
        )
    return x


def train_classifier(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    width: int = 16,
    hidden: int = 128,
    log: Callable[[str], None] = print,
) -> DigitNet:
    """Train :class:`DigitNet` on uint8 images (N, 1, H, W) and labels (N,); returns it in eval mode."""
    torch.manual_seed(seed)
    net = DigitNet(max(10, int(train_y.max()) + 1), width, hidden)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    steps = epochs * math.ceil(len(train_x) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr * 3, total_steps=steps)
    net.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(train_x), generator=gen)
        t0, total = time.time(), 0.0
        for idx in perm.split(batch_size):
            x = train_x[idx].float() / 255.0
            loss = F.cross_entropy(net(x), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        log(f"classifier epoch {epoch + 1}/{epochs}: loss {total / len(train_x):.4f} ({time.time() - t0:.0f} s)")
    return net.eval()


@torch.no_grad()
def accuracy(net: DigitNet, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    correct = sum(
        int((net(xb.float() / 255.0).argmax(1) == yb).sum()) for xb, yb in zip(x.split(batch_size), y.split(batch_size))
    )
    return correct / max(1, len(y))


def classifier_path(root: str | Path | None = None, dataset: str = "mnist") -> Path:
    return resolve_root(root) / "classifiers" / f"{dataset}-digitnet.pt"


def save_classifier(net: DigitNet, path: Path, meta: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": net.state_dict(), "config": net.config, "meta": meta}, tmp)
    tmp.replace(path)
    return path


def load_classifier(path: str | Path, dataset: str = "mnist") -> tuple[DigitNet, dict[str, Any]]:
    """The trained classifier at ``path`` (weights_only) and its metadata, or a one-line error naming the fix."""
    path = Path(path)
    if not path.is_file():
        raise LightgenError(
            f"domain classifier not found at {path}; run `lightgen data prepare {dataset}-classifier`"
            if dataset in ("mnist", "fashion-mnist")
            else f"domain classifier not found at {path}; train one with lightgen.metrics.classifier.train_classifier"
        )
    blob = torch.load(path, map_location="cpu", weights_only=True)
    net = DigitNet(**blob["config"])
    net.load_state_dict(blob["state_dict"])
    return net.eval(), dict(blob.get("meta", {}))


def classifier_space(
    path: str | Path, device: str | torch.device = "cpu", dataset: str = "mnist"
) -> tuple[FeatureSpace, DigitNet]:
    """The classifier's 128-d penultimate features as a :class:`FeatureSpace` (and the net itself)."""
    net, meta = load_classifier(path, dataset)
    net = net.to(device)
    space = FeatureSpace(
        f"{meta.get('dataset', dataset)}-digitnet/penultimate-{net.config['hidden']}",
        net.features,
        file_sha256(path),
        "grey, bilinear (antialiased) resize to 28x28",
        torch.device(device),
    )
    return space, net


@torch.no_grad()
def class_probabilities(net: DigitNet, batches: Any, device: str | torch.device = "cpu") -> torch.Tensor:
    """Softmax class probabilities (N, K) of a stream of image batches in [0, 1]."""
    return torch.cat([F.softmax(net(x.to(device)), 1).cpu() for x in batches])


def class_histogram(probs: torch.Tensor, confidence: float = 0.9) -> dict[str, Any]:
    """Per-class counts of argmax predictions, modes hit, KL(histogram || uniform) and the confident share.

    A class counts as hit when at least one sample is assigned to it; "confident" samples have a top
    probability >= ``confidence`` (a proxy for recognisable, high-quality samples).
    """
    k = probs.shape[1]
    counts = torch.bincount(probs.argmax(1), minlength=k)
    p = counts.double() / counts.sum()
    nz = p > 0
    kl = float((p[nz] * (p[nz] * k).log()).sum())
    return {
        "class_counts": counts.tolist(),
        "modes_hit": int((counts > 0).sum()),
        "num_modes": k,
        "kl_from_uniform_nats": kl,
        "confident_share": float((probs.max(1).values >= confidence).double().mean()),
        "confidence_threshold": confidence,
    }


def class_accuracy(probs: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, Any]:
    """How often a conditional model's samples are classified as the class they were asked for.

    ``probs`` (N, K') are the classifier's probabilities of N samples, ``labels`` (N,) the classes asked
    of the model. Per-class accuracy (None for a class never asked), its mean over the asked classes,
    the overall accuracy and the count of samples asked per class. Chance level is 1 / K.
    """
    if probs.dim() != 2 or not len(probs) or labels.shape != (len(probs),):
        got = f"{tuple(probs.shape)} and {tuple(labels.shape)}"
        raise LightgenError(f"class accuracy needs probabilities (N, K) and N labels, N > 0; got {got}")
    labels = labels.long().cpu()
    correct = (probs.argmax(1).cpu() == labels).double()
    asked = torch.bincount(labels, minlength=num_classes)[:num_classes]
    hits = torch.bincount(labels, weights=correct, minlength=num_classes)[:num_classes]
    per_class = [float(h / a) if a else None for h, a in zip(hits, asked)]
    seen = [a for a in per_class if a is not None]
    return {
        "accuracy": float(correct.mean()),
        "mean_class_accuracy": sum(seen) / len(seen),
        "per_class_accuracy": per_class,
        "asked_per_class": asked.tolist(),
        "chance": 1.0 / num_classes,
    }


def prepare_mnist_classifier(
    root: str | Path | None = None, log: Callable[[str], None] = print, dataset: str = "mnist", epochs: int = 3
) -> Path:
    """``lightgen data prepare mnist-classifier``: train DigitNet on MNIST's 60k training images."""
    from lightgen.data.mnist import load_idx

    path = classifier_path(root, dataset)
    if path.is_file():
        _, meta = load_classifier(path, dataset)
        log(
            f"{dataset} classifier already trained: {path} "
            f"(test accuracy {meta.get('test_accuracy', float('nan')):.4f})"
        )
        return path
    root_path = resolve_root(root)
    train_x, train_y = load_idx(root_path, dataset, train=True)
    test_x, test_y = load_idx(root_path, dataset, train=False)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    t0 = time.time()
    net = train_classifier(train_x, train_y, epochs=epochs, log=log)
    acc = accuracy(net, test_x, test_y)
    meta = {
        "dataset": dataset,
        "epochs": epochs,
        "test_accuracy": acc,
        "train_images": len(train_x),
        "seconds": time.time() - t0,
    }
    save_classifier(net, path, meta)
    log(f"{dataset} classifier trained in {meta['seconds']:.0f} s: test accuracy {acc:.4f}; saved to {path}")
    if dataset == "mnist" and acc < 0.99 and len(train_x) == 60000:
        log("warning: test accuracy below 0.99; the classifier feature space is weaker than intended")
    return path


def prepare_fashion_mnist_classifier(root: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """``lightgen data prepare fashion-mnist-classifier``: the same DigitNet on Fashion-MNIST's 10 classes."""
    return prepare_mnist_classifier(root, log=log, dataset="fashion-mnist")
