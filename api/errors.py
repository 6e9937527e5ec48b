"""One place that maps metakg errors to HTTP statuses."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from metakg.kg.errors import (
    AlreadyRunning,
    ConfigurationError,
    InvalidData,
    MetaKGError,
    NameTaken,
    NotFound,
    QueryError,
    StoreError,
    StoreLocked,
    UpstreamError,
)

__all__ = ["ERROR_RESPONSES", "BodyLimit", "ErrorOut", "install_error_handlers"]

#: Characters of a refused input echoed back in a validation error: enough to recognise it,
#: not the whole body again.
ECHO_CHARS = 200
#: Seconds a client is told to wait (``Retry-After``) when the same long operation is under way.
RETRY_AFTER_S = 5


class ErrorOut(BaseModel):
    """Every error: what is wrong, where, and how to fix it."""

    detail: str | list[dict[str, Any]]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed request body (e.g. broken multipart)"},
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key"},
    403: {"model": ErrorOut, "description": "The key's role does not allow this"},
    404: {"model": ErrorOut, "description": "No such dataset, task, configuration or run"},
    409: {"model": ErrorOut, "description": "Conflict (the store is held by another process, a name is taken)"},
    413: {"model": ErrorOut, "description": "The request body is larger than the server accepts"},
    422: {"model": ErrorOut, "description": "Invalid input; nothing was written"},
    502: {"model": ErrorOut, "description": "An MLflow tracking server or OpenML could not be reached or refused"},
    503: {"model": ErrorOut, "description": "The store cannot be reached"},
}


def _status(exc: MetaKGError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StoreLocked | AlreadyRunning | NameTaken):
        return 409
    if isinstance(exc, InvalidData | ConfigurationError | QueryError):
        return 422
    if isinstance(exc, UpstreamError):
        return 502
    if isinstance(exc, StoreError):
        return 503
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """404 not found, 409 conflict, 422 bad input, 502 MLflow or OpenML unavailable, 503 store
    unavailable; body ``{"detail"}``."""

    @app.exception_handler(MetaKGError)
    async def _handle(request: Request, exc: MetaKGError) -> JSONResponse:
        # work under way (proposals being made, a sync): say when to try again
        headers = {"Retry-After": str(RETRY_AFTER_S)} if isinstance(exc, AlreadyRunning) else None
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_short(e) for e in exc.errors()]
        unread = _unread_form_fields(request, exc.errors())
        if unread:  # say why, before the per-field list a client may parse
            errors.insert(0, {"type": "multipart_unread", "loc": ["body"], "input": None, "msg": (
                f"The form fields {', '.join(unread)} were not found in the multipart body: it "
                "was cut short, its boundary differs from the Content-Type header's, or the "
                "fields have other names. Send the table as the field 'file' and the target "
                "column as 'target', e.g. curl -F file=@table.csv -F target=y ...")})
        return JSONResponse({"detail": errors}, status_code=422)


def _unread_form_fields(request: Request, errors: Any) -> list[str]:
    """The missing fields of a multipart request that lacks its table file (none read: a body
    cut short or misnamed fields), else nothing."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return []
    missing = [str(e["loc"][-1]) for e in errors
               if e.get("type") == "missing" and len(e.get("loc", ())) == 2 and e["loc"][0] == "body"]
    return missing if "file" in missing and len(missing) == len(errors) else []


def _short(error: dict[str, Any]) -> dict[str, Any]:
    """A validation error with its ``input`` cut to :data:`ECHO_CHARS` characters."""
    out = {k: v for k, v in error.items() if k != "ctx"}  # ctx may hold exception objects
    if "input" in error:
        encoded = jsonable_encoder(error["input"])
        text = json.dumps(encoded, default=str)
        out["input"] = (f"{text[:ECHO_CHARS]}... ({len(text):,} characters)"
                        if len(text) > ECHO_CHARS else encoded)
    if "ctx" in error:
        out["ctx"] = {k: str(v) for k, v in error["ctx"].items()}
    return out


class BodyLimit:
    """ASGI middleware: a request body above its limit is answered 413, counted as it arrives
    (a chunked body declares no length), before a route reads it whole.

    Args:
        app: the application it wraps.
        max_mb: the limit of every body but a table upload's, in MiB.
        upload_mb: the limit of a table upload (``POST`` to one of ``upload_paths``); the
            route checks the file itself against it, this stops a body far above it.
        upload_paths: the routes that take a table file.
    """

    def __init__(self, app: Any, *, max_mb: float, upload_mb: float,
                 upload_paths: tuple[str, ...] = ("/datasets", "/recommendations")) -> None:
        self.app = app
        self.max_mb = max_mb
        self.upload_mb = upload_mb
        self.upload_paths = upload_paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") in self.upload_paths
        mb = self.upload_mb + 1 if upload else self.max_mb  # + the form's other fields
        limit = int(mb * 2**20)
        setting = "METAKG_MAX_UPLOAD_MB" if upload else "METAKG_MAX_BODY_MB"
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _too_large(send, mb, setting)
            return
        received = 0
        answered = False

        async def counted() -> dict[str, Any]:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request" and not answered:
                received += len(message.get("body", b""))
                if received > limit:  # answer now; the route sees the client leave
                    answered = True
                    await _too_large(send, mb, setting)
                    return {"type": "http.disconnect"}
            return message

        async def unless_answered(message: dict[str, Any]) -> None:
            if not answered:
                await send(message)

        await self.app(scope, counted, unless_answered)


async def _too_large(send: Any, mb: float, setting: str) -> None:
    body = json.dumps({"detail": (
        f"The request body is larger than this server accepts ({mb:g} MB, {setting}). Send a "
        "large batch of runs in smaller batches.")}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
