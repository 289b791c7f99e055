"""Colour spaces as classifier inputs (seed 000 chapter 5): input adapters, standardisation,
colour attention ranking, the resumable grid and its report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import color as skcolor

import tinct.colourspaces.grid as grid_module
from tinct.color import hsv_to_rgb, lab_to_rgb, yuv_to_rgb
from tinct.colourspaces import ColourInput, ColourSpaceClassifier, load_classifier, save_classifier
from tinct.colourspaces.grid import load_grid_config, parse_grid_config, run_grid
from tinct.colourspaces.inputs import Component, parse_components
from tinct.colourspaces.report import Stat, verdict, write_report
from tinct.colourspaces.training import (
    Schedule,
    augment,
    component_activations,
    rank_components,
    record_attention,
    train_classifier,
)
from tinct.data.shapes import render_shapes


def random_rgb(n: int = 4, size: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --- inputs -----------------------------------------------------------------------------


def test_twelve_channel_stack_round_trips_and_matches_scikit_image() -> None:
    rgb = random_rgb()
    inputs = ColourInput(["rgb", "lab", "hsv", "yuv"], hue="raw")
    assert inputs.channels == 12
    assert inputs.channel_names[:4] == ("RGB(R)", "RGB(G)", "RGB(B)", "LAB(L)")
    x = inputs.convert(rgb)
    assert x.shape == (4, 12, 8, 8)
    rgb_part, lab, hsv, yuv = x[:, 0:3], x[:, 3:6], x[:, 6:9], x[:, 9:12]
    torch.testing.assert_close(rgb_part, rgb)
    for back in (lab_to_rgb(lab), hsv_to_rgb(hsv), yuv_to_rgb(yuv)):
        torch.testing.assert_close(back, rgb, atol=2e-4, rtol=0)
    # scikit-image as the independent reference (HSV hue in turns there, radians here).
    image = rgb.permute(0, 2, 3, 1).double().numpy()
    np.testing.assert_allclose(lab.permute(0, 2, 3, 1).numpy(), skcolor.rgb2lab(image), atol=2e-2)
    sk_hsv = skcolor.rgb2hsv(image)
    ours = hsv.permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours[..., 0] / (2 * math.pi), sk_hsv[..., 0], atol=1e-4)
    np.testing.assert_allclose(ours[..., 1:], sk_hsv[..., 1:], atol=1e-4)
    np.testing.assert_allclose(yuv.permute(0, 2, 3, 1).numpy(), skcolor.rgb2yuv(image), atol=1e-3)


def test_circular_hue_is_continuous_across_the_wrap() -> None:
    # Two nearly equal reds on both sides of hue 0: H ~ 0.01 rad and H ~ 2π - 0.01 rad.
    reds = torch.tensor([[1.0, 0.01, 0.0], [1.0, 0.0, 0.01]])[:, :, None, None]
    raw = ColourInput(["hsv.H"], hue="raw").convert(reds)[:, 0, 0, 0]
    assert abs(float(raw[0] - raw[1])) > 6.0  # the raw channel jumps by about 2π
    circular = ColourInput(["hsv.H"], hue="circular")
    assert circular.channels == 2 and circular.channel_component == (0, 0)
    enc = circular.convert(reds)[:, :, 0, 0]
    assert float((enc[0] - enc[1]).norm()) < 0.05
    # The angle is kept: atan2(sin, cos) is the hue of scikit-image (in turns there).
    rgb = random_rgb(2, 6, seed=3)
    enc = circular.convert(rgb)
    angle = torch.atan2(enc[:, 1], enc[:, 0]) % (2 * math.pi)
    sk_hue = skcolor.rgb2hsv(rgb.permute(0, 2, 3, 1).double().numpy())[..., 0]
    diff = np.abs(angle.numpy() / (2 * math.pi) - sk_hue)
    assert np.minimum(diff, 1 - diff).max() < 1e-4


def test_parse_components() -> None:
    assert parse_components(["lab.L", "rgb.b"]) == (Component("lab", 0), Component("rgb", 2))
    assert Component("lab", 0).label == "LAB(L)" and Component("hsv", 0).key == "hsv.H"
    assert len(parse_components(["rgb", "lab", "hsv", "yuv"])) == 12
    with pytest.raises(ValueError, match="unknown colour space 'lba'"):
        parse_components(["lba"])
    with pytest.raises(ValueError, match="no channel 'Q'"):
        parse_components(["lab.Q"])
    with pytest.raises(ValueError, match="listed twice"):
        parse_components(["lab", "lab.L"])
    with pytest.raises(ValueError, match="non-empty"):
        ColourInput([])
    with pytest.raises(ValueError, match="hue must be"):
        ColourInput(["hsv"], hue="wrapped")


def test_standardisation_uses_the_training_split_only() -> None:
    train = random_rgb(8, 8, seed=1) * 0.5  # darker than the test images
    test = random_rgb(8, 8, seed=2) * 0.5 + 0.5
    torch.manual_seed(0)
    model = ColourSpaceClassifier("mobilenet", ["lab", "hsv"], 2, network={"width": 0.125})
    with pytest.raises(RuntimeError, match="fit"):
        model(train)
    labels = torch.tensor([0, 1] * 4)
    train_classifier(
        model, train, labels, test, labels, Schedule(epochs=1, batch_size=4, lr=0.01), seed=0
    )
    x = model.inputs.convert(train).double()
    expected_mean = x.mean(dim=(0, 2, 3))
    expected_std = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1).std(dim=1, unbiased=False)
    torch.testing.assert_close(model.inputs.mean.double(), expected_mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model.inputs.std.double(), expected_std, rtol=1e-4, atol=1e-5)
    both = model.inputs.convert(torch.cat([train, test])).double().mean(dim=(0, 2, 3))
    assert (both - expected_mean).abs().max() > 0.05  # the test split would have moved it
    standardised = model.inputs(train)
    torch.testing.assert_close(
        standardised.mean(dim=(0, 2, 3)), torch.zeros(model.inputs.channels), atol=1e-4, rtol=0
    )


def test_statistics_are_saved_with_the_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = ColourSpaceClassifier(
        "densenet", ["rgb", "hsv.H"], 3, attention=True, network={"blocks": [1], "growth": 4}
    )
    model.inputs.fit([random_rgb(4)])
    model.eval()
    path = save_classifier(model, tmp_path / "m.pt")
    loaded, saved = load_classifier(path)
    torch.testing.assert_close(loaded.inputs.mean, model.inputs.mean)
    torch.testing.assert_close(loaded.inputs.std, model.inputs.std)
    x = random_rgb(2, 32, seed=5)
    torch.testing.assert_close(loaded(x), model(x))
    assert saved["config"]["components"] == ["rgb.R", "rgb.G", "rgb.B", "hsv.H"]
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match=r"bad\.pt"):
        load_classifier(tmp_path / "bad.pt")


def test_augment_pads_crops_and_flips() -> None:
    rgb = random_rgb(16, 8, seed=4)
    out = augment(rgb, torch.Generator().manual_seed(0))
    assert out.shape == rgb.shape
    # Each output is a shifted (and maybe flipped) window of the zero-padded input.
    padded = torch.nn.functional.pad(rgb, (4, 4, 4, 4))
    for i in range(16):
        found = any(
            torch.equal(out[i], window) or torch.equal(out[i], window.flip(-1))
            for t in range(9)
            for s in range(9)
            for window in [padded[i, :, t : t + 8, s : s + 8]]
        )
        assert found


# --- attention --------------------------------------------------------------------------


def test_attention_has_one_entry_per_channel_and_a_deterministic_ranking() -> None:
    torch.manual_seed(0)
    model = ColourSpaceClassifier(
        "mobilenet", ["rgb", "lab", "hsv", "yuv"], 4, attention=True, network={"width": 0.125}
    )
    model.inputs.fit([random_rgb(8, 32)])
    images = random_rgb(10, 32, seed=7)
    first = record_attention(model, images, batch=3)
    assert first.shape == (model.inputs.channels,) == (13,)  # circular hue: cos and sin
    second = record_attention(model, images, batch=10)
    torch.testing.assert_close(first, second)
    per_component = component_activations(first.tolist(), model.inputs.channel_component)
    assert len(per_component) == 12
    hue_at = model.inputs.channel_component.index(6)
    assert per_component[6] == pytest.approx(float(first[hue_at : hue_at + 2].mean()))
    ranking = rank_components(model.inputs.components, per_component)
    assert ranking == rank_components(model.inputs.components, per_component)
    assert [v for _, v in ranking] == sorted(per_component, reverse=True)
    with pytest.raises(ValueError, match="no colour attention"):
        record_attention(ColourSpaceClassifier("mobilenet", ["rgb"], 2), images)


def test_ranking_breaks_ties_by_input_order() -> None:
    comps = parse_components(["rgb"])
    ranked = rank_components(comps, [0.5, 0.7, 0.5])
    assert [c.key for c, _ in ranked] == ["rgb.G", "rgb.R", "rgb.B"]


# --- grid -------------------------------------------------------------------------------

TINY = {
    "datasets": {"shapes": {"kind": "shapes", "train": 24, "test": 12}},
    "models": {"dn": {"arch": "densenet", "network": {"blocks": [1], "growth": 4}}},
    "inputs": {"RGB": ["rgb"], "LAB": ["lab"]},
    "attention": {"components": ["rgb", "hsv"], "top_k": [2]},
    "seeds": [0, 1, 2],
    "train": {"epochs": 1, "batch_size": 8},
}


def test_grid_config_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "grid.yaml"
    bad.write_text(
        "datasets: {d: {kind: shapes}}\nmodels: {m: {arch: resnet}}\ninputs: {RGB: [rgb]}\n"
    )
    with pytest.raises(ValueError, match=r"grid\.yaml: models\.m\.arch"):
        load_grid_config(bad)
    with pytest.raises(ValueError, match=r"missing\.yaml"):
        load_grid_config(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="top_k"):
        parse_grid_config({**TINY, "attention": {"components": ["rgb"], "top_k": [3]}})
    with pytest.raises(ValueError, match="unknown key"):
        parse_grid_config({**TINY, "train": {"epoch": 3}})
    config = parse_grid_config(TINY)
    with pytest.raises(ValueError, match="device 'gpu0'"):
        run_grid(config, tmp_path / "run", device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            run_grid(config, tmp_path / "run", device="cuda")
    assert config.baseline == "RGB"
    assert config.schedule(config.models[0]).lr == 0.1  # the seed's DenseNet rate


def test_resumed_grid_does_not_retrain_finished_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_grid_config(TINY)
    first = run_grid(config, tmp_path)
    assert len(first.cells) == 12 and first.trained == 12
    ranking = first.rankings[("shapes", "dn")]
    assert len(ranking) == 6
    hybrid = [c for c in first.cells if c.row == "top 2 hybrid"]
    assert all(c.components == tuple(r[0] for r in ranking[:2]) for c in hybrid)

    def no_training(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a finished cell was retrained")

    monkeypatch.setattr(grid_module, "train_classifier", no_training)
    again = run_grid(config, tmp_path)
    assert again.trained == 0
    assert [c.result["accuracy"] for c in again.cells] == [
        c.result["accuracy"] for c in first.cells
    ]
    monkeypatch.undo()
    # An unfinished cell (no result.json) is trained again, and only that one.
    victim = first.cells[3].folder / "result.json"
    victim.unlink()
    third = run_grid(config, tmp_path)
    assert third.trained == 1 and victim.is_file()
    # A changed setting is a new cell beside the old one, not an overwrite.
    changed = parse_grid_config({**TINY, "train": {"epochs": 2, "batch_size": 8}})
    fourth = run_grid(changed, tmp_path)
    assert fourth.trained == 12
    assert all(c.folder not in {d.folder for d in first.cells} for c in fourth.cells)


def test_report_tables_and_verdicts(tmp_path: Path) -> None:
    results = run_grid(parse_grid_config(TINY), tmp_path)
    md = write_report(results, header="header line")
    text = md.read_text()
    assert text.startswith("header line")
    for title in ("Table 5.1", "Table 5.2", "Table 5.3", "Budget"):
        assert title in text
    assert "| RGB (baseline) |" in text and "| HSV(H) |" in text
    summary = json.loads((tmp_path / "results.json").read_text())
    lab = next(r for r in summary["rows"] if r["row"] == "LAB")
    rgb = next(r for r in summary["rows"] if r["row"] == "RGB")
    assert len(lab["accuracies"]) == 3
    assert lab["delta_to_baseline"] == pytest.approx(lab["mean"] - rgb["mean"])
    assert (tmp_path / "plots").is_dir() and len(list((tmp_path / "plots").glob("*.png"))) == 2
    labels = [
        int(y)
        for *_, y in (
            render_shapes((seed, i), 32) for seed, n in ((0, 24), (2, 12)) for i in range(n)
        )
    ]
    train_labels, test_labels = labels[:24], labels[24:]
    top = max(range(3), key=lambda c: (train_labels.count(c), -c))
    expected_majority = 100.0 * test_labels.count(top) / 12
    assert summary["most_frequent_class_accuracy"]["shapes"] == pytest.approx(expected_majority)
    assert f"| most frequent class (no model) | {expected_majority:.2f} |" in text
    assert summary["budget"]["cells"] == 12 and summary["budget"]["steps"] == 12 * 3
    # The seeds' ranking agreement is the mean pairwise Spearman rho (scipy as reference).
    from scipy.stats import spearmanr

    from tinct.colourspaces.report import seed_agreement

    per_seed = [
        component_activations(c.result["attention"], c.result["channel_component"])
        for c in results.cells
        if c.row == "6 components with colour attention"
    ]
    pairs = [(0, 1), (0, 2), (1, 2)]
    expected = sum(spearmanr(per_seed[i], per_seed[j])[0] for i, j in pairs) / 3
    assert seed_agreement(results, "shapes", "dn") == pytest.approx(expected)
    assert summary["ranking_seed_agreement_spearman"]["shapes/dn"] == pytest.approx(expected)
    assert verdict(Stat([50.0, 51.0, 52.0]), Stat([40.0, 41.0, 42.0])) == "beyond"
    assert verdict(Stat([50.0, 51.0, 52.0]), Stat([49.0, 50.0, 51.0])) == "within"
    assert verdict(Stat([50.0]), Stat([40.0])) == "n/a"


# --- command line -----------------------------------------------------------------------


def test_shipped_configs_parse() -> None:
    root = Path(__file__).parents[1] / "configs" / "colourspaces"
    cifar = load_grid_config(root / "cifar.yaml")
    assert {s["kind"] for s in cifar.datasets.values()} == {"cifar10", "cifar100"}
    assert cifar.epochs == 300 and cifar.batch_size == 32 and len(cifar.seeds) >= 3
    assert len(cifar.attention) == 12 and cifar.top_k == (6, 9)
    offline = load_grid_config(root / "offline.yaml")
    assert list(offline.inputs) == list(cifar.inputs)  # the same grid, scaled


def test_cli_bad_config_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinct.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: []\n")
    assert main(["colourspaces", "run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "bad.yaml" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_runs_a_cifar_format_grid_end_to_end(tmp_path: Path) -> None:
    """The CIFAR-10 path users take, on a tiny CIFAR-10-format folder; then resumed."""
    from tinct.cli import main
    from tinct.data.cifar import write_cifar10_format
    from tinct.data.shapes import SHAPES, render_shapes

    splits = {}
    for split, seed, n in (("train", 0, 48), ("test", 2, 24)):
        items = [render_shapes((seed, i), 32) for i in range(n)]
        splits[split] = (
            np.stack([rgb for rgb, _, _ in items]),
            np.array([y for *_, y in items], dtype=np.int64),
        )
    folder = write_cifar10_format(tmp_path / "cifar-10-batches-py", splits, SHAPES)
    config = tmp_path / "grid.yaml"
    config.write_text(
        f"datasets: {{c10: {{kind: cifar10, root: {folder}}}}}\n"
        "models:\n"
        "  dn: {arch: densenet, network: {blocks: [1, 1], growth: 4}}\n"
        "  mb: {arch: mobilenet, network: {width: 0.125}}\n"
        "inputs: {RGB: [rgb], HSV: [hsv], 'RGB, LAB': [rgb, lab]}\n"
        "attention: {components: [rgb, lab, hsv, yuv], top_k: [6, 9]}\n"
        "seeds: [0, 1, 2]\n"
        "train: {epochs: 2}\n"
    )
    out = tmp_path / "run"
    assert main(["colourspaces", "run", str(config), "--out", str(out), "-q"]) == 0
    text = (out / "results.md").read_text()
    assert "| dn · c10 | mb · c10 |" in text and "top 9 hybrid" in text
    plots = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert len(plots) == 6 and "attention-c10-dn-top-9-hybrid.png" in plots  # 3 rows x 2
    stamp = (out / "results.json").stat().st_mtime_ns
    cells = sorted(out.glob("cells/*/*/*/result.json"))
    assert len(cells) == 2 * 6 * 3
    before = [p.stat().st_mtime_ns for p in cells]
    assert main(["colourspaces", "run", str(config), "--out", str(out), "-q"]) == 0
    assert [p.stat().st_mtime_ns for p in cells] == before
    assert (out / "results.json").stat().st_mtime_ns >= stamp
