"""One server, many users: admin key routes, GET /runs/{id}, and what logging against an
unknown dataset says (each over HTTP, in-process)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from metakg.api.app import create_app
from metakg.api.client import Client
from metakg.api.keys import create_key
from metakg.api.settings import Settings
from metakg.kg import InvalidData, MetaKGError, NotFound


@pytest.fixture
def app_client() -> Iterator[TestClient]:
    app = create_app(Settings(store="memory:"))
    with TestClient(app) as c:
        graph = app.state.graph
        c.admin = create_key(graph, "root", "admin")  # type: ignore[attr-defined]
        c.writer = create_key(graph, "wanda", "write")  # type: ignore[attr-defined]
        ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}),
                               name="tiny", target="y")
        c.dataset = ds.id  # type: ignore[attr-defined]
        yield c


def client_for(tc: TestClient, key: str) -> Client:
    c = Client("http://testserver", key)
    c._http = tc  # the TestClient is an httpx.Client on the same app
    tc.headers.update({"X-API-Key": key})
    return c


def test_admin_creates_lists_and_revokes_keys_over_http(app_client: TestClient) -> None:
    admin = {"X-API-Key": app_client.admin}  # type: ignore[attr-defined]
    r = app_client.post("/keys", headers=admin, json={"name": "alice", "role": "read"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["name"], body["role"], body["revoked"]) == ("alice", "read", False)
    alice = {"X-API-Key": body["key"]}
    assert app_client.get("/runs", headers=alice).status_code == 200
    listed = app_client.get("/keys", headers=admin).json()
    assert {k["name"]: k["role"] for k in listed} == {"alice": "read", "root": "admin", "wanda": "write"}
    assert all("key" not in k and "hash" not in str(k) for k in listed)
    # a key whose role is below admin is refused, with the role it needs
    for key in (body["key"], app_client.writer):  # type: ignore[attr-defined]
        for method, url in (("get", "/keys"), ("post", "/keys"), ("delete", "/keys/alice")):
            r = app_client.request(method.upper(), url, headers={"X-API-Key": key},
                                   json={"name": "x"} if method == "post" else None)
            assert r.status_code == 403 and "needs 'admin'" in r.json()["detail"], r.text
    # revoked: refused on the very next request, no restart
    r = app_client.delete("/keys/alice", headers=admin)
    assert r.status_code == 200 and r.json() == {"name": "alice", "role": "read", "revoked": True}
    r = app_client.get("/runs", headers=alice)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert app_client.delete("/keys/nobody", headers=admin).status_code == 404
    # rotating a key: the old one stops working, the new one works
    new = app_client.post("/keys", headers=admin, json={"name": "alice", "role": "write"}).json()
    assert app_client.get("/runs", headers=alice).status_code == 401
    assert app_client.get("/runs", headers={"X-API-Key": new["key"]}).status_code == 200
    for bad in ({"name": "", "role": "read"}, {"name": "a/b"}, {"name": "x", "role": "owner"},
                {"name": "x", "extra": 1}, {"name": "anonymous"}):
        assert app_client.post("/keys", headers=admin, json=bad).status_code == 422, bad


def test_python_client_manages_keys(app_client: TestClient) -> None:
    c = client_for(app_client, app_client.admin)  # type: ignore[attr-defined]
    key = c.create_key("bot", role="write")
    assert key.startswith("mkg_")
    assert {"name": "bot", "role": "write", "revoked": False} in c.list_keys()
    assert c.revoke_key("bot")["revoked"] is True
    with pytest.raises(NotFound, match="No key named 'nobody'"):
        c.revoke_key("nobody")
    with pytest.raises(InvalidData):
        c.create_key("x", role="owner")
    weak = client_for(app_client, app_client.writer)  # type: ignore[attr-defined]
    with pytest.raises(MetaKGError, match="403"):
        weak.list_keys()


def test_get_one_run_and_its_404(app_client: TestClient) -> None:
    c = client_for(app_client, app_client.writer)  # type: ignore[attr-defined]
    logged = c.log_run(dataset=app_client.dataset, target="y", task_type="classification",  # type: ignore[attr-defined]
                       config={"family": "knn", "params": {"n_neighbors": 3}},
                       fold_scores={"roc_auc": [0.6, 0.8]}, tags={"team": "risk"})
    run = c.get_run(logged["id"])
    assert run["id"] == logged["id"] and run["principal"] == "wanda"
    assert run["config"] == {"family": "knn", "params": {"n_neighbors": 3}}
    assert run["metrics"]["roc_auc"] == pytest.approx(0.7) and run["tags"] == {"team": "risk"}
    assert run["dataset_name"] == "tiny" and run["source"] == "api"
    assert c.search_runs("params.n_neighbors = 3 and tags.team = 'risk'")[0] == run
    for bad in ("0" * 32, "no such run", "a/b"):
        with pytest.raises(NotFound):
            c.get_run(bad)
    with pytest.raises(InvalidData, match="at most 200"):
        c.get_run("x" * 300)
    r = app_client.get("/runs", params={"filter": "params.n_neighbors >> 3"})
    assert r.status_code == 422 and "operator '>>' at character 19" in r.json()["detail"]
    r = app_client.get("/runs", params={"order_by": "tags.team"})
    assert r.status_code == 422 and "cannot use tags" in r.json()["detail"]


def test_logging_for_an_unknown_dataset_says_how_to_register_it(app_client: TestClient) -> None:
    h = {"X-API-Key": app_client.writer}  # type: ignore[attr-defined]
    body = {"dataset": "never-uploaded", "target": "y", "task_type": "classification",
            "config": {"family": "knn"}, "fold_scores": {"roc_auc": [0.6, 0.7]}}
    for url, payload in (("/runs", body), ("/runs/batch", {"runs": [body]})):
        r = app_client.post(url, headers=h, json=payload)
        assert r.status_code == 404, r.text
        detail = r.json()["detail"]
        assert "'never-uploaded'" in detail and "POST /datasets" in detail
        assert "POST /datasets/metafeatures" in detail
    r = app_client.post("/runs", headers=h, json={**body, "dataset": None, "task_id": "nope"})
    assert r.status_code == 404 and "dataset, target and task_type" in r.json()["detail"]
    # ids that cannot be part of an IRI name nothing: 404, not a server error
    for weird in ({"task_id": "\u00e17\u00ddT\u001e", "dataset": None},
                  {"dataset": "\x0f\u00ca9_\""}):
        r = app_client.post("/runs", headers=h, json={**body, **weird})
        assert r.status_code == 404, r.text
    r = app_client.get("/export", headers=h, params={"dataset": "\x0f\u00ca9_\""})
    assert r.status_code == 404 and "No dataset" in r.json()["detail"]
