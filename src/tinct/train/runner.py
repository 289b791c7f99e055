"""``tinct train``: build data, model and Lightning trainer from a resolved config."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sized
from pathlib import Path
from typing import Any, cast

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from tinct.data.crops import PhotoCrops
from tinct.data.sample import Sample, collate_samples
from tinct.data.training import SampleSource, build_datasets
from tinct.models import save_model
from tinct.models.registry import model_entry
from tinct.train.adversarial import AdversarialColourisation
from tinct.train.callbacks import LossCurve, SampleGrid, TrainTimer
from tinct.train.config import dump_config
from tinct.train.supervised import SupervisedColourisation

log = logging.getLogger(__name__)


def _len(dataset: SampleSource) -> int:
    return len(cast(Sized, dataset))


PRIOR_FILE = "prior.json"


def set_class_weights(
    module: SupervisedColourisation,
    loader: DataLoader[Sample | None],
    out_dir: Path,
    *,
    progress: bool = True,
) -> Path:
    """The ab-bin prior of a classification run and its rebalancing weights.

    ``loss.prior`` names a prior file (a dataset-specific prior), else the prior of the
    training data is streamed over ``loss.prior_batches`` batches of the training loader
    at the network's output resolution. Either way it is saved as ``prior.json`` in the
    run folder, next to the model that used it; a resumed run reads it back there.
    Returns that path.
    """
    from tqdm import tqdm

    from tinct.color import BinPrior, rebalancing_weights
    from tinct.train.supervised import downsample_ab

    loss_cfg = module.config["loss"]
    bins = cast(torch.Tensor, module.model.bins)
    path = out_dir / PRIOR_FILE
    if path.is_file():
        prior = BinPrior.load(path)
    elif loss_cfg["prior"]:
        prior = BinPrior.load(Path(loss_cfg["prior"]).expanduser())
        prior.save(path)
    else:
        prior = BinPrior(bins)
        limit = int(loss_cfg["prior_batches"])
        with torch.no_grad():
            for i, batch in enumerate(
                tqdm(loader, total=min(limit, len(loader)), desc="ab prior", disable=not progress)
            ):
                if i >= limit:
                    break
                size = module.model(batch.l[:1]).extras["logits"].shape[-2:]
                prior.update(downsample_ab(batch.chroma, (size[0], size[1])))
        prior.save(path)
    if not torch.equal(prior.bins.float(), bins.float()):
        raise ValueError(f"{path}: prior computed over other ab bins than the model's")
    weights = rebalancing_weights(
        prior.probabilities,
        lam=float(loss_cfg["lambda"]),
        smooth_sigma=loss_cfg["smooth_sigma"],
        bins=bins,
    )
    module.class_weights.copy_(weights)
    log.info("ab prior over %d pixels: %s", prior.num_pixels, path)
    return path


def _resume_path(resume: str | None, out_dir: Path) -> str | None:
    if resume is None:
        return None
    if resume == "auto":
        last = out_dir / "checkpoints" / "last.ckpt"
        return str(last) if last.is_file() else None
    if not Path(resume).is_file():
        raise FileNotFoundError(f"checkpoint to resume from does not exist: {resume}")
    return resume


def train(config: dict[str, Any], *, resume: str | None = None, progress: bool = True) -> Path:
    """Train a colouriser (supervised, or adversarially for the ``gan`` family); returns
    the exported model file ``<output_dir>/model.pt``.

    ``resume``: a checkpoint path, or ``"auto"`` to continue from
    ``<output_dir>/checkpoints/last.ckpt`` when it exists. The resolved config
    is written to ``<output_dir>/config.yaml`` and stored in each checkpoint.
    """
    data, tcfg = config["data"], config["trainer"]
    out_dir = Path(config["output_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    dump_config(config, out_dir / "config.yaml")
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    L.seed_everything(int(config["seed"]), workers=True, verbose=False)

    train_set, val_set = build_datasets(config, progress=progress)
    n_train = _len(train_set)
    workers = int(data["num_workers"])
    train_loader = DataLoader(
        train_set,
        batch_size=int(tcfg["batch_size"]),
        shuffle=True,
        drop_last=n_train >= int(tcfg["batch_size"]),
        num_workers=workers,
        persistent_workers=workers > 0,
        collate_fn=collate_samples,
    )
    val_loader = DataLoader(
        val_set, batch_size=int(tcfg["batch_size"]), num_workers=0, collate_fn=collate_samples
    )
    n_samples = min(_len(val_set), int(tcfg["num_sample_images"]))
    sample_batch = collate_samples([val_set[i] for i in range(n_samples)])

    module: SupervisedColourisation | AdversarialColourisation
    if model_entry(config["model"]["name"]).family == "gan":
        module = AdversarialColourisation(config)
    else:
        module = SupervisedColourisation(config)
    prior_path: Path | None = None
    if isinstance(module, SupervisedColourisation) and module.family == "classification":
        prior_path = set_class_weights(module, train_loader, out_dir, progress=progress)
    loggers = [
        CSVLogger(str(out_dir), name="logs", version=0),
        TensorBoardLogger(str(out_dir), name="tensorboard", version=0, default_hp_metric=False),
    ]
    timer = TrainTimer()
    callbacks: list[L.Callback] = [
        ModelCheckpoint(
            dirpath=out_dir / "checkpoints",
            filename="step{step:07d}",
            auto_insert_metric_name=False,
            every_n_train_steps=int(tcfg["checkpoint_every_steps"]),
            save_last=True,
            save_top_k=-1,
        ),
        SampleGrid(sample_batch, out_dir / "samples", data["space"]),
        timer,  # before LossCurve, which saves the CSV log at the end
        LossCurve(out_dir / "loss_curve.png"),
        LearningRateMonitor(logging_interval="step"),
    ]
    max_steps = tcfg["max_steps"] if tcfg["max_steps"] is not None else -1
    trainer = L.Trainer(
        accelerator="cpu",
        devices=tcfg["devices"],
        strategy=tcfg["strategy"],
        max_steps=max_steps,
        max_epochs=tcfg["max_epochs"],
        max_time=tcfg["max_time"],
        precision=tcfg["precision"],
        val_check_interval=int(tcfg["val_every_steps"]),
        check_val_every_n_epoch=None,
        log_every_n_steps=int(tcfg["log_every_steps"]),
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
        trainer.fit(
            module,
            train_dataloaders=train_loader,
            val_dataloaders=val_loader,
            ckpt_path=_resume_path(resume, out_dir),
        )
    elapsed = time.perf_counter() - start
    model_path = out_dir / "model.pt"
    if trainer.is_global_zero:
        save_model(
            module.model,
            model_path,
            metadata={
                "config": config,
                "global_step": trainer.global_step,
                "train_seconds_this_run": round(elapsed, 1),
                "train_seconds": round(timer.seconds, 1),
                "train_images": (
                    len(train_set.files) if isinstance(train_set, PhotoCrops) else n_train
                ),
                "torch": str(torch.__version__),
                **({"prior": PRIOR_FILE} if prior_path is not None else {}),
            },
        )
        log.info(
            "trained %d steps in %.0f s; model written to %s",
            trainer.global_step,
            elapsed,
            model_path,
        )
    return model_path
