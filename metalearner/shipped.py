"""Recommenders fitted on the seed graph, shipped beside it so that the first call is fast.

Fitting the default recommender on the seed graph takes tens of seconds, and filling a store
with that graph takes minutes; neither belongs before a new user's first recommendation. The
seed build therefore also writes, next to the seed file, the fitted default recommender and the
views it was fitted on for each primary metric, stamped with the graph they came from: the seed
file's SHA-256 and the graph's learning stamp (:func:`metakg.metalearner.cache.graph_stamp`).
They are derived data, used only while they match: a store that holds exactly the seed graph
(filled or not yet filled), the same cache format and the same recommender parameters.
Anything else (new runs, another seed, another format) fits anew, as before.
"""

from __future__ import annotations

import json
import logging
import lzma
import pickle
import warnings
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["MANIFEST", "SHIPPED_METRICS", "load_shipped", "shipped_dir", "write_shipped"]

#: The manifest's file name inside the shipped folder.
MANIFEST = "manifest.json"
#: (task type, metric) pairs shipped: the primary metric of each task kind.
SHIPPED_METRICS: tuple[tuple[str, str], ...] = (
    ("classification", "roc_auc"), ("classification", "log_loss"), ("regression", "rmse"))


def shipped_dir() -> Path | None:
    """The folder of shipped recommenders (package data ``metakg.data/seed-models``), if any."""
    import os

    env = os.environ.get("METAKG_SHIPPED_MODELS")
    if env is not None:
        return Path(env) if env else None
    try:
        path = Path(str(resources.files("metakg.data") / "seed-models"))
    except ModuleNotFoundError:
        return None
    return path if (path / MANIFEST).exists() else None


def _entry_key(task_type: str, metric: str, factory: str, params: dict[str, Any]) -> str:
    return f"{task_type}/{metric}/{factory}/{sorted(params.items())!r}"


def load_shipped(*, fmt: str, task_type: str, metric: str, factory: str, params: dict[str, Any],
                 seed_digest: str | None = None, stamp: str | None = None,
                 loaded_seed: Callable[[str], bool] | None = None,
                 mismatch: list[str] | None = None) -> tuple[Any, Any] | None:
    """The shipped (views, fitted recommender) for a graph, or ``None`` when none matches.

    Args:
        fmt: the cache format of this code; a manifest of another format does not match.
        task_type, metric, factory, params: what the caller would fit.
        seed_digest: the identity of the seed the (not yet filled) store will hold
            (:func:`kg.seed_file.seed_digest`).
        stamp: the learning stamp of a filled store; it matches only together with
            ``loaded_seed``, which says whether the store has loaded a seed file (by SHA-256).
        loaded_seed: see ``stamp``.
        mismatch: where to append :func:`library_mismatch_message` when the graph matches but
            the installed libraries do not (the caller says so if it then fits).

    Returns:
        ``(meta, recommender)``, or ``None`` (nothing shipped, a mismatch, libraries of another
        minor version than the fit's, or a file that no longer unpickles: the caller then fits).
    """
    folder = shipped_dir()
    if folder is None:
        return None
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("format") != fmt:
        return None
    digest = manifest.get("seed_sha256", "")
    if not ((seed_digest is not None and digest == seed_digest)
            or (stamp is not None and manifest.get("graph_stamp") == stamp
                and loaded_seed is not None and loaded_seed(digest))):
        return None
    if manifest.get("libraries") != _libraries():
        if mismatch is not None:
            mismatch.append(library_mismatch_message(manifest.get("libraries") or {}, _libraries()))
        return None  # fitted objects are not guaranteed across library versions: refit
    entry = manifest.get("models", {}).get(_entry_key(task_type, metric, factory, params))
    if entry is None:
        return None
    try:
        with lzma.open(folder / entry, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. scikit-learn's InconsistentVersionWarning
            return pickle.load(fh)  # written by the seed build, shipped with the code
    except Exception as exc:  # any unpickling failure means refit
        log.debug("shipped recommender %s not used: %s", entry, exc)
        return None


#: Libraries whose fitted objects the shipped files hold, compared by major.minor version.
_LIBRARIES = ("scikit-learn", "lightgbm", "numpy", "pandas")


_warned_libraries: set[str] = set()


def library_mismatch_message(fitted: dict[str, str], here: dict[str, str]) -> str:
    """Why the shipped recommenders are not used: the library versions that differ."""
    differ = sorted(lib for lib in set(fitted) | set(here) if fitted.get(lib) != here.get(lib))
    return ("the recommenders shipped with the seed were fitted with "
            + ", ".join(f"{lib} {fitted.get(lib, 'absent')}" for lib in differ)
            + "; this environment has "
            + ", ".join(f"{lib} {here.get(lib, 'absent')}" for lib in differ)
            + ", so they are not used and the recommender is fitted on the seed graph instead "
            "(once, then cached). Install those versions to use them.")


def warn_library_mismatch(message: str) -> None:
    """Say once per process why a fit replaces the shipped recommenders: a user with other
    library versions otherwise sees a slow first call and no reason for it."""
    if message not in _warned_libraries:
        _warned_libraries.add(message)
        log.warning("%s", message)


def _libraries() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for lib in _LIBRARIES:
        try:
            out[lib] = ".".join(md.version(lib).split(".")[:2])
        except md.PackageNotFoundError:
            continue
    return out


def write_shipped(folder: Path, *, fmt: str, seed_digest: str, stamp: str,
                  models: dict[tuple[str, str, str], tuple[dict[str, Any], tuple[Any, Any]]]) -> Path:
    """Write fitted recommenders and their manifest (replacing what the folder held).

    Args:
        folder: where to write (``data/seed-models`` for the shipped seed).
        fmt: the cache format of this code.
        seed_digest: the identity of the seed they were fitted on
            (:func:`kg.seed_file.seed_digest`).
        stamp: the learning stamp of a store filled with that seed.
        models: ``(task type, metric, factory name) -> (params, (meta, recommender))``.

    Returns:
        The manifest's path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.pkl.xz"):
        old.unlink()
    entries = {}
    for (task_type, metric, factory), (params, fitted) in models.items():
        name = f"{task_type}-{metric}.pkl.xz"
        with lzma.open(folder / name, "wb", preset=6) as fh:
            pickle.dump(fitted, fh, protocol=pickle.HIGHEST_PROTOCOL)
        entries[_entry_key(task_type, metric, factory, params)] = name
    manifest = {"format": fmt, "seed_sha256": seed_digest, "graph_stamp": stamp,
                "libraries": _libraries(), "models": entries}
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return path


def build_shipped(seed: Path | tuple[Path, ...], folder: Path, *, work_dir: Path) -> Path:
    """Fit the default recommender on a seed for each shipped metric and write them.

    The seed is loaded into a fresh store exactly as a user's first fill does, so the stamp
    written is the one a user's filled store will have.

    Args:
        seed: the seed file (e.g. ``data/seed.trig.xz``), or its files: the seed, then its
            extensions (``data/seed-published.trig.xz``), as :func:`kg.default_graph.seed_files`
            finds them.
        folder: where to write (``data/seed-models``).
        work_dir: an empty folder for the temporary store and cache.

    Returns:
        The manifest's path.
    """
    from metakg.kg.default_graph import load_seeds
    from metakg.kg.graph import KnowledgeGraph
    from metakg.kg.seed_file import seed_digest
    from metakg.kg.store import open_store
    from metakg.metalearner.cache import _FORMAT, cached_recommender, graph_stamp
    from metakg.metalearner.recommender import MetaRecommender

    files = (seed,) if isinstance(seed, Path) else tuple(seed)
    store = open_store(str(work_dir / "store"))
    load_seeds(store, files)
    graph = KnowledgeGraph(store)
    stamp = graph_stamp(graph)
    models = {}
    for task_type, metric in SHIPPED_METRICS:
        if not graph.has_runs(task_type=task_type, metric=metric):
            continue  # e.g. a partial seed without regression tables
        fitted = cached_recommender(graph, task_type, metric, MetaRecommender,
                                    cache_dir=work_dir / "cache")
        models[(task_type, metric, MetaRecommender.__name__)] = ({}, fitted)
    store.close()
    return write_shipped(folder, fmt=_FORMAT, seed_digest=seed_digest(files), stamp=stamp,
                         models=models)
