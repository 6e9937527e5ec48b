"""Load on a real ``uvicorn`` server on loopback, against in-process calls as the baseline.

1. p50/p99 of ``POST /recommendations/{dataset}`` for a registered dataset of the seed graph
   (goal p50 <= 30 ms), vs ``recommend_for_dataset`` in-process: with a write key (the
   recommendation is stored, so that it can take feedback) and with a read key (answered only,
   as in-process).
2. Runs/s through ``POST /runs/batch`` (batches of 500, 4 client threads; goal >= 2,000 runs/s),
   vs ``KnowledgeGraph.log_runs`` in-process on the same kind of store.

Usage: python bench/api_load.py [--seed data/seed.trig.xz] [--requests 200] [--runs 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from metakg.api.keys import create_key
from metakg.kg import KnowledgeGraph, OxigraphStore, RunInput
from metakg.metalearner.recommend import recommend_for_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(xs) * 1000, "p99_ms": float(np.percentile(xs, 99)) * 1000}


def batches(task_id: str, n: int, size: int) -> list[list[dict]]:
    rng = np.random.default_rng(0)
    runs = [{"task_id": task_id, "config": {"family": "knn", "params": {"n_neighbors": int(k % 50) + 1}},
             "fold_scores": {"roc_auc": rng.random(5).tolist()}} for k in range(n)]
    return [runs[i:i + size] for i in range(0, n, size)]


def timed_recommendations(base: str, key: str, datasets: list[str], n: int) -> dict[str, float]:
    """p50/p99 of ``n`` sequential ``POST /recommendations/{dataset}`` calls with ``key``."""
    xs = []
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as c:
        for i in range(n):
            t = time.perf_counter()
            c.post(f"/recommendations/{datasets[i % len(datasets)]}").raise_for_status()
            xs.append(time.perf_counter() - t)
    return pct(xs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--runs", type=int, default=20_000)
    ap.add_argument("--out", default="bench/results/api_load.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="metakg-api-"))
    os.environ["METAKG_CACHE"] = str(work / "cache")
    store = OxigraphStore(work / "store")
    store.load(args.seed)
    graph = KnowledgeGraph(store)
    key = create_key(graph, "bench", "write")
    reader = create_key(graph, "bench-reader", "read")
    datasets = [d.id for d in graph.datasets()]
    ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), name="load", target="y")
    task = graph.add_task(ds, target="y", task_type="classification", n_classes=2)
    # in-process baselines
    recommend_for_dataset(graph, datasets[0])
    xs = []
    for i in range(args.requests):
        t = time.perf_counter()
        recommend_for_dataset(graph, datasets[i % len(datasets)])
        xs.append(time.perf_counter() - t)
    inproc_rec = pct(xs)
    bs = batches(task.id, args.runs, 500)
    t = time.perf_counter()
    for b in bs:
        graph.log_runs([RunInput(task_id=r["task_id"], config=r["config"], fold_scores=r["fold_scores"],
                                 principal="bench") for r in b])
    inproc_runs = args.runs / (time.perf_counter() - t)
    store.close()
    port = free_port()
    env = {**os.environ, "METAKG_STORE": str(work / "store"), "METAKG_SEED": ""}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "metakg.api.app:create_app", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/health", timeout=0.5)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        h = {"X-API-Key": key}
        with httpx.Client(base_url=base, headers=h, timeout=60) as c:
            c.post(f"/recommendations/{datasets[0]}").raise_for_status()  # fits once
        http_rec = timed_recommendations(base, key, datasets, args.requests)
        # a read key's recommendations are answered, not stored: the cost of storing apart
        http_rec_unstored = timed_recommendations(base, reader, datasets, args.requests)

        def send(chunk: list[list[dict]]) -> None:
            with httpx.Client(base_url=base, headers=h, timeout=120) as c:
                for b in chunk:
                    c.post("/runs/batch", json={"runs": b}).raise_for_status()

        bs = batches(task.id, args.runs, 500)
        t = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(send, [bs[i::4] for i in range(4)]))
        http_runs = args.runs / (time.perf_counter() - t)
    finally:
        proc.terminate()
        proc.wait()
    out = {"recommendation_registered_dataset": {"http": http_rec, "http_read_key": http_rec_unstored,
                                                 "in_process": inproc_rec,
                                                 "ratio_p50_http_vs_in_process": http_rec["p50_ms"] / inproc_rec["p50_ms"]},
           "batch_logging": {"http_runs_per_s": http_runs, "in_process_runs_per_s": inproc_runs,
                             "ratio_http_vs_in_process": http_runs / inproc_runs}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
