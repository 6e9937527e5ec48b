"""Open the user's graph, seeding it from the shipped ``data/seed.nq.gz`` on first use."""

from __future__ import annotations

import os
from pathlib import Path

from metakg.kg.graph import KnowledgeGraph
from metakg.kg.migrations import SCHEMA_VERSION, migrate, migrate_once, version_marker
from metakg.kg.store import Store, open_store

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

    An embedded or in-memory store is loaded with the shipped seed graph if it has not seen
    this version of it (a marker records the file's hash), so recommendations work on a
    fresh install with no other step, and a grown seed reaches existing stores. Loading is
    idempotent: quads already there are not duplicated, and an interrupted load resumes.

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
        if path is not None:
            _load_seed(store, path)
        migrate_once(store)
    return graph


def _load_seed(store: Store, path: Path) -> None:
    import hashlib

    from pyoxigraph import DefaultGraph, Literal, Quad

    from metakg.kg.vocabulary import MKG, entity

    # Hashing the 55 MB file costs ~0.1 s a call, so a file whose path, size and
    # modification time were already seen is taken as the same file.
    st = path.stat()
    signature = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    seen = Quad(entity("store", "this"), MKG.seededFromFile, Literal(signature), DefaultGraph())
    if store.ask("ASK { ?s mkg:seededFromFile ?f }", {"f": signature}):
        return
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    marker = Quad(entity("store", "this"), MKG.seededFrom, Literal(digest), DefaultGraph())
    if store.ask("ASK { ?s mkg:seededFrom ?h }", {"h": digest}):
        store.add([seen])
        return
    import sys

    print(f"metakg: loading the seed graph {path.name} into the store (once)...", file=sys.stderr)
    was_empty = len(store) == 0
    store.load(path)
    # A seed exported by `metakg seed build` records its layout (kg.migrations.version_marker):
    # loaded into an empty store, that is the store's layout. Otherwise the file or the store
    # may predate the current layout: migrate (about 10 s on the seed graph).
    if not (was_empty and store.ask("ASK { ?s mkg:schemaVersion ?v }", {"v": SCHEMA_VERSION})):
        migrate(store)
    # the store is now current: the marker spares open_graph a second migration
    store.add([marker, seen, version_marker()])
