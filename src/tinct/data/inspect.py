"""What is in a dataset: counts, image sizes, class balance and the ab distribution.

Seed 000 (figures 3.1/3.2) shows why the ab histogram matters: the pixels of
natural photos crowd around grey, so a colouriser trained to minimise an
average error learns desaturated colours. :func:`inspect_dataset` measures
that on any :class:`~tinct.data.base.ColourDataset`, and :func:`plot_inspection`
draws the log-scaled joint ab histogram, the a and b marginals, and the class
balance into one PNG.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from tinct.color import BinPrior, rgb_to_lab
from tinct.data.base import ColourDataset, DatasetError, RawItem
from tinct.io import ImageReadError, atomic_path
from tinct.io.resize import resize_short_side

#: ab histogram range and bin width (CIE a*, b* units).
AB_RANGE = 110.0
AB_BIN = 2.0
#: Pixels with chroma sqrt(a^2 + b^2) below this count as near grey.
NEAR_GREY_CHROMA = 5.0


def _items(
    dataset: ColourDataset, max_images: int | None, skipped: list[str], desc: str, progress: bool
) -> Iterator[RawItem]:
    """The stored items of ``dataset`` (at most ``max_images``, evenly spaced), with a
    progress bar; unreadable ones are appended to ``skipped`` and left out."""
    n = len(dataset)
    if max_images is None or max_images >= n:
        indices = np.arange(n)
    else:
        indices = np.unique(np.linspace(0, n - 1, max_images).round().astype(int))
    for i in tqdm(indices, desc=desc, unit="img", disable=not progress):
        try:
            yield dataset.load(int(i))
        except (ImageReadError, DatasetError) as err:
            skipped.append(str(err))


@dataclass
class DatasetReport:
    """The numbers ``tinct data inspect`` prints (and writes as JSON)."""

    name: str
    items: int
    inspected: int
    skipped: list[str] = field(default_factory=list)
    min_size: tuple[int, int] = (0, 0)  # (height, width) of the smallest image by area
    median_size: tuple[int, int] = (0, 0)
    max_size: tuple[int, int] = (0, 0)
    classes: dict[str, int] = field(default_factory=dict)
    mean_chroma: float = 0.0
    near_grey_fraction: float = 0.0
    ab_hist: list[list[float]] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        lines = [
            f"dataset: {self.name}",
            f"items: {self.items} (inspected {self.inspected}, unreadable {len(self.skipped)})",
            f"image size (HxW, by area): min {self.min_size[0]}x{self.min_size[1]}, median "
            f"{self.median_size[0]}x{self.median_size[1]}, max {self.max_size[0]}x"
            f"{self.max_size[1]}",
            f"mean chroma C*ab: {self.mean_chroma:.1f}; pixels near grey (C*ab < "
            f"{NEAR_GREY_CHROMA:g}): {100 * self.near_grey_fraction:.1f} %",
        ]
        if self.classes:
            total = max(1, sum(self.classes.values()))
            lines.append(f"classes ({len(self.classes)}):")
            width = max(len(c) for c in self.classes)
            for c, n in self.classes.items():
                lines.append(f"  {c:<{width}}  {n:>7}  {100 * n / total:5.1f} %")
        else:
            lines.append("classes: none (unlabelled)")
        for s in self.skipped[:10]:
            lines.append(f"skipped: {s}")
        if len(self.skipped) > 10:
            lines.append(f"... and {len(self.skipped) - 10} more skipped")
        return "\n".join(lines)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("ab_hist")
        return json.dumps(data, indent=2)


def inspect_dataset(
    dataset: ColourDataset,
    *,
    name: str = "dataset",
    max_images: int | None = 2000,
    pixels_side: int = 64,
    progress: bool = True,
) -> DatasetReport:
    """Statistics of ``dataset`` from its stored images (transforms are not applied).

    At most ``max_images`` evenly spaced items are decoded; their ab values are
    counted on a copy downscaled to at most ``pixels_side`` pixels on the short
    side (area averaging), which keeps a 100,000-image set quick to inspect.
    Unreadable items are skipped and listed.
    """
    bins = round(2 * AB_RANGE / AB_BIN)
    hist = np.zeros((bins, bins), dtype=np.float64)
    sizes: list[tuple[int, int]] = []
    skipped: list[str] = []
    chroma_sum = 0.0
    grey = 0
    pixels = 0
    for item in _items(dataset, max_images, skipped, f"inspecting {name}", progress):
        sizes.append(item.rgb.shape[:2])
        rgb = resize_short_side(item.rgb, pixels_side)
        t = torch.from_numpy(np.ascontiguousarray(rgb).copy()).permute(2, 0, 1).float() / 255
        lab = rgb_to_lab(t)
        a, b = lab[1].flatten().numpy(), lab[2].flatten().numpy()
        c = np.hypot(a, b)
        chroma_sum += float(c.sum())
        grey += int((c < NEAR_GREY_CHROMA).sum())
        pixels += c.size
        h2, _, _ = np.histogram2d(a, b, bins=bins, range=[[-AB_RANGE, AB_RANGE]] * 2)
        hist += h2
    arr = np.asarray(sizes) if sizes else np.zeros((1, 2), dtype=int)
    by_area = arr[np.argsort(arr[:, 0] * arr[:, 1])]
    return DatasetReport(
        name=name,
        items=len(dataset),
        inspected=len(sizes),
        skipped=skipped,
        min_size=(int(by_area[0, 0]), int(by_area[0, 1])),
        median_size=(int(by_area[len(by_area) // 2, 0]), int(by_area[len(by_area) // 2, 1])),
        max_size=(int(by_area[-1, 0]), int(by_area[-1, 1])),
        classes=dataset.class_counts(),
        mean_chroma=chroma_sum / max(1, pixels),
        near_grey_fraction=grey / max(1, pixels),
        ab_hist=hist.tolist(),
    )


def plot_inspection(report: DatasetReport, path: str | os.PathLike[str]) -> Path:
    """Write the report's figure (PNG, atomically): joint ab histogram (log scale),
    a and b marginals (log scale) and, for labelled data, the class balance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    hist = np.asarray(report.ab_hist)
    panels = 3 if report.classes else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels + 0.6, 4.0))
    edges = np.linspace(-AB_RANGE, AB_RANGE, hist.shape[0] + 1)
    ax = axes[0]
    density = hist / max(1.0, hist.sum())
    positive = density[density > 0]
    if positive.size:
        norm = LogNorm(vmin=float(positive.min()), vmax=float(positive.max()))
        mesh = ax.pcolormesh(edges, edges, np.ma.masked_equal(density.T, 0), norm=norm,
                             cmap="viridis")  # fmt: skip
        fig.colorbar(mesh, ax=ax, label="fraction of pixels (log)")
    ax.set_xlabel("a*")
    ax.set_ylabel("b*")
    ax.set_title("joint ab histogram")
    ax.set_aspect("equal")
    centres = (edges[:-1] + edges[1:]) / 2
    ax = axes[1]
    for values, label, colour in ((density.sum(1), "a*", "tab:red"),
                                  (density.sum(0), "b*", "tab:blue")):  # fmt: skip
        ax.step(centres, np.where(values > 0, values, np.nan), where="mid", label=label,
                color=colour)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("value")
    ax.set_ylabel("fraction of pixels (log)")
    ax.set_title("a* and b* marginals")
    ax.legend()
    if report.classes:
        ax = axes[2]
        names = list(report.classes)
        ax.barh(range(len(names)), list(report.classes.values()), color="tab:gray")
        ax.set_yticks(range(len(names)), names, fontsize=7 if len(names) > 15 else 9)
        ax.invert_yaxis()
        ax.set_xlabel("items")
        ax.set_title("class balance")
    fig.suptitle(
        f"{report.name}: {report.inspected} images, {100 * report.near_grey_fraction:.0f} % "
        f"of pixels near grey (C*ab < {NEAR_GREY_CHROMA:g})"
    )
    fig.tight_layout()
    out = Path(path)
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return out


def dataset_bin_prior(
    dataset: ColourDataset,
    bins: torch.Tensor,
    *,
    short_side: int = 256,
    stride: int = 4,
    max_images: int | None = None,
    name: str = "dataset",
    progress: bool = True,
) -> tuple[BinPrior, list[str]]:
    """The empirical ab-bin prior of ``dataset`` over the bins ``bins`` (Zhang et al.'s
    p, seed 002 section 3), streamed image by image, so it works on any dataset size.

    Each stored image is downscaled to ``short_side`` pixels on its short side (area
    averaging, as evaluation does) and every ``stride``-th pixel of every ``stride``-th
    row is counted: the ground truth a network with 1/``stride`` output resolution is
    trained on at that image size. At most ``max_images`` evenly spaced items are read.
    Returns the prior and the unreadable items skipped.
    """
    prior = BinPrior(bins)
    skipped: list[str] = []
    for item in _items(dataset, max_images, skipped, f"ab prior of {name}", progress):
        rgb = resize_short_side(item.rgb, short_side)[::stride, ::stride]
        t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255
        prior.update(rgb_to_lab(t)[None, 1:])
    return prior, skipped


def describe_prior(prior: BinPrior, *, images: int, bins_name: str, lam: float = 0.5) -> str:
    """One line on an ab prior: pixels and images counted, bins seen, the most common
    bin's share and the range of its rebalancing weights (Zhang et al.'s lambda)."""
    from tinct.color import rebalancing_weights

    p = prior.probabilities
    w = rebalancing_weights(p, lam=lam)
    return (
        f"{prior.num_pixels:,} pixels of {images} images over {prior.num_bins} {bins_name} "
        f"bins: {int((p > 0).sum())} bins seen, the most common holds {float(p.max()):.1%}; "
        f"rebalancing weights (lambda {lam}) {float(w.min()):.2f}-{float(w.max()):.2f}"
    )
