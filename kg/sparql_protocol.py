"""Answer a SPARQL protocol request: read-only, capped and time-limited."""

from __future__ import annotations

import csv
import io
import json
import time

from pyoxigraph import QueryBoolean, QuerySolutions

from metakg.kg.errors import QueryError
from metakg.kg.store.base import Store, python_value

__all__ = ["run_protocol_query"]


def run_protocol_query(store: Store, query: str, accept: str = "", *, timeout_s: float = 10.0,
                       max_rows: int = 10_000) -> tuple[bytes, str]:
    """Run a read-only query and serialise results as SPARQL JSON or CSV.

    Results are read lazily; reading stops with an error past ``timeout_s`` and is cut at
    ``max_rows`` (the JSON then carries ``"truncated": true``).

    Raises:
        QueryError: an update, a malformed query, or past the time limit.
    """
    start = time.monotonic()
    result = store.query(query, prefixes=False)
    if isinstance(result, QueryBoolean):
        return json.dumps({"head": {}, "boolean": bool(result)}).encode(), "application/sparql-results+json"
    if not isinstance(result, QuerySolutions):
        lines = []
        for i, t in enumerate(result):
            if i >= max_rows or time.monotonic() - start > timeout_s:
                break
            lines.append(f"{t.subject} {t.predicate} {t.object} .")
        return ("\n".join(lines) + "\n").encode(), "application/n-triples"
    names = [v.value for v in result.variables]
    bindings, truncated = [], False
    for i, sol in enumerate(result):
        if i >= max_rows:
            truncated = True
            break
        if time.monotonic() - start > timeout_s:
            raise QueryError(f"The query ran past the {timeout_s:g} s limit; narrow it or add a LIMIT.")
        bindings.append({n: sol[n] for n in names if sol[n] is not None})
    if "text/csv" in accept:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(names)
        for b in bindings:
            w.writerow(["" if b.get(n) is None else python_value(b[n]) for n in names])
        return buf.getvalue().encode(), "text/csv"
    doc = {"head": {"vars": names},
           "results": {"bindings": [{n: _term_json(t) for n, t in b.items()} for b in bindings]}}
    if truncated:
        doc["truncated"] = True
    return json.dumps(doc).encode(), "application/sparql-results+json"


def _term_json(term: object) -> dict[str, str]:
    from pyoxigraph import BlankNode, Literal, NamedNode

    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif not term.datatype.value.endswith("#string"):
            out["datatype"] = term.datatype.value
        return out
    return {"type": "literal", "value": str(term)}
