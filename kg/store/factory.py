"""Choose a store from a location string (``METAKG_STORE``)."""

from __future__ import annotations

import os
from pathlib import Path

from metakg.kg.store.base import Store

__all__ = ["default_store_location", "open_store"]


def default_store_location() -> str:
    """``METAKG_STORE`` if set, else ``<user data dir>/metakg/store``."""
    env = os.environ.get("METAKG_STORE")
    if env:
        return env
    from platformdirs import user_data_dir

    return str(Path(user_data_dir("metakg")) / "store")


def open_store(location: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Store:
    """Open a store.

    Args:
        location: ``memory:`` for an in-memory store, ``http(s)://...`` for a remote SPARQL
            endpoint, anything else a directory for the embedded Oxigraph store. ``None``
            uses :func:`default_store_location`.
        read_only: open an embedded store without the write lock.

    Returns:
        The opened store.

    Raises:
        StoreLocked: the embedded store is held by another process.
        StoreError: the location cannot be used.
    """
    spec = str(location) if location is not None else default_store_location()
    if spec in ("memory:", ":memory:"):
        from metakg.kg.store.local import MemoryStore

        return MemoryStore()
    if spec.startswith(("http://", "https://")):
        from metakg.kg.store.remote import SparqlEndpointStore

        return SparqlEndpointStore(spec)
    from metakg.kg.store.local import OxigraphStore

    return OxigraphStore(Path(spec).expanduser(), read_only=read_only)
