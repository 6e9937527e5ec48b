"""Whole-graph reads of dataset attributes, one mapping per attribute, keyed by dataset id.

The meta-learner's views read these once per fit; each is one query, however many datasets.
"""

from __future__ import annotations

from metakg.kg.graph import KnowledgeGraph
from metakg.kg.vocabulary import entity, entity_key

__all__ = ["dataset_derivations", "dataset_rows", "dataset_titles", "feature_columns",
           "has_current_metafeatures", "stale_datasets", "task_target_sds"]


def dataset_titles(graph: KnowledgeGraph) -> dict[str, str]:
    """Dataset id → its title (``dcterms:title``; one of them where a dataset has several)."""
    return {entity_key(r["d"]): r["n"] for r in graph.store.select(
        "SELECT ?d ?n WHERE { ?d a mls:Dataset ; dcterms:title ?n }")}


def dataset_rows(graph: KnowledgeGraph) -> dict[str, int]:
    """Dataset id → its number of rows."""
    return {entity_key(r["d"]): r["n"] for r in graph.store.select(
        "SELECT ?d ?n WHERE { ?d a mls:Dataset ; mkg:rows ?n }")}


def dataset_derivations(graph: KnowledgeGraph) -> dict[str, str]:
    """Derived dataset id → id of the dataset it was derived from (``prov:wasDerivedFrom``)."""
    return {entity_key(r["d"]): entity_key(r["s"]) for r in graph.store.select(
        "SELECT ?d ?s WHERE { ?d a mls:Dataset ; prov:wasDerivedFrom ?s }")}


def task_target_sds(graph: KnowledgeGraph) -> dict[str, float]:
    """Dataset id → the positive target standard deviation recorded on one of its tasks
    (``mkg:targetSd``, measured on the table when the task was added; a zero is left out:
    it puts no measure on a scale)."""
    return {entity_key(r["d"]): float(r["sd"]) for r in graph.store.select(
        "SELECT ?d ?sd WHERE { ?t mls:definedOn ?d ; mkg:targetSd ?sd }") if r["sd"] > 0}


def feature_columns(graph: KnowledgeGraph) -> dict[str, set[str]]:
    """Dataset id → the names of its columns other than its default target."""
    rows = graph.store.select(
        """SELECT ?d ?name ?target WHERE { ?d a mls:Dataset ; mkg:hasColumn ?c . ?c mkg:name ?name .
             OPTIONAL { ?d mkg:defaultTarget ?target } }""")
    out: dict[str, set[str]] = {}
    for r in rows:
        cols = out.setdefault(entity_key(r["d"]), set())
        if r["name"] != r.get("target"):
            cols.add(r["name"])
    return out


def stale_datasets(graph: KnowledgeGraph, *, extractor: str, version: str) -> list[str]:
    """Ids of datasets without meta-features of this extractor's version, sorted.

    Args:
        graph: the graph.
        extractor: the extractor's name (``mkg:extractor``).
        version: its current version (``mkg:extractorVersion``).
    """
    rows = graph.store.select(
        """SELECT ?d WHERE { ?d a mls:Dataset .
             FILTER NOT EXISTS { ?d mls:hasQuality ?q . ?q mkg:extractor ?x ;
                                 mkg:extractorVersion ?v } }""",
        {"x": extractor, "v": version})
    return sorted(entity_key(r["d"]) for r in rows)


def has_current_metafeatures(graph: KnowledgeGraph, dataset_id: str, *, extractor: str,
                             version: str) -> bool:
    """Whether a dataset has meta-features of this extractor's version (see
    :func:`stale_datasets`)."""
    return graph.store.ask(
        """ASK { ?d mls:hasQuality ?q . ?q mkg:extractor ?x ; mkg:extractorVersion ?v }""",
        {"d": entity("dataset", dataset_id), "x": extractor, "v": version})
