"""tinct.data.splits (the one split rule) and tinct.data.training (train/val assembly)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tinct.data.corpus import split_for_hash
from tinct.data.splits import split_indices, split_of_digest
from tinct.data.training import DataSection, split_files


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_digest_rule_buckets() -> None:
    digests = [_digest(str(i)) for i in range(2000)]
    for d in digests[:300]:
        bucket = int(d, 16) % 100
        expected = "test" if bucket < 10 else "val" if bucket < 20 else "train"
        assert split_of_digest(d) == expected == split_for_hash(d)
    # A two-way split (no test share) as ``tinct train`` cuts a folder: val below frac.
    parts = split_indices(len(digests), (0.7, 0.3, 0.0), digests=digests, buckets=10_000)
    is_val = [int(d, 16) % 10_000 < 0.3 * 10_000 for d in digests]
    assert parts["val"].tolist() == [i for i, v in enumerate(is_val) if v]
    assert parts["train"].tolist() == [i for i, v in enumerate(is_val) if not v]
    assert len(parts["test"]) == 0
    # An item's split depends only on its own digest.
    extra = [_digest(f"new {i}") for i in range(1000)]
    more = split_indices(3000, (0.7, 0.3, 0.0), digests=[*digests, *extra], buckets=10_000)
    assert parts["val"].tolist() == [i for i in more["val"].tolist() if i < 2000]
    with pytest.raises(ValueError, match="digests for"):
        split_indices(3, digests=digests[:2])
    with pytest.raises(ValueError, match="summing to 1"):
        split_of_digest(digests[0], (0.5, 0.5, 0.5))


def test_permutation_rule_counts() -> None:
    parts = split_indices(10, (0.6, 0.2, 0.2), seed=3, key="a")
    assert [len(parts[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(10))


def test_split_files_of_a_folder(tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"{i:03d}.png").write_bytes(b"")
    config = DataSection(root=str(tmp_path), kind="folder", val_root=None, val_fraction=0.25)
    train, val = split_files(config)
    assert sorted(train + val) == sorted(tmp_path.glob("*.png")) and not set(train) & set(val)
    assert all(int(_digest(p.name), 16) % 10_000 < 2500 for p in val)
    # Stable when files are added: the old files keep their split.
    for i in range(60, 90):
        (tmp_path / f"{i:03d}.png").write_bytes(b"")
    train2, val2 = split_files(config)
    assert set(val) <= set(val2) and set(train) <= set(train2)
    # Nothing falls into val: the first training photos validate.
    config.val_fraction = 0.0
    train3, val3 = split_files(config)
    assert val3 == train3[:4]
