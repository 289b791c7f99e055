"""Sharded batch colourisation: deterministic shards that partition a job, N workers that
write each output once, and a killed job that a rerun finishes without redoing files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import write_photos
from tinct.cli import main
from tinct.pipeline import collect_inputs, parse_shard, plan_outputs, shard_index

SRC = Path(__file__).parents[1] / "src"


def test_parse_shard_from_text_and_launchers() -> None:
    assert parse_shard("0/1") == (0, 1)
    assert parse_shard("3/4") == (3, 4)
    assert parse_shard("auto", {"RANK": "5", "WORLD_SIZE": "8"}) == (5, 8)
    slurm_array = {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"}
    assert parse_shard("auto", slurm_array) == (2, 3)
    assert parse_shard("auto", {"SLURM_PROCID": "1", "SLURM_NTASKS": "2"}) == (1, 2)
    for bad in ("4/4", "-1/2", "1", "a/2", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad, {})
    with pytest.raises(ValueError, match="no launcher"):
        parse_shard("auto", {})


def test_shards_partition_the_job_and_are_stable_when_files_are_added(tmp_path: Path) -> None:
    write_photos(tmp_path / "in" / "a", 12, size=(8, 8))
    write_photos(tmp_path / "in" / "b", 12, size=(8, 8))
    found = collect_inputs([tmp_path / "in"], out_dir=tmp_path / "out")
    plan = plan_outputs(found.files, out_dir=tmp_path / "out")
    shards = [plan.shard(i, 3) for i in range(3)]
    todo = [pair for s in shards for pair in s.todo]
    assert sorted(todo) == sorted(plan.todo)  # every input once, in exactly one shard
    assert len(set(todo)) == len(todo) == 24
    assert all(s.todo for s in shards)
    # The shard of a file depends on its name below the input folder only.
    before = {src.name + src.parent.name: i for i, s in enumerate(shards) for src, _ in s.todo}
    write_photos(tmp_path / "in" / "c", 5, size=(8, 8))
    grown = plan_outputs(collect_inputs([tmp_path / "in"]).files, out_dir=tmp_path / "o2")
    after = {src.name + src.parent.name: i for i in range(3) for src, _ in grown.shard(i, 3).todo}
    assert all(after[key] == shard for key, shard in before.items())
    assert shard_index("a/photo_00.png", 1) == 0


def _cli(*args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "tinct", "colourise", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.slow
def test_two_workers_write_each_output_exactly_once(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "in", 8, size=(40, 56))
    out = tmp_path / "out"
    common = ["-o", str(out), "-m", "zhang-cpu", "--allow-colour", "--threads", "1", "-v"]
    # Two independent workers (as two machines would run them), at the same time.
    workers = [_cli(str(tmp_path / "in"), "--shard", f"{i}/2", *common) for i in range(2)]
    written: list[str] = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr
        written += [line.split(" -> ")[1] for line in stdout.splitlines() if " -> " in line]
    assert sorted(written) == sorted(str(out / p.name) for p in photos)  # each once
    assert sorted(os.listdir(out)) == sorted(p.name for p in photos)
    # --jobs 2 on one machine: the workers' counts add up to the job, nothing twice.
    assert main(["colourise", str(tmp_path / "in"), "-o", str(tmp_path / "jobs"), "-m",
                 "zhang-cpu", "--allow-colour", "--jobs", "2"]) == 0  # fmt: skip
    assert sorted(os.listdir(tmp_path / "jobs")) == sorted(p.name for p in photos)


@pytest.mark.slow
def test_a_killed_job_resumes_without_redoing_finished_files(tmp_path: Path) -> None:
    photos = write_photos(tmp_path / "in", 24, size=(480, 640))
    out = tmp_path / "out"
    args = [str(tmp_path / "in"), "-o", str(out), "-m", "zhang-cpu", "--allow-colour"]
    job = _cli(*args, "--jobs", "2", "--threads", "1", start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and job.poll() is None:
        finished = [p for p in out.glob("*.png")] if out.is_dir() else []
        if len(finished) >= 3:
            break
        time.sleep(0.05)
    assert job.poll() is None, "the job finished before it could be killed"
    os.killpg(job.pid, signal.SIGKILL)  # no clean-up: as a crash or a lost machine
    job.wait()
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert 3 <= len(kept) < len(photos)
    rerun = _cli(*args, "--jobs", "2", "--threads", "1")
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert f"{len(photos) - len(kept)} colourised, {len(kept)} already done" in stdout
    assert sorted(p.name for p in out.glob("*.png")) == sorted(p.name for p in photos)
    for name, mtime in kept.items():
        assert (out / name).stat().st_mtime_ns == mtime  # not written again
