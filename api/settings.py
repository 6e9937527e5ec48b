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
    sparql_timeout_s: float = 10.0
    sparql_max_rows: int = 10_000
    max_upload_mb: int = 200


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once (a FastAPI dependency; tests override it)."""
    return Settings()
