"""The FastAPI application of ``tinct serve``: the colourisation API, the web page and the
naturalness study (see ``docs/serve.md``).

API (OpenAPI description at ``/openapi.json``, browsable at ``/docs``):

- ``POST /v1/colourise``: multipart ``image`` plus options -> the colourised image, or a
  zip of several samples;
- ``GET /v1/models``: the models offered and what each can do;
- ``GET /healthz``: liveness, models and queue.

Study (seed 004 section 5.1.4): ``GET /study/NAME`` (the participant's page),
``POST /study/NAME/session``, ``GET /study/NAME/next``, ``GET /study/NAME/images/KEY``,
``POST /study/NAME/answers``, and with the study's admin token ``GET /study/NAME/results``
(HTML, JSON or CSV) and ``GET /study/NAME/answers.csv``.
"""

from __future__ import annotations

import html
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, Header, Query, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from tinct.models import BUNDLED, list_bundled
from tinct.pipeline import MAX_SIZE, cached_pipeline
from tinct.serve import study as studies
from tinct.serve.config import OUTPUT_FORMATS, ServeConfig
from tinct.serve.errors import ApiError, BodyLimit, install
from tinct.serve.inference import Job, WorkerPool, colourise_upload, sniff, zip_samples

STATIC = Path(str(resources.files("tinct") / "serve" / "static"))
#: Body allowance beyond the image for the form fields and multipart framing.
FORM_SLACK = 64 * 1024
#: Largest body of the other routes (study answers are a few hundred bytes).
SMALL_BODY = 64 * 1024


AdminHeader = Annotated[str | None, Header(description="the study's admin token")]


class ModelInfo(BaseModel):
    name: str
    description: str
    input_size: int = Field(description="model resolution in pixels (square side)")
    supports_temperature: bool
    supports_sampling: bool


class Health(BaseModel):
    status: Literal["ok"]
    models: list[str]
    workers: int
    queue_capacity: int
    in_flight: int
    database: bool


class SessionStarted(BaseModel):
    session: str = Field(description="send it back as the X-Study-Session header")
    total: int


class Progress(BaseModel):
    item: str | None = Field(description="the next item's key; null when all are answered")
    image: str | None = Field(description="URL of the next item's image")
    answered: int
    total: int


class Answer(BaseModel):
    item: str = Field(max_length=64)
    answer: Literal["real", "colourised"]
    response_ms: int = Field(ge=0, le=studies.MAX_RESPONSE_MS)


class ConditionRow(BaseModel):
    condition: str
    answers: int
    labelled_real: int
    naturalness: float | None
    ci95: tuple[float, float]
    median_response_ms: float | None


class StudyResults(BaseModel):
    study: str
    participants: int
    conditions: list[ConditionRow]


class ModelTable:
    """The models offered: name -> bundled name or model file, capabilities loaded once."""

    def __init__(self, models: dict[str, str]) -> None:
        self.sources = models or {name: name for name in list_bundled()}
        self._info: dict[str, ModelInfo] = {}
        self._lock = threading.Lock()

    def source(self, name: str) -> str:
        if name not in self.sources:
            raise ApiError(
                422,
                "invalid_option",
                f"model: unknown model {name!r}; offered: {', '.join(self.sources)}",
                field="model",
            )
        return self.sources[name]

    def info(self, name: str) -> ModelInfo:
        with self._lock:
            if name not in self._info:
                model = cached_pipeline(self.source(name)).model
                bundled = BUNDLED.get(self.sources[name])
                self._info[name] = ModelInfo(
                    name=name,
                    description=bundled.description if bundled else self.sources[name],
                    input_size=model.input_size,
                    supports_temperature=model.supports_temperature,
                    supports_sampling=model.supports_sampling,
                )
            return self._info[name]


def _stem(filename: str | None) -> str:
    stem = Path(filename or "image").stem
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:64]
    return safe or "image"


def _admin_token(header: str | None, authorization: str | None, query: str | None) -> str | None:
    if header:
        return header
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return query


def create_app(config: ServeConfig | None = None, engine: Engine | None = None) -> FastAPI:
    """The service: ``config`` its limits and models, ``engine`` the study database (the
    study routes answer 503 without one)."""
    config = config or ServeConfig()
    models = ModelTable(dict(config.models))
    pool = WorkerPool(config.workers, config.queue)
    formats = {f.upper() for f in config.formats}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        pool.shutdown()

    app = FastAPI(
        title="tinct",
        summary="Automatic image colourisation, and a naturalness study of colourisations",
        version=_version(),
        lifespan=lifespan,
    )
    install(app)
    app.add_middleware(
        BodyLimit,
        limit=lambda path: (
            config.max_upload_bytes + FORM_SLACK if path == "/v1/colourise" else SMALL_BODY
        ),
    )
    app.state.pool = pool
    app.state.models = models
    app.state.config = config
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def database() -> Engine:
        if engine is None:
            raise ApiError(503, "no_database", "this server was started without a database")
        return engine

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/healthz", response_model=Health, tags=["service"])
    def healthz() -> Health:
        """Liveness: the models offered and how busy the worker pool is."""
        return Health(
            status="ok",
            models=list(models.sources),
            workers=pool.workers,
            queue_capacity=pool.capacity - pool.workers,
            in_flight=pool.in_flight,
            database=engine is not None,
        )

    @app.get("/v1/models", response_model=list[ModelInfo], tags=["colourise"])
    def list_models() -> list[ModelInfo]:
        """The models offered, with their resolution and options."""
        return [models.info(name) for name in models.sources]

    @app.post(
        "/v1/colourise",
        tags=["colourise"],
        responses={
            200: {
                "content": {**{m: {} for m in OUTPUT_FORMATS.values()}, "application/zip": {}},
                "description": "the colourised image (the input's size), or a zip of samples",
            },
            413: {"description": "upload or image too large"},
            415: {"description": "not an image, or a format not accepted"},
            422: {"description": "a bad option (the body names the field)"},
            503: {"description": "queue full (Retry-After)"},
        },
    )
    async def colourise(
        image: Annotated[UploadFile, File(description="the photo (JPEG, PNG, WebP...)")],
        model: Annotated[str, Form(description="a name from /v1/models")] = "default",
        size: Annotated[
            int | None, Form(ge=1, le=MAX_SIZE, description="model resolution, pixels")
        ] = None,
        temperature: Annotated[
            float | None,
            Form(
                gt=0,
                le=10,
                allow_inf_nan=False,
                description="annealed-mean temperature (classification models)",
            ),
        ] = None,
        saturation: Annotated[
            float, Form(ge=0, le=10, allow_inf_nan=False, description="chroma scale")
        ] = 1.0,
        samples: Annotated[
            int | None,
            Form(ge=1, description="several colourisations (models that sample): a zip"),
        ] = None,
        seed: Annotated[
            int | None, Form(ge=0, le=2**63 - 1, description="reproducible sampling")
        ] = None,
        format: Annotated[
            Literal["png", "jpeg", "webp"], Form(description="output image format")
        ] = "png",
    ) -> Response:
        """Colourise one photo: the result has the photo's size and lightness."""
        if samples is not None and samples > config.max_samples:
            raise ApiError(
                422,
                "invalid_option",
                f"samples: at most {config.max_samples} per request, got {samples}",
                field="samples",
            )
        source = models.source(model)
        info = models.info(model)
        if temperature is not None and not info.supports_temperature:
            raise ApiError(
                422,
                "invalid_option",
                f"temperature: model {model!r} has no temperature (classification models do)",
                field="temperature",
            )
        if (samples is not None or seed is not None) and not info.supports_sampling:
            raise ApiError(
                422,
                "invalid_option",
                f"samples: model {model!r} gives one colourisation; sampling needs e.g. cvae",
                field="samples" if samples is not None else "seed",
            )
        if size is not None and size < cached_pipeline(source).model.input_multiple:
            multiple = cached_pipeline(source).model.input_multiple
            raise ApiError(
                422,
                "invalid_option",
                f"size: at least {multiple} pixels for model {model!r}, got {size}",
                field="size",
            )
        data = await image.read(config.max_upload_bytes + 1)
        if len(data) > config.max_upload_bytes:
            raise ApiError(
                413,
                "upload_too_large",
                f"the image is over the limit of {config.max_upload_bytes} bytes",
            )
        fmt, width, height = sniff(data)
        if fmt not in formats:
            raise ApiError(
                415,
                "unsupported_format",
                f"{fmt} images are not accepted; accepted: {', '.join(sorted(formats))}",
            )
        if width * height > config.max_pixels:
            raise ApiError(
                413,
                "too_many_pixels",
                f"the image is {width}x{height} = {width * height} pixels, over the limit "
                f"of {config.max_pixels}",
            )
        job = Job(source, size, temperature, saturation, samples, seed, format)
        outputs = await pool.run(colourise_upload, data, job, config.max_pixels)
        stem = _stem(image.filename)
        if samples is not None and samples > 1:
            return Response(
                zip_samples(outputs, f"{stem}_colour", format),
                media_type="application/zip",
                headers={"Content-Disposition": f'attachment; filename="{stem}_colour.zip"'},
            )
        ext = "jpg" if format == "jpeg" else format
        return Response(
            outputs[0],
            media_type=OUTPUT_FORMATS[format],
            headers={"Content-Disposition": f'inline; filename="{stem}_colour.{ext}"'},
        )

    # --- the study -------------------------------------------------------------------

    @app.get("/study/{name}", include_in_schema=False)
    def study_page(name: str) -> HTMLResponse:
        study = studies.get_study(database(), name)
        page = (STATIC / "study.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("{{STUDY}}", html.escape(study.name)))

    @app.post("/study/{name}/session", response_model=SessionStarted, tags=["study"])
    def start_session(name: str) -> SessionStarted:
        """A new participant: their session token and number of items."""
        token, total = studies.start_session(database(), name)
        return SessionStarted(session=token, total=total)

    def progress(name: str, item: studies.NextItem) -> Progress:
        url = f"/study/{name}/images/{item.key}" if item.key else None
        return Progress(item=item.key, image=url, answered=item.position, total=item.total)

    @app.get("/study/{name}/next", response_model=Progress, tags=["study"])
    def next_item(name: str, x_study_session: Annotated[str | None, Header()] = None) -> Progress:
        """The participant's next unanswered item."""
        return progress(name, studies.next_item(database(), name, x_study_session))

    @app.get("/study/{name}/images/{key}", tags=["study"])
    def study_image(name: str, key: str) -> Response:
        """An item's image (its key says nothing of whether it is real)."""
        data, mime = studies.image_bytes(database(), name, key)
        return Response(data, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/study/{name}/answers", response_model=Progress, status_code=201, tags=["study"])
    def answer(
        name: str, body: Answer, x_study_session: Annotated[str | None, Header()] = None
    ) -> Progress:
        """Store one answer (once per item); returns the progress after it."""
        done = studies.record_answer(
            database(), name, x_study_session, body.item, body.answer, body.response_ms
        )
        return progress(name, done)

    @app.get(
        "/study/{name}/results",
        tags=["study"],
        responses={200: {"content": {"text/html": {}, "application/json": {}, "text/csv": {}}}},
    )
    def results(
        name: str,
        x_admin_token: AdminHeader = None,
        authorization: Annotated[str | None, Header()] = None,
        token: Annotated[str | None, Query(description="admin token (or a header)")] = None,
        format: Annotated[Literal["html", "json", "csv"], Query()] = "html",
    ) -> Response:
        """Naturalness per condition (share labelled real, 95 % Wilson interval)."""
        engine_ = database()
        studies.check_admin(engine_, name, _admin_token(x_admin_token, authorization, token))
        study, participants, table = studies.results(engine_, name)
        if format == "csv":
            return Response(
                studies.results_csv(table),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}-results.csv"'},
            )
        rows = [
            ConditionRow(
                condition=r.condition,
                answers=r.answers,
                labelled_real=r.labelled_real,
                naturalness=r.naturalness,
                ci95=(r.ci_low, r.ci_high),
                median_response_ms=r.median_response_ms,
            )
            for r in table
        ]
        if format == "json":
            return JSONResponse(
                StudyResults(study=name, participants=participants, conditions=rows).model_dump()
            )
        return HTMLResponse(_results_page(study, participants, rows))

    @app.get("/study/{name}/answers.csv", tags=["study"])
    def answers_csv(
        name: str,
        x_admin_token: AdminHeader = None,
        authorization: Annotated[str | None, Header()] = None,
        token: Annotated[str | None, Query()] = None,
    ) -> Response:
        """Every answer: participant, scene, condition, answer, time, response time."""
        engine_ = database()
        studies.check_admin(engine_, name, _admin_token(x_admin_token, authorization, token))
        return Response(
            studies.answers_csv(engine_, name),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}-answers.csv"'},
        )

    return app


def _version() -> str:
    from tinct import __version__

    return __version__


def _results_page(study: studies.Study, participants: int, rows: list[ConditionRow]) -> str:
    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    body = "\n".join(
        f"<tr><th scope='row'>{html.escape(r.condition)}</th><td>{r.answers}</td>"
        f"<td>{r.labelled_real}</td><td>{pct(r.naturalness)}</td>"
        f"<td>{r.ci95[0]:.2f} – {r.ci95[1]:.2f}</td></tr>"
        for r in rows
    )
    page = (STATIC / "results.html").read_text(encoding="utf-8")
    replacements: dict[str, Any] = {
        "{{STUDY}}": html.escape(study.name),
        "{{DESCRIPTION}}": html.escape(study.description),
        "{{PARTICIPANTS}}": participants,
        "{{ROWS}}": body,
    }
    for key, value in replacements.items():
        page = page.replace(key, str(value))
    return page
