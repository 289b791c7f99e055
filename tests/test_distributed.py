"""Data-parallel training (Lightning DDP over gloo, 2 CPU processes): the sampler deals one
global order to the ranks, a 2-process run ends with the weights of a 1-process run on the
same global batch, the ab prior reduced across ranks equals the single-process prior
exactly, and a DDP run resumes from its last checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import make_tiny_config
from helpers import write_photos
from tinct.cli._common import distributed_overrides
from tinct.train import ConfigError, distributed, resolve_config
from tinct.train.callbacks import read_metrics
from tinct.train.config import dump_config
from tinct.train.distributed import GlobalOrderSampler, trainer_options
from tinct.train.sections import TrainConfig

SRC = Path(__file__).parents[1] / "src"


def test_the_ranks_batches_together_are_the_single_process_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = list(range(37))
    batch = 3

    def batches(rank: int, world: int, epoch: int, size: int) -> list[list[int]]:
        monkeypatch.setattr(distributed, "rank_and_world", lambda: (rank, world))
        sampler = GlobalOrderSampler(data, seed=7)
        sampler.set_epoch(epoch)
        order = list(sampler)
        assert len(order) == len(sampler)
        return [order[i : i + size] for i in range(0, len(order) - size + 1, size)]

    for epoch in (0, 1):
        single = batches(0, 1, epoch, 2 * batch)
        ranks = [batches(r, 2, epoch, batch) for r in range(2)]
        for k, (a, b) in enumerate(zip(*ranks, strict=False)):
            assert sorted(a + b) == sorted(single[k])
    assert batches(0, 1, 0, 4) != batches(0, 1, 1, 4)  # reshuffled each epoch


def test_trainer_options_and_command_line(tmp_path: Path) -> None:
    cfg = TrainConfig.from_dict(resolve_config(None, ["trainer.devices=2"]))
    options = trainer_options(cfg.trainer)
    strategy = options["strategy"]
    assert type(strategy).__name__ == "DDPStrategy"
    assert strategy._process_group_backend == "gloo"
    assert options["use_distributed_sampler"] is False
    one = trainer_options(TrainConfig.from_dict(resolve_config(None)).trainer)
    assert one["strategy"] == "auto" and one["devices"] == 1
    with pytest.raises(ConfigError, match="sync_batchnorm needs GPUs"):
        resolve_config(None, ["trainer.sync_batchnorm=true"])
    import argparse

    args = argparse.Namespace(devices="8", num_nodes=2, accelerator="gpu", sync_batchnorm=True)
    config = resolve_config(None, distributed_overrides(args))
    assert (config["trainer"]["devices"], config["trainer"]["num_nodes"]) == (8, 2)
    assert config["trainer"]["sync_batchnorm"] is True


def _config(root: Path, name: str, batch: int, **extra: Any) -> Path:
    """A tiny run on square photos with full-size crops and no flips: its data do not
    depend on random draws, so 1 and 2 processes can be compared."""
    model = extra.pop("model", {"name": "yuv-cnn", "kwargs": {"dropout": 0.0, "width": 0.5}})
    space = "lab" if model["name"].startswith("zhang") else "yuv"
    config = make_tiny_config(
        root / name,
        root=root / "photos",
        model=model,
        data={
            "augment": {"scale": [1.0, 1.0], "hflip": False},
            "samples_per_epoch": 16,
            "space": space,
        },
        trainer={
            "batch_size": batch,
            "max_steps": 3,
            "val_every_steps": 3,
            "checkpoint_every_steps": 1,
            "threads": 1,
        },
        schedule={"warmup_steps": 0},
        **extra,
    )
    path = root / f"{name}.yaml"
    dump_config(config, path)
    return path


def _train(config: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    env.pop("RANK", None)
    run = subprocess.run(
        [sys.executable, "-m", "tinct", "train", str(config), "-q", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("model written to") == 1  # rank 0 only


def _weights(run: Path, name: str = "last.ckpt") -> dict[str, torch.Tensor]:
    ckpt = torch.load(run / "checkpoints" / name, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in ckpt["state_dict"].items()}


@pytest.mark.slow
def test_two_processes_end_with_the_weights_of_one_and_resume(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos", 8, size=(40, 40))
    _train(_config(tmp_path, "single", batch=4))
    ddp = _config(tmp_path, "ddp", batch=2)
    _train(ddp, "--devices", "2")
    single, two = _weights(tmp_path / "single"), _weights(tmp_path / "ddp")
    diff = max(float((single[k] - two[k]).abs().max()) for k in single)
    assert diff < 1e-5, diff
    # The tolerance means something: steps 2 and 3 moved the weights by about 1e-3.
    step1 = _weights(tmp_path / "single", "step0000001.ckpt")
    assert max(float((single[k] - step1[k]).abs().max()) for k in single) > 20 * 1e-5
    # Validation is sharded across the ranks; its a/b histograms, summed across them,
    # give the divergences one process computes over the whole validation set.
    for name in ("val/ab_hist_kl", "val/ab_hist_js"):
        one, both = (
            read_metrics(tmp_path / run / "logs" / "version_0" / "metrics.csv")[name]
            for run in ("single", "ddp")
        )
        assert [s for s, _ in one] == [s for s, _ in both] == [2]  # steps count from 0
        assert both[0][1] == pytest.approx(one[0][1], rel=1e-4)

    # Resume the 2-process run from its last checkpoint for 2 more steps.
    _train(ddp, "--devices", "2", "--resume", "auto", "--set", "trainer.max_steps=5")
    ckpt = torch.load(tmp_path / "ddp" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 5


@pytest.mark.slow
def test_the_prior_reduced_across_ranks_equals_the_single_process_prior(
    tmp_path: Path,
) -> None:
    write_photos(tmp_path / "photos", 8, size=(40, 40))
    zhang = {"name": "zhang-cpu", "kwargs": {"widths": [8] * 8, "depths": [1] * 8}}
    loss = {"name": "rebalanced", "prior_batches": 2}
    _train(_config(tmp_path, "single", batch=4, model=zhang, loss=loss))
    _train(_config(tmp_path, "ddp", batch=2, model=zhang, loss=loss), "--devices", "2")
    single = json.loads((tmp_path / "single" / "prior.json").read_text())
    two = json.loads((tmp_path / "ddp" / "prior.json").read_text())
    assert sum(single["counts"]) == 2 * 4 * 8 * 8  # 2 global batches of 4 crops, 8x8 logits
    assert two["counts"] == single["counts"]


def _reduce_worker(rank: int, init: str, out: str) -> None:
    import torch.distributed as dist

    from tinct.eval import AbHistogram, FeatureStats

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    lab, features = _evaluation_data()
    histogram, stats = AbHistogram(), FeatureStats()
    # Uneven shards: rank 0 gets 2 of the 5 images and 40 of the 100 feature vectors.
    mine = slice(0, 2) if rank == 0 else slice(2, 5)
    histogram.update(lab[mine])
    stats.update(features[:40] if rank == 0 else features[40:])
    histogram.all_reduce()
    stats = stats.all_reduce()
    torch.save(
        {"counts": histogram.counts, "mean": stats.mean, "cov": stats.covariance, "n": stats.n},
        f"{out}.{rank}",
    )
    dist.destroy_process_group()


def _evaluation_data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    lab = (
        torch.rand(5, 3, 16, 16, generator=generator)
        * torch.tensor([100.0, 200, 200])[:, None, None]
        - torch.tensor([0.0, 100, 100])[:, None, None]
    )
    features = torch.randn(100, 6, generator=generator, dtype=torch.float64) * 3 + 1
    return lab, features


@pytest.mark.slow
def test_evaluation_statistics_reduced_across_ranks_equal_one_process(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    from tinct.eval import AbHistogram, FeatureStats

    out = str(tmp_path / "reduced")
    mp.spawn(_reduce_worker, args=(f"file://{tmp_path / 'rendezvous'}", out), nprocs=2)
    lab, features = _evaluation_data()
    histogram, stats = AbHistogram(), FeatureStats()
    histogram.update(lab)
    stats.update(features)
    for rank in (0, 1):
        got = torch.load(f"{out}.{rank}", weights_only=True)
        assert torch.equal(got["counts"], histogram.counts)  # exact: whole counts
        assert got["n"] == 100
        torch.testing.assert_close(got["mean"], features.mean(0), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got["cov"], torch.cov(features.T), rtol=1e-10, atol=1e-12)
