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
    NotFound,
    QueryError,
    StoreError,
    StoreLocked,
)

__all__ = ["ERROR_RESPONSES", "ErrorOut", "install_body_limit", "install_error_handlers"]

#: Characters of a refused input echoed back in a validation error (a 10,000-run batch was
#: echoed whole).
ECHO_CHARS = 200


class ErrorOut(BaseModel):
    """Every error: what is wrong, where, and how to fix it."""

    detail: str | list[dict[str, Any]]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed request body (e.g. broken multipart)"},
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key"},
    403: {"model": ErrorOut, "description": "The key's role does not allow this"},
    404: {"model": ErrorOut, "description": "No such dataset, task, configuration or run"},
    409: {"model": ErrorOut, "description": "Conflict (e.g. the store is held by another process)"},
    413: {"model": ErrorOut, "description": "The request body is larger than the server accepts"},
    422: {"model": ErrorOut, "description": "Invalid input; nothing was written"},
    503: {"model": ErrorOut, "description": "The store cannot be reached"},
}


def _status(exc: MetaKGError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StoreLocked | AlreadyRunning):
        return 409
    if isinstance(exc, InvalidData | ConfigurationError | QueryError):
        return 422
    if isinstance(exc, StoreError):
        return 503
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """404 not found, 409 conflict, 422 bad input, 503 store unavailable; body ``{"detail"}``."""

    @app.exception_handler(MetaKGError)
    async def _handle(request: Request, exc: MetaKGError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_short(e) for e in exc.errors()]}, status_code=422)


def _short(error: dict[str, Any]) -> dict[str, Any]:
    """A validation error with its ``input`` cut to :data:`ECHO_CHARS` characters."""
    out = {k: v for k, v in error.items() if k != "ctx"}  # ctx may hold exception objects
    if "input" in error:
        text = json.dumps(jsonable_encoder(error["input"]), default=str)
        if len(text) > ECHO_CHARS:
            out["input"] = f"{text[:ECHO_CHARS]}... ({len(text):,} characters)"
        else:
            out["input"] = jsonable_encoder(error["input"])
    if "ctx" in error:
        out["ctx"] = {k: str(v) for k, v in error["ctx"].items()}
    return out


def install_body_limit(app: FastAPI, max_mb: float) -> None:
    """Answer 413 to a request whose declared body is above ``max_mb`` megabytes, before it is
    read; table uploads (multipart) have their own limit (``max_upload_mb``)."""
    limit = int(max_mb * 1_000_000)

    @app.middleware("http")
    async def _limit(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length", "")
        multipart = request.headers.get("content-type", "").startswith("multipart/")
        if not multipart and length.isdigit() and int(length) > limit:
            return JSONResponse({"detail": (
                f"The request body is {int(length) / 1e6:.1f} MB; this server accepts at most "
                f"{max_mb:g} MB (METAKG_MAX_BODY_MB). Send a large batch of runs in smaller "
                "batches.")}, status_code=413)
        return await call_next(request)
