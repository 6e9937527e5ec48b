"""Shared fixtures: the shared datasets, stores of every back-end, a real Oxigraph server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
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
