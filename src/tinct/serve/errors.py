"""One JSON shape for every error the service answers, and the handlers that make it.

Body: ``{"error": {"code": "...", "message": "...", "field": "..."}}`` (``field`` only
for a bad option). Every refusal of bad input is a 4xx in this shape; a full worker
queue is a 503 with ``Retry-After``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinct.serve.inference import PoolFull, UploadError
from tinct.serve.study import StudyError

#: Seconds a client is told to wait when the queue is full.
RETRY_AFTER_S = 2


class ApiError(Exception):
    """An error answered as ``status`` with the JSON error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _response(
    status: int, code: str, message: str, field: str | None = None, headers: Any = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "upload_too_large",
}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON body."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _response(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(UploadError)
    async def upload_error(_: Request, exc: UploadError) -> JSONResponse:
        return _response(exc.status, exc.code, exc.message)

    @app.exception_handler(StudyError)
    async def study_error(_: Request, exc: StudyError) -> JSONResponse:
        return _response(exc.status, exc.code, exc.message)

    @app.exception_handler(PoolFull)
    async def pool_full(_: Request, exc: PoolFull) -> JSONResponse:
        return _response(
            503,
            "busy",
            "every worker is busy and the queue is full; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
        field = location[-1] if location else None
        if first.get("type") == "missing":
            message = f"{field} is required"
        else:
            message = f"{field}: {first.get('msg', 'invalid value')}"
        return _response(422, "invalid_option", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return _response(exc.status_code, code, str(exc.detail), headers=exc.headers)


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body over ``limit(path)`` bytes gets 413 before it is
    read whole (from Content-Length, or while streaming when there is none)."""

    def __init__(self, app: ASGIApp, limit: Any) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit: int = self.limit(scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        message = f"the request body is over the limit of {limit} bytes"
        if length is not None and length.isdigit() and int(length) > limit:
            await _response(413, "upload_too_large", message)(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return event

        async def tracking_send(event: Message) -> None:
            nonlocal started
            if exceeded:  # the app's own answer to the cut-off body is replaced by 413
                return
            if event["type"] == "http.response.start":
                started = True
            await send(event)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, limited_receive, tracking_send)
        if exceeded and not started:
            await _response(413, "upload_too_large", message)(scope, receive, send)
