"""Active learning over HTTP and the Python client: a writer asks for proposals (stored as
the open queue), a reader lists them; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

# the small graph with partly run tables that the active-learning tests build
from test_active import PARTIAL, world  # noqa: F401

from metakg.api.client import Client
from metakg.kg import NotFound
from metakg.kg.errors import InvalidData, MetaKGError


@pytest.fixture
def api(world: tuple[Path, Path]) -> Iterator[TestClient]:  # noqa: F811
    from metakg.api.app import create_app
    from metakg.api.keys import create_key
    from metakg.api.settings import Settings

    app = create_app(Settings(store="memory:"))
    with TestClient(app) as c:
        graph = app.state.graph
        graph.store.load(world[0])
        c.keys = {r: create_key(graph, f"{r}-user", r) for r in ("read", "write")}  # type: ignore[attr-defined]
        c.graph = graph  # type: ignore[attr-defined]
        yield c


def _h(c: TestClient, role: str) -> dict[str, str]:
    return {"X-API-Key": c.keys[role]}  # type: ignore[attr-defined]


def test_a_writer_proposes_runs_and_a_reader_lists_the_queue(api: TestClient) -> None:
    r = api.post("/proposals", json={"budget": 4}, headers=_h(api, "write"))
    assert r.status_code == 201, r.text
    made = r.json()["proposals"]
    assert [p["rank"] for p in made] == [1, 2, 3, 4]
    assert {p["dataset"] for p in made} <= set(PARTIAL) and {p["status"] for p in made} == {"open"}
    assert [p["utility"] for p in made] == sorted((p["utility"] for p in made), reverse=True)
    assert all("top 5" in p["reason"] for p in made)

    listed = api.get("/proposals", params={"status": "open"}, headers=_h(api, "read")).json()
    assert [p["id"] for p in listed["proposals"]] == [p["id"] for p in made]
    one = api.get(f"/proposals/{made[0]['id']}", headers=_h(api, "read")).json()
    assert one == made[0]
    on_t7 = api.get("/proposals", params={"dataset": "t7"}, headers=_h(api, "read")).json()
    assert {p["dataset"] for p in on_t7["proposals"]} <= {"t7"}


def test_bad_proposal_requests_get_clear_errors_and_write_nothing(api: TestClient) -> None:
    graph = api.graph  # type: ignore[attr-defined]
    before = len(graph.store)
    r = api.post("/proposals", json={"budget": 3}, headers=_h(api, "read"))
    assert r.status_code == 403
    r = api.post("/proposals", json={"budget": 3, "dataset": "no-such-table"}, headers=_h(api, "write"))
    assert r.status_code == 404 and "no-such-table" in r.json()["detail"]
    r = api.post("/proposals", json={"budget": 3, "dataset": "t0"}, headers=_h(api, "write"))
    assert r.status_code == 422 and "No missing run to propose on dataset t0" in r.json()["detail"]
    r = api.post("/proposals", json={"budget": 0}, headers=_h(api, "write"))
    assert r.status_code == 422
    assert len(graph.store) == before
    assert api.get("/proposals/nope", headers=_h(api, "read")).status_code == 404
    assert api.get("/proposals", params={"status": "maybe"}, headers=_h(api, "read")).status_code == 422


def test_client_proposes_and_lists(api: TestClient) -> None:
    writer = Client("http://testserver", api.keys["write"])  # type: ignore[attr-defined]
    writer._http = api  # the TestClient is an httpx.Client on the same app
    api.headers.update(_h(api, "write"))
    made = writer.propose(budget=2, dataset="t6")
    assert len(made) == 2 and {p["dataset"] for p in made} == {"t6"}
    assert [p["id"] for p in writer.proposals(dataset="t6")] == [p["id"] for p in made]
    with pytest.raises(NotFound, match="no-such-table"):
        writer.proposals(dataset="no-such-table")
    with pytest.raises(InvalidData, match="No missing run"):
        writer.propose(dataset="t0")
    api.headers.update(_h(api, "read"))
    with pytest.raises(MetaKGError, match="403"):
        writer.propose()


def test_the_routes_need_a_key(api: TestClient) -> None:
    assert api.post("/proposals", json={"budget": 2}).status_code == 401
    assert api.get("/proposals").status_code == 401


def test_a_scoped_request_keeps_one_queue_ranked_1_to_n(api: TestClient) -> None:
    h = _h(api, "write")
    first = api.post("/proposals", json={"budget": 6}, headers=h).json()["proposals"]
    scoped = api.post("/proposals", json={"budget": 2, "dataset": "t6"}, headers=h).json()["proposals"]
    queue = api.get("/proposals", params={"status": "open"}, headers=h).json()["proposals"]
    assert [p["rank"] for p in queue] == list(range(1, len(queue) + 1))
    kept = {p["id"] for p in first if p["dataset"] != "t6"}
    assert {p["id"] for p in queue} == kept | {p["id"] for p in scoped}
    assert [p["utility"] for p in queue] == sorted((p["utility"] for p in queue), reverse=True)


def test_proposals_of_several_groups_are_ordered_by_utility_then_raw_utility() -> None:
    from types import SimpleNamespace

    from metakg.api.active_runs import _queue_order

    def cand(d: str, utility: float, raw: float) -> tuple:
        return (SimpleNamespace(dataset_id=d, config_id="c", utility=utility, raw_utility=raw),
                "classification", "roc_auc")

    # every dataset's most useful run has utility 1 (normalised per dataset): the raw utility
    # says which dataset's run teaches more, whatever the ids' order
    found = [cand("a", 1.0, 0.01), cand("b", 1.0, 0.9), cand("c", 0.5, 2.0)]
    assert [x[0].dataset_id for x in sorted(found, key=_queue_order)] == ["b", "a", "c"]


def test_a_second_proposal_request_on_the_same_graph_is_refused_while_one_runs(
        api: TestClient) -> None:
    from metakg.api import active_runs

    graph = api.graph  # type: ignore[attr-defined]
    before = len(graph.store)
    active_runs._PROPOSING.add(id(graph))  # as while a first request fits the recommenders
    try:
        r = api.post("/proposals", json={"budget": 2}, headers=_h(api, "write"))
    finally:
        active_runs._PROPOSING.discard(id(graph))
    assert r.status_code == 409 and "being made" in r.json()["detail"]
    assert len(graph.store) == before
    assert api.post("/proposals", json={"budget": 2}, headers=_h(api, "write")).status_code == 201


def test_work_under_way_says_when_to_try_again_and_an_empty_dataset_is_refused() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from metakg.api.errors import RETRY_AFTER_S, install_error_handlers
    from metakg.api.schemas import ProposalsIn
    from metakg.kg.errors import AlreadyRunning

    app = FastAPI()
    install_error_handlers(app)

    @app.post("/busy")
    def busy() -> None:
        raise AlreadyRunning("Proposals for this graph are being made; try again after it.")

    r = TestClient(app).post("/busy")
    assert r.status_code == 409 and r.headers["Retry-After"] == str(RETRY_AFTER_S)
    with pytest.raises(ValueError, match="at least 1 character"):
        ProposalsIn(budget=3, dataset="")  # an empty field is not 'every dataset'
