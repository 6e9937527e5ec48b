"""Runner overhead and scaling.

1. The same configurations on the same datasets and folds, through the runner (``execute``,
   which also writes every fold to an embedded graph) and through a plain
   ``sklearn.model_selection.cross_validate`` loop: ratio of wall times (goal <= 1.10) and
   whether the fold scores are identical.
2. Throughput of the runner with ``jobs=2`` vs ``jobs=1`` (scaling ratio).

Usage: python bench/runner_overhead.py [--configs 20] [--datasets 5] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from metakg.kg import KnowledgeGraph, OxigraphStore, read_table
from metakg.kg.ingest import read_manifest
from metakg.runner import WorkItem, build_estimator, execute, fold_indices, portfolio
from metakg.runner.table_runs import table_task

SHARED = Path(os.environ.get("METAKG_SHARED", "../shared/datasets"))
DATASETS = ["credit.g", "diabetes", "vehicle", "abalone", "kr.vs.kp", "cpu.small", "segment"]
SCORING = {"roc_auc": "roc_auc", "accuracy": "accuracy", "rmse": "neg_root_mean_squared_error"}


def plain_loop(tasks: list, configs: list) -> tuple[float, dict]:
    from sklearn.model_selection import cross_validate
    from threadpoolctl import threadpool_limits

    scores = {}
    t0 = time.perf_counter()
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for task, spec, X, y in tasks:
            folds = fold_indices(y, spec)
            metric = "rmse" if spec.task_type == "regression" else (
                "roc_auc" if y.nunique() == 2 else "accuracy")
            for cfg in configs:
                est = build_estimator(cfg, task=spec.task_type, device="cpu", random_state=spec.seed)
                yy = y.astype(str) if spec.task_type == "classification" else y
                res = cross_validate(est, X, yy, cv=folds, scoring=SCORING[metric], n_jobs=1)
                vals = res["test_score"] * (-1 if metric == "rmse" else 1)
                scores[(task.id, json.dumps(cfg, sort_keys=True), metric)] = vals.tolist()
    return time.perf_counter() - t0, scores


def runner_loop(tasks: list, configs: list, jobs: int, work: Path) -> tuple[float, dict]:
    graph = KnowledgeGraph(OxigraphStore(work))
    items = [WorkItem(task, spec, cfg) for task, spec, _, _ in tasks for cfg in configs]
    t0 = time.perf_counter()
    execute(graph, items, jobs=jobs, progress=False, device="cpu")
    secs = time.perf_counter() - t0
    rows = graph.store.select(
        """SELECT ?t ?json ?m ?fold ?v WHERE { ?r mls:achieves ?t ; mkg:configuration ?c ;
             mls:hasOutput ?e . ?c mkg:json ?json . ?e mkg:fold ?fold ; mls:specifiedBy ?mm ;
             mls:hasValue ?v . ?mm dcterms:title ?m FILTER(?m IN ("roc_auc", "accuracy", "rmse")) }""")
    scores: dict = {}
    for r in rows:
        key = (r["t"].rsplit("/", 1)[-1], json.dumps(json.loads(r["json"]), sort_keys=True), r["m"])
        scores.setdefault(key, {})[r["fold"]] = r["v"]
    graph.store.close()
    return secs, {k: [v[i] for i in sorted(v)] for k, v in scores.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=20)
    ap.add_argument("--datasets", type=int, default=5)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", default="bench/results/runner_overhead.json")
    args = ap.parse_args()
    rows = {r["name"]: r for r in read_manifest(SHARED / "manifest.csv")}
    tmp = Path(tempfile.mkdtemp(prefix="metakg-runner-"))
    os.environ["METAKG_CACHE"] = str(tmp / "cache")
    prep = KnowledgeGraph(OxigraphStore(tmp / "prep"))
    tasks = []
    for name in [n for n in DATASETS if n in rows][: args.datasets]:
        df = read_table(SHARED / rows[name]["file"])
        _, task, spec = table_task(prep, df, target=rows[name]["target"], task_type=rows[name]["task"],
                                   folds=args.folds, name=name, subsample_rows=2000)
        import pickle

        X, y = pickle.load(open(spec.data_path, "rb"))
        tasks.append((task, spec, X, y))
    prep.store.close()
    configs = portfolio(args.configs)
    plain_s, plain_scores = plain_loop(tasks, configs)
    run1_s, run_scores = runner_loop(tasks, configs, 1, tmp / "g1")
    run2_s, _ = runner_loop(tasks, configs, 2, tmp / "g2")
    common = [k for k in plain_scores if k in run_scores]
    diffs = [float(np.max(np.abs(np.array(plain_scores[k]) - np.array(run_scores[k])))) for k in common]
    out = {"configs": args.configs, "datasets": len(tasks), "folds": args.folds,
           "fits": len(tasks) * args.configs * args.folds,
           "plain_cross_validate_s": plain_s, "runner_jobs1_s": run1_s, "runner_jobs2_s": run2_s,
           "overhead_ratio_runner_vs_plain": run1_s / plain_s,
           "scaling_jobs2_vs_jobs1": run1_s / run2_s,
           "compared_pairs": len(common), "max_abs_score_difference": max(diffs) if diffs else None,
           "identical_scores": bool(diffs) and max(diffs) < 1e-9, "cpus": os.cpu_count()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
