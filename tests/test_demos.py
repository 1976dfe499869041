"""The game-dynamics demos in tools/demos: their maths against closed forms, and each script writes its PNG."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import pytest
import torch
from PIL import Image

from lightgen.errors import LightgenError

DEMOS = Path(__file__).resolve().parents[1] / "tools" / "demos"


def load(name: str) -> ModuleType:
    """tools/demos/<name>.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"demos_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nc = load("nonconvergence")
od = load("optimal_discriminator")


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


class TestNonconvergence:
    def test_simultaneous_steps_spiral_out_by_sqrt_1_plus_lr_squared(self) -> None:
        lr, steps, start = 0.3, 60, (1.0, 0.5)
        radius = nc.simultaneous(start, steps, lr).norm(dim=1)
        assert (radius[1:] > radius[:-1]).all()
        closed_form = math.hypot(*start) * (1 + lr**2) ** (torch.arange(steps + 1, dtype=torch.float64) / 2)
        torch.testing.assert_close(radius, closed_form, rtol=1e-12, atol=0)

    def test_alternating_steps_orbit_on_a_conserved_ellipse(self) -> None:
        lr, steps, start = 0.1, 5000, (1.0, 1.0)
        path = nc.alternating(start, steps, lr)
        q = nc.alternating_invariant(path, lr)
        torch.testing.assert_close(q, q[:1].expand_as(q), rtol=1e-9, atol=0)
        radius = path.norm(dim=1)
        # on a^2 + b^2 - lr*a*b = Q the radius^2 lies between Q / (1 + lr/2) and Q / (1 - lr/2)
        assert radius.max() <= math.sqrt(q[0] / (1 - lr / 2)) + 1e-9
        assert radius.min() >= math.sqrt(q[0] / (1 + lr / 2)) - 1e-9
        assert 0.9 < radius[-1] / radius[0] < 1.1  # neither converged to (0, 0) nor escaped
        angle = torch.atan2(path[:, 1], path[:, 0])
        assert (angle.diff().abs() > math.pi).sum() >= 10  # it went round many times, not stalled

    def test_a_tiny_step_follows_the_continuous_circle(self) -> None:
        lr, steps, start = 1e-4, 10000, (0.6, -0.8)
        path = nc.simultaneous(start, steps, lr)
        circle = nc.circle(start, torch.arange(steps + 1, dtype=torch.float64) * lr)
        torch.testing.assert_close(path, circle, rtol=0, atol=1e-3)
        assert abs(float(circle.norm(dim=1).max()) - 1.0) < 1e-12

    @pytest.mark.parametrize(("steps", "lr"), [(0, 0.1), (10, 0.0), (10, -0.1), (10, math.nan)])
    def test_bad_steps_or_lr_is_a_one_line_error(self, steps: int, lr: float) -> None:
        with pytest.raises(LightgenError) as err:
            nc.simultaneous((1.0, 1.0), steps, lr)
        assert "\n" not in str(err.value)

    def test_script_prints_both_schemes_and_writes_a_png(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "nested" / "nonconvergence.png"
        radii = nc.main(["--steps", "40", "--lr", "0.2", "--start", "1", "0", "--out", str(out)])
        lines = capsys.readouterr().out.splitlines()
        assert [line.split(":")[0] for line in lines[:2]] == ["simultaneous", "alternating"]
        assert radii["simultaneous"][1] == pytest.approx(1.04**20, rel=1e-12)  # sqrt(1 + 0.2^2)^40
        assert radii["alternating"][1] < 1.2
        width, height = png_size(out)
        assert width > 100 and height > 100

    def test_script_refuses_a_bad_lr_in_one_line(self, tmp_path: Path) -> None:
        with pytest.raises(SystemExit, match=r"^nonconvergence: lr must be a positive") as err:
            nc.main(["--lr", "0", "--out", str(tmp_path / "x.png")])
        assert "\n" not in str(err.value.code)
        assert not (tmp_path / "x.png").exists()


class TestOptimalDiscriminator:
    def test_d_star_against_hand_computed_values(self) -> None:
        data, model = [(0.0, 1.0)], [(1.5, 0.7)]
        x = torch.tensor([0.0])
        p_data = 1 / math.sqrt(2 * math.pi)  # N(0, 1) at 0
        p_model = math.exp(-0.5 * (1.5 / 0.7) ** 2) / (0.7 * math.sqrt(2 * math.pi))  # N(1.5, 0.7) at 0
        d_star = od.optimal_discriminator(od.density(x, data), od.density(x, model))
        assert float(d_star) == pytest.approx(p_data / (p_data + p_model), rel=1e-6)
        assert float(d_star) == pytest.approx(0.87425, abs=1e-4)
        # N(0, 1) and N(2, 1) are equal at x = 1, so d* = 1/2 there; a mixture with itself gives 1/2 everywhere
        half = od.optimal_discriminator(
            od.density(torch.tensor([1.0]), data), od.density(torch.tensor([1.0]), [(2, 1)])
        )
        assert float(half) == pytest.approx(0.5, abs=1e-7)
        grid = torch.linspace(-3, 3, 7)
        mix = [(-1.0, 0.5), (1.0, 2.0)]
        torch.testing.assert_close(
            od.optimal_discriminator(od.density(grid, mix), od.density(grid, mix[::-1])), 0.5 * torch.ones(7)
        )

    def test_mixture_density_integrates_to_one(self) -> None:
        mix = [(-1.0, 0.5), (2.0, 1.5)]
        x = od.grid(mix, mix, n=4001)
        assert float(torch.trapezoid(od.density(x, mix), x)) == pytest.approx(1.0, abs=1e-4)

    def test_untrained_d_is_far_from_d_star(self) -> None:
        # the tolerance of the trained test below means something: one step leaves D far from d*
        data, model = [(0.0, 1.0)], [(1.5, 0.7)]
        x = od.grid(data, model)
        p_data, p_model = od.density(x, data), od.density(x, model)
        d = od.train(x, p_data, p_model, steps=1, seed=0)
        with torch.no_grad():
            d_x = d(x)
        assert od.max_gap(d_x, od.optimal_discriminator(p_data, p_model), p_data, p_model) > 0.2

    def test_trained_d_reaches_d_star_and_the_script_writes_a_png(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = tmp_path / "nested" / "optimal_discriminator.png"
        gap = od.main(["--steps", "1000", "--seed", "0", "--out", str(out)])
        assert gap < 0.05
        assert f"{gap:.4f}" in capsys.readouterr().out
        width, height = png_size(out)
        assert width > 100 and height > 100

    @pytest.mark.parametrize("values", [[0.0], [0.0, 1.0, 2.0], [0.0, -1.0], [math.inf, 1.0]])
    def test_bad_mixture_is_a_one_line_error(self, values: list[float]) -> None:
        with pytest.raises(LightgenError) as err:
            od.mixture(values, "model")
        assert "\n" not in str(err.value) and "--model" in str(err.value)

    def test_script_refuses_bad_steps_in_one_line(self, tmp_path: Path) -> None:
        with pytest.raises(SystemExit, match=r"^optimal_discriminator: steps must be at least 1"):
            od.main(["--steps", "0", "--out", str(tmp_path / "x.png")])
        assert not (tmp_path / "x.png").exists()
