"""SHACL validation of writes.

``kg/resources/shapes.ttl`` is the single source of the rules. pyshacl validates a whole
graph (``validate_with_pyshacl``) but takes milliseconds per entity, too slow for thousands of
runs per second; so the SHACL Core subset the shapes use (targetClass, path, min/maxCount,
datatype, nodeKind, in, pattern, min/maxInclusive) is compiled once into a checker that every
write goes through (``check_quads``). A test proves both agree on valid and malformed data;
loading a shape that uses anything else fails loudly, so they cannot drift apart.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat
from pyoxigraph import Store as OxStore

from metakg.kg.errors import ShapeViolation
from metakg.kg.vocabulary import PREFIXES, RDF, resource_path

__all__ = ["NodeShape", "PropertyRule", "check_quads", "load_shapes", "shape_violations",
           "validate_with_pyshacl"]

SH = "http://www.w3.org/ns/shacl#"
_SUPPORTED = {f"{SH}{n}" for n in (
    "path", "minCount", "maxCount", "datatype", "nodeKind", "in", "pattern", "minInclusive",
    "maxInclusive")}


@dataclass(frozen=True)
class PropertyRule:
    """Constraints on one property path of a node shape."""

    path: str
    min_count: int = 0
    max_count: int | None = None
    datatype: str | None = None
    node_kind: str | None = None
    in_values: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None
    min_inclusive: float | None = None
    max_inclusive: float | None = None


@dataclass(frozen=True)
class NodeShape:
    """A SHACL node shape targeting one class."""

    name: str
    target_class: str
    rules: tuple[PropertyRule, ...]


def _short(iri: str) -> str:
    for prefix, base in PREFIXES.items():
        if iri.startswith(base):
            return f"{prefix}:{iri[len(base):]}"
    return f"<{iri}>"


@lru_cache(maxsize=1)
def load_shapes() -> tuple[NodeShape, ...]:
    """Compile ``shapes.ttl`` into node shapes (cached).

    Raises:
        ValueError: a shape uses a SHACL feature the compiled checker does not support.
    """
    store = OxStore()
    store.load(path=str(resource_path("shapes.ttl")), format=RdfFormat.TURTLE)
    shapes = []
    sh = lambda n: NamedNode(SH + n)  # noqa: E731
    for q in store.quads_for_pattern(None, sh("targetClass"), None):
        rules = []
        for pq in store.quads_for_pattern(q.subject, sh("property"), None):
            props: dict[str, object] = {}
            for fq in store.quads_for_pattern(pq.object, None, None):
                key = fq.predicate.value
                if key not in _SUPPORTED:
                    raise ValueError(f"shapes.ttl uses {key}, which kg/shapes.py cannot check.")
                props[key] = fq.object
            rules.append(_rule(store, props))
        shapes.append(NodeShape(_short(q.subject.value), q.object.value, tuple(rules)))
    return tuple(shapes)


def _rule(store: OxStore, props: dict[str, object]) -> PropertyRule:
    def val(name: str) -> object:
        return props.get(SH + name)

    in_values = None
    if (head := val("in")) is not None:
        items = []
        node = head
        while node != RDF.nil:
            items.append(next(store.quads_for_pattern(node, RDF.first, None)).object.value)
            node = next(store.quads_for_pattern(node, RDF.rest, None)).object
        in_values = frozenset(items)
    pattern = val("pattern")
    return PropertyRule(
        path=val("path").value,  # type: ignore[union-attr]
        min_count=int(val("minCount").value) if val("minCount") else 0,  # type: ignore[union-attr]
        max_count=int(val("maxCount").value) if val("maxCount") else None,  # type: ignore[union-attr]
        datatype=val("datatype").value if val("datatype") else None,  # type: ignore[union-attr]
        node_kind=val("nodeKind").value.rsplit("#", 1)[1] if val("nodeKind") else None,  # type: ignore[union-attr]
        in_values=in_values,
        pattern=re.compile(pattern.value) if pattern else None,  # type: ignore[union-attr]
        min_inclusive=float(val("minInclusive").value) if val("minInclusive") else None,  # type: ignore[union-attr]
        max_inclusive=float(val("maxInclusive").value) if val("maxInclusive") else None,  # type: ignore[union-attr]
    )


def shape_violations(quads: Iterable[Quad], limit: int = 20) -> list[str]:
    """Check quads against the shapes; return up to ``limit`` human-readable violations.

    Only nodes typed in ``quads`` are checked, against the triples in ``quads``: every
    entity is written whole, so its triples travel together.
    """
    by_subject: dict[object, dict[object, list[object]]] = defaultdict(lambda: defaultdict(list))
    typed: dict[object, list[object]] = defaultdict(list)
    rdf_type = RDF.type
    for q in set(quads):  # RDF is a set: a quad written twice is one triple
        p = q.predicate
        by_subject[q.subject][p].append(q.object)
        if p == rdf_type:
            typed[q.object].append(q.subject)
    problems: list[str] = []
    for shape in load_shapes():
        for focus in typed.get(NamedNode(shape.target_class), ()):
            values = by_subject[focus]
            for rule in shape.rules:
                objs = values.get(_node(rule.path), ())
                if _fast_ok(rule, objs):
                    continue
                for msg in _check(rule, objs):
                    problems.append(f"{_short(shape.target_class)} {focus}: {_short(rule.path)} {msg}")
                    if len(problems) >= limit:
                        return problems
    return problems


@lru_cache(maxsize=256)
def _node(iri: str) -> NamedNode:
    return NamedNode(iri)


def _fast_ok(rule: PropertyRule, objs: list[object] | tuple[()]) -> bool:
    """True when the common, valid case holds; anything else goes to :func:`_check`."""
    n = len(objs)
    if n < rule.min_count or (rule.max_count is not None and n > rule.max_count):
        return False
    if rule.pattern is not None or rule.min_inclusive is not None or rule.max_inclusive is not None:
        return False
    for o in objs:
        if rule.node_kind == "IRI" and type(o) is not NamedNode:
            return False
        if rule.datatype is not None and (type(o) is not Literal or o.datatype.value != rule.datatype):  # type: ignore[attr-defined]
            return False
        if rule.in_values is not None and (type(o) is not Literal or o.value not in rule.in_values):  # type: ignore[attr-defined]
            return False
    return True


def _check(rule: PropertyRule, objs: list[object] | tuple[()]) -> Iterable[str]:
    n = len(objs)
    if n < rule.min_count:
        yield f"needs at least {rule.min_count} value(s), found {n}"
    if rule.max_count is not None and n > rule.max_count:
        yield f"allows at most {rule.max_count} value(s), found {n}"
    for o in objs:
        if rule.node_kind == "IRI" and not isinstance(o, NamedNode):
            yield f"must be an IRI, found {o}"
        if rule.datatype is not None and (not isinstance(o, Literal)
                                          or o.datatype.value != rule.datatype):
            yield f"must be a literal of type {_short(rule.datatype)}, found {o}"
            continue
        if rule.in_values is not None:
            v = o.value if isinstance(o, Literal | NamedNode) else str(o)
            if v not in rule.in_values:
                yield f"must be one of {sorted(rule.in_values)}, found {v!r}"
        if rule.pattern is not None and isinstance(o, Literal) and not rule.pattern.search(o.value):
            yield f"must match {rule.pattern.pattern!r}, found {o.value!r}"
        if (rule.min_inclusive is not None or rule.max_inclusive is not None) and isinstance(
            o, Literal
        ):
            try:
                x = float(o.value)
            except ValueError:
                yield f"must be a number, found {o.value!r}"
                continue
            if rule.min_inclusive is not None and x < rule.min_inclusive:
                yield f"must be >= {rule.min_inclusive:g}, found {o.value}"
            if rule.max_inclusive is not None and x > rule.max_inclusive:
                yield f"must be <= {rule.max_inclusive:g}, found {o.value}"
        if isinstance(o, BlankNode) and rule.node_kind == "IRI":
            continue


def check_quads(quads: list[Quad]) -> None:
    """Raise :class:`ShapeViolation` if the quads break a shape (nothing is written then).

    Raises:
        ShapeViolation: with every violation found (up to 20), one per line.
    """
    problems = shape_violations(quads)
    if problems:
        more = "\n  ".join(problems)
        raise ShapeViolation(
            f"Nothing was written: {len(problems)} SHACL violation(s) "
            f"(see kg/resources/shapes.ttl):\n  {more}"
        )


def validate_with_pyshacl(nquads: bytes) -> tuple[bool, str]:
    """Validate serialised N-Quads/N-Triples with pyshacl; return (conforms, report text)."""
    import pyshacl
    import rdflib

    data = rdflib.Dataset()
    data.parse(data=nquads, format="nquads")
    shapes = rdflib.Graph().parse(str(resource_path("shapes.ttl")), format="turtle")
    graph = rdflib.Graph()
    for s, p, o, _ in data.quads((None, None, None, None)):
        graph.add((s, p, o))
    conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes, inference="none")
    return bool(conforms), str(text)
