"""Proposals on the full seed graph in a real `metakg serve` (slow tier): the queue reads at
once, and a proposal request, which fits every group's recommender on the whole graph,
answers within its client's timeout and writes nothing when there is nothing to propose."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from conftest import SeedServer

pytestmark = [pytest.mark.slow, pytest.mark.server]


def test_proposals_on_the_seed_graph(seed_server: SeedServer) -> None:
    headers = {"X-API-Key": seed_server.key}
    with httpx.Client(base_url=seed_server.url, headers=headers, timeout=600) as c:
        before = c.get("/proposals", params={"limit": 10_000})
        assert before.status_code == 200, before.text
        # every configuration of the seed's views has a run on a seed table: a clear 422 and
        # nothing written (the Python client waits as long, Client.propose(timeout=600))
        t0 = time.perf_counter()
        r = c.post("/proposals", json={"budget": 5, "dataset": "credit.g"})
        seconds = time.perf_counter() - t0
        assert r.status_code == 422, r.text
        assert "No missing run to propose on dataset credit.g" in r.json()["detail"]
        assert seconds < 600
        after = c.get("/proposals", params={"limit": 10_000}).json()
        assert after == before.json()
        gone = c.post("/proposals", json={"budget": 5, "dataset": "no-such-table"})
        assert gone.status_code == 404 and "no-such-table" in gone.json()["detail"]
