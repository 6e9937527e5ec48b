"""Serialise the graph, or one dataset's neighbourhood, to Turtle or N-Quads."""

from __future__ import annotations

from pyoxigraph import DefaultGraph, Quad, RdfFormat, serialize

from metakg.kg.graph import KnowledgeGraph
from metakg.kg.vocabulary import PREFIXES

__all__ = ["export_graph"]

_NEIGHBOURHOOD = """CONSTRUCT { ?s ?p ?o } WHERE {
  { BIND(?d AS ?s) ?s ?p ?o }
  UNION { ?d mkg:hasColumn ?s . ?s ?p ?o }
  UNION { ?d mls:hasQuality ?s . ?s ?p ?o }
  UNION { ?s mls:definedOn ?d . ?s ?p ?o }
  UNION { ?t mls:definedOn ?d . ?s mls:achieves ?t . ?s ?p ?o }
  UNION { ?t mls:definedOn ?d . ?r mls:achieves ?t ; mls:hasOutput ?s . ?s ?p ?o }
  UNION { ?t mls:definedOn ?d . ?r mls:achieves ?t ; mkg:configuration ?s . ?s ?p ?o } }"""


def export_graph(graph: KnowledgeGraph, *, fmt: str = "nquads", dataset: str | None = None) -> tuple[bytes, str]:
    """Return (bytes, media type) of the graph or of a dataset's neighbourhood.

    Raises:
        DatasetNotFound: unknown dataset.
    """
    rdf_format = RdfFormat.TURTLE if fmt == "turtle" else RdfFormat.N_QUADS
    media = "text/turtle" if fmt == "turtle" else "application/n-quads"
    if dataset is None:
        return graph.store._dump(rdf_format), media
    from pyoxigraph import NamedNode

    node = NamedNode(graph.get_dataset(dataset).iri)
    triples = graph.store.construct(_NEIGHBOURHOOD, {"d": node})
    if rdf_format == RdfFormat.TURTLE:
        return serialize(triples, format=rdf_format, prefixes=dict(PREFIXES)), media
    return serialize([Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in triples],
                     format=rdf_format), media
