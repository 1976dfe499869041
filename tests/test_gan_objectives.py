"""GAN objectives as classes: weight clipping, spectral norm, serialisation to specs, a user's own objective
from YAML, and every objective training through the Trainer with its terms logged."""

from __future__ import annotations

import csv
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from conftest import make_mnist_tree, quiet_trainer
from torch import nn
from torch.nn.utils import parametrize

from lightgen.checkpoint import load_model
from lightgen.cli import main
from lightgen.data import MNIST
from lightgen.errors import LightgenError
from lightgen.losses import objectives as obj
from lightgen.losses.penalties import R1, DRAGANPenalty, GradientPenalty
from lightgen.models import GAN
from lightgen.nets.spectral import apply_spectral_norm


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny MNIST tree (real IDX files) shared by this module's training runs."""
    return make_mnist_tree(tmp_path_factory.mktemp("data"), "MNIST")


def tiny_gan(**kwargs) -> GAN:  # noqa: ANN003
    return GAN(data_shape=(1, 28, 28), latent_dim=8, g_hidden=(16,), d_hidden=(16,), **kwargs)


def mnist(root: Path) -> MNIST:
    return MNIST(root=str(root), batch_size=16, val_size=64, num_workers=0)


# ------------------------------------------------------------------ WGAN weight clipping
def test_weight_clipping_clamps_every_discriminator_parameter() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.Linear(7, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(10).add_(0.5)  # batch-norm scales become 10.5: far outside the box too
    before = [p.detach().clone() for p in net.parameters()]
    assert max(b.abs().max().item() for b in before) > 1.0
    obj.WassersteinClip(clip=0.05).after_d_step(net)
    for b, p in zip(before, net.parameters()):
        assert (p.abs() <= torch.tensor(0.05)).all()  # the float32 0.05
        torch.testing.assert_close(p.detach(), b.clamp(-0.05, 0.05))  # clamped, not rescaled


def test_objectives_without_clipping_leave_the_discriminator_alone() -> None:
    net = nn.Linear(5, 3)
    with torch.no_grad():
        net.weight.fill_(4.0)
    for objective in (obj.Hinge(), obj.WassersteinGP(), obj.NonSaturating()):
        objective.after_d_step(net)
    assert (net.weight == 4.0).all()


def test_wgan_training_keeps_every_discriminator_parameter_in_the_clip_box(data_root: Path) -> None:
    torch.manual_seed(0)
    model = tiny_gan(objective=obj.WassersteinClip(clip=0.01))
    assert max(p.abs().max().item() for p in model.discriminator.parameters()) > 0.01  # init is outside the box
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=3)
    trainer.fit(model, mnist(data_root))
    assert model.discriminator_steps == 3
    for name, p in model.discriminator.named_parameters():
        assert (p.abs() <= torch.tensor(0.01)).all(), name
    # the generator is not clipped
    assert max(p.abs().max().item() for p in model.generator.parameters()) > 0.01


# ------------------------------------------------------------------ spectral norm
def largest_singular_value(weight: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), ord=2).item()


@pytest.mark.parametrize(
    ("layer", "x_shape"), [(nn.Linear(20, 30), (8, 20)), (nn.Conv2d(3, 8, 3, padding=1), (8, 3, 6, 6))]
)
def test_spectral_norm_scales_each_layer_to_unit_largest_singular_value(layer: nn.Module, x_shape: tuple) -> None:
    torch.manual_seed(0)
    with torch.no_grad():
        layer.weight.mul_(20)
    assert largest_singular_value(layer.weight) > 3
    net = apply_spectral_norm(nn.Sequential(layer)).train()
    assert parametrize.is_parametrized(layer, "weight")
    x = torch.randn(*x_shape)
    for _ in range(20):  # one power iteration per training forward pass
        net(x)
    assert largest_singular_value(layer.weight) == pytest.approx(1.0, abs=0.05)


def test_gan_spectral_norm_parametrizes_every_discriminator_layer_and_no_generator_layer() -> None:
    torch.manual_seed(0)
    model = tiny_gan(d_spectral_norm=True)
    d_layers = [m for m in model.discriminator.modules() if isinstance(m, nn.Linear)]
    assert len(d_layers) == 2 and all(parametrize.is_parametrized(m, "weight") for m in d_layers)
    assert not any(parametrize.is_parametrized(m) for m in model.generator.modules())
    assert not any(parametrize.is_parametrized(m) for m in tiny_gan().discriminator.modules())
    x = torch.randn(4, 1, 28, 28)
    for _ in range(20):
        model.discriminate(x)
    for m in d_layers:
        assert largest_singular_value(m.weight) == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------------ specs
OBJECTIVES = {
    "Minimax": obj.Minimax(),
    "NonSaturating": obj.NonSaturating(),
    "MaximumLikelihood": obj.MaximumLikelihood(),
    "LeastSquares": obj.LeastSquares(),
    "Hinge": obj.Hinge(),
    "WassersteinClip": obj.WassersteinClip(clip=0.02),
    "WassersteinGP": obj.WassersteinGP(gp_weight=5.0),
    "DRAGAN": obj.DRAGAN(penalty_weight=3.0, scale=0.25),
}


def with_r1(objective: obj.GANObjective) -> obj.GANObjective:
    """The same objective with an extra lazy R1 regulariser."""
    cls, args = type(objective), {k: v for k, v in objective.init_args().items() if k != "regularizers"}
    return cls(**args, regularizers=[R1(weight=2.5, every=4)])


@pytest.mark.parametrize("extra_r1", [False, True], ids=["plain", "with_r1"])
@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_objective_round_trips_through_its_spec(name: str, extra_r1: bool) -> None:
    objective = with_r1(OBJECTIVES[name]) if extra_r1 else OBJECTIVES[name]
    spec = objective.spec()
    assert spec["class_path"] == f"lightgen.losses.objectives.{name}"
    rebuilt = obj.build_from_spec(spec, obj.GANObjective)
    assert type(rebuilt) is type(objective)
    assert rebuilt.spec() == spec
    assert [type(r) for r in rebuilt.regularizers] == [type(r) for r in objective.regularizers]
    assert [r.spec() for r in rebuilt.regularizers] == [r.spec() for r in objective.regularizers]
    if extra_r1:
        assert (rebuilt.regularizers[-1].weight, rebuilt.regularizers[-1].every) == (2.5, 4)


def test_specs_carry_the_non_default_settings() -> None:
    assert obj.build_from_spec(OBJECTIVES["WassersteinClip"].spec(), obj.GANObjective).clip == 0.02
    (gp,) = obj.build_from_spec(OBJECTIVES["WassersteinGP"].spec(), obj.GANObjective).regularizers
    assert isinstance(gp, GradientPenalty) and gp.weight == 5.0
    (dragan,) = obj.build_from_spec(OBJECTIVES["DRAGAN"].spec(), obj.GANObjective).regularizers
    assert isinstance(dragan, DRAGANPenalty) and (dragan.weight, dragan.scale) == (3.0, 0.25)


def test_a_gan_stores_its_objective_as_a_spec_and_defaults_to_non_saturating() -> None:
    assert type(tiny_gan().objective) is obj.NonSaturating
    model = tiny_gan(objective=obj.Hinge(regularizers=[R1(weight=1.0)]))
    assert model.hparams["objective"] == model.objective.spec()
    again = tiny_gan(objective=model.hparams["objective"])  # what load_model does with a checkpoint's hparams
    assert type(again.objective) is obj.Hinge and again.objective.spec() == model.objective.spec()


@pytest.mark.parametrize(
    ("class_path", "says"),
    [
        ("lightgen.losses.objectives.NoSuchObjective", "does not exist"),
        ("no_such_module_xyz.Objective", "not importable"),
        ("torch.nn.Linear", "is not a GANObjective"),
    ],
)
def test_a_bad_class_path_is_a_one_line_error_naming_it(class_path: str, says: str) -> None:
    with pytest.raises(LightgenError) as err:
        obj.build_from_spec({"class_path": class_path, "init_args": {}}, obj.GANObjective)
    message = str(err.value)
    assert "\n" not in message and class_path in message and says in message


def test_a_spec_that_is_not_a_class_path_dict_is_a_one_line_error() -> None:
    with pytest.raises(LightgenError, match="class_path") as err:
        obj.resolve_objective({"init_args": {}})
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ a user's own objective from YAML
USER_MODULE = '''
from collections.abc import Sequence

from lightgen.losses import gan as costs
from lightgen.losses.objectives import NonSaturating
from lightgen.losses.penalties import DiscriminatorRegularizer


class ScaledNonSaturating(NonSaturating):
    """The non-saturating G cost times ``scale``; the unscaled cost is logged beside it."""

    def __init__(self, scale: float = 1.0, regularizers: Sequence[DiscriminatorRegularizer] = ()) -> None:
        super().__init__(regularizers)
        self.scale = float(scale)

    def init_args(self):
        return {"scale": self.scale, **super().init_args()}

    def g_cost(self, fake_out):
        unscaled = costs.non_saturating_generator_cost(fake_out)["loss"]
        return {"loss": self.scale * unscaled, "unscaled": unscaled.detach()}
'''

USER_CONFIG = """
seed_everything: 0
model:
  class_path: lightgen.models.GAN
  init_args:
    latent_dim: 8
    g_hidden: [16]
    d_hidden: [16]
    objective:
      class_path: my_objectives.ScaledNonSaturating
      init_args:
        scale: 3.0
        regularizers:
          - class_path: lightgen.losses.penalties.R1
            init_args: {weight: 2.0, every: 2}
data:
  class_path: lightgen.data.MNIST
  init_args:
    image_size: 28
    value_range: [-1.0, 1.0]
    batch_size: 8
"""


def test_a_users_objective_module_trains_from_yaml_and_comes_back_from_the_checkpoint(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_objectives.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / "user_gan.yaml"
    config.write_text(USER_CONFIG)
    try:
        main([
            "fit", "--config", str(config),
            "--data.init_args.root", str(data_root), "--data.init_args.val_size", "64",
            "--data.init_args.num_workers", "0",
            "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "0",
            "--trainer.logger.class_path", "CSVLogger", "--trainer.log_every_n_steps", "1",
            "--trainer.enable_progress_bar", "false", "--sample_grid.num_samples", "4",
            "--run_root", str(tmp_path / "runs"),
        ])  # fmt: skip
        run = tmp_path / "runs" / "user_gan" / "version_0"
        model = load_model(run / "checkpoints" / "last.ckpt")
        objective = model.objective
        assert type(objective).__module__ == "my_objectives" and type(objective).__name__ == "ScaledNonSaturating"
        assert objective.scale == 3.0
        (r1,) = objective.regularizers
        assert isinstance(r1, R1) and (r1.weight, r1.every) == (2.0, 2)
        assert model.hparams["objective"]["class_path"] == "my_objectives.ScaledNonSaturating"
        assert model.discriminator_steps == 2
        # the user's G cost is what trained: every logged g_loss is 3 times the unscaled cost beside it
        (metrics,) = run.glob("**/metrics.csv")
        rows = [r for r in csv.DictReader(metrics.open()) if r.get("g_loss")]
        assert len(rows) == 2
        for row in rows:
            assert float(row["g_loss"]) == pytest.approx(3.0 * float(row["g/unscaled"]), rel=1e-5)
    finally:
        sys.modules.pop("my_objectives", None)


# ------------------------------------------------------------------ every objective through the Trainer
CROSS_ENTROPY_KEYS = {"d/d_x", "d/d_g_z", "d/d_real_term", "d/d_fake_term"}
CRITIC_KEYS = {"d/real_score", "d/fake_score"}
TRAINED = {
    # name: (objective, keys it must log, d-loss terms that must sum to d_loss)
    "Minimax": (obj.Minimax, CROSS_ENTROPY_KEYS, ["d/d_real_term", "d/d_fake_term"]),
    "NonSaturating": (obj.NonSaturating, CROSS_ENTROPY_KEYS, ["d/d_real_term", "d/d_fake_term"]),
    "MaximumLikelihood": (
        obj.MaximumLikelihood,
        CROSS_ENTROPY_KEYS | {"g/clamped"},
        ["d/d_real_term", "d/d_fake_term"],
    ),
    "LeastSquares": (obj.LeastSquares, CRITIC_KEYS | {"d/d_real_term"}, ["d/d_real_term", "d/d_fake_term"]),
    "Hinge": (obj.Hinge, CRITIC_KEYS | {"d/d_real_term"}, ["d/d_real_term", "d/d_fake_term"]),
    "WassersteinClip": (
        lambda: obj.WassersteinClip(clip=0.01),
        CRITIC_KEYS | {"d/wasserstein_estimate"},
        ["-d/wasserstein_estimate"],
    ),
    "WassersteinGP": (
        obj.WassersteinGP,
        CRITIC_KEYS | {"d/wasserstein_estimate", "d/gradient_penalty", "d/gradient_penalty_grad_norm"},
        ["-d/wasserstein_estimate", "d/gradient_penalty"],
    ),
    "DRAGAN": (
        obj.DRAGAN,
        CROSS_ENTROPY_KEYS | {"d/dragan_penalty", "d/dragan_penalty_grad_norm"},
        ["d/d_real_term", "d/d_fake_term", "d/dragan_penalty"],
    ),
    "NonSaturatingR1": (
        lambda: obj.NonSaturating(regularizers=[R1(weight=10.0)]),
        CROSS_ENTROPY_KEYS | {"d/r1", "d/r1_grad_norm"},
        ["d/d_real_term", "d/d_fake_term", "d/r1"],
    ),
}


@pytest.mark.parametrize("name", list(TRAINED))
def test_every_objective_trains_through_the_trainer_and_logs_its_terms(data_root: Path, name: str) -> None:
    make, keys, parts = TRAINED[name]
    torch.manual_seed(0)
    model = tiny_gan(objective=make())
    trainer = quiet_trainer(max_epochs=1, limit_train_batches=3)
    trainer.fit(model, mnist(data_root))
    assert (model.discriminator_steps, model.generator_steps) == (3, 3)
    # callback_metrics: every term of the last batch (G's terms reach the loggers only sparsely)
    logged = {k: float(v) for k, v in trainer.callback_metrics.items()}
    missing = ({"d_loss", "g_loss"} | keys) - set(logged)
    assert not missing, f"{name} did not log {sorted(missing)}; logged {sorted(logged)}"
    assert all(torch.isfinite(torch.tensor(v)) for v in logged.values()), logged
    # D's terms of every batch also reach the loggers (G's go sparsely, through lightgen.clock.log_sparse)
    assert {"d_loss", *(k for k in keys if k.startswith("d/"))} <= set(trainer.logged_metrics)
    # probabilistic objectives log D(x) in (0, 1); critics log raw scores and no probabilities
    if "d/d_x" in keys:
        assert 0.0 < logged["d/d_x"] < 1.0 and "d/real_score" not in logged
    else:
        assert "d/d_x" not in logged
    # the logged J(D) is the sum of its logged terms (each regulariser here runs every step)
    total = sum(-logged[p[1:]] if p.startswith("-") else logged[p] for p in parts)
    assert logged["d_loss"] == pytest.approx(total, rel=1e-4, abs=1e-6)
