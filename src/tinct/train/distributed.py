"""Data-parallel training on Lightning's DDP strategy: the parts every training command
shares (``tinct train`` and any other command built on :mod:`tinct.train`).

- :func:`trainer_options`: the Lightning ``Trainer`` arguments of a config's ``trainer``
  section (accelerator, devices, nodes, strategy: DDP over gloo on CPUs and NCCL on GPUs
  when more than one process trains; SyncBatchNorm when asked).
- :class:`GlobalOrderSampler`: the training order. One permutation of the data set per
  epoch (seeded by the config's seed and the epoch), dealt to the ranks in turn, so the
  ranks' k-th batches together are the k-th batch of a single process with the global
  batch size: a run on N processes sees what one process would see, batch by batch.
- :func:`launch_rank`: this process's global rank before Lightning sets up the process
  group (from the launcher's environment), for what only rank 0 may write early.
- :func:`rank_and_world`, :func:`all_reduce_sum`, :func:`shard_indices`: whole-data-set
  statistics computed on every rank's share and summed exactly (int64 counts) across
  ranks, e.g. the ab prior of the classification objective.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sized
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import Sampler

from tinct.train.sections import TrainerSection

__all__ = [
    "GlobalOrderSampler",
    "ShardSampler",
    "all_reduce_sum",
    "is_distributed",
    "launch_rank",
    "rank_and_world",
    "shard_indices",
    "trainer_options",
]


def is_distributed(trainer: TrainerSection) -> bool:
    """Whether the section asks for more than one training process."""
    devices = trainer.devices
    many = (isinstance(devices, str) and devices not in ("1", "auto")) or (
        isinstance(devices, int) and devices > 1
    )
    return bool(many or trainer.num_nodes > 1 or trainer.strategy.startswith("ddp"))


def trainer_options(
    trainer: TrainerSection, *, manual_optimisation: bool = False
) -> dict[str, Any]:
    """``L.Trainer`` keyword arguments for the hardware and parallelism of ``trainer``.

    More than one process (``devices`` > 1, ``num_nodes`` > 1 or a ``ddp*`` strategy)
    with ``strategy: auto`` runs Lightning's ``DDPStrategy``, over gloo on CPUs and NCCL
    on GPUs (Lightning's choice per accelerator). Schemes with several optimisers
    (``manual_optimisation``, e.g. a GAN's generator and discriminator steps) let DDP
    find parameters a step does not use. The sampler is always tinct's
    (:class:`GlobalOrderSampler`), never Lightning's replacement.
    """
    options: dict[str, Any] = {
        "accelerator": trainer.accelerator,
        "devices": trainer.devices,
        "num_nodes": trainer.num_nodes,
        "sync_batchnorm": trainer.sync_batchnorm,
        "use_distributed_sampler": False,
        "strategy": trainer.strategy,
    }
    if trainer.strategy == "auto" and is_distributed(trainer):
        from lightning.pytorch.strategies import DDPStrategy

        backend = "gloo" if trainer.accelerator == "cpu" else None
        options["strategy"] = DDPStrategy(
            process_group_backend=backend, find_unused_parameters=manual_optimisation
        )
    return options


def launch_rank() -> int:
    """This process's rank as its launcher set it (torchrun ``RANK``, SLURM, Open MPI),
    known before the process group exists; 0 when started alone. Under Lightning's own
    launcher on several nodes the global rank is not in the environment: then
    ``NODE_RANK * 1024 + LOCAL_RANK``, distinct per process and 0 only on rank 0, which
    is what it is used for (who writes shared files, per-process seeds)."""
    env = os.environ
    for name in ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK"):
        if name in env:
            return int(env[name])
    return int(env.get("NODE_RANK", "0")) * 1024 + int(env.get("LOCAL_RANK", "0"))


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)`` of the initialised process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_reduce_sum(tensor: Tensor) -> Tensor:
    """``tensor`` summed over all ranks (in place; returned). Integer tensors sum
    exactly, so counts reduced this way equal a single process's counts."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def shard_indices(indices: list[int], rank: int, world: int) -> list[int]:
    """This rank's share of ``indices``: every ``world``-th, starting at ``rank``."""
    return indices[rank::world]


class GlobalOrderSampler(Sampler[int]):
    """A permutation of ``range(len(dataset))`` per epoch, dealt to the ranks in turn.

    The permutation depends on ``seed`` and the epoch only (Lightning calls
    :meth:`set_epoch`). With ``world`` ranks, rank ``r`` yields positions ``r, r + world,
    ...`` of it, trimmed so every rank yields the same number of items (the last
    ``len % world`` items of an epoch are dropped, as the others are reshuffled next
    epoch). The rank and world size are read when iterating, after the launcher and
    Lightning have set up the process group, so one sampler serves 1 and N processes.
    """

    def __init__(self, dataset: Sized, seed: int) -> None:
        self.size = len(dataset)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        _, world = rank_and_world()
        return self.size // world if self.size >= world else math.ceil(self.size / world)

    def __iter__(self) -> Iterator[int]:
        rank, world = rank_and_world()
        generator = torch.Generator()
        generator.manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.size, generator=generator).tolist()
        if self.size >= world:
            order = order[: self.size - self.size % world]
        else:  # fewer items than ranks: repeat so that every rank has one
            order = (order * world)[:world]
        return iter(order[rank::world])


class ShardSampler(Sampler[int]):
    """Items ``rank, rank + world, ...`` of a data set in order (validation): the ranks'
    shares partition it, without padding, so sums over them (histograms) equal one
    process's; each rank's mean metrics are averaged across ranks. With fewer items than
    ranks, rank ``r`` gets item ``r % len``: every rank must validate (the reductions at
    the end of validation wait for all of them)."""

    def __init__(self, dataset: Sized) -> None:
        self.size = len(dataset)

    def _mine(self) -> range:
        rank, world = rank_and_world()
        if self.size < world:
            start = rank % max(1, self.size)
            return range(start, start + 1)
        return range(rank, self.size, world)

    def __len__(self) -> int:
        return len(self._mine())

    def __iter__(self) -> Iterator[int]:
        return iter(self._mine())
