"""Namespaces, classes and properties of the metakg graph, and IRI builders.

The graph reuses W3C ML-Schema (``mls:``), PROV-O and Dublin Core terms; what they lack lives
in the project namespace ``mkg:``. The same terms are published as Turtle in
``kg/resources/vocabulary.ttl``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pyoxigraph import Literal, NamedNode

__all__ = [
    "DCT",
    "MKG",
    "MLS",
    "PREFIXES",
    "PROV",
    "RDF",
    "RDFS",
    "SPARQL_PREFIXES",
    "XSD",
    "Namespace",
    "resource_path",
]


class Namespace:
    """An IRI prefix; attribute or item access returns a :class:`pyoxigraph.NamedNode`."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._cache: dict[str, NamedNode] = {}

    def __getattr__(self, name: str) -> NamedNode:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> NamedNode:
        node = self._cache.get(name)
        if node is None:
            node = self._cache[name] = NamedNode(self.base + name)
        return node

    def __str__(self) -> str:
        return self.base


MLS = Namespace("http://www.w3.org/ns/mls#")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCT = Namespace("http://purl.org/dc/terms/")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
MKG = Namespace("https://w3id.org/metakg/ns#")
#: Base of entity IRIs (datasets, tasks, configurations, runs...).
ENTITY_BASE = "https://w3id.org/metakg/id/"

PREFIXES: dict[str, str] = {
    "mls": MLS.base,
    "prov": PROV.base,
    "dcterms": DCT.base,
    "rdf": RDF.base,
    "rdfs": RDFS.base,
    "xsd": XSD.base,
    "mkg": MKG.base,
    "id": ENTITY_BASE,
}

#: ``PREFIX`` lines for every namespace, to prepend to queries.
SPARQL_PREFIXES = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())

A = RDF.type


def entity(kind: str, key: str) -> NamedNode:
    """Return the IRI of an entity, e.g. ``entity("dataset", "ab12...")``."""
    return NamedNode(f"{ENTITY_BASE}{kind}/{key}")


def entity_key(node: NamedNode | str) -> str:
    """Return the last path segment of an entity IRI (its id)."""
    value = node.value if isinstance(node, NamedNode) else str(node)
    return value.rsplit("/", 1)[-1]


def lit(value: object) -> Literal:
    """Return a typed literal for a Python value (bool, int, float, str)."""
    if isinstance(value, bool):
        return Literal("true" if value else "false", datatype=XSD.boolean)
    if isinstance(value, int):
        return Literal(str(value), datatype=XSD.integer)
    if isinstance(value, float):
        return Literal(repr(value), datatype=XSD.double)
    return Literal(str(value))


def resource_path(name: str) -> Path:
    """Path of a file shipped in ``kg/resources`` (vocabulary and shapes)."""
    return Path(str(resources.files("metakg.kg") / "resources" / name))
