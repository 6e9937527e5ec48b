"""Service settings (pydantic-settings), from ``METAKG_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Settings of the HTTP service."""

    model_config = SettingsConfigDict(env_prefix="METAKG_")

    store: str | None = None
    public_reads: bool = False
    #: /sparql: wall-clock seconds a query may run (then 503; the evaluating worker is killed).
    sparql_timeout_s: float = 10.0
    #: /sparql: rows (or triples) returned at most; the answer says when rows were cut.
    sparql_max_rows: int = 10_000
    #: /sparql: resident memory of the process evaluating one query (embedded store).
    sparql_memory_mb: int = 1024
    #: /sparql: queries evaluated at once (the embedded store's worker processes).
    sparql_concurrency: int = 2
    #: /sparql: queries one client (API key, or address without one) may have at once.
    sparql_per_client: int = 1
    #: /sparql: seconds a query may wait for a free slot before it is answered 503.
    sparql_queue_s: float = 2.0
    #: POST /datasets and /recommendations: the largest table file accepted.
    max_upload_mb: int = 200
    #: Every other request: the largest body accepted (then 413). A batch of 10,000 runs is
    #: about 4 MB; the limit keeps one request from filling the server's memory.
    max_body_mb: float = 8.0
    #: POST /sync/mlflow: the tracking servers the server may read on a request's behalf,
    #: comma-separated ``host`` or ``host:port`` (none by default: the route refuses).
    mlflow_hosts: str = ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once (a FastAPI dependency; tests override it)."""
    return Settings()
