"""The naturalness study (seed 004 section 5.1.4): creating a study, participants'
sessions, answers and their integrity, results with 95 % intervals, the database schema
and its migrations, the ``tinct study`` command; the same against PostgreSQL."""

from __future__ import annotations

import collections
import csv
import io
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy", reason="needs the serve extra: pip install 'tinct[serve]'")
pytest.importorskip("fastapi", reason="needs the serve extra: pip install 'tinct[serve]'")

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, func, select

from serve_helpers import SKIP_POSTGRES, local_postgres, postgres_bindir, write_photos
from tinct.cli import main
from tinct.serve import ServeConfig, create_app, make_engine, migrate
from tinct.serve.db import answers, images, metadata, schema_revision
from tinct.serve.study import (
    StudyError,
    create_study,
    plan_session,
    record_answer,
    start_session,
    wilson_interval,
)

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

TOKEN = "admin-secret"
SCENES = 6
MODELS = ["default", "cvae"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photos(tmp_path_factory.mktemp("real"), SCENES)


def new_study(url: str, photos: Path, name: str = "pilot", items: int = 4) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    create_study(engine, name, photos, MODELS, admin_token=TOKEN, items_per_participant=items)
    return engine


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory, photos: Path) -> Engine:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'studies.db'}"
    return new_study(url, photos)


@pytest.fixture(scope="module")
def client(sqlite_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(ServeConfig(), sqlite_engine)) as c:
        yield c


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return str(response.json()["error"]["message"])


def session(client: TestClient, name: str = "pilot") -> dict[str, str]:
    response = client.post(f"/study/{name}/session")
    assert response.status_code == 200
    return {"X-Study-Session": response.json()["session"]}


def answer_all(client: TestClient, headers: dict[str, str], choose: Any) -> list[str]:
    keys = []
    while True:
        state = client.get("/study/pilot/next", headers=headers).json()
        if state["item"] is None:
            return keys
        image = client.get(state["image"])
        assert image.headers["content-type"] == "image/jpeg"
        body = {"item": state["item"], "answer": choose(state["item"]), "response_ms": 800}
        response = client.post("/study/pilot/answers", json=body, headers=headers)
        assert response.status_code == 201, response.text
        assert response.json()["answered"] == len(keys) + 1
        keys.append(state["item"])


# --- pure parts ----------------------------------------------------------------------


@pytest.mark.parametrize(("real", "total"), [(0, 10), (3, 10), (26, 35), (50, 50), (87, 150)])
def test_wilson_interval_matches_scipy(real: int, total: int) -> None:
    from scipy.stats import binomtest

    expected = binomtest(real, total).proportion_ci(0.95, method="wilson")
    low, high = wilson_interval(real, total)
    assert low == pytest.approx(expected.low, abs=1e-9)
    assert high == pytest.approx(expected.high, abs=1e-9)


def test_plan_is_balanced_random_and_never_repeats_a_scene() -> None:
    conditions = ["real", "a", "b"]
    scenes = {f"s{i}": {c: i * 10 + j for j, c in enumerate(conditions)} for i in range(20)}
    rng = random.Random(0)
    overall: collections.Counter[str] = collections.Counter()
    orders = set()
    for _ in range(300):
        plan = plan_session(scenes, conditions, 10, rng)
        assert len(plan) == 10
        shown_scenes = [image_id // 10 for image_id in plan]
        assert len(set(shown_scenes)) == 10  # never the same scene twice
        counts = collections.Counter(conditions[image_id % 10] for image_id in plan)
        assert max(counts.values()) - min(counts.values()) <= 1  # balanced per participant
        overall.update(counts)
        orders.add(tuple(shown_scenes))
    assert len(orders) == 300  # random order
    assert max(overall.values()) - min(overall.values()) <= 0.05 * 1000  # and overall
    assert len(plan_session(scenes, conditions, 50, rng)) == 20  # no more than the scenes


# --- the database ----------------------------------------------------------------------


def test_migrations_create_the_tables_the_code_uses(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'db.sqlite'}")
    assert schema_revision(engine) is None
    migrate(engine)
    assert schema_revision(engine) == "0001"
    migrate(engine)  # up to date: nothing to do
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_bad_database_url() -> None:
    with pytest.raises(ValueError, match="cannot parse database URL 'no url'"):
        make_engine("no url")


def test_study_stores_every_version_encoded_alike(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        rows = conn.execute(
            select(images.c.scene, images.c.condition, images.c.key, images.c.data)
        ).all()
    assert len(rows) == SCENES * 3
    assert collections.Counter(r.condition for r in rows) == {"real": 6, "default": 6, "cvae": 6}
    assert len({r.key for r in rows}) == len(rows)
    for row in rows:
        image = Image.open(io.BytesIO(row.data))
        assert image.format == "JPEG"
        assert row.condition not in row.key


def test_create_refuses_bad_requests(sqlite_engine: Engine, photos: Path, tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="a study called 'pilot' exists already"):
        create_study(sqlite_engine, "pilot", photos, MODELS)
    with pytest.raises(StudyError, match="must be 1-64 letters"):
        create_study(sqlite_engine, "../x", photos, MODELS)
    with pytest.raises(StudyError, match="at least one --model"):
        create_study(sqlite_engine, "x", photos, [])
    with pytest.raises(StudyError, match="no image files"):
        create_study(sqlite_engine, "x", tmp_path, MODELS)
    with pytest.raises(StudyError, match="no model 'nope': not a bundled model"):
        create_study(sqlite_engine, "x", photos, ["nope"])


# --- the participant's side --------------------------------------------------------------


def test_participant_completes_the_study(client: TestClient) -> None:
    page = client.get("/study/pilot")
    assert page.status_code == 200 and 'data-study="pilot"' in page.text
    headers = session(client)
    keys = answer_all(client, headers, lambda key: "real")
    assert len(keys) == 4 and len(set(keys)) == 4
    done = client.get("/study/pilot/next", headers=headers).json()
    assert done == {"item": None, "image": None, "answered": 4, "total": 4}


def test_answer_refusals(client: TestClient, sqlite_engine: Engine) -> None:
    import hashlib

    from tinct.serve.db import assignments, participants, studies

    mine = session(client)
    item = client.get("/study/pilot/next", headers=mine).json()["item"]
    body = {"item": item, "answer": "real", "response_ms": 500}
    url = "/study/pilot/answers"
    message = error(client.post(url, json=body), 401, "session_required")
    assert message == "no study session: start one first"
    error(
        client.post(url, json=body, headers={"X-Study-Session": "forged"}), 401, "unknown_session"
    )
    with sqlite_engine.connect() as conn:  # an item of the study that is not in my list
        token = hashlib.sha256(mine["X-Study-Session"].encode()).hexdigest()
        me = select(participants.c.id).where(participants.c.token_sha256 == token)
        my_images = select(assignments.c.image_id).where(assignments.c.participant_id.in_(me))
        pilot = select(studies.c.id).where(studies.c.name == "pilot")
        foreign = conn.execute(
            select(images.c.key)
            .where(images.c.study_id.in_(pilot))
            .where(images.c.id.not_in(my_images))
            .limit(1)
        ).scalar_one()
    stolen = {**body, "item": foreign}
    message = error(client.post(url, json=stolen, headers=mine), 403, "not_your_item")
    assert message == f"item {foreign!r} is not in this session"
    assert client.post(url, json=body, headers=mine).status_code == 201
    message = error(client.post(url, json=body, headers=mine), 409, "already_answered")
    assert message == f"item {item!r} is answered already"
    bad = client.post(url, json={**body, "answer": "maybe"}, headers=mine)
    assert error(bad, 422, "invalid_option").startswith("answer: Input should be 'real'")
    slow = client.post(url, json={**body, "response_ms": -1}, headers=mine)
    assert error(slow, 422, "invalid_option").startswith("response_ms:")
    assert error(client.post("/study/nope/session"), 404, "unknown_study") == (
        "no study called 'nope'"
    )
    assert error(client.get("/study/pilot/images/0123"), 404, "unknown_item")


def test_session_of_one_study_is_refused_by_another(
    client: TestClient, sqlite_engine: Engine, photos: Path
) -> None:
    create_study(sqlite_engine, "other", photos, ["default"], admin_token=TOKEN)
    foreign = session(client, "other")
    error(client.get("/study/pilot/next", headers=foreign), 401, "unknown_session")


def test_concurrent_participants_lose_and_duplicate_nothing(
    sqlite_engine: Engine, photos: Path
) -> None:
    """8 participants answer at once, each also re-sending every answer: exactly one row
    per participant and item."""
    create_study(sqlite_engine, "crowd", photos, MODELS, admin_token=TOKEN, items_per_participant=5)
    tokens = [start_session(sqlite_engine, "crowd")[0] for _ in range(8)]
    from tinct.serve.study import next_item

    statuses: list[int] = []
    lock = threading.Lock()

    def participant(token: str) -> None:
        while (item := next_item(sqlite_engine, "crowd", token)).key is not None:
            for _ in range(2):  # a double click
                try:
                    record_answer(sqlite_engine, "crowd", token, item.key, "colourised", 10)
                    status = 201
                except StudyError as exc:
                    status = exc.status
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=participant, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert collections.Counter(statuses) == {201: 40, 409: 40}
    with sqlite_engine.connect() as conn:
        rows = conn.execute(
            select(func.count())
            .select_from(answers.join(images, images.c.id == answers.c.image_id))
            .where(images.c.scene != "")
            .where(answers.c.response_ms == 10)
        ).scalar_one()
    assert rows == 40


# --- results -----------------------------------------------------------------------------


def test_results_need_the_admin_token_and_count_answers(
    client: TestClient, sqlite_engine: Engine
) -> None:
    url = "/study/pilot/results"
    assert (
        error(client.get(url), 401, "admin_token_required") == "this needs the study's admin token"
    )
    assert error(client.get(url, params={"token": "wrong"}), 403, "bad_admin_token")
    assert error(client.get("/study/pilot/answers.csv"), 401, "admin_token_required")
    data = client.get(url, params={"format": "json"}, headers={"X-Admin-Token": TOKEN}).json()
    with sqlite_engine.connect() as conn:
        stored = conn.execute(
            select(images.c.condition, answers.c.answer)
            .join(images, images.c.id == answers.c.image_id)
            .where(images.c.study_id == 1)
        ).all()
    assert [row["condition"] for row in data["conditions"]] == ["real", *MODELS]
    for row in data["conditions"]:
        mine = [a for c, a in stored if c == row["condition"]]
        assert row["answers"] == len(mine)
        assert row["labelled_real"] == mine.count("real")
        if mine:
            assert row["naturalness"] == pytest.approx(mine.count("real") / len(mine))
            assert row["ci95"] == pytest.approx(
                list(wilson_interval(mine.count("real"), len(mine)))
            )
    table = client.get(url, params={"format": "csv", "token": TOKEN})
    assert table.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["answers"]) for r in parsed] == [r["answers"] for r in data["conditions"]]
    page = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.headers["content-type"].startswith("text/html")
    assert f"<td>{data['conditions'][0]['answers']}</td>" in page.text
    every = client.get("/study/pilot/answers.csv", params={"token": TOKEN}).text
    rows = list(csv.DictReader(io.StringIO(every)))
    assert len(rows) == len(stored)
    assert {r["answer"] for r in rows} <= {"real", "colourised"}
    assert all(r["answered_at"].endswith("+00:00") for r in rows)


# --- the command -------------------------------------------------------------------------


def test_study_command(tmp_path: Path, photos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    code = main(["study", "create", "cli", "--real", str(photos), "--model", "default",
                 "--limit", "2", "--items", "2", "--database-url", url])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "admin token (shown once" in out
    assert main(["study", "create", "cli", "--real", str(photos), "--model", "default",
                 "--database-url", url]) == 2  # fmt: skip
    assert "a study called 'cli' exists already" in capsys.readouterr().err
    assert main(["study", "create", "x", "--real", str(photos), "--model", "nope",
                 "--database-url", url]) == 2  # fmt: skip
    assert "nope" in capsys.readouterr().err
    engine = make_engine(url)
    token, _ = start_session(engine, "cli")
    from tinct.serve.study import next_item

    item = next_item(engine, "cli", token)
    assert item.key is not None
    record_answer(engine, "cli", token, item.key, "real", 1200)
    target = tmp_path / "out" / "table.csv"
    assert main(["study", "results", "cli", "--csv", str(target), "--database-url", url]) == 0
    printed = capsys.readouterr().out
    assert "participant(s)" in printed and "real" in printed
    rows = list(csv.DictReader(target.open()))
    assert sum(int(r["answers"]) for r in rows) == 1
    assert main(["study", "results", "cli", "--csv", str(target), "--database-url", url]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["study", "list", "--database-url", url]) == 0
    assert capsys.readouterr().out.split() == ["cli"]
    assert main(["study", "results", "nope", "--database-url", url]) == 2
    assert "no study called 'nope'" in capsys.readouterr().err


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(postgres_bindir() is None, reason=SKIP_POSTGRES)
def test_postgresql_study(photos: Path) -> None:
    """The whole flow on a throw-away PostgreSQL server: schema, sessions, concurrent
    answers, duplicate refusal, results."""
    pytest.importorskip("psycopg", reason="needs psycopg (the serve extra)")
    with local_postgres() as url:
        engine = new_study(url, photos, items=3)
        assert schema_revision(engine) == "0001"
        with TestClient(create_app(ServeConfig(), engine)) as client:
            heads = [session(client) for _ in range(4)]
            threads = [
                threading.Thread(target=answer_all, args=(client, h, lambda key: "colourised"))
                for h in heads
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            item = client.get("/study/pilot/next", headers=heads[0]).json()
            assert item["answered"] == 3 and item["item"] is None
            data = client.get(
                "/study/pilot/results", params={"format": "json", "token": TOKEN}
            ).json()
        assert sum(row["answers"] for row in data["conditions"]) == 12
        assert all(row["labelled_real"] == 0 for row in data["conditions"])
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(answers)).scalar_one() == 12
        engine.dispose()
