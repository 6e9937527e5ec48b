"""The warm worker's address: who may share a worker, and when a new one is needed."""

from __future__ import annotations

import os
from pathlib import Path

from metakg.api import warm


def _tree(root: Path) -> Path:
    for package in ("api", "kg", "metalearner", "runner"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    return root


def test_a_code_change_or_another_store_means_another_worker(tmp_path: Path) -> None:
    root = _tree(tmp_path / "src")
    env = {"METAKG_STORE": "/a", "HOME": "/home/x", "COLUMNS": "80"}
    key = warm._key(env, root)
    assert warm._key(env, root) == key
    assert warm._key({**env, "COLUMNS": "200", "METAKG_WARM_IDLE": "5"}, root) == key  # terminal
    assert warm._key({**env, "METAKG_STORE": "/b"}, root) != key
    assert warm._key({**env, "METAKG_CACHE": "/c"}, root) != key
    (root / "kg" / "__init__.py").write_text("x = 1\n")
    assert warm._key(env, root) != key


def test_only_plain_recommendations_go_to_the_worker(tmp_path: Path) -> None:
    assert warm._eligible(["recommend", "t.csv", "--target", "y"])
    assert not warm._eligible(["recommend", "t.csv", "--target", "y", "--run"])
    assert not warm._eligible(["ingest", "t.csv"])
    assert not warm._eligible([])
    assert warm.worker_address({**os.environ, "METAKG_WARM": "0"}) is None
    assert warm.delegate(["ingest", "t.csv"]) is None  # runs in the caller's process


def test_the_socket_folder_must_be_private(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(warm.tempfile, "gettempdir", lambda: str(tmp_path))
    env = {"METAKG_WARM": "1"}
    address = warm.worker_address(env)
    assert address is not None and address.parent == tmp_path / f"metakg-{os.getuid()}"
    assert address.parent.stat().st_mode & 0o777 == 0o700
    address.parent.chmod(0o755)  # another user could plant a socket there
    assert warm.worker_address(env) is None
