"""FLAML's zero-shot baseline: ``flaml.default`` picks LightGBM hyperparameters from the
table's meta-features; we evaluate them on each seed task's exact folds and metric.

Writes bench/results/flaml_zeroshot.json: dataset id → mean primary score over every seed
task of the dataset (one per cross-validation repeat, as the seed matrix averages them), and
each task's fold scores. Resumable: tasks already in the output are skipped.

Usage: python bench/flaml_zeroshot.py [--store .metakg-build/store | --seed data/seed.trig.xz]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from metakg.kg import KnowledgeGraph, MemoryStore, OxigraphStore, read_table
from metakg.kg.ingest import read_manifest
from metakg.runner.protocol import TaskSpec, fold_indices, prepare_data, score

SHARED = Path(os.environ.get("METAKG_SHARED", "../shared/datasets"))


def evaluate(X, y, spec: TaskSpec) -> dict[str, list[float]]:
    from flaml.default import LGBMClassifier, LGBMRegressor
    from sklearn.preprocessing import OrdinalEncoder

    Xn = X.copy()
    import pandas as pd

    cats = [c for c in Xn.columns if not pd.api.types.is_numeric_dtype(Xn[c]) or isinstance(Xn[c].dtype, pd.CategoricalDtype)]
    if cats:
        Xn[cats] = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                  encoded_missing_value=-1).fit_transform(Xn[cats].astype(str))
    Xn = Xn.astype(float)
    Xn.columns = [f"f{i}" for i in range(Xn.shape[1])]  # LightGBM refuses JSON characters in names
    out: dict[str, list[float]] = {}
    for train, test in fold_indices(y, spec):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if spec.task_type == "classification":
                yy = y.astype(str).to_numpy()
                est = LGBMClassifier(n_jobs=1, verbose=-1).fit(Xn.iloc[train], yy[train])
                classes = np.unique(yy)
                proba = np.zeros((len(test), len(classes)))
                proba[:, np.searchsorted(classes, est.classes_)] = est.predict_proba(Xn.iloc[test])
                s = score("classification", pd.Series(yy[test]), classes[proba.argmax(1)], proba, classes)
            else:
                est = LGBMRegressor(n_jobs=1, verbose=-1).fit(Xn.iloc[train], y.iloc[train])
                s = score("regression", y.iloc[test], est.predict(Xn.iloc[test]), None, None)
        for k, v in s.items():
            out.setdefault(k, []).append(v)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None)
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--out", default="bench/results/flaml_zeroshot.json")
    args = ap.parse_args()
    if args.store:
        graph = KnowledgeGraph(OxigraphStore(args.store, read_only=True))
    else:
        graph = KnowledgeGraph(MemoryStore())
        graph.store.load(args.seed)
    out_path = Path(args.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    rows = {r["name"]: r for r in read_manifest(SHARED / "manifest.csv")}
    # only tasks the seed has evaluated: a build in progress ingests a repeat's tasks before
    # their runs, and the score must average the same repeats as the seed matrix
    evaluated = {r["t"].rsplit("/", 1)[-1] for r in graph.store.select(
        "SELECT DISTINCT ?t WHERE { ?r mls:achieves ?t ; mkg:status \"completed\" }")}
    for ds in graph.datasets():
        if ds.name not in rows:
            continue
        entry = results.setdefault(ds.id, {"name": ds.name})
        done = entry.setdefault("tasks", {})
        if "folds" in entry:  # written before repeats: the dataset's seed-0 task
            seed0 = [t for t in graph.tasks(ds.id) if t.seed == 0]
            if seed0:
                done[seed0[0].id] = {"seed": 0, "folds": entry["folds"]}
            entry.pop("folds")
        table = None
        for task in graph.tasks(ds.id):
            if task.id in done or task.id not in evaluated:
                continue
            if table is None:
                table = read_table(SHARED / rows[ds.name]["file"])
            spec = TaskSpec(task.id, "", task.target, task.task_type, task.folds, task.seed,
                            task.subsample_rows)
            X, y = prepare_data(table, spec)
            entry["metric"] = task.metric
            try:
                done[task.id] = {"seed": task.seed, "folds": evaluate(X, y, spec)}
            except Exception as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"[:300]
            print(ds.name, task.seed, flush=True)
        scores = [np.mean(t["folds"][entry["metric"]]) for tid, t in done.items()
                  if entry.get("metric") in t["folds"] and tid in evaluated]
        if scores:
            entry["score"] = float(np.mean(scores))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1))

if __name__ == "__main__":
    main()
