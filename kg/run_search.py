"""Search runs with a small filter language in the spirit of MLflow's ``search_runs``.

Grammar: conditions joined by ``and``; each ``KEY OP VALUE`` where KEY is one of

- ``metrics.<measure>``: the run's mean score (``metrics.roc_auc``);
- ``params.<name>``: a parameter of the run's configuration (``params.num_leaves``), and
  ``params.family`` its family;
- ``tags.<key>``;
- ``dataset`` (name, or id with ``=``), ``principal`` (who logged it), ``status``
  (``completed``, ``failed``, ``running``), ``source`` (``runner``, ``api``, ``openml``...),
  ``started`` (ISO time, UTC unless it says otherwise);

OP is one of ``= != < <= > >=``, ``LIKE`` and ``ILIKE`` (``%`` any text, ``_`` one
character; ``ILIKE`` ignores case); VALUE a number, ``true``/``false``, or a quoted string.
``!=`` also matches runs that lack the key. Example:
``metrics.roc_auc > 0.8 and params.family = 'lightgbm' and tags.team = 'risk'``.

The whole search (every condition, the order and the page) is one SPARQL query, so only the
page's runs are read in full. Every value of a filter is bound as an RDF term through the
store's bindings, never written into the query text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from pyoxigraph import Literal, NamedNode

from metakg.kg.entities import principal_iri
from metakg.kg.errors import InvalidData, NotFound
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.measures import MEASURES
from metakg.kg.run_nquads import MEAN_PREDICATES, mean_predicate
from metakg.kg.vocabulary import XSD, entity

__all__ = ["Condition", "FoundRun", "Ordering", "get_run", "parse_filter", "parse_order",
           "search_query", "search_runs", "stored_runs"]

_TOKEN = re.compile(
    r"""\s*(?P<key>[A-Za-z_][\w.\-]*)\s*
        (?P<op><=|>=|!=|=|<|>|\bI?LIKE\b)\s*
        (?P<val>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?
               |\btrue\b|\bfalse\b)
        \s*(?P<and>\bAND\b)?""", re.IGNORECASE | re.VERBOSE)
_COMPARE = ("=", "!=", "<", "<=", ">", ">=")
_TEXT = ("=", "!=", "LIKE", "ILIKE")
#: Which operators each kind of key takes.
_OPS: dict[str, tuple[str, ...]] = {
    "metrics": _COMPARE, "params": (*_COMPARE, "LIKE", "ILIKE"), "tags": _TEXT,
    "dataset": _TEXT, "principal": _TEXT, "status": _TEXT, "source": _TEXT,
    "started": _COMPARE,
}
_SIMPLE = ("dataset", "principal", "status", "source", "started")
_ORDER = re.compile(r"\s*([A-Za-z_][\w.\-]*)(?:\s+(ASC|DESC))?\s*", re.IGNORECASE)
_ID = re.compile(r"[A-Za-z0-9._~-]{1,200}")
_DATASET_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Condition:
    """One parsed condition: ``kind`` is metrics, params, tags or a simple key (dataset,
    principal, status, source, started); ``key`` the name after the dot (or the key)."""

    kind: str
    key: str
    op: str
    value: str | float | int | bool


@dataclass(frozen=True)
class Ordering:
    """A parsed ``order_by``: the key (as in a condition) and the direction."""

    kind: str
    key: str
    descending: bool = False


@dataclass(frozen=True)
class FoundRun:
    """A run as search returns it (ids are the last segment of the entity IRIs)."""

    id: str
    task: str
    dataset: str
    dataset_name: str
    config: dict[str, Any]
    config_id: str
    family: str
    status: str
    principal: str | None = None
    source: str | None = None
    started: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


# ----- parsing ---------------------------------------------------------------------------
def _split_key(key: str, where: str) -> tuple[str, str]:
    kind, dot, name = key.partition(".")
    if kind in ("metrics", "params", "tags"):
        if not dot or not name:
            raise InvalidData(f"{where}: {key!r} needs a name after the dot, e.g. "
                              f"{ {'metrics': 'metrics.roc_auc', 'params': 'params.family'}.get(kind, 'tags.team')}.")
        if kind == "metrics" and name not in MEASURES:
            raise InvalidData(f"{where}: unknown metric {name!r}; known: {', '.join(MEASURES)}.")
        return kind, name
    if key in _SIMPLE and not dot:
        return key, key
    raise InvalidData(f"{where}: unknown key {key!r}; use metrics.<measure>, params.<name>, "
                      f"tags.<key>, or one of {', '.join(_SIMPLE)}.")


def _value(raw: str) -> str | float | int | bool:
    if raw[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return int(raw) if re.fullmatch(r"-?\d+", raw) else float(raw)


def _check(kind: str, key: str, op: str, value: Any, raw: str) -> Any:
    """The condition's value, checked against its key and operator."""
    name = f"{kind}.{key}" if kind in ("metrics", "params", "tags") else kind
    if op not in _OPS[kind]:
        raise InvalidData(f"{name} takes {' '.join(_OPS[kind])}, not {op}.")
    if op in ("LIKE", "ILIKE") and not isinstance(value, str):
        raise InvalidData(f"{op} needs a quoted pattern, not {raw}.")
    if kind == "metrics" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidData(f"{name} is a number; compare it with one, not {raw}.")
    if kind in ("tags", "dataset", "principal", "status", "source", "started") \
            and not isinstance(value, str):
        raise InvalidData(f"{name} is text; quote the value: {name} {op} '{raw}'.")
    if kind == "started":
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidData(f"started needs an ISO time such as '2024-05-01' or "
                              f"'2024-05-01T12:00:00+00:00', not {raw}.") from None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
        return when.astimezone(UTC).isoformat()
    return value


_KEY = re.compile(r"\s*[A-Za-z_][\w.\-]*\s*")
_OP = re.compile(r"(?:<=|>=|!=|=|<|>|\bI?LIKE\b)\s*", re.IGNORECASE)


def _explain(text: str, pos: int) -> None:
    """Raise with the exact place where a condition stops making sense, when it can be told."""
    key = _KEY.match(text, pos)
    if key is None:
        return
    op = _OP.match(text, key.end())
    if op is None:
        raise InvalidData(f"Expected an operator (= != < <= > >= LIKE ILIKE) at character "
                          f"{key.end()} of the filter: {text[key.end():key.end() + 30]!r}.")
    if text[op.end():op.end() + 1] in ("=", "<", ">", "!"):
        raise InvalidData(f"Unknown operator {text[op.start():op.end() + 1].strip()!r} at "
                          f"character {op.start()} of the filter; use = != < <= > >= LIKE "
                          "ILIKE.")
    raise InvalidData(f"Expected a value at character {op.end()} of the filter: a number, "
                      f"true, false or a quoted string, not {text[op.end():op.end() + 30]!r}.")


def parse_filter(text: str) -> list[Condition]:
    """Parse a filter string (see the module docstring).

    Returns:
        The conditions, in order; none for an empty string.

    Raises:
        InvalidData: what could not be read, where, and the form that is expected.
    """
    out: list[Condition] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            _explain(text, pos)
            raise InvalidData(
                f"Cannot read the filter at character {pos}: {text[pos:pos + 40]!r}. Use "
                "KEY OP VALUE joined by 'and', e.g. metrics.roc_auc > 0.8 and "
                "params.family = 'lightgbm' (strings quoted, OP one of = != < <= > >= LIKE "
                "ILIKE).")
        key, op, raw = m.group("key"), m.group("op").upper(), m.group("val")
        kind, name = _split_key(key, f"filter at character {pos}")
        value = _check(kind, name, op, _value(raw), raw)
        out.append(Condition(kind, name, op, value))
        pos = m.end()
        if not m.group("and") and pos < len(text):
            raise InvalidData(f"Expected 'and' at character {pos} of the filter.")
        if m.group("and") and pos >= len(text):
            raise InvalidData(f"The filter ends with 'and' at character {m.start('and')}; "
                              "add a condition after it or remove it.")
    return out


def parse_order(text: str | None) -> Ordering | None:
    """Parse ``order_by``: ``KEY [ASC|DESC]``, KEY as in a filter except ``tags.*``.

    Raises:
        InvalidData: malformed text or a key that cannot be ordered on.
    """
    if text is None or not text.strip():
        return None
    m = _ORDER.fullmatch(text)
    if not m:
        raise InvalidData(f"order_by must be 'KEY [ASC|DESC]', e.g. 'metrics.roc_auc DESC', "
                          f"not {text!r}.")
    kind, key = _split_key(m.group(1), "order_by")
    if kind == "tags":
        raise InvalidData("order_by cannot use tags; order by metrics.*, params.*, dataset, "
                          "principal, status, source or started.")
    return Ordering(kind, key, (m.group(2) or "ASC").upper() == "DESC")


# ----- translation -----------------------------------------------------------------------
def _like(pattern: str) -> str:
    """The regular expression of a LIKE pattern (``%`` any text, ``_`` one character)."""
    return "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                         for c in pattern) + "$"


class _Query:
    """Builds the search query: patterns, and the values bound to its variables."""

    def __init__(self) -> None:
        self.patterns: list[str] = []
        self.bind: dict[str, Any] = {}

    def var(self, name: str, value: Any) -> str:
        """A variable bound to ``value`` (an RDF term or a Python literal)."""
        self.bind[name] = value
        return f"?{name}"

    def condition(self, i: int, c: Condition) -> None:
        """Add the patterns of condition number ``i``."""
        b, v = f"b{i}", f"?v{i}"
        if c.kind == "tags":
            if c.op in ("=", "!="):
                self._equal(c.op, f"?r mkg:tag {self.var(b, f'{c.key}={c.value}')} .")
            else:
                self.patterns.append(f"?r mkg:tag {v} .")
                self._regex(i, v, "^" + re.escape(f"{c.key}=") + _like(str(c.value))[1:], c.op)
            return
        if c.kind == "principal":
            if c.op in ("=", "!="):
                self._equal(c.op, f"?r prov:wasAssociatedWith "
                                  f"{self.var(b, principal_iri(str(c.value)))} .")
            else:  # the principal's IRI ends with its name, percent-encoded
                self.patterns.append(f"?r prov:wasAssociatedWith {v} .")
                self._regex(i, f"STR({v})", "^" + re.escape(principal_iri("").value)
                            + _like(quote(str(c.value), safe="%_"))[1:], c.op)
            return
        if c.kind == "dataset" and c.op == "=":  # from the dataset to its runs
            if _DATASET_ID.fullmatch(str(c.value)):
                dataset = self.var(b, entity("dataset", str(c.value)))
            else:
                dataset = f"?d{i}"
                self.patterns.append(f"?d{i} dcterms:title {self.var(b, c.value)} .")
            self.patterns.append(f"?t{i} mls:definedOn {dataset} . ?r mls:achieves ?t{i} .")
            return
        subject, path = self._path(i, c)
        value = Literal(str(c.value), datatype=XSD.dateTime) if c.kind == "started" else c.value
        exact = isinstance(value, str | bool | Literal) and c.kind != "started"
        if c.op in ("=", "!=") and exact:  # an exact term: an index lookup
            self._equal(c.op, f"{subject} {path} {self.var(b, value)} .")
        elif c.op == "!=":
            self.patterns.append(f"FILTER NOT EXISTS {{ {subject} {path} {v} . "
                                 f"FILTER({v} = {self.var(b, value)}) }}")
        elif c.op in ("LIKE", "ILIKE"):
            self.patterns.append(f"{subject} {path} {v} .")
            self._regex(i, f"STR({v})", _like(str(c.value)), c.op)
        else:
            self.patterns.append(f"{subject} {path} {v} . FILTER({v} {c.op} {self.var(b, value)})")

    def _path(self, i: int, c: Condition) -> tuple[str, str]:
        """The subject and the path from it to the value of condition ``i``."""
        if c.kind == "metrics":  # one triple: the run's mkg:mean_<measure> value
            return "?r", self.var(f"m{i}", mean_predicate(c.key))
        if c.kind == "params" and c.key == "family":
            return "?c", "mkg:family"
        if c.kind == "params":
            return "?c", (f"mkg:param ?p{i} . ?p{i} mkg:paramName {self.var(f'n{i}', c.key)} ; "
                          "mkg:paramValue")
        if c.kind == "dataset":
            return "?r", f"mls:achieves ?t{i} . ?t{i} mls:definedOn ?d{i} . ?d{i} dcterms:title"
        return "?r", {"status": "mkg:status", "source": "mkg:source",
                      "started": "prov:startedAtTime"}[c.kind]

    def _equal(self, op: str, pattern: str) -> None:
        self.patterns.append(pattern if op == "=" else f"FILTER NOT EXISTS {{ {pattern} }}")

    def _regex(self, i: int, text: str, regex: str, op: str) -> None:
        flags = self.var(f"f{i}", "i" if op == "ILIKE" else "")
        self.patterns.append(f"FILTER(REGEX({text}, {self.var(f'x{i}', regex)}, {flags}))")

    def order(self, o: Ordering, conds: list[Condition], *, missing: bool) -> str:
        """Add what ordering by ``o`` needs and return the ORDER BY clause; with ``missing``,
        keep only the runs that lack the key instead (nothing to order them by)."""
        same = next((i for i, c in enumerate(conds) if (c.kind, c.key) == (o.kind, o.key)
                     and c.kind in ("metrics", "params", "started")
                     and c.op not in ("=", "!=") and (c.kind, c.key) != ("params", "family")),
                    None)
        if same is not None:  # ordered on a value the filter already reads
            return f"ORDER BY {'DESC' if o.descending else 'ASC'}(?v{same})"
        if o.kind == "metrics":
            pattern = f"?r {self.var('om', mean_predicate(o.key))} ?ov ."
        elif o.kind == "params" and o.key != "family":
            pattern = (f"?c mkg:param ?op . ?op mkg:paramName {self.var('on', o.key)} ; "
                       "mkg:paramValue ?ov .")
        else:
            pattern = {
                "params": "?c mkg:family ?ov .",
                "dataset": "?r mls:achieves ?ot . ?ot mls:definedOn ?od . ?od dcterms:title ?ov .",
                "principal": "?r prov:wasAssociatedWith ?ov .",
                "status": "?r mkg:status ?ov .", "source": "?r mkg:source ?ov .",
                "started": "?r prov:startedAtTime ?ov .",
            }[o.kind]
        if missing:
            self.patterns.append(f"FILTER NOT EXISTS {{ {pattern} }}")
            return ""
        # A required pattern, not an OPTIONAL one: the store would read an OPTIONAL group
        # for every run of the graph. Runs without the key come after, from a second query.
        self.patterns.append(pattern)
        return f"ORDER BY {'DESC' if o.descending else 'ASC'}(?ov)"


def _rank(c: Condition) -> int:
    """How early a condition's patterns are joined: exact matches on rare values first,
    ranges over many runs (metrics) late, negations last."""
    if c.op == "!=":
        return 9
    if c.op == "=" and c.kind in ("tags", "principal", "dataset"):
        return 0
    if c.op == "=" and c.kind == "params" and isinstance(c.value, str | bool):
        return 1
    if c.op == "=" and c.kind in ("source", "status"):
        return 2
    return {"params": 3, "metrics": 5}.get(c.kind, 4)


#: Keys every run has: ordering by them leaves no run out.
_ALWAYS = {("params", "family"), ("status", "status"), ("dataset", "dataset")}


def _may_lack(ordering: Ordering | None, conditions: list[Condition]) -> bool:
    """Whether some matching runs may lack the ordering key (and come after the others)."""
    if ordering is None or (ordering.kind, ordering.key) in _ALWAYS:
        return False
    return not any((c.kind, c.key) == (ordering.kind, ordering.key) and c.op != "!="
                   for c in conditions)


def search_query(conditions: list[Condition], ordering: Ordering | None = None, *,
                 limit: int | None = 100, offset: int = 0, missing: bool = False,
                 count: bool = False) -> tuple[str, dict[str, Any]]:
    """The SPARQL query of a search and the values bound to its variables.

    Args:
        conditions: from :func:`parse_filter`.
        ordering: from :func:`parse_order`; ``None``: in the store's order (stable while
            the graph does not change).
        limit: the page's size (``None``: no limit).
        offset: how many matching runs come before the page.
        missing: select the matching runs that lack the ordering key (not ordered).
        count: select ``?n``, how many runs match (with the key unless ``missing``).

    Returns:
        ``(query, bindings)``: the query selects ``?r``, the page's run IRIs in order. No
        value of a condition is in the text; the page's bounds are integers.
    """
    q = _Query()
    # The store joins the patterns in the order written: the most selective first, then the
    # run's configuration, the rest, and the negations (!=) last.
    # The configuration (?c) is joined only where a parameter needs it, or to list every run.
    steps = sorted(enumerate(conditions), key=lambda ic: _rank(ic[1]))
    anchor = not any(c.op != "!=" for c in conditions) or any(
        c.kind == "params" for c in conditions) or (ordering is not None
                                                    and ordering.kind == "params")
    if (anchor and not missing and ordering is not None and ordering.kind == "metrics"
            and not any(c.kind == "params" for c in conditions)):
        # Only negations, if anything: the order's triple lists the runs that have the key
        # (one index scan) instead of a lookup for each run of the graph.
        anchor = False
    if anchor and (not steps or steps[0][1].op == "!="):
        q.patterns.append("?r mkg:configuration ?c .")
    for n, (i, c) in enumerate(steps):
        q.condition(i, c)
        if anchor and n == 0 and c.op != "!=":
            q.patterns.append("?r mkg:configuration ?c .")
    order = q.order(ordering, conditions, missing=missing) if ordering is not None else ""
    body = "\n  ".join(q.patterns)
    if count:
        return f"SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{\n  {body}\n}}", q.bind
    page = (f"LIMIT {int(limit)} " if limit is not None else "") + f"OFFSET {int(offset)}"
    return f"SELECT DISTINCT ?r WHERE {{\n  {body}\n}}\n{order}\n{page}", q.bind


def search_runs(graph: KnowledgeGraph, filter_string: str = "", *, order_by: str | None = None,
                limit: int = 100, offset: int = 0) -> list[FoundRun]:
    """Runs matching a filter, ordered and paged by the store (see the module docstring).

    Args:
        graph: the graph.
        filter_string: e.g. ``metrics.roc_auc > 0.8 and params.family = 'lightgbm'``;
            empty: every run.
        order_by: ``KEY [ASC|DESC]``, e.g. ``metrics.roc_auc DESC``; runs without the key
            come last; without ``order_by``, the store's order (stable while the graph does
            not change).
        limit: at most this many runs (>= 1).
        offset: skip this many matching runs first (>= 0).

    Returns:
        The page's runs with their configuration, tags and mean scores.

    Raises:
        InvalidData: a malformed filter or order, or a bad page.
    """
    if limit < 1 or offset < 0:
        raise InvalidData(f"limit must be >= 1 and offset >= 0, not {limit} and {offset}.")
    conditions = parse_filter(filter_string) if filter_string.strip() else []
    ordering = parse_order(order_by)
    query, bind = search_query(conditions, ordering, limit=limit, offset=offset)
    ids = [row["r"] for row in graph.store.select(query, bind or None)]
    if len(ids) < limit and _may_lack(ordering, conditions):
        if ids:
            with_key = offset + len(ids)
        else:  # the page starts after the runs with the key: how many are there?
            query, bind = search_query(conditions, ordering, count=True)
            with_key = int(graph.store.select(query, bind or None)[0]["n"])
        query, bind = search_query(conditions, ordering, limit=limit - len(ids),
                                   offset=max(0, offset - with_key), missing=True)
        ids += [row["r"] for row in graph.store.select(query, bind or None)]
    return _details(graph, ids)


def get_run(graph: KnowledgeGraph, run_id: str) -> FoundRun:
    """One run by id, as :func:`search_runs` returns it.

    Raises:
        NotFound: no run has this id.
    """
    if _ID.fullmatch(run_id):
        node = entity("run", run_id)
        if graph.store.ask("ASK { ?r mkg:configuration ?c }", {"r": node}):
            found = _details(graph, [node.value])
            if found:
                return found[0]
    raise NotFound(f"No run {run_id!r} in the graph; find runs with GET /runs?filter=... "
                   "or Client.search_runs.")


# Each query starts from the page's runs and joins only required patterns, so the store
# follows each run's own triples; OPTIONAL groups would be read for every run of the graph.
_HEADERS = """SELECT ?r ?t ?d ?c ?fam ?json ?status WHERE {{ VALUES ?r {{ {values} }}
  ?r mls:achieves ?t ; mkg:configuration ?c ; mkg:status ?status .
  ?t mls:definedOn ?d . ?c mkg:family ?fam ; mkg:json ?json }}"""
# A run's own values, tags and mean scores in one scan of its triples.
_EXTRAS = """SELECT ?r ?p ?o WHERE {{ VALUES ?r {{ {values} }} ?r ?p ?o
  FILTER(?p IN (prov:wasAssociatedWith, mkg:source, prov:startedAtTime, mkg:tag, {means})) }}"""
_MEANS = ", ".join(str(p) for p in MEAN_PREDICATES.values())
_TITLES = """SELECT ?d ?title WHERE {{ VALUES ?d {{ {values} }} ?d dcterms:title ?title }}"""
_EXTRA_KEYS = {"http://www.w3.org/ns/prov#wasAssociatedWith": "principal",
               "https://w3id.org/metakg/ns#source": "source",
               "http://www.w3.org/ns/prov#startedAtTime": "started",
               "https://w3id.org/metakg/ns#tag": "tags",
               **{p.value: m for m, p in MEAN_PREDICATES.items()}}


def _lexical(graph: KnowledgeGraph, query: str, names: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Each row of ``query`` as the lexical values of ``names`` (all bound): converting
    every term as :meth:`Store.select` does costs as much as the queries on a page of runs."""
    for row in graph.store.query(query):
        yield tuple(row[n].value for n in names)  # type: ignore[index]


def _terms(iris: list[str]) -> str:
    """IRIs read from the store, written as N-Triples terms by pyoxigraph."""
    return " ".join(str(NamedNode(i)) for i in iris)


def stored_runs(graph: KnowledgeGraph, iris: list[str]) -> list[FoundRun]:
    """The runs of these IRIs (as the store gives them) in full, in that order.

    Args:
        graph: the knowledge graph.
        iris: run IRIs read from the store.

    Returns:
        The runs found (an IRI that is no complete run is left out).
    """
    return _details(graph, iris)


def _details(graph: KnowledgeGraph, ids: list[str]) -> list[FoundRun]:
    """The runs of ``ids`` (IRIs read from the store) in full, in that order."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        values = _terms(ids[start:start + 500])
        for r, t, d, c, fam, text, status in _lexical(
                graph, _HEADERS.format(values=values),
                ("r", "t", "d", "c", "fam", "json", "status")):
            out.setdefault(r, {
                "id": _tail(r), "task": _tail(t), "dataset": d, "dataset_name": "",
                "config": json.loads(text), "config_id": _tail(c), "family": fam,
                "status": status, "tags": {}, "metrics": {}})
        for r, p, o in _lexical(graph, _EXTRAS.format(values=values, means=_MEANS),
                                ("r", "p", "o")):
            entry, key = out.get(r), _EXTRA_KEYS[p]
            if entry is None:
                continue
            if key == "principal":
                entry[key] = unquote(_tail(o))
            elif key == "tags":
                k, _, v = o.partition("=")
                entry["tags"][k] = v
            elif key in MEAN_PREDICATES:
                entry["metrics"][key] = float(o)  # xsd:double: NaN, INF and -INF included
            else:
                entry[key] = o
    datasets = sorted({e["dataset"] for e in out.values()})
    titles: dict[str, str] = {}
    for row in graph.store.select(_TITLES.format(values=_terms(datasets))) if datasets else []:
        if row["d"] not in titles or row["title"] < titles[row["d"]]:
            titles[row["d"]] = row["title"]  # several titles: the first by name
    for entry in out.values():
        entry["dataset_name"] = titles.get(entry["dataset"], "")
        entry["dataset"] = _tail(entry["dataset"])
    return [FoundRun(**out[i]) for i in ids if i in out]


def _tail(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]
