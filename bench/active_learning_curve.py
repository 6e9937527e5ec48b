"""Learning curve of active acquisition against random acquisition, leave-one-dataset-out.

What it measures: for each held-out dataset of a group of the seed graph, the recommender
learns from a part of the other datasets' runs and is scored on the held-out dataset by
best@5 (the normalised score of the best of its top 5: 0 = the dataset's median
configuration, 1 = its best, as ``bench/lodo.py`` defines it). It starts from 30% of the
(dataset, configuration) cells of the training datasets, drawn at random, and acquires runs
in equal steps of 10% of the cells up to 90%, chosen either by the acquisition function of
:mod:`metakg.metalearner.active` (members' disagreement × chance of entering the dataset's
top 5, with the surrogate fitted on what is acquired so far) or at random from the missing
cells. Each acquired run's score is read from the seed matrix: no new fits of pipelines.
After each step the recommender is refitted on what is acquired and best@5 measured.

The recommender is a lighter stand-in for the default one, shared by the acquisition and the
figure: the default's bagged surrogate (:class:`SurrogateRecommender`, five members) with
100 trees per member instead of 300, recommending its top 5 by score (not the default's
portfolio step), so that it can be refitted at every step.

Protocol: ``bench/lodo.py``'s views (rank normalisation, configurations run on at least 95%
of the datasets), cached by ``bench/lodo_paired.py`` under ``.metakg-build/bench-cache/``; a
held-out dataset leaves the training views with what was derived from it and with the same
table under another target; the second derived split is left out, as ``recommend()`` fits.
The start cells and the random order are drawn per (dataset, seed); active and random share
the start. Per step: the mean over held-out datasets (seeds averaged per dataset first) with a
95% percentile bootstrap interval over held-out datasets (10,000 resamples), and the paired
difference active − random with its interval.

Goal (issue 38): active acquisition reaches random acquisition's final quality (its mean
best@5 after the last step, 60% of the cells acquired) with at most 60% of random's runs. The
share is read where active's mean curve first reaches random's final mean, linearly
interpolated between steps.

Every finished (group, dataset, seed) is appended to ``.metakg-build/active_learning.jsonl``
and the report rewritten, so a run can be stopped and resumed and the report holds partial
results (``"complete": false``) while it runs.

Usage: nice python bench/active_learning_curve.py [--groups rmse] [--seeds 0,1] [--limit N]
       [--strategies active,random,mixed]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

# bench/lodo_paired.py and bench/lodo.py, beside this script
from lodo_paired import NORMALISATION, bootstrap_interval, load_views, views_key, write_json

from metakg.metalearner.active import DEFAULT_K, propose
from metakg.metalearner.evaluation import normalised_against_median
from metakg.metalearner.knowledge import MetaData, normalise_scores
from metakg.metalearner.recommenders import Query, SurrogateRecommender

START = 0.30
STEP = 0.10
STEPS = 6
KS = (1, 5)
N_ESTIMATORS = 100
ROWS = Path(".metakg-build/active_learning.jsonl")
GOAL = 0.60
#: ``active``: the acquisition function alone; ``random``: the baseline; ``mixed``: half of
#: each step by the acquisition function, half at random (a variant measured beside it)
STRATEGIES = ("active", "random")


def observed_views(train: MetaData, mask: np.ndarray) -> MetaData:
    """The training views with only the cells of ``mask`` run (as a graph holding just those
    runs would give them)."""
    raw = train.raw.where(mask)
    return replace(train, raw=raw, norm=normalise_scores(raw, pd.Series(train.higher), NORMALISATION))


def fit(train: MetaData, mask: np.ndarray, seed: int) -> tuple[MetaData, SurrogateRecommender]:
    """The stand-in recommender fitted on the acquired cells."""
    seen = observed_views(train, mask)
    return seen, SurrogateRecommender(n_estimators=N_ESTIMATORS, random_state=seed).fit(seen)


def best_at(model: SurrogateRecommender, query: Query, truth: pd.Series) -> dict[str, float]:
    """best@k of the model's top k by score on the held-out dataset."""
    ranked = model.score(query).reindex(truth.index).dropna().sort_values(
        ascending=False, kind="stable").index
    return {f"best@{k}": float(truth[ranked[:k]].max()) for k in KS}


def chain(state: dict, d: str, seed: int, strategies: tuple[str, ...] = STRATEGIES) -> list[dict]:
    """The curves of ``strategies`` for one held-out dataset and seed (the same start)."""
    meta, related, second = state["meta"], state["related"], state["second"]
    train = replace(meta.without(d, *related.get(d, [])).drop(second), auxiliary=None)
    truth = normalised_against_median(meta, d)
    query = Query(metafeatures=meta.metafeatures.loc[d].to_dict())
    shape = train.raw.shape
    cells = np.flatnonzero(train.raw.notna().to_numpy().ravel())
    rng = np.random.default_rng([seed, meta.datasets.index(d)])
    order = rng.permutation(cells)
    start, step = round(START * len(cells)), round(STEP * len(cells))
    first = np.zeros(shape[0] * shape[1], dtype=bool)
    first[order[:start]] = True
    seen, model = fit(train, first.reshape(shape), seed)
    base = {"group": state["metric"], "dataset": d, "seed": seed, "cells": len(cells)}
    rows = [{**base, "strategy": s, "step": 0, "acquired": 0, **best_at(model, query, truth)}
            for s in strategies]
    row_of = {c: i for i, c in enumerate(train.raw.index)}
    col_of = {c: j for j, c in enumerate(train.raw.columns)}

    def by_utility(cur_seen: MetaData, cur: SurrogateRecommender, n: int, mask: np.ndarray) -> np.ndarray:
        picks = propose(cur_seen, cur, budget=max(n, 1), k=DEFAULT_K)
        return np.array([row_of[p.dataset_id] * shape[1] + col_of[p.config_id]
                         for p in picks if not mask[row_of[p.dataset_id] * shape[1] + col_of[p.config_id]]],
                        dtype=int)[:n]

    for strategy in strategies:
        mask, cur_seen, cur = first.copy(), seen, model
        for s in range(1, STEPS + 1):
            pool = order[start:]
            if strategy == "random":
                chosen = pool[~mask[pool]][:step]
            elif strategy == "active":
                chosen = by_utility(cur_seen, cur, step, mask)
            else:  # mixed: half by utility, the rest at random from what is still missing
                chosen = by_utility(cur_seen, cur, step // 2, mask)
                rest = pool[~mask[pool]]
                rest = rest[~np.isin(rest, chosen)][:step - len(chosen)]
                chosen = np.concatenate([chosen, rest])
            mask[chosen] = True
            cur_seen, cur = fit(train, mask.reshape(shape), seed)
            rows.append({**base, "strategy": strategy, "step": s, "acquired": int(mask.sum()) - start,
                         **best_at(cur, query, truth)})
    return rows


def _crossing(shares: list[float], curve: list[float], target: float) -> float | None:
    """The first acquired share at which ``curve`` reaches ``target`` (linear between steps)."""
    for i, v in enumerate(curve):
        if v >= target - 1e-12:
            if i == 0:
                return shares[0]
            a, b = curve[i - 1], v
            return shares[i - 1] + (shares[i] - shares[i - 1]) * (target - a) / (b - a)
    return None


def group_report(rows: pd.DataFrame) -> dict:
    """Per step: each strategy's mean best@k with intervals and its paired difference with
    random; per strategy, whether it reaches random's final best@5 with at most 60% of its
    runs."""
    per = rows.groupby(["dataset", "strategy", "step"], as_index=False).mean(numeric_only=True)
    names = [s for s in ("active", "mixed", "random") if s in set(per["strategy"])]
    steps = []
    for s, part in per.groupby("step"):
        rnd = part[part["strategy"] == "random"].set_index("dataset")
        entry: dict = {"step": int(s), "acquired_share": round(s * STEP, 3),
                       "observed_share": round(START + s * STEP, 3)}
        for k in KS:
            col = f"best@{k}"
            entry[col] = {}
            for name in names:
                mine = part[part["strategy"] == name].set_index("dataset")
                entry[col][name] = {"mean": round(float(mine[col].mean()), 4), "held_out": len(mine),
                                    "interval_95": _rounded(bootstrap_interval(mine[col].to_numpy()))}
                if name != "random":
                    both = mine.index.intersection(rnd.index)
                    diff = (mine.loc[both, col] - rnd.loc[both, col]).to_numpy()
                    entry[col][f"{name}_minus_random"] = {
                        "mean": round(float(diff.mean()), 4), "held_out": len(both),
                        "interval_95": _rounded(bootstrap_interval(diff))}
        steps.append(entry)
    shares = [e["acquired_share"] for e in steps]
    final = steps[-1]["best@5"]["random"]["mean"]
    goals = {}
    for name in names:
        if name == "random":
            continue
        reach = _crossing(shares, [e["best@5"][name]["mean"] for e in steps], final)
        ratio = None if reach is None else round(reach / shares[-1], 3)
        goals[name] = {"acquired_share_to_reach_random_final": None if reach is None else round(reach, 3),
                       "share_of_random_runs": ratio, "met": ratio is not None and ratio <= GOAL}
    return {"group": str(rows["group"].iloc[0]), "held_out": int(per["dataset"].nunique()),
            "seeds": sorted(int(s) for s in rows["seed"].unique()),
            "strategies": names, "training_cells_mean": round(float(rows["cells"].mean()), 1),
            "steps": steps, "goal": {"random_final_best@5": final, **goals}}


def _rounded(values: list[float]) -> list[float]:
    return [round(x, 4) for x in values]


def write_report(out: Path, rows: list[dict], args: argparse.Namespace, planned: dict[str, int],
                 seconds: float) -> dict:
    frame = pd.DataFrame(rows)
    groups = [] if frame.empty else [group_report(part) for _, part in frame.groupby("group", sort=False)]
    done = {g["group"]: g["held_out"] for g in groups}
    want = set(args.strategies.split(","))
    finished = {(r["group"], r["dataset"], r["strategy"]) for r in rows}
    report = {
        "protocol": {"start_share": START, "step_share": STEP, "steps": STEPS, "k": DEFAULT_K,
                     "normalisation": NORMALISATION, "coverage": 0.95,
                     "recommender": (f"the default's bagged surrogate (5 members, {N_ESTIMATORS} "
                                     "trees each instead of 300), top 5 by its score; the "
                                     "acquisition function uses the same model"),
                     "acquisition": "metakg.metalearner.active.propose: members' spread x "
                                    "chance of entering the dataset's top 5",
                     "seeds": [int(s) for s in args.seeds.split(",")],
                     "held_out_limit": args.limit, "goal_share": GOAL},
        "planned_held_out": planned,
        "complete": all(done.get(g) == n for g, n in planned.items()) and all(
            len({d for gg, d, st in finished if gg == g and st == s}) == n
            for g, n in planned.items() for s in want),
        "groups": groups, "seconds": round(seconds, 1)}
    write_json(out, report)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=None)
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--groups", default="rmse", help="comma-separated metrics of the groups")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--strategies", default=",".join(STRATEGIES),
                    help="comma-separated: active, random, mixed (random's rows are reused)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N held-out datasets per group")
    ap.add_argument("--out", default="bench/results/active_learning.json")
    ap.add_argument("--rows", default=str(ROWS))
    ap.add_argument("--report-only", action="store_true", help="rebuild the report from --rows")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    metrics = args.groups.split(",")
    views = load_views(metrics, args.store, args.seed, views_key(args.store, args.seed))
    rows_path = Path(args.rows)
    rows_path.parent.mkdir(parents=True, exist_ok=True)
    rows = ([json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()]
            if rows_path.exists() else [])
    done = {(r["group"], r["dataset"], r["seed"], r["strategy"]) for r in rows}
    strategies = tuple(args.strategies.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    planned = {m: len(views[m]["holdout"][:args.limit]) for m in metrics}
    t0 = time.perf_counter()
    for m in [] if args.report_only else metrics:
        state = views[m]
        for d in state["holdout"][:args.limit]:
            for seed in seeds:
                todo = tuple(s for s in strategies if (m, d, seed, s) not in done)
                if not todo:
                    continue
                t1 = time.perf_counter()
                new = chain(state, d, seed, todo)
                with rows_path.open("a") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in new)
                rows += new
                write_report(Path(args.out), rows, args, planned, time.perf_counter() - t0)
                last = {r["strategy"]: r["best@5"] for r in new if r["step"] == STEPS}
                print(f"{m} {d} seed {seed}: final best@5 {last} ({time.perf_counter() - t1:.0f} s)",
                      flush=True)
    report = write_report(Path(args.out), rows, args, planned, time.perf_counter() - t0)
    for g in report["groups"]:
        print(g["group"], json.dumps(g["goal"]))
    print(f"complete: {report['complete']}")


if __name__ == "__main__":
    main()
