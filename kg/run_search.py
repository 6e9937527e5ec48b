"""Search runs with a small filter language in the spirit of MLflow's ``search_runs``.

Grammar: conditions joined by ``and``; each ``KEY OP VALUE`` where KEY is
``metrics.<measure>``, ``params.<name>`` (``params.family`` too), ``tags.<key>``,
``dataset`` (name or id), ``principal``, ``status``, ``source``, ``started`` (ISO time);
OP is one of ``= != < <= > >=`` (``LIKE`` for strings); VALUE a number or a quoted string.
Example: ``metrics.roc_auc > 0.8 and params.family = 'lightgbm' and tags.team = 'risk'``.

Values are bound as RDF terms, never formatted into SPARQL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from metakg.kg.errors import InvalidData
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.measures import MEASURES
from metakg.kg.vocabulary import entity

__all__ = ["Condition", "parse_filter", "search_runs"]

_TOKEN = re.compile(r"""\s*(?:(?P<key>[A-Za-z_][\w.\-]*)\s*(?P<op><=|>=|!=|=|<|>|\bLIKE\b)\s*
                      (?P<val>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))
                      \s*(?P<and>\bAND\b|$)""", re.IGNORECASE | re.VERBOSE)
_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "LIKE": "LIKE"}
_SIMPLE = {"principal", "status", "source", "dataset", "started"}


@dataclass(frozen=True)
class Condition:
    """One parsed condition."""

    kind: str  # metrics, params, tags, or a simple attribute
    key: str
    op: str
    value: Any


def parse_filter(text: str) -> list[Condition]:
    """Parse a filter string.

    Raises:
        InvalidData: with the position and the part that could not be read.
    """
    out: list[Condition] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise InvalidData(
                f"Cannot read the filter at character {pos}: {text[pos:pos + 40]!r}. Use "
                "KEY OP VALUE joined by 'and', e.g. metrics.roc_auc > 0.8 and "
                "params.family = 'lightgbm'.")
        key, op, raw = m.group("key"), m.group("op").upper(), m.group("val")
        value: Any = (raw[1:-1].replace("\\'", "'").replace('\\"', '"') if raw[0] in "'\""
                      else float(raw))
        kind, _, name = key.partition(".")
        if kind in ("metrics", "params", "tags"):
            if not name:
                raise InvalidData(f"{key!r} needs a name after the dot, e.g. {kind}.roc_auc.")
            if kind == "metrics" and name not in MEASURES:
                raise InvalidData(f"Unknown metric {name!r}; known: {', '.join(MEASURES)}.")
        elif key not in _SIMPLE:
            raise InvalidData(f"Unknown filter key {key!r}; use metrics.*, params.*, tags.*, "
                              f"or one of {', '.join(sorted(_SIMPLE))}.")
        else:
            kind, name = key, key
        if op == "LIKE" and not isinstance(value, str):
            raise InvalidData(f"LIKE needs a quoted pattern, not {raw}.")
        out.append(Condition(kind, name, _OPS[op], value))
        pos = m.end()
        if not m.group("and") and pos < len(text):
            raise InvalidData(f"Expected 'and' at character {pos}.")
    return out


def _like(pattern: str) -> str:
    return "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$"


def search_runs(graph: KnowledgeGraph, filter_string: str = "", *, order_by: str | None = None,
                limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Runs matching a filter, ordered (``metrics.roc_auc DESC``, ``started ASC``) and paged.

    Returns:
        Dicts with id, task, dataset, dataset_name, config, family, status, principal, source,
        started, tags, metrics (means).

    Raises:
        InvalidData: malformed filter or order.
    """
    conds = parse_filter(filter_string) if filter_string.strip() else []
    patterns, bind = [], {}
    for i, c in enumerate(conds):
        v, b = f"?v{i}", f"?b{i}"
        if c.kind == "metrics":
            patterns.append(f"?r mkg:meanEvaluation ?e{i} . "
                            f"?e{i} mls:specifiedBy ?m{i} ; mls:hasValue {v} .")
            bind[f"m{i}"] = entity("measure", c.key)
        elif c.kind == "tags":
            patterns.append(f"?r mkg:tag {v} .")
            bind[f"b{i}"] = f"{c.key}={c.value}"
            if c.op not in ("=", "!="):
                raise InvalidData("tags.* support = and != only.")
            if c.op == "!=":
                patterns[-1] = f"FILTER NOT EXISTS {{ ?r mkg:tag {b} }}"
            else:
                patterns[-1] = f"?r mkg:tag {b} ."
            continue
        elif c.kind == "params":
            continue  # filtered on the configuration JSON below
        elif c.kind == "dataset":
            patterns.append(f"?d dcterms:title {v} .")
        elif c.kind == "principal":
            patterns.append(f"?r prov:wasAssociatedWith ?p{i} . ?p{i} mkg:name {v} .")
        elif c.kind == "started":
            patterns.append(f"?r prov:startedAtTime {v} .")
        else:
            patterns.append(f"?r mkg:{c.kind} {v} .")
        if c.op == "LIKE":
            patterns.append(f"FILTER(REGEX(STR({v}), {b}))")
            bind[f"b{i}"] = _like(c.value)
        else:
            patterns.append(f"FILTER({v} {c.op} {b})")
            val = c.value
            if c.kind == "started":
                from pyoxigraph import Literal

                from metakg.kg.vocabulary import XSD

                val = Literal(str(c.value), datatype=XSD.dateTime)
            bind[f"b{i}"] = val
    query = f"""SELECT ?r WHERE {{ ?r a mls:Run ; mls:achieves ?t . ?t mls:definedOn ?d .
                 {' '.join(patterns)} }}"""
    ids = [row["r"] for row in graph.store.select(query, bind or None)]
    runs = _details(graph, ids)
    for c in conds:
        if c.kind == "params":
            runs = [r for r in runs if _param_match(r, c)]
    if order_by:
        runs = _order(runs, order_by)
    return runs[offset: offset + limit]


def _details(graph: KnowledgeGraph, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    from pyoxigraph import NamedNode

    out: dict[str, dict[str, Any]] = {}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk:chunk + 500]
        values = " ".join(str(NamedNode(i)) for i in part)
        rows = graph.store.select(
            f"""SELECT ?r ?t ?d ?dn ?c ?fam ?json ?status ?who ?src ?start ?tag ?mn ?mv WHERE {{
                 VALUES ?r {{ {values} }}
                 ?r mls:achieves ?t ; mkg:configuration ?c ; mkg:status ?status .
                 ?t mls:definedOn ?d . ?d dcterms:title ?dn . ?c mkg:family ?fam ; mkg:json ?json .
                 OPTIONAL {{ ?r prov:wasAssociatedWith ?who }}
                 OPTIONAL {{ ?r mkg:source ?src }} OPTIONAL {{ ?r prov:startedAtTime ?start }}
                 OPTIONAL {{ ?r mkg:tag ?tag }}
                 OPTIONAL {{ ?r mkg:meanEvaluation ?e . ?e mls:hasValue ?mv ;
                            mls:specifiedBy ?m . ?m dcterms:title ?mn }} }}""")
        for row in rows:
            rid = row["r"]
            entry = out.setdefault(rid, {
                "id": rid.rsplit("/", 1)[-1], "task": row["t"].rsplit("/", 1)[-1],
                "dataset": row["d"].rsplit("/", 1)[-1], "dataset_name": row["dn"],
                "config": json.loads(row["json"]), "config_id": row["c"].rsplit("/", 1)[-1],
                "family": row["fam"], "status": row["status"],
                "principal": _name(row.get("who")), "source": row.get("src"),
                "started": row.get("start"), "tags": {}, "metrics": {}})
            if "tag" in row:
                k, _, v = row["tag"].partition("=")
                entry["tags"][k] = v
            if "mn" in row:
                entry["metrics"][row["mn"]] = row["mv"]
    return [out[i] for i in ids if i in out]


def _name(iri: str | None) -> str | None:
    if not iri:
        return None
    from urllib.parse import unquote

    return unquote(iri.rsplit("/", 1)[-1])


def _param_match(run: dict[str, Any], c: Condition) -> bool:
    value = run["family"] if c.key == "family" else run["config"].get("params", {}).get(c.key)
    if value is None:
        return c.op == "!="
    try:
        if c.op == "LIKE":
            return re.match(_like(str(c.value)), str(value)) is not None
        a, b = (float(value), float(c.value)) if isinstance(c.value, float) else (str(value), c.value)
        return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[c.op]
    except (TypeError, ValueError):
        return False


def _order(runs: list[dict[str, Any]], order_by: str) -> list[dict[str, Any]]:
    m = re.fullmatch(r"\s*([\w.\-]+)(?:\s+(ASC|DESC))?\s*", order_by, re.IGNORECASE)
    if not m:
        raise InvalidData(f"order_by must be 'KEY [ASC|DESC]', not {order_by!r}.")
    key, desc = m.group(1), (m.group(2) or "ASC").upper() == "DESC"
    kind, _, name = key.partition(".")

    def get(r: dict[str, Any]) -> Any:
        if kind == "metrics":
            return r["metrics"].get(name)
        if kind == "params":
            return r["config"].get("params", {}).get(name)
        return r.get(key)

    present = [r for r in runs if get(r) is not None]
    absent = [r for r in runs if get(r) is None]
    return sorted(present, key=get, reverse=desc) + absent
