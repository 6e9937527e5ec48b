"""An index of the graph's runs, kept up to date incrementally.

The learning views (:func:`kg.views.performance_table`) need every run's task, configuration,
status and mean scores. Read by one SPARQL join per metric, that took about 28 s per metric
on the seed graph (69,000 runs, 380,000 mean evaluations), four times per fit, and again
after every new run. This index reads the whole join once, then, on each later use, only
the runs that are new or whose status changed (one cheap query lists every run's status;
about 1 ms per new run after that). Embedded stores keep their index on disk in the user
cache, so a new process starts from it too.

Beside each run's task and configuration the index keeps what its reliability weight needs
(:mod:`kg.reliability`): its source, how many folds its means are over, and its
``reliability`` tag if one was set. Counting the folds reads every fold evaluation once, in
the full read only.

A run id names one run: runs are appended (the seed build, ``log_runs``, ``--run``) and may
change status (running -> completed) or be removed, all of which the refresh sees. Writing a
different run under an id already indexed is not detected; ``log_runs`` gives each run a
fresh id unless the caller supplies one.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pyoxigraph import NamedNode

from metakg.kg.reliability import OUTCOME_TAG, RELIABILITY_TAG
from metakg.kg.store.base import Store, store_token

__all__ = ["FULL_READ_MIN_RUNS", "RunIndex", "index_path", "run_index"]

#: With at least this many new runs, one full read (about 0.4 ms a run) is cheaper than
#: reading them one by one (about 1 ms a run).
FULL_READ_MIN_RUNS = 3000
#: Bump when the index's layout changes, so old files are rebuilt.
_FORMAT = 2

_RUN_COLUMNS = ["run", "task", "config", "status", "source", "folds", "reliability_tag", "outcome"]
_SCORE_COLUMNS = ["run", "measure", "value"]
_STATUS = "SELECT ?r ?s WHERE { ?r mkg:status ?s }"
_ALL_RUNS = "SELECT ?r ?t ?c WHERE { ?r mls:achieves ?t ; mkg:configuration ?c }"
_ALL_SCORES = """SELECT ?r ?m ?v WHERE { ?r mkg:meanEvaluation ?e .
                   ?e mls:hasValue ?v ; mls:specifiedBy ?m }"""
_ONE_RUN = """SELECT ?t ?c ?m ?v WHERE { ?r mls:achieves ?t ; mkg:configuration ?c .
                OPTIONAL { ?r mkg:meanEvaluation ?e . ?e mls:hasValue ?v ; mls:specifiedBy ?m } }"""
# what the reliability weight needs: every run's source, its fold evaluations (all measures
# together; divided by its number of measures), a ``reliability=<w>`` tag and whether it is a
# recommendation's outcome (a ``recommendation=<id>`` tag)
_SOURCES = "SELECT ?r ?s WHERE { ?r mkg:status ?x ; mkg:source ?s }"
_FOLD_COUNTS = "SELECT ?r (COUNT(?f) AS ?n) WHERE { ?r mls:hasOutput ?e . ?e mkg:fold ?f } GROUP BY ?r"
_TAGS = """SELECT ?r ?v WHERE { ?r mkg:tag ?v
            FILTER(STRSTARTS(STR(?v), "reliability=") || STRSTARTS(STR(?v), "recommendation=")) }"""
_ONE_SOURCE = "SELECT ?s WHERE { ?r mkg:source ?s }"
_ONE_FOLD_COUNT = "SELECT (COUNT(?f) AS ?n) WHERE { ?r mls:hasOutput ?e . ?e mkg:fold ?f }"
_ONE_TAG = """SELECT ?v WHERE { ?r mkg:tag ?v
               FILTER(STRSTARTS(STR(?v), "reliability=") || STRSTARTS(STR(?v), "recommendation=")) }"""


@dataclass(frozen=True)
class RunIndex:
    """Every run of the graph and its mean scores (local ids: the last IRI segment).

    Attributes:
        runs: one row per run: run, task, config, status (``completed``, ``failed`` or
            ``running``; several statuses of one run are joined by ``|``), source (its
            ``mkg:source``, ``None`` if it has none), folds (how many folds its means are
            over, ``None`` if no fold is recorded), reliability_tag (the value of its
            ``reliability=<w>`` tag, ``None`` if it has none), outcome (whether it is a
            recommendation's outcome: tagged ``recommendation=<id>``).
        scores: one row per run and measure of its mean evaluations: run, measure (the
            measure's id, e.g. ``roc_auc``, ``fit_time``), value.
    """

    runs: pd.DataFrame
    scores: pd.DataFrame

    def with_status(self, status: str) -> pd.DataFrame:
        """The rows of :attr:`runs` that have ``status`` (among others, if several)."""
        has = self.runs["status"].str.split("|").map(lambda s: status in s).astype(bool)
        return self.runs[has.to_numpy()]


#: In-process indexes: store token -> (its write counter then, its index file, the index);
#: a few stores at most (a server that opens its store per request needs one).
_MEMORY: OrderedDict[int, tuple[int, Path | None, RunIndex]] = OrderedDict()
_KEEP = 4
_LOCK = threading.Lock()


def _tail(values: pd.Series) -> pd.Series:
    return values.str.rsplit("/", n=1).str[-1]


def index_path(store: Store, cache_dir: Path | None = None) -> Path | None:
    """Where an embedded store's index is kept (``None`` for other stores): the user cache,
    named by the store's directory and the identity its database was created with, so a
    store deleted and created again at the same path does not inherit its predecessor's
    index."""
    path = getattr(store, "path", None)
    if not store.persistent or path is None:
        return None
    try:  # RocksDB writes a fresh UUID to IDENTITY when it creates a database
        identity = (Path(path) / "IDENTITY").read_text().strip()
    except OSError:
        try:
            identity = f"inode {Path(path).stat().st_ino}"
        except OSError:
            return None
    if cache_dir is None:
        from metakg.kg.user_cache import cache_dir as user_cache

        cache_dir = user_cache()
    key = hashlib.sha256(f"{Path(path).resolve()}|{identity}".encode()).hexdigest()[:24]
    return cache_dir / "run-index" / f"{key}.pkl"


def run_index(store: Store, *, cache_dir: Path | None = None) -> RunIndex:
    """The index of ``store``'s runs as they are now.

    In-process, an unshared store's index is reused until the store is written (its write
    counter); otherwise it is refreshed: the status of every run is read (about 1 s on the
    seed graph) and new or changed runs are read in full.

    Args:
        store: the store.
        cache_dir: where an embedded store's index is kept (default ``METAKG_CACHE`` or the
            user cache).

    Returns:
        The up-to-date index.

    Raises:
        StoreError, QueryError: the store cannot be read.
    """
    token, version = store_token(store), store.local_version
    with _LOCK:
        entry = _MEMORY.get(token)
        if entry is not None and entry[0] == version and not store.shared:
            _MEMORY.move_to_end(token)
            return entry[2]
    path = entry[1] if entry is not None else index_path(store, cache_dir)
    with _LOCK:  # this store object's last index, or one of the same store opened before
        previous = entry[2] if entry is not None else next(
            (e[2] for e in _MEMORY.values() if path is not None and e[1] == path), None)
    if previous is None and path is not None:
        previous = _read(path)
    index, changed = _refresh(store, previous)
    if path is not None and (changed or previous is None):
        _write(path, index)
    with _LOCK:
        _MEMORY[token] = (version, path, index)
        _MEMORY.move_to_end(token)
        while len(_MEMORY) > _KEEP:
            _MEMORY.popitem(last=False)
    return index


def _statuses(store: Store) -> pd.Series:
    rows = store.select(_STATUS)
    if not rows:
        return pd.Series(dtype=object)
    df = pd.DataFrame(rows)
    df["r"] = _tail(df["r"])
    return df.groupby("r")["s"].agg(lambda s: "|".join(sorted(s)))


def _refresh(store: Store, previous: RunIndex | None) -> tuple[RunIndex, bool]:
    """The index brought up to date from ``previous`` (``None``: read in full); whether it
    changed."""
    status = _statuses(store)
    if previous is None:
        return _read_all(store, status), True
    old = previous.runs.set_index("run")["status"]
    common = old.index.intersection(status.index)
    same = common[(old.loc[common] == status.loc[common]).to_numpy()]
    new = status.index.difference(same)
    gone = old.index.difference(same)
    if len(new) == 0 and len(gone) == 0:
        return previous, False
    if len(new) >= FULL_READ_MIN_RUNS:
        return _read_all(store, status), True
    keep_runs = previous.runs[previous.runs["run"].isin(same)]
    keep_scores = previous.scores[previous.scores["run"].isin(same)]
    runs, scores = _read_runs(store, list(new), status)
    return RunIndex(pd.concat([keep_runs, runs], ignore_index=True),
                    pd.concat([keep_scores, scores], ignore_index=True)), True


def _read_all(store: Store, status: pd.Series) -> RunIndex:
    runs = pd.DataFrame(store.select(_ALL_RUNS), columns=["r", "t", "c"])
    runs = pd.DataFrame({"run": _tail(runs["r"]), "task": _tail(runs["t"]),
                         "config": _tail(runs["c"])})
    runs = runs[runs["run"].isin(status.index)]
    runs = runs.assign(status=status.reindex(runs["run"]).to_numpy())
    scores = pd.DataFrame(store.select(_ALL_SCORES), columns=["r", "m", "v"])
    scores = pd.DataFrame({"run": _tail(scores["r"]), "measure": _tail(scores["m"]),
                           "value": pd.to_numeric(scores["v"], errors="coerce")})
    scores = scores[scores["run"].isin(status.index)]
    runs = _with_provenance(store, runs, scores)
    return RunIndex(runs.reset_index(drop=True)[_RUN_COLUMNS],
                    scores.reset_index(drop=True)[_SCORE_COLUMNS])


def _by_run(rows: list[dict], value: str) -> pd.Series:
    """Run id (local) -> the first ``value`` of ``rows`` with ``r``, sorted for a stable pick."""
    df = pd.DataFrame(rows, columns=["r", value])
    if df.empty:
        return pd.Series(dtype=object)
    df = df.assign(r=_tail(df["r"])).sort_values(["r", value], key=lambda c: c.astype(str))
    return df.drop_duplicates("r").set_index("r")[value]


def _fold_count(evaluations: pd.Series, scores: pd.DataFrame, runs: pd.Series) -> list[int | None]:
    """Folds per run: its fold evaluations over its number of measures (``None``: none)."""
    measures = scores.groupby("run")["measure"].nunique()
    out: list[int | None] = []
    for run in runs:
        n, m = evaluations.get(run), measures.get(run)
        out.append(round(float(n) / int(m)) if n is not None and m and float(n) > 0 else None)
    return out


def _tag_values(tags: list[str]) -> tuple[str | None, bool]:
    """A run's ``reliability`` tag value (the first in sorted order) and whether it has a
    ``recommendation`` tag, from its tags of those two keys."""
    values = sorted(t.split("=", 1)[1] for t in tags if t.startswith(f"{RELIABILITY_TAG}="))
    return (values[0] if values else None), any(t.startswith(f"{OUTCOME_TAG}=") for t in tags)


def _with_provenance(store: Store, runs: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the source, folds and reliability tag of every run (full read)."""
    source = _by_run(store.select(_SOURCES), "s")
    evaluations = pd.to_numeric(_by_run(store.select(_FOLD_COUNTS), "n"), errors="coerce")
    tag_rows = pd.DataFrame(store.select(_TAGS), columns=["r", "v"])
    tags = (tag_rows.assign(r=_tail(tag_rows["r"])).groupby("r")["v"].agg(list)
            if not tag_rows.empty else pd.Series(dtype=object))
    ids = runs["run"]
    pairs = [_tag_values(tags.get(r, [])) for r in ids]
    return runs.assign(
        source=[source.get(r) for r in ids],
        folds=_fold_count(evaluations, scores, ids),
        reliability_tag=[p[0] for p in pairs], outcome=[p[1] for p in pairs])


def _read_runs(store: Store, run_ids: list[str], status: pd.Series
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    from metakg.kg.vocabulary import entity

    runs, scores = [], []
    for run in run_ids:
        rows = store.select(_ONE_RUN, {"r": NamedNode(entity("run", run).value)})
        pairs = {(r["t"], r["c"]) for r in rows}
        node = {"r": NamedNode(entity("run", run).value)}
        source = sorted(str(r["s"]) for r in store.select(_ONE_SOURCE, node))
        counted = store.select(_ONE_FOLD_COUNT, node)
        tag, outcome = _tag_values([str(r["v"]) for r in store.select(_ONE_TAG, node)])
        measures = {r["m"] for r in rows if "m" in r}
        n = float(counted[0].get("n", 0)) if counted else 0.0
        extra = {"source": source[0] if source else None,
                 "folds": round(n / len(measures)) if n > 0 and measures else None,
                 "reliability_tag": tag, "outcome": outcome}
        runs += [{"run": run, "task": t, "config": c, "status": status[run], **extra}
                 for t, c in pairs]
        scores += [{"run": run, "measure": r["m"], "value": r["v"]} for r in rows if "m" in r]
    runs_df = pd.DataFrame(runs, columns=_RUN_COLUMNS)
    scores_df = pd.DataFrame(scores, columns=_SCORE_COLUMNS).drop_duplicates()
    for df, cols in ((runs_df, ["task", "config"]), (scores_df, ["measure"])):
        for c in cols:
            df[c] = _tail(df[c].astype(str))
    scores_df["value"] = pd.to_numeric(scores_df["value"], errors="coerce")
    return runs_df, scores_df


def _read(path: Path) -> RunIndex | None:
    try:
        with open(path, "rb") as fh:
            fmt, index = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
        return None
    return index if fmt == _FORMAT and isinstance(index, RunIndex) else None


def _write(path: Path, index: RunIndex) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump((_FORMAT, index), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError:
        pass  # a cache: the next process reads the graph again
