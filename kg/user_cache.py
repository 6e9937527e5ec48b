"""Where metakg keeps what it can rebuild: run indexes, fitted recommenders, prepared data."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``METAKG_CACHE`` if set, else the user cache directory (``~/.cache/metakg`` on Linux)."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("METAKG_CACHE") or user_cache_dir("metakg"))
