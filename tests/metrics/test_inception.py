"""The offline Inception route: conversion parity with the TorchScript file, fingerprint, IS refusal."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import pytest
import torch
from metric_fixtures import inception_weights, torchscript_inception  # noqa: F401  (fixtures)

from lightgen.errors import LightgenError
from lightgen.metrics import inception as inc


def test_converted_features_equal_torchscript(torchscript_inception, tmp_path):
    converted = inc.convert_torchscript_file(torchscript_inception, tmp_path / "w.pth")
    ours = inc.build_extractor(converted)
    theirs = inc.load_torchscript(torchscript_inception)
    x = inc.fingerprint_input()[:1]  # (1, 3, 299, 299) uint8: no resize on torch-fidelity's side
    with torch.no_grad():
        (f_ours,) = ours(x)
        f_theirs = theirs((x.float() - 128) / 128)  # torch-fidelity's own normalisation, TF range
    assert f_ours.shape == (1, 2048)
    assert torch.allclose(f_ours, f_theirs, atol=1e-4), float((f_ours - f_theirs).abs().max())
    assert float(f_ours.abs().max()) > 0.1  # not trivially zero
    # the fingerprint of the converted file matches the stored one; a perturbed file is refused
    inc.check_fingerprint(converted)
    state = torch.load(converted, weights_only=True)
    state["Mixed_7c.branch_pool.conv.weight"] *= 1.5
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(LightgenError, match="fingerprint"):
        inc.check_fingerprint(tmp_path / "bad.pth")


def test_conversion_rejects_wrong_shapes(torchscript_inception):
    state = inc.load_torchscript(torchscript_inception).state_dict()
    keys = list(state)
    # swap a 1x3 and a 3x1 kernel's order: a wrong pairing must fail loudly, not give wrong features
    a, b = (
        keys.index("net.layers.mixed_9.tower_mixed_conv.weight"),
        keys.index("net.layers.mixed_9.tower_mixed_conv_1.weight"),
    )
    keys[a], keys[b] = keys[b], keys[a]
    with pytest.raises(LightgenError, match="does not fit"):
        inc.convert_torchscript_state({k: state[k] for k in keys})


def test_missing_weights_error_names_the_command(tmp_path):
    with pytest.raises(LightgenError, match="lightgen data prepare inception"):
        inc.inception_weights_path(tmp_path)


def test_inception_score_is_refused_with_reason():
    from lightgen.metrics.fidelity import inception_score_unavailable

    with pytest.raises(LightgenError, match="classifier head"):
        inception_score_unavailable()
