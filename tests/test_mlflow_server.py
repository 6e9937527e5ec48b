"""MLflow sync against a real `mlflow server` (started here on 127.0.0.1) holding an experiment
of more than 1,000 runs: more than one page, idempotent, the same through the library, the
HTTP API (admin) and the Python client, and a watch that picks up runs finishing later."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import wait_for_health

from metakg.kg import KnowledgeGraph, MemoryStore
from metakg.kg.importers import sync_mlflow_experiment, watch_mlflow_experiment

pytestmark = [pytest.mark.server, pytest.mark.timeout(300),
              # Client.sync_mlflow sets a long timeout, which the in-process TestClient ignores
              pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")]
pytest.importorskip("mlflow")

EXPERIMENT = "churn-sweep"
GOOD = 1010  # runs that sync
NO_DATASET = 25  # finished runs without a metakg.dataset tag: listed and skipped
RUNNING = 15  # not finished yet: neither synced nor skipped
START_S = 90  # bound on the server's start (it creates and migrates its SQLite store)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``mlflow server`` on 127.0.0.1 with a SQLite store; (its URL, the store's file)."""
    exe = shutil.which("mlflow")
    if exe is None:
        pytest.fail("the `mlflow` command is not installed (pip install mlflow)")
    root = tmp_path_factory.mktemp("mlflow-server")
    db = root / "mlflow.db"
    port = _free_port()
    # no job runner (its seven consumer processes are of no use here), and a session of its
    # own so that stopping it stops the web server it starts too
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = root / "server.log"  # a file, not a pipe: a pipe nobody reads fills and blocks the server
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [exe, "server", "--backend-store-uri", f"sqlite:///{db}", "--default-artifact-root",
             str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_for_health(url + "/health", proc, START_S, log, lambda: _stop(proc), "mlflow server")
    yield url, db
    _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and every process of its session (SIGTERM, then SIGKILL)."""
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _fill(db: Path, experiment_id: str) -> dict[str, list[str]]:
    """Write the experiment's runs straight into the server's SQLite store, in one
    transaction of MLflow's own tables (logging 1,200 runs through the REST API one call
    at a time would take minutes on a busy machine). Returns run ids by kind."""
    t0 = 1_700_000_000_000
    ids: dict[str, list[str]] = {"good": [], "no_dataset": [], "running": []}
    runs, params, tags, metrics, latest = [], [], [], [], []
    kinds = ["good"] * GOOD + ["no_dataset"] * NO_DATASET + ["running"] * RUNNING
    for i, kind in enumerate(kinds):
        rid = uuid.uuid4().hex
        ids[kind].append(rid)
        start = t0 + i * 1000
        finished = kind != "running"
        runs.append((rid, f"lgbm-{i}", "LOCAL", "", "", "team", "FINISHED" if finished else "RUNNING",
                     start, start + 500 if finished else None, "", "active",
                     f"file:///artifacts/{rid}", int(experiment_id)))
        params += [("num_leaves", str(16 + i % 200), rid), ("min_child_samples", "20", rid),
                   ("random_state", "0", rid)]
        tags += [("mlflow.runName", f"lgbm-{i}", rid), ("team", "churn", rid)]
        if kind != "no_dataset":
            tags += [("metakg.dataset", "churn", rid), ("metakg.task_type", "classification", rid)]
        # an AUC per boosting round: the run's value is its last round
        curve = [0.70 + (i % 100) / 1000 + step / 100 for step in range(3)]
        metrics += [("auc", v, start + step, step, 0, rid) for step, v in enumerate(curve)]
        latest.append(("auc", curve[-1], start + 2, 2, 0, rid))
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO runs (run_uuid, name, source_type, source_name, "
                         "entry_point_name, user_id, status, start_time, end_time, source_version, "
                         "lifecycle_stage, artifact_uri, experiment_id) "
                         "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", runs)
        conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
        conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
        conn.executemany("INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) "
                         "VALUES (?,?,?,?,?,?)", metrics)
        conn.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, "
                         "run_uuid) VALUES (?,?,?,?,?,?)", latest)
    return ids


def _graph() -> KnowledgeGraph:
    graph = KnowledgeGraph(MemoryStore())
    _add_churn(graph)
    return graph


def _add_churn(graph: KnowledgeGraph) -> None:
    graph.add_dataset(pd.DataFrame({"tenure": [1.0, 5.0, 9.0, 2.0], "churned": [1, 0, 0, 1]}),
                      name="churn", target="churned")


def _log_finished(client: Any, experiment_id: str, name: str, auc: float) -> str:
    """One run logged through the tracking server's REST API, as a team member would."""
    from mlflow.entities import Metric, Param, RunTag

    run = client.create_run(experiment_id, run_name=name)
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric("auc", auc, int(time.time() * 1000), 0)],
                     params=[Param("num_leaves", "40"), Param("min_child_samples", "10")],
                     tags=[RunTag("metakg.dataset", "churn"),
                           RunTag("metakg.task_type", "classification")])
    client.set_terminated(rid)
    return rid


def test_a_large_experiment_on_a_real_tracking_server(mlflow_server: tuple[str, Path]) -> None:
    from fastapi.testclient import TestClient
    from mlflow.tracking import MlflowClient

    from metakg.api.app import create_app
    from metakg.api.client import Client
    from metakg.api.keys import create_key
    from metakg.api.settings import Settings

    url, db = mlflow_server
    tracking = MlflowClient(tracking_uri=url)
    experiment_id = tracking.create_experiment(EXPERIMENT)
    ids = _fill(db, experiment_id)
    total = GOOD + NO_DATASET + RUNNING
    assert total > 1000  # more than one page of MLflow's default 1,000

    # the library: every page, the last step of each curve, runs without a dataset listed
    graph = _graph()
    t0 = time.perf_counter()
    first = sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=url)
    took = time.perf_counter() - t0
    assert (first.seen, first.added, first.unfinished) == (total, GOOD, RUNNING)
    assert {s.run_id for s in first.skipped} == set(ids["no_dataset"])
    assert all("no 'metakg.dataset'" in s.reason for s in first.skipped)
    runs = {r.id: r for r in graph.runs()}
    assert set(runs) == {f"mlflow-{rid}" for rid in ids["good"]}
    r0 = runs[f"mlflow-{ids['good'][0]}"]
    assert r0.scores["roc_auc"] == pytest.approx(0.72)  # the last of 0.70, 0.71, 0.72
    config = graph.get_configuration(r0.configuration_id).config
    assert config == {"family": "lightgbm", "params": {"num_leaves": 16, "min_child_samples": 20}}
    print(f"\nsynced {GOOD} of {total} runs over HTTP in {took:.1f} s")  # shown with -s

    # watch: its first poll adds nothing (idempotent); a run that finishes meanwhile is
    # added at the next poll
    fresh: list[str] = []
    reports: list[Any] = []

    def on_poll(report: Any) -> None:
        reports.append(report)
        if not fresh:
            fresh.append(_log_finished(tracking, experiment_id, "late", 0.9))

    state = watch_mlflow_experiment(lambda: sync_mlflow_experiment(graph, EXPERIMENT, tracking_uri=url),
                                    interval=0.1, max_polls=2, on_poll=on_poll)
    assert [(r.added, r.duplicates) for r in reports] == [(0, GOOD), (1, GOOD)]
    assert state.polls == 2 and len(graph.runs()) == GOOD + 1
    assert f"mlflow-{fresh[0]}" in {r.id for r in graph.runs()}

    # the HTTP API (admin) and the Python client, on a server's own graph
    app = create_app(Settings(store="memory:", mlflow_hosts="127.0.0.1"))
    with TestClient(app) as tc:
        _add_churn(app.state.graph)
        key = create_key(app.state.graph, "root", "admin")
        client = Client("http://testserver", key)
        client._http = tc  # the TestClient is an httpx.Client on the same app
        tc.headers.update({"X-API-Key": key})
        out = client.sync_mlflow(tracking_uri=url, experiment=EXPERIMENT)
        assert (out["added"], out["skipped"], out["unfinished"]) == (GOOD + 1, NO_DATASET, RUNNING)
        assert len(out["skipped_runs"]) == NO_DATASET
        synced_by = app.state.graph.store.select(
            "SELECT (COUNT(?r) AS ?n) WHERE { ?r mkg:tag ?t }", {"t": "synced_by=root"})
        assert synced_by[0]["n"] == GOOD + 1
