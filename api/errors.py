"""One place that maps metakg errors to HTTP statuses."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
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

__all__ = ["ERROR_RESPONSES", "ErrorOut", "install_error_handlers"]


class ErrorOut(BaseModel):
    """Every error: what is wrong, where, and how to fix it."""

    detail: str | list[dict[str, Any]]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Malformed request body (e.g. broken multipart)"},
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key"},
    403: {"model": ErrorOut, "description": "The key's role does not allow this"},
    404: {"model": ErrorOut, "description": "No such dataset, task, configuration or run"},
    409: {"model": ErrorOut, "description": "Conflict (e.g. the store is held by another process)"},
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
