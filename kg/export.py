"""Serialise the graph, or one dataset's neighbourhood, to Turtle or N-Quads."""

from __future__ import annotations

from collections.abc import Iterator

from pyoxigraph import NamedNode, RdfFormat, Triple, serialize

from metakg.kg.errors import DatasetNotFound, MetaKGError
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.vocabulary import PREFIXES

__all__ = ["export_graph", "stream_graph"]

# A dataset's neighbourhood, one query per part. Each starts from the dataset and follows its
# links, so the store reads only this dataset's triples; one query with a UNION of the parts
# had each part read for every dataset of the graph (minutes on the seed graph). The runs'
# configurations (shared by many runs) are listed once, then read by their IRIs.
_CONFIGS = """SELECT DISTINCT ?c WHERE { ?t mls:definedOn ?d . ?r mls:achieves ?t ;
                 mkg:configuration ?c }"""
_CONFIG_PARTS = ("CONSTRUCT {{ ?c ?p ?o }} WHERE {{ VALUES ?c {{ {values} }} ?c ?p ?o }}",
                 """CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?c {{ {values} }}
                      ?c mkg:param ?s . ?s ?p ?o }}""")
_PARTS = (
    "CONSTRUCT { ?d ?p ?o } WHERE { ?d ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?d mkg:hasColumn ?s . ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?d mls:hasQuality ?s . ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s mls:definedOn ?d . ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?t mls:definedOn ?d . ?s mls:achieves ?t . ?s ?p ?o }",
    """CONSTRUCT { ?s ?p ?o } WHERE { ?t mls:definedOn ?d . ?r mls:achieves ?t ;
         mls:hasOutput ?s . ?s ?p ?o }""",
)


def stream_graph(graph: KnowledgeGraph, *, fmt: str = "nquads") -> tuple[Iterator[bytes], str]:
    """The whole graph as consecutive byte chunks, read while they are sent (an HTTP export
    of the seed graph is over a gigabyte of N-Quads; built in memory first, the first byte
    came after minutes).

    Args:
        graph: the graph.
        fmt: ``nquads`` (every named graph) or ``turtle`` (the default graph).

    Returns:
        (iterator over the document's bytes, media type).
    """
    rdf_format = RdfFormat.TURTLE if fmt == "turtle" else RdfFormat.N_QUADS
    media = "text/turtle" if fmt == "turtle" else "application/n-quads"
    return graph.store.stream_dump(rdf_format), media


def export_graph(graph: KnowledgeGraph, *, fmt: str = "nquads", dataset: str | None = None) -> tuple[bytes, str]:
    """Return (bytes, media type) of the graph or of a dataset's neighbourhood.

    Args:
        graph: the graph.
        fmt: ``nquads`` or ``turtle``.
        dataset: id, content hash or name of a dataset: only it, its columns, meta-features,
            tasks, runs with their evaluations, and the runs' configurations.

    Raises:
        DatasetNotFound: unknown dataset.
    """
    rdf_format = RdfFormat.TURTLE if fmt == "turtle" else RdfFormat.N_QUADS
    media = "text/turtle" if fmt == "turtle" else "application/n-quads"
    if dataset is None:
        return graph.store._dump(rdf_format), media
    try:
        node = NamedNode(graph.get_dataset(dataset, schema=False).iri)
    except MetaKGError:
        raise
    except ValueError:  # a reference that cannot be part of an IRI names no dataset
        raise DatasetNotFound(f"No dataset {dataset!r} in the graph; list datasets with "
                              "GET /datasets.") from None
    triples: dict[Triple, None] = {}
    for part in _PARTS:
        triples.update(dict.fromkeys(graph.store.construct(part, {"d": node})))
    configs = [row["c"] for row in graph.store.select(_CONFIGS, {"d": node})]
    for start in range(0, len(configs), 500):
        # IRIs the store returned, written as N-Triples terms by pyoxigraph
        values = " ".join(str(NamedNode(c)) for c in configs[start:start + 500])
        for part in _CONFIG_PARTS:
            triples.update(dict.fromkeys(graph.store.construct(part.format(values=values))))
    if rdf_format == RdfFormat.TURTLE:
        return serialize(list(triples), format=rdf_format, prefixes=dict(PREFIXES)), media
    # N-Triples lines are N-Quads lines in the default graph
    return serialize(list(triples), format=RdfFormat.N_TRIPLES), media
