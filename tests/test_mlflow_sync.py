"""MLflow sync against a real local MLflow store (a folder in tmp_path): idempotent, paged,
metric histories read as histories, runs that cannot be synced listed, parameters mapped to
a family, the watch loop, the CLI and the admin-only HTTP route."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from metakg.kg import KnowledgeGraph, MemoryStore, OxigraphStore
from metakg.kg.errors import InvalidData, MetaKGError
from metakg.kg.graph_inputs import make_configuration
from metakg.kg.importers import sync_mlflow_experiment, synced_mlflow_runs, watch_mlflow_experiment
from metakg.kg.importers.mlflow_runs import mlflow_configuration, public_tracking_uri
from metakg.kg.records import RunInput

pytest.importorskip("mlflow")

EXPERIMENT = "credit-models"


class Mlflow:
    """A local MLflow tracking store with one experiment, and a quick way to log runs."""

    def __init__(self, root: Path) -> None:
        from mlflow.tracking import MlflowClient

        self.uri = (root / "mlruns").as_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        self.experiment_id = self.client.create_experiment(EXPERIMENT,
                                                           artifact_location=str(root / "art"))
        self._clock = 1_700_000_000_000

    def log(self, name: str, *, params: dict[str, Any] | None = None,
            metrics: dict[str, list[float]] | None = None, tags: dict[str, str] | None = None,
            status: str = "FINISHED", dataset: str | None = "tiny") -> str:
        """Log one run (each metric's values at steps 0, 1, ...); returns its MLflow id."""
        from mlflow.entities import Metric, Param, RunTag

        self._clock += 1000
        all_tags = dict(tags or {})
        if dataset:
            all_tags |= {"metakg.dataset": dataset, "metakg.target": "y",
                         "metakg.task_type": "classification"}
        run = self.client.create_run(self.experiment_id, start_time=self._clock, run_name=name)
        rid = run.info.run_id
        self.client.log_batch(
            rid, metrics=[Metric(k, v, self._clock + s, s) for k, vs in (metrics or {}).items()
                          for s, v in enumerate(vs)],
            params=[Param(k, str(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, v) for k, v in all_tags.items()])
        if status != "RUNNING":
            self.client.set_terminated(rid, status=status, end_time=self._clock + 500)
        return rid


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Mlflow:
    # the folder store: created in milliseconds (a new SQLite store migrates for seconds)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return Mlflow(tmp_path)


def _graph() -> KnowledgeGraph:
    graph = KnowledgeGraph(MemoryStore())
    _add_tiny(graph)
    return graph


def _add_tiny(graph: KnowledgeGraph) -> None:
    graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}),
                      name="tiny", target="y")


def _lgbm(ml: Mlflow, name: str, aucs: list[float], **kw: Any) -> str:
    return ml.log(name, params={"family": "lightgbm", "learning_rate": 0.1, "num_leaves": 31},
                  metrics={"auc": aucs, "training_loss": [0.5, 0.4, 0.3]}, **kw)


def _tags(graph: KnowledgeGraph, run_id: str) -> dict[str, str]:
    from metakg.kg.vocabulary import entity

    rows = graph.store.select("SELECT ?t WHERE { ?r mkg:tag ?t }", {"r": entity("run", run_id)})
    return dict(r["t"].split("=", 1) for r in rows)


def test_a_sync_adds_finished_runs_with_the_last_step_and_their_provenance(mlflow_store: Mlflow) -> None:
    graph = _graph()
    rid = _lgbm(mlflow_store, "lgbm-a", [0.80, 0.86, 0.83],
                tags={"team": "risk", "DB_PASSWORD": "hunter2", "hf_token": "abc"})
    report = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri, synced_by="ops")
    assert (report.added, report.duplicates, report.skipped, report.seen) == (1, 0, (), 1)
    [run] = graph.runs()
    assert run.id == f"mlflow-{rid}" and report.added_runs == (run.id,)
    assert run.scores == {"roc_auc": pytest.approx(0.83)}  # the last epoch, not a mean of epochs
    assert run.source == f"mlflow:{rid}" and run.principal
    folds = graph.store.select("SELECT (COUNT(?e) AS ?n) WHERE { ?e mkg:fold ?f }")
    assert folds[0]["n"] == 1  # three steps are one value, not three folds
    tags = _tags(graph, run.id)
    assert tags == {"team": "risk", "mlflow_run": rid, "mlflow_experiment": EXPERIMENT,
                    "mlflow_experiment_id": mlflow_store.experiment_id,
                    "mlflow_tracking_uri": mlflow_store.uri, "mlflow_metric_step": "last",
                    "synced_by": "ops", "mlflow_redacted": "DB_PASSWORD,hf_token"}
    assert not graph.store.ask('ASK { ?s ?p ?o FILTER(CONTAINS(STR(?o), "hunter2")) }')
    started = graph.store.select("SELECT ?t WHERE { ?r prov:startedAtTime ?t }")[0]["t"]
    assert "2023-11-14" in str(started)  # MLflow's start time, not the time of the sync


def test_the_best_step_by_the_measures_direction(mlflow_store: Mlflow) -> None:
    graph = _graph()
    _lgbm(mlflow_store, "lgbm-a", [0.80, 0.86, 0.83])
    mlflow_store.log("reg", params={"n_neighbors": 5}, metrics={"log_loss": [0.7, 0.4, 0.5]})
    report = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri,
                                    metric_step="best")
    assert report.added == 2
    scores = sorted((sorted(r.scores.items()) for r in graph.runs()), key=str)
    assert scores == [[("log_loss", pytest.approx(0.4))],  # lower is better
                      [("roc_auc", pytest.approx(0.86))]]
    with pytest.raises(InvalidData, match="metric_step must be one of last, best"):
        sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri, metric_step="mean")


def test_syncing_again_adds_nothing(mlflow_store: Mlflow) -> None:
    graph = _graph()
    for i in range(3):
        _lgbm(mlflow_store, f"lgbm-{i}", [0.8 + i / 100])
    first = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri)
    quads = len(graph.store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"))
    again = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri)
    assert (first.added, again.added, again.duplicates) == (3, 0, 3)
    assert len(graph.store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")) == quads
    # a run imported some other way with the same MLflow source counts as synced too
    new = _lgbm(mlflow_store, "lgbm-new", [0.9])
    task = graph.tasks()[0]
    graph.log_run(RunInput(task_id=task.id, config={"family": "lightgbm", "params": {}},
                           fold_scores={"roc_auc": [0.9]}, source=f"mlflow:{new}"))
    third = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri)
    assert (third.added, third.duplicates) == (0, 4)
    assert new in synced_mlflow_runs(graph) and len(graph.runs()) == 4


def test_every_page_is_read(mlflow_store: Mlflow) -> None:
    graph = _graph()
    ids = [_lgbm(mlflow_store, f"lgbm-{i}", [0.8]) for i in range(5)]
    calls: list[str | None] = []

    class Counting:
        """The MLflow client, counting the pages asked for."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def search_runs(self, *args: Any, **kw: Any) -> Any:
            calls.append(kw.get("page_token"))
            return self.inner.search_runs(*args, **kw)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    report = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri,
                                    page_size=2, client=Counting(mlflow_store.client))
    assert report.added == 5 and len(calls) == 3 and calls[0] is None and all(calls[1:])
    assert {r.id for r in graph.runs()} == {f"mlflow-{i}" for i in ids}


def test_runs_that_cannot_be_synced_are_listed_and_the_rest_added(mlflow_store: Mlflow) -> None:
    graph = _graph()
    good = _lgbm(mlflow_store, "good", [0.8])
    no_dataset = _lgbm(mlflow_store, "no-dataset", [0.8], dataset=None)
    unknown = _lgbm(mlflow_store, "unknown-data", [0.8], dataset="not-ingested")
    no_metric = mlflow_store.log("no-metric", params={"C": 1.0}, metrics={"training_loss": [0.3]})
    failed = _lgbm(mlflow_store, "failed", [], status="FAILED")
    _lgbm(mlflow_store, "still-running", [0.7], status="RUNNING")
    killed = _lgbm(mlflow_store, "killed", [0.7], status="KILLED")
    elsewhere = _lgbm(mlflow_store, "other-server", [0.7], tags={"recommendation": "not-here"})
    diverged = _lgbm(mlflow_store, "diverged", [0.7, float("nan")])
    report = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri)
    assert (report.added, report.unfinished, report.seen) == (2, 1, 9)
    reasons = {s.run_id: s.reason for s in report.skipped}
    assert set(reasons) == {no_dataset, unknown, no_metric, killed, elsewhere, diverged}
    assert "no possible value of a metric metakg knows (auc=nan: not finite" in reasons[diverged]
    assert "recommendation='not-here', which names no recommendation" in reasons[elsewhere]
    assert "no 'metakg.dataset' tag or parameter" in reasons[no_dataset]
    assert "dataset 'not-ingested' is not in the graph" in reasons[unknown]
    assert "no metric metakg knows (logged: training_loss)" in reasons[no_metric]
    assert {r.id: r.status for r in graph.runs()} == {f"mlflow-{good}": "completed",
                                                      f"mlflow-{failed}": "failed"}
    assert report.to_json()["skipped_runs"][0] == {
        "run_id": no_dataset, "run_name": "no-dataset", "reason": reasons[no_dataset]}


def test_parameters_map_to_the_family_whose_space_holds_them() -> None:
    # one family's space holds every parameter: that family; seeds and threads left out
    assert mlflow_configuration({"num_leaves": "63", "min_child_samples": "10.0",
                                 "random_state": "0", "n_jobs": "4"}, run_name="r") == {
        "family": "lightgbm", "params": {"num_leaves": 63, "min_child_samples": 10}}
    # random forest and extra trees share their parameters: the estimator's class decides
    rf = {"n_estimators": "200", "max_features": "0.5", "bootstrap": "True"}
    assert mlflow_configuration(rf, run_name="r", estimator="sklearn.ensemble._forest."
                                "RandomForestClassifier")["family"] == "random_forest"
    assert mlflow_configuration(rf, run_name="r")["family"] == "mlflow:r"  # ambiguous
    # a parameter no space has, or a value out of range: the run's own family, every parameter
    assert mlflow_configuration({"num_leaves": "63", "objective": "binary"}, run_name="r") == {
        "family": "mlflow:r", "params": {"num_leaves": 63, "objective": "binary"}}
    assert mlflow_configuration({"n_neighbors": "500"}, run_name="r")["family"] == "mlflow:r"
    # a run name with spaces still names a family the graph can store
    spaced = mlflow_configuration({"n_neighbors": "500"}, run_name="baseline lgbm")
    assert spaced["family"] == "mlflow:baseline%20lgbm"
    assert make_configuration(spaced).family == "mlflow:baseline%20lgbm"
    # a declared family is used as given
    assert mlflow_configuration({"depth": "6"}, run_name="r", family="my-model") == {
        "family": "my-model", "params": {"depth": 6}}


def test_the_synced_configuration_is_a_family_configuration(mlflow_store: Mlflow) -> None:
    graph = _graph()
    mlflow_store.log("knn", params={"n_neighbors": "7", "weights": "distance"},
                     metrics={"accuracy": [0.7]})
    sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri)
    [run] = graph.runs()
    assert graph.get_configuration(run.configuration_id).config == {
        "family": "knn", "params": {"n_neighbors": 7, "weights": "distance"}}


def test_the_watch_loop_adds_runs_as_they_finish(mlflow_store: Mlflow) -> None:
    graph = _graph()
    _lgbm(mlflow_store, "first", [0.8])
    reports: list[Any] = []

    def on_poll(report: Any) -> None:
        reports.append(report)
        if len(reports) == 1:  # a run finishes between the first and the second poll
            _lgbm(mlflow_store, "second", [0.81])

    state = watch_mlflow_experiment(
        lambda: sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=mlflow_store.uri),
        interval=0.01, max_polls=3, on_poll=on_poll)
    assert [r.added for r in reports] == [1, 1, 0] and (state.polls, state.added) == (3, 2)
    # a stop event ends it while it waits; later failed polls are reported, not raised
    stop = threading.Event()
    outcomes = iter([reports[2], MetaKGError("MLflow down"), reports[2]])

    def flaky() -> Any:
        item = next(outcomes)
        if isinstance(item, Exception):
            raise item
        return item

    errors: list[Exception] = []
    state = watch_mlflow_experiment(flaky, interval=0.01, stop=stop, on_error=errors.append,
                                    on_poll=lambda r: stop.set() if errors else None)
    assert state.polls == 3 and [str(e) for e in errors] == ["MLflow down"]
    with pytest.raises(MetaKGError, match="down"):  # the first poll's error is not retried
        watch_mlflow_experiment(lambda: (_ for _ in ()).throw(MetaKGError("down")), interval=0)


def test_unknown_experiment_and_credentials_in_the_uri(mlflow_store: Mlflow) -> None:
    with pytest.raises(InvalidData, match="No MLflow experiment 'nope' at file:"):
        sync_mlflow_experiment(_graph(), "nope", tracking_uri=mlflow_store.uri)
    assert public_tracking_uri("https://bob:s3cret@mlflow.example:5000/x?token=1") == \
        "https://mlflow.example:5000/x"
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(MetaKGError, match=f"server http://127.0.0.1:{port} cannot be reached"):
        sync_mlflow_experiment(_graph(), EXPERIMENT, tracking_uri=f"http://u:pw@127.0.0.1:{port}")
    with pytest.raises(InvalidData, match="not a valid URI"):
        sync_mlflow_experiment(_graph(), EXPERIMENT, tracking_uri="http://[")


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "store"
    graph = KnowledgeGraph(OxigraphStore(path))
    _add_tiny(graph)
    graph.close()
    yield str(path)


def test_cli_syncs_once_and_again(mlflow_store: Mlflow, embedded: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from metakg.api.cli import main

    _lgbm(mlflow_store, "good", [0.8])
    no_dataset = _lgbm(mlflow_store, "no-dataset", [0.8], dataset=None)
    args = ["sync", "mlflow", "--tracking-uri", mlflow_store.uri, "--experiment", EXPERIMENT,
            "--store", embedded]
    main([*args, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (out["added"], out["skipped"], out["skipped_runs"][0]["run_id"]) == (1, 1, no_dataset)
    main(args)
    text = capsys.readouterr().out
    assert "added 0, already synced 1, skipped 1" in text and f"skipped {no_dataset}" in text
    main([*args, "--watch", "--interval", "0", "--max-polls", "2", "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["poll"], p["added"], p["duplicates"]) for p in lines] == [(1, 0, 1), (2, 0, 1)]
    with pytest.raises(SystemExit) as exit_info:
        main([*args[:-2], "--store", embedded, "--experiment", "nope"])
    assert exit_info.value.code == 2 and "No MLflow experiment 'nope'" in capsys.readouterr().err


def test_http_route_is_for_admins_and_http_tracking_servers() -> None:
    from fastapi.testclient import TestClient

    from metakg.api.app import create_app
    from metakg.api.keys import create_key
    from metakg.api.settings import Settings

    app = create_app(Settings(store="memory:"))
    with TestClient(app) as tc:
        writer = create_key(app.state.graph, "wanda", "write")
        admin = create_key(app.state.graph, "root", "admin")
        body = {"tracking_uri": "http://127.0.0.1:9/", "experiment": EXPERIMENT}
        r = tc.post("/sync/mlflow", json=body, headers={"X-API-Key": writer})
        assert r.status_code == 403 and "needs 'admin'" in r.json()["detail"]
        assert tc.post("/sync/mlflow", json=body).status_code == 401
        r = tc.post("/sync/mlflow", json={**body, "tracking_uri": "sqlite:////etc/x.db"},
                    headers={"X-API-Key": admin})
        assert r.status_code == 422 and "tracking_uri" in json.dumps(r.json())
        # the server reads only the hosts its admin listed (none by default): no fetch at all
        r = tc.post("/sync/mlflow", json=body, headers={"X-API-Key": admin})
        assert r.status_code == 422 and "METAKG_MLFLOW_HOSTS (now: none)" in r.json()["detail"]


def test_the_route_fetches_only_listed_hosts_and_repeats_no_remote_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server
    import threading

    from fastapi.testclient import TestClient

    from metakg.api.app import create_app
    from metakg.api.keys import create_key
    from metakg.api.settings import Settings

    (tmp_path / "secret.txt").write_text("INTERNAL-SECRET-TOKEN=abc123")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    import socket

    with socket.socket() as s:  # a port nothing listens on: a listed host that is down
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    try:
        app = create_app(Settings(store="memory:",
                                  mlflow_hosts=f"mlflow.internal,127.0.0.1:{port},127.0.0.1:{closed}"))
        with TestClient(app) as tc:
            admin = {"X-API-Key": create_key(app.state.graph, "root", "admin")}
            for uri, says in [(f"http://127.0.0.1:{port}/secret.txt?x=", "without credentials, query"),
                              (f"http://u:p@127.0.0.1:{port}/", "without credentials, query"),
                              ("http://169.254.169.254/", "not '169.254.169.254'")]:
                r = tc.post("/sync/mlflow", json={"tracking_uri": uri, "experiment": "e"}, headers=admin)
                assert r.status_code == 422 and says in r.json()["detail"], r.text
            # a listed host whose answer is not MLflow's: an error that repeats none of it
            r = tc.post("/sync/mlflow", json={"tracking_uri": f"http://127.0.0.1:{port}/secret.txt#",
                                              "experiment": "e"}, headers=admin)
            assert r.status_code == 422
            r = tc.post("/sync/mlflow", json={"tracking_uri": f"http://127.0.0.1:{port}/secret.txt",
                                              "experiment": "e"}, headers=admin)
            assert r.status_code == 502 and "SECRET" not in r.text, r.text  # a bad gateway
            assert "could not be reached or refused a request" in r.json()["detail"]
            r = tc.post("/sync/mlflow", json={"tracking_uri": f"http://127.0.0.1:{closed}",
                                              "experiment": "e"}, headers=admin)
            assert r.status_code == 502 and "could not be reached" in r.json()["detail"], r.text
    finally:
        server.shutdown()


def test_cli_has_a_server_sync(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from metakg.api import client as client_module
    from metakg.api.cli import main

    asked: list[dict[str, Any]] = []

    class FakeClient:
        """The HTTP client, answering as the server's POST /sync/mlflow does."""

        def __init__(self, url: str, key: str | None = None) -> None:
            assert (url, key) == ("http://metakg:8000", "admin-key")

        def sync_mlflow(self, **body: Any) -> dict[str, Any]:
            asked.append(body)
            return {"tracking_uri": body["tracking_uri"], "experiment": EXPERIMENT,
                    "experiment_id": "1", "seen": 3, "added": 2, "duplicates": 0, "skipped": 1,
                    "unfinished": 0, "skipped_runs": [{"run_id": "abc", "run_name": "r",
                                                       "reason": "no 'metakg.dataset' tag"}]}

        def close(self) -> None:
            pass

    monkeypatch.setattr(client_module, "Client", FakeClient)
    main(["sync", "mlflow", "--server", "http://metakg:8000", "--key", "admin-key",
          "--tracking-uri", "http://mlflow:5000", "--experiment", EXPERIMENT,
          "--metric-step", "best"])
    out = capsys.readouterr().out
    assert "added 2, already synced 0, skipped 1" in out and "skipped abc (r): no 'metakg" in out
    assert asked == [{"tracking_uri": "http://mlflow:5000", "experiment": EXPERIMENT,
                      "metric_step": "best", "folds": 5, "page_size": 1000}]


def test_a_second_sync_of_the_same_experiment_waits_for_the_first_and_transport_errors_are_ours(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from metakg.api.app import create_app
    from metakg.api.client import Client
    from metakg.api.keys import create_key
    from metakg.api.settings import Settings
    from metakg.kg.errors import MetaKGError
    from metakg.kg.importers import mlflow_sync

    app = create_app(Settings(store="memory:", mlflow_hosts="mlflow.internal"))
    with TestClient(app) as tc:
        admin = {"X-API-Key": create_key(app.state.graph, "root", "admin")}
        monkeypatch.setattr(mlflow_sync, "_SERVER_SYNCS", {("http://mlflow.internal:5000", "churn")})
        r = tc.post("/sync/mlflow", json={"tracking_uri": "http://mlflow.internal:5000/",
                                          "experiment": "churn"}, headers=admin)
        assert r.status_code == 409 and "is under way on this server" in r.json()["detail"]
    # a server that does not answer is a MetaKGError, which a watch reports and retries
    with Client("http://127.0.0.1:9", "key") as c, pytest.raises(MetaKGError, match="did not answer"):
        c.sync_mlflow(tracking_uri="http://mlflow.internal:5000", experiment="churn", timeout=2)

