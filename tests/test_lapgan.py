"""LAPGAN: the Laplacian pyramid, level independence, what each D_k sees, coarse-to-fine sampling, the
levels picture and the checkpoint round trip."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from conftest import quiet_trainer
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from lightgen.callbacks.lapgan_pictures import LAPGANLevels, levels_grid, save_levels_picture
from lightgen.callbacks.sample_grid import to_grid
from lightgen.checkpoint import load_model
from lightgen.errors import LightgenError
from lightgen.losses import objectives
from lightgen.models import GAN, LAPGAN
from lightgen.models.latent import Latent
from lightgen.nets.pyramid import LaplacianPyramid, flatten_levels, split_levels


def tiny(data_shape: tuple[int, ...] = (1, 28, 28), cls: type = LAPGAN, **kwargs) -> LAPGAN:  # noqa: ANN003
    defaults = dict(latent_dim=6, g_level_widths=(6,), d_level_widths=(6,), g_hidden=(12,), d_hidden=(12,))
    return cls(data_shape, **{**defaults, **kwargs})


def images(n: int, shape: tuple[int, ...] = (1, 28, 28), seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ---------------------------------------------------------------------- the pyramid
@pytest.mark.parametrize("down", ["box", "binomial"])
@pytest.mark.parametrize("up", ["bilinear", "nearest"])
@pytest.mark.parametrize(("size", "levels"), [(28, 3), (32, 3), (64, 4)])
def test_pyramid_reconstructs_the_image_from_its_bands(size: int, levels: int, down: str, up: str) -> None:
    pyramid = LaplacianPyramid(levels, down, up)
    x = images(2, (3, size, size))
    bands = pyramid.decompose(x)
    assert [tuple(b.shape[1:]) for b in bands] == pyramid.shapes((3, size, size))
    assert bands[-1].shape[-1] == size >> (levels - 1)
    assert bands[0].abs().max() > 0.1  # a random image has detail in its finest band
    assert (pyramid.reconstruct(bands) - x).abs().max() < 1e-6


def test_bands_by_hand_on_a_two_by_two_image() -> None:
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    band, coarse = LaplacianPyramid(2, "box", "nearest").decompose(x)
    assert coarse.flatten().tolist() == [2.5]  # d: the 2x2 mean
    assert band.flatten().tolist() == [-1.5, -0.5, 0.5, 1.5]  # h_0 = I_0 - u(I_1)


@pytest.mark.parametrize(("down", "up"), [("box", "bilinear"), ("binomial", "nearest"), ("binomial", "bilinear")])
def test_the_bands_of_a_constant_image_are_zero(down: str, up: str) -> None:
    x = torch.full((2, 3, 32, 32), 0.3)
    *bands, coarse = LaplacianPyramid(3, down, up).decompose(x)
    assert all(b.abs().max() < 1e-6 for b in bands)
    assert torch.allclose(coarse, torch.full((2, 3, 8, 8), 0.3))


def test_flat_levels_round_trip_and_bad_layouts_are_refused() -> None:
    shapes = [(1, 4, 4), (1, 2, 2)]
    parts = [torch.randn(3, *s) for s in shapes]
    back = split_levels(flatten_levels(parts), shapes)
    assert all(torch.equal(a, b) for a, b in zip(parts, back))
    with pytest.raises(LightgenError, match=r"\(N, 20\)"):
        split_levels(torch.zeros(3, 19), shapes)


def test_bad_options_are_one_line_errors() -> None:
    with pytest.raises(LightgenError, match="divisible by 8"):
        tiny(levels=4)  # 28 -> 14 -> 7 -> 3.5
    with pytest.raises(LightgenError, match="at least 2 levels"):
        tiny(levels=1)
    with pytest.raises(LightgenError, match="unknown downsample 'gauss'"):
        tiny(downsample="gauss")
    with pytest.raises(LightgenError, match="d_pack=2"):
        tiny(d_pack=2)
    model = tiny()
    with pytest.raises(LightgenError, match=r"images \(1, 28, 28\).*\(1, 32, 32\)"):
        model.real_from_batch(images(2, (1, 32, 32)))
    x = model.real_from_batch(images(2))
    with pytest.raises(LightgenError, match="Latent.context"):
        model.d_loss(x, x, model.latent_prior(2))


# ---------------------------------------------------------------------- level independence
def training_draw(model: LAPGAN, n: int = 4) -> tuple[torch.Tensor, torch.Tensor, Latent]:
    x = images(n)
    latent = model.condition_on_batch(model.latent_prior(n, torch.Generator().manual_seed(1)), (x, None))
    return model.real_from_batch((x, None)), model.generate(latent), latent


def grads(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> list[torch.Tensor | None]:
    return list(torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True))


def test_each_level_gets_the_gradient_of_its_own_loss_from_the_summed_loss() -> None:
    model = tiny()
    real, fake, latent = training_draw(model)
    g_terms, d_terms = model.g_loss(fake, latent, real), model.d_loss(real, fake.detach(), latent)
    for players, terms in ((model.generator.levels, g_terms), (model.discriminator.levels, d_terms)):
        for k, net in enumerate(players):
            params = list(net.parameters())
            from_sum, own = grads(terms["loss"], params), grads(terms[f"level{k}/loss"], params)
            assert all(a is not None and torch.allclose(a, b, atol=1e-7, rtol=0) for a, b in zip(from_sum, own))
            assert any(a.abs().max() > 0 for a in own)
            for j in range(model.num_levels):  # another level's loss does not reach these parameters
                if j != k:  # (zero, or None where the flat layout's cat does not connect them)
                    assert all(g is None or not g.any() for g in grads(terms[f"level{j}/loss"], params))


def test_one_adam_over_all_levels_equals_one_adam_per_level() -> None:
    torch.manual_seed(0)
    one = tiny()
    per = copy.deepcopy(one)
    opt = torch.optim.Adam(one.generator.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opts = [torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999)) for net in per.generator.levels]
    for _ in range(3):
        real, fake, latent = training_draw(one)
        opt.zero_grad()
        one.g_loss(fake, latent, real)["loss"].backward()
        opt.step()
        real, fake, latent = training_draw(per)
        terms = per.g_loss(fake, latent, real)
        for k, level_opt in enumerate(opts):  # each level's own loss, then each level's own Adam step
            level_opt.zero_grad()
            terms[f"level{k}/loss"].backward(retain_graph=True, inputs=list(per.generator.levels[k].parameters()))
        for level_opt in opts:
            level_opt.step()
    moved = [(a - b).abs().max() for a, b in zip(one.generator.parameters(), tiny().generator.parameters())]
    assert max(moved) > 1e-3
    for a, b in zip(one.generator.parameters(), per.generator.parameters()):
        assert torch.allclose(a, b, atol=1e-6, rtol=0)


def test_feature_matching_runs_per_level_and_is_zero_when_fakes_are_the_real_levels() -> None:
    model = tiny(objective=objectives.FeatureMatching())
    real, fake, latent = training_draw(model)
    assert float(model.g_loss(real, latent, real)["loss"].detach()) == 0.0
    terms = model.g_loss(fake, latent, real)
    assert all(terms[f"level{k}/loss"].item() > 0 for k in range(3))


def test_a_gradient_penalty_is_computed_at_every_level() -> None:
    model = tiny(objective=objectives.WassersteinGP(gp_weight=10.0))
    real, fake, latent = training_draw(model)
    terms = model.d_loss(real, fake.detach(), latent)
    penalties = [key for key in terms if key.startswith("level") and "penalty" in key and "grad_norm" not in key]
    assert len(penalties) == 3


@pytest.mark.parametrize("kernels", [0, 4])
def test_minibatch_discrimination_only_at_the_coarsest_level(kernels: int) -> None:
    """With d_minibatch_kernels, D_K's output for one example depends on the rest of the batch; the band
    discriminators (and D_K without the option) judge each example alone."""
    model = tiny(d_minibatch_kernels=kernels)
    real, fake, latent = training_draw(model)
    lows = model._lows(latent)
    reals, fakes = split_levels(real, model.level_shapes), split_levels(fake.detach(), model.level_shapes)
    for k in range(model.num_levels):
        others_changed = torch.cat([reals[k][:1], fakes[k][1:]])
        a, b = model.discriminate_level(k, reals[k], lows[k]), model.discriminate_level(k, others_changed, lows[k])
        coupled = kernels and k == model.num_levels - 1
        assert bool((a[0] - b[0]).abs() > 1e-6) == bool(coupled)


# ---------------------------------------------------------------------- what D_k sees, in the loop
class RecordingLAPGAN(LAPGAN):
    """Records every D_k call, the real images of each step, and G's outputs with their context."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[int, torch.Tensor, torch.Tensor | None]] = []
        self.real_images: list[torch.Tensor] = []
        self.generated: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    def real_from_batch(self, batch):  # noqa: ANN001, ANN201
        self.real_images.append(self._images(batch).detach().clone())
        return super().real_from_batch(batch)

    def generate(self, latent, net=None):  # noqa: ANN001, ANN201
        out = super().generate(latent, net)
        self.generated.append((out.detach().clone(), latent.context))
        return out

    def discriminate_level(self, level, x, low):  # noqa: ANN001, ANN201
        self.calls.append((level, x.detach().clone(), None if low is None else low.detach().clone()))
        return super().discriminate_level(level, x, low)


def loader(n: int = 8) -> DataLoader:
    return DataLoader(TensorDataset(images(n), torch.zeros(n, dtype=torch.long)), batch_size=n)


def test_each_d_sees_its_real_band_vs_its_fake_band_given_the_same_real_low_pass(tmp_path: Path) -> None:
    model = tiny(cls=RecordingLAPGAN, ema_decay=0.9)
    pictures = LAPGANLevels(every_n_steps=1, num_samples=2)
    trainer = quiet_trainer(max_epochs=2, default_root_dir=str(tmp_path), callbacks=[pictures])
    trainer.fit(model, loader())
    assert (model.discriminator_steps, model.generator_steps) == (2, 2)

    image = model.real_images[0]
    pyramid = model.pyramid
    real_levels, real_lows = pyramid.decompose(image), [*pyramid.low_passes(image), None]
    fake_flat, context = model.generated[0]
    assert torch.equal(context, flatten_levels(real_lows[:-1]))  # G_k conditioned on the real l_k
    fake_levels = split_levels(fake_flat, model.level_shapes)
    d_step = model.calls[: 2 * model.num_levels]  # the first D step: (real, fake) per level, finest first
    for k in range(model.num_levels):
        (k_real, x_real, low_real), (k_fake, x_fake, low_fake) = d_step[2 * k], d_step[2 * k + 1]
        assert k_real == k_fake == k
        assert torch.allclose(x_real, real_levels[k])  # D_k's real input: the real band h_k (I_K at the top)
        assert torch.equal(x_fake, fake_levels[k])  # its fake input: G_k's output of this step
        assert not torch.allclose(x_real, x_fake)
        if k < model.num_levels - 1:
            assert torch.allclose(low_real, real_lows[k]) and torch.equal(low_real, low_fake)
        else:
            assert low_real is None and low_fake is None
    # the G step that follows judges the same fakes, level by level
    assert [c[0] for c in model.calls[2 * model.num_levels : 3 * model.num_levels]] == [0, 1, 2]

    written = sorted((tmp_path / "pictures").glob("lapgan_levels_step_*.png"))
    assert written and pictures.last_path in written

    # checkpoint round trip: the loaded model samples what the trained one samples (EMA generator)
    trainer.save_checkpoint(tmp_path / "lapgan.ckpt")
    loaded = load_model(tmp_path / "lapgan.ckpt")
    assert type(loaded) is RecordingLAPGAN and loaded.generator_ema is not None
    assert torch.equal(loaded.sample(4, seed=3), model.sample(4, seed=3))
    assert not torch.equal(loaded.sample(4, seed=3, weights="raw"), loaded.sample(4, seed=3))


# ---------------------------------------------------------------------- sampling
def test_sampling_runs_coarse_to_fine_and_returns_full_size_images_in_range() -> None:
    model = tiny().eval()
    order: list[int] = []
    for k, net in enumerate(model.generator.levels):
        net.register_forward_hook(lambda *_, k=k: order.append(k))
    latent = model.draw_latent(5, seed=1)
    assert latent.context is None
    levels = model.sample_levels(latent)
    assert order == [2, 1, 0]  # G_K first, then each finer level
    assert [tuple(t.shape) for t in levels] == [(5, 1, 28, 28), (5, 1, 14, 14), (5, 1, 7, 7)]
    # eq. 3: I~_k = u(I~_{k+1}) + G_k(z_k, u(I~_{k+1})), conditioned on the generated coarser image
    zs = model.generator.split_noise(latent.z)
    for k in range(2):
        low = model.pyramid.expand(levels[k + 1])
        expected = (low + model.generator.level(k, zs[k], low)).clamp(-1, 1)
        assert torch.allclose(levels[k], expected, atol=1e-6)
    sample = model.sample(5, seed=1)
    assert torch.equal(sample, levels[0]) and torch.equal(sample, model.sample(5, seed=1))
    assert sample.min() >= -1 and sample.max() <= 1
    # without a context, generate returns the sample's own bands: they reconstruct it
    assert torch.allclose(model.pyramid.reconstruct(split_levels(model.generate(latent), model.level_shapes)), sample)


def test_samples_stay_in_the_value_range_when_a_band_overshoots() -> None:
    model = tiny().eval()
    with torch.no_grad():
        model.generator.levels[0].net[-2].bias.fill_(50.0)  # G_0's band saturates at +2
    sample = model.sample(3, seed=0)
    assert torch.equal(sample, torch.ones_like(sample))


# ---------------------------------------------------------------------- the levels picture
@pytest.mark.parametrize(("shape", "levels", "columns"), [((1, 28, 28), 3, 3), ((3, 32, 32), 4, 4)])
def test_the_levels_picture_has_a_column_per_level(tmp_path: Path, shape: tuple, levels: int, columns: int) -> None:
    model = tiny(shape, levels=levels).eval()
    path = save_levels_picture(model, tmp_path / "levels.png", num=2, seed=0)
    side = shape[-1] + 2  # make_grid pads every image by 2
    assert Image.open(path).size == (columns * side + 2, 2 * side + 2)
    grid = levels_grid(model, 2, seed=0)
    last = grid[:, 2 : 2 + shape[-1], 2 + (columns - 1) * side : 2 + (columns - 1) * side + shape[-1]]
    final = to_grid(model.sample(2, seed=0)[:1], model.value_range, nrow=1)  # one image: no padding
    assert torch.allclose(last, final)  # the last column is the sample
    first = grid[:, 2 : 2 + shape[-1], 2 : 2 + shape[-1]]  # the coarsest image, replicated 2^K x 2^K
    block = 2 ** (levels - 1)
    assert torch.equal(first, first[:, ::block, ::block].repeat_interleave(block, 1).repeat_interleave(block, 2))
    with pytest.raises(LightgenError, match="GAN has none"):
        LAPGANLevels().setup(None, GAN((1, 28, 28), latent_dim=4, g_hidden=(4,), d_hidden=(4,)), "fit")  # type: ignore[arg-type]
