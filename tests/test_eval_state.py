"""The resume state of ``tinct evaluate``: safe to load, small, removed when done."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers import write_photos
from tinct.data.folders import ImageFolder
from tinct.eval.config import EvalConfig, model_specs
from tinct.eval.features import FeatureStats
from tinct.eval.runner import evaluate
from tinct.eval.state import STATE_FILE, EvalStateError, FeatureBank, load_state

#: What the state of a 3-image evaluation with features (the two baselines) weighed
#: before it was trimmed: full-size covariance accumulators and the grid images.
OLD_STATE_BYTES = 41_440_992


class _Interrupt(Exception):
    pass


class _StopAt(ImageFolder):
    """Raises when item ``stop_at`` is loaded in the main pass (its second load)."""

    def __init__(self, *args: Any, stop_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop_at = stop_at
        self.loads: list[int] = []

    def load(self, index: int) -> Any:
        self.loads.append(index)
        if index == self.stop_at and self.loads.count(index) == 2:
            raise _Interrupt
        return super().load(index)


def _config(folder: Path, **kwargs: Any) -> EvalConfig:
    options: dict[str, Any] = {"size": 32, "grid": 2, "chunk": 2, "features": False}
    options.update(kwargs)
    return EvalConfig(target=str(folder), **options)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    write_photos(tmp_path / "photos", 4, size=(40, 48))
    return tmp_path / "photos"


def _interrupted_state(photos: Path, out: Path, **kwargs: Any) -> Path:
    """Run an evaluation that stops in its second chunk; the state file it leaves."""
    with pytest.raises(_Interrupt):
        evaluate(
            _config(photos, **kwargs),
            model_specs([]),
            out_dir=out,
            dataset=_StopAt(photos, stop_at=2),
            progress=False,
        )
    assert (out / STATE_FILE).is_file()
    return out / STATE_FILE


def _refused(photos: Path, out: Path, match: str) -> EvalStateError:
    with pytest.raises(EvalStateError, match=match) as info:
        evaluate(_config(photos), model_specs([]), out_dir=out, progress=False)
    err = info.value
    assert isinstance(err, ValueError)  # the CLI reports ValueErrors in one line
    assert "\n" not in str(err)
    assert str(out / STATE_FILE) in str(err)
    assert err.path == out / STATE_FILE
    return err


# --------------------------------------------------------------------------- #
# loading is safe and errors are one line
# --------------------------------------------------------------------------- #


class _Planted:
    """Unpickling this would create a marker file (if the unpickler allowed it)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_planted_state_runs_nothing(photos: Path, tmp_path: Path, how: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    marker = tmp_path / "marker"
    planted = {"format": "tinct-evaluation-state", "payload": _Planted(marker)}
    if how == "pickle":
        (out / STATE_FILE).write_bytes(pickle.dumps(planted, protocol=2))
    else:
        torch.save(planted, out / STATE_FILE)
    # (the file would indeed run code if loaded without weights_only)
    before = (out / STATE_FILE).read_bytes()
    _refused(photos, out, "objects other than tensors")
    assert not marker.exists()
    assert (out / STATE_FILE).read_bytes() == before  # left as it was, not overwritten


def test_truncated_state(photos: Path, tmp_path: Path) -> None:
    state = _interrupted_state(photos, tmp_path / "out")
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2])
    _refused(photos, tmp_path / "out", "unreadable or truncated")
    state.write_bytes(b"")
    _refused(photos, tmp_path / "out", "unreadable or truncated")


def test_foreign_old_and_corrupt_states(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    torch.save({"weights": torch.zeros(3)}, out / STATE_FILE)
    _refused(photos, out, "not a tinct evaluation state")
    torch.save([1, 2, 3], out / STATE_FILE)
    _refused(photos, out, "not a tinct evaluation state")
    torch.save({"fingerprint": "abc", "done": 2, "models": {}}, out / STATE_FILE)
    _refused(photos, out, "older version of tinct")

    state = _interrupted_state(photos, tmp_path / "out2")
    good = torch.load(state, weights_only=True)
    for key, value in [("done", "many"), ("done", 99), ("mean_ab", [1.0]), ("models", {})]:
        bad = {**good, key: value}
        torch.save(bad, state)
        _refused(photos, tmp_path / "out2", "corrupt evaluation state")
    torch.save({**good, "version": 1}, state)
    _refused(photos, tmp_path / "out2", "another version of tinct")
    torch.save(good, state)
    with pytest.raises(EvalStateError, match="different evaluation"):
        evaluate(
            _config(photos, seed=5), model_specs([]), out_dir=tmp_path / "out2", progress=False
        )
    # the intact state still resumes
    evaluate(_config(photos), model_specs([]), out_dir=tmp_path / "out2", progress=False)


def test_state_that_is_not_a_file(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / STATE_FILE).mkdir(parents=True)
    _refused(photos, out, "not a regular file")


def test_load_state_reads_with_weights_only(photos: Path, tmp_path: Path) -> None:
    state = load_state(_interrupted_state(photos, tmp_path / "out"))
    assert state["done"] == 2
    assert state["format"] == "tinct-evaluation-state"


# --------------------------------------------------------------------------- #
# small, complete, removed when done
# --------------------------------------------------------------------------- #


class _FakeLite:
    """Stands in for EfficientNet-Lite0 (same output shapes, a fixed random projection
    of the pixels), so the state test runs in seconds."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.features = torch.randn(3 * 8 * 8, 1280, generator=generator)
        self.logits = torch.randn(1280, 1000, generator=generator)

    def __call__(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        small = torch.nn.functional.adaptive_avg_pool2d(rgb, 8).flatten(1)
        features = small @ self.features
        return features, features @ self.logits


def _cheap_distance(a: FeatureStats, b: FeatureStats) -> float:
    """A stand-in for the Fréchet distance (whose 1280-d matrix square root takes
    seconds) that still depends on both means and covariances."""
    mean = float(((a.mean - b.mean) ** 2).sum())
    return mean + float(a.covariance.trace() + b.covariance.trace() + a.covariance[0, 1])


@pytest.mark.parametrize(
    "network", ["fake", pytest.param("efficientnet-lite0", marks=pytest.mark.slow)]
)
def test_state_is_small_and_resume_is_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, network: str
) -> None:
    """3 images with FD-Lite features: the state was 41 MB (three 1280 x 1280 float64
    accumulators and the grid images); now the feature vectors themselves, < 1 MB."""
    if network == "fake":
        monkeypatch.setattr("tinct.eval.runner.LiteClassifier", _FakeLite)
        monkeypatch.setattr("tinct.eval.runner.fd_lite", _cheap_distance)
    photos = tmp_path / "photos"
    write_photos(photos, 3, size=(40, 48))
    config = _config(photos, features=True, grid=3)
    specs = model_specs([])
    out = tmp_path / "out"
    fresh = evaluate(config, specs, out_dir=out, progress=False, keep_state=True)
    size = (out / STATE_FILE).stat().st_size
    assert size < 1_000_000
    assert size < OLD_STATE_BYTES / 100
    saved = torch.load(out / STATE_FILE, weights_only=True)
    assert "grid" not in saved["truth"]
    assert all("grid" not in m for m in saved["models"].values())
    assert saved["truth"]["features"]["rows"].shape == (3, 1280)

    # A completed state resumes to the same result and is then removed.
    again = evaluate(config, specs, out_dir=out, progress=False)
    assert not (out / STATE_FILE).exists()
    for name in ("greyscale", "mean-chroma"):
        assert again.per_image[name] == fresh.per_image[name]
        assert again.summary[name]["fd_lite"] == fresh.summary[name]["fd_lite"]

    # Interrupted in the second chunk, then resumed: the same numbers and grid images.
    out2 = tmp_path / "out2"
    with pytest.raises(_Interrupt):
        evaluate(config, specs, out_dir=out2, dataset=_StopAt(photos, stop_at=2), progress=False)
    assert (out2 / STATE_FILE).stat().st_size < 1_000_000
    resumed = evaluate(config, specs, out_dir=out2, progress=False)
    assert not (out2 / STATE_FILE).exists()
    for name in ("greyscale", "mean-chroma"):
        assert resumed.per_image[name] == fresh.per_image[name]
        for key, value in fresh.summary[name].items():
            if key != "seconds_per_image":
                assert resumed.summary[name][key] == pytest.approx(value, rel=1e-9), key
        assert len(resumed.grids[name]) == 3
        for a, b in zip(resumed.grids[name], fresh.grids[name], strict=True):
            assert torch.equal(a, b)
    assert len(resumed.grid_truth) == 3
    for a, b in zip(resumed.grid_truth, fresh.grid_truth, strict=True):
        assert torch.equal(a, b)


def test_no_state_left_after_evaluate(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = evaluate(_config(photos), model_specs([]), out_dir=out, progress=False)
    assert len(result.images) == 4
    assert not (out / STATE_FILE).exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files


# --------------------------------------------------------------------------- #
# FeatureBank
# --------------------------------------------------------------------------- #


def test_feature_bank_switches_to_statistics_and_round_trips(tmp_path: Path) -> None:
    dim = 4
    chunks = [torch.randn(3, dim, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    bank = FeatureBank()
    assert bank.stats() is None and bank.n == 0
    reference = FeatureStats()
    for i, chunk in enumerate(chunks):
        bank.update(chunk)
        reference.update(chunk)
        path = tmp_path / f"bank{i}.pt"
        torch.save(bank.state_dict(), path)
        state = torch.load(path, weights_only=True)
        assert ("rows" in state) == (3 * (i + 1) <= 2 * dim)  # vectors while smaller
        restored = FeatureBank.from_state(state)
        assert restored.n == bank.n == 3 * (i + 1)
        stats, again = bank.stats(), restored.stats()
        assert stats is not None and again is not None
        assert torch.equal(stats.mean, again.mean)
        assert torch.allclose(stats.covariance, reference.covariance, atol=1e-12)
        assert torch.allclose(stats.mean, reference.mean, atol=1e-12)
    with pytest.raises(ValueError, match="must be"):
        FeatureBank.from_state({"rows": [1.0, 2.0]})


def test_state_file_written_atomically(photos: Path, tmp_path: Path, monkeypatch: Any) -> None:
    """A failure while the state is being written leaves the previous state intact."""
    import tinct.eval.runner as runner

    out = tmp_path / "out"
    state = _interrupted_state(photos, out)
    before = state.read_bytes()
    real_save = torch.save

    def failing_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        real_save(obj, f, *args, **kwargs)
        with open(f, "r+b") as fh:  # half-written, then the process "dies"
            fh.truncate(os.path.getsize(f) // 2)
        raise _Interrupt

    monkeypatch.setattr(runner.torch, "save", failing_save)
    with pytest.raises(_Interrupt):
        evaluate(_config(photos), model_specs([]), out_dir=out, progress=False)
    assert state.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [STATE_FILE]
