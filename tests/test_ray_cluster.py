"""The Ray back-end across machines: data through the object store, devices resolved on the
worker, GPUs requested where the cluster has them, and a two-node cluster on loopback."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from metakg.kg import KnowledgeGraph, MemoryStore, read_table
from metakg.kg.graph import make_configuration
from metakg.kg.run_progress import run_states
from metakg.runner import WorkItem, default_configuration, execute, ray_backend
from metakg.runner import devices as devices_module
from metakg.runner.execute import load_task_data
from metakg.runner.protocol import FoldResult
from metakg.runner.ray_backend import (
    check_gpus_per_task,
    fold_on_worker,
    gpu_request,
    plan_submissions,
)
from metakg.runner.table_runs import table_task

CHEAP = [default_configuration("linear"), default_configuration("knn"),
         {"family": "random_forest", "params": {"n_estimators": 20, "max_features": 0.5}}]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKG_CACHE", str(tmp_path / "driver-cache"))


def _credit(shared: Path, rows: int = 300) -> pd.DataFrame:
    return read_table(shared / "arff" / "credit.g.arff.gz").iloc[:rows]


def _pending(graph: KnowledgeGraph, df: pd.DataFrame, configs: list[dict]) -> list[tuple]:
    """What :func:`runner.execute.execute` hands a back-end: (item, configuration, run, fold)."""
    _, task, spec = table_task(graph, df, target="class", folds=3, name="credit")
    return [(WorkItem(task, spec, c), make_configuration(c), "run", f)
            for c in configs for f in range(spec.folds)]


class _FakePut:
    """Stands in for ``ray.put``: keeps each value, returns a reference-like token."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"ObjectRef({len(self.values) - 1})"


# ----- fast: the task payload and the device logic -----------------------------------------
def test_workers_get_the_data_through_the_object_store_not_a_path(shared: Path) -> None:
    graph = KnowledgeGraph(MemoryStore())
    pending = _pending(graph, _credit(shared, 120), CHEAP[:2])
    path = pending[0][0].spec.data_path
    put = _FakePut()
    subs = plan_submissions(pending, put=put, device="auto", cluster_gpus=0, gpus_per_task=1,
                            time_limit=60)
    assert len(subs) == 6 and len(put.values) == 1  # one put per task, shared by its folds
    X, y = put.values[0]
    assert len(X) == len(y) == 120 and "class" not in X.columns
    for sub in subs:
        ref, spec, *_ = sub.args
        assert ref == "ObjectRef(0)" and spec.data_path == ""  # nothing on the driver's disk
        assert path not in [a for a in sub.args if isinstance(a, str)]
    # the worker needs nothing but its arguments: the driver's cache may be gone
    shutil.rmtree(Path(path).parent)
    load_task_data.cache_clear()
    result, node = fold_on_worker(put.values[0], *subs[0].args[1:])
    assert result.error is None and 0.5 < result.scores["accuracy"] <= 1
    assert (result.config_id, result.fold, result.device, node) == (
        pending[0][1].id, 0, "cpu", None)


def test_gpu_capable_families_ask_for_gpus_only_where_the_cluster_has_them(
        shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_probe_on_the_driver() -> bool:
        raise AssertionError("the driver looked for a GPU; the worker decides")

    monkeypatch.setattr(devices_module, "cuda_available", no_probe_on_the_driver)
    graph = KnowledgeGraph(MemoryStore())
    configs = [default_configuration(f) for f in ("xgboost", "catboost", "mlp", "lightgbm", "knn")]
    pending = _pending(graph, _credit(shared, 60), configs)

    def plan(device: str, gpus: float) -> dict[str, tuple[float, str]]:
        subs = plan_submissions(pending, put=_FakePut(), device=device, cluster_gpus=gpus,
                                gpus_per_task=0.5, time_limit=60)
        return {item.config["family"]: (s.num_gpus, s.args[5])
                for (item, *_), s in zip(pending, subs, strict=True)}

    assert all(s == 1 for s in (s.num_cpus for s in plan_submissions(
        pending, put=_FakePut(), device="auto", cluster_gpus=2, gpus_per_task=1, time_limit=1)))
    # a cluster with GPUs: the GPU families reserve half a GPU and resolve `auto` themselves
    assert plan("auto", 2) == {"xgboost": (0.5, "auto"), "catboost": (0.5, "auto"),
                               "mlp": (0.5, "auto"), "lightgbm": (0, "cpu"), "knn": (0, "cpu")}
    assert plan("cuda", 1)["xgboost"] == (0.5, "cuda") and plan("cuda", 1)["knn"] == (0, "cpu")
    # no GPU in the cluster, or the CPU asked for: nobody asks for one
    assert set(plan("auto", 0).values()) == {(0, "cpu")}
    assert set(plan("cpu", 4).values()) == {(0, "cpu")}
    with pytest.raises(ValueError, match="Ray cluster reports no GPU"):
        plan("cuda", 0)
    assert gpu_request({"family": "mlp"}, device="auto", cluster_gpus=1, gpus_per_task=2) == 2
    assert check_gpus_per_task(0.25) == 0.25 and check_gpus_per_task(2) == 2
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="fraction in \\(0, 1\\]"):
            check_gpus_per_task(bad)


def test_the_worker_resolves_auto_on_its_own_node(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def fake_fold(X: object, y: object, spec: object, config: object, config_id: str,
                  fold: int, device: str, time_limit: float) -> FoldResult:
        seen.append(device)
        return FoldResult("t", config_id, fold, device=device)

    monkeypatch.setattr(ray_backend, "run_fold", fake_fold)
    from metakg.runner.protocol import TaskSpec

    spec = TaskSpec("t", "", "y", "classification")
    for has_gpu, expected in ((True, "cuda"), (False, "cpu")):
        monkeypatch.setattr(devices_module, "cuda_available", lambda has_gpu=has_gpu: has_gpu)
        result, _ = fold_on_worker((None, None), spec, {"family": "xgboost"}, "c", 0, "auto", 1)
        assert result.device == expected
    assert seen == ["cuda", "cpu"]
    # `cuda` sent to a node without one is that fold's failure, named, not a crash
    result, _ = fold_on_worker((None, None), spec, {"family": "xgboost"}, "c", 1, "cuda", 1)
    assert result.error is not None and result.error.startswith("DeviceUnavailable")
    assert len(seen) == 2


def test_a_gpu_request_no_node_can_meet_is_refused_and_cuda_n_is_cuda_on_the_worker(
        shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    from metakg.runner.ray_backend import run_ray

    graph = KnowledgeGraph(MemoryStore())
    pending = _pending(graph, _credit(shared, 60), [default_configuration("xgboost")])
    # two nodes of one GPU each: two GPUs in the cluster, but no node with two
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    monkeypatch.setattr(ray, "put", _FakePut())
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0, "GPU": 2.0})
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": {"GPU": 1.0}}] * 2)
    monkeypatch.setattr(ray, "remote", lambda f: pytest.fail("submitted a task no node can run"))
    with pytest.raises(ValueError, match="more than any node of the Ray cluster has"):
        run_ray(pending, lambda *a: None, jobs=1, address=None, device="auto", time_limit=1,
                progress=False, gpus_per_task=2)
    subs = plan_submissions(pending, put=_FakePut(), device="cuda:1", cluster_gpus=2,
                            gpus_per_task=1, time_limit=1)
    assert {s.args[5] for s in subs} == {"cuda"}  # Ray numbers a task's GPUs from 0


def test_bad_ray_settings_are_refused_before_anything_runs(shared: Path) -> None:
    graph = KnowledgeGraph(MemoryStore())
    pending = _pending(graph, _credit(shared, 60), CHEAP[:1])
    items = [pending[0][0]]
    with pytest.raises(ValueError, match="Unknown device 'gpu'"):
        execute(graph, items, backend="ray", device="gpu", progress=False)
    with pytest.raises(ValueError, match=r"gpus_per_task=3\.5"):
        execute(graph, items, backend="ray", gpus_per_task=3.5, progress=False)
    with pytest.raises(ValueError, match="Unknown backend 'dask'"):
        execute(graph, items, backend="dask", progress=False)
    assert graph.runs() == []


# ----- slow: a head and a second node on loopback, no folder shared --------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill a ``ray start`` and every daemon it started (its own session), by process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Wait (bounded) until the head's GCS accepts connections; fail at once if it died."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the Ray head exited ({proc.returncode}):\n{_log_tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"the Ray head did not listen in {timeout:g} s:\n{_log_tail(log)}")
            time.sleep(0.5)


@pytest.fixture
def two_node_cluster() -> Iterator[tuple[str, list[subprocess.Popen], Path]]:
    """A Ray head and a second node, one CPU each, each with its own temporary folder; yields
    the head's address, the two ``ray start`` processes and the folder of their logs. Only the
    processes started here are stopped (never ``ray stop``, which stops every Ray on the
    machine)."""
    ray_cli = Path(sys.executable).parent / "ray"
    port = _free_port()
    # a short folder: Ray's socket paths under it must stay within AF_UNIX's 107 bytes
    root = Path(tempfile.mkdtemp(prefix="mkg-ray-"))
    # token authentication is Ray's business and has no bearing on this test; a cluster of
    # its own needs no token file in the user's home
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    common = [str(ray_cli), "start", "--block", "--num-cpus", "1", "--disable-usage-stats"]
    nodes = [("head", ["--head", "--port", str(port), "--include-dashboard=false"]),
             ("node", ["--address", f"127.0.0.1:{port}"])]
    procs: list[subprocess.Popen] = []
    try:
        for name, extra in nodes:
            (root / name).mkdir()
            with open(root / f"{name}.log", "wb") as log:
                procs.append(subprocess.Popen(
                    [*common, *extra, "--temp-dir", str(root / name)], env=env, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True))
            if name == "head":
                _wait_for_port(port, procs[0], root / "head.log", timeout=60)
        yield f"127.0.0.1:{port}", procs, root
    finally:
        for proc in reversed(procs):
            _kill_group(proc)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_nodes(procs: list[subprocess.Popen], root: Path, nodes: int,
                    timeout: float = 60) -> list[str]:
    """Wait (bounded) until the connected cluster has ``nodes`` live nodes; their ids."""
    import ray

    deadline = time.monotonic() + timeout
    while True:
        alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
        if len(alive) >= nodes:
            return alive
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            pytest.fail(f"{len(alive)} of {nodes} Ray nodes joined in {timeout:g} s:\n"
                        + _log_tail(root / "node.log"))
        time.sleep(0.5)


@pytest.mark.ray
@pytest.mark.timeout(180)
def test_a_two_node_cluster_runs_folds_on_both_nodes_and_writes_every_result(
        shared: Path, two_node_cluster: tuple[str, list[subprocess.Popen], Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    graph = KnowledgeGraph(MemoryStore())
    _, task, spec = table_task(graph, _credit(shared), target="class", folds=3, name="credit")
    cache = Path(spec.data_path).parent
    gone: list[bool] = []

    def drop_the_driver_cache(result: FoldResult) -> None:
        # every fold is submitted before the first result: from here on, no worker could read
        # the driver's files even if it tried
        if not gone:
            shutil.rmtree(cache)
            gone.append(True)

    address, procs, root = two_node_cluster
    started = time.perf_counter()
    try:
        ray.init(address=address, log_to_driver=False)
        alive = _wait_for_nodes(procs, root, nodes=2)
        joined = time.perf_counter()
        report = execute(graph, [WorkItem(task, spec, c) for c in CHEAP], backend="ray",
                         address=address, progress=False, on_result=drop_the_driver_cache)
    finally:
        ray.shutdown()
    elapsed = time.perf_counter() - started
    assert (report.completed, report.failed, report.folds_run) == (3, 0, 9), report
    assert set(report.nodes) == set(alive) and sum(report.nodes.values()) == 9  # both nodes
    assert gone and not cache.exists()
    runs = graph.runs(task=task.id)
    assert sorted(r.configuration_id for r in runs) == sorted(
        make_configuration(c).id for c in CHEAP)
    assert all(r.status == "completed" and 0.5 < r.scores["accuracy"] <= 1 for r in runs)
    states = run_states(graph, [task.id])
    assert all(sorted(s.folds) == [0, 1, 2] for s in states.values())
    print(f"two-node Ray: joined in {joined - started:.1f} s, batch {elapsed:.1f} s in all, "
          f"folds per node {report.nodes}")
