"""/sparql's limits on a real `metakg serve` holding the full seed graph, on loopback.

1. The heavy query (two runs' evaluations joined, then sorted: the join has about 10^10 rows)
   must be answered 503 within the time limit + 1 s, and the server's resident memory must
   grow by at most 500 MB (the query's worker process is bounded by its own memory limit).
2. A storm of slow queries (50 clients at once, each sending the heavy query again and again
   for a bounded time) must not starve the other routes: ``POST /recommendations/{dataset}``
   p99 <= 1 s meanwhile.

Usage: python bench/sparql_limits.py [--store DIR] [--timeout 5] [--clients 50] [--storm-s 30]
       [--out bench/results/sparql_limits.json]

``--store`` is filled with the shipped seed graph when it does not hold it (a few minutes) and kept.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

HEAVY = ("SELECT * WHERE { ?r a mls:Run ; mls:hasOutput ?e . ?e mls:hasValue ?v . "
         "?r2 a mls:Run ; mls:hasOutput ?e2 . ?e2 mls:hasValue ?v2 } ORDER BY ?v ?v2")
SETUP = """
import json, sys
from metakg.api.keys import create_key
from metakg.kg.default_graph import open_graph
graph = open_graph(sys.argv[1], progress=False)
keys = [create_key(graph, f"bench-client-{i}", "read") for i in range(int(sys.argv[2]) + 1)]
graph.store.close()
print(json.dumps(keys))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def children_rss_mb(pid: int) -> float:
    """Resident memory of a process's children (the query workers)."""
    import psutil

    total = 0.0
    for child in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a worker may end meanwhile
            total += child.memory_info().rss / 2**20
    return total


def pct(xs: list[float]) -> dict[str, float]:
    return {"n": len(xs), "p50_ms": statistics.median(xs) * 1000, "p99_ms": float(np.percentile(xs, 99)) * 1000,
            "max_ms": max(xs) * 1000}


class MemoryWatch:
    """Peak resident memory of the server and of its workers, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server_peak = self.workers_peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.server_peak = max(self.server_peak, rss_mb(self.pid))
            self.workers_peak = max(self.workers_peak, children_rss_mb(self.pid))
            time.sleep(0.05)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def heavy_query(base: str, key: str, timeout_s: float, pid: int, repeats: int) -> dict:
    """Send the heavy query ``repeats`` times; time each answer and watch memory."""
    out = []
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=timeout_s + 60) as c:
        for _ in range(repeats):
            before = rss_mb(pid)
            with MemoryWatch(pid) as watch:
                t = time.perf_counter()
                r = c.post("/sparql", data={"query": HEAVY})
                elapsed = time.perf_counter() - t
            out.append({"status": r.status_code, "seconds": elapsed, "detail": r.json().get("detail", ""),
                        "server_rss_before_mb": before, "server_rss_peak_mb": watch.server_peak,
                        "server_rss_growth_mb": watch.server_peak - before,
                        "workers_rss_peak_mb": watch.workers_peak})
            time.sleep(3)  # the killed worker's replacement starts
    return {"runs": out, "max_seconds": max(o["seconds"] for o in out),
            "max_server_rss_growth_mb": max(o["server_rss_growth_mb"] for o in out),
            "statuses": sorted({o["status"] for o in out})}


def recommendations(base: str, key: str, datasets: list[str], *, n: int | None = None,
                    until: threading.Event | None = None) -> list[float]:
    """Latencies of POST /recommendations/{dataset}: ``n`` calls, or until ``until`` is set."""
    xs: list[float] = []
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as c:
        i = 0
        while (n is not None and i < n) or (until is not None and not until.is_set()):
            t = time.perf_counter()
            c.post(f"/recommendations/{datasets[i % len(datasets)]}").raise_for_status()
            xs.append(time.perf_counter() - t)
            i += 1
            time.sleep(0.05)
    return xs


def storm(base: str, keys: list[str], seconds: float, max_per_client: int) -> dict:
    """Each client sends the heavy query again and again (at most ``max_per_client`` times)
    until ``seconds`` have passed; returns the statuses and the slowest answer."""
    stop_at = time.monotonic() + seconds
    statuses: dict[int, int] = {}
    slowest = [0.0]
    lock = threading.Lock()

    def client(key: str) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120) as c:
            for _ in range(max_per_client):
                if time.monotonic() > stop_at:
                    return
                t = time.perf_counter()
                try:
                    status = c.post("/sparql", data={"query": HEAVY}).status_code
                except httpx.HTTPError:
                    status = -1
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    slowest[0] = max(slowest[0], time.perf_counter() - t)
                time.sleep(0.2)

    with ThreadPoolExecutor(len(keys)) as pool:
        list(pool.map(client, keys))
    return {"clients": len(keys), "seconds": seconds, "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "slowest_answer_s": slowest[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None, help="seed store directory (built if missing)")
    ap.add_argument("--timeout", type=float, default=5.0, help="METAKG_SPARQL_TIMEOUT_S of the server")
    ap.add_argument("--memory-mb", type=int, default=1024, help="METAKG_SPARQL_MEMORY_MB of the server")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--storm-s", type=float, default=30.0)
    ap.add_argument("--out", default="bench/results/sparql_limits.json")
    args = ap.parse_args()
    store = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="metakg-sparql-")) / "store"
    # derived caches (run index, fitted recommenders) kept between runs: the first
    # recommendation on a cold cache takes minutes, and it is not what is measured here
    cache = os.environ.get("METAKG_CACHE") or str(Path(tempfile.gettempdir()) / "metakg-sparql-bench-cache")
    env = {**{k: v for k, v in os.environ.items() if k != "METAKG_SEED"},  # the shipped seed graph
           "METAKG_WARM": "0", "METAKG_CACHE": cache}
    t = time.perf_counter()
    setup = subprocess.run([sys.executable, "-c", SETUP, str(store), str(args.clients)], env=env,
                           capture_output=True, text=True)
    if setup.returncode != 0:
        raise SystemExit(f"could not open or build the store {store}: {setup.stderr[-1000:]}")
    print(f"store ready in {time.perf_counter() - t:.0f} s: {store}", file=sys.stderr)
    keys = json.loads(setup.stdout.strip().splitlines()[-1])
    limits = {"METAKG_SPARQL_TIMEOUT_S": str(args.timeout), "METAKG_SPARQL_MEMORY_MB": str(args.memory_mb),
              "METAKG_SPARQL_CONCURRENCY": "2", "METAKG_SPARQL_PER_CLIENT": "1", "METAKG_SPARQL_QUEUE_S": "1"}
    port = free_port()
    exe = shutil.which("metakg")
    cmd = [exe] if exe else [sys.executable, "-m", "metakg.api"]
    proc = subprocess.Popen([*cmd, "serve", "--store", str(store), "--port", str(port)],
                            env={**env, "METAKG_SEED": "", **limits}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(base + "/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("metakg serve did not start") from None
                time.sleep(0.2)
        rec_key, storm_keys = keys[0], keys[1:]
        with httpx.Client(base_url=base, headers={"X-API-Key": rec_key}, timeout=120) as c:
            datasets = [d["id"] for d in c.get("/datasets", params={"limit": 20}).json()]
            while c.post("/sparql", data={"query": "ASK { ?r a mls:Run }"}).status_code == 503:
                if time.monotonic() > deadline + 60:  # the query workers are still starting
                    raise SystemExit("the SPARQL workers did not start")
        with httpx.Client(base_url=base, headers={"X-API-Key": rec_key}, timeout=900) as c:
            t = time.perf_counter()
            c.post(f"/recommendations/{datasets[0]}").raise_for_status()  # caches filled, models fitted
            print(f"first recommendation: {time.perf_counter() - t:.1f} s", file=sys.stderr)
        recommendations(base, rec_key, datasets, n=10)
        quiet = recommendations(base, rec_key, datasets, n=100)
        heavy = heavy_query(base, rec_key, args.timeout, proc.pid, repeats=3)
        print(json.dumps(heavy, indent=1), file=sys.stderr)
        done = threading.Event()
        latencies: list[float] = []
        measure = threading.Thread(target=lambda: latencies.extend(recommendations(base, rec_key, datasets,
                                                                                   until=done)))
        rss_before = rss_mb(proc.pid)
        with MemoryWatch(proc.pid) as watch:
            measure.start()
            storm_out = storm(base, storm_keys, args.storm_s, max_per_client=20)
            done.set()
            measure.join()
        storm_out["server_rss_growth_mb"] = watch.server_peak - rss_before
        storm_out["workers_rss_peak_mb"] = watch.workers_peak
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    out = {
        "command": "python bench/sparql_limits.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "server_limits": limits,
        "heavy_query": {**heavy, "goal": f"503 within {args.timeout:g} + 1 s; server RSS growth <= 500 MB",
                        "met": heavy["statuses"] == [503] and heavy["max_seconds"] <= args.timeout + 1
                        and heavy["max_server_rss_growth_mb"] <= 500},
        "recommendations_quiet": pct(quiet),
        "storm": {**storm_out, "recommendations_during": pct(latencies),
                  "goal": "POST /recommendations p99 <= 1 s during the storm",
                  "met": pct(latencies)["p99_ms"] <= 1000},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
