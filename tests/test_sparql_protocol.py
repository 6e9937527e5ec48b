"""/sparql: the SPARQL 1.1 Protocol's query operation, its limits, and the query workers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad

from metakg.api.app import create_app
from metakg.api.keys import create_key
from metakg.api.routes.sparql import QueryGate
from metakg.api.settings import Settings
from metakg.kg import OxigraphStore
from metakg.kg.errors import QueryLimitExceeded, QuerySyntaxError, StoreError
from metakg.kg.sparql_protocol import QueryLimits, negotiate

EX = "http://example.org/"
RUN = "http://www.w3.org/ns/mls#Run"
TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: Runs for seconds on 150 quads, with little memory (see test_store_contract).
SLOW_QUERY = ('SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i '
              'FILTER(CONCAT(STR(?c), STR(?f), STR(?i)) = "never") }')
#: Builds an ORDER BY table of 150^4 rows: memory grows until something stops it.
HUNGRY_QUERY = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?c ?f ?i ?l"


def quads(n: int) -> list[Quad]:
    return [Quad(NamedNode(f"{EX}s{i}"), NamedNode(EX + "p"), Literal(str(i)), DefaultGraph())
            for i in range(n)]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """An app on an in-memory store with three runs, one of them in a named graph."""
    app = create_app(Settings(store="memory:", sparql_max_rows=2))
    with TestClient(app) as c:
        g = app.state.graph
        g.store.add([Quad(NamedNode(f"{EX}r{i}"), NamedNode(TYPE), NamedNode(RUN), DefaultGraph())
                     for i in range(3)])
        g.store.add([Quad(NamedNode(EX + "g1"), NamedNode(TYPE), NamedNode(RUN), NamedNode(EX + "graph"))])
        c.headers["X-API-Key"] = create_key(g, "reader", "read")
        yield c


def bindings(r: object) -> list[dict]:
    return r.json()["results"]["bindings"]  # type: ignore[attr-defined]


# ----- the protocol ------------------------------------------------------------------------------
COUNT = "SELECT (COUNT(?r) AS ?n) WHERE { ?r a mls:Run }"


def test_get_post_form_and_post_sparql_query_agree(client: TestClient) -> None:
    get = client.get("/sparql", params={"query": COUNT})
    form = client.post("/sparql", data={"query": COUNT})
    direct = client.post("/sparql", content=COUNT.encode(),
                         headers={"Content-Type": "application/sparql-query; charset=utf-8"})
    for r in (get, form, direct):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/sparql-results+json")
        assert bindings(r)[0]["n"]["value"] == "3"


def test_prefix_with_hash_and_comments(client: TestClient) -> None:
    query = ("PREFIX mls: <http://www.w3.org/ns/mls#>  # ML-Schema { not a group\n"
             "# SELECT ?x { }\n"
             "SELECT (COUNT(?r) AS ?n) WHERE { ?r a mls:Run # each run\n }")
    r = client.get("/sparql", params={"query": query})
    assert r.status_code == 200, r.text
    assert bindings(r)[0]["n"]["value"] == "3"


def test_project_prefixes_are_predeclared(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "SELECT ?x WHERE { BIND(mkg:status AS ?x) BIND(prov:Agent AS ?y) }"})
    assert r.status_code == 200, r.text
    assert bindings(r)[0]["x"]["value"] == "https://w3id.org/metakg/ns#status"


def test_parse_error_is_400_with_message_and_position(client: TestClient) -> None:
    r = client.post("/sparql", content=b"SELECT ?r\nWHERE {\n  ?r a }",
                    headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400
    body = r.json()
    assert body["line"] == 3 and body["column"] >= 8 and f"at 3:{body['column']}" in body["detail"]


def test_updates_are_refused(client: TestClient) -> None:
    r = client.post("/sparql", data={"query": "DELETE WHERE { ?s ?p ?o }"})
    assert r.status_code == 400 and "not DELETE" in r.json()["detail"]
    r = client.post("/sparql", data={"update": "DROP ALL"})
    assert r.status_code == 400 and "read-only" in r.json()["detail"]
    assert bindings(client.get("/sparql", params={"query": COUNT}))[0]["n"]["value"] == "3"


def test_bad_requests(client: TestClient) -> None:
    assert client.post("/sparql", content=b"ASK {}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.post("/sparql", data={"query": ["ASK {}", "ASK {}"]}).status_code == 400
    assert client.post("/sparql", data={"nothing": "x"}).status_code == 400
    r = client.get("/sparql", params={"query": "ASK {}", "default-graph-uri": "not an iri"})
    assert r.status_code == 400 and "not a valid absolute IRI" in r.json()["detail"]
    assert client.post("/sparql", data={"query": "#" * 100_001}).status_code == 413
    assert client.post("/sparql", content=b"#" * 100_001,
                       headers={"Content-Type": "application/sparql-query"}).status_code == 413


def test_content_negotiation(client: TestClient) -> None:
    query = {"query": "SELECT ?r WHERE { ?r a mls:Run } ORDER BY ?r LIMIT 1"}
    r = client.get("/sparql", params=query, headers={"Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv") and r.text.splitlines() == ["r", EX + "r0"]
    r = client.get("/sparql", params=query, headers={"Accept": "text/tab-separated-values"})
    assert r.text.splitlines() == ["?r", f"<{EX}r0>"]
    r = client.get("/sparql", params=query, headers={"Accept": "application/sparql-results+xml"})
    assert r.headers["content-type"].startswith("application/sparql-results+xml") and f"{EX}r0" in r.text
    r = client.get("/sparql", params={"query": "CONSTRUCT { ?r a mls:Run } WHERE { ?r a mls:Run } LIMIT 1"},
                   headers={"Accept": "text/turtle"})
    assert r.headers["content-type"].startswith("text/turtle") and "mls:Run" in r.text
    r = client.get("/sparql", params={"query": "ASK { ?r a mls:Run }"}, headers={"Accept": "text/csv;q=0.1, */*"})
    assert r.json() == {"head": {}, "boolean": True}


def test_row_cap_is_said(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "SELECT ?r WHERE { ?r a mls:Run }"})
    assert len(bindings(r)) == 2 and r.json()["truncated"] is True
    assert r.headers["x-sparql-truncated"] == "true"


def test_dataset_parameters(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": COUNT, "default-graph-uri": EX + "graph"})
    assert bindings(r)[0]["n"]["value"] == "1"
    r = client.post("/sparql", data={"query": "SELECT ?g WHERE { GRAPH ?g { ?r a mls:Run } }",
                                     "named-graph-uri": EX + "graph"})
    assert bindings(r) == [{"g": {"type": "uri", "value": EX + "graph"}}]


def test_negotiate() -> None:
    offered = ["application/sparql-results+json", "text/csv", "text/tab-separated-values"]
    assert negotiate("", offered) == offered[0]
    assert negotiate("text/csv, application/sparql-results+json", offered) == "text/csv"
    assert negotiate("text/*;q=0.5, text/tab-separated-values", offered) == "text/tab-separated-values"
    assert negotiate("text/csv;q=0.2, */*;q=0.9", offered) == offered[0]
    assert negotiate("image/png", offered) == offered[0]


# ----- the gate ----------------------------------------------------------------------------------
def test_gate_refuses_quickly_past_its_limits() -> None:
    async def scenario() -> list[str]:
        gate = QueryGate(total=2, per_client=1, wait_s=0.2)
        events: list[str] = []

        async def query(client: str, hold: float) -> None:
            start = time.monotonic()
            try:
                async with gate.slot(client):
                    events.append(f"run {client}")
                    await asyncio.sleep(hold)
            except HTTPException as exc:
                assert exc.status_code == 503 and time.monotonic() - start < 0.5
                events.append(f"503 {client}")

        await asyncio.gather(query("a", 0.5), query("a", 0.5), query("b", 0.5), query("c", 0.5))
        # a slot freed within the wait is taken
        await asyncio.gather(query("a", 0.15), query("a", 0.01))
        return events

    events = asyncio.run(scenario())
    assert sorted(events[:4]) == ["503 a", "503 c", "run a", "run b"]
    assert events[4:] == ["run a", "run a"]


# ----- the embedded store's workers ---------------------------------------------------------------
@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphStore]:
    store = OxigraphStore(tmp_path_factory.mktemp("sparql") / "store")
    store.add(quads(150))
    store.start_query_workers(1)
    store.query_bounded("ASK {}", limits=QueryLimits(timeout_s=60))  # the worker has started
    yield store
    store.close()


def test_worker_is_killed_at_the_deadline_and_replaced(embedded: OxigraphStore) -> None:
    pool = embedded._query_pool
    pid = pool._idle[0].process.pid  # type: ignore[union-attr]
    start = time.monotonic()
    with pytest.raises(QueryLimitExceeded, match="1 s time limit"):
        embedded.query_bounded(SLOW_QUERY, limits=QueryLimits(timeout_s=1.0))
    assert time.monotonic() - start < 2.0
    assert pool._idle[0].process.pid != pid  # type: ignore[union-attr]
    answer = embedded.query_bounded("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                                    limits=QueryLimits(timeout_s=60))
    assert json.loads(answer.body)["results"]["bindings"][0]["n"]["value"] == "150"


def test_worker_is_killed_past_its_memory(embedded: OxigraphStore) -> None:
    start = time.monotonic()
    with pytest.raises(QueryLimitExceeded, match="300 MB memory limit") as info:
        embedded.query_bounded(HUNGRY_QUERY, limits=QueryLimits(timeout_s=60, memory_mb=300))
    assert info.value.limit == "memory" and time.monotonic() - start < 30


def test_workers_see_writes(embedded: OxigraphStore) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://example.org/q> ?o }"
    before = embedded.query_bounded(count, limits=QueryLimits(timeout_s=60))
    embedded.add([Quad(NamedNode(EX + "x"), NamedNode(EX + "q"), Literal("new"), DefaultGraph())])
    after = embedded.query_bounded(count, limits=QueryLimits(timeout_s=60))
    n = [json.loads(a.body)["results"]["bindings"][0]["n"]["value"] for a in (before, after)]
    assert n == ["0", "1"]


def test_worker_reports_syntax_errors(embedded: OxigraphStore) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        embedded.query_bounded("SELECT * WHERE {\n ?s ?p }", limits=QueryLimits(timeout_s=60))
    assert info.value.line == 2


def test_service_answers_503_at_the_deadline(tmp_path: Path) -> None:
    settings = Settings(store=str(tmp_path / "store"), sparql_timeout_s=1.0, sparql_concurrency=1)
    app = create_app(settings)
    with TestClient(app) as c:
        c.app.state.graph.store.add(quads(150))  # type: ignore[attr-defined]
        c.headers["X-API-Key"] = create_key(c.app.state.graph, "reader", "read")  # type: ignore[attr-defined]
        warm = c.get("/sparql", params={"query": "ASK {}"})
        deadline = time.monotonic() + 60
        while warm.status_code == 503 and time.monotonic() < deadline:  # the worker is starting
            warm = c.get("/sparql", params={"query": "ASK {}"})
        assert warm.status_code == 200
        start = time.monotonic()
        r = c.get("/sparql", params={"query": SLOW_QUERY})
        assert r.status_code == 503 and r.json()["limit"] == "time"
        assert time.monotonic() - start < 1.0 + 1.0


# ----- what the store layer reads from the text --------------------------------------------------
def test_query_form_skips_the_prologue_by_tokens() -> None:
    from metakg.kg.store._sparql_text import query_form

    assert query_form("PREFIX mls: <http://www.w3.org/ns/mls#>\n# DROP ALL\nselect * {}") == "SELECT"
    assert query_form("BASE <http://x/#a> PREFIX my-ns.v2: <http://y#> PREFIX : <z#> ASK {}") == "ASK"
    assert query_form("  # only a comment\n") == ""
    assert query_form("PREFIX a: <http://a#> DELETE WHERE { ?s ?p ?o }") == "DELETE"


def test_values_block_goes_into_the_where_group() -> None:
    from metakg.kg.errors import QueryError
    from metakg.kg.store._sparql_text import insert_values

    text = 'CONSTRUCT { ?s ?p "{" } WHERE { ?s ?p ?o FILTER(?o < 3) }'
    assert insert_values(text, {"s": NamedNode(EX + "a")}) == (
        f'CONSTRUCT {{ ?s ?p "{{" }} WHERE {{ VALUES (?s) {{ (<{EX}a>) }}  ?s ?p ?o FILTER(?o < 3) }}')
    with pytest.raises(QueryError, match="short form"):
        insert_values("CONSTRUCT WHERE { ?s ?p ?o }", {"s": NamedNode(EX + "a")})
    with pytest.raises(QueryError, match="Invalid variable name"):
        insert_values("SELECT * { ?s ?p ?o }", {"s) } DROP ALL": Literal("x")})


def test_a_query_that_stops_its_worker_is_named_and_others_go_on(
        embedded: OxigraphStore) -> None:
    nested = "SELECT * WHERE " + "{" * 5000 + "}" * 5000
    with pytest.raises(StoreError) as info:
        embedded.query_bounded(nested, limits=QueryLimits(timeout_s=60))
    assert "very deeply nested query" in str(info.value)
    assert str(embedded.path) not in str(info.value)  # the server's files are its own business
    answer = embedded.query_bounded("ASK {}", limits=QueryLimits(timeout_s=60))
    assert json.loads(answer.body)["boolean"] is True
