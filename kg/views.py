"""Derived views of the graph: dense matrices for learners and networkx graphs.

Everything here is rebuilt from the graph; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import pandas as pd

from metakg.kg.graph import KnowledgeGraph
from metakg.kg.measures import HIGHER_IS_BETTER, check_measure
from metakg.kg.reliability import run_weight
from metakg.kg.run_index import RunIndex, run_index

__all__ = ["bipartite_graph", "metafeature_matrix", "performance_table", "similarity_graph",
           "task_table"]


def performance_table(graph: KnowledgeGraph, *, metric: str | None = None,
                      task_type: str | None = None, index: RunIndex | None = None,
                      tasks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table of completed runs' mean scores: one row per (task, configuration).

    Read from the graph's run index (:func:`kg.run_index.run_index`), which is kept up to
    date incrementally: after new runs only those are read from the graph.

    Args:
        graph: the graph.
        metric: the measure to report (``None``: each task's primary metric).
        task_type: only tasks of this type.
        index, tasks: the run index and :func:`task_table` already read for this graph (and
            ``task_type``), so several tables of one fit read them once (default: read here).

    Returns:
        Columns dataset, task, task_type, metric, config, family, json, value, weight,
        reliability. Several runs of one pair are averaged, weighted by their reliability
        (:func:`kg.reliability.run_weight`; runs of equal weight: the plain mean); weight is
        the sum of their weights, reliability ``min(1, weight)`` (1 for the seed protocol).

    Raises:
        InvalidData: ``metric`` is not a known measure.
    """
    measure = check_measure(metric) if metric else None
    cols = ["dataset", "task", "task_type", "metric", "config", "family", "json", "value",
            "weight", "reliability"]
    index = index if index is not None else run_index(graph.store)
    runs = index.with_status("completed")
    tasks = tasks if tasks is not None else task_table(graph, task_type)
    configs = pd.DataFrame(graph.store.select(
        "SELECT ?c ?family ?json WHERE { ?c mkg:family ?family ; mkg:json ?json }"),
        columns=["c", "family", "json"])
    configs["config"] = configs["c"].str.rsplit("/", n=1).str[-1]
    scores = index.scores if measure is None else index.scores[index.scores["measure"] == measure]
    df = (runs.merge(tasks, on="task").merge(scores, on="run")
          .merge(configs[["config", "family", "json"]], on="config"))
    # without a metric, each task's own primary metric
    df = df[df["measure"] == df["metric"]] if measure is None else df.assign(metric=measure)
    if df.empty:
        return pd.DataFrame(columns=cols)
    folds = pd.DataFrame(graph.store.select("SELECT ?t ?n WHERE { ?t a mls:Task ; mkg:folds ?n }"),
                         columns=["t", "n"])
    task_folds = dict(zip(folds["t"].str.rsplit("/", n=1).str[-1], folds["n"], strict=True))
    df = df.assign(task_folds=df["task"].map(task_folds))
    return _weighted_cells(df, cols[:-3])[cols]


def _weighted_cells(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per ``keys`` of the runs of ``df`` (columns value, source, folds,
    reliability_tag, task_folds, outcome): their reliability-weighted mean, the sum of their weights and
    ``min(1, sum)``. A cell whose runs weigh the same gets their plain mean, bit for bit."""
    seen: dict[tuple, float] = {}
    weights = []
    for kind in zip(df["source"], df["folds"], df["reliability_tag"], df["task_folds"],
                    df["outcome"], strict=True):
        key = tuple(None if pd.isna(v) else v for v in kind)
        if key not in seen:
            seen[key] = run_weight(*key[:4], outcome=bool(key[4]))
        weights.append(seen[key])
    df = df.assign(w=np.asarray(weights, dtype=float))
    valued = df["value"].notna()
    df = df.assign(wv=(df["w"] * df["value"]).where(valued, 0.0),
                   wn=df["w"].where(valued, 0.0))
    out = df.groupby(keys, as_index=False).agg(
        value=("value", "mean"), wv=("wv", "sum"), wn=("wn", "sum"), weight=("w", "sum"),
        lo=("w", "min"), hi=("w", "max"))
    mixed = (out["lo"] != out["hi"]) & (out["wn"] > 0)
    out.loc[mixed, "value"] = out.loc[mixed, "wv"] / out.loc[mixed, "wn"]
    return out.assign(reliability=out["weight"].clip(upper=1.0))


def task_table(graph: KnowledgeGraph, task_type: str | None = None) -> pd.DataFrame:
    """Every task with its dataset, task type and primary metric (local ids).

    Args:
        graph: the graph.
        task_type: only tasks of this type.

    Returns:
        Columns task, dataset, task_type, metric.
    """
    rows = graph.store.select(
        """SELECT ?t ?d ?type ?metric WHERE {
             ?t mls:definedOn ?d ; mkg:taskType ?type ; mkg:metric ?metric }""",
        {"type": task_type} if task_type else None)
    df = pd.DataFrame(rows, columns=["t", "d", "type", "metric"])
    return pd.DataFrame({"task": df["t"].str.rsplit("/", n=1).str[-1],
                         "dataset": df["d"].str.rsplit("/", n=1).str[-1],
                         "task_type": df["type"], "metric": df["metric"]})


def metafeature_matrix(graph: KnowledgeGraph, *, extractor: str | None = None) -> pd.DataFrame:
    """Datasets × meta-features (NaN where missing)."""
    bind = {"x": extractor} if extractor else None
    rows = graph.store.select(
        """SELECT ?d ?name ?v WHERE { ?d mls:hasQuality ?q . ?q mkg:feature ?name ;
             mkg:extractor ?x . OPTIONAL { ?q mls:hasValue ?v } }""", bind)
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    df["d"] = df["d"].str.rsplit("/", n=1).str[-1]
    if "v" not in df:
        df["v"] = np.nan
    return df.pivot_table(index="d", columns="name", values="v", aggfunc="first",
                          dropna=False).rename_axis(index="dataset", columns=None)


def bipartite_graph(graph: KnowledgeGraph, *, metric: str | None = None,
                    task_type: str | None = None) -> nx.Graph:
    """Bipartite dataset–configuration graph; edge weight = the configuration's normalised
    score on the dataset (1 best, 0 worst on that dataset), raw score in ``score``.

    Nodes are ``("dataset", id)`` (``bipartite=0``) and ``("config", id)`` (``bipartite=1``).
    """
    perf = performance_table(graph, metric=metric, task_type=task_type)
    g = nx.Graph()
    for dataset, part in perf.groupby("dataset"):
        higher = HIGHER_IS_BETTER[part["metric"].iloc[0]]
        v = part["value"].to_numpy(dtype=float)
        lo, hi = np.nanmin(v), np.nanmax(v)
        norm = (v - lo) / (hi - lo) if hi > lo else np.ones_like(v)
        if not higher:
            norm = 1.0 - norm if hi > lo else norm
        g.add_node(("dataset", dataset), bipartite=0)
        for (_, row), w in zip(part.iterrows(), norm, strict=True):
            g.add_node(("config", row["config"]), bipartite=1, family=row["family"])
            g.add_edge(("dataset", dataset), ("config", row["config"]), weight=float(w),
                       score=float(row["value"]), metric=row["metric"])
    return g


def similarity_graph(
    ids: list[str], similarity: np.ndarray | Callable[[str, str], float], *,
    k: int | None = 5, threshold: float | None = None,
) -> nx.Graph:
    """Dataset similarity graph from any similarity (a matrix aligned with ``ids`` or a
    function of two ids): each dataset linked to its ``k`` most similar ones (and/or all
    above ``threshold``), edge attribute ``weight`` = similarity."""
    n = len(ids)
    if callable(similarity):
        sim = np.array([[similarity(a, b) if a != b else np.nan for b in ids] for a in ids])
    else:
        sim = np.array(similarity, dtype=float).copy()
        np.fill_diagonal(sim, np.nan)
    g = nx.Graph()
    g.add_nodes_from(ids)
    for i in range(n):
        row = np.nan_to_num(sim[i], nan=-np.inf)
        order = np.argsort(-row)
        chosen = set(order[:k].tolist()) if k else set()
        if threshold is not None:
            chosen |= {j for j in range(n) if row[j] >= threshold}
        for j in chosen:
            if j != i and np.isfinite(row[j]):
                g.add_edge(ids[i], ids[j], weight=float(row[j]))
    return g
