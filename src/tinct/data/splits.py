"""The train/val/test split rule of every tinct dataset that cuts its own splits.

One function, :func:`split_indices`, with the two ways tinct cuts a set of items,
picked by whether the items come with digests (they differ on purpose):

* **by permutation** (the default; :class:`tinct.data.folders.ImageFolder`, seed 002's
  80-10-10): a seeded random permutation of the group's ``n`` items is cut by
  ``fractions``. Counts follow the fractions exactly (rounded), and a group ``key``
  (the class name) gives each class its own permutation, so a class's split does not
  depend on which other classes are selected; adding an item reshuffles its group.
* **by digest** (``digests=``: one hex digest per item; the offline corpus hashes each
  photo's content, ``tinct train`` on a plain folder hashes each file's path
  relative to the folder): each item goes by its own bucket
  ``int(digest, 16) % buckets`` -- ``test`` below ``fractions[2] * buckets``, ``val``
  below ``(fractions[2] + fractions[1]) * buckets``, ``train`` above. An item's split
  never changes when others are added or removed; counts only approximately follow
  the fractions. :func:`split_of_digest` is that rule for one item.

Only the standard library is imported at module import time (the corpus builder,
which uses this, promises that); NumPy is imported when indices are built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SPLITS", "split_indices", "split_of_digest"]

SPLITS = ("train", "val", "test")


def _check_fractions(fractions: Sequence[float]) -> None:
    # abs(total - 1) <= 1e-8 + 1e-5 is np.isclose(total, 1.0), without importing NumPy.
    if len(fractions) != 3 or min(fractions) < 0 or not abs(sum(fractions) - 1.0) <= 1e-8 + 1e-5:
        raise ValueError(f"split fractions must be three values >= 0 summing to 1, got {fractions}")


def split_of_digest(
    digest: str, fractions: Sequence[float] = (0.8, 0.1, 0.1), *, buckets: int = 100
) -> str:
    """``"train"``, ``"val"`` or ``"test"`` of one item from its hex ``digest``: the
    bucket ``int(digest, 16) % buckets`` is ``test`` below ``fractions[2] * buckets``,
    ``val`` below ``(fractions[2] + fractions[1]) * buckets``, else ``train``.
    ``fractions`` are (train, val, test)."""
    _check_fractions(fractions)
    bucket = int(digest, 16) % buckets
    if bucket < fractions[2] * buckets:
        return "test"
    if bucket < (fractions[2] + fractions[1]) * buckets:
        return "val"
    return "train"


def split_indices(
    n: int,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 0,
    key: str = "",
    digests: Sequence[str] | None = None,
    buckets: int = 100,
) -> dict[str, np.ndarray]:
    """Deterministic train/val/test index sets (sorted int arrays) of ``n`` items.

    ``fractions``: (train, val, test), >= 0, summing to 1. Without ``digests``: a
    permutation seeded by ``seed`` and ``key`` (e.g. the class name, so each group has
    its own) cut by ``fractions``. With ``digests`` (``n`` hex digests): each item by
    :func:`split_of_digest` with ``buckets``; ``seed`` and ``key`` are unused. See the
    module docstring for when to use which.
    """
    import hashlib

    import numpy as np

    _check_fractions(fractions)
    if digests is not None:
        if len(digests) != n:
            raise ValueError(f"got {len(digests)} digests for {n} items")
        names = [split_of_digest(d, fractions, buckets=buckets) for d in digests]
        return {
            s: np.asarray([i for i, name in enumerate(names) if name == s], dtype=np.int64)
            for s in SPLITS
        }
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    perm = np.random.default_rng([seed, digest]).permutation(n)
    n_train = round(fractions[0] * n)
    n_val = round(fractions[1] * n)
    n_val = min(n_val, n - n_train)
    return {
        "train": np.sort(perm[:n_train]),
        "val": np.sort(perm[n_train : n_train + n_val]),
        "test": np.sort(perm[n_train + n_val :]),
    }
