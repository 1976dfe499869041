"""Toy 2-D mixtures: the data's geometry, the mixture metrics by hand, the evaluate route on a trained
ToyGAN checkpoint, and the scatter-snapshot callback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import CONFIGS, quiet_trainer

from lightgen.cli import main
from lightgen.data import GaussianMixture2D
from lightgen.data.base import ResumableLoader
from lightgen.errors import LightgenError
from lightgen.metrics.modes import mixture_mode_coverage
from lightgen.models import ToyGAN


# ------------------------------------------------------------------ the data
@pytest.mark.parametrize(("layout", "modes", "extent", "std"), [("ring", 8, 1.0, 0.01), ("grid", 25, 4.0, 0.05)])
def test_layouts_have_the_papers_centres_and_std(layout: str, modes: int, extent: float, std: float) -> None:
    dm = GaussianMixture2D(layout=layout, num_train=20_000, num_val=100, batch_size=100, seed=3)
    centers = dm.mode_centers
    assert centers.shape == (modes, 2) and dm.mode_std == std and dm.data_shape == (2,)
    if layout == "ring":
        assert torch.allclose(centers.norm(dim=1), torch.ones(8))
        assert torch.allclose(centers[0], torch.tensor([1.0, 0.0])) and torch.allclose(
            centers[2], torch.tensor([0.0, 1.0]), atol=1e-6
        )
    else:
        assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
        assert len({tuple(c) for c in centers.tolist()}) == 25
    assert float(centers.abs().max()) == pytest.approx(extent)
    dm.setup("fit")
    x, k = dm.train_set.points, dm.train_set.components
    assert x.shape == (20_000, 2)
    for j in range(modes):  # each component's empirical mean and std (about 800 or 3200 points each)
        pts = x[k == j]
        assert len(pts) > 0.5 * 20_000 / modes
        assert torch.allclose(pts.mean(0), centers[j], atol=5 * std / math.sqrt(len(pts)))
    resid = x - centers[k]
    assert resid.std().item() == pytest.approx(std, rel=0.03)
    assert resid.mean(0).abs().max().item() < 3 * std / math.sqrt(len(x) / 2)


def test_overrides_splits_and_loader() -> None:
    dm = GaussianMixture2D(layout="ring", num_train=64, num_val=16, batch_size=8, radius=2.0, std=0.02)
    assert torch.allclose(dm.mode_centers.norm(dim=1), torch.full((8,), 2.0)) and dm.mode_std == 0.02
    dm.setup("fit")
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (64, 16, 16)
    assert not torch.equal(dm.val_set.points, dm.test_set.points)  # disjoint draws
    again = GaussianMixture2D(layout="ring", num_train=64, num_val=16, batch_size=8, radius=2.0, std=0.02)
    again.setup("fit")
    assert torch.equal(again.train_set.points, dm.train_set.points)  # drawn once from the seed
    loader = dm.train_dataloader()
    assert isinstance(loader, ResumableLoader)  # the base's resumable training loader
    x, k = next(iter(loader))
    assert x.shape == (8, 2) and k.shape == (8,)
    no_val = GaussianMixture2D(num_train=64, num_val=0, batch_size=8)
    no_val.setup("fit")
    assert no_val.val_dataloader() == [] and len(no_val.test_set) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": "hexagon"}, "unknown layout 'hexagon'; expected 'ring' or 'grid'"),
        ({"std": 0.0}, "std must be a positive number"),
        ({"std": -0.1}, "got -0.1"),
        ({"radius": -1.0}, "radius must be a positive number"),
        ({"num_train": 10, "batch_size": 64}, "num_train must be at least batch_size (64); got 10"),
    ],
)
def test_bad_values_give_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(LightgenError) as err:
        GaussianMixture2D(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------ the metrics
def ring() -> GaussianMixture2D:
    return GaussianMixture2D(layout="ring", num_train=2_500, num_val=0, batch_size=100, seed=0)


def test_true_samples_cover_every_mode_and_are_high_quality() -> None:
    dm = ring()
    dm.setup("fit")
    out = mixture_mode_coverage(dm.train_set.points, dm.mode_centers, dm.mode_std)
    assert out["modes_hit"] == 8 and out["num_modes"] == 8 and out["num_samples"] == 2500
    # P(|e| <= 3 sigma) for a 2-D isotropic Gaussian is 1 - exp(-9/2) = 0.9889
    assert out["high_quality_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert out["kl_from_uniform_nats"] < 0.01  # about (M - 1) / (2 H) for a uniform multinomial


def test_one_mode_far_points_and_the_reverse_kl_by_hand() -> None:
    dm = ring()
    centers, std = dm.mode_centers, dm.mode_std
    gen = torch.Generator().manual_seed(1)
    one = centers[3] + std * torch.randn(500, 2, generator=gen)
    collapsed = mixture_mode_coverage(one, centers, std)
    assert collapsed["modes_hit"] == 1 and collapsed["mode_counts"][3] == sum(collapsed["mode_counts"])
    assert collapsed["kl_from_uniform_nats"] == pytest.approx(math.log(8))
    far = mixture_mode_coverage(torch.full((50, 2), 5.0), centers, std)
    assert far["high_quality_share"] == 0.0 and far["modes_hit"] == 0 and far["kl_from_uniform_nats"] == math.inf
    # just outside / inside 3 sigma of centre 0 (direction away from every other centre)
    edge = torch.tensor([[1.0 + 3.05 * std, 0.0], [1.0 + 2.95 * std, 0.0]])
    assert mixture_mode_coverage(edge, centers, std)["mode_counts"][0] == 1
    uniform = mixture_mode_coverage(centers.repeat(7, 1), centers, std)
    assert uniform["modes_hit"] == 8 and uniform["kl_from_uniform_nats"] == pytest.approx(0.0, abs=1e-12)
    # p = (1/2, 1/4, 1/4): KL(p || U_8) = sum p log(8 p) = 1/2 log 4 + 2 * 1/4 log 2 = 1.5 log 2
    mixed = torch.cat([centers[[0]].repeat(4, 1), centers[[5]].repeat(2, 1), centers[[6]].repeat(2, 1)])
    assert mixture_mode_coverage(mixed, centers, std)["kl_from_uniform_nats"] == pytest.approx(1.5 * math.log(2))
    # a sample assigned to its *nearest* centre: halfway+ toward centre 1 goes to 1, not 0
    between = centers[0] * 0.4 + centers[1] * 0.6
    assert mixture_mode_coverage(between[None], centers, 1.0)["mode_counts"] == [0, 1, 0, 0, 0, 0, 0, 0]


# ------------------------------------------------------------------ training and evaluate
@pytest.fixture(scope="module")
def toy_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("toy") / "runs"
    main([
        "fit", "--config", str(CONFIGS / "gan_ring.yaml"), "--data.init_args.num_train", "64",
        "--data.init_args.num_val", "16", "--data.init_args.batch_size", "8", "--trainer.max_steps", "2",
        "--trainer.max_epochs", "1", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
        "--run_root", str(runs),
    ])  # fmt: skip
    return runs / "gan_ring" / "version_0"


def test_evaluate_reports_modes_on_2500_samples_by_default(toy_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    ckpt = toy_checkpoint / "checkpoints" / "last.ckpt"
    main(["evaluate", "--ckpt", str(ckpt), "--metrics", "modes", "--device", "cpu", "--out", str(out)])
    (entry,) = json.loads(out.read_text())["metrics"]
    values, card = entry["values"], entry["protocol"]
    assert entry["metric"] == "modes"
    assert {"modes_hit", "num_modes", "high_quality_share", "kl_from_uniform_nats", "mode_counts"} <= set(values)
    assert values["num_modes"] == 8 and values["num_samples"] == 2500 and card["num_generated"] == 2500
    assert "KL(p_model || uniform)" in card["kl_definition"] and card["mode_std"] == 0.01
    assert card["datamodule"]["layout"] == "ring" and card["seeds"]["samples"] == 0
    # the numbers are the metric of the model's own samples (batch i seeded 0 + i, batches of 100)
    from lightgen.checkpoint import load_model

    model = load_model(ckpt)
    samples = torch.cat([model.sample(100, seed=i) for i in range(25)])
    dm = ring()
    assert values == mixture_mode_coverage(samples, dm.mode_centers, dm.mode_std)


def test_image_metrics_on_points_are_one_line_errors(toy_checkpoint: Path, tmp_path: Path, capsys) -> None:
    ckpt = toy_checkpoint / "checkpoints" / "last.ckpt"
    with pytest.raises(SystemExit):
        main(["evaluate", "--ckpt", str(ckpt), "--metrics", "modes,fid,nn", "--out", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip()
    assert "metric(s) fid,nn are for images; GaussianMixture2D serves 2-D points" in err and "\n" not in err


def test_training_writes_scatter_snapshots(toy_checkpoint: Path) -> None:
    pictures = sorted(p.name for p in (toy_checkpoint / "samples").glob("*.png"))
    # max_steps 2 counts both optimizers: one batch, pictured at its end (step 1); SampleGrid skips 2-D points
    assert pictures == ["points_step_0000001.png", "points_timeline.png"]


# ------------------------------------------------------------------ the callback on its own
def test_snapshots_at_chosen_steps_and_a_timeline(tmp_path: Path) -> None:
    from PIL import Image

    from lightgen.callbacks.toy_scatter import PointCloudSnapshots

    dm = GaussianMixture2D(layout="grid", num_train=64, num_val=0, batch_size=8)
    model = ToyGAN((2,), latent_dim=2, g_hidden=(8,), d_hidden=(8,))
    snaps = PointCloudSnapshots(every_n_steps=None, at_steps=[1, 3], num_samples=50, num_real=20)
    trainer = quiet_trainer(max_epochs=1, callbacks=[snaps], default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=dm)  # 8 batches: snapshots after batches 1 and 3, and at the end (8)
    assert [s for s, _ in snaps.snapshots] == [1, 3, 8]
    assert all(p.shape == (50, 2) for _, p in snaps.snapshots)
    assert torch.equal(snaps.snapshots[-1][1], model.sample(50, seed=0))  # the fixed seed's samples
    folder = Path(trainer.log_dir or trainer.default_root_dir) / "samples"
    names = sorted(p.name for p in folder.glob("*.png"))
    # files are named by the loggers' step: during batch b (1-based) that is b - 1; after training, 8
    assert names == [
        "points_step_0000000.png",
        "points_step_0000002.png",
        "points_step_0000008.png",
        "points_timeline.png",
    ]
    single = Image.open(folder / "points_step_0000000.png")
    timeline = Image.open(folder / "points_timeline.png")
    assert timeline.width == pytest.approx(3 * single.width, rel=0.02) and timeline.height == single.height
    with pytest.raises(LightgenError, match="every_n_steps must be a positive integer or None"):
        PointCloudSnapshots(every_n_steps=0)


def test_snapshots_refuse_image_models() -> None:
    from lightgen.callbacks.toy_scatter import PointCloudSnapshots
    from lightgen.models import GAN

    with pytest.raises(LightgenError, match=r"plots 2-D points; the model's data_shape is \(1, 8, 8\)"):
        PointCloudSnapshots().setup(None, GAN((1, 8, 8), g_hidden=(4,), d_hidden=(4,)), "fit")  # type: ignore[arg-type]
