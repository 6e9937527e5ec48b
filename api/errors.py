"""One place that maps metakg errors to HTTP statuses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kg.errors import (
    ConfigurationError,
    InvalidData,
    MetaKGError,
    NotFound,
    QueryError,
    StoreError,
    StoreLocked,
)

__all__ = ["install_error_handlers"]


def _status(exc: MetaKGError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StoreLocked):
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
