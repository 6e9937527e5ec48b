"""Open the user's graph, seeding it from the shipped ``data/seed.nq.gz`` on first use."""

from __future__ import annotations

import os
from pathlib import Path

from kg.graph import KnowledgeGraph
from kg.store import open_store

__all__ = ["open_graph", "seed_file"]


def seed_file() -> Path | None:
    """The shipped seed graph: ``METAKG_SEED`` if set, else ``data/seed.nq.gz`` beside the
    packages (a source checkout or an editable install); ``None`` when absent."""
    env = os.environ.get("METAKG_SEED")
    if env is not None:
        return Path(env) if env else None
    path = Path(__file__).resolve().parent.parent / "data" / "seed.nq.gz"
    return path if path.exists() else None


def open_graph(location: str | None = None, *, seed: bool = True, read_only: bool = False) -> KnowledgeGraph:
    """Open the graph at ``location`` (default ``METAKG_STORE`` or the user data directory).

    An empty embedded or in-memory store is loaded with the seed graph first, so
    recommendations work on a fresh install with no other step.

    Args:
        location: see :func:`kg.store.open_store`.
        seed: load the seed graph into an empty store.
        read_only: open an embedded store read-only (no seeding then).

    Raises:
        StoreLocked, StoreError: see :func:`kg.store.open_store`.
    """
    store = open_store(location, read_only=read_only)
    graph = KnowledgeGraph(store)
    if seed and not read_only and not store.shared:
        path = seed_file()
        if path is not None and len(store) == 0:
            store.load(path)
    return graph
