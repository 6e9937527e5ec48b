"""The warm worker's address: who may share a worker, and which commands go to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metakg.api import warm


@pytest.fixture
def sockets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The private socket folder, under ``tmp_path`` instead of the real temporary folder."""
    monkeypatch.setattr(warm.tempfile, "gettempdir", lambda: str(tmp_path))
    return tmp_path / f"metakg-{os.getuid()}"


def test_another_store_or_cache_means_another_worker_the_terminal_does_not(sockets: Path) -> None:
    env = {"METAKG_WARM": "1", "METAKG_STORE": "/a", "HOME": "/home/x", "COLUMNS": "80"}
    address = warm.worker_address(env)
    assert address is not None and address.parent == sockets
    assert warm.worker_address(env) == address
    assert warm.worker_address({**env, "COLUMNS": "200", "METAKG_WARM_IDLE": "5"}) == address
    assert warm.worker_address({**env, "METAKG_STORE": "/b"}) != address
    assert warm.worker_address({**env, "METAKG_CACHE": "/c"}) != address
    assert warm.worker_address({**env, "METAKG_WARM": "0"}) is None


def test_a_code_change_means_another_worker(tmp_path: Path) -> None:
    # No public call takes the source folder, so this one reads the private key directly.
    root = tmp_path / "src"
    for package in ("api", "kg", "metalearner", "runner"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    key = warm._key({}, root)
    assert warm._key({}, root) == key
    (root / "kg" / "__init__.py").write_text("x = 1\n")
    assert warm._key({}, root) != key


def test_only_plain_recommendations_go_to_the_worker(sockets: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []

    def no_worker(address: Path, message: dict, **kwargs: object) -> None:
        asked.append(message["argv"])
        raise OSError("no worker in this test")  # the caller then runs the command itself

    monkeypatch.setattr(warm, "request", no_worker)
    monkeypatch.setenv("METAKG_WARM", "1")
    plain = ["recommend", "t.csv", "--target", "y"]
    for argv in (plain, [*plain, "--run"], ["ingest", "t.csv"], [], ["recommend", "--help"]):
        assert warm.delegate(argv) is None  # no worker answered: runs in the caller's process
    assert asked == [plain]
    monkeypatch.setenv("METAKG_WARM", "0")
    assert warm.delegate(plain) is None and asked == [plain]  # workers off: not even asked


def test_the_socket_folder_must_be_private(sockets: Path) -> None:
    env = {"METAKG_WARM": "1"}
    address = warm.worker_address(env)
    assert address is not None and address.parent == sockets
    assert sockets.stat().st_mode & 0o777 == 0o700
    sockets.chmod(0o755)  # another user could plant a socket there
    assert warm.worker_address(env) is None
