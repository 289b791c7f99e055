"""Load and fault checks of ``tinct serve`` on 127.0.0.1, with figures for
docs/results/serve.md.

Every phase runs a real server process (``python -m tinct serve``) and real HTTP clients
(httpx, one thread per participant or request), bounded in count and time:

1. study load: N participants at once, each answering M items (GET next, GET the image,
   POST the answer): answers/s, p50/p95 latency per request kind, rows written vs. N x M;
2. fault: the same with the server killed (SIGKILL) half-way; every answer acknowledged
   before the kill must be in the database while the server is down, and after a restart
   the participants finish with exactly N x M rows;
3. colourise: 20 concurrent POST /v1/colourise of one photo, with a queue that holds
   them all, then with a queue of 4 (the rest must get 503 + Retry-After): statuses,
   requests/s, p50/p95 latency, the server's peak RSS;
4. phases 1 and 2 again on PostgreSQL (a throw-away server from Debian's postgresql
   package; skipped, and said so, when it is not installed).

Usage (about 3 minutes on 2 cores; run it alone):
    flock /work/cpu.lock python benchmarks/bench_serve.py --out docs/results/serve.md
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the throw-away PostgreSQL server of the tests

from serve_helpers import SKIP_POSTGRES, free_port, local_postgres, postgres_bindir  # noqa: E402
from tinct.serve import make_engine  # noqa: E402
from tinct.serve.db import answers, images, participants, studies  # noqa: E402

CORPUS = Path(os.environ.get("TINCT_CORPUS", "/work/corpus"))
TIME_LIMIT_S = 120  # per phase


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass
class Server:
    """A ``tinct serve`` process."""

    database_url: str | None
    port: int
    log: Path
    workers: int = 1
    queue: int = 8
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "tinct", "serve", "--port", str(self.port),
                   "--workers", str(self.workers), "--queue", str(self.queue)]  # fmt: skip
        command += ["--database-url", self.database_url] if self.database_url else ["--no-database"]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tinct serve exited; see {self.log}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("tinct serve did not answer /healthz within 60 s")

    def peak_rss_mib(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mib(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Tally:
    """What the participants saw."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    acknowledged: set[tuple[str, str]] = field(default_factory=set)  # (session, item)
    conflicts: int = 0  # 409: committed before a kill, acknowledged only on the retry
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def participant(base: str, study: str, tally: Tally, stop_at: float) -> None:
    """One participant: a session, then next / image / answer until done. Connection
    errors (a killed server) are retried until ``stop_at``."""
    client = httpx.Client(base_url=base, timeout=30)

    def call(kind: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        while True:
            start = time.perf_counter()
            try:
                response = client.request(method, url, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > stop_at:
                    raise
                time.sleep(0.2)
                continue
            with tally.lock:
                tally.latency[kind].append(time.perf_counter() - start)
            return response

    try:
        token = call("session", "POST", f"/study/{study}/session").json()["session"]
        headers = {"X-Study-Session": token}
        rng = np.random.default_rng(int(hashlib.sha256(token.encode()).hexdigest()[:8], 16))
        while time.monotonic() < stop_at:
            state = call("next", "GET", f"/study/{study}/next", headers=headers).json()
            if state["item"] is None:
                return
            image = call("image", "GET", state["image"])
            if image.status_code != 200:
                raise RuntimeError(f"image: {image.status_code}")
            body = {
                "item": state["item"],
                "answer": "real" if rng.random() < 0.5 else "colourised",
                "response_ms": int(rng.integers(300, 3000)),
            }
            response = call("answer", "POST", f"/study/{study}/answers", json=body, headers=headers)
            with tally.lock:
                if response.status_code == 201:
                    tally.acknowledged.add((token, state["item"]))
                elif response.status_code == 409:
                    tally.conflicts += 1
                else:
                    tally.errors.append(f"answer {response.status_code}: {response.text}")
        raise TimeoutError("participant ran out of time")
    except Exception as exc:  # reported, and the phase fails
        with tally.lock:
            tally.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        client.close()


def stored_answers(database_url: str, study: str) -> set[tuple[str, str]]:
    """(session token hash, item key) of every answer in the database."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(participants.c.token_sha256, images.c.key)
                .select_from(answers)
                .join(participants, participants.c.id == answers.c.participant_id)
                .join(images, images.c.id == answers.c.image_id)
                .join(studies, studies.c.id == images.c.study_id)
                .where(studies.c.name == study)
            ).all()
    finally:
        engine.dispose()
    return {(row.token_sha256, row.key) for row in rows}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def run_participants(
    server: Server,
    study: str,
    count: int,
    on_progress: Callable[[Tally], None] | None = None,
) -> tuple[Tally, float]:
    tally = Tally()
    stop_at = time.monotonic() + TIME_LIMIT_S
    threads = [
        threading.Thread(target=participant, args=(server.base, study, tally, stop_at))
        for _ in range(count)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        if on_progress:
            on_progress(tally)
        time.sleep(0.05)
    return tally, time.perf_counter() - start


def study_phase(
    database_url: str, study: str, log: Path, n: int, m: int, kill: bool
) -> dict[str, Any]:
    """Phase 1 (``kill=False``) or 2: N participants x M items, maybe killed half-way."""
    server = Server(database_url, free_port(), log, workers=1, queue=8)
    result: dict[str, Any] = {"n": n, "m": m}
    with serving(server):
        before = len(stored_answers(database_url, study))
        killed: dict[str, Any] = {}

        def maybe_kill(tally: Tally) -> None:
            if not kill or killed or len(tally.acknowledged) < n * m // 2:
                return
            with tally.lock:
                server.kill()
                acknowledged = set(tally.acknowledged)
            stored = stored_answers(database_url, study)
            wanted = {(token_hash(t), k) for t, k in acknowledged}
            killed.update(
                acknowledged=len(acknowledged),
                stored_while_down=len(stored) - before,
                lost=len(wanted - stored),
            )
            server.start()  # same port, same database: the participants carry on

        tally, seconds = run_participants(server, study, n, maybe_kill)
    rows = len(stored_answers(database_url, study)) - before
    answered = len(tally.latency["answer"])
    result.update(
        seconds=seconds,
        rows=rows,
        expected=n * m,
        errors=tally.errors[:5],
        conflicts=tally.conflicts,
        answers_per_s=answered / seconds,
        requests_per_s=sum(len(v) for v in tally.latency.values()) / seconds,
        latency={
            kind: (percentile(v, 50) * 1000, percentile(v, 95) * 1000)
            for kind, v in tally.latency.items()
        },
        killed=killed,
    )
    return result


def colourise_phase(photo: bytes, log: Path, queue: int, concurrent: int) -> dict[str, Any]:
    server = Server(None, free_port(), log, workers=2, queue=queue)
    with serving(server):
        httpx.post(f"{server.base}/v1/colourise", files={"image": ("p.jpg", photo)}, timeout=60)
        warm_rss = server.rss_mib()
        statuses: list[int] = []
        retry_after: list[str] = []
        latencies: list[float] = []
        lock = threading.Lock()
        barrier = threading.Barrier(concurrent)

        def request() -> None:
            barrier.wait()
            start = time.perf_counter()
            response = httpx.post(
                f"{server.base}/v1/colourise", files={"image": ("p.jpg", photo)}, timeout=120
            )
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    retry_after.append(response.headers.get("retry-after", ""))

        threads = [threading.Thread(target=request) for _ in range(concurrent)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIME_LIMIT_S)
        seconds = time.perf_counter() - start
        peak = server.peak_rss_mib()
    return {
        "queue": queue,
        "concurrent": concurrent,
        "ok": statuses.count(200),
        "busy": statuses.count(503),
        "other": len(statuses) - statuses.count(200) - statuses.count(503),
        "retry_after": sorted(set(retry_after)),
        "seconds": seconds,
        "per_s": statuses.count(200) / seconds,
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "warm_rss": warm_rss,
        "peak_rss": peak,
    }


def create_study(database_url: str, name: str, real: Path, log: Path) -> float:
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TINCT_ADMIN_TOKEN": "bench"}
    with log.open("ab") as out:
        subprocess.run(
            [sys.executable, "-m", "tinct", "study", "create", name, "--real", str(real),
             "--model", "default", "--model", "zhang-cpu", "--items", "25", "-q",
             "--database-url", database_url],
            check=True, stdout=out, stderr=out, env=env, timeout=600,
        )  # fmt: skip
    return time.perf_counter() - start


def study_rows(label: str, results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in results:
        kind = "killed half-way, restarted" if r["killed"] else "load"
        lat = r["latency"]
        ok = "yes" if r["rows"] == r["expected"] and not r["errors"] else "**no**"
        lines.append(
            f"| {label} | {kind} | {r['n']} x {r['m']} | {r['rows']} / {r['expected']} | {ok} | "
            f"{r['answers_per_s']:.0f} | {r['requests_per_s']:.0f} | "
            f"{lat['answer'][0]:.0f} / {lat['answer'][1]:.0f} | "
            f"{lat['next'][0]:.0f} / {lat['next'][1]:.0f} | "
            f"{lat['image'][0]:.0f} / {lat['image'][1]:.0f} |"
        )
    return lines


def kill_rows(label: str, results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in results:
        if r["killed"]:
            k = r["killed"]
            lines.append(
                f"| {label} | {k['acknowledged']} | {k['stored_while_down']} | {k['lost']} | "
                f"{r['conflicts']} | {r['rows']} / {r['expected']} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--items", type=int, default=25)
    parser.add_argument("--scenes", type=int, default=30, help="corpus test photos used")
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="write the results page here")
    args = parser.parse_args()
    n, m = args.participants, args.items
    load_before = f"{os.getloadavg()[0]:.2f}"
    work = Path(tempfile.mkdtemp(prefix="tinct-bench-serve-"))
    log = work / "server.log"
    try:
        manifest = (CORPUS / "manifest.tsv").read_text().splitlines()[1:]
        test = [line.split("\t") for line in manifest if line.split("\t")[1] == "test"]
        real = work / "real"
        real.mkdir()
        for fields in test[: args.scenes]:
            source = CORPUS / fields[5]
            shutil.copy(source, real / f"{fields[0]}{source.suffix}")
        largest = max(test, key=lambda f: int(f[8]) * int(f[9]))
        photo = (CORPUS / largest[5]).read_bytes()
        photo_size = f"{largest[8]}x{largest[9]}"

        sqlite_url = f"sqlite:///{work / 'studies.db'}"
        created = create_study(sqlite_url, "bench", real, log)
        print(f"study created in {created:.0f} s", flush=True)
        sqlite_results = [
            study_phase(sqlite_url, "bench", log, n, m, kill=False),
            study_phase(sqlite_url, "bench", log, n, m, kill=True),
        ]
        print(sqlite_results, flush=True)
        colour = [
            colourise_phase(photo, log, queue=args.concurrent, concurrent=args.concurrent),
            colourise_phase(photo, log, queue=4, concurrent=args.concurrent),
        ]
        print(colour, flush=True)
        pg_results: list[dict[str, Any]] = []
        pg_note = ""
        if postgres_bindir() is None:
            pg_note = f"PostgreSQL: skipped ({SKIP_POSTGRES})."
        else:
            with local_postgres() as pg_url:
                create_study(pg_url, "bench", real, log)
                pg_results = [
                    study_phase(pg_url, "bench", log, n, m, kill=False),
                    study_phase(pg_url, "bench", log, n, m, kill=True),
                ]
            print(pg_results, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    page = [
        "# tinct serve: load and fault figures",
        "",
        f"Command: `{' '.join(['python', 'benchmarks/bench_serve.py', *sys.argv[1:]])}` (from "
        "the repository root, run alone: `flock /work/cpu.lock` on the shared machine).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs, "
        f"Python {platform.python_version()}; load before the run: {load_before}, after: "
        f"{os.getloadavg()[0]:.2f}. Every phase runs a real `tinct serve` process on "
        "127.0.0.1 and real HTTP clients (httpx, one thread each); the server runs one torch "
        "thread per worker (`OMP_NUM_THREADS=1`). Figures move with the machine's load; "
        "the counts (rows, statuses, lost answers) do not.",
        "",
        f"The study: {args.scenes} test photos of the offline corpus, each real and "
        "colourised by `default` and `zhang-cpu` (`tinct study create`), "
        f"{m} items per participant. Latencies are client-side, in milliseconds.",
        "",
        "## Study: participants answering at once",
        "",
        "| database | run | participants x items | rows / expected | exact | answers/s | "
        "requests/s | answer p50 / p95 | next p50 / p95 | image p50 / p95 |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        *study_rows("SQLite", sqlite_results),
        *study_rows("PostgreSQL", pg_results),
        "",
        "Each item is three requests: `GET next`, `GET` its image, `POST` the answer. The "
        "rates of the killed run include the seconds the server was down and restarting.",
        "",
        "## Killing the server mid-study",
        "",
        "The server is killed with SIGKILL once half the answers are acknowledged (HTTP "
        "201); while it is down the database is read directly, then the same server is "
        "started again and the participants (retrying) finish. An answer committed just "
        "before the kill but not acknowledged is re-sent and refused as a duplicate (409).",
        "",
        "| database | acknowledged before kill | in the database while down | acknowledged "
        "but lost | duplicates refused (409) | rows at the end / expected |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *kill_rows("SQLite", sqlite_results),
        *kill_rows("PostgreSQL", pg_results),
        "",
        "## Colourising: 20 requests at once",
        "",
        f"One corpus photo of {photo_size} pixels (JPEG, {len(photo) / 1024:.0f} KiB), model "
        "`default`, 2 workers. Peak RSS is the server process's high-water mark (VmHWM) "
        "over its life; warm is its RSS after the models are loaded and one photo done.",
        "",
        "| queue | sent at once | 200 | 503 (Retry-After) | other | requests/s | "
        "p50 / p95 latency (200s) | warm RSS MiB | peak RSS MiB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {c['queue']} | {c['concurrent']} | {c['ok']} | {c['busy']} "
            f"({', '.join(c['retry_after']) or '-'} s) | {c['other']} | {c['per_s']:.2f} | "
            f"{c['p50']:.0f} / {c['p95']:.0f} | {c['warm_rss']:.0f} | {c['peak_rss']:.0f} |"
            for c in colour
        ],
        "",
    ]
    if pg_note:
        page += [pg_note, ""]
    errors = [e for r in sqlite_results + pg_results for e in r["errors"]]
    if errors:
        page += ["Errors seen by the clients (first few):", "", *[f"- {e}" for e in errors], ""]
    text = "\n".join(page)
    print(text)
    if args.out:
        from tinct.io import write_text_atomic

        write_text_atomic(args.out, text)


if __name__ == "__main__":
    main()
