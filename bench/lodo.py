"""Leave-one-dataset-out evaluation of the recommenders on the seed graph.

For each dataset: remove its runs and meta-features, fit every recommender on the rest,
recommend, and read the held-out dataset's true scores of the recommended configurations.
Reports, per task type, the normalised score of the best of the top k (0 = the dataset's
median configuration, 1 = its best), mean and median, for k in 1, 3, 5, 10, 25; and the win
rate of the default recommender's top-1 against baselines (each family's default, the single
best configuration, the greedy portfolio, nearest datasets, random choice, FLAML zero-shot).

Usage: python bench/lodo.py [--store .metakg-build/store | --seed data/seed.nq.gz]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kg import KnowledgeGraph, MemoryStore, OxigraphStore
from kg.graph import make_configuration
from metalearner.evaluation import lodo, normalised_against_median, summarise
from metalearner.knowledge import load_metadata
from metalearner.recommenders import (
    EnsembleRecommender,
    GraphRecommender,
    GreedyPortfolioRecommender,
    NearestDatasetsRecommender,
    SingleBestRecommender,
    SurrogateRecommender,
    TextSimilarityRecommender,
)
from runner.spaces import FAMILIES, default_configuration

KS = (1, 3, 5, 10, 25)
VARIANTS = {
    "ensemble (default)": lambda: EnsembleRecommender(),
    "ensemble: nearest+surrogate": lambda: EnsembleRecommender(weights={"nearest": 1, "surrogate": 1}),
    "ensemble: all equal": lambda: EnsembleRecommender(weights={"nearest": 1, "surrogate": 1, "graph": 1, "portfolio": 1, "text": 1}),
    "ensemble: +portfolio": lambda: EnsembleRecommender(weights={"nearest": 1, "surrogate": 1, "portfolio": 1}),
    "nearest datasets (auto-sklearn 1.0)": lambda: NearestDatasetsRecommender(),
    "nearest, standard scaling": lambda: NearestDatasetsRecommender(scaling="standard"),
    "surrogate (LightGBM)": lambda: SurrogateRecommender(),
    "graph (personalised PageRank)": lambda: GraphRecommender(),
    "text similarity": lambda: TextSimilarityRecommender(),
    "greedy portfolio (zero-shot)": lambda: GreedyPortfolioRecommender(),
    "single best": lambda: SingleBestRecommender(),
}


def groups(graph: KnowledgeGraph) -> list[tuple[str, str, list[str]]]:
    tasks = graph.store.select("SELECT ?d ?type ?metric WHERE { ?t mls:definedOn ?d ; mkg:taskType ?type ; mkg:metric ?metric }")
    by: dict[tuple[str, str], list[str]] = {}
    for t in tasks:
        by.setdefault((t["type"], t["metric"]), []).append(t["d"].rsplit("/", 1)[-1])
    return [(tt, m, ds) for (tt, m), ds in sorted(by.items())]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None)
    ap.add_argument("--seed", default="data/seed.nq.gz")
    ap.add_argument("--flaml", default="bench/results/flaml_zeroshot.json")
    ap.add_argument("--coverage", type=float, default=0.95,
                    help="keep configurations evaluated on at least this share of datasets")
    ap.add_argument("--out", default="bench/results/lodo.json")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.store:
        graph = KnowledgeGraph(OxigraphStore(args.store, read_only=True))
    else:
        graph = KnowledgeGraph(MemoryStore())
        graph.store.load(args.seed)
    flaml = json.loads(Path(args.flaml).read_text()) if Path(args.flaml).exists() else {}
    report: dict = {"groups": []}
    for task_type, metric, holdout in groups(graph):
        meta = load_metadata(graph, task_type, metric, cache=False)
        keep = list(meta.raw.columns[meta.raw.notna().mean() >= args.coverage])
        meta = meta.restrict(keep)
        holdout = [d for d in holdout if d in meta.datasets]
        if len(holdout) < 3:
            continue
        print(f"{task_type}/{metric}: {len(holdout)} held out, {len(meta.datasets)} datasets, {len(keep)} configurations", flush=True)
        res = lodo(meta, VARIANTS, ks=KS, holdout=holdout, progress=False)
        table = summarise(res, KS)
        defaults = {f: make_configuration(default_configuration(f)).id for f in FAMILIES}
        top1 = {name: res[res.recommender == name].set_index("dataset")["top"].map(lambda t: t[0] if t else None)
                for name in VARIANTS}
        wins: dict[str, float] = {}
        mine = top1["ensemble (default)"]
        for label, choice in [*[(f"{f} default", (lambda d, c=c: c)) for f, c in defaults.items()],
                              ("single best", lambda d: top1["single best"].get(d)),
                              ("greedy portfolio", lambda d: top1["greedy portfolio (zero-shot)"].get(d)),
                              ("nearest datasets", lambda d: top1["nearest datasets (auto-sklearn 1.0)"].get(d))]:
            w = [normalised_against_median(meta, d).get(mine[d], np.nan) >= normalised_against_median(meta, d).get(choice(d), np.nan) - 1e-12
                 for d in holdout if choice(d) in meta.raw.columns]
            wins[label] = float(np.mean(w)) if w else float("nan")
        rnd, fl = [], []
        for d in holdout:
            truth = normalised_against_median(meta, d)
            mine_v = truth.get(mine[d], np.nan)
            rnd.append(float((truth <= mine_v + 1e-12).mean()))
            if d in flaml and "score" in flaml[d] and flaml[d]["metric"] == metric:
                raw = meta.raw.loc[d]
                higher = meta.higher[d]
                best, med = (raw.max() if higher else raw.min()), raw.median()
                s = flaml[d]["score"]
                fz = (s - med) / (best - med) if best != med else 1.0
                fz = fz if higher or best == med else (med - s) / (med - best)
                fl.append(mine_v >= fz - 1e-12)
        wins["random configuration"] = float(np.mean(rnd))
        if fl:
            wins[f"FLAML zero-shot ({len(fl)} datasets)"] = float(np.mean(fl))
        entry = {"task_type": task_type, "metric": metric, "held_out": len(holdout),
                 "configurations": len(keep), "best_at_k": json.loads(table.to_json(orient="index")),
                 "win_rate_of_default_top1": wins}
        report["groups"].append(entry)
        print(table.to_string(), flush=True)
        print(pd.Series(wins).round(3).to_string(), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
