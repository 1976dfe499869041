"""Training the autoregressive models with Lightning: the NLL falls, and checkpoints round-trip."""

from __future__ import annotations

import pytest
import torch
from ar_models import one_thread  # noqa: F401  (autouse fixture)
from conftest import quiet_trainer
from PIL import Image

from lightgen.checkpoint import load_model
from lightgen.cli import main
from lightgen.data import MNIST
from lightgen.errors import LightgenError
from lightgen.models import FVBN, MADE, NADE, NARN, PixelCNN

SIZE = 8  # MNIST resized to 8x8: D = 64, so 30 steps take well under a second per model
MODELS = {
    "fvbn": (FVBN, {"lr": 1e-2}),
    "narn": (NARN, {"hidden_per_variable": 2, "lr": 1e-2}),
    "nade": (NADE, {"hidden": 32, "lr": 1e-2}),
    "made": (MADE, {"hidden_sizes": (64,), "num_masks": 4, "lr": 1e-2}),
    "pixelcnn": (PixelCNN, {"channels": 16, "num_layers": 2, "kernel_size": 5, "lr": 1e-2}),
    "gated_pixelcnn": (PixelCNN, {"channels": 16, "num_layers": 2, "kernel_size": 3, "block": "gated", "lr": 1e-2}),
}


def _data(root, binarize: str = "threshold") -> MNIST:
    dm = MNIST(root=str(root), image_size=SIZE, value_range=(0.0, 1.0), binarize=binarize, val_size=64, batch_size=32)
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("name", sorted(MODELS))
def test_nll_falls_over_30_steps(name: str, mnist_root, tmp_path) -> None:
    torch.manual_seed(0)
    dm = _data(mnist_root, "dynamic" if name == "made" else "threshold")
    cls, kwargs = MODELS[name]
    model = cls(data_shape=dm.data_shape, **kwargs)
    test_x = torch.stack([dm.test_set[i][0] for i in range(64)])
    with torch.no_grad():
        before = -model.log_prob(test_x).mean().item()
    trainer = quiet_trainer(max_steps=30, limit_val_batches=1)
    trainer.fit(model, datamodule=dm)
    with torch.no_grad():
        after = -model.log_prob(test_x).mean().item()
    logged = trainer.callback_metrics
    assert {"train_nll", "train_bpd", "val_nll", "val_bpd"} <= set(logged)
    assert after < before - 5.0, f"{name}: test NLL {before:.2f} -> {after:.2f} nats"
    # val_nll is the exact mean over the split, in nats; bpd is nats / (D ln 2)
    assert logged["val_bpd"].item() == pytest.approx(
        logged["val_nll"].item() / (SIZE * SIZE * 0.6931471805599453), rel=1e-5
    )
    (result,) = trainer.test(model, datamodule=dm, verbose=False)
    all_test = torch.stack([dm.test_set[i][0] for i in range(len(dm.test_set))])
    with torch.no_grad():
        assert result["test_nll"] == pytest.approx(-model.log_prob(all_test).mean().item(), rel=1e-4)


@pytest.mark.parametrize("name", ["made", "nade", "pixelcnn"])
def test_checkpoint_round_trip_gives_identical_log_prob(name: str, mnist_root, tmp_path) -> None:
    torch.manual_seed(0)
    dm = _data(mnist_root)
    cls, kwargs = MODELS[name]
    model = cls(data_shape=dm.data_shape, **kwargs)
    trainer = quiet_trainer(max_steps=3, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    x = torch.stack([dm.test_set[i][0] for i in range(16)])
    model.eval()
    if name == "made":
        model.use_mask(2)  # leave a different mask in the saved buffers' place
    loaded = load_model(path)
    assert type(loaded) is cls
    with torch.no_grad():
        assert torch.equal(loaded.log_prob(x), model.log_prob(x))
        assert torch.equal(loaded.sample(8, seed=1), model.sample(8, seed=1))
    # and `lightgen sample --ckpt` writes a grid of 4 images of 8x8 (2 per row, 2 px padding)
    out = tmp_path / "grid.png"
    main(["sample", "--ckpt", str(path), "--num", "4", "--nrow", "2", "--out", str(out), "--seed", "0"])
    assert Image.open(out).size == (2 * (SIZE + 2) + 2, 2 * (SIZE + 2) + 2)


def test_bernoulli_model_refuses_grey_data(mnist_root) -> None:
    dm = _data(mnist_root, binarize="none")
    model = FVBN(data_shape=dm.data_shape)
    with pytest.raises(LightgenError, match="binary data"):
        quiet_trainer(max_steps=1, limit_val_batches=0).fit(model, datamodule=dm)


def test_unsupported_choices_are_one_line_errors() -> None:
    with pytest.raises(LightgenError, match="supports distribution"):
        NADE(data_shape=(1, 2, 2), distribution="categorical")
    with pytest.raises(LightgenError, match="single-channel"):
        PixelCNN(data_shape=(3, 4, 4))
