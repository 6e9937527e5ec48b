"""HTTP API: every route, auth on every route, errors, and a real uvicorn process."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from metakg.api.app import create_app
from metakg.api.keys import create_key, revoke_key
from metakg.api.settings import Settings


@pytest.fixture(scope="module")
def client(shared: Path) -> Iterator[TestClient]:
    app = create_app(Settings(store="memory:"))
    with TestClient(app) as c:
        g = app.state.graph
        c.keys = {r: create_key(g, f"{r}-user", r) for r in ("read", "write", "admin")}  # type: ignore[attr-defined]
        c.keys["revoked"] = create_key(g, "gone", "admin")  # type: ignore[attr-defined]
        revoke_key(g, "gone")
        h = {"X-API-Key": c.keys["write"]}  # type: ignore[attr-defined]
        data = gzip.decompress((shared / "arff" / "credit.g.arff.gz").read_bytes())
        r = c.post("/datasets", headers=h, files={"file": ("credit.arff", data)},
                   data={"target": "class", "description": "German credit risk of loan applicants"})
        assert r.status_code == 201, r.text
        c.dataset = r.json()["id"]  # type: ignore[attr-defined]
        yield c


def H(client: TestClient, role: str) -> dict[str, str]:
    return {"X-API-Key": client.keys[role]}  # type: ignore[attr-defined]


def run_body(client: TestClient, **extra: object) -> dict:
    return {"dataset": client.dataset, "target": "class", "task_type": "classification",  # type: ignore[attr-defined]
            "config": {"family": "knn", "params": {"n_neighbors": 7}},
            "fold_scores": {"roc_auc": [0.70, 0.74], "accuracy": [0.7, 0.72]}, **extra}


def test_upload_get_list_search(client: TestClient) -> None:
    r = client.get(f"/datasets/{client.dataset}", headers=H(client, "read"))  # type: ignore[attr-defined]
    assert r.status_code == 200
    body = r.json()
    assert body["dataset"]["rows"] == 1000 and body["metafeatures"]["nr_inst"] == 1000.0
    assert [d["name"] for d in client.get("/datasets", headers=H(client, "read")).json()] == ["credit"]
    r = client.get("/datasets/search", params={"q": "bank loans"}, headers=H(client, "read"))
    assert r.status_code == 200 and r.json()[0]["dataset"]["name"] == "credit"
    assert client.get("/datasets/nope", headers=H(client, "read")).status_code == 404


def test_an_upload_under_another_tables_name_is_a_conflict() -> None:
    app = create_app(Settings(store="memory:"))
    with TestClient(app) as c:
        h = {"X-API-Key": create_key(app.state.graph, "ann", "write")}
        r = c.post("/datasets", headers=h, files={"file": ("sales.csv", b"a,y\n1,0\n2,1\n3,0\n")},
                   data={"target": "y"})
        assert r.status_code == 201, r.text
        first = r.json()["id"]
        edited = b"a,y\n1,0\n2,1\n3,1\n"
        r = c.post("/datasets", headers=h, files={"file": ("sales.csv", edited)}, data={"target": "y"})
        assert r.status_code == 409, r.text
        assert f"The name 'sales' is already dataset {first} (3 rows" in r.json()["detail"]
        assert [d["id"] for d in c.get("/datasets", headers=h).json()] == [first]
        r = c.post("/datasets", headers=h, files={"file": ("sales.csv", edited)},
                   data={"target": "y", "name": "sales-2"})
        assert r.status_code == 201 and r.json()["name"] == "sales-2" and r.json()["id"] != first
        # a name held by meta-features alone is taken too, and the message says so
        r = c.post("/datasets/metafeatures", headers=h, json={
            "name": "housing", "task_type": "regression", "metafeatures": {"nr_inst": 500.0}})
        assert r.status_code == 201, r.text
        r = c.post("/datasets", headers=h, files={"file": ("housing.csv", edited)}, data={"target": "y"})
        assert r.status_code == 409 and "(registered by its meta-features only)" in r.json()["detail"]
        # the Python client raises the library's own error
        from metakg.api.client import Client
        from metakg.kg.errors import NameTaken

        client = Client("http://testserver")
        client._http = c  # the app in this process (TestClient is an httpx.Client)
        c.headers.update(h)
        with pytest.raises(NameTaken, match="The name 'sales' is already dataset"):
            client.upload(pd.DataFrame({"a": [4, 5, 6], "y": [1, 1, 0]}), target="y", name="sales")


def test_a_multipart_body_cut_short_is_named_as_such(client: TestClient) -> None:
    h = {**H(client, "write"), "Content-Type": "multipart/form-data; boundary=xyz"}
    cut = (b'--xyz\r\nContent-Disposition: form-data; name="target"\r\n\r\ny\r\n'
           b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,y\n1,0')
    for path in ("/datasets", "/recommendations"):
        r = client.post(path, headers=h, content=cut)
        assert r.status_code == 422, r.text
        first = r.json()["detail"][0]
        assert first["type"] == "multipart_unread" and first["loc"] == ["body"], first
        assert "were not found in the multipart body: it was cut short" in first["msg"] and "file" in first["msg"]
    # a form that only lacks its target is answered field by field, as before
    r = client.post("/datasets", headers=H(client, "write"), files={"file": ("t.csv", b"a,y\n1,0\n")})
    assert r.status_code == 422 and [e["loc"] for e in r.json()["detail"]] == [["body", "target"]]


def test_log_runs_principal_from_key_and_search(client: TestClient) -> None:
    r = client.post("/runs", headers=H(client, "write"), json=run_body(client, tags={"team": "risk"}))
    assert r.status_code == 201 and r.json()["principal"] == "write-user"
    assert r.json()["scores"]["roc_auc"] == pytest.approx(0.72)
    # a principal in the body is refused, never trusted
    r = client.post("/runs", headers=H(client, "write"), json=run_body(client, principal="mallory"))
    assert r.status_code == 422
    batch = [run_body(client, config={"family": "linear", "params": {"C": c}}) for c in (0.1, 1.0, 10.0)]
    r = client.post("/runs/batch", headers=H(client, "write"), json={"runs": batch})
    assert r.status_code == 201 and len(r.json()) == 3
    found = client.get("/runs", headers=H(client, "read"), params={
        "filter": "params.family = 'linear' and metrics.roc_auc >= 0.72 and principal = 'write-user'",
        "order_by": "params.C DESC"}).json()
    assert [x["config"]["params"]["C"] for x in found] == [10.0, 1.0, 0.1]
    tagged = client.get("/runs", headers=H(client, "read"), params={"filter": "tags.team = 'risk'"}).json()
    assert len(tagged) == 1 and tagged[0]["tags"] == {"team": "risk"}
    bad = client.get("/runs", headers=H(client, "read"), params={"filter": "metrics.roc_auc >> 1"})
    assert bad.status_code == 422 and "character" in bad.json()["detail"]


@pytest.mark.parametrize(("scores", "message"), [
    ({"roc_auc": [0.7, 1.5]}, "roc_auc=1.5 is not a possible roc_auc: it must be finite and in [0, 1]"),
    ({"rmse": [0.5, 0.6]}, "'rmse' does not measure a classification model's quality"),
    ({"roc_auc": []}, "roc_auc: no value given"),
    ({"roc_auc": [0.7, 0.7, 0.7, 0.7, 0.7, 0.7]}, "roc_auc: 6 values for a task of 5 folds"),
])
def test_a_run_with_impossible_scores_is_refused_and_not_written(
        client: TestClient, scores: dict, message: str) -> None:
    before = len(client.get("/runs", headers=H(client, "read"), params={"limit": 1000}).json())
    r = client.post("/runs", headers=H(client, "write"), json=run_body(client, fold_scores=scores))
    assert r.status_code == 422 and message in r.json()["detail"], r.text
    assert len(client.get("/runs", headers=H(client, "read"), params={"limit": 1000}).json()) == before
    # in a batch, the refusal names the run, and none of the batch is written
    r = client.post("/runs/batch", headers=H(client, "write"),
                    json={"runs": [run_body(client), run_body(client, fold_scores=scores)]})
    assert r.status_code == 422 and f"runs[1]: {message}" in r.json()["detail"], r.text
    assert len(client.get("/runs", headers=H(client, "read"), params={"limit": 1000}).json()) == before


def test_a_refused_run_creates_no_task(client: TestClient) -> None:
    def tasks() -> int:
        q = "SELECT (COUNT(?t) AS ?n) WHERE { ?t a <http://www.w3.org/ns/mls#Task> }"
        r = client.get("/sparql", params={"query": q}, headers=H(client, "read"))
        return int(r.json()["results"]["bindings"][0]["n"]["value"])

    before = tasks()
    # a task of 10 folds is new to the graph: a refused run must not leave it behind
    bad = run_body(client, folds=10, fold_scores={"roc_auc": [0.7, 1.5]})
    r = client.post("/runs", headers=H(client, "write"), json=bad)
    assert r.status_code == 422 and "not a possible roc_auc" in r.json()["detail"], r.text
    good = run_body(client, folds=10)
    r = client.post("/runs/batch", headers=H(client, "write"), json={"runs": [good, bad]})
    assert r.status_code == 422 and r.json()["detail"].startswith("runs[1]: "), r.text
    # refusals that come after the task is resolved leave nothing behind either
    for body, status, message in [
            ({**good, "config": {"params": {}}}, 422, "with a 'family' string"),
            ({**good, "config": {"family": "my net"}}, 422, "cannot name a model family"),
            ({**good, "fold_scores": {}}, 422, "needs at least one measure"),
            ({**good, "tags": {"recommendation": "nope"}}, 404, "nope")]:
        r = client.post("/runs", headers=H(client, "write"), json=body)
        assert r.status_code == status and message in r.json()["detail"], r.text
        r = client.post("/runs/batch", headers=H(client, "write"), json={"runs": [good, body]})
        assert r.status_code == status and message in r.json()["detail"], r.text
    r = client.post("/runs", headers=H(client, "write"), json={**good, "task_id": "abc"})
    assert r.status_code == 422 and "not both" in r.text, r.text
    r = client.post("/runs/batch", headers=H(client, "write"),
                    json={"runs": [good, {**good, "dataset": "no-such-table"}]})
    assert r.status_code == 404 and r.json()["detail"].startswith("runs[1]: No dataset"), r.text
    r = client.post("/runs", headers=H(client, "write"), json={**good, "dataset": "no-such-table"})
    detail = r.json()["detail"]  # what is missing, then how to fix it over HTTP, once
    assert r.status_code == 404 and detail.startswith("No dataset 'no-such-table' in the graph"), r.text
    assert detail.count("Register it first") == 1 and "metakg query" not in detail
    assert tasks() == before


def test_batch_is_atomic(client: TestClient) -> None:
    before = len(client.get("/runs", headers=H(client, "read"), params={"limit": 1000}).json())
    batch = [run_body(client), run_body(client, fold_scores={"bogus": [1.0]})]
    r = client.post("/runs/batch", headers=H(client, "write"), json={"runs": batch})
    assert r.status_code == 422 and "bogus" in r.json()["detail"]
    after = len(client.get("/runs", headers=H(client, "read"), params={"limit": 1000}).json())
    assert after == before


def test_sparql_endpoint_is_read_only_and_capped(client: TestClient) -> None:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <http://www.w3.org/ns/mls#Run> }"
    r = client.get("/sparql", params={"query": q}, headers=H(client, "read"))
    assert r.status_code == 200 and int(r.json()["results"]["bindings"][0]["n"]["value"]) >= 1
    r = client.post("/sparql", data={"query": "SELECT ?s WHERE { ?s ?p ?o }"},
                    headers={**H(client, "read"), "Accept": "text/csv"})
    assert r.status_code == 200 and r.text.startswith("s\r\n")
    r = client.post("/sparql", data={"query": "DROP ALL"}, headers=H(client, "admin"))
    assert r.status_code == 400  # the protocol's answer to a query that does not parse


def test_recommendations_and_registration(client: TestClient, shared: Path) -> None:
    r = client.post(f"/recommendations/{client.dataset}", headers=H(client, "read"),  # type: ignore[attr-defined]
                    params={"k": 2})
    assert r.status_code == 200, r.text
    assert r.json()["metric"] == "roc_auc" and len(r.json()["recommendations"]) == 2
    reg = client.post("/datasets/metafeatures", headers=H(client, "write"), json={
        "name": "private", "task_type": "classification", "n_classes": 2,
        "metafeatures": {"nr_inst": 900.0, "nr_attr": 20.0, "frac_cat": 0.6}})
    assert reg.status_code == 201
    r = client.post(f"/recommendations/{reg.json()['id']}", headers=H(client, "read"))
    assert r.status_code == 200 and r.json()["recommendations"]
    data = gzip.decompress((shared / "arff" / "credit.g.arff.gz").read_bytes())
    r = client.post("/recommendations", headers=H(client, "read"),
                    files={"file": ("c.arff", data)}, data={"target": "class", "k": "1"})
    assert r.status_code == 200 and len(r.json()["recommendations"]) == 1
    # the upload takes the CLI's family filter and fit-time limit too
    r = client.post("/recommendations", headers=H(client, "read"), files={"file": ("c.arff", data)},
                    data={"target": "class", "k": "3", "family": ["knn", "linear"], "max_fit_seconds": "30"})
    assert r.status_code == 200, r.text
    assert {x["family"] for x in r.json()["recommendations"]} <= {"knn", "linear"}
    # meta-features the graph cannot compare on are refused, not answered with its average
    for mf, message in [({}, "given: none"), ({"nr_inst": float("nan")}, "given: 'nr_inst'"),
                        ({"nr_insts": 900.0}, "'nr_insts': did you mean 'nr_inst'?")]:
        body = json.dumps({"task_type": "classification", "metafeatures": mf})  # NaN as NaN
        r = client.post("/recommendations/metafeatures/query", content=body,
                        headers={**H(client, "read"), "Content-Type": "application/json"})
        assert r.status_code == 422 and message in r.json()["detail"], r.text
    r = client.post("/datasets/metafeatures", headers=H(client, "write"), json={
        "name": "empty", "task_type": "classification", "metafeatures": {}})
    assert r.status_code == 422 and "no meta-feature has a finite value" in r.json()["detail"]
    # a name is one dataset: the same registration again is the same dataset; other
    # meta-features under a taken name (here a table's) are refused, nothing written
    again = client.post("/datasets/metafeatures", headers=H(client, "write"), json={
        "name": "private", "task_type": "classification", "n_classes": 2,
        "metafeatures": {"nr_inst": 900.0, "nr_attr": 20.0, "frac_cat": 0.6}})
    assert again.status_code == 201 and again.json()["id"] == reg.json()["id"]
    table = client.get(f"/datasets/{client.dataset}", headers=H(client, "read")).json()  # type: ignore[attr-defined]
    name = table["dataset"]["name"]
    count = len(client.get("/datasets", headers=H(client, "read")).json())
    r = client.post("/datasets/metafeatures", headers=H(client, "write"), json={
        "name": name, "task_type": "classification", "metafeatures": {"nr_inst": 5.0}})
    assert r.status_code == 409, r.text
    assert f"A dataset named {name!r} is already in the graph" in r.json()["detail"]
    assert "another name" in r.json()["detail"]
    assert len(client.get("/datasets", headers=H(client, "read")).json()) == count


def test_export_neighbourhood(client: TestClient) -> None:
    assert client.post("/runs", headers=H(client, "write"), json=run_body(client)).status_code == 201
    r = client.get("/export", params={"dataset": client.dataset, "format": "turtle"},  # type: ignore[attr-defined]
                   headers=H(client, "read"))
    assert r.status_code == 200 and "mls:Dataset" in r.text and "mls:Run" in r.text


def test_whole_graph_export_streams_every_quad(client: TestClient) -> None:
    from pyoxigraph import RdfFormat, parse

    n = client.get("/sparql", headers=H(client, "admin"), params={  # type: ignore[attr-defined]
        "query": "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"}
                   ).json()["results"]["bindings"][0]["n"]["value"]
    r = client.get("/export", headers=H(client, "admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/n-quads")
    assert len(set(parse(r.content, format=RdfFormat.N_QUADS))) == int(n) > 500


ROUTES = [("get", "/datasets", "read"), ("get", "/datasets/search?q=x", "read"),
          ("get", "/datasets/{ds}", "read"), ("post", "/datasets", "write"),
          ("post", "/datasets/metafeatures", "write"), ("post", "/recommendations", "read"),
          ("post", "/recommendations/{ds}", "read"),
          ("post", "/recommendations/metafeatures/query", "read"), ("post", "/runs", "write"),
          ("post", "/runs/batch", "write"), ("get", "/runs", "read"),
          ("get", "/sparql?query=ASK{}", "read"), ("post", "/sparql", "read"),
          ("get", "/export", "admin"), ("get", "/export?dataset={ds}", "read"), ("get", "/runs/abc", "read"),
          ("get", "/keys", "admin"),
          ("post", "/keys", "admin"), ("delete", "/keys/read-user", "admin")]


@pytest.mark.parametrize("method,path,role", ROUTES)
def test_auth_on_every_route(client: TestClient, method: str, path: str, role: str) -> None:
    url = path.replace("{ds}", client.dataset)  # type: ignore[attr-defined]
    count = lambda: client.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},  # noqa: E731
                               headers=H(client, "admin")).json()["results"]["bindings"][0]["n"]["value"]
    before = count()
    for headers, status in [({}, 401), ({"X-API-Key": "mkg_wrong"}, 401),
                            (H(client, "revoked"), 401)]:
        r = getattr(client, method)(url, headers=headers)
        assert r.status_code == status, (headers, r.text)
    lower = {"write": ["read"], "admin": ["read", "write"]}.get(role, [])
    for weaker in lower:
        r = getattr(client, method)(url, headers=H(client, weaker))
        assert r.status_code == 403 and f"needs {role!r}" in r.json()["detail"]
    assert count() == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: servers a test started: stopped after it, whether it passed or failed
_SERVERS: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_server_left_behind() -> Iterator[None]:
    yield
    while _SERVERS:
        proc = _SERVERS.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _serve(store: Path, port: int, seed: str = "") -> subprocess.Popen:
    env = {**os.environ, "METAKG_STORE": str(store), "METAKG_SEED": seed}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "metakg.api.app:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stderr=subprocess.PIPE)
    _SERVERS.append(proc)
    for _ in range(150):
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5)
            return proc
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None  # type: ignore[union-attr]
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _batch(task_id: str, i: int, j: int, n: int) -> list[dict]:
    return [{"task_id": task_id, "config": {"family": "knn", "params": {"n_neighbors": 1 + k % 50}},
             "fold_scores": {"roc_auc": [0.5, 0.6]}, "tags": {"client": str(i), "n": str(j + k)}}
            for k in range(n)]


@pytest.mark.server
@pytest.mark.stress
@pytest.mark.timeout(900)
def test_real_uvicorn_concurrent_logging_and_sigkill(tmp_path: Path) -> None:
    """20 clients log 500 runs each at once: exactly 10,000 stored, none lost or duplicated.
    Then the server is killed with SIGKILL mid-stream: after a restart every acknowledged run
    is there. A second server on the same embedded store is refused with a clear message."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from metakg.api.client import Client
    from metakg.kg import KnowledgeGraph, MetaKGError, OxigraphStore

    store = tmp_path / "store"
    graph = KnowledgeGraph(OxigraphStore(store))
    key = create_key(graph, "loader", "write")
    ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), name="t", target="y")
    task = graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=2)
    graph.store.close()
    port = _free_port()
    proc = _serve(store, port)
    base = f"http://127.0.0.1:{port}"
    acked: list[str] = []
    lock = threading.Lock()

    def worker(i: int, runs: int, stop: threading.Event | None = None, size: int = 50) -> None:
        with Client(base, key) as c:
            for j in range(0, runs, size):
                if stop is not None and stop.is_set():
                    return
                try:
                    ids = [r["id"] for r in c.log_runs(_batch(task.id, i, j, size))]
                except (httpx.HTTPError, MetaKGError):
                    return  # the server is gone
                with lock:
                    acked.extend(ids)

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda i: worker(i, 500), range(20)))
    assert len(acked) == len(set(acked)) == 10_000
    counted = Client(base, key).sparql(
        "SELECT (COUNT(?r) AS ?n) WHERE { ?r a <http://www.w3.org/ns/mls#Run> }")
    assert counted["results"]["bindings"][0]["n"]["value"] == "10000"

    second = subprocess.run([sys.executable, "-c", "from kg.default_graph import open_graph; "
                             f"open_graph({str(store)!r})"], capture_output=True, text=True,
                            env={**os.environ, "METAKG_SEED": ""})
    assert second.returncode != 0 and "open in another process" in second.stderr

    stop = threading.Event()
    with ThreadPoolExecutor(20) as pool:
        # Batches of 250 runs are large enough for the store's bulk path (journal + bulk load).
        futures = [pool.submit(worker, i, 5000, stop, 250) for i in range(20)]
        deadline = time.monotonic() + 300
        while len(acked) < 12_000:
            if time.monotonic() > deadline or all(f.done() for f in futures):
                stop.set()
                proc.kill()
                pytest.fail(f"only {len(acked)} of 12,000 runs acknowledged within 300 s "
                            "(or every client stopped): is the server alive?")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for f in futures:
            f.result()
    graph = KnowledgeGraph(OxigraphStore(store))
    stored = {r.id for r in graph.runs()}
    assert set(acked) <= stored
    runs = graph.runs()
    assert all(r.status == "completed" and set(r.scores) == {"roc_auc"} for r in runs)
    assert len(runs) % 50 == 0  # whole batches only: 200 batches of 50, then batches of 250


@pytest.mark.server
def test_two_api_processes_share_a_remote_graph(oxigraph_server: str) -> None:
    """Two app instances over the same Oxigraph server see each other's writes."""
    import pandas as pd

    from metakg.kg import SparqlEndpointStore

    SparqlEndpointStore(oxigraph_server)._update("CLEAR ALL")
    a, b = create_app(Settings(store=oxigraph_server)), create_app(Settings(store=oxigraph_server))
    with TestClient(a) as ca, TestClient(b) as cb:
        key = create_key(a.state.graph, "team", "write")
        ds = a.state.graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), name="shared",
                                       target="y")
        body = {"dataset": ds.id, "target": "y", "task_type": "classification",
                "config": {"family": "knn"}, "fold_scores": {"roc_auc": [0.6, 0.7]}}
        assert ca.post("/runs", headers={"X-API-Key": key}, json=body).status_code == 201
        found = cb.get("/runs", headers={"X-API-Key": key}).json()
        assert len(found) == 1 and found[0]["principal"] == "team"


def test_python_client_and_evaluate_and_log(client: TestClient, shared: Path) -> None:
    from metakg.api.client import Client, evaluate_and_log
    from metakg.kg import read_table
    from metakg.runner import build_estimator

    c = Client("http://testserver", client.keys["write"])  # type: ignore[attr-defined]
    c._http = client  # the TestClient is an httpx.Client on the same app
    client.headers.update({"X-API-Key": client.keys["write"]})  # type: ignore[attr-defined]
    df = read_table(shared / "arff" / "credit.g.arff.gz")
    for cfg in ({"family": "linear", "params": {"C": 0.5}}, {"family": "knn", "params": {"n_neighbors": 9}}):
        c.log_run(dataset="credit", target="class", task_type="classification", config=cfg,
                  fold_scores={"roc_auc": [0.7, 0.72]})
    rec = c.recommend(df, target="class", k=2)
    assert [r["rank"] for r in rec["recommendations"]] == [1, 2]
    est = build_estimator(rec["recommendations"][0]["config"], task="classification")
    run = evaluate_and_log(c, est, df, target="class", dataset="credit", task_type="classification",
                           config=rec["recommendations"][0]["config"], folds=3, tags={"via": "client"})
    assert 0.6 < run["scores"]["roc_auc"] < 1.0 and run["principal"] == "write-user"
    found = c.search_runs("tags.via = 'client'")
    assert [r["id"] for r in found] == [run["id"]]
    client.headers.pop("X-API-Key")


def test_metafeatures_query_puts_regression_rmse_on_the_senders_target_scale(
        shared: Path) -> None:
    """A client that keeps its data sends meta-features and its target's standard deviation;
    the similar datasets' RMSE comes back on that scale (and none without it)."""
    import numpy as np

    from metakg.kg import read_table

    app = create_app(Settings(store="memory:"))
    with TestClient(app) as c:
        h = {"X-API-Key": create_key(app.state.graph, "w", "write")}
        data = gzip.decompress((shared / "arff" / "autompg.arff.gz").read_bytes())
        ds = c.post("/datasets", headers=h, files={"file": ("autompg.arff", data)},
                    data={"target": "class", "task_type": "regression"}).json()["id"]
        spread = float(np.std(read_table(shared / "arff" / "autompg.arff.gz")["class"].dropna()))
        runs = [{"dataset": ds, "target": "class", "task_type": "regression",
                 "config": {"family": "knn", "params": {"n_neighbors": n}},
                 "fold_scores": {"rmse": [spread * s] * 2, "r2": [1 - s * s] * 2}}
                for n, s in ((5, 0.4), (15, 0.5))]  # RMSE 0.4 and 0.5 of the target's spread
        assert c.post("/runs/batch", headers=h, json={"runs": runs}).status_code == 201
        mf = c.get(f"/datasets/{ds}", headers=h).json()["metafeatures"]
        body = {"task_type": "regression", "metafeatures": mf, "k": 2}
        r = c.post("/recommendations/metafeatures/query", headers=h, json={**body, "target_sd": 10.0})
        assert r.status_code == 200, r.text
        expected = sorted(x["expected_score"] for x in r.json()["recommendations"])
        assert expected == pytest.approx([4.0, 5.0])  # 0.4 and 0.5 of the sender's 10
        r = c.post("/recommendations/metafeatures/query", headers=h, json=body)
        assert [x["expected_score"] for x in r.json()["recommendations"]] == [None, None]
        r = c.post("/recommendations/metafeatures/query", headers=h, json={**body, "target_sd": 0})
        assert r.status_code == 422 and "target_sd" in r.text
        # an uploaded table's task records its target's spread (population form, as R² has it)
        (task,) = app.state.graph.tasks(ds)
        assert task.target_sd == pytest.approx(spread)
        # a dataset registered by meta-features keeps the spread it was sent, for its own
        # recommendations (none sent: no expected RMSE)
        for sd, expected in ((10.0, [4.0, 5.0]), (None, [None, None])):
            reg = c.post("/datasets/metafeatures", headers=h, json={
                "name": f"private-{sd}", "task_type": "regression", "metafeatures": mf,
                **({"target_sd": sd} if sd else {})})
            assert reg.status_code == 201, reg.text
            r = c.post(f"/recommendations/{reg.json()['id']}", headers=h, params={"k": 2})
            got = [x["expected_score"] for x in r.json()["recommendations"]]
            assert (sorted(got) == pytest.approx(expected)) if sd else got == expected


def test_a_large_body_is_refused_and_a_refusal_does_not_echo_it(client: TestClient) -> None:
    app = create_app(Settings(store="memory:", max_body_mb=0.01))
    with TestClient(app) as c:
        h = {"X-API-Key": create_key(app.state.graph, "w", "write")}
        r = c.post("/runs/batch", headers=h, json={"runs": [{"config": "x" * 20_000}]})
        assert r.status_code == 413 and "(0.01 MB, METAKG_MAX_BODY_MB)" in r.json()["detail"]
        # nor does a body that declares no length, or calls itself a form, get past it
        body = json.dumps({"runs": [{"config": "x" * 20_000}]}).encode()
        r = c.post("/runs/batch", content=iter([body[:5000], body[5000:]]),
                   headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        r = c.post("/runs/batch", content=body,
                   headers={**h, "Content-Type": "multipart/form-data; boundary=x"})
        assert r.status_code == 413, r.text
    # a refused body is named, not sent back whole
    r = client.post("/runs/batch", headers=H(client, "write"),
                    json={"runs": [{"dataset": "x" * 50_000}]})
    assert r.status_code == 422 and len(r.text) < 5_000, len(r.text)
    assert "characters)" in r.text
    # a misspelt option is named, not ignored
    r = client.post("/recommendations/metafeatures/query", headers=H(client, "read"),
                    json={"task_type": "classification", "metafeatures": {"nr_inst": 9.0},
                          "kk": 3})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kk"]


def test_a_run_sent_again_under_its_id_is_logged_once(client: TestClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from metakg.api.client import Client

    def count() -> int:
        return len(client.get("/runs", headers=H(client, "read"), params={"limit": 1000}).json())

    before = count()
    body = run_body(client, id="team-run-1")
    first = client.post("/runs", headers=H(client, "write"), json=body)
    again = client.post("/runs", headers=H(client, "write"), json=body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert count() == before + 1
    r = client.post("/runs/batch", headers=H(client, "write"),
                    json={"runs": [body, run_body(client, id="team-run-1", tags={"team": "x"})]})
    assert r.status_code == 422 and "given to 2 runs of the batch" in r.json()["detail"], r.text
    r = client.post("/runs", headers=H(client, "write"),
                    json=run_body(client, id="team-run-1", fold_scores={"roc_auc": [0.5, 0.5]}))
    assert r.status_code == 422 and "already in the graph as another run (its scores differ)" in r.text

    class LosesTheFirstAnswer(httpx.BaseTransport):
        """The server logs the run, and its answer never reaches the client."""

        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner, self.sent = inner, 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            self.sent += 1
            answer = self.inner.handle_request(request)
            content = answer.read()
            if self.sent == 1:
                raise httpx.ReadTimeout("the answer was lost", request=request)
            return httpx.Response(answer.status_code, headers=answer.headers, content=content)

    monkeypatch.setattr("time.sleep", lambda s: None)
    transport = LosesTheFirstAnswer(client._transport)
    team = Client("http://testserver", client.keys["write"])  # type: ignore[attr-defined]
    team._http = httpx.Client(base_url="http://testserver", transport=transport,
                              headers={"X-API-Key": client.keys["write"]})  # type: ignore[attr-defined]
    logged = team.log_run(**run_body(client))
    assert transport.sent == 2 and count() == before + 2  # sent twice, logged once
    assert client.get(f"/runs/{logged['id']}", headers=H(client, "read")).status_code == 200
