"""``tinct serve`` (the HTTP API, web page and study) and ``tinct study`` (create a
naturalness study, read its results)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tinct.cli._common import EXIT_OK, add_command, fail, positive_int, show_progress

SERVE_EXAMPLES = """
tinct serve                          # http://127.0.0.1:8000, studies in ~/.tinct/studies.db
tinct serve --host 0.0.0.0 --port 8080 --workers 2 --queue 16
tinct serve --database-url postgresql://tinct@localhost/tinct
"""

STUDY_EXAMPLES = """
tinct study create pilot --real photos/ --model default --model zhang-cpu
tinct study results pilot
tinct study results pilot --csv pilot.csv --answers-csv pilot-answers.csv
"""

TOKEN_ENV = "TINCT_ADMIN_TOKEN"


def _database_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database-url",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL of the study database: postgresql://user@host/db, or "
        "sqlite:///file.db (default: $TINCT_HOME/studies.db, ~/.tinct/studies.db)",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "serve",
        help="HTTP API, web page and naturalness study",
        description="Serve the colourisation API (POST /v1/colourise, GET /v1/models, "
        "GET /healthz; OpenAPI at /openapi.json and /docs), the web page at / and the "
        "naturalness studies made with 'tinct study create' at /study/NAME. Needs the "
        "serve extra: pip install 'tinct[serve]'.",
        examples=SERVE_EXAMPLES,
    )
    p.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    p.add_argument("--port", type=positive_int, default=8000, help="port (default: %(default)s)")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="colourisations running at once (default: %(default)s)",
    )
    p.add_argument(
        "--queue",
        type=int,
        default=8,
        help="requests waiting for a worker before 503 (default: %(default)s)",
    )
    p.add_argument(
        "--max-upload-mb",
        type=positive_int,
        default=20,
        help="largest upload in MiB (default: %(default)s)",
    )
    p.add_argument(
        "--max-megapixels",
        type=positive_int,
        default=40,
        help="largest image in megapixels (default: %(default)s)",
    )
    p.add_argument(
        "--formats",
        default=None,
        metavar="LIST",
        help="upload formats accepted, comma-separated Pillow names (default: "
        "JPEG,MPO,PNG,WEBP,BMP,TIFF,GIF)",
    )
    p.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="NAME[=FILE]",
        help="offer this model: a bundled name, or NAME=FILE for a trained model file "
        "(repeatable; default: every bundled model)",
    )
    _database_option(p)
    p.add_argument("--no-database", action="store_true", help="no studies, only the API")
    p.set_defaults(func=run_serve)

    study = add_command(
        sub,
        "study",
        help="naturalness studies: create one, read its results",
        description="The perceptual realism study of seed 004 (the BBC R&D master thesis, "
        "section 5.1.4): participants label photos as real or colourised; a model's "
        "naturalness is the share of its colourisations labelled real.",
        examples=STUDY_EXAMPLES,
    )
    study_sub = study.add_subparsers(dest="study_command", metavar="SUBCOMMAND", required=True)
    p = add_command(
        study_sub,
        "create",
        help="colourise real photos with each model and store every version",
        description="Create study NAME: each photo of --real (shrunk to --longest-side) is "
        "colourised from its lightness by every --model, and the real and colourised "
        "versions are stored in the database, all as JPEG of one quality. Prints the "
        f"study's admin token (or uses ${TOKEN_ENV}), needed for its results over HTTP.",
        examples=STUDY_EXAMPLES,
    )
    p.add_argument("name", help="study name: letters, digits, - and _")
    p.add_argument("--real", required=True, type=Path, help="folder of real colour photos")
    p.add_argument(
        "--model",
        action="append",
        required=True,
        help="a model to judge: bundled name or model file (repeat for each)",
    )
    p.add_argument(
        "--items",
        type=positive_int,
        default=50,
        help="photos per participant, each a different scene (default: %(default)s, as in "
        "seed 004)",
    )
    p.add_argument(
        "--longest-side",
        type=positive_int,
        default=512,
        help="photos are shown at most this many pixels wide or high (default: %(default)s)",
    )
    p.add_argument("--limit", type=positive_int, default=None, help="use only the first N photos")
    _database_option(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_create)

    p = add_command(
        study_sub,
        "results",
        help="naturalness per model with counts and 95 %% intervals",
        description="Print study NAME's naturalness per condition (share of answers 'real', "
        "with a 95 %% Wilson interval); --csv / --answers-csv export the table / every answer.",
        examples=STUDY_EXAMPLES,
    )
    p.add_argument("name", help="study name")
    p.add_argument("--csv", type=Path, default=None, help="write the table as CSV here")
    p.add_argument("--answers-csv", type=Path, default=None, help="write every answer here")
    p.add_argument("--overwrite", action="store_true", help="replace CSV files that exist")
    _database_option(p)
    p.set_defaults(func=run_results)

    p = add_command(
        study_sub,
        "list",
        help="the studies in the database",
        description="List the studies in the database.",
        examples="tinct study list",
    )
    _database_option(p)
    p.set_defaults(func=run_list)


def _missing_extra() -> str | None:
    """Why the serve extra's libraries cannot be used, or None when they can."""
    import importlib.util

    needed = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "multipart")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        return f"this needs the serve extra (pip install 'tinct[serve]'); missing: {missing}"
    return None


def _engine(args: argparse.Namespace) -> Any:
    """The study database of ``--database-url``, migrated to the newest schema."""
    from tinct.serve import default_database_url, make_engine, migrate

    engine = make_engine(args.database_url or default_database_url())
    migrate(engine)
    return engine


def _models(values: list[str] | None) -> dict[str, str]:
    models: dict[str, str] = {}
    for value in values or []:
        name, _, source = value.partition("=")
        if not name:
            raise ValueError(f"--model {value!r}: expected NAME or NAME=FILE")
        if source and not Path(source).is_file():
            raise ValueError(f"--model {value!r}: no model file {source}")
        models[name] = source or name
    return models


def run_serve(args: argparse.Namespace) -> int:
    if missing := _missing_extra():
        return fail(missing)
    from tinct.serve import ServeConfig
    from tinct.serve.server import run

    try:
        if args.queue < 0:
            raise ValueError(f"--queue must be >= 0, got {args.queue}")
        formats: dict[str, Any] = {}
        if args.formats:
            formats["formats"] = tuple(f.strip().upper() for f in args.formats.split(","))
        config = ServeConfig(
            max_upload_bytes=args.max_upload_mb * 1024 * 1024,
            max_pixels=args.max_megapixels * 1_000_000,
            workers=args.workers,
            queue=args.queue,
            models=_models(args.model),
            database_url=args.database_url,
            **formats,
        )
        for source in config.models.values():  # a bad name fails now, not at the first request
            from tinct.models import load_metadata

            load_metadata(source)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        return fail(exc)
    run(config, host=args.host, port=args.port, database=not args.no_database)
    return EXIT_OK


def run_create(args: argparse.Namespace) -> int:
    if missing := _missing_extra():
        return fail(missing)
    from tinct.serve.study import StudyError, create_study

    try:
        engine = _engine(args)
        study, token = create_study(
            engine,
            args.name,
            args.real,
            args.model,
            admin_token=os.environ.get(TOKEN_ENV) or None,
            items_per_participant=args.items,
            longest_side=args.longest_side,
            limit=args.limit,
            progress=show_progress(args),
        )
    except (StudyError, ValueError, KeyError, FileNotFoundError) as exc:
        return fail(exc)
    print(f"study {study.name}: {study.description}; conditions: {', '.join(study.conditions)}")
    print(f"participants: /study/{study.name} on 'tinct serve'")
    if not os.environ.get(TOKEN_ENV):
        print(f"admin token (shown once; needed for /study/{study.name}/results): {token}")
    return EXIT_OK


def run_results(args: argparse.Namespace) -> int:
    if missing := _missing_extra():
        return fail(missing)
    from tinct.io import write_text_atomic
    from tinct.serve.study import StudyError, answers_csv, results, results_csv

    for path in (args.csv, args.answers_csv):
        if path is not None and path.exists() and not args.overwrite:
            return fail(f"{path} exists; pass --overwrite to replace it")
    try:
        engine = _engine(args)
        study, participants, table = results(engine, args.name)
    except (StudyError, ValueError) as exc:
        return fail(exc)
    print(f"study {study.name}: {study.description}; {participants} participant(s)")
    print(f"{'condition':<24} {'answers':>8} {'real':>6} {'naturalness':>12}  95 % interval")
    for row in table:
        value = "-" if row.naturalness is None else f"{row.naturalness:.3f}"
        print(
            f"{row.condition:<24} {row.answers:>8} {row.labelled_real:>6} {value:>12}  "
            f"{row.ci_low:.3f}-{row.ci_high:.3f}"
        )
    if args.csv is not None:
        write_text_atomic(args.csv, results_csv(table))
        print(f"wrote {args.csv}", file=sys.stderr)
    if args.answers_csv is not None:
        write_text_atomic(args.answers_csv, answers_csv(engine, args.name))
        print(f"wrote {args.answers_csv}", file=sys.stderr)
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    if missing := _missing_extra():
        return fail(missing)
    from tinct.serve.study import list_studies

    try:
        names = list_studies(_engine(args))
    except ValueError as exc:
        return fail(exc)
    for name in names:
        print(name)
    return EXIT_OK
