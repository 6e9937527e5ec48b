"""Run search and dataset export on the full seed graph, through a real `metakg serve`.

Times each filter of the README and the issue's lightgbm filter (GET /runs, p50/p99 over
repeated calls, each with and without its order) and GET /export?dataset=credit.g, and
writes bench/results/run_search.json.

    python bench/run_search.py --store /tmp/seed-store [--repeats 30]

The store is built from the shipped seed graph on first use (a few minutes) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
#: (filter, order_by): the README's example, the issue's filter, and the API tests' filters.
QUERIES = [
    ("metrics.roc_auc > 0.8 and params.family = 'lightgbm' and tags.team = 'risk'",
     "metrics.roc_auc DESC"),
    ("params.family = 'lightgbm' and metrics.roc_auc > 0.99", None),
    ("params.family = 'lightgbm' and metrics.roc_auc > 0.99", "metrics.roc_auc DESC"),
    ("params.family = 'linear' and metrics.roc_auc >= 0.72 and principal = 'write-user'",
     "params.C DESC"),
    ("tags.team = 'risk'", None),
    ("dataset = 'credit.g'", "metrics.roc_auc DESC"),
    ("params.num_leaves > 30", None),
    ("", None),
    ("", "metrics.roc_auc DESC"),
]
GOAL_P50_S, GOAL_P99_S, GOAL_EXPORT_S = 0.100, 0.500, 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(store: Path) -> str:
    """Build (or reuse) the seed store and return an admin key for the benchmark."""
    code = ("import sys\nfrom metakg.api.keys import create_key\n"
            "from metakg.kg.default_graph import open_graph\n"
            "g = open_graph(sys.argv[1])\nprint(create_key(g, 'bench-run-search', 'read'))\n"
            "g.store.close()\n")
    env = {k: v for k, v in os.environ.items() if k != "METAKG_SEED"}
    out = subprocess.run([sys.executable, "-c", code, str(store)], env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/metakg-seed-store"))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "run_search.json")
    args = parser.parse_args()
    key = _setup(args.store)
    port = _free_port()
    env = {**os.environ, "METAKG_SEED": "", "METAKG_WARM": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "metakg.api", "serve", "--store",
                             str(args.store), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("metakg serve did not start")
                time.sleep(0.2)
        rows = []
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120) as http:
            for text, order in QUERIES:
                params = {"filter": text, **({"order_by": order} if order else {})}
                http.get("/runs", params=params).raise_for_status()  # warm the caches
                times, n = [], 0
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    r = http.get("/runs", params=params)
                    times.append(time.perf_counter() - t0)
                    r.raise_for_status()
                    n = len(r.json())
                rows.append({"filter": text, "order_by": order, "runs": n,
                             "p50_s": statistics.median(times), "p99_s": _percentile(times, 0.99),
                             "max_s": max(times)})
                print(f"{rows[-1]['p50_s'] * 1000:8.1f} ms p50 {rows[-1]['p99_s'] * 1000:8.1f} ms "
                      f"p99  {n:4d} runs  {text!r} {order or ''}", flush=True)
            export = []
            for _ in range(max(3, args.repeats // 5)):
                t0 = time.perf_counter()
                r = http.get("/export", params={"dataset": "credit.g"})
                export.append(time.perf_counter() - t0)
                r.raise_for_status()
            print(f"export credit.g: {statistics.median(export):.2f} s median, "
                  f"{max(export):.2f} s max, {len(r.content) / 1e6:.1f} MB", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {
        "command": "python bench/run_search.py --store STORE --repeats " + str(args.repeats),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_1m": os.getloadavg()[0]},
        "goals": {"p50_s": GOAL_P50_S, "p99_s": GOAL_P99_S, "export_s": GOAL_EXPORT_S},
        "search": rows,
        "export_credit_g": {"median_s": statistics.median(export), "max_s": max(export),
                            "bytes": len(r.content)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
