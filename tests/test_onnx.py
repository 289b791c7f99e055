"""ONNX export and the onnxruntime backend: the exported graph computes what torch computes
(on random input, at sizes other than the one traced), for every family that exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("onnxruntime")

from helpers import write_photos
from tinct.cli import main
from tinct.models import create_model, list_models, load_model, model_entry
from tinct.pipeline.onnx import OnnxColouriser, export_onnx, onnx_support

pytestmark = pytest.mark.usefixtures("one_thread")

# Smaller widths for the biggest networks: the export is what is tested, not the width.
SMALL = {
    "pix2pix": {"depth": 5, "base_channels": 8, "max_channels": 32},
    "gorriz": {"depth": 5, "base_channels": 8, "max_channels": 32},
    "seg-shared": {"depth": 5, "base_channels": 8, "max_channels": 32, "n_classes": 3},
    "seg-separate": {"depth": 5, "base_channels": 8, "max_channels": 32, "n_classes": 3},
}


def _torch_chroma(model: torch.nn.Module, lightness: torch.Tensor, **decode: float) -> np.ndarray:
    with torch.no_grad():
        return model.decode(model(lightness.clone()).float(), **decode).numpy()  # type: ignore[operator]


def _check_round_trip(name: str, tmp_path: Path, **export: float) -> None:
    torch.manual_seed(0)
    model = create_model(name, **SMALL.get(name, {})).eval()
    path = export_onnx(model, tmp_path / f"{name}.onnx", **export)  # type: ignore[arg-type]
    onnx_model = OnnxColouriser(path, threads=1)
    assert onnx_model.space == model.space
    assert onnx_model.input_multiple == model.input_multiple
    k = model.input_multiple
    # Two sizes and batch sizes, neither the traced one (2k x 3k... at batch 2).
    for shape in [(1, 1, 3 * k, 2 * k), (3, 1, 4 * k, 5 * k)]:
        lightness = torch.rand(*shape) * 100.0
        want = _torch_chroma(model, lightness, **export)
        got = onnx_model.decode(onnx_model(lightness)).numpy()
        assert got.shape == want.shape
        # ab units (about -110..110): 1e-3 is far below one 8-bit grey level.
        np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-4)


def test_regression_model_round_trip(tmp_path: Path) -> None:
    _check_round_trip("yuv-cnn", tmp_path)


def test_classification_model_round_trip_at_a_chosen_temperature(tmp_path: Path) -> None:
    _check_round_trip("zhang-cpu", tmp_path, temperature=0.2)
    assert OnnxColouriser(tmp_path / "zhang-cpu.onnx").temperature == 0.2


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in list_models() if model_entry(n).family != "cvae"])
def test_every_exportable_model_round_trips(name: str, tmp_path: Path) -> None:
    _check_round_trip(name, tmp_path)


def test_cvae_family_is_refused_with_the_reason(tmp_path: Path) -> None:
    for name in list_models("cvae"):
        model = create_model(name)
        assert onnx_support(model) is not None
        with pytest.raises(ValueError, match=r"cannot be exported to ONNX: .*random generator"):
            export_onnx(model, tmp_path / "cvae.onnx")
    assert not (tmp_path / "cvae.onnx").exists()


def test_export_refuses_to_replace_a_file_and_a_temperature_it_cannot_use(
    tmp_path: Path,
) -> None:
    out = tmp_path / "m.onnx"
    out.write_bytes(b"mine")
    model = create_model("yuv-cnn")
    with pytest.raises(FileExistsError):
        export_onnx(model, out)
    assert out.read_bytes() == b"mine"
    with pytest.raises(ValueError, match="no temperature"):
        export_onnx(model, tmp_path / "other.onnx", temperature=0.5)
    with pytest.raises(ValueError, match="not a usable ONNX model"):
        OnnxColouriser(out)


def test_cli_export_and_colourise_with_onnxruntime(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "in", 2, size=(60, 84))
    onnx_file = tmp_path / "zhang.onnx"
    assert main(["export", "zhang-cpu", str(onnx_file)]) == 0
    assert main(["export", "zhang-cpu", str(onnx_file)]) == 2  # exists: refused
    common = ["-q", "--allow-colour", "--threads", "1"]
    assert main(["colourise", str(tmp_path / "in"), "-o", str(tmp_path / "t"), "-m",
                 "zhang-cpu", "--precision", "fp32", *common]) == 0  # fmt: skip
    assert main(["colourise", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "-m",
                 str(onnx_file), "--backend", "onnxruntime", *common]) == 0  # fmt: skip
    for photo in photos:
        a = np.asarray(Image.open(tmp_path / "t" / photo.name)).astype(int)
        b = np.asarray(Image.open(tmp_path / "o" / photo.name)).astype(int)
        assert a.shape == b.shape == (60, 84, 3)
        assert np.abs(a - b).max() <= 1  # float rounding of the two runtimes
    # A model name is not an ONNX file; a temperature is fixed at export.
    args = ["colourise", str(photos[0]), "-o", str(tmp_path / "x"), "--backend", "onnxruntime"]
    assert main([*args, "-m", "zhang-cpu"]) == 2
    assert main([*args, "-m", str(onnx_file), "--temperature", "0.3"]) == 2
    assert load_model("zhang-cpu").registry_name == "zhang-cpu"
