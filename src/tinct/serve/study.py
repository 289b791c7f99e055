"""The naturalness study of seed 004 (section 5.1.4, table 4): participants see real and
colourised photos one at a time and answer "real" or "colourised"; a model's naturalness
is the share of its images labelled real.

Everything here speaks to the database through SQLAlchemy Core (:mod:`tinct.serve.db`);
each function takes an :class:`~sqlalchemy.Engine` and runs its own transaction, so the
web app and the ``tinct study`` command share it.

- :func:`create_study`: colourise a folder of real photos with each model (through
  :func:`tinct.pipeline.cached_pipeline`) and store every version, all encoded alike.
- :func:`start_session`: a participant's list: scenes in random order, never a scene
  twice, conditions (real and each model) balanced to within one image.
- :func:`record_answer`: one transaction per answer; the database's uniqueness
  constraint refuses a second answer to the same item.
- :func:`results`: naturalness per condition with a 95 % Wilson interval.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import random
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tinct.io import iter_image_files, read_image_numpy
from tinct.io.resize import resize
from tinct.pipeline import cached_pipeline
from tinct.serve.db import answers, assignments, images, participants, studies

REAL = "real"
ANSWERS = ("real", "colourised")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: z of a two-sided 95 % interval.
Z95 = 1.959963984540054
#: Longest response time stored (an answer after an hour away is still kept, capped).
MAX_RESPONSE_MS = 3_600_000


class StudyError(Exception):
    """A study request that cannot be done; ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _now() -> datetime:
    return datetime.now(UTC)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """A study name: letters, digits, ``-`` and ``_``, at most 64 characters."""
    if not NAME_PATTERN.match(name):
        raise StudyError(
            400,
            "bad_study_name",
            f"study name {name!r} must be 1-64 letters, digits, '-' or '_' (not first)",
        )
    return name


@dataclass(frozen=True)
class Study:
    id: int
    name: str
    conditions: list[str]
    items_per_participant: int
    description: str


def get_study(engine: Engine, name: str) -> Study:
    """The study called ``name``; :class:`StudyError` 404 when there is none."""
    with engine.connect() as conn:
        row = conn.execute(select(studies).where(studies.c.name == name)).first()
    if row is None:
        raise StudyError(404, "unknown_study", f"no study called {name!r}")
    return Study(
        row.id, row.name, json.loads(row.conditions), row.items_per_participant, row.description
    )


def list_studies(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(studies.c.name).order_by(studies.c.name)).scalars())


def check_admin(engine: Engine, name: str, token: str | None) -> Study:
    """The study when ``token`` is its admin token; 401 without a token, 403 with a wrong one."""
    study = get_study(engine, name)
    if not token:
        raise StudyError(401, "admin_token_required", "this needs the study's admin token")
    with engine.connect() as conn:
        stored = conn.execute(
            select(studies.c.admin_token_sha256).where(studies.c.id == study.id)
        ).scalar_one()
    if not hmac.compare_digest(stored, _sha256(token)):
        raise StudyError(403, "bad_admin_token", "wrong admin token for this study")
    return study


def _encode_jpeg(rgb: np.ndarray) -> bytes:
    # Every version (real or not) goes through this same encoder, so file size and
    # compression artefacts do not tell them apart.
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _display_size(rgb: np.ndarray, longest: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return rgb
    return resize(rgb, max(1, round(height * scale)), max(1, round(width * scale)), shrink="area")


def create_study(
    engine: Engine,
    name: str,
    real: Path,
    models: list[str],
    *,
    admin_token: str | None = None,
    items_per_participant: int = 50,
    longest_side: int = 512,
    limit: int | None = None,
    progress: bool = False,
) -> tuple[Study, str]:
    """Colourise the photos in ``real`` with each of ``models`` and store every version.

    Each photo is shrunk to ``longest_side`` pixels, colourised from its lightness, and
    stored with the real one as JPEG of one quality. Returns the study and its admin
    token (``admin_token`` or a new random one; only its SHA-256 is stored).
    ``StudyError`` for a taken name, no photos, no or repeated models.
    """
    check_name(name)
    if not models:
        raise StudyError(400, "no_models", "a study needs at least one --model")
    if len(set(models)) != len(models):
        raise StudyError(400, "repeated_model", f"a model is named twice: {models}")
    if items_per_participant < 1:
        raise StudyError(400, "bad_items", "items per participant must be at least 1")
    if not real.is_dir():
        raise StudyError(400, "no_real_folder", f"{real} is not a folder")
    try:
        files = sorted(iter_image_files([str(real)]))
    except FileNotFoundError:
        files = []
    if limit is not None:
        files = files[:limit]
    if not files:
        raise StudyError(400, "no_real_images", f"no image files in {real}")
    with engine.connect() as conn:
        if conn.execute(select(studies.c.id).where(studies.c.name == name)).first():
            raise StudyError(409, "study_exists", f"a study called {name!r} exists already")
    try:
        pipelines = [cached_pipeline(model) for model in models]
    except (FileNotFoundError, KeyError, ValueError) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        raise StudyError(400, "bad_model", message) from None
    token = admin_token or secrets.token_urlsafe(24)
    conditions = [REAL, *models]
    rows: list[dict[str, Any]] = []
    from tqdm import tqdm

    for path in tqdm(files, desc=f"study {name}", unit="photo", disable=not progress):
        rgb = _display_size(read_image_numpy(path), longest_side)
        scene = str(Path(path).relative_to(real))
        versions = [rgb] + [p(rgb).permute(1, 2, 0).numpy() for p in pipelines]
        for condition, version in zip(conditions, versions, strict=True):
            rows.append(
                {
                    "key": secrets.token_hex(16),
                    "scene": scene,
                    "condition": condition,
                    "mime": "image/jpeg",
                    "data": _encode_jpeg(version),
                }
            )
    description = f"{len(files)} scenes from {real}; models: {', '.join(models)}"
    with engine.begin() as conn:
        try:
            study_id = conn.execute(
                insert(studies)
                .values(
                    name=name,
                    created_at=_now(),
                    admin_token_sha256=_sha256(token),
                    items_per_participant=items_per_participant,
                    conditions=json.dumps(conditions),
                    description=description,
                )
                .returning(studies.c.id)
            ).scalar_one()
        except IntegrityError:
            raise StudyError(409, "study_exists", f"a study called {name!r} exists") from None
        conn.execute(insert(images), [{**row, "study_id": study_id} for row in rows])
    return get_study(engine, name), token


def plan_session(
    scenes: dict[str, dict[str, int]], conditions: list[str], count: int, rng: random.Random
) -> list[int]:
    """Image ids for one participant: ``count`` different scenes (or all there are) in
    random order, each shown in one condition, the conditions balanced to within one
    (a random start in the cycle, so they also balance across participants).

    ``scenes`` maps a scene to its image id per condition."""
    chosen = rng.sample(sorted(scenes), min(count, len(scenes)))
    start = rng.randrange(len(conditions))
    cycle = [conditions[(start + i) % len(conditions)] for i in range(len(chosen))]
    rng.shuffle(cycle)
    return [scenes[scene][condition] for scene, condition in zip(chosen, cycle, strict=True)]


def start_session(engine: Engine, name: str) -> tuple[str, int]:
    """A new participant of study ``name``: their session token and number of items."""
    study = get_study(engine, name)
    with engine.connect() as conn:
        rows = conn.execute(
            select(images.c.id, images.c.scene, images.c.condition).where(
                images.c.study_id == study.id
            )
        ).all()
    scenes: dict[str, dict[str, int]] = {}
    for row in rows:
        scenes.setdefault(row.scene, {})[row.condition] = row.id
    plan = plan_session(
        scenes, study.conditions, study.items_per_participant, random.SystemRandom()
    )
    token = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        participant_id = conn.execute(
            insert(participants)
            .values(study_id=study.id, token_sha256=_sha256(token), created_at=_now())
            .returning(participants.c.id)
        ).scalar_one()
        conn.execute(
            insert(assignments),
            [
                {"participant_id": participant_id, "position": i, "image_id": image_id}
                for i, image_id in enumerate(plan)
            ],
        )
    return token, len(plan)


def _participant(engine: Engine, study: Study, token: str | None) -> int:
    if not token:
        raise StudyError(401, "session_required", "no study session: start one first")
    with engine.connect() as conn:
        row = conn.execute(
            select(participants.c.id, participants.c.study_id).where(
                participants.c.token_sha256 == _sha256(token)
            )
        ).first()
    if row is None or row.study_id != study.id:
        raise StudyError(401, "unknown_session", "this session does not belong to this study")
    return int(row.id)


@dataclass(frozen=True)
class NextItem:
    key: str | None  # None when every item is answered
    position: int  # answered so far
    total: int


def next_item(engine: Engine, name: str, token: str | None) -> NextItem:
    """The participant's first unanswered item (marked as served), or ``key=None``."""
    study = get_study(engine, name)
    participant_id = _participant(engine, study, token)
    answered = (
        select(answers.c.image_id).where(answers.c.participant_id == participant_id)
    ).scalar_subquery()
    with engine.begin() as conn:
        total = conn.execute(
            select(func.count()).where(assignments.c.participant_id == participant_id)
        ).scalar_one()
        done = conn.execute(
            select(func.count()).where(answers.c.participant_id == participant_id)
        ).scalar_one()
        row = conn.execute(
            select(assignments.c.id, assignments.c.served_at, images.c.key)
            .join(images, images.c.id == assignments.c.image_id)
            .where(assignments.c.participant_id == participant_id)
            .where(assignments.c.image_id.not_in(answered))
            .order_by(assignments.c.position)
            .limit(1)
        ).first()
        if row is None:
            return NextItem(None, done, total)
        if row.served_at is None:
            conn.execute(
                update(assignments).where(assignments.c.id == row.id).values(served_at=_now())
            )
    return NextItem(row.key, done, total)


def image_bytes(engine: Engine, name: str, key: str) -> tuple[bytes, str]:
    """An item's encoded image and media type; 404 when the study has no such item."""
    study = get_study(engine, name)
    with engine.connect() as conn:
        row = conn.execute(
            select(images.c.data, images.c.mime)
            .where(images.c.key == key)
            .where(images.c.study_id == study.id)
        ).first()
    if row is None:
        raise StudyError(404, "unknown_item", f"study {name!r} has no item {key!r}")
    return bytes(row.data), str(row.mime)


def record_answer(
    engine: Engine, name: str, token: str | None, key: str, answer: str, response_ms: int
) -> NextItem:
    """Store one answer in its own transaction; 403 for an item not in this session,
    409 for a second answer to an item. Returns the progress after it."""
    if answer not in ANSWERS:
        raise StudyError(422, "bad_answer", f"answer must be one of {ANSWERS}, got {answer!r}")
    if isinstance(response_ms, bool) or not 0 <= response_ms <= MAX_RESPONSE_MS:
        raise StudyError(
            422,
            "bad_response_ms",
            f"response_ms must be between 0 and {MAX_RESPONSE_MS}, got {response_ms!r}",
        )
    study = get_study(engine, name)
    participant_id = _participant(engine, study, token)
    try:
        with engine.begin() as conn:  # one transaction: the check and the answer
            image_id = conn.execute(
                select(assignments.c.image_id)
                .join(images, images.c.id == assignments.c.image_id)
                .where(assignments.c.participant_id == participant_id)
                .where(images.c.key == key)
            ).scalar()
            if image_id is None:
                raise StudyError(403, "not_your_item", f"item {key!r} is not in this session")
            conn.execute(
                insert(answers).values(
                    participant_id=participant_id,
                    image_id=image_id,
                    answer=answer,
                    answered_at=_now(),
                    response_ms=int(response_ms),
                )
            )
    except IntegrityError:
        raise StudyError(409, "already_answered", f"item {key!r} is answered already") from None
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).where(assignments.c.participant_id == participant_id)
        ).scalar_one()
        done = conn.execute(
            select(func.count()).where(answers.c.participant_id == participant_id)
        ).scalar_one()
    return NextItem(None, done, total)


def wilson_interval(real: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``real / total`` (95 % by default); (0, 1)
    with no observations."""
    if total == 0:
        return 0.0, 1.0
    p = real / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ConditionResult:
    condition: str
    answers: int
    labelled_real: int
    naturalness: float | None  # None without answers
    ci_low: float
    ci_high: float
    median_response_ms: float | None


def results(engine: Engine, name: str) -> tuple[Study, int, list[ConditionResult]]:
    """Naturalness per condition (real first, then the models as created): the study, its
    number of participants with at least one answer, and one row per condition."""
    study = get_study(engine, name)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                images.c.condition,
                answers.c.answer,
                answers.c.response_ms,
                answers.c.participant_id,
            )
            .join(images, images.c.id == answers.c.image_id)
            .where(images.c.study_id == study.id)
        ).all()
    table = []
    for condition in study.conditions:
        mine = [row for row in rows if row.condition == condition]
        real = sum(row.answer == REAL for row in mine)
        low, high = wilson_interval(real, len(mine))
        times = [row.response_ms for row in mine]
        table.append(
            ConditionResult(
                condition,
                len(mine),
                real,
                real / len(mine) if mine else None,
                low,
                high,
                float(np.median(times)) if times else None,
            )
        )
    return study, len({row.participant_id for row in rows}), table


def results_csv(table: Iterable[ConditionResult]) -> str:
    """The results table as CSV (one row per condition)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "condition",
            "answers",
            "labelled_real",
            "naturalness",
            "ci95_low",
            "ci95_high",
            "median_response_ms",
        ]
    )
    for row in table:
        writer.writerow(
            [
                row.condition,
                row.answers,
                row.labelled_real,
                "" if row.naturalness is None else f"{row.naturalness:.4f}",
                f"{row.ci_low:.4f}",
                f"{row.ci_high:.4f}",
                "" if row.median_response_ms is None else f"{row.median_response_ms:.0f}",
            ]
        )
    return out.getvalue()


def answers_csv(engine: Engine, name: str) -> str:
    """Every answer of study ``name`` as CSV: participant number, scene, condition, answer,
    time (UTC, ISO 8601) and response time."""
    study = get_study(engine, name)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                answers.c.participant_id,
                images.c.scene,
                images.c.condition,
                answers.c.answer,
                answers.c.answered_at,
                answers.c.response_ms,
            )
            .join(images, images.c.id == answers.c.image_id)
            .where(images.c.study_id == study.id)
            .order_by(answers.c.id)
        ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["participant", "scene", "condition", "answer", "answered_at", "response_ms"])
    for row in rows:
        answered_at = row.answered_at
        if answered_at.tzinfo is None:  # SQLite gives naive datetimes back; they are UTC
            answered_at = answered_at.replace(tzinfo=UTC)
        writer.writerow(
            [
                row.participant_id,
                row.scene,
                row.condition,
                row.answer,
                answered_at.isoformat(),
                row.response_ms,
            ]
        )
    return out.getvalue()
