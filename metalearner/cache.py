"""Fitted recommenders cached on disk per graph version, so a new process (each CLI call)
does not re-read the graph and re-fit: the second call onwards only loads a pickle.

A graph that holds exactly the shipped seed graph (or is about to be filled with it) is answered
by the recommenders shipped with the seed (:mod:`metakg.metalearner.shipped`): no fit at all."""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metakg.kg.default_graph import SeededGraph
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.progress import spinner
from metakg.kg.store.base import store_token as _token
from metakg.metalearner.knowledge import MetaData, load_metadata
from metakg.metalearner.recommenders import BaseRecommender
from metakg.metalearner.shipped import load_shipped, warn_library_mismatch

__all__ = ["cached_recommender", "graph_stamp"]

_MEMORY: OrderedDict[str, tuple[MetaData, BaseRecommender]] = OrderedDict()
_LOCAL: OrderedDict[tuple[Any, ...], tuple[MetaData, BaseRecommender]] = OrderedDict()
#: Entries kept in memory: one per (task type, metric) in use, e.g. binary, multiclass and
#: regression side by side.
_KEEP = 8


def _remember(cache: OrderedDict, key: Any, value: Any) -> Any:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _KEEP:
        cache.popitem(last=False)
    return value
#: Bump when fitted objects change shape or a recommender's defaults change, so stale
#: pickles are ignored.
_FORMAT = "27"
#: Bump when a fit changes only for graphs the shipped recommenders never see (e.g. weak runs,
#: decision 0012): pickles cached for user graphs are refitted, the shipped ones stay valid.
_FIT_RULES = "1"


def graph_stamp(graph: KnowledgeGraph) -> str:
    """A cheap version of the graph's learning data (:meth:`KnowledgeGraph.learning_stamp`)."""
    return graph.learning_stamp()


def cached_recommender(graph: KnowledgeGraph, task_type: str, metric: str,
                       factory: type[BaseRecommender], params: dict[str, Any] | None = None,
                       cache_dir: Path | None = None,
                       before_fit: Callable[[], None] | None = None) -> tuple[MetaData, BaseRecommender]:
    """(views, fitted recommender) for the graph as it is now, from memory, disk or a fit.

    Args:
        graph, task_type, metric: what to fit on.
        factory, params: the recommender class and its parameters.
        cache_dir: where pickles go (default: the user cache).
        before_fit: called only when a fit is needed (e.g. a check that raises when there is
            nothing to fit on), so a cached answer costs no extra query.
    """
    import time

    params = params or {}
    pending = graph.seed_pending if isinstance(graph, SeededGraph) else None
    if pending is not None and not graph.holds_runs:
        # the store is empty and will hold the seed graph: the seed's own recommenders apply
        shipped = _shipped_for_seed(pending, task_type, metric, factory, params)
        if shipped is not None:
            return shipped
    # an in-memory store is known by the object alone: two of them with the same counts of
    # runs are still different graphs
    location = repr(graph.store) + ("" if graph.store.persistent else f"#{_token(graph.store)}")
    # In-process: the store's own write counter is the key (free); a shared store may be
    # written by others, so its entry is trusted for a few seconds only.
    local = (_token(graph.store), graph.store.local_version, task_type, metric, factory.__name__,
             repr(sorted(params.items())), int(time.monotonic() // 5) if graph.store.shared else 0)
    if local in _LOCAL:
        _LOCAL.move_to_end(local)
        return _LOCAL[local]
    stamp = graph_stamp(graph)
    key = hashlib.sha256(f"{_FORMAT}|{_FIT_RULES}|{location}|{stamp}|{task_type}|{metric}|"
                         f"{factory.__name__}|{sorted(params.items())}".encode()).hexdigest()[:24]
    if key in _MEMORY:
        return _remember(_LOCAL, local, _MEMORY[key])
    mismatch: list[str] = []
    shipped = load_shipped(fmt=_FORMAT, task_type=task_type, metric=metric, factory=factory.__name__,
                           params=params, stamp=stamp, loaded_seed=graph.has_loaded_seed,
                           mismatch=mismatch)
    if shipped is not None:  # the graph is the shipped seed graph, unchanged
        _remember(_MEMORY, key, shipped)
        return _remember(_LOCAL, local, shipped)
    path = None
    if graph.store.persistent:
        from metakg.kg.user_cache import cache_dir as default_cache

        path = (cache_dir or default_cache()) / "recommenders" / f"{key}.pkl"
        if path.exists():
            try:
                with open(path, "rb") as fh:
                    loaded = _remember(_MEMORY, key, pickle.load(fh))
                return _remember(_LOCAL, local, loaded)
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
                path.unlink(missing_ok=True)  # stale or broken: refit below
    if before_fit is not None:
        before_fit()
    if mismatch:  # the shipped fit would have answered: say why a fit replaces it
        warn_library_mismatch(mismatch[0])
    with spinner(f"fitting the recommender for {task_type} by {metric} on the graph "
                 "(once per graph version)"):
        meta = load_metadata(graph, task_type, metric, cache=False,  # this module is the cache
                             auxiliary=True)
        rec = factory(**params).fit(meta)
    _remember(_MEMORY, key, (meta, rec))
    _remember(_LOCAL, local, (meta, rec))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump((meta, rec), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    return meta, rec


_SEED_DIGESTS: dict[str, str] = {}


def _shipped_for_seed(seed: tuple[Path, ...], task_type: str, metric: str,
                      factory: type[BaseRecommender],
                      params: dict[str, Any]) -> tuple[MetaData, BaseRecommender] | None:
    """The shipped recommender fitted on the seed's files ``seed``, if it matches (memoised)."""
    from metakg.kg.seed_file import file_signature, seed_digest

    signature = "+".join(file_signature(p) for p in seed)
    digest = _SEED_DIGESTS.get(signature) or _SEED_DIGESTS.setdefault(signature, seed_digest(seed))
    key = ("seed", digest, task_type, metric, factory.__name__, repr(sorted(params.items())))
    if key in _LOCAL:
        return _LOCAL[key]
    shipped = load_shipped(fmt=_FORMAT, task_type=task_type, metric=metric, factory=factory.__name__,
                           params=params, seed_digest=digest)
    return None if shipped is None else _remember(_LOCAL, key, shipped)
