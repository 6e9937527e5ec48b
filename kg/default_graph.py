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

__all__ = ["EXTENSION_PATTERN", "SEED_NAME", "SeededGraph", "load_seed", "load_seeds",
           "open_graph", "seed_file", "seed_files", "store_saw_seed", "with_extensions"]

#: File name of the shipped seed graph (package data ``metakg.data``).
SEED_NAME = "seed.trig.xz"
#: Seed extensions shipped beside it (runs of more configurations on the same tasks, e.g.
#: ``seed-published.trig.xz``), loaded after it in name order.
EXTENSION_PATTERN = "seed-*.trig.xz"


def with_extensions(seed: Path) -> tuple[Path, ...]:
    """A seed file and the extensions beside it (:data:`EXTENSION_PATTERN`, in name order),
    as an install loads them.

    Args:
        seed: the seed file.

    Returns:
        ``seed`` first, then its extensions.
    """
    return (seed, *(p for p in sorted(seed.parent.glob(EXTENSION_PATTERN)) if p != seed))


def seed_files() -> tuple[Path, ...]:
    """The seed graph's files a store is filled with.

    Returns:
        ``METAKG_SEED``'s paths when it is set (separated by ``os.pathsep``; empty: none),
        used exactly as given; else the package's ``metakg/data/seed.trig.xz`` and its
        extensions (:func:`with_extensions`); empty when there is none.

    Raises:
        ConfigurationError: ``METAKG_SEED`` names a file that does not exist.
    """
    env = os.environ.get("METAKG_SEED")
    if env is not None:
        paths = tuple(Path(p) for p in env.split(os.pathsep) if p)
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            from metakg.kg.errors import ConfigurationError

            raise ConfigurationError(
                f"METAKG_SEED names {', '.join(missing)}, which is not a file; give the seed "
                f"file and its extensions separated by {os.pathsep!r}, or set METAKG_SEED to "
                "empty for no seed.")
        return paths
    try:
        folder = Path(str(resources.files("metakg.data")))
    except ModuleNotFoundError:
        return ()
    return with_extensions(folder / SEED_NAME) if (folder / SEED_NAME).exists() else ()


def no_runs_advice() -> str:
    """What to do about a graph with no runs to learn from, in this environment's terms.

    Returns:
        One sentence: unset an empty ``METAKG_SEED``, import the seed file (by its full path),
        or build the seed graph, or log runs.
    """
    from metakg.kg.errors import ConfigurationError

    if os.environ.get("METAKG_SEED") == "":
        return ("METAKG_SEED is set to empty, so the store was not filled with the seed graph: "
                "unset it (or point it at a seed file), or log runs first.")
    try:
        seed = seed_file()
    except ConfigurationError:  # METAKG_SEED names a missing file: no seed to point at
        seed = None
    if seed is None:
        return "build the seed graph (`metakg seed build`) or log runs first."
    return f"load the seed graph (`metakg import {seed.resolve()}`) or log runs first."


def seed_file() -> Path | None:
    """The seed graph's main file (:func:`seed_files`' first), ``None`` when there is none."""
    files = seed_files()
    return files[0] if files else None


class SeededGraph(KnowledgeGraph):
    """A graph whose store is filled with the seed graph the first time the store is used.

    Reading :attr:`store` fills it (once, thread-safe; other threads wait); :attr:`seed_pending`
    and :attr:`holds_runs` tell, without filling, whether that is still to come and whether
    the store has runs of its own.

    Args:
        store: the back-end.
        pending: the seed's files still to load (the seed, then its extensions), or ``None``.
        holds_runs: whether the store already held runs when opened.
        progress: show a progress bar while filling (on a terminal).
    """

    def __init__(self, store: Store, *, pending: tuple[Path, ...] | None = None,
                 holds_runs: bool = True, progress: bool = True) -> None:
        self._pending = tuple(pending) if pending else None
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
    def seed_pending(self) -> tuple[Path, ...] | None:
        """The seed's files not loaded yet (``None`` once loaded, or with no seed)."""
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
                load_seeds(self._store, self._pending, progress=self._progress)
            except Exception as exc:  # recorded: later users get this error, not a second load
                self._fill_error = exc
                raise
            self._pending = None
            self._holds_runs = True


def open_graph(location: str | None = None, *, seed: bool = True, read_only: bool = False,
               progress: bool = True) -> KnowledgeGraph:
    """Open the graph at ``location`` (default ``METAKG_STORE`` or the user data directory).

    An empty embedded or in-memory store is filled with the shipped seed graph on first use
    (see :class:`SeededGraph`), so recommendations work on a fresh install with no other step,
    and a store filled with an earlier seed gets this one's new files (a grown seed reaches
    existing stores). A store that holds runs but was never filled with a seed (built with
    ``METAKG_SEED`` empty, or a build's work store) is left as it is. Filling is idempotent:
    quads already there are not duplicated, and an interrupted fill resumes.

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
    paths = seed_files()
    if all(_has_seen(store, p) for p in paths) and _has_seen_together(store, paths):
        migrate_once(store)
        return KnowledgeGraph(store)
    holds_runs = store.ask("ASK { ?r a mls:Run }")
    if holds_runs and not store_saw_seed(store):
        migrate_once(store)  # a graph built without the seed: it stays so
        return KnowledgeGraph(store)
    return SeededGraph(store, pending=paths, holds_runs=holds_runs, progress=progress)


def store_saw_seed(store: Store) -> bool:
    """Whether a seed graph was ever loaded into the store, or began to be: a fill marker
    (written before each file loads since this layout, after all of them before), or the seed
    build's own runs (a fill an older version left unfinished)."""
    return store.ask("""ASK { { ?s mkg:seedingStarted ?f } UNION { ?s mkg:seededFromFile ?f }
                              UNION { ?s mkg:seededFrom ?h } UNION { ?r mkg:source "seed" } }""")


def _has_seen(store: Store, path: Path) -> bool:
    from metakg.kg.seed_file import file_signature

    return store.ask("ASK { ?s mkg:seededFromFile ?f }", {"f": file_signature(path)})


def _has_seen_together(store: Store, paths: tuple[Path, ...]) -> bool:
    """Whether the store holds the several files as one seed (the combined marker that
    shipped recommenders match); true for a single file."""
    from metakg.kg.seed_file import file_signature

    if len(paths) < 2:
        return True
    together = "+".join(file_signature(p) for p in paths)
    return store.ask("ASK { ?s mkg:seededFromFile ?f }", {"f": together})


def load_seed(store: Store, path: Path, *, progress: bool = True) -> None:
    """Load one seed file into ``store`` (:func:`load_seeds` with that file alone)."""
    load_seeds(store, (path,), progress=progress)


def load_seeds(store: Store, paths: tuple[Path, ...], *, progress: bool = True) -> None:
    """Load a seed's files (the seed, then its extensions) into ``store``, each unless it
    holds it already, then migrate once and mark them.

    Args:
        store: the store to fill.
        paths: the seed files (``.trig.xz``, or any RDF file ``metakg import`` reads).
        progress: show a progress bar (on a terminal; one line otherwise).

    Raises:
        InvalidData: a file is not valid RDF.
        StoreError: the store could not be written.
    """
    from pyoxigraph import DefaultGraph, Literal, Quad

    from metakg.kg.seed_file import file_digest, file_signature, seed_digest
    from metakg.kg.vocabulary import MKG, entity

    this = entity("store", "this")
    markers = []
    # nothing a migration step changes (runs, configurations) is there yet: keys or datasets
    # registered before the first fill do not count
    fresh = not store.ask("ASK { { ?x a mls:Run } UNION { ?x a mkg:Configuration } }")
    loaded = False
    for path in paths:
        digest = file_digest(path)
        markers += [Quad(this, MKG.seededFromFile, Literal(file_signature(path)), DefaultGraph()),
                    Quad(this, MKG.seededFrom, Literal(digest), DefaultGraph())]
        if store.ask("ASK { ?s mkg:seededFrom ?h }", {"h": digest}):
            continue
        # written first: a fill interrupted part-way is still a seeded store, which resumes
        store.add([Quad(this, MKG.seedingStarted, Literal(file_signature(path)), DefaultGraph())])
        _load_file(store, path, progress)
        loaded = True
    if len(paths) > 1:  # the whole seed's identity, which shipped recommenders are stamped with
        together = "+".join(file_signature(p) for p in paths)
        markers += [Quad(this, MKG.seededFrom, Literal(seed_digest(paths)), DefaultGraph()),
                    Quad(this, MKG.seededFromFile, Literal(together), DefaultGraph())]
    if loaded:
        from metakg.kg.progress import spinner

        # A seed records its layout (kg.migrations.version_marker). Loaded into a fresh store,
        # the store holds that layout and needs only the later steps (each step can take tens
        # of seconds on the seed graph); loaded beside other runs, every step runs.
        with spinner("bringing the store to the current layout", progress):
            if fresh:
                migrate_once(store)
            else:
                migrate(store)
        markers.append(version_marker())
    # written last: an interrupted load has no marker and is repeated
    store.add(markers)


def _load_file(store: Store, path: Path, progress: bool) -> None:
    """Stream one seed file into the store, with a progress bar."""
    from metakg.kg.errors import InvalidData
    from metakg.kg.progress import progress_bar
    from metakg.kg.seed_file import open_seed, seed_format

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
