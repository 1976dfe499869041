"""Conditional GANs (Mirza & Osindero 2014; projection D of Miyato & Koyama 2018): nets, hooks, training,
class grids, `lightgen sample --label / --class-grid` and the per-class accuracy of `lightgen evaluate`."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import CONFIGS, make_mnist_tree, quiet_trainer, synthetic_digits
from metrics.metric_fixtures import tiny_classifier  # noqa: F401  (fixture)
from PIL import Image

from lightgen.callbacks import SampleGrid
from lightgen.callbacks.sample_grid import to_grid
from lightgen.cli import main
from lightgen.data import MNIST
from lightgen.errors import LightgenError
from lightgen.metrics.classifier import class_accuracy
from lightgen.models import GAN, ConditionalDCGAN, ConditionalGAN
from lightgen.models.latent import Latent
from lightgen.nets.conditional import (
    ConditionalDCGANDiscriminator,
    ConditionalDCGANGenerator,
    ConditionalMLPDiscriminator,
    ConditionalMLPGenerator,
)

K = 10
TINY = {"latent_dim": 8, "g_hidden": (16,), "d_hidden": (16,)}


def tile(n: int, size: int = 28) -> int:
    """Pixels of n grid cells of size-px images (make_grid pads by 2)."""
    return n * (size + 2) + 2


# ------------------------------------------------------------------ networks
GENERATORS = {
    "mlp": lambda: ConditionalMLPGenerator(6, K, (1, 28, 28), (16,)),
    "dcgan": lambda: ConditionalDCGANGenerator(6, K, (1, 32, 32), width=4),
}


@pytest.mark.parametrize("kind", GENERATORS)
def test_generator_sample_depends_on_its_own_label_and_not_on_the_batch(kind: str) -> None:
    torch.manual_seed(0)
    g = GENERATORS[kind]().eval()
    z, y = torch.randn(5, 6), torch.tensor([3, 1, 4, 1, 5])
    with torch.no_grad():
        base = g(z, y)
        other_batch = g(torch.cat([torch.randn(2, 6), z[2:3]]), torch.tensor([7, 0, 4]))  # sample 2 at index 2
        others_relabelled = g(z, torch.tensor([9, 9, 4, 9, 9]))
        relabelled = g(z, torch.tensor([3, 1, 5, 1, 5]))
    scale = base[2].abs().max()  # a fresh DCGAN G's outputs are small (N(0, 0.02) weights): compare relatively
    assert (other_batch[2] - base[2]).abs().max() <= 1e-4 * scale  # same z and label, another batch: same sample
    assert (others_relabelled[2] - base[2]).abs().max() <= 1e-4 * scale  # other members' labels do not matter
    assert (relabelled[2] - base[2]).abs().max() > 0.05 * scale  # its own label does
    assert torch.equal(relabelled[[0, 1, 3, 4]], base[[0, 1, 3, 4]])


DISCRIMINATORS = {
    "mlp-concat": lambda: ConditionalMLPDiscriminator((1, 28, 28), K, (16,), conditioning="concat"),
    "mlp-projection": lambda: ConditionalMLPDiscriminator((1, 28, 28), K, (16,), conditioning="projection"),
    "dcgan-concat": lambda: ConditionalDCGANDiscriminator((1, 32, 32), K, width=4, conditioning="concat"),
    "dcgan-projection": lambda: ConditionalDCGANDiscriminator((1, 32, 32), K, width=4, conditioning="projection"),
}


@pytest.mark.parametrize("kind", DISCRIMINATORS)
def test_concatenation_and_projection_discriminators_respond_to_the_label(kind: str) -> None:
    torch.manual_seed(0)
    d = DISCRIMINATORS[kind]().eval()
    x = torch.randn(4, *d.in_shape)
    y = torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        base, moved = d(x, y), d(x, (y + 5) % K)
        one_moved = d(x, torch.tensor([0, 1, 7, 3]))
    assert base.shape == (4,)
    assert ((base - moved).abs() > 1e-6).all()  # every logit depends on its label
    assert torch.allclose(one_moved[[0, 1, 3]], base[[0, 1, 3]], atol=1e-6) and one_moved[2] != base[2]
    if kind == "dcgan-concat":  # the label planes are extra input channels: C + K
        assert d.net.body[0].in_channels == 1 + K
    if kind.endswith("projection"):
        assert d.embed.weight.shape == (K, d.feature_dim)
    with pytest.raises(LightgenError, match="one label per example"):
        d(x, y[:3])


# ------------------------------------------------------------------ the model's hooks
def test_prior_and_condition_on_batch_pair_each_fake_with_its_real_images_label() -> None:
    model = ConditionalGAN((1, 28, 28), num_classes=K, **TINY)
    drawn = model.latent_prior(500, torch.Generator().manual_seed(0))
    assert drawn.labels.dtype == torch.int64 and set(drawn.labels.tolist()) == set(range(K))
    x, y = torch.zeros(6, 1, 28, 28), torch.tensor([9, 0, 0, 4, 4, 4])
    latent = model.sample_latent(6, batch=(x, y))
    assert torch.equal(latent.labels, y)
    assert model.sample_latent(6, batch=None).labels.shape == (6,)  # no batch: the drawn labels
    for bad, expected in [(x, "this batch has no labels"), ((x, torch.tensor([0, 1, 2, 3, 4, 10])), r"\[10\]")]:
        with pytest.raises(LightgenError, match=expected) as err:
            model.condition_on_batch(model.latent_prior(6), bad)
        assert "\n" not in str(err.value)


class Recorder(ConditionalGAN):
    """Records the labels of each training batch and of every D call made while it is processed."""

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self.batches = [*getattr(self, "batches", []), batch[1].clone()]
        self.seen = [*getattr(self, "seen", []), []]

    def discriminate(self, x: torch.Tensor, latent: Latent | None = None) -> torch.Tensor:
        if self.training and getattr(self, "seen", None):
            self.seen[-1].append(latent.labels.clone())
        return super().discriminate(x, latent)


def test_every_d_and_g_step_pairs_real_and_fake_with_the_batch_labels(mnist_root: Path, tmp_path: Path) -> None:
    model = Recorder((1, 28, 28), **TINY)
    dm = MNIST(root=str(mnist_root), batch_size=16, val_size=64)
    quiet_trainer(max_steps=6, default_root_dir=tmp_path).fit(model, dm)
    assert len(model.batches) == 3 and all(len(s) >= 3 for s in model.seen)  # D on real, D on fake, G
    for labels, calls in zip(model.batches, model.seen):
        assert all(torch.equal(c, labels) for c in calls)


@pytest.mark.parametrize(
    ("cls", "shape", "dataset", "extra"),
    [
        (ConditionalGAN, (1, 28, 28), "mnist", TINY),
        (ConditionalDCGAN, (1, 32, 32), "fashion-mnist", {"latent_dim": 8, "g_width": 4, "d_width": 4}),
    ],
)
def test_tiny_model_trains_and_sample_grid_writes_one_row_per_class(
    cls: type, shape: tuple[int, ...], dataset: str, extra: dict, mnist_root: Path, tmp_path: Path
) -> None:
    model = cls(shape, conditioning="projection", **extra)
    before = [p.detach().clone() for p in model.generator.parameters()]
    grid = SampleGrid(every_n_steps=2, num_samples=4, nrow=3, seed=0)
    dm = MNIST(root=str(mnist_root), dataset=dataset, image_size=shape[-1], batch_size=16, val_size=64)
    quiet_trainer(max_steps=6, callbacks=[grid], default_root_dir=tmp_path).fit(model, dm)
    assert model.generator_steps == 3
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
    assert Image.open(grid.last_path).size == (tile(3, shape[-1]), tile(K, shape[-1]))  # K rows of nrow
    rows = model.sample(2 * K, seed=0, labels=torch.arange(K).repeat_interleave(2))
    assert torch.isfinite(rows).all() and rows.shape == (2 * K, *shape)


# ------------------------------------------------------------------ lightgen sample
@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A ConditionalGAN trained 2 steps by `lightgen fit` on configs/cgan.yaml (smaller nets), and a GAN."""
    base = tmp_path_factory.mktemp("cgan")
    root = make_mnist_tree(base / "data", "MNIST")
    main([
        "fit", "--config", str(CONFIGS / "cgan.yaml"), "--data.init_args.root", str(root),
        "--model.init_args.g_hidden=[32]", "--model.init_args.d_hidden=[32]", "--data.init_args.val_size", "64",
        "--trainer.max_steps", "2", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--trainer.limit_val_batches", "0", "--run_root", str(base / "runs"),
    ])  # fmt: skip
    gan = GAN((1, 28, 28), **TINY)
    trainer = quiet_trainer(max_steps=2, default_root_dir=base)
    trainer.fit(gan, MNIST(root=str(root), batch_size=8, val_size=64))
    trainer.save_checkpoint(base / "gan.ckpt")
    return {"cgan": base / "runs" / "cgan" / "version_0" / "checkpoints" / "last.ckpt", "gan": base / "gan.ckpt"}


def test_sample_label_writes_samples_of_that_class(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    from lightgen.checkpoint import load_model

    out = tmp_path / "three.png"
    main(["sample", "--ckpt", str(checkpoints["cgan"]), "--label", "3", "--num", "6", "--nrow", "3", "--out", str(out)])
    png = torch.tensor(list(Image.open(out).convert("RGB").getdata())).view(tile(2), tile(3), 3)
    model = load_model(checkpoints["cgan"])

    def grid_of(label: int) -> torch.Tensor:
        grid = to_grid(model.sample(6, seed=0, labels=label), model.value_range, nrow=3)
        return grid.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).long()

    assert (png - grid_of(3)).abs().max() <= 1  # the samples asked for class 3 ...
    assert (png - grid_of(4)).abs().max() > 1  # ... not those of another class


def test_sample_class_grid_has_one_row_of_nrow_per_class(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    main(["sample", "--ckpt", str(checkpoints["cgan"]), "--class-grid", "--nrow", "4", "--out", str(out)])
    assert Image.open(out).size == (tile(4), tile(K))


@pytest.mark.parametrize(
    ("which", "flags", "expected"),
    [
        ("cgan", ["--label", "11"], "--label 11 is not a class of ConditionalGAN; choose one of 0..9"),
        ("cgan", ["--label", "-1"], "--label -1 is not a class of ConditionalGAN"),
        ("gan", ["--label", "3"], "--label needs a conditional model; GAN is unconditional"),
        ("gan", ["--class-grid"], "--class-grid needs a conditional model; GAN is unconditional"),
    ],
)
def test_bad_labels_and_unconditional_models_give_one_line_errors(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture, which: str, flags: list, expected: str
) -> None:
    out = tmp_path / "x.png"
    with pytest.raises(SystemExit) as exc:
        main(["sample", "--ckpt", str(checkpoints[which]), *flags, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 1 and err.startswith("lightgen: error: ")
    assert expected in err and "\n" not in err and not out.exists()


# ------------------------------------------------------------------ lightgen evaluate: per-class accuracy
def test_class_accuracy_against_a_hand_made_case() -> None:
    asked = torch.tensor([0, 0, 1, 1, 1, 3])
    predicted = torch.tensor([0, 2, 1, 1, 1, 0])
    out = class_accuracy(torch.nn.functional.one_hot(predicted, 4).float(), asked, 4)
    assert out["per_class_accuracy"] == [0.5, 1.0, None, 0.0]  # class 2 was never asked
    assert out["asked_per_class"] == [2, 3, 0, 1]
    assert out["accuracy"] == pytest.approx(4 / 6) and out["mean_class_accuracy"] == pytest.approx(0.5)
    assert out["chance"] == 0.25


class ClassImages(torch.nn.Module):
    """A stand-in conditional model: the sample of a draw is a real fixture image of its label's class,
    or, with ``ignore_label``, of a class drawn independently of the label."""

    value_range = (-1.0, 1.0)
    num_classes = K

    def __init__(self, ignore_label: bool) -> None:
        super().__init__()
        x, y = synthetic_digits(300, 1)
        self.images = [x[y == k].float().div(127.5).sub(1).unsqueeze(1) for k in range(K)]
        self.ignore_label = ignore_label

    def draw_latent(self, n: int, seed: int | None = None, labels: Any = None) -> Latent:
        gen = torch.Generator().manual_seed(seed)
        return Latent(torch.randint(0, 1000, (n,), generator=gen), torch.randint(0, K, (n,), generator=gen))

    def sample_from(self, latent: Latent) -> torch.Tensor:
        classes = latent.z % K if self.ignore_label else latent.labels
        return torch.stack([self.images[k][int(i) % len(self.images[k])] for k, i in zip(classes.tolist(), latent.z)])


@pytest.mark.parametrize("ignore_label", [False, True], ids=["true-class-images", "label-ignored"])
def test_evaluate_reports_per_class_accuracy_of_conditional_samples(
    tiny_classifier, mnist_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ignore_label: bool
) -> None:
    import lightgen.evaluate as ev

    model = ClassImages(ignore_label)
    dm_args = {"_class_path": "lightgen.data.MNIST", "root": str(mnist_root), "val_size": 64}
    monkeypatch.setattr(ev, "load_checkpoint", lambda path: {"datamodule_hyper_parameters": dm_args})
    monkeypatch.setattr(ev, "load_model", lambda path: model)
    out = tmp_path / "report.json"
    main(["evaluate", "--ckpt", "fake.ckpt", "--metrics", "modes", "--num-samples", "300", "--batch-size", "64"] + [
        "--classifier", str(tiny_classifier), "--device", "cpu", "--out", str(out), "--seed", "5"])  # fmt: skip
    entry = {m["metric"]: m for m in json.loads(out.read_text())["metrics"]}["class_accuracy"]
    values, card = entry["values"], entry["protocol"]
    asked = torch.cat([model.draw_latent(b, seed=5 + i).labels for i, b in enumerate([64, 64, 64, 64, 44])])
    assert values["asked_per_class"] == torch.bincount(asked, minlength=K).tolist()  # the labels drawn per batch
    assert "uniform over the 10 classes" in card["labels_asked"] and card["num_generated"] == 300
    if ignore_label:
        assert abs(values["accuracy"] - 0.1) < 0.1 and values["mean_class_accuracy"] < 0.25
    else:
        assert values["accuracy"] > 0.95 and min(values["per_class_accuracy"]) > 0.8


def test_evaluate_a_trained_conditional_checkpoint_adds_class_accuracy_to_modes_and_cfid(
    checkpoints: dict[str, Path], tiny_classifier, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    main(["evaluate", "--ckpt", str(checkpoints["cgan"]), "--metrics", "cfid", "--num-samples", "20"] + [
        "--batch-size", "8", "--classifier", str(tiny_classifier), "--device", "cpu", "--out", str(out)])  # fmt: skip
    by_name = {m["metric"]: m["values"] for m in json.loads(out.read_text())["metrics"]}
    assert sorted(by_name) == ["cfid", "class_accuracy"]
    acc = by_name["class_accuracy"]
    assert len(acc["per_class_accuracy"]) == K and sum(acc["asked_per_class"]) == 20
    assert 0.0 <= acc["accuracy"] <= 1.0
