"""Benchmark the store: write N runs (5 fold evaluations each), then query latencies.

Writes into the embedded Oxigraph store through ``KnowledgeGraph.log_runs`` (validated,
atomic batches of 1,000), three times from scratch; reports the median runs/s, triples, disk
size and peak RSS, and the ratio against a naive write path (quad objects, generic shape
check, one transaction per batch) measured in the same run. Then measures
p50/p99 of two queries on embedded, in-memory, a real Oxigraph server and plain rdflib
``Graph()`` (the baseline):

- best 10 configurations on dataset X (by mean ROC AUC),
- all runs of configuration Y.

Usage: python bench/kg_store.py [--runs 100000] [--repeat 200] [--out bench/results/kg_store.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from metakg.kg import KnowledgeGraph, MemoryStore, OxigraphStore, RunInput, SparqlEndpointStore
from metakg.kg.vocabulary import SPARQL_PREFIXES, entity

N_DATASETS, N_CONFIGS = 200, 1000
BEST = """SELECT ?c (MAX(?v) AS ?best) WHERE {
  ?t mls:definedOn ?d . ?r mls:achieves ?t ; mkg:configuration ?c ; mkg:meanEvaluation ?e .
  ?e mls:specifiedBy ?m ; mls:hasValue ?v }
GROUP BY ?c ORDER BY DESC(?best) LIMIT 10"""
RUNS_OF = """SELECT ?r ?v WHERE { ?r mkg:configuration ?c ; mkg:meanEvaluation ?e .
  ?e mls:specifiedBy ?m ; mls:hasValue ?v }"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def naive_log_runs(graph: KnowledgeGraph, runs: list[RunInput]) -> None:
    """The baseline write path: one pyoxigraph Quad object per triple, every quad through
    the generic shape checker, one transaction per batch (how runs were written before the
    template and bulk path)."""
    from metakg.kg import entities as E
    from metakg.kg.graph import make_configuration
    from metakg.kg.shapes import check_quads

    quads = []
    for r in runs:
        task, config = graph.get_task(r.task_id), make_configuration(r.config)
        run_id = uuid.uuid4().hex
        quads += E.configuration_quads(config)
        quads += E.run_header_quads(run_id, task, config, status="completed", principal=r.principal)
        for measure, vals in r.fold_scores.items():
            for fold, v in enumerate(vals):
                quads += E.evaluation_quads(run_id, measure, v, fold)
            quads += E.evaluation_quads(run_id, measure, statistics.fmean(vals), None)
    check_quads(quads)
    graph.store._store.extend(quads)  # one transaction


def build(graph: KnowledgeGraph, n_runs: int, batch: int = 1000, *,
          naive: bool = False) -> tuple[list, list, float]:
    rng = np.random.default_rng(0)
    tasks = []
    for i in range(N_DATASETS):
        df = pd.DataFrame({"x": rng.normal(size=5), "y": [0, 1, 0, 1, i % 2]})
        ds = graph.add_dataset(df, name=f"synthetic-{i}", target="y")
        tasks.append(graph.add_task(ds, target="y", task_type="classification", n_classes=2))
    configs = [{"family": "lightgbm", "params": {"num_leaves": 8 + j}} for j in range(N_CONFIGS)]
    t0 = time.perf_counter()
    for start in range(0, n_runs, batch):
        runs = []
        for k in range(start, min(start + batch, n_runs)):
            scores = (0.5 + 0.5 * rng.random(5)).tolist()
            runs.append(RunInput(task_id=tasks[k % N_DATASETS].id, config=configs[(k * 7) % N_CONFIGS],
                                 fold_scores={"roc_auc": scores}, principal="bench"))
        if naive:
            naive_log_runs(graph, runs)
        else:
            graph.log_runs(runs)
    return tasks, configs, time.perf_counter() - t0


def timings(fn, repeat: int) -> dict[str, float]:
    fn()  # warm
    xs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": statistics.median(xs), "p99_ms": float(np.percentile(xs, 99))}


def measure(store_query, tasks: list, configs: list, repeat: int) -> dict[str, dict[str, float]]:
    from metakg.kg.graph import make_configuration

    rng = np.random.default_rng(1)
    ds = [entity("dataset", t.dataset_id) for t in tasks]
    cf = [entity("config", make_configuration(c).id) for c in configs]
    m = entity("measure", "roc_auc")
    return {
        "best_10_on_dataset": timings(lambda: store_query(BEST, {"d": ds[rng.integers(len(ds))], "m": m}), repeat),
        "runs_of_configuration": timings(lambda: store_query(RUNS_OF, {"c": cf[rng.integers(len(cf))], "m": m}), repeat),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--rdflib-repeat", type=int, default=3,
                    help="rdflib takes tens of seconds per query at 100,000 runs")
    ap.add_argument("--write-repeats", type=int, default=3,
                    help="independent builds of the store; the median runs/s is reported")
    ap.add_argument("--baseline-runs", type=int, default=20_000,
                    help="runs written through the naive path (quad objects, shape check, "
                         "one transaction per batch) as the write baseline")
    ap.add_argument("--out", default="bench/results/kg_store.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="metakg-bench-"))
    out: dict[str, object] = {"runs": args.runs}
    try:
        rates: list[float] = []
        embedded: OxigraphStore | None = None
        for rep in range(args.write_repeats):
            if embedded is not None:
                embedded.close()
                shutil.rmtree(work / "embedded")
            embedded = OxigraphStore(work / "embedded")
            graph = KnowledgeGraph(embedded)
            tasks, configs, secs = build(graph, args.runs)
            rates.append(args.runs / secs)
            print(f"write {rep + 1}/{args.write_repeats}: {rates[-1]:.0f} runs/s", flush=True)
        assert embedded is not None
        embedded._store.flush()
        disk = sum(f.stat().st_size for f in (work / "embedded").rglob("*") if f.is_file())
        base_store = OxigraphStore(work / "baseline")
        _, _, base_secs = build(KnowledgeGraph(base_store), args.baseline_runs, naive=True)
        base_store.close()
        base_rate = args.baseline_runs / base_secs
        out["write"] = {"runs_per_s": statistics.median(rates), "runs_per_s_each": rates,
                        "quads": len(embedded), "quads_per_run": len(embedded) / args.runs,
                        "disk_mb": disk / 2**20, "peak_rss_mb": rss_mb(),
                        "baseline_naive_runs_per_s": base_rate,
                        "baseline_runs": args.baseline_runs,
                        "ratio_vs_naive": statistics.median(rates) / base_rate}
        print(json.dumps(out["write"], indent=1), flush=True)
        dump = work / "all.nq"
        embedded.dump(dump)
        lat: dict[str, object] = {}
        lat["embedded"] = measure(lambda q, b: list(embedded.query(q, b)), tasks, configs, args.repeat)
        embedded.close()
        mem = MemoryStore()
        mem.load(dump)
        lat["memory"] = measure(lambda q, b: list(mem.query(q, b)), tasks, configs, args.repeat)
        mem = None  # free it before the server starts
        exe = shutil.which("oxigraph")
        if exe:
            loc = work / "server"
            subprocess.run([exe, "load", "--location", str(loc), "--file", str(dump)], check=True,
                           capture_output=True)
            port = free_port()
            proc = subprocess.Popen([exe, "serve", "--location", str(loc), "--bind", f"127.0.0.1:{port}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            remote = SparqlEndpointStore(f"http://127.0.0.1:{port}")
            for _ in range(100):
                try:
                    remote.ask("ASK {}")
                    break
                except Exception:
                    time.sleep(0.1)
            lat["remote"] = measure(lambda q, b: list(remote.query(q, b)), tasks, configs, args.repeat)
            remote.close()
            proc.terminate()
        import rdflib

        g = rdflib.Dataset()
        t = time.perf_counter()
        g.parse(str(dump), format="nquads")
        default = g.default_graph
        print(f"rdflib parse {time.perf_counter() - t:.0f} s", flush=True)

        def rdflib_query(q: str, b: dict) -> list:
            binds = {k: rdflib.URIRef(v.value) for k, v in b.items()}
            return list(default.query(SPARQL_PREFIXES + q, initBindings=binds))

        lat["rdflib_baseline"] = measure(rdflib_query, tasks, configs, args.rdflib_repeat)
        base = lat["rdflib_baseline"]
        out["latency"] = lat
        out["speedup_vs_rdflib_p50"] = {
            name: {q: base[q]["p50_ms"] / v[q]["p50_ms"] for q in v} for name, v in lat.items()}  # type: ignore[index]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
