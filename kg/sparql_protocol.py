"""The SPARQL 1.1 Protocol's query operation on any store: limits, content negotiation, and
results encoded with a bounded number of rows.

A store answers an untrusted query through :meth:`Store.query_bounded`: the embedded store
in a worker process killed at the deadline or its memory limit, a remote endpoint with its
own timeout, the in-memory store in this process (its limits are checked between result
rows only; see ``Store.enforces_query_limits``). This module holds what they share: the
limits, the protocol's dataset parameters, and the encoding of results.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from pyoxigraph import (
    BlankNode,
    Literal,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Triple,
    parse_query_results,
    serialize,
)

from metakg.kg.errors import QueryLimitExceeded

__all__ = ["GRAPH_TYPES", "RESULT_TYPES", "ProtocolAnswer", "QueryDataset", "QueryLimits", "encode_results",
           "negotiate"]

#: Media types for SELECT and ASK results, the default first.
RESULT_TYPES: dict[str, QueryResultsFormat] = {
    "application/sparql-results+json": QueryResultsFormat.JSON,
    "application/json": QueryResultsFormat.JSON,
    "application/sparql-results+xml": QueryResultsFormat.XML,
    "application/xml": QueryResultsFormat.XML,
    "text/csv": QueryResultsFormat.CSV,
    "text/tab-separated-values": QueryResultsFormat.TSV,
}
#: Media types for CONSTRUCT and DESCRIBE results, the default first.
GRAPH_TYPES: dict[str, RdfFormat] = {
    "application/n-triples": RdfFormat.N_TRIPLES,
    "text/turtle": RdfFormat.TURTLE,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "text/plain": RdfFormat.N_TRIPLES,
}


@dataclass(frozen=True)
class QueryLimits:
    """What one untrusted query may use.

    Attributes:
        timeout_s: wall-clock seconds from the start of the query to its last row.
        max_rows: rows (or triples) returned at most; the rest are cut and the answer says so.
        memory_mb: resident memory of the process evaluating the query (worker processes only).
    """

    timeout_s: float = 10.0
    max_rows: int = 10_000
    memory_mb: int = 1024


@dataclass(frozen=True)
class QueryDataset:
    """The protocol's ``default-graph-uri`` and ``named-graph-uri`` parameters (empty: the
    store's default graph and all its named graphs)."""

    default_graphs: tuple[str, ...] = field(default=())
    named_graphs: tuple[str, ...] = field(default=())

    def pyoxigraph_args(self) -> dict[str, object]:
        """Keyword arguments for ``pyoxigraph.Store.query``."""
        args: dict[str, object] = {}
        if self.default_graphs:
            args["default_graph"] = [NamedNode(g) for g in self.default_graphs]
        if self.named_graphs:
            args["named_graphs"] = [NamedNode(g) for g in self.named_graphs]
        return args


@dataclass(frozen=True)
class ProtocolAnswer:
    """An encoded answer: the body, its media type, and whether rows were cut at the cap."""

    body: bytes
    media_type: str
    truncated: bool = False


def negotiate(accept: str, offered: list[str]) -> str:
    """The offered media type the ``Accept`` header prefers (q-values honoured), else the first.

    Args:
        accept: the request's ``Accept`` header ("" when absent).
        offered: media types in order of preference, the default first.
    """
    best, best_key = offered[0], (0.0, 0)
    for part in accept.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        kind = kind.lower()
        for media in offered:
            # an exact type beats 'text/*', which beats '*/*'; at a tie the client's order wins
            specificity = 2 if kind == media else 1 if kind.endswith("/*") and media.startswith(kind[:-1]) \
                else 0 if kind == "*/*" else -1
            if specificity >= 0 and q > 0:
                if (q, specificity) > best_key:
                    best, best_key = media, (q, specificity)
                break
    return best


def encode_results(result: object, accept: str, *, max_rows: int,
                   deadline: float | None = None) -> ProtocolAnswer:
    """Encode pyoxigraph query results in the negotiated format, at most ``max_rows`` rows.

    Args:
        result: ``QuerySolutions``, ``QueryBoolean`` or an iterable of triples.
        accept: the request's ``Accept`` header.
        max_rows: rows or triples kept; the answer is marked truncated beyond.
        deadline: ``time.monotonic()`` past which reading stops (checked between rows).

    Raises:
        QueryLimitExceeded: the deadline passed while rows were read.
    """
    if isinstance(result, QueryBoolean):
        media = negotiate(accept, list(RESULT_TYPES))
        return ProtocolAnswer(result.serialize(format=RESULT_TYPES[media]), media)
    if isinstance(result, QuerySolutions):
        media = negotiate(accept, list(RESULT_TYPES))
        names = [v.value for v in result.variables]
        rows, truncated = [], False
        for i, sol in enumerate(result):
            if i >= max_rows:
                truncated = True
                break
            _check(deadline)
            rows.append({n: _term_json(sol[n]) for n in names if sol[n] is not None})
        doc: dict[str, object] = {"head": {"vars": names}, "results": {"bindings": rows}}
        fmt = RESULT_TYPES[media]
        if fmt != QueryResultsFormat.JSON:  # pyoxigraph writes the other formats
            solutions = parse_query_results(json.dumps(doc).encode(), format=QueryResultsFormat.JSON)
            return ProtocolAnswer(solutions.serialize(format=fmt), media, truncated)
        if truncated:
            doc["truncated"] = True  # beside the standard keys, which clients read alone
        return ProtocolAnswer(json.dumps(doc).encode(), media, truncated)
    media = negotiate(accept, list(GRAPH_TYPES))
    triples, truncated = [], False
    for i, t in enumerate(result):  # type: ignore[attr-defined]
        if i >= max_rows:
            truncated = True
            break
        _check(deadline)
        triples.append(t)
    from metakg.kg.vocabulary import PREFIXES

    fmt = GRAPH_TYPES[media]
    prefixes = dict(PREFIXES) if fmt == RdfFormat.TURTLE else None
    return ProtocolAnswer(serialize(triples, format=fmt, prefixes=prefixes) or b"", media, truncated)


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise QueryLimitExceeded("The query ran past its time limit and was stopped; narrow it "
                                 "or add a LIMIT.", "time")


def _term_json(term: object) -> dict[str, object]:
    """One RDF term in the SPARQL 1.1 (and 1.2, for triple terms) results JSON format."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        out: dict[str, object] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, Triple):
        return {"type": "triple", "value": {"subject": _term_json(term.subject),
                                             "predicate": _term_json(term.predicate),
                                             "object": _term_json(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")
