"""ONNX export of a colouriser and an ONNX Runtime backend for the pipeline.

What is exported is the model part of the pipeline (:mod:`tinct.pipeline.core`): lightness
``(B, 1, h, w)`` in colour-space units -> the decoded chroma ``(B, 2, h', w')`` in
colour-space units, i.e. ``model.decode(model(lightness))`` of the fused inference copy
the pipeline runs. Batch, height and width are dynamic (any multiple of the model's
``input_multiple``); resizing, the colour maths and the full-resolution recombination
stay in the pipeline, so ``tinct colourise --backend onnxruntime`` runs the same steps
with ONNX Runtime in place of torch for the network.

Families (:func:`onnx_support`):

- regression, classification and gan models export; a classification model's annealed
  mean is exported at one temperature (the model's default, or ``temperature``), written
  into the file's metadata; spectral norms are folded into plain weights first.
- cvae models do not: their forward pass draws the latent from torch's random generator
  (``--seed`` reproducibility and ``--samples`` are the point of the family), which an
  ONNX ``RandomNormal`` node cannot reproduce, and ``cvae`` resizes with an antialiased
  bilinear filter that ONNX has no operator for.

The file carries ``tinct.*`` metadata (space, input size and multiple, registry name,
temperature), which :class:`OnnxColouriser` reads back.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch
from torch import Tensor, nn

from tinct.models import Colouriser, ModelOutput, create_model
from tinct.models.registry import model_entry

__all__ = [
    "ONNX_OPSET",
    "OnnxColouriser",
    "export_onnx",
    "onnx_support",
]

#: ONNX opset of exported files (onnxruntime >= 1.16 runs it).
ONNX_OPSET = 18

#: Families whose forward pass cannot be exported, and why.
UNSUPPORTED_FAMILIES = {
    "cvae": "its forward pass draws the latent from torch's random generator, which ONNX "
    "cannot reproduce (--seed and --samples would lose their meaning), and 'cvae' resizes "
    "with an antialiased filter that has no ONNX operator",
}


def onnx_support(model: Colouriser) -> str | None:
    """``None`` when ``model`` can be exported, else why not."""
    family = _family(model)
    return UNSUPPORTED_FAMILIES.get(family)


def _family(model: Colouriser) -> str:
    try:
        return model_entry(model.registry_name).family
    except KeyError:
        return ""


class _Decoded(nn.Module):
    """lightness -> decoded chroma, the network step of the pipeline."""

    def __init__(self, model: Colouriser, temperature: float | None) -> None:
        super().__init__()
        self.model = model
        self.temperature = temperature

    def forward(self, lightness: Tensor) -> Tensor:
        return self.model.decode(self.model(lightness).float(), temperature=self.temperature)


def export_onnx(
    model: Colouriser,
    path: str | os.PathLike[str],
    *,
    temperature: float | None = None,
    opset: int = ONNX_OPSET,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as an ONNX file (dynamic batch, height and width), atomically.

    ``temperature``: the annealed-mean temperature of a classification model (default:
    the model's own); ``ValueError`` for another model. Raises ``ValueError`` for a family
    that cannot be exported (:func:`onnx_support`) and ``FileExistsError`` when ``path``
    exists and not ``overwrite``. The model is left unchanged (a fused copy is traced).
    """
    out = Path(path)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    name = model.registry_name or type(model).__name__
    reason = onnx_support(model)
    if reason is not None:
        raise ValueError(f"model {name!r} cannot be exported to ONNX: {reason}")
    if temperature is not None and not model.supports_temperature:
        raise ValueError(
            f"model {name!r} has no temperature option (only classification models decode "
            "with a temperature)"
        )
    inference = _inference_copy(model)
    wrapper = _Decoded(inference, temperature).eval()
    multiple = max(1, int(model.input_multiple))
    # A trace size other than any size a test or user is likely to reuse, so a shape
    # baked into the graph by mistake shows up as a failure on other sizes.
    side = max(multiple, 32)
    example = torch.rand(2, 1, 2 * side, 3 * side) * 100.0  # batch 2: not specialised to 1
    batch, height, width = (torch.export.Dim.AUTO,) * 3
    with warnings.catch_warnings(), _quiet_exporter():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            wrapper,
            (example,),
            input_names=["lightness"],
            output_names=["chroma"],
            dynamic_shapes={"lightness": {0: batch, 2: height, 3: width}},
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
    if program is None:  # pragma: no cover - the dynamo exporter always returns one
        raise RuntimeError("torch.onnx.export returned no program")
    meta = {
        "tinct.model": model.registry_name,
        "tinct.space": model.space,
        "tinct.input_size": str(int(model.input_size)),
        "tinct.input_multiple": str(multiple),
        "tinct.temperature": "" if temperature is None else repr(float(temperature)),
        "tinct.supports_temperature": str(bool(model.supports_temperature)).lower(),
        "tinct.torch": str(torch.__version__),
    }
    program.model.metadata_props.update(meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        program.save(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _inference_copy(model: Colouriser) -> Colouriser:
    """A fused float32 copy of ``model``. Rebuilt from the registry rather than deep-copied
    when possible: a deep copy shares the classes torch's parametrisations (spectral norm)
    create per layer, and removing them from the copy would break the original."""
    try:
        fresh = create_model(model.registry_name, **model.init_kwargs)
        fresh.input_size = model.input_size
        fresh.load_state_dict(model.state_dict())
    except (KeyError, TypeError, RuntimeError):
        fresh = copy.deepcopy(model)
    fresh = fresh.float().eval()
    fresh.fuse_for_inference()
    return fresh


class _quiet_exporter:
    """Silence the exporter's progress logging (it reports through ``logging``)."""

    def __enter__(self) -> None:
        self._level = logging.root.manager.disable
        logging.disable(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        logging.disable(self._level)


def _session(path: Path, threads: int | None) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ValueError(
            "the onnxruntime backend needs ONNX Runtime: pip install 'tinct[onnx]'"
        ) from None
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own types for bad files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: not a usable ONNX model ({first})") from None


class OnnxColouriser(Colouriser):
    """A colouriser whose network runs in ONNX Runtime, from a file of :func:`export_onnx`.

    It plugs into :class:`~tinct.pipeline.ColourisePipeline` like any model: ``forward``
    returns the decoded chroma (extras ``"chroma"``), ``decode`` hands it on. The
    temperature was fixed at export; ``threads``: ONNX Runtime's intra-op threads
    (``None``: its default, all cores). Raises ``FileNotFoundError`` / ``ValueError``
    naming the file when it is missing or not a tinct ONNX export.
    """

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        super().__init__()
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX model file does not exist: {self.path}")
        self.session = _session(self.path, threads)
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        if "tinct.space" not in meta:
            raise ValueError(f"{self.path}: not an ONNX file written by 'tinct export'")
        self.registry_name = meta.get("tinct.model", "")
        self.space = meta["tinct.space"]
        self.input_size = int(meta.get("tinct.input_size", self.input_size))
        self.input_multiple = int(meta.get("tinct.input_multiple", self.input_multiple))
        baked = meta.get("tinct.temperature", "")
        self.temperature: float | None = float(baked) if baked else None
        self.input_name = self.session.get_inputs()[0].name

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        # The pipeline copies its model before fusing it; a session is immutable and
        # thread-safe to run, so the copy shares it.
        return self

    def fuse_for_inference(self) -> None:
        """Nothing to fold: the exported graph is the fused model already."""

    def forward(self, lightness: Tensor) -> ModelOutput:
        array = np.ascontiguousarray(lightness.detach().float().cpu().numpy())
        (chroma,) = self.session.run(None, {self.input_name: array})
        return ModelOutput(extras={"chroma": torch.from_numpy(chroma)})

    def decode(self, output: ModelOutput, *, temperature: float | None = None) -> Tensor:
        if temperature is not None:
            raise ValueError(
                f"{self.path} was exported at a fixed temperature; export again with "
                "'tinct export MODEL out.onnx --temperature T'"
            )
        return output.extras["chroma"].float()
