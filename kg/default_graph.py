"""Open the user's graph, filled from the shipped seed graph the first time it is needed.

A fresh install must answer its first recommendation quickly, and loading the seed graph into
the embedded store takes minutes. So :func:`open_graph` does not load it up front: the graph it
returns fills its store on first use (a query, a write, a fit), with a progress bar, while a
recommender shipped with the seed (:mod:`metakg.metalearner.shipped`) answers recommendations
for a store that holds nothing else without touching it.
"""

from __future__ import annotations

import gzip
import lzma
import os
import threading
from importlib import resources
from pathlib import Path

from metakg.kg.errors import StoreError
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.migrations import migrate, migrate_once, version_marker
from metakg.kg.store import Store, open_store

__all__ = ["SEED_NAME", "SeededGraph", "open_graph", "seed_file"]

#: File name of the shipped seed graph (package data ``metakg.data``).
SEED_NAME = "seed.trig.xz"


def seed_file() -> Path | None:
    """The shipped seed graph: ``METAKG_SEED`` if set (empty: none), else the package's
    ``metakg/data/seed.trig.xz``; ``None`` when absent."""
    env = os.environ.get("METAKG_SEED")
    if env is not None:
        return Path(env) if env else None
    try:
        folder = Path(str(resources.files("metakg.data")))
    except ModuleNotFoundError:
        return None
    return folder / SEED_NAME if (folder / SEED_NAME).exists() else None


class SeededGraph(KnowledgeGraph):
    """A graph whose store is filled with the seed graph the first time the store is used.

    Reading :attr:`store` fills it (once, thread-safe; other threads wait); :attr:`seed_pending`
    and :attr:`holds_runs` tell, without filling, whether that is still to come and whether
    the store has runs of its own.

    Args:
        store: the back-end.
        pending: the seed file still to load, or ``None``.
        holds_runs: whether the store already held runs when opened.
        progress: show a progress bar while filling (on a terminal).
    """

    def __init__(self, store: Store, *, pending: Path | None = None, holds_runs: bool = True,
                 progress: bool = True) -> None:
        self._pending = pending
        self._holds_runs = holds_runs
        self._progress = progress
        self._fill_lock = threading.Lock()
        self._fill_error: Exception | None = None
        super().__init__(store)

    @property
    def store(self) -> Store:  # type: ignore[override]
        """The store, filled with the seed graph first if that is still pending."""
        if self._fill_error is not None:
            raise StoreError(f"Loading the seed graph into the store failed ({self._fill_error}); fix the "
                             "cause and open the store again (the load resumes).")
        if self._pending is not None:
            self.fill()
        return self._store

    @store.setter
    def store(self, value: Store) -> None:
        self._store = value

    @property
    def seed_pending(self) -> Path | None:
        """The seed file not loaded yet (``None`` once loaded, or with no seed)."""
        return self._pending

    def __repr__(self) -> str:
        return f"SeededGraph({self._store!r}, pending={self._pending})"

    def close(self) -> None:
        """Release the store without filling it first."""
        self._store.close()

    @property
    def holds_runs(self) -> bool:
        """Whether the store held runs of its own when it was opened."""
        return self._holds_runs

    def fill(self) -> None:
        """Load the pending seed graph now (a no-op when nothing is pending).

        Raises:
            InvalidData: the seed file is not valid RDF.
            StoreError: the store could not be written.
        """
        with self._fill_lock:
            if self._pending is None:
                return
            try:
                load_seed(self._store, self._pending, progress=self._progress)
            except Exception as exc:  # recorded: later users get this error, not a second load
                self._fill_error = exc
                raise
            self._pending = None
            self._holds_runs = True


def open_graph(location: str | None = None, *, seed: bool = True, read_only: bool = False,
               progress: bool = True) -> KnowledgeGraph:
    """Open the graph at ``location`` (default ``METAKG_STORE`` or the user data directory).

    An embedded or in-memory store that has not seen this version of the shipped seed graph
    is filled with it on first use (see :class:`SeededGraph`), so recommendations work on a
    fresh install with no other step and a grown seed reaches existing stores. Filling is
    idempotent: quads already there are not duplicated, and an interrupted fill resumes.

    Args:
        location: see :func:`metakg.kg.store.open_store`.
        seed: fill the store with the seed graph when it has not seen it.
        read_only: open an embedded store read-only (never filled then).
        progress: show a progress bar while filling.

    Raises:
        StoreLocked, StoreError: see :func:`metakg.kg.store.open_store`.
    """
    store = open_store(location, read_only=read_only)
    if not seed or read_only or store.shared:
        return KnowledgeGraph(store)
    path = seed_file()
    if path is None or _has_seen(store, path):
        migrate_once(store)
        return KnowledgeGraph(store)
    holds_runs = store.ask("ASK { ?r a mls:Run }")
    return SeededGraph(store, pending=path, holds_runs=holds_runs, progress=progress)


def _has_seen(store: Store, path: Path) -> bool:
    from metakg.kg.seed_file import file_signature

    return store.ask("ASK { ?s mkg:seededFromFile ?f }", {"f": file_signature(path)})


def load_seed(store: Store, path: Path, *, progress: bool = True) -> None:
    """Load a seed file into ``store`` unless it holds it already, then migrate and mark it.

    Args:
        store: the store to fill.
        path: the seed file (``.trig.xz``, or any RDF file ``metakg import`` reads).
        progress: show a progress bar (on a terminal; one line otherwise).

    Raises:
        InvalidData: the file is not valid RDF.
        StoreError: the store could not be written.
    """
    from pyoxigraph import DefaultGraph, Literal, Quad

    from metakg.kg.errors import InvalidData
    from metakg.kg.progress import progress_bar, spinner
    from metakg.kg.seed_file import file_digest, file_signature, open_seed, seed_format
    from metakg.kg.vocabulary import MKG, entity

    this = entity("store", "this")
    seen = Quad(this, MKG.seededFromFile, Literal(file_signature(path)), DefaultGraph())
    digest = file_digest(path)
    marker = Quad(this, MKG.seededFrom, Literal(digest), DefaultGraph())
    if store.ask("ASK { ?s mkg:seededFrom ?h }", {"h": digest}):
        store.add([seen])
        return
    # nothing a migration step changes (runs, configurations) is there yet: keys or datasets
    # registered before the first fill do not count
    fresh = not store.ask("ASK { { ?x a mls:Run } UNION { ?x a mkg:Configuration } }")
    size = path.stat().st_size
    with progress_bar(f"loading the seed graph {path.name} into the store (once)", size,
                       progress) as advance:
        try:
            if hasattr(store, "load_stream"):
                with open_seed(path, advance) as fh:
                    store.load_stream(fh, seed_format(path))
            else:
                store.load(path)
        except (SyntaxError, EOFError, lzma.LZMAError, gzip.BadGzipFile) as exc:
            raise InvalidData(f"{path}: not valid RDF or a damaged file ({exc}); reinstall metakg or "
                              "point METAKG_SEED at a good seed file.") from None
    # A seed records its layout (kg.migrations.version_marker). Loaded into a fresh store,
    # the store holds that layout and needs only the later steps (each step can take tens of
    # seconds on the seed graph); loaded beside other runs, every step runs.
    with spinner("bringing the store to the current layout", progress):
        if fresh:
            migrate_once(store)
        else:
            migrate(store)
    # written last: an interrupted load has no marker and is repeated
    store.add([marker, seen, version_marker()])
