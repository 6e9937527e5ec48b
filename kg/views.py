"""Derived views of the graph: dense matrices for learners and networkx graphs.

Everything here is rebuilt from the graph; nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import pandas as pd

from kg.graph import KnowledgeGraph
from kg.measures import HIGHER_IS_BETTER, check_measure
from kg.vocabulary import entity

__all__ = ["bipartite_graph", "metafeature_matrix", "performance_table", "similarity_graph"]


def performance_table(graph: KnowledgeGraph, *, metric: str | None = None,
                      task_type: str | None = None) -> pd.DataFrame:
    """Long table of completed runs' mean scores: one row per (task, configuration).

    Columns: dataset, task, task_type, metric (the task's primary metric unless ``metric``),
    config, family, json, value. Several runs of one pair are averaged.
    """
    bind: dict[str, object] = {}
    if metric:
        bind["m"] = entity("measure", check_measure(metric))
        measure = "?e mls:specifiedBy ?m ."
    else:  # each task's own primary metric
        measure = "?e mls:specifiedBy ?m . ?m dcterms:title ?metric ."
    if task_type:
        bind["type"] = task_type
    rows = graph.store.select(
        f"""SELECT ?d ?t ?type ?metric ?c ?family ?json ?v WHERE {{
             ?t mls:definedOn ?d ; mkg:taskType ?type ; mkg:metric ?metric .
             ?r mls:achieves ?t ; mkg:configuration ?c ; mkg:status "completed" ;
                mkg:meanEvaluation ?e .
             ?e mls:hasValue ?v . {measure}
             ?c mkg:family ?family ; mkg:json ?json }}""", bind or None)
    cols = ["dataset", "task", "task_type", "metric", "config", "family", "json", "value"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows).rename(columns={"d": "dataset", "t": "task", "type": "task_type",
                                            "c": "config", "v": "value"})
    for c in ("dataset", "task", "config"):
        df[c] = df[c].str.rsplit("/", n=1).str[-1]
    if metric:
        df["metric"] = metric
    df = df.groupby(cols[:-1], as_index=False)["value"].mean()
    return df[cols]


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
