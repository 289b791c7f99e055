"""tinct evaluate / benchmark / results: the runner, its resume, reports and the CLI."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from helpers import synthetic_photo, write_photos
from tinct.cli import main
from tinct.color import rgb_to_lab
from tinct.color.decode import DEFAULT_TEMPERATURE
from tinct.data.folders import ImageFolder
from tinct.eval.config import EvalConfig, model_specs
from tinct.eval.features import frechet_distance
from tinct.eval.metrics.pixel import colourfulness
from tinct.eval.results import (
    MissingBaselines,
    build_index,
    missing_baselines,
    readme_table,
    update_readme,
)
from tinct.eval.runner import evaluate
from tinct.eval.truth import constant_chroma, greyscale_baseline, prepare_truth
from tinct.io import read_image_numpy
from tinct.models import Colouriser, ModelOutput, save_model
from tinct.models.registry import _REGISTRY, create_model, register_model


def test_prepare_truth_resizes_short_side_and_centre_crops() -> None:
    rgb = synthetic_photo(60, 100, seed=0)
    truth = prepare_truth(rgb, 32)
    assert truth.shape == (3, 32, 32) and truth.dtype == torch.uint8
    small = prepare_truth(synthetic_photo(20, 30, seed=1), 40)  # enlarged
    assert small.shape == (3, 40, 40)
    # A square image of the right size is returned unchanged.
    same = synthetic_photo(32, 32, seed=2)
    assert torch.equal(prepare_truth(same, 32), torch.from_numpy(same).permute(2, 0, 1))


def test_baselines_keep_lightness_and_set_chroma() -> None:
    truth = torch.from_numpy(synthetic_photo(24, 24, seed=3)).permute(2, 0, 1).contiguous()
    lab_true = rgb_to_lab(truth.float() / 255)
    grey = greyscale_baseline(truth)
    lab_grey = rgb_to_lab(grey.float() / 255)
    assert (lab_grey[0] - lab_true[0]).abs().max() < 1.0  # L kept (8-bit rounding)
    assert lab_grey[1:].abs().max() < 1.5 and colourfulness(grey.float() / 255) < 1.0
    tinted = constant_chroma(truth, (20.0, -10.0))
    lab_t = rgb_to_lab(tinted.float() / 255)
    inside = (lab_true[0] > 25) & (lab_true[0] < 85)  # away from the gamut's ends
    assert (lab_t[1][inside] - 20).abs().mean() < 2 and (lab_t[2][inside] + 10).abs().mean() < 2


def test_model_specs_names() -> None:
    specs = model_specs(["default", "runs/a/model.pt", "runs/b/checkpoints/last.ckpt"])
    assert [s.name for s in specs] == ["greyscale", "mean-chroma", "default", "a", "b/last"]
    assert [s.is_baseline for s in specs] == [True, True, False, False, False]
    with pytest.raises(ValueError, match="named 'x'"):
        model_specs(["a.pt", "b.pt"], ["x", "x"])
    with pytest.raises(ValueError, match="2 names"):
        model_specs(["a.pt"], ["x", "y"])


def _small_config(folder: Path, **kwargs: Any) -> EvalConfig:
    return EvalConfig(target=str(folder), size=48, grid=2, chunk=2, features=False, **kwargs)


def test_evaluate_folder_with_baselines_and_a_corrupt_file(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos", 5, size=(56, 64))
    (tmp_path / "photos" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    specs = model_specs([])
    result = evaluate(_small_config(tmp_path / "photos"), specs, progress=False)
    assert len(result.images) == 5
    assert [Path(p).name for p, _ in result.skipped] == ["broken.png"]
    for name in ("greyscale", "mean-chroma"):
        assert len(result.per_image[name]) == 5
        for key in ("psnr", "rmse_ab", "ciede2000", "ssim", "auc", "kl", "js", "auc_rebalanced"):
            assert math.isfinite(result.summary[name][key]), (name, key)
        assert all(math.isfinite(r["bleeding"]) for r in result.per_image[name])
    grey, mean = result.summary["greyscale"], result.summary["mean-chroma"]
    # Greyscale has no colour; a constant mean-ab tint has some (the photos' mean ab is far
    # from neutral), though far less than the truth.
    assert grey["colourfulness"] < 1.0 < mean["colourfulness"]
    assert mean["colourfulness"] < min(result.truth_colourfulness)
    # The mean ab of the truth is the best constant colouring in pooled squared ab error
    # (all images have the same size, so pooling = the mean of per-image MSEs).
    pooled = {
        n: math.sqrt(np.mean([r["rmse_ab"] ** 2 for r in result.per_image[n]]))
        for n in ("greyscale", "mean-chroma")
    }
    assert pooled["mean-chroma"] <= pooled["greyscale"] + 1e-6
    # The colourfulness gap is each image's M minus its truth's.
    gaps = [r["colourfulness_gap"] for r in result.per_image["greyscale"]]
    truths = result.truth_colourfulness
    assert np.allclose(gaps, [r["colourfulness"] - t for r, t in zip(
        result.per_image["greyscale"], truths, strict=True)], atol=1e-6)  # fmt: skip


class _Interrupt(Exception):
    pass


class _FlakyFolder(ImageFolder):
    """Raises once when item ``fail_at`` is loaded; counts loads."""

    def __init__(self, *args: Any, fail_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail_at = fail_at
        self.loads: list[int] = []

    def load(self, index: int) -> Any:
        self.loads.append(index)
        if index == self.fail_at and len([i for i in self.loads if i == index]) == 2:
            raise _Interrupt  # fails in the main pass (the first load is the mean pass)
        return super().load(index)


def test_evaluate_resumes_after_an_interruption(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos", 6, size=(48, 48))
    config = _small_config(tmp_path / "photos")
    specs = model_specs([])
    fresh = evaluate(config, specs, progress=False)

    out = tmp_path / "out"
    flaky = _FlakyFolder(tmp_path / "photos", fail_at=4)
    with pytest.raises(_Interrupt):
        evaluate(config, specs, out_dir=out, dataset=flaky, progress=False)
    assert (out / "state.pt").is_file()
    # Another config in the same folder is refused, not mixed in.
    with pytest.raises(ValueError, match="different evaluation"):
        evaluate(_small_config(tmp_path / "photos", seed=1), specs, out_dir=out, progress=False)
    again = _FlakyFolder(tmp_path / "photos")
    resumed = evaluate(config, specs, out_dir=out, dataset=again, progress=False)
    # the first two chunks were not redone (0 and 1 are loaded again for the sample grid)
    assert sorted(set(again.loads) - {0, 1}) == [4, 5] and 2 not in again.loads
    for name in ("greyscale", "mean-chroma"):
        assert resumed.per_image[name] == fresh.per_image[name]
        for key, value in fresh.summary[name].items():
            if key != "seconds_per_image":
                assert resumed.summary[name][key] == pytest.approx(value, rel=1e-9), key
    assert not (out / "state.pt").exists()  # complete: removed by evaluate()


def test_limit_takes_a_seeded_subset(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos", 6, size=(40, 40))
    a = evaluate(_small_config(tmp_path / "photos", limit=3, seed=5), model_specs([]),
                 progress=False)  # fmt: skip
    b = evaluate(_small_config(tmp_path / "photos", limit=3, seed=5), model_specs([]),
                 progress=False)  # fmt: skip
    assert len(a.images) == 3 and a.images == b.images


class _TwoBinColouriser(Colouriser):
    """A tiny 'classification' model: logits over two ab bins, annealed-mean decoding."""

    supports_temperature = True
    input_size = 32

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([3.0, -3.0]).view(2, 1, 1, 1))
            self.conv.bias.zero_()
        self.register_buffer("bins", torch.tensor([[40.0, 30.0], [-30.0, -40.0]]))

    def forward(self, lightness: Tensor) -> ModelOutput:
        return ModelOutput(extras={"logits": self.conv(self.normalize_input(lightness))})

    def decode(self, output: ModelOutput, *, temperature: float | None = None) -> Tensor:
        t = 0.38 if temperature is None else temperature
        p = torch.softmax(output.extras["logits"].float() / t, dim=1)
        return torch.einsum("bkhw,kc->bchw", p, self.bins.float())


@pytest.fixture
def two_bin_model(tmp_path: Path) -> Iterator[Path]:
    @register_model("test-two-bin", family="classification")
    def _factory() -> Colouriser:
        """Test model."""
        return _TwoBinColouriser()

    try:
        yield save_model(create_model("test-two-bin"), tmp_path / "two_bin.pt", half=False)
    finally:
        _REGISTRY.pop("test-two-bin", None)


def test_temperature_sweep_and_report(tmp_path: Path, two_bin_model: Path) -> None:
    from tinct.eval.report import write_report

    write_photos(tmp_path / "photos", 3, size=(40, 40))
    result = evaluate(
        _small_config(tmp_path / "photos"),
        model_specs([str(two_bin_model)], ["two-bin"]),
        progress=False,
        sweep_temperatures=(2.0, 0.5, 0.1),
        sweep_images=2,
    )
    rows = result.sweeps["two-bin"]
    assert [r["temperature"] for r in rows] == [2.0, 0.5, 0.1]
    assert all(r["images"] == 2 for r in rows)
    assert len(result.sweep_grids["two-bin"][0]) == 2
    m = [r["colourfulness"] for r in rows]
    assert m[0] < m[1] < m[2]  # colder decoding -> nearer the mode -> more colourful
    md = write_report(result, tmp_path / "report", command="tinct evaluate test")
    text = md.read_text()
    assert "Command: `tinct evaluate test`" in text and "## Temperature sweep: two-bin" in text
    # Every quality table of the report carries both baselines (the sweep's too).
    assert missing_baselines(text) == []
    grey = json.loads((tmp_path / "report" / "results.json").read_text())
    data_summary = grey["summary"]["greyscale"]
    assert (
        f"| greyscale | {data_summary['colourfulness']:.1f} | {data_summary['rmse_ab']:.2f} |"
        in text
    )
    files = ["summary.csv", "per_image.csv", "results.json", "ab_histograms.png"]
    files += ["ab_error_curve.png", "per_image.png", "samples.jpg", "temperature_two-bin.png"]
    for name in files:
        assert (tmp_path / "report" / name).stat().st_size > 0, name
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    assert set(data["summary"]) == {"greyscale", "mean-chroma", "two-bin"}
    assert len(data["per_image"]["two-bin"]) == 3
    csv_lines = (tmp_path / "report" / "per_image.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 3 * 3
    assert "bleeding" in csv_lines[0].split(",") and "| bleeding ↓ |" in text
    assert math.isfinite(data["summary"]["greyscale"]["bleeding"])

    # By default the sweep covers every evaluated image: at the model's own temperature
    # it repeats the main table.
    full = evaluate(
        _small_config(tmp_path / "photos"),
        model_specs([str(two_bin_model)], ["two-bin"]),
        progress=False,
        sweep_temperatures=(DEFAULT_TEMPERATURE,),
    )
    (row,) = full.sweeps["two-bin"]
    assert row["images"] == 3
    for key in ("colourfulness", "rmse_ab", "ciede2000"):
        assert row[key] == pytest.approx(full.summary["two-bin"][key], rel=1e-4), key


def test_features_give_fd_lite_and_agreement(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos", 4, size=(64, 64))
    config = EvalConfig(target=str(tmp_path / "photos"), size=64, grid=1, features=True)
    result = evaluate(config, model_specs([]), progress=False)
    for name in ("greyscale", "mean-chroma"):
        s = result.summary[name]
        assert s["fd_lite"] >= 0 and 0.0 <= s["top1_agreement"] <= 1.0


class _FakeInception(nn.Module):
    """The calling convention of NVlabs' inception-2015-12-05.pt (uint8 NCHW in)."""

    def forward(self, x: Tensor, return_features: bool = False) -> Tensor:
        means = x.float().mean(dim=(2, 3))
        return torch.cat([means, means.pow(2) / 255], dim=1)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_fid_with_a_user_inception_file(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos", 4, size=(48, 48))
    inception = tmp_path / "inception.pt"
    torch.jit.script(_FakeInception()).save(str(inception))
    config = _small_config(tmp_path / "photos", inception=str(inception))
    result = evaluate(config, model_specs([]), progress=False)

    # Fréchet distance of the 6-d features, checked against a direct computation.
    def feats(images: list[Tensor]) -> Tensor:
        return _FakeInception()(torch.stack(images).round().to(torch.uint8))

    photos = sorted((tmp_path / "photos").glob("*.png"))
    truth = [prepare_truth(read_image_numpy(p), 48) for p in photos]
    grey = [greyscale_baseline(t) for t in truth]
    ft, fg = feats(truth).double(), feats(grey).double()
    expected = frechet_distance(fg.mean(0), fg.T.cov(), ft.mean(0), ft.T.cov())
    assert result.summary["greyscale"]["fid"] == pytest.approx(expected, rel=1e-6)


def test_cli_evaluate_benchmark_and_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_photos(tmp_path / "photos", 3, size=(64, 80))
    out = tmp_path / "eval"
    code = main(["evaluate", "default", "--data", str(tmp_path / "photos"), "--size", "64",
                 "--no-features", "-o", str(out), "-q"])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert summary["default"]["colourfulness"] > summary["greyscale"]["colourfulness"]

    bench_dir = tmp_path / "results" / "benchmark"
    code = main(["benchmark", "default", "--data", str(tmp_path / "photos"), "--size", "64",
                 "--no-features", "--latency-sizes", "64", "96", "--repeats", "1",
                 "-o", str(bench_dir), "-q"])  # fmt: skip
    assert code == 0
    bench = json.loads((bench_dir / "benchmark.json").read_text())
    rows = bench["rows"]
    assert set(rows) == {"greyscale", "mean-chroma", "default"}
    assert rows["default"]["params_m"] > 1 and rows["default"]["gflops_256"] > 0.1
    assert rows["greyscale"]["params_m"] == 0
    assert rows["default"]["latency_ms_96"] > 0 and rows["default"]["peak_rss_mib"] > 100
    assert "| default |" in (bench_dir / "benchmark.md").read_text()

    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nold\n<!-- results:end -->\nrest\n")
    code = main(["results", "--dir", str(tmp_path / "results"), "--readme", str(readme)])
    assert code == 0
    text = readme.read_text()
    assert "old" not in text and "| default |" in text and text.endswith("rest\n")
    index = (tmp_path / "results" / "index.md").read_text()
    assert "benchmark/benchmark.md" in index and "benchmark/results.md" in index

    # Errors name the problem instead of a traceback.
    assert main(["evaluate", "--data", str(tmp_path / "nowhere"), "-q"]) == 2
    assert "neither a known dataset" in capsys.readouterr().err
    assert main(["results", "--dir", str(tmp_path / "results"), "--readme",
                 str(tmp_path / "photos" / "missing.md"), "--benchmark",
                 str(tmp_path / "none.json")]) == 2  # fmt: skip


def test_results_refuse_a_quality_table_without_its_baselines(tmp_path: Path) -> None:
    header = "| model | PSNR ↑ | ΔE00 ↓ |\n|---|---|---|\n"
    fair = (
        header + "| **greyscale** | 20.1 | 13.5 |\n| mean-chroma | 20.2 | 14.0 |\n| a | 21 | 12 |\n"
    )
    assert missing_baselines(fair) == []
    # The baseline may sit in the second cell (e.g. a "class | model | ..." table).
    by_class = "| class | model | ab RMSE |\n|---|---|---|\n| x | greyscale | 1 |\n"
    by_class += "| x | mean chroma | 2 |\n"
    assert missing_baselines(by_class) == []
    # Tables that are not about colourisation quality need no baselines.
    assert missing_baselines("| model | top-1 accuracy |\n|---|---|\n| a | 0.5 |\n") == []
    unfair = "intro\n\n" + header + "| greyscale | 20.1 | 13.5 |\n| a | 21 | 12 |\n"
    assert missing_baselines(unfair) == [(3, "| model | PSNR ↑ | ΔE00 ↓ |", ["mean-chroma"])]

    (tmp_path / "ok.md").write_text("# OK\n\nCommand: `x`\n\n" + fair)
    (tmp_path / "bad.md").write_text("# Bad\n\nCommand: `y`\n\n" + unfair)
    with pytest.raises(MissingBaselines, match=r"bad.md:7: .* lacks the mean-chroma row"):
        build_index(tmp_path)
    assert main(["results", "--dir", str(tmp_path), "--readme", ""]) == 2
    assert not (tmp_path / "index.md").exists()
    (tmp_path / "bad.md").unlink()
    assert main(["results", "--dir", str(tmp_path), "--readme", ""]) == 0
    assert "[ok.md](ok.md)" in (tmp_path / "index.md").read_text()


def test_results_index_and_readme_markers(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Model A\n\nCommand: `tinct evaluate a`\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# B results\n\nno command here\n")
    index = build_index(tmp_path)
    assert "| [a.md](a.md) | Model A | `tinct evaluate a` |" in index
    assert "| [sub/b.md](sub/b.md) | B results | – |" in index
    assert "name no command: sub/b.md" in index
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    assert update_readme(readme, "table\n") is False
    bench = tmp_path / "benchmark.json"
    bench.write_text(json.dumps({
        "command": "tinct benchmark", "dataset": "corpus", "images": 2, "size": 256,
        "latency_sizes": [256, 1024], "threads": 2, "precision": "fp32",
        "truth_colourfulness": 30.0,
        "rows": {"greyscale": {"params_m": 0.0, "latency_ms_1024": 20.0, "ciede2000": 9.5,
                               "colourfulness": 0.1}},
    }))  # fmt: skip
    table = readme_table(bench)
    assert "| greyscale | 0.00 | 20 | 9.50 | 0.1 | – |" in table
