"""Shared fixtures: the shared datasets, stores of every back-end, a real Oxigraph server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from metakg.kg import KnowledgeGraph, MemoryStore, OxigraphStore, SparqlEndpointStore, Store

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("METAKG_SHARED", ROOT.parent / "shared" / "datasets"))
STORE_MODES = ["memory", "embedded", pytest.param("remote", marks=pytest.mark.server)]
#: Markers of the slow tier. Each implies ``slow``, which the default run deselects
#: (pyproject.toml's addopts); `.ci/run` runs them as its second step with ``-m slow``.
HEAVY_KINDS = ("server", "ray", "stress", "timelimit", "seed", "subprocess")

os.environ.setdefault("METAKG_SEED", "")  # tests never load the shipped seed implicitly
# One thread per maths library, read when each loads (OpenMP with scikit-learn, later than
# this): on a busy two-core machine OpenMP's spinning threads made a 240-row gradient boosting
# fit take 20 s instead of 0.3 s. The runner's pool workers already run single-threaded.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("METAKG_WARM", "0")  # CLI subprocesses start no warm worker unless asked
# caches (run index, fitted recommenders, prepared task data) stay out of the user's own
os.environ.setdefault("METAKG_CACHE", tempfile.mkdtemp(prefix="metakg-test-cache-"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Runs before pytest's own -m deselection (conftest hooks are called first).
    # Markers, not keywords: a test's name or parameter id may contain "seed" or "server".
    for item in items:
        kinds = {m.name for m in item.iter_markers()}
        if "slow" not in kinds and kinds.intersection(HEAVY_KINDS):
            item.add_marker(pytest.mark.slow)

    from metakg.runner.devices import cuda_available

    if not cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if item.get_closest_marker("gpu") is not None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared datasets folder (manifest.csv, arff/, malformed/)."""
    if not (SHARED / "manifest.csv").exists():
        pytest.fail(f"shared datasets not found at {SHARED}; set METAKG_SHARED")
    return SHARED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Oxigraph SPARQL server on 127.0.0.1, started and stopped by the tests."""
    exe = shutil.which("oxigraph")
    if exe is None:
        pytest.fail("the `oxigraph` server is not installed (pip install oxigraph)")
    port = _free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    proc = subprocess.Popen([exe, "serve", "--location", str(location), "--bind",
                             f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/query", params={"query": "ASK {}"}, timeout=1.0)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"oxigraph server did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def make_store(mode: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if mode == "memory":
        return MemoryStore()
    if mode == "embedded":
        return OxigraphStore(tmp_path / "store")
    url = request.getfixturevalue("oxigraph_server")
    clear_server(url)
    return SparqlEndpointStore(url)


def clear_server(url: str) -> None:
    """Empty the test server through the SPARQL 1.1 update protocol (not through the store)."""
    response = httpx.post(url + "/update", data={"update": "CLEAR ALL"}, timeout=30.0)
    response.raise_for_status()


@pytest.fixture(params=STORE_MODES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of each back-end."""
    s = make_store(request.param, tmp_path, request)
    yield s
    s.close()


@pytest.fixture
def graph(store: Store) -> KnowledgeGraph:
    return KnowledgeGraph(store)


@pytest.fixture
def memory_graph() -> KnowledgeGraph:
    return KnowledgeGraph(MemoryStore())


# ----- the full seed graph behind a real `metakg serve` (slow tier) ----------------------------
# One session-scoped server for every slow test that needs the real graph's scale (SPARQL
# limits, run search...). The store is built once from data/seed.trig.xz (about 2-5 minutes) in
# METAKG_TEST_SEED_STORE, kept there and reused by later sessions; without that variable it is
# built in a temporary folder. The server holds the store's write lock while it runs, so two
# sessions must not share one METAKG_TEST_SEED_STORE at the same time.

#: Environment of the server: the /sparql limits the slow tests measure against.
SEED_SERVER_ENV = {"METAKG_SPARQL_TIMEOUT_S": "5", "METAKG_SPARQL_MEMORY_MB": "1024",
                   "METAKG_SPARQL_CONCURRENCY": "2", "METAKG_SPARQL_PER_CLIENT": "1",
                   "METAKG_SPARQL_QUEUE_S": "1"}
#: Read keys made for simulated clients (one per client: limits are per client).
SEED_SERVER_CLIENTS = 50
SEED_BUILD_TIMEOUT_S = 1200
SEED_START_TIMEOUT_S = 120


def wait_for_health(url: str, proc: subprocess.Popen, timeout_s: float, log: Path,
                    stop: Callable[[], None], name: str) -> None:
    """Wait until ``url`` answers 200; else stop the server and fail with its log's tail."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            stop()
            pytest.fail(f"{name} did not answer {url} within {timeout_s} s: "
                        f"{log.read_text(errors='replace')[-1500:]}")
        time.sleep(0.2)


@dataclass(frozen=True)
class SeedServer:
    """A running `metakg serve` on the full seed graph.

    Attributes:
        url: base URL on 127.0.0.1.
        key: an admin key.
        reader_keys: ``SEED_SERVER_CLIENTS`` read keys, one per simulated client.
        store: the store's directory.
        pid: the server's process id (for its memory).
        env: the server's ``METAKG_*`` settings.
        fresh_stamp: the learning stamp of the store as the seed filled it (``None`` when
            an existing store was reused, ``METAKG_TEST_SEED_STORE``).
    """

    url: str
    key: str
    reader_keys: tuple[str, ...]
    store: Path
    pid: int
    env: dict[str, str]
    fresh_stamp: str | None = None


_SEED_SETUP = """
import json, sys
from metakg.api.keys import create_key
from metakg.kg.default_graph import open_graph, seed_file
if seed_file() is None:
    sys.exit("the shipped seed graph is missing (metakg/data)")
from pathlib import Path
fresh = not Path(sys.argv[1]).exists()
graph = open_graph(sys.argv[1], progress=False)
stamp = graph.learning_stamp()
keys = [create_key(graph, "seed-admin", "admin")]
keys += [create_key(graph, f"seed-client-{i}", "read") for i in range(int(sys.argv[2]))]
graph.store.close()
print(json.dumps({"keys": keys, "stamp": stamp if fresh else None}))
"""


@pytest.fixture(scope="session")
def seed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedServer]:
    """`metakg serve` on 127.0.0.1 with the full seed graph (built or reused, see above)."""
    import json
    import sys

    env_dir = os.environ.get("METAKG_TEST_SEED_STORE")
    store = Path(env_dir) if env_dir else tmp_path_factory.mktemp("seed-store") / "store"
    # the shipped seed graph, found as a user's install finds it (this file sets METAKG_SEED="")
    env = {k: v for k, v in os.environ.items() if k != "METAKG_SEED"} | {"METAKG_WARM": "0"}
    try:
        setup = subprocess.run([sys.executable, "-c", _SEED_SETUP, str(store), str(SEED_SERVER_CLIENTS)],
                               env=env, capture_output=True, text=True, timeout=SEED_BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"building the seed store at {store} took over {SEED_BUILD_TIMEOUT_S} s")
    if setup.returncode != 0:
        pytest.fail(f"could not build the seed store at {store}: {setup.stderr[-1500:]}")
    made = json.loads(setup.stdout.strip().splitlines()[-1])
    keys = made["keys"]
    port = _free_port()
    log = tmp_path_factory.mktemp("seed-server") / "serve.log"
    exe = shutil.which("metakg")
    cmd = [exe] if exe else [sys.executable, "-m", "metakg.api"]
    server_env = {**os.environ, "METAKG_SEED": "", "METAKG_WARM": "0", **SEED_SERVER_ENV}
    with open(log, "wb") as out:
        proc = subprocess.Popen([*cmd, "serve", "--store", str(store), "--host", "127.0.0.1", "--port",
                                 str(port)], env=server_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        proc.kill()
        proc.wait(timeout=10)

    wait_for_health(url + "/health", proc, SEED_START_TIMEOUT_S, log, stop, "metakg serve")
    try:
        yield SeedServer(url, keys[0], tuple(keys[1:]), store, proc.pid, dict(SEED_SERVER_ENV),
                         made["stamp"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
