"""How much of the LODO score is reachable at all: the evaluation noise of the seed matrix.

The LODO table calls a dataset's best configuration "1" and its median "0", using each
configuration's mean over the task's cross-validation folds. With 3 folds on at most 5,000
rows, several configurations are within fold noise of the best, so which one is "best" is
partly luck, and no recommender can expect 1.0 even if it knew every configuration's true
mean. This script estimates that ceiling.

For each dataset, a configuration's noise is the spread of its fold scores (over every
cross-validation repeat) after removing each fold's common difficulty (the fold's mean over configurations): the part of the noise
that reorders configurations. Treating the observed means as the truth, it draws noisy
matrices (mean + Gaussian noise of that size), and reports the expected normalised score
(0 = median, 1 = best of the *noisy* matrix, as bench/lodo.py scores) of the configurations
that are truly best:

- oracle@k: the true best k configurations of the dataset (per-dataset oracle);
- greedy@k: the in-sample greedy portfolio, chosen on the evaluated datasets themselves.

It is a rough estimate: the observed means, taken as the truth, already contain noise
(so the simulated evaluation is a little noisier than the real one, but the configurations
also look more spread out than they are), and the oracle knows the true means, which no
recommender can.

Usage: python bench/noise_ceiling.py [--seed data/seed.trig.xz] [--draws 200]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from metakg.kg import KnowledgeGraph, MemoryStore, OxigraphStore
from metakg.kg.graph import make_configuration
from metakg.kg.measures import HIGHER_IS_BETTER
from metakg.kg.spaces import default_configuration

KS = (1, 3, 5, 10, 25)
HGB = make_configuration(default_configuration("hist_gradient_boosting")).id


def fold_scores(graph: KnowledgeGraph) -> pd.DataFrame:
    """Long table: dataset, task_type, metric, config, split, value (each task's primary metric),
    for the datasets the LODO benchmark holds out (not those derived from another one).

    ``split`` names a task's fold (``task:fold``): a dataset evaluated with repeated
    cross-validation has one task per repeat, so 3 × repeats splits.
    """
    rows = graph.store.select(
        """SELECT ?d ?t ?type ?metric ?c ?f ?v WHERE {
             ?t mls:definedOn ?d ; mkg:taskType ?type ; mkg:metric ?metric .
             ?r mls:achieves ?t ; mkg:configuration ?c ; mkg:status "completed" ;
                mls:hasOutput ?e .
             ?e mkg:fold ?f ; mls:hasValue ?v ; mls:specifiedBy ?m . ?m dcterms:title ?metric
             FILTER NOT EXISTS { ?d prov:wasDerivedFrom ?s } }""")
    df = pd.DataFrame(rows).rename(columns={"d": "dataset", "type": "task_type", "c": "config",
                                            "f": "fold", "v": "value"})
    for c in ("dataset", "config"):
        df[c] = df[c].str.rsplit("/", n=1).str[-1]
    df["value"] = df["value"].astype(float)
    df["split"] = df["t"].str.rsplit("/", n=1).str[-1] + ":" + df["fold"].astype(str)
    return df.drop(columns=["t", "fold"])


def normalised(values: np.ndarray, higher: bool) -> np.ndarray:
    """Rows: draws; columns: configurations. 0 = row median, 1 = row best."""
    v = values if higher else -values
    best = v.max(axis=1, keepdims=True)
    med = np.median(v, axis=1, keepdims=True)
    span = np.where(best > med, best - med, 1.0)
    return (v - med) / span


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None)
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--coverage", type=float, default=0.95)
    ap.add_argument("--out", default="bench/results/noise_ceiling.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.store:
        graph = KnowledgeGraph(OxigraphStore(args.store, read_only=True))
    else:
        graph = KnowledgeGraph(MemoryStore())
        graph.store.load(args.seed)
    df = fold_scores(graph)
    df = df[np.isfinite(df["value"])]
    rng = np.random.default_rng(0)
    report: dict = {"groups": [], "draws": args.draws}
    for (task_type, metric), part in df.groupby(["task_type", "metric"]):
        higher = HIGHER_IS_BETTER[metric]
        cube = part.pivot_table(index=["dataset", "config"], columns="split", values="value")
        means = cube.mean(axis=1).unstack("config")
        keep = means.columns[means.notna().mean() >= args.coverage]
        means = means[keep]
        cubes, true_order, spreads = [], [], []
        for d in means.index:
            folds = cube.loc[d].reindex(keep).dropna(axis=1, how="all")  # this dataset's splits
            f = folds.to_numpy()
            n = (~np.isnan(f)).sum(axis=1)
            ok = n >= 2
            mu = np.where(ok, np.nanmean(np.where(ok[:, None], f, 0.0), axis=1), np.nan)
            resid = f[ok] - np.nanmean(f[ok], axis=0, keepdims=True)  # each split's difficulty
            resid = resid - np.nanmean(resid, axis=1, keepdims=True)
            sd = np.full(len(mu), np.nan)
            # the noise of a mean over n splits (n = 3 per cross-validation repeat)
            sd[ok] = np.sqrt(np.nansum(resid ** 2, axis=1) / (n[ok] - 1)) / np.sqrt(n[ok])
            draws = mu + rng.standard_normal((args.draws, len(mu))) * sd
            n = normalised(np.where(ok, draws, np.nanmin(draws) if higher else np.nanmax(draws)),
                           higher)
            cubes.append(n)
            true_order.append(np.argsort(np.where(ok, -mu if higher else mu, np.inf), kind="stable"))
            m_ok = mu[ok]
            span = abs((m_ok.max() if higher else m_ok.min()) - np.median(m_ok))
            spreads.append(float(np.median(sd[ok]) / span) if span > 0 else np.nan)
        N = np.stack(cubes)  # datasets × draws × configurations, normalised per draw
        oracle = {k: float(np.mean([N[i][:, o[:k]].max(axis=1).mean()
                                     for i, o in enumerate(true_order)])) for k in KS}
        # how often the truly best configuration is at least as good as HistGradientBoosting's
        # default in a noisy evaluation (bench/lodo.py's win rate against it)
        hgb = list(keep).index(HGB) if HGB in keep else None
        wins = None if hgb is None else float(np.mean(
            [(N[i][:, o[0]] >= N[i][:, hgb] - 1e-12).mean() for i, o in enumerate(true_order)]))
        # in-sample greedy portfolio: maximise the expected best-of-k under noise
        best = np.full(N.shape[:2], -np.inf)
        chosen: list[int] = []
        greedy: dict[int, float] = {}
        for k in range(1, max(KS) + 1):
            gain = np.maximum(best[:, :, None], N).mean(axis=(0, 1))
            gain[chosen] = -np.inf
            j = int(np.argmax(gain))
            chosen.append(j)
            best = np.maximum(best, N[:, :, j])
            if k in KS:
                greedy[k] = float(best.mean())
        entry = {"task_type": task_type, "metric": metric, "datasets": len(means),
                 "configurations": len(keep),
                 "median_noise_to_spread": float(np.nanmedian(spreads)),
                 "oracle_top1_at_least_hgb_default": None if wins is None else round(wins, 3),
                 "oracle_best_at_k": {str(k): round(v, 3) for k, v in oracle.items()},
                 "in_sample_greedy_best_at_k": {str(k): round(v, 3) for k, v in greedy.items()}}
        report["groups"].append(entry)
        print(json.dumps(entry), flush=True)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
