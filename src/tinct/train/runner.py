"""``tinct train``: build data, model and Lightning trainer from a resolved config."""

from __future__ import annotations

import logging
import signal
import time
import warnings
from collections.abc import Mapping, Sized
from pathlib import Path
from typing import Any, cast

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from tinct.data.crops import PhotoCrops
from tinct.data.sample import collate_samples
from tinct.data.training import SampleSource, build_datasets
from tinct.models import save_model
from tinct.train.callbacks import CpuBudget, LossCurve, SampleGrid, TrainTimer
from tinct.train.config import dump_config
from tinct.train.distributed import (
    GlobalOrderSampler,
    ShardSampler,
    launch_rank,
    trainer_options,
)
from tinct.train.module import ColourisationModule, as_train_config
from tinct.train.sections import TrainConfig

log = logging.getLogger(__name__)


def _len(dataset: SampleSource) -> int:
    return len(cast(Sized, dataset))


def resume_path(resume: str | None, out_dir: Path) -> str | None:
    """The checkpoint to resume from, checked: it must be a Lightning checkpoint of plain
    tensors and containers (loaded with ``weights_only=True``, so a planted file runs
    nothing); anything else is a ``ValueError`` naming the file."""
    if resume is None:
        return None
    if resume == "auto":
        last = out_dir / "checkpoints" / "last.ckpt"
        if not last.is_file():
            return None
        path = last
    else:
        path = Path(resume).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint to resume from does not exist: {resume}")
    try:
        # Memory-mapped: the check reads the structure, not every weight, since Lightning
        # loads the file again to resume.
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: not a usable training checkpoint ({reason})") from None
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise ValueError(f"{path}: not a training checkpoint (no state_dict)")
    return str(path)


def train(
    config: Mapping[str, Any] | TrainConfig, *, resume: str | None = None, progress: bool = True
) -> Path:
    """Train a colouriser with the objective of its model's family; returns the exported
    model file ``<output_dir>/model.pt``.

    ``config``: a resolved config (:func:`~tinct.train.config.resolve_config`) or its
    typed form. ``resume``: a checkpoint path, or ``"auto"`` to continue from
    ``<output_dir>/checkpoints/last.ckpt`` when it exists. The resolved config is
    written to ``<output_dir>/config.yaml`` and stored in each checkpoint.
    """
    cfg = as_train_config(config)
    config = cfg.to_dict()
    tcfg = cfg.trainer
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = resume_path(resume, out_dir)
    # Every process of a data-parallel run executes this function; only rank 0 writes
    # the run's shared files (Lightning keeps logging and checkpoints to rank 0 too).
    rank = launch_rank()
    progress = progress and rank == 0
    if rank == 0:
        dump_config(config, out_dir / "config.yaml")
    if tcfg.threads:
        torch.set_num_threads(tcfg.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)

    train_set, val_set = build_datasets(cfg.data, progress=progress)
    n_train = _len(train_set)
    workers = cfg.data.num_workers
    train_loader = DataLoader(
        train_set,
        batch_size=tcfg.batch_size,
        # One permutation per epoch, dealt to the ranks: N processes see what one
        # process with an N times larger batch sees (tinct.train.distributed).
        sampler=GlobalOrderSampler(train_set, cfg.seed),  # type: ignore[arg-type]
        drop_last=n_train >= tcfg.batch_size,
        num_workers=workers,
        persistent_workers=workers > 0,
        collate_fn=collate_samples,
    )
    val_loader = DataLoader(
        val_set,
        batch_size=tcfg.batch_size,
        sampler=ShardSampler(val_set),  # type: ignore[arg-type]
        num_workers=0,
        collate_fn=collate_samples,
    )
    n_samples = min(_len(val_set), tcfg.num_sample_images)
    sample_batch = collate_samples([val_set[i] for i in range(n_samples)])

    module = ColourisationModule(cfg)
    # The objective prepares (e.g. the ab prior) in the module's setup hook, where every
    # rank has joined the process group and can add its share of the statistics.
    module.prepare_with(train_loader, out_dir, progress=progress)
    # Same weights on every rank (DDP also broadcasts rank 0's); then each rank draws its
    # own augmentations.
    L.seed_everything(cfg.seed + rank, workers=True, verbose=False)
    loggers = [
        CSVLogger(str(out_dir), name="logs", version=0),
        TensorBoardLogger(str(out_dir), name="tensorboard", version=0, default_hp_metric=False),
    ]
    timer = TrainTimer()
    cpu = CpuBudget(tcfg.max_cpu_minutes)
    callbacks: list[L.Callback] = [
        ModelCheckpoint(
            dirpath=out_dir / "checkpoints",
            filename="step{step:07d}",
            auto_insert_metric_name=False,
            every_n_train_steps=tcfg.checkpoint_every_steps,
            save_last=True,
            save_top_k=-1,
        ),
        SampleGrid(sample_batch, out_dir / "samples", cfg.data.space),
        timer,  # before LossCurve, which saves the CSV log at the end
        cpu,
        LossCurve(out_dir / "loss_curve.png"),
        LearningRateMonitor(logging_interval="step"),
    ]
    trainer = L.Trainer(
        **trainer_options(tcfg, manual_optimisation=not module.automatic_optimization),
        max_steps=tcfg.max_steps if tcfg.max_steps is not None else -1,
        max_epochs=tcfg.max_epochs,
        max_time=tcfg.max_time,
        precision=tcfg.precision,  # type: ignore[arg-type]
        val_check_interval=tcfg.val_every_steps,
        check_val_every_n_epoch=None,
        log_every_n_steps=tcfg.log_every_steps,
        logger=loggers,
        callbacks=callbacks,
        default_root_dir=str(out_dir),
        enable_progress_bar=progress,
        enable_model_summary=progress,
        num_sanity_val_steps=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Lightning's advice for manual optimisation (save the pre-step state) does not
        # apply: a checkpoint after a D + G step is what resuming needs.
        warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optim")
        handler = signal.getsignal(signal.SIGINT)
        try:
            trainer.fit(
                module,
                train_dataloaders=train_loader,
                val_dataloaders=val_loader,
                ckpt_path=checkpoint,
                weights_only=True,
            )
        except SystemExit:
            # Lightning answers Ctrl-C with sys.exit(1) after ignoring further SIGINTs:
            # report it as the interruption it is (the last periodic checkpoint resumes).
            if not trainer.interrupted:
                raise
            raise KeyboardInterrupt from None
        finally:
            signal.signal(signal.SIGINT, handler)
    elapsed = time.perf_counter() - start
    model_path = out_dir / "model.pt"
    if trainer.is_global_zero:
        save_model(
            module.model,
            model_path,
            metadata={
                "config": config,
                "global_step": trainer.global_step,
                "train_seconds_this_run": round(elapsed, 3),
                "train_seconds": round(timer.seconds, 3),
                "train_cpu_seconds": round(cpu.seconds, 3),
                "train_images": (
                    len(train_set.files) if isinstance(train_set, PhotoCrops) else n_train
                ),
                "torch": str(torch.__version__),
                "processes": trainer.world_size,
                **module.prepared,
            },
        )
        log.info(
            "trained %d steps in %.0f s; model written to %s",
            trainer.global_step,
            elapsed,
            model_path,
        )
    return model_path
