"""Saving and loading trained colourisers: bundled weights, exported files, checkpoints.

Three kinds of file load with :func:`load_model`:

- a bundled model name (``"default"``): weights inside the package, offline;
- an exported tinct model file (``.pt``, written by :func:`save_model`): a dict
  with the registry name, constructor arguments, state dict (fp16 allowed)
  and metadata (how it was trained);
- a Lightning checkpoint (``.ckpt``) written by ``tinct train``: the resolved
  config it carries names the model.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from tinct.models.base import Colouriser
from tinct.models.registry import (
    create_model,
    did_you_mean,
    list_models,
    model_entry,
    with_legacy_defaults,
)

FORMAT = "tinct-model/1"


@dataclass(frozen=True)
class BundledModel:
    """A trained model shipped inside the package."""

    name: str
    filename: str
    description: str


BUNDLED: dict[str, BundledModel] = {
    "default": BundledModel(
        "default",
        "default.pt",
        "EfficientNet-Lite0 U-Net (L1) trained on the offline photo corpus; "
        "see docs/models/default.md",
    ),
    "vivid": BundledModel(
        "vivid",
        "vivid.pt",
        "the default's network with a second, 313-bin classification head (Zhang et al. "
        "2016's loss), heads blended and tuned on the val split: more colourful than the "
        "default; see docs/models/vivid.md",
    ),
    "cvae": BundledModel(
        "cvae",
        "cvae.pt",
        "seed 001's conditional VAE in Lab: several different colourisations per photo "
        "with --samples; one sample is worse than greyscale on Delta E 2000, see "
        "docs/models/cvae.md",
    ),
    "zhang-cpu": BundledModel(
        "zhang-cpu",
        "zhang-cpu.pt",
        "Zhang et al. 2016 classification at CPU size, annealed mean (--temperature, "
        "0.38 by default); colourful but worse than greyscale on Delta E 2000: for "
        "comparison, see docs/models/zhang-cpu.md",
    ),
}


def bundled_path(name: str) -> Path:
    """Path of the weight file of bundled model ``name``."""
    entry = BUNDLED[name]
    return Path(str(resources.files("tinct") / "weights" / entry.filename))


def list_bundled() -> list[str]:
    """Names of the bundled models whose weight files are present."""
    return [name for name in BUNDLED if bundled_path(name).is_file()]


def save_model(
    model: Colouriser,
    path: str | os.PathLike[str],
    *,
    metadata: dict[str, Any] | None = None,
    half: bool = True,
) -> Path:
    """Write ``model`` as an exported tinct model file, atomically.

    Floating-point tensors are stored in fp16 when ``half`` (halves the file;
    colourisation quality is unchanged within 1/255 in our tests) and loaded
    back as fp32.
    """
    if not model.registry_name:
        raise ValueError("only models built with tinct.models.create_model can be saved")
    state = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
        for k, v in model.state_dict().items()
    }
    payload = {
        "format": FORMAT,
        "model": model.registry_name,
        "kwargs": model.init_kwargs,
        "input_size": model.input_size,
        "state_dict": state,
        "metadata": metadata or {},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _build(path: Path, name: Any, kwargs: Any, state_dict: Any) -> Colouriser:
    """The model a file describes; ``ValueError`` naming the file and the mismatch when
    the architecture is unknown, the arguments do not fit it or the weights do not."""
    if not isinstance(name, str) or name not in list_models():
        raise ValueError(
            f"{path}: unknown architecture {name!r}{did_you_mean(str(name), list_models())}"
        )
    if not isinstance(kwargs, dict) or not isinstance(state_dict, dict):
        raise ValueError(f"{path}: malformed model file (kwargs or state_dict is not a mapping)")
    # Files written before an argument's default changed were built with the old one
    # (e.g. the cvae layout): name it, so today's default does not apply to them.
    kwargs = with_legacy_defaults(name, kwargs)
    # The state dict replaces every weight, so skip loading pretrained backbones (also
    # when the file's kwargs leave ``pretrained`` at its default: a user-supplied backbone
    # file need not exist where the model is loaded).
    takes_pretrained = "pretrained" in inspect.signature(model_entry(name).factory).parameters
    build_kwargs = {**kwargs, "pretrained": False} if takes_pretrained else dict(kwargs)
    try:
        model = create_model(name, **build_kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: its arguments do not fit {name!r} ({err})") from None
    model.init_kwargs = dict(kwargs)
    state = {
        k: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
        for k, v in state_dict.items()
    }
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise ValueError(f"{path}: its weights do not fit {name!r} ({detail})") from None
    return model.eval()


def _resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """The file behind a bundled model name or a path, with errors that say which it was."""
    key = str(name_or_path)
    if key in BUNDLED:
        path = bundled_path(key)
        if not path.is_file():
            raise FileNotFoundError(
                f"bundled model {key!r} is missing its weights ({path}); reinstall tinct"
            )
        return path
    path = Path(key).expanduser()
    if not path.exists():
        if key in list_models():
            raise ValueError(
                f"{key!r} is an architecture without trained weights; pass a checkpoint "
                f"or exported model file, or one of the bundled models: {sorted(BUNDLED)}"
            )
        raise FileNotFoundError(
            f"no model {key!r}: not a bundled model ({', '.join(sorted(BUNDLED))}) and no "
            f"such file{did_you_mean(key, [*BUNDLED, *list_models()])}"
        )
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file (a model file or checkpoint is expected)")
    return path


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    """``("model", payload)`` for an exported file, ``("checkpoint", payload)`` for a
    Lightning checkpoint; anything else is a ``ValueError`` naming the file."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: not a tinct model file or checkpoint ({first})") from None
    if isinstance(payload, dict):
        if payload.get("format") == FORMAT:
            return "model", payload
        if "state_dict" in payload and "hyper_parameters" in payload:
            return "checkpoint", payload
        raise ValueError(f"{path}: not a tinct model file (format {payload.get('format')!r})")
    raise ValueError(f"{path}: not a tinct model file or checkpoint")


def load_metadata(name_or_path: str | os.PathLike[str]) -> dict[str, Any]:
    """How a model was made: an exported file's metadata, or for a training checkpoint
    its resolved config and step. Accepts what :func:`load_model` accepts."""
    kind, payload = _read(_resolve(name_or_path))
    if kind == "model":
        return dict(payload.get("metadata", {}))
    return {
        "config": payload["hyper_parameters"].get("config", {}),
        "global_step": payload.get("global_step"),
    }


def load_model(name_or_path: str | os.PathLike[str] = "default") -> Colouriser:
    """Load a trained colouriser by bundled name, exported file or training checkpoint.

    Returns the model in eval mode on the CPU. Raises ``FileNotFoundError`` for
    a path that does not exist and ``ValueError`` for a file that is not a
    tinct model or checkpoint, or for an architecture name without weights.
    """
    path = _resolve(name_or_path)
    kind, payload = _read(path)
    if kind == "model":
        model = _build(path, payload.get("model"), payload.get("kwargs"), payload.get("state_dict"))
        model.input_size = int(payload.get("input_size", model.input_size))
        return model
    config = payload["hyper_parameters"].get("config", {})
    spec = config.get("model", {})
    if "name" not in spec:
        raise ValueError(f"{path}: checkpoint carries no model config")
    prefix = "model."
    state = {k[len(prefix) :]: v for k, v in payload["state_dict"].items() if k.startswith(prefix)}
    model = _build(path, spec["name"], spec.get("kwargs", {}), state)
    # The inference resolution the run declared (model.input_size), not its crop size.
    model.input_size = int(spec.get("input_size", model.input_size))
    return model
