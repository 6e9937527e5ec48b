"""FLAML's zero-shot baseline: ``flaml.default`` picks LightGBM hyperparameters from the
table's meta-features; we evaluate them on each seed task's exact folds and metric.

Writes bench/results/flaml_zeroshot.json: dataset id → mean primary score (and per fold).
Resumable: datasets already in the output are skipped.

Usage: python bench/flaml_zeroshot.py [--store .metakg-build/store | --seed data/seed.nq.gz]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

from kg import KnowledgeGraph, MemoryStore, OxigraphStore, read_table
from kg.ingest import read_manifest
from runner.protocol import TaskSpec, fold_indices, prepare_data, score

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
    ap.add_argument("--seed", default="data/seed.nq.gz")
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
    for ds in graph.datasets():
        if ds.id in results or ds.name not in rows:
            continue
        [task] = graph.tasks(ds.id)[:1] or [None]
        if task is None:
            continue
        spec = TaskSpec(task.id, "", task.target, task.task_type, task.folds, task.seed,
                        task.subsample_rows)
        X, y = prepare_data(read_table(SHARED / rows[ds.name]["file"]), spec)
        try:
            scores = evaluate(X, y, spec)
            results[ds.id] = {"name": ds.name, "metric": task.metric,
                              "score": float(np.mean(scores[task.metric])), "folds": scores}
        except Exception as exc:
            results[ds.id] = {"name": ds.name, "error": f"{type(exc).__name__}: {exc}"[:300]}
        print(ds.name, results[ds.id].get("score"), flush=True)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
