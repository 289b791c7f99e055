"""``tinct ssl pretrain``: train a pretext method with the training runner's machinery.

The same pieces as ``tinct train`` (:mod:`tinct.train.runner`): the data a config names
(:func:`tinct.data.training.build_datasets`: corpus/folder crops, or STL-10/CIFAR by name),
Lightning with periodic and ``last.ckpt`` checkpoints, ``--resume auto``, CSV and
TensorBoard logs, a loss curve, the cumulative training time, progress bars. What differs
is the module (a pretext method instead of a colouriser) and the export: ``encoder.pt``,
the backbone with its input kind and the run's budget (steps, images seen, CPU and wall
seconds), which ``tinct ssl probe`` and ``tinct ssl finetune`` start from.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch import Tensor
from torch.utils.data import DataLoader

from tinct.data.sample import Sample, collate_samples
from tinct.data.training import build_datasets
from tinct.ssl.config import PretrainConfig
from tinct.ssl.encoders import save_encoder
from tinct.ssl.methods import PretextMethod, create_method
from tinct.train.callbacks import CpuBudget, LossCurve, TrainTimer
from tinct.train.config import dump_config
from tinct.train.optim import make_optimizer, make_scheduler
from tinct.train.runner import resume_path

__all__ = ["PretextModule", "pretrain"]

log = logging.getLogger(__name__)


def _as_config(config: Mapping[str, Any] | PretrainConfig) -> PretrainConfig:
    return config if isinstance(config, PretrainConfig) else PretrainConfig.from_dict(config)


class PretextModule(L.LightningModule):
    """A pretext method trained with one optimiser (``optim``) and schedule."""

    def __init__(self, config: Mapping[str, Any] | PretrainConfig) -> None:
        super().__init__()
        cfg = _as_config(config)
        self.save_hyperparameters({"config": cfg.to_dict()})
        self.cfg = cfg
        self.method: PretextMethod = create_method(
            cfg.method.name, width=cfg.backbone.width, stem=cfg.backbone.stem, **cfg.method.kwargs
        )

    def training_step(self, batch: Sample, batch_idx: int) -> Tensor:
        loss, terms = self.method.loss(batch.rgb)
        n = batch.rgb.shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=n)
        for key, value in terms.items():
            self.log(f"train/{key}", value, batch_size=n)
        return loss

    def validation_step(self, batch: Sample, batch_idx: int) -> None:
        if batch.rgb.shape[0] < 2:  # NT-Xent needs negatives
            return
        loss, terms = self.method.loss(batch.rgb)
        n = batch.rgb.shape[0]
        self.log("val/loss", loss, prog_bar=True, batch_size=n)
        for key, value in terms.items():
            self.log(f"val/{key}", value, batch_size=n)

    def configure_optimizers(self) -> Any:
        optim = self.cfg.optim
        optimiser = make_optimizer(
            [{"params": list(self.method.parameters()), "lr": optim.lr}], optim
        )
        total = int(self.trainer.estimated_stepping_batches)
        scheduler = make_scheduler(optimiser, self.cfg.schedule, total)
        return {
            "optimizer": optimiser,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def _rgb_batches(loader: DataLoader[Any], n: int) -> Iterator[Tensor]:
    for batch in itertools.islice(loader, n):
        yield batch.rgb


def pretrain(
    config: Mapping[str, Any] | PretrainConfig, *, resume: str | None = None, progress: bool = True
) -> Path:
    """Pretrain ``config.method``; returns ``<output_dir>/encoder.pt``.

    ``resume``: a checkpoint, or ``"auto"`` for ``<output_dir>/checkpoints/last.ckpt``
    when it exists. The resolved config goes to ``<output_dir>/config.yaml``.
    """
    cfg = _as_config(config)
    tcfg = cfg.trainer
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = resume_path(resume, out_dir)
    dump_config(cfg.to_dict(), out_dir / "config.yaml")
    if tcfg.threads:
        torch.set_num_threads(tcfg.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    train_set, val_set = build_datasets(cfg.data, progress=progress)
    workers = cfg.data.num_workers
    n_train = len(train_set)  # type: ignore[arg-type]
    train_loader = DataLoader(
        train_set,
        batch_size=tcfg.batch_size,
        shuffle=True,
        drop_last=n_train >= tcfg.batch_size,
        num_workers=workers,
        persistent_workers=workers > 0,
        collate_fn=collate_samples,
    )
    val_loader = DataLoader(
        val_set, batch_size=tcfg.batch_size, num_workers=0, collate_fn=collate_samples
    )
    module = PretextModule(cfg)
    extra = module.method.prepare(_rgb_batches(train_loader, cfg.prior_batches))
    cpu, timer = CpuBudget(cfg.max_cpu_minutes or None), TrainTimer()
    callbacks: list[L.Callback] = [
        ModelCheckpoint(
            dirpath=out_dir / "checkpoints",
            filename="step{step:07d}",
            auto_insert_metric_name=False,
            every_n_train_steps=tcfg.checkpoint_every_steps,
            save_last=True,
            save_top_k=-1,
        ),
        cpu,
        timer,
        LossCurve(out_dir / "loss_curve.png"),
    ]
    trainer = L.Trainer(
        accelerator="cpu",
        devices=tcfg.devices,
        strategy=tcfg.strategy,
        max_steps=tcfg.max_steps if tcfg.max_steps is not None else -1,
        max_epochs=tcfg.max_epochs,
        max_time=tcfg.max_time,
        precision=tcfg.precision,  # type: ignore[arg-type]
        val_check_interval=min(tcfg.val_every_steps, max(1, n_train // tcfg.batch_size)),
        check_val_every_n_epoch=None,
        log_every_n_steps=tcfg.log_every_steps,
        logger=[
            CSVLogger(str(out_dir), name="logs", version=0),
            TensorBoardLogger(str(out_dir), name="tensorboard", version=0, default_hp_metric=False),
        ],
        callbacks=callbacks,
        default_root_dir=str(out_dir),
        enable_progress_bar=progress,
        enable_model_summary=progress,
        num_sanity_val_steps=0,
    )
    trainer.fit(
        module,
        train_dataloaders=train_loader,
        val_dataloaders=val_loader,
        ckpt_path=checkpoint,
        weights_only=True,
    )
    steps = trainer.global_step
    metadata = {
        "method": cfg.method.name,
        "method_kwargs": cfg.method.kwargs,
        "config": cfg.to_dict(),
        "steps": steps,
        "batch_size": tcfg.batch_size,
        "images_seen": steps * tcfg.batch_size,
        "image_size": cfg.data.image_size,
        "cpu_seconds": round(cpu.seconds, 3),
        "wall_seconds": round(timer.seconds, 3),
        "train_images": len(getattr(train_set, "files", [])) or n_train,
        "torch": str(torch.__version__),
        **extra,
    }
    path = save_encoder(module.method.encoder(), out_dir / "encoder.pt", metadata)
    log.info("pretrained %s for %d steps; encoder written to %s", cfg.method.name, steps, path)
    return path
