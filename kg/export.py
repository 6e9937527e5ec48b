"""Serialise the graph, or one dataset's neighbourhood, to Turtle or N-Quads."""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from pyoxigraph import NamedNode, RdfFormat, parse, serialize

from metakg.kg.errors import DatasetNotFound, MetaKGError
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.vocabulary import PREFIXES

__all__ = ["export_graph", "stream_graph"]

# A dataset's neighbourhood, one query per part. Each starts from the dataset (or a batch of
# its runs' IRIs) and follows its links, so the store reads only this dataset's triples; one
# query with a UNION of the parts bound by the dataset alone had each part read for every
# dataset of the graph (minutes on the seed graph). The parts have
# disjoint subjects, so their N-Triples are joined as they come. The runs (most of the export:
# a seed dataset has hundreds of runs of about 25 evaluations each) and their configurations
# are listed once, then read in batches by their IRIs on a few threads: pyoxigraph reads and
# writes a query's triples partly outside the GIL, so the batches overlap.
_DATASET_PARTS = (
    "CONSTRUCT { ?d ?p ?o } WHERE { ?d ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?d mkg:hasColumn ?s . ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?d mls:hasQuality ?s . ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s mls:definedOn ?d . ?s ?p ?o }",
)
_RUNS = "SELECT DISTINCT ?r WHERE { ?t mls:definedOn ?d . ?r mls:achieves ?t }"
# a run and its evaluations in one query: read from one snapshot of the store
_RUN_PARTS = ("""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?r {{ {values} }}
                   {{ ?r ?p ?o BIND(?r AS ?s) }} UNION {{ ?r mls:hasOutput ?s . ?s ?p ?o }} }}""",)
_CONFIGS = """SELECT DISTINCT ?c WHERE { ?t mls:definedOn ?d . ?r mls:achieves ?t ;
                 mkg:configuration ?c }"""
_CONFIG_PARTS = ("CONSTRUCT {{ ?c ?p ?o }} WHERE {{ VALUES ?c {{ {values} }} ?c ?p ?o }}",
                 """CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?c {{ {values} }}
                      ?c mkg:param ?s . ?s ?p ?o }}""")
_THREADS = 4
_MAX_BATCH = 500


def _batched_parts(iris: list[str], parts: tuple[str, ...]) -> list[str]:
    """One query per part and batch of IRIs: at least two batches per thread (while a batch
    has 50 IRIs or more) and at most :data:`_MAX_BATCH` IRIs in one."""
    size = min(_MAX_BATCH, max(50, math.ceil(len(iris) / (2 * _THREADS))))
    queries = []
    for start in range(0, len(iris), size):
        # IRIs the store returned, written as N-Triples terms by pyoxigraph
        values = " ".join(str(NamedNode(iri)) for iri in iris[start:start + size])
        queries += [part.format(values=values) for part in parts]
    return queries


def _dataset_ntriples(graph: KnowledgeGraph, node: NamedNode) -> bytes:
    """A dataset's neighbourhood (see the parts above) as N-Triples."""
    store = graph.store
    runs = [row["r"] for row in store.select(_RUNS, {"d": node})]
    configs = [row["c"] for row in store.select(_CONFIGS, {"d": node})]
    jobs = [(q, {"d": node}) for q in _DATASET_PARTS]
    jobs += [(q, None) for q in _batched_parts(runs, _RUN_PARTS) + _batched_parts(configs, _CONFIG_PARTS)]
    with ThreadPoolExecutor(_THREADS) as pool:
        return b"".join(pool.map(lambda job: store.construct_ntriples(*job), jobs))


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
    ntriples = _dataset_ntriples(graph, node)
    if rdf_format == RdfFormat.TURTLE:
        return serialize(parse(ntriples, format=RdfFormat.N_TRIPLES), format=rdf_format,
                         prefixes=dict(PREFIXES)), media
    return ntriples, media  # N-Triples lines are N-Quads lines in the default graph
