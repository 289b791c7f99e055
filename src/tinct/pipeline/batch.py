"""Batch jobs over image files: which inputs, where their outputs go, and the loop that
colourises them without ever losing a photo.

- :func:`collect_inputs`: files, folders and globs to the files to colourise, each with
  the folder it was found in; missing names, unreadable entries (FIFOs, devices, link
  loops) and earlier outputs are set apart, and an output folder inside an input folder
  is not scanned.
- :func:`plan_outputs`: where each output goes; refuses (``ValueError``) any output that
  would replace an input, and sets apart inputs whose outputs already exist (a rerun
  resumes an interrupted job).
- :func:`colourise_files`: decodes in a background worker, colourises, writes each file
  atomically (so only complete files exist), keeps EXIF/ICC/DPI, and reports what was
  written, skipped and left when interrupted.
- :func:`parse_shard`, :func:`shard_index`, :meth:`Plan.shard`: the deterministic share
  of a job one worker of N does (by a hash of each input's name, so every worker of the
  same command, on any machine, agrees without talking to the others).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from tinct.io import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    ImageMetadata,
    ImageReadError,
    find_image_files,
    is_colour,
    read_image_with_metadata,
    write_image,
)
from tinct.models import AUX_MAP_NAMES
from tinct.pipeline.core import ColourisePipeline

#: What the decoding worker hands over: (index, image or None, metadata, error reason).
Decoded = tuple[int, np.ndarray | None, ImageMetadata | None, str]

#: Output formats an input keeps; others (e.g. GIF) are written as PNG.
KEPT_FORMATS = ("png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp")


def output_path(
    src: Path, out_dir: Path | None, root: Path | None, suffix: str, ext: str | None
) -> Path:
    """Where the colourised version of ``src`` goes.

    Next to the input as ``<name><suffix>.<ext>`` without ``out_dir``; inside
    ``out_dir`` (keeping the sub-folders below ``root``) as ``<name>.<ext>`` with it.
    Videos (:data:`tinct.io.VIDEO_EXTENSIONS`) keep their container, whatever ``ext``.
    """
    video = src.suffix.lower() in VIDEO_EXTENSIONS
    extension = src.suffix.lower().lstrip(".") if video else ext or src.suffix.lower().lstrip(".")
    if not video and extension not in KEPT_FORMATS:
        extension = "png"  # e.g. GIF input: write a lossless PNG
    if out_dir is None:
        return src.with_name(f"{src.stem}{suffix}.{extension}")
    relative = (
        src.relative_to(root) if root is not None and src.is_relative_to(root) else Path(src.name)
    )
    return out_dir / relative.with_suffix(f".{extension}")


def sample_path(dest: Path, index: int) -> Path:
    """Where sample ``index`` (from 1) of the output ``dest`` goes: ``<stem>_<index><ext>``."""
    return dest.with_name(f"{dest.stem}_{index}{dest.suffix}")


def aux_path(dest: Path, name: str) -> Path:
    """Where the auxiliary map ``name`` (e.g. ``"saliency"``) of the output ``dest`` goes:
    ``<stem>_<name>.png`` beside it (a lossless grey PNG, whatever the output's format)."""
    return dest.with_name(f"{dest.stem}_{name}.png")


def output_files(dest: Path, samples: int | None, aux: Sequence[str] = ()) -> list[Path]:
    """The files one input produces: ``dest``, or its ``samples`` numbered siblings, and
    the auxiliary maps named in ``aux`` (:func:`aux_path`)."""
    colour = [dest] if samples is None else [sample_path(dest, i) for i in range(1, samples + 1)]
    return colour + [aux_path(dest, name) for name in aux]


@dataclass
class Inputs:
    """What :func:`collect_inputs` found: ``files`` with the folder each came from (or
    ``None`` when named directly), names that match nothing (``missing``), and entries
    that cannot be read as files, with reasons (``skipped``)."""

    files: list[tuple[Path, Path | None]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:  # e.g. a link loop: not ours to follow
        return False


def _same_dir(a: Path, b: Path | None) -> bool:
    try:
        return b is not None and a.resolve() == b.resolve()
    except OSError:
        return False


def collect_inputs(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    suffix: str = "_colour",
    videos: bool = False,
) -> Inputs:
    """The files to colourise for command-line style ``inputs`` (files, folders, globs).

    Duplicates are dropped (first mention wins). Files found inside ``out_dir`` are left
    out when it lies inside an input folder (earlier outputs are never colourised
    again), and so are earlier outputs next to their inputs when writing there
    (``<name><suffix>.<ext>``, ``<name><suffix>_<n>.<ext>`` and auxiliary maps
    ``<name><suffix>_saliency.png`` found in folders or globs; a file named explicitly is
    always taken). ``videos``: folders and globs yield
    video files (:data:`tinct.io.VIDEO_EXTENSIONS`) too.
    """
    extensions = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS if videos else IMAGE_EXTENSIONS
    out = Path(out_dir) if out_dir is not None else None
    aux = "|".join(re.escape(name) for name in AUX_MAP_NAMES)
    earlier = re.compile(re.escape(suffix) + rf"(_\d+)?(_(?:{aux}))?$") if suffix else None
    found = Inputs()
    seen: set[Path] = set()
    for item in inputs:
        name = os.fspath(item)
        try:
            result = find_image_files([name], extensions=extensions)
        except FileNotFoundError:
            found.missing.append(name)
            continue
        if not result.files and not result.skipped:
            found.missing.append(name)
            continue
        found.skipped.extend(result.skipped)
        root = Path(name) if Path(name).is_dir() else None
        named = root is None and Path(name).exists()
        # An output folder strictly inside a scanned folder holds earlier outputs; the
        # same folder is left in, for plan_outputs to refuse.
        skip_out = out is not None and not named and not _same_dir(out, root)
        for path in result.files:
            if path in seen:
                continue
            if skip_out and out is not None and _inside(path, out):
                continue  # an earlier output inside the scanned folder
            if out is None and not named and earlier and earlier.search(path.stem):
                continue  # an earlier output written next to its input
            seen.add(path)
            found.files.append((path, root))
    return found


@dataclass
class Plan:
    """What :func:`plan_outputs` decided: ``(input, output)`` pairs to do, and those whose
    outputs exist already (``done``; not redone without ``overwrite``). ``keys``: each
    input's shard key (:func:`shard_key`)."""

    todo: list[tuple[Path, Path]] = field(default_factory=list)
    done: list[tuple[Path, Path]] = field(default_factory=list)
    keys: dict[Path, str] = field(default_factory=dict)

    def shard(self, index: int, count: int) -> Plan:
        """The part of this plan worker ``index`` of ``count`` does (:func:`shard_index`);
        the shards of 0..count-1 partition the plan."""
        check_shard(index, count)

        def mine(pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
            return [(s, d) for s, d in pairs if shard_index(self.keys[s], count) == index]

        return Plan(todo=mine(self.todo), done=mine(self.done), keys=self.keys)


def shard_key(path: Path, root: Path | None) -> str:
    """The name an input is sharded by: its path below the folder it was found in, or the
    path as named on the command line; the same on every machine running the same
    command, whatever its working folder or mount point under that folder."""
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return path.as_posix()


def shard_index(key: str, count: int) -> int:
    """Which of ``count`` shards the input named ``key`` belongs to: the first 8 bytes of
    its SHA-256 modulo ``count``. Stable when files are added to or removed from the job,
    so a rerun over a grown folder gives the old files to the same workers."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count


def check_shard(index: int, count: int) -> None:
    """``ValueError`` unless ``0 <= index < count``."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard must be I/N with 0 <= I < N, got {index}/{count}")


#: Environment variables giving a worker's rank and the number of workers, in the order
#: they are tried: torchrun (and other torch.distributed launchers), SLURM array jobs,
#: SLURM tasks (srun), Open MPI.
SHARD_ENVIRONMENTS = (
    ("RANK", "WORLD_SIZE"),
    ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"),
    ("SLURM_PROCID", "SLURM_NTASKS"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
)


def parse_shard(text: str, environ: dict[str, str] | None = None) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)``; ``"auto"`` reads the rank and world size a launcher set
    (:data:`SHARD_ENVIRONMENTS`; a SLURM array must start at 0). ``ValueError`` naming
    the problem otherwise."""
    env = dict(os.environ) if environ is None else environ
    if text == "auto":
        for rank, size in SHARD_ENVIRONMENTS:
            if rank in env and size in env:
                index, count = _int(env[rank], rank), _int(env[size], size)
                break
        else:
            names = ", ".join(f"{r}/{s}" for r, s in SHARD_ENVIRONMENTS)
            raise ValueError(f"--shard auto found no launcher's rank variables ({names})")
    else:
        index_text, sep, count_text = text.partition("/")
        if not sep:
            raise ValueError(f"--shard must look like I/N (e.g. 0/4) or 'auto', got {text!r}")
        index, count = _int(index_text, "--shard I"), _int(count_text, "--shard N")
    check_shard(index, count)
    return index, count


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be an integer, got {text!r}") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def plan_outputs(
    files: Sequence[tuple[Path, Path | None]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    suffix: str = "_colour",
    ext: str | None = None,
    samples: int | None = None,
    overwrite: bool = False,
    aux: Sequence[str] = (),
    out_file: str | os.PathLike[str] | None = None,
) -> Plan:
    """Output paths of ``files`` (``(path, root)`` pairs of :func:`collect_inputs`).

    ``out_file``: the one output file of a single input (``tinct colourise photo.jpg -o
    photo_colour.png``), instead of a path made from the input's name; its suffix is the
    format, so it must be an image one for an image and a video one for a video.

    Raises ``ValueError`` naming the first input whose output would replace an input
    file (e.g. ``-o`` set to the input folder, or an empty ``suffix`` next to the
    inputs), or two inputs writing the same output; nothing is written then. Inputs whose
    every output exists go to ``done`` unless ``overwrite``; the writes are atomic, so an
    existing output is a complete one. ``aux``: auxiliary maps written beside each output
    (:func:`aux_path`), planned and checked like the outputs.
    """
    out = Path(out_dir) if out_dir is not None else None
    if out_file is not None:
        _check_out_file(Path(out_file), files, out, ext)
    inputs = {p.resolve() for p, _ in files}
    plan = Plan()
    claimed: dict[Path, Path] = {}
    for path, root in files:
        dest = Path(out_file) if out_file is not None else output_path(path, out, root, suffix, ext)
        for target in output_files(dest, samples, aux):
            resolved = target.resolve()
            if resolved in inputs or _same_file(target, path):
                raise ValueError(
                    f"the output {target} would replace the input {path}; choose another "
                    "--output folder (or keep the default, which writes <name>_colour.<ext>)"
                )
            if resolved in claimed:
                raise ValueError(
                    f"{claimed[resolved]} and {path} would both be written to {target}; "
                    "use --format to keep their extensions apart or colourise them separately"
                )
            claimed[resolved] = path
        exists = all(t.is_file() for t in output_files(dest, samples, aux))
        (plan.done if exists and not overwrite else plan.todo).append((path, dest))
        plan.keys[path] = shard_key(path, root)
    return plan


def is_output_file(output: str | os.PathLike[str] | None) -> bool:
    """Whether an ``--output`` names a file rather than a folder: it is not an existing
    folder and ends in an image or video suffix (``out.png``, ``film.mp4``)."""
    if output is None:
        return False
    path = Path(output)
    suffix = path.suffix.lower()
    return not path.is_dir() and (suffix in IMAGE_EXTENSIONS or suffix in VIDEO_EXTENSIONS)


def _check_out_file(
    out_file: Path, files: Sequence[tuple[Path, Path | None]], out_dir: Path | None, ext: str | None
) -> None:
    """``ValueError`` unless ``out_file`` can be the one output of ``files``."""
    if out_dir is not None:
        raise ValueError("give an output folder or an output file, not both")
    if not files:
        return
    if len(files) > 1:
        raise ValueError(
            f"the output {out_file} is a file, which holds one colourisation, but there are "
            f"{len(files)} inputs; give a folder for several (e.g. -o {out_file.parent / 'out'})"
        )
    src = files[0][0]
    suffix = out_file.suffix.lower()
    video = src.suffix.lower() in VIDEO_EXTENSIONS
    if video != (suffix in VIDEO_EXTENSIONS):
        kind = "a video" if video else "an image"
        raise ValueError(f"the output {out_file} needs {kind} suffix for the input {src}")
    if not video and suffix.lstrip(".") not in KEPT_FORMATS:
        raise ValueError(
            f"the output {out_file} has a suffix tinct does not write; use one of "
            + ", ".join(f".{f}" for f in KEPT_FORMATS)
        )

    def canonical(name: str) -> str:
        name = name.lower().lstrip(".")
        return {"jpeg": "jpg", "tif": "tiff"}.get(name, name)

    if ext is not None and canonical(suffix) != canonical(ext):
        raise ValueError(f"--format {ext} and the output file {out_file} disagree; drop one")


@dataclass
class BatchResult:
    """Outcome of :func:`colourise_files`: written files, skipped inputs with reasons,
    and whether (and with how many inputs left) the run was interrupted."""

    written: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    interrupted: bool = False
    remaining: int = 0


class _DecodeDataset(Dataset[Decoded]):
    """Decodes images in DataLoader workers so decoding overlaps the model's compute."""

    def __init__(self, files: Sequence[Path], max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        self.files = list(files)
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Decoded:
        try:
            image, metadata = read_image_with_metadata(
                self.files[index], max_pixels=self.max_pixels
            )
            return index, image, metadata, ""
        except ImageReadError as err:
            return index, None, None, err.reason


def _first(batch: list[Decoded]) -> Decoded:
    return batch[0]


def iter_decoded(
    files: Sequence[Path],
    *,
    workers: int = 1,
    prefetch: int = 2,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Iterator[tuple[Path, np.ndarray | None, ImageMetadata | None, str]]:
    """Yields ``(path, image or None, metadata, error reason)`` in order, decoding
    ``prefetch`` ahead in ``workers`` processes (0: in this one); images of more than
    ``max_pixels`` pixels (None: no limit) are refused from their header."""
    dataset = _DecodeDataset(files, max_pixels)
    if workers <= 0:
        for i in range(len(dataset)):
            index, image, metadata, reason = dataset[i]
            yield files[index], image, metadata, reason
        return
    loader = DataLoader(
        dataset, batch_size=1, num_workers=workers, collate_fn=_first, prefetch_factor=prefetch
    )
    for index, image, metadata, reason in loader:
        yield files[index], image, metadata, reason


#: Why a colour input is skipped (``allow_colour=False``).
COLOUR_REASON = "already in colour (--allow-colour colourises it anyway, from its lightness)"


def colourise_files(
    files: Sequence[Path],
    pipeline: ColourisePipeline,
    *,
    out_dir: Path | None = None,
    roots: Sequence[Path | None] | None = None,
    dests: Sequence[Path] | None = None,
    suffix: str = "_colour",
    ext: str | None = None,
    quality: int = 95,
    subsampling: str = "4:2:0",
    workers: int = 1,
    progress: bool = True,
    samples: int | None = None,
    seed: int | None = None,
    allow_colour: bool = True,
    keep_metadata: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    save_aux: bool = False,
) -> BatchResult:
    """Colourise many files; unreadable ones are skipped and reported, never fatal.

    Outputs go to ``dests[i]`` when given (e.g. from :func:`plan_outputs`), else to
    :func:`output_path` of ``files[i]`` (``roots[i]`` is the folder it was found in, whose
    sub-folders are mirrored inside ``out_dir``). ``quality`` and ``subsampling`` are
    :func:`tinct.io.write_image`'s. Each file is written atomically, with the input's
    EXIF (orientation reset), ICC profile and DPI unless ``keep_metadata`` is false.
    ``allow_colour=False`` skips inputs that already carry colour
    (:func:`tinct.io.is_colour`). Inputs of more than ``max_pixels`` pixels (``None``: no
    limit) are skipped as likely decompression bombs.

    ``samples``: with a model that can sample, write that many colourisations of each
    input, ``<name>_1.<ext>`` ... ``<name>_N.<ext>`` (after the suffix when writing next
    to the inputs: ``photo_colour_1.jpg``), each at the input's resolution; ``seed``
    makes them reproducible (every file's samples are drawn from a generator seeded with
    it). Either with a model that cannot sample raises ``ValueError`` before any work.

    ``save_aux``: also write the model's auxiliary maps (:attr:`Colouriser.aux_maps`, e.g.
    seed 003's saliency and edge maps) as grey PNGs of the input's size beside each
    output (:func:`aux_path`); a model without any raises ``ValueError`` before any work.

    Ctrl-C (``KeyboardInterrupt``) stops after the file being written is complete or
    removed; the result then has ``interrupted`` set and ``remaining`` inputs.
    """
    for name, values in (("roots", roots), ("dests", dests)):
        if values is not None and len(values) != len(files):
            raise ValueError(f"got {len(values)} {name} for {len(files)} files")
    if samples is not None or seed is not None:
        pipeline.check_sampling()
        if samples is not None and samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
    if save_aux:
        if samples is not None or seed is not None:
            raise ValueError("auxiliary maps are for one colourisation per input, not samples")
        pipeline.check_aux()
    root_of = dict(zip(files, roots, strict=True)) if roots is not None else {}
    dest_of = dict(zip(files, dests, strict=True)) if dests is not None else {}
    result = BatchResult()
    bar = tqdm(total=len(files), desc="colourising", unit="img", disable=not progress)
    # A worker process only pays off when there is a next file to decode meanwhile.
    workers = workers if len(files) > 1 else 0
    done = 0
    try:
        for path, image, metadata, reason in iter_decoded(
            files, workers=workers, max_pixels=max_pixels
        ):
            if image is None:
                result.skipped.append((path, reason))
            elif not allow_colour and is_colour(image):
                result.skipped.append((path, COLOUR_REASON))
            else:
                dest = dest_of.get(path) or output_path(
                    path, out_dir, root_of.get(path), suffix, ext
                )
                keep = metadata if keep_metadata else None
                _write_outputs(
                    result, pipeline, path, image, dest, samples, seed, keep, quality,
                    subsampling, save_aux,
                )  # fmt: skip
            done += 1
            bar.update(1)
    except KeyboardInterrupt:
        result.interrupted = True
        result.remaining = len(files) - done
    finally:
        bar.close()
    return result


def _write_outputs(
    result: BatchResult,
    pipeline: ColourisePipeline,
    path: Path,
    image: np.ndarray,
    dest: Path,
    samples: int | None,
    seed: int | None,
    metadata: ImageMetadata | None,
    quality: int,
    subsampling: str,
    save_aux: bool = False,
) -> None:
    options = {
        "quality": quality,
        "subsampling": subsampling,
        "metadata": metadata,
        "strip_metadata": metadata is None,
    }
    try:
        if save_aux:
            colour, maps = pipeline.colourise_with_aux(image)
            write_image(dest, colour, **options)  # type: ignore[arg-type]
            result.written.append((path, dest))
            for name, grey in maps.items():
                target = aux_path(dest, name)
                write_image(target, grey)
                result.written.append((path, target))
            return
        if samples is None and seed is None:
            write_image(dest, pipeline(image), **options)  # type: ignore[arg-type]
            result.written.append((path, dest))
            return
        outputs = pipeline.samples(image, samples or 1, seed=seed)
        for i, colour in enumerate(outputs, start=1):
            target = dest if samples is None else sample_path(dest, i)
            write_image(target, colour, **options)  # type: ignore[arg-type]
            result.written.append((path, target))
    except (OSError, ValueError) as err:
        result.skipped.append((path, f"could not write {dest}: {err}"))
