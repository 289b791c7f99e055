"""The resume state of an evaluation: EvalStateError, load_state, FeatureBank, saving.

:func:`tinct.eval.runner.evaluate` saves the state after each chunk (atomically: a
temporary file, then a rename) under ``out/state.pt``, so an interrupted run continues
where it stopped, and removes it when the evaluation is complete.  The state holds
only what resuming needs -- the per-image metric rows, the running histograms and
error tables, the features for FD-Lite/FID (see :class:`FeatureBank`) -- and no image:
a resumed run recomputes its few sample-grid images.  It is read with
``torch.load(weights_only=True)`` (tensors, numbers, strings and plain containers
only, so a planted file cannot run code), and a state that cannot be used raises
:class:`EvalStateError` naming the file.  Its key, :meth:`EvalConfig.fingerprint
<tinct.eval.config.EvalConfig.fingerprint>`, ties it to one evaluation.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from tinct.eval.config import ModelSpec
from tinct.eval.features import FeatureStats
from tinct.eval.metrics import AbErrorAuc, AbHistogram
from tinct.io import atomic_path

__all__ = ["STATE_FILE", "EvalStateError", "FeatureBank", "ModelState", "load_state"]

STATE_FILE = "state.pt"
#: ``format`` and ``version`` of the resume state (version 1, before them, held images
#: and full covariance accumulators; version 2 rows lack the colour-bleeding score).
STATE_FORMAT = "tinct-evaluation-state"
STATE_VERSION = 3


class EvalStateError(ValueError):
    """The resume state file of an evaluation cannot be used: unreadable, truncated,
    not a tinct evaluation state, saved by another version, or from a different
    evaluation.  ``str()`` is one line naming the file and what to do.

    Attributes:
        path: the state file.
        reason: what is wrong with it, in words.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            f"{os.fspath(path)}: {reason}; delete it to start the evaluation afresh, "
            "or use another output folder"
        )

    def __reduce__(self) -> tuple[type[EvalStateError], tuple[Path, str]]:
        return (type(self), (self.path, self.reason))


class FeatureBank:
    """Feature vectors of one model's outputs (or of the ground truth), for FD-Lite/FID.

    Keeps the vectors themselves (``(n, D)``, their own dtype, float32 from the
    networks) while they take less room than the running statistics (mean and a
    ``D x D`` float64 scatter: 13 MB for D = 1280) -- that is, up to ``2 D`` vectors --
    and switches to a :class:`~tinct.eval.features.FeatureStats` accumulator beyond.
    So a resume state is small for small evaluations and never larger than the
    statistics for large ones, and :meth:`stats` is the same whether or not a run was
    interrupted (the vectors are accumulated in one batch, in the same chunks).
    """

    def __init__(self) -> None:
        self._rows: list[Tensor] = []
        self._n = 0
        self._stats: FeatureStats | None = None

    @property
    def n(self) -> int:
        """Number of feature vectors added."""
        return self._stats.n if self._stats is not None else self._n

    def update(self, features: Tensor) -> None:
        """Add ``(N, D)`` feature vectors (any device)."""
        if features.dim() != 2:
            raise ValueError(f"features must be (N, D), got shape {tuple(features.shape)}")
        rows = features.detach().to("cpu").clone()
        if self._stats is not None:
            self._stats.update(rows)
            return
        self._rows.append(rows)
        self._n += rows.shape[0]
        if self._n > 2 * rows.shape[1]:  # the vectors now outweigh the statistics
            self._stats = self._accumulate()
            self._rows, self._n = [], 0

    def _accumulate(self) -> FeatureStats:
        stats = FeatureStats()
        stats.update(torch.cat(self._rows))
        return stats

    def stats(self) -> FeatureStats | None:
        """Mean and covariance of everything added; ``None`` if nothing was."""
        if self._stats is not None:
            return self._stats
        return self._accumulate() if self._rows else None

    def state_dict(self) -> dict[str, Any]:
        """``{"rows": (n, D) tensor}`` or ``{"stats": FeatureStats.state_dict()}``."""
        if self._stats is not None:
            return {"stats": self._stats.state_dict()}
        if not self._rows:
            return {"rows": torch.zeros(0, 0)}
        return {"rows": torch.cat(self._rows)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FeatureBank:
        bank = cls()
        if "stats" in state:
            bank._stats = FeatureStats()
            bank._stats.load_state_dict(state["stats"])
            return bank
        rows = state["rows"]
        if not isinstance(rows, Tensor) or rows.dim() != 2:
            raise ValueError("feature rows must be a 2-d tensor")
        if rows.shape[0] > 0:
            bank._rows, bank._n = [rows], rows.shape[0]
        return bank


def _pack_counts(state: dict[str, Any]) -> dict[str, Any]:
    """An :class:`AbErrorAuc` state with its mostly-zero count table stored sparsely:
    ``counts`` -> ``shape``, ``index`` (flat indices of non-zero cells) and ``values``
    (int64 tensors)."""
    counts = torch.as_tensor(state["counts"], dtype=torch.int64)
    flat = counts.flatten()
    index = flat.nonzero().flatten()
    packed = {k: v for k, v in state.items() if k != "counts"}
    packed.update(shape=list(counts.shape), index=index, values=flat[index])
    return packed


def _unpack_counts(packed: dict[str, Any]) -> dict[str, Any]:
    shape = [int(v) for v in packed["shape"]]
    flat = torch.zeros(math.prod(shape), dtype=torch.int64)
    flat[torch.as_tensor(packed["index"], dtype=torch.int64)] = torch.as_tensor(
        packed["values"], dtype=torch.int64
    )
    state = {k: v for k, v in packed.items() if k not in ("shape", "index", "values")}
    state["counts"] = flat.view(shape)
    return state


@dataclass
class ModelState:
    """Everything accumulated for one model so far.

    :meth:`state_dict` (saved after every chunk) holds all but :attr:`grid`: the
    sample-grid images are not saved, a resumed run recomputes them.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    hist: AbHistogram = field(default_factory=AbHistogram)
    auc: AbErrorAuc = field(default_factory=AbErrorAuc)
    features: FeatureBank = field(default_factory=FeatureBank)
    inception: FeatureBank = field(default_factory=FeatureBank)
    seconds: float = 0.0
    grid: list[Tensor] = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "hist": self.hist.state_dict(),
            "auc": _pack_counts(self.auc.state_dict()),
            "features": self.features.state_dict(),
            "inception": self.inception.state_dict(),
            "seconds": self.seconds,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ModelState:
        rows = state["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ValueError("per-image rows must be a list of dicts")
        out = cls(rows=rows, seconds=float(state["seconds"]))
        out.hist.load_state_dict(state["hist"])
        out.auc.load_state_dict(_unpack_counts(state["auc"]))
        out.features = FeatureBank.from_state(state["features"])
        out.inception = FeatureBank.from_state(state["inception"])
        return out


def _save_atomic(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` into ``path`` through a temporary file and a rename, so an
    interruption never leaves a half-written state."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    line = lines[0] if lines else type(err).__name__
    return line if len(line) <= 160 else line[:157] + "..."


def load_state(path: str | os.PathLike[str], fingerprint: str | None = None) -> dict[str, Any]:
    """Read an evaluation's resume state (``out/state.pt``) safely.

    The file is read with ``torch.load(weights_only=True)``: only tensors, numbers,
    strings and plain containers are rebuilt, anything else is refused before it is
    created, so a planted file cannot run code.

    Args:
        path: the state file.
        fingerprint: :meth:`~tinct.eval.config.EvalConfig.fingerprint` of the
            evaluation about to run; ``None`` skips that check.

    Returns:
        The state dict (``format``, ``version``, ``fingerprint``, ``done``, ``mean_ab``,
        ``skipped``, ``images``, ``truth``, ``models``), not yet checked in depth.

    Raises:
        EvalStateError: the file is unreadable or truncated, holds other objects, is
            not a tinct evaluation state, was saved by another version, or belongs to
            a different evaluation.
    """
    if not os.path.isfile(path):
        raise EvalStateError(path, "not a regular file")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise EvalStateError(
            path,
            "not a tinct evaluation state: it holds objects other than tensors, numbers, "
            "strings and containers (refused without running them)",
        ) from None
    except Exception as err:  # truncated or garbled: zip, pickle or tensor data
        raise EvalStateError(
            path, f"unreadable or truncated ({type(err).__name__}: {_first_line(err)})"
        ) from None
    if not isinstance(saved, dict):
        raise EvalStateError(path, "not a tinct evaluation state")
    if saved.get("format") != STATE_FORMAT:
        if "fingerprint" in saved and "done" in saved:
            raise EvalStateError(path, "saved by an older version of tinct")
        raise EvalStateError(path, "not a tinct evaluation state")
    if saved.get("version") != STATE_VERSION:
        raise EvalStateError(
            path, f"saved by another version of tinct (state version {saved.get('version')!r})"
        )
    if fingerprint is not None and saved.get("fingerprint") != fingerprint:
        raise EvalStateError(
            path, "belongs to a different evaluation (other data, size, models or seed)"
        )
    return saved


def _new_state(
    fingerprint: str,
    mean_ab: list[float],
    skipped: list[tuple[str, str]],
    models: Sequence[ModelSpec],
) -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "fingerprint": fingerprint,
        "done": 0,
        "mean_ab": [float(v) for v in mean_ab],
        "skipped": [(str(p), str(r)) for p, r in skipped],
        "images": [],
        "truth": {
            "colourfulness": [],
            "hist": AbHistogram().state_dict(),
            "features": FeatureBank().state_dict(),
            "inception": FeatureBank().state_dict(),
        },
        "models": {m.name: ModelState().state_dict() for m in models},
    }


@dataclass
class _Progress:
    """The in-memory form of a resume state."""

    done: int
    mean_ab: list[float]
    skipped: list[tuple[str, str]]
    truth_hist: AbHistogram
    truth_features: FeatureBank
    truth_inception: FeatureBank
    models: dict[str, ModelState]


def _restore(state: dict[str, Any], models: Sequence[ModelSpec], total: int) -> _Progress:
    """Rebuild the accumulators from a state; ``ValueError``/``KeyError``/``TypeError``
    on anything inconsistent."""
    done = state["done"]
    if isinstance(done, bool) or not isinstance(done, int) or not 0 <= done <= total:
        raise ValueError(f"'done' is {done!r}, not a count of at most {total} images")
    mean_ab = [float(v) for v in state["mean_ab"]]
    if len(mean_ab) != 2:
        raise ValueError("'mean_ab' must hold two numbers")
    skipped = [(str(p), str(r)) for p, r in state["skipped"]]
    truth = state["truth"]
    if not isinstance(truth["colourfulness"], list) or not isinstance(state["images"], list):
        raise TypeError("'images' and 'colourfulness' must be lists")
    truth_hist = AbHistogram()
    truth_hist.load_state_dict(truth["hist"])
    saved_models = state["models"]
    if set(saved_models) != {m.name for m in models}:
        raise ValueError("its models are not those of this evaluation")
    return _Progress(
        done=done,
        mean_ab=mean_ab,
        skipped=skipped,
        truth_hist=truth_hist,
        truth_features=FeatureBank.from_state(truth["features"]),
        truth_inception=FeatureBank.from_state(truth["inception"]),
        models={m.name: ModelState.from_state(saved_models[m.name]) for m in models},
    )
