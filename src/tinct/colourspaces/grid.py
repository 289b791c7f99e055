"""The grid of seed 000 tables 5.1-5.3: network x colour input x dataset x seed, resumable.

A config (YAML, see ``configs/colourspaces/``) names ``datasets``, ``models``, the table 5.1
``inputs`` (the first is the baseline, RGB), an optional ``attention`` section (the
components of the colour-attention model and the ``top_k`` sizes of the hybrid spaces built
from its ranking), ``seeds``, the ``hue`` treatment and the ``train`` schedule.

Every cell (dataset, model, input, seed) is trained once into
``OUT/cells/<dataset>/<model>/<input>-seed<k>-<hash>/`` (``model.pt`` and ``result.json``);
the hash covers everything that changes the result, so a rerun skips finished cells and a
changed config trains new cells beside the old ones instead of replacing them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinct.colourspaces.data import ImageSet, check_dataset_spec, load_dataset
from tinct.colourspaces.inputs import HUE_MODES, ColourInput, Component, parse_components
from tinct.colourspaces.model import (
    ARCHITECTURES,
    SEED_OPTIM,
    ColourSpaceClassifier,
    save_classifier,
)
from tinct.colourspaces.training import (
    Schedule,
    component_activations,
    rank_components,
    record_attention,
    to_tensor,
    train_classifier,
)

__all__ = [
    "Cell",
    "GridConfig",
    "GridResults",
    "ModelSpec",
    "load_grid_config",
    "parse_grid_config",
    "run_grid",
]

_TOP_KEYS = {"datasets", "models", "inputs", "attention", "seeds", "hue", "train"}
_TRAIN_KEYS = {"epochs", "batch_size", "augment"}
_MODEL_KEYS = {"arch", "lr", "weight_decay", "network"}
_ATTENTION_KEYS = {"components", "top_k", "se_reduction"}


@dataclass(frozen=True)
class ModelSpec:
    """One network of the grid: architecture, its options and the optimiser settings."""

    name: str
    arch: str
    lr: float
    weight_decay: float
    network: Mapping[str, Any]


@dataclass(frozen=True)
class GridConfig:
    """A parsed, checked grid config (see the module doc)."""

    datasets: Mapping[str, Mapping[str, Any]]
    models: tuple[ModelSpec, ...]
    inputs: Mapping[str, tuple[Component, ...]]
    seeds: tuple[int, ...]
    hue: str = "circular"
    epochs: int = 300
    batch_size: int = 32
    augment: bool = True
    attention: tuple[Component, ...] = ()
    top_k: tuple[int, ...] = ()
    se_reduction: int = 2

    @property
    def baseline(self) -> str:
        return next(iter(self.inputs))

    def schedule(self, model: ModelSpec) -> Schedule:
        return Schedule(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=model.lr,
            weight_decay=model.weight_decay,
            augment=self.augment,
        )


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _unknown(where: str, got: Mapping[str, Any], known: set[str]) -> None:
    extra = set(got) - known
    _need(not extra, f"{where}: unknown key(s) {sorted(extra)}; known: {sorted(known)}")


def parse_grid_config(raw: Any, source: str = "config") -> GridConfig:
    """Check a grid config dict; ``ValueError`` naming ``source`` and the key on a problem."""
    try:
        return _parse(raw)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{source}: {err}") from err


def _parse(raw: Any) -> GridConfig:
    _need(isinstance(raw, Mapping), "a grid config is a mapping with datasets, models, inputs")
    _unknown("config", raw, _TOP_KEYS)
    for key in ("datasets", "models", "inputs"):
        _need(isinstance(raw.get(key), Mapping) and raw[key], f"'{key}' must be a non-empty map")
    for name, spec in raw["datasets"].items():
        check_dataset_spec(str(name), spec)
    models = []
    for name, spec in raw["models"].items():
        _need(isinstance(spec, Mapping), f"models.{name} must be a map with 'arch'")
        _unknown(f"models.{name}", spec, _MODEL_KEYS)
        arch = spec.get("arch", name)
        _need(arch in ARCHITECTURES, f"models.{name}.arch must be one of {ARCHITECTURES}")
        network = spec.get("network") or {}
        _need(isinstance(network, Mapping), f"models.{name}.network must be a map")
        models.append(
            ModelSpec(
                name=str(name),
                arch=arch,
                lr=float(spec.get("lr", SEED_OPTIM[arch]["lr"])),
                weight_decay=float(spec.get("weight_decay", SEED_OPTIM[arch]["weight_decay"])),
                network=dict(network),
            )
        )
    inputs = {str(k): parse_components(v) for k, v in raw["inputs"].items()}
    seeds = raw.get("seeds", [0, 1, 2])
    _need(
        isinstance(seeds, list) and bool(seeds) and all(isinstance(s, int) for s in seeds),
        "'seeds' must be a list of integers",
    )
    _need(len(set(seeds)) == len(seeds), "'seeds' has a repeat")
    hue = raw.get("hue", "circular")
    _need(hue in HUE_MODES, f"'hue' must be one of {HUE_MODES}")
    train = raw.get("train") or {}
    _need(isinstance(train, Mapping), "'train' must be a map")
    _unknown("train", train, _TRAIN_KEYS)
    attention: tuple[Component, ...] = ()
    top_k: tuple[int, ...] = ()
    reduction = 2
    if raw.get("attention"):
        att = raw["attention"]
        _need(isinstance(att, Mapping), "'attention' must be a map with 'components'")
        _unknown("attention", att, _ATTENTION_KEYS)
        attention = parse_components(att.get("components", ["rgb", "lab", "hsv", "yuv"]))
        top_k = tuple(int(k) for k in att.get("top_k", []))
        _need(
            all(1 <= k < len(attention) for k in top_k),
            f"attention.top_k must be between 1 and {len(attention) - 1}",
        )
        reduction = int(att.get("se_reduction", 2))
    config = GridConfig(
        datasets={str(k): dict(v) for k, v in raw["datasets"].items()},
        models=tuple(models),
        inputs=inputs,
        seeds=tuple(seeds),
        hue=hue,
        epochs=int(train.get("epochs", 300)),
        batch_size=int(train.get("batch_size", 32)),
        augment=bool(train.get("augment", True)),
        attention=attention,
        top_k=top_k,
        se_reduction=reduction,
    )
    for m in config.models:
        config.schedule(m)  # checks the numbers
    return config


def load_grid_config(path: str | os.PathLike[str]) -> GridConfig:
    """Read and check a YAML grid config; errors name the file."""
    from tinct.train.config import load_yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"{path}: cannot read the grid config ({err.strerror})") from err
    try:
        raw = load_yaml(text)
    except Exception as err:  # yaml's errors have no common public base here
        raise ValueError(f"{path}: not valid YAML ({err})") from err
    return parse_grid_config(raw, str(path))


# --- cells ------------------------------------------------------------------------------


@dataclass
class Cell:
    """One trained cell: where it is and what ``result.json`` says."""

    dataset: str
    model: str
    row: str
    seed: int
    table: str  # "5.1" or "5.3"
    components: tuple[Component, ...]
    attention: bool
    folder: Path
    result: dict[str, Any] = field(default_factory=dict)
    trained_now: bool = False


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "input"


def _cell_key(
    config: GridConfig,
    dataset: str,
    model: ModelSpec,
    components: Sequence[Component],
    attention: bool,
    seed: int,
) -> str:
    what = {
        "dataset": dict(config.datasets[dataset]),
        "model": {
            "arch": model.arch,
            "lr": model.lr,
            "weight_decay": model.weight_decay,
            "network": dict(model.network),
        },
        "components": [c.key for c in components],
        "attention": attention,
        "se_reduction": config.se_reduction if attention else None,
        "hue": config.hue,
        "train": [config.epochs, config.batch_size, config.augment],
        "seed": seed,
    }
    text = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _write_json(path: Path, payload: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class GridResults:
    """Every cell of a finished grid, the rankings and the config that made them."""

    config: GridConfig
    cells: list[Cell]
    rankings: dict[tuple[str, str], list[tuple[Component, float, float]]]
    out: Path
    #: Test accuracy (%) of always answering the most frequent training class, by dataset.
    majority: dict[str, float] = field(default_factory=dict)

    @property
    def trained(self) -> int:
        return sum(c.trained_now for c in self.cells)


class _Runner:
    def __init__(
        self,
        config: GridConfig,
        out: Path,
        log: Callable[[str], None],
        tick: Callable[[], None],
        device: torch.device,
    ) -> None:
        self.device = device
        self.config = config
        self.out = out
        self.log = log
        self.tick = tick
        self._data: dict[str, tuple[ImageSet, torch.Tensor, torch.Tensor]] = {}

    def data(self, name: str) -> tuple[ImageSet, torch.Tensor, torch.Tensor]:
        if name not in self._data:
            images = load_dataset(name, self.config.datasets[name], self.out / "data")
            self._data[name] = (
                images,
                to_tensor(images.train_images),
                to_tensor(images.test_images),
            )
        return self._data[name]

    def cell(
        self,
        dataset: str,
        model: ModelSpec,
        row: str,
        table: str,
        components: tuple[Component, ...],
        attention: bool,
        seed: int,
    ) -> Cell:
        key = _cell_key(self.config, dataset, model, components, attention, seed)
        folder = (
            self.out
            / "cells"
            / _slug(dataset)
            / _slug(model.name)
            / f"{_slug(row)}-seed{seed}-{key}"
        )
        cell = Cell(dataset, model.name, row, seed, table, components, attention, folder)
        result_file = folder / "result.json"
        if result_file.is_file():
            try:
                cell.result = json.loads(result_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                cell.result = {}
            if cell.result.get("key") == key:
                self.tick()
                return cell
        images, train_rgb, test_rgb = self.data(dataset)
        torch.manual_seed(seed)
        net = ColourSpaceClassifier(
            model.arch,
            components,
            len(images.classes),
            attention=attention,
            hue=self.config.hue,
            se_reduction=self.config.se_reduction,
            network=model.network,
        )
        train_labels = torch.from_numpy(images.train_labels)
        test_labels = torch.from_numpy(images.test_labels)
        trained = train_classifier(
            net,
            train_rgb,
            train_labels,
            test_rgb,
            test_labels,
            self.config.schedule(model),
            seed=seed,
            device=self.device,
        )
        activations = None
        if attention:
            net.to(self.device)
            activations = [float(v) for v in record_attention(net, train_rgb)]
            net.cpu()
        folder.mkdir(parents=True, exist_ok=True)
        result = {
            "key": key,
            "dataset": dataset,
            "model": model.name,
            "arch": model.arch,
            "row": row,
            "table": table,
            "seed": seed,
            "components": [c.key for c in components],
            "channel_names": list(net.inputs.channel_names),
            "channel_component": list(net.inputs.channel_component),
            "attention": activations,
            "accuracy": trained.accuracy,
            "steps": trained.steps,
            "images_seen": trained.images_seen,
            "epochs": self.config.epochs,
            "train_images": len(train_rgb),
            "test_images": len(test_rgb),
            "parameters": sum(p.numel() for p in net.parameters()),
            "cpu_seconds": round(trained.cpu_seconds, 3),
            "wall_seconds": round(trained.wall_seconds, 3),
        }
        save_classifier(net, folder / "model.pt", {"result": {"accuracy": trained.accuracy}})
        _write_json(folder / "result.json", result)  # last: its presence means finished
        cell.result = result
        cell.trained_now = True
        self.log(
            f"{dataset} {model.name} {row} seed {seed}: {trained.accuracy:.2f} % "
            f"({trained.steps} steps, {trained.cpu_seconds:.0f} CPU s)"
        )
        self.tick()
        return cell


def attention_row(config: GridConfig) -> str:
    return f"{len(config.attention)} components with colour attention"


def hybrid_row(k: int) -> str:
    return f"top {k} hybrid"


def cell_count(config: GridConfig) -> int:
    rows = len(config.inputs) + (1 + len(config.top_k) if config.attention else 0)
    return rows * len(config.models) * len(config.datasets) * len(config.seeds)


def run_grid(
    config: GridConfig,
    out: str | os.PathLike[str],
    *,
    log: Callable[[str], None] = lambda _line: None,
    progress: bool = False,
    device: str = "cpu",
) -> GridResults:
    """Train every missing cell of ``config`` under ``out`` (finished cells are read back,
    not retrained) and return them with the attention rankings. ``log`` gets one line per
    trained cell; ``progress`` shows a bar over the cells; ``device``: ``"cpu"``, ``"cuda"``
    (``"cuda:1"``...) or ``"auto"`` (CUDA when there is one)."""
    from tqdm import tqdm

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        chosen = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device {device!r}: {err}") from err
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: this torch build sees no CUDA GPU")
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=cell_count(config), unit="cell", disable=not progress, leave=False)

    def tick() -> None:
        bar.update(1)

    def say(line: str) -> None:
        if progress:
            bar.write(line)
        else:
            log(line)

    try:
        return _run(config, out_dir, _Runner(config, out_dir, say, tick, chosen))
    finally:
        bar.close()


def _run(config: GridConfig, out_dir: Path, runner: _Runner) -> GridResults:
    cells: list[Cell] = []
    rankings: dict[tuple[str, str], list[tuple[Component, float, float]]] = {}
    for dataset in config.datasets:
        for model in config.models:
            for row, components in config.inputs.items():
                for seed in config.seeds:
                    cells.append(runner.cell(dataset, model, row, "5.1", components, False, seed))
            if not config.attention:
                continue
            row = attention_row(config)
            att_cells = [
                runner.cell(dataset, model, row, "5.3", config.attention, True, seed)
                for seed in config.seeds
            ]
            cells += att_cells
            ranking = _ranking(config.attention, att_cells)
            rankings[(dataset, model.name)] = ranking
            for k in config.top_k:
                hybrid = tuple(c for c, _, _ in ranking[:k])
                for seed in config.seeds:
                    cells.append(
                        runner.cell(dataset, model, hybrid_row(k), "5.3", hybrid, True, seed)
                    )
    majority = {}
    for dataset in config.datasets:
        images = runner.data(dataset)[0]
        top = np.bincount(images.train_labels, minlength=len(images.classes)).argmax()
        majority[dataset] = 100.0 * float((images.test_labels == top).mean())
    return GridResults(config, cells, rankings, out_dir, majority)


def _ranking(
    components: tuple[Component, ...], cells: Sequence[Cell]
) -> list[tuple[Component, float, float]]:
    """Rank by the per-component activation averaged over the seeds' models:
    ``[(component, mean, std over seeds)]``, strongest first."""
    per_seed = []
    for cell in cells:
        owners = cell.result["channel_component"]
        per_seed.append(component_activations(cell.result["attention"], owners))
    means = [sum(v[i] for v in per_seed) / len(per_seed) for i in range(len(components))]
    stds = [_std([v[i] for v in per_seed]) for i in range(len(components))]
    ranked = rank_components(components, means)
    return [(c, m, stds[components.index(c)]) for c, m in ranked]


def _std(values: Sequence[float]) -> float:
    if len(values) < 2:
        return math.nan
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def input_channels(components: Sequence[Component], hue: str) -> int:
    """Channels a network sees for ``components`` (a circular hue counts twice)."""
    return ColourInput(components, hue=hue).channels
