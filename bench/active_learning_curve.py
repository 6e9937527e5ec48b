"""Learning curve of active acquisition against random acquisition, leave-one-dataset-out.

What it measures: for each held-out dataset of a group of the seed graph, the recommender
learns from a part of the other datasets' runs and is scored on the held-out dataset by
best@5 (the normalised score of the best of its top 5: 0 = the dataset's median
configuration, 1 = its best, as ``bench/lodo.py`` defines it). It starts from a share of the
(dataset, configuration) cells of the training datasets (``--start``, 5%), drawn at random,
and acquires runs in equal steps (``--steps`` of ``--step``, four of 5%), chosen by a
strategy: ``active``, the acquisition function of :mod:`metakg.metalearner.active`
(members' disagreement × chance of entering the dataset's top 5, with the surrogate fitted
on what is acquired so far) ranked on its raw value; ``spread``, the same divided by the
largest of its dataset (``metakg next``'s order); ``random``, the missing cells at random;
and ``cover``, ``mixed`` (see ``STRATEGIES``).
Each acquired run's score is read from the seed matrix: no new fits of pipelines. After
each step the recommender is refitted on what is acquired and best@5 measured. The start is
small because the curve must rise for the goal to mean anything: from 30% of the cells on,
random acquisition moved best@5 by less than the seed-to-seed noise.

The recommender (``--recommender``, :mod:`stand_in`), shared by the acquisition and the figure,
is refitted at every step: ``default``, the default ``MetaRecommender`` as it ships with the
acquisition reading its ranker's bag (``metakg next``'s), or ``former``, the former
default's lighter surrogate that was measured before the default changed.

Protocol: ``bench/lodo.py``'s views (rank normalisation, configurations run on at least 95%
of the datasets), cached by ``bench/lodo_paired.py`` under ``.metakg-build/bench-cache/``; a
held-out dataset leaves the training views with what was derived from it and with the same
table under another target; the second derived split is left out, as ``recommend()`` fits.
The start cells and the random order are drawn per (dataset, seed); active and random share
the start. Per step: the mean over held-out datasets (seeds averaged per dataset first) with a
95% percentile bootstrap interval over held-out datasets (10,000 resamples), and the paired
difference of each strategy − random with its interval; per group, random's rise from the
start to its last step (paired per dataset: is the curve above the noise?) and each
strategy's paired difference with random and with ``active`` averaged over the steps.

Goal (issue 38): active acquisition reaches random acquisition's final quality (its mean
best@5 after the last step) with at most 60% of random's runs. The
share is read where active's mean curve first reaches random's final mean, linearly
interpolated between steps.

Every finished (group, dataset, seed) is appended to ``.metakg-build/active_learning-*.jsonl``
(one file per protocol and recommender) and the report rewritten, so a run can be stopped and resumed and the report holds partial
results (``"complete": false``) while it runs.

Usage: nice python bench/active_learning_curve.py [--groups rmse] [--seeds 0,1] [--limit N]
       [--start 0.05] [--step 0.05] [--steps 4]
       [--strategies active,random,spread,cover,mixed] [--recommender default|former]
       [--report-only]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

# bench/lodo_paired.py and bench/lodo.py, beside this script
from former_default import SurrogateRecommender
from lodo_paired import NORMALISATION, bootstrap_interval, load_views, views_key, write_json
from stand_in import RECOMMENDERS, fit_stand_in

from metakg.metalearner.active import DEFAULT_K, Candidate, propose
from metakg.metalearner.evaluation import normalised_against_median
from metakg.metalearner.knowledge import MetaData, normalise_scores
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import Query

#: the protocol's defaults: 5% of the cells to start, four steps of 5% (random acquisition's
#: curve rises there; from 30% on it is flat within the noise); ``--start``, ``--step``, ``--steps``
START = 0.05
STEP = 0.05
STEPS = 4
KS = (1, 5)
#: finished rows, one file per protocol and recommender
ROWS = ".metakg-build/active_learning-{recommender}-{start}-{step}x{steps}.jsonl"
GOAL = 0.60
#: ``active``: the acquisition function's raw utility (``propose(per_dataset=False)``);
#: ``random``: the baseline; ``spread``: the utility divided by its dataset's largest, so each
#: dataset's most useful runs come first (``propose()``'s default, the order of ``metakg
#: next``); ``cover``: half of each step as ``spread``, half on the configurations and
#: datasets with the fewest runs so far (a balanced design); ``mixed``: half of each step as
#: ``active``, half at random
STRATEGIES = ("active", "random", "spread", "cover")


def observed_views(train: MetaData, mask: np.ndarray) -> MetaData:
    """The training views with only the cells of ``mask`` run (as a graph holding just those
    runs would give them)."""
    raw = train.raw.where(mask)
    return replace(train, raw=raw, norm=normalise_scores(raw, pd.Series(train.higher), NORMALISATION))


def fit(train: MetaData, mask: np.ndarray, seed: int, recommender: str = "default"
        ) -> tuple[MetaData, MetaRecommender | SurrogateRecommender]:
    """The recommender fitted on the acquired cells."""
    seen = observed_views(train, mask)
    return seen, fit_stand_in(seen, seed, recommender)


def best_at(model: MetaRecommender | SurrogateRecommender, query: Query, truth: pd.Series
            ) -> dict[str, float]:
    """best@k of the model's top k (its ranking's order) on the held-out dataset."""
    ranked = model.score(query).reindex(truth.index).dropna().sort_values(
        ascending=False, kind="stable").index
    return {f"best@{k}": float(truth[ranked[:k]].max()) for k in KS}


@dataclass(frozen=True)
class Protocol:
    """The learning curve's shares of the training cells: ``start`` drawn at random, then
    ``steps`` acquisitions of ``step`` each."""

    start: float = START
    step: float = STEP
    steps: int = STEPS


def spread_order(picks: list[Candidate]) -> list[Candidate]:
    """The raw-utility candidates of every dataset in ``propose(per_dataset=True)``'s order:
    by their utility divided by the largest of their dataset (ties: raw utility, dataset,
    configuration)."""
    top: dict[str, float] = {}
    for p in picks:
        top[p.dataset_id] = max(top.get(p.dataset_id, 0.0), p.utility)
    norm = {id(p): (p.utility / top[p.dataset_id] if top[p.dataset_id] > 0 else 0.0) for p in picks}
    return sorted(picks, key=lambda p: (-norm[id(p)], -p.utility, p.dataset_id, p.config_id))


def coverage_picks(mask: np.ndarray, shape: tuple[int, int], n: int, rng: np.random.Generator,
                   allowed: np.ndarray) -> np.ndarray:
    """``n`` missing cells of ``allowed``, one at a time on the configuration with the fewest
    runs so far, then the dataset with the fewest (ties at random): a balanced design."""
    seen = mask.reshape(shape)
    cols, rows = seen.sum(axis=0).astype(float), seen.sum(axis=1).astype(float)
    free = (~seen) & allowed.reshape(shape)
    noise = rng.random(shape) * 1e-3
    out = []
    for _ in range(min(n, int(free.sum()))):
        cost = np.where(free, cols[None, :] * shape[0] + rows[:, None] + noise, np.inf)
        i, j = np.unravel_index(int(np.argmin(cost)), shape)
        free[i, j] = False
        cols[j] += 1
        rows[i] += 1
        out.append(i * shape[1] + j)
    return np.array(out, dtype=int)


def chain(state: dict, d: str, seed: int, strategies: tuple[str, ...] = STRATEGIES,
          protocol: Protocol = Protocol(), recommender: str = "default") -> list[dict]:
    """The curves of ``strategies`` for one held-out dataset and seed (the same start)."""
    meta, related, second = state["meta"], state["related"], state["second"]
    train = replace(meta.without(d, *related.get(d, [])).drop(second), auxiliary=None)
    truth = normalised_against_median(meta, d)
    query = Query(metafeatures=meta.metafeatures.loc[d].to_dict())
    shape = train.raw.shape
    present = train.raw.notna().to_numpy().ravel()
    cells = np.flatnonzero(present)
    rng = np.random.default_rng([seed, meta.datasets.index(d)])
    order = rng.permutation(cells)
    start, step = round(protocol.start * len(cells)), round(protocol.step * len(cells))
    first = np.zeros(shape[0] * shape[1], dtype=bool)
    first[order[:start]] = True
    seen, model = fit(train, first.reshape(shape), seed, recommender)
    base = {"group": state["metric"], "dataset": d, "seed": seed, "cells": len(cells),
            "start_share": protocol.start, "step_share": protocol.step}
    rows = [{**base, "strategy": s, "step": 0, "acquired": 0, **best_at(model, query, truth)}
            for s in strategies]
    row_of = {c: i for i, c in enumerate(train.raw.index)}
    col_of = {c: j for j, c in enumerate(train.raw.columns)}

    def cell(p: Candidate) -> int:
        return row_of[p.dataset_id] * shape[1] + col_of[p.config_id]

    at_start: list[Candidate] = []  # the start's proposals, shared by the strategies' first steps

    def by_utility(cur_seen: MetaData, cur: MetaRecommender | SurrogateRecommender, n: int,
                   mask: np.ndarray,
                   spread: bool = False) -> np.ndarray:
        if cur is model:
            if not at_start:
                at_start.extend(propose(cur_seen, cur, budget=len(cells), k=DEFAULT_K, per_dataset=False))
            picks = at_start
        else:
            picks = propose(cur_seen, cur, budget=max(n, 1), k=DEFAULT_K, per_dataset=spread)
        if cur is model and spread:
            picks = spread_order(picks)
        return np.array([c for c in map(cell, picks) if not mask[c]], dtype=int)[:n]

    for strategy in strategies:
        mask, cur_seen, cur = first.copy(), seen, model
        pick_rng = np.random.default_rng([seed, meta.datasets.index(d), 1])
        for s in range(1, protocol.steps + 1):
            pool = order[start:]
            if strategy == "random":
                chosen = pool[~mask[pool]][:step]
            elif strategy in ("active", "spread"):
                chosen = by_utility(cur_seen, cur, step, mask, spread=strategy == "spread")
            elif strategy == "cover":  # half by normalised utility, half by a balanced design
                chosen = by_utility(cur_seen, cur, step // 2, mask, spread=True)
                taken = mask.copy()
                taken[chosen] = True
                chosen = np.concatenate([chosen, coverage_picks(taken, shape, step - len(chosen),
                                                                pick_rng, present)])
            else:  # mixed: half by utility, the rest at random from what is still missing
                chosen = by_utility(cur_seen, cur, step // 2, mask)
                rest = pool[~mask[pool]]
                rest = rest[~np.isin(rest, chosen)][:step - len(chosen)]
                chosen = np.concatenate([chosen, rest])
            mask[chosen] = True
            cur_seen, cur = fit(train, mask.reshape(shape), seed, recommender)
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


def group_report(rows: pd.DataFrame, protocol: Protocol) -> dict:
    """Per step: each strategy's mean best@k with intervals and its paired difference with
    random; per strategy, whether it reaches random's final best@5 with at most 60% of its
    runs."""
    per = rows.groupby(["dataset", "strategy", "step"], as_index=False).mean(numeric_only=True)
    names = [s for s in (*STRATEGIES, "mixed") if s in set(per["strategy"])]
    steps = []
    for s, part in per.groupby("step"):
        rnd = part[part["strategy"] == "random"].set_index("dataset")
        entry: dict = {"step": int(s), "acquired_share": round(s * protocol.step, 3),
                       "observed_share": round(protocol.start + s * protocol.step, 3)}
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
    wide = per.pivot_table(index="dataset", columns=["strategy", "step"], values="best@5")
    last = int(per["step"].max())
    rise = (wide["random"][last] - wide["random"][0]).dropna().to_numpy()
    rise_interval = _rounded(bootstrap_interval(rise))
    # per held-out dataset, a strategy's best@5 minus another's averaged over the acquisition steps
    over_steps = {}
    for name in names:
        for other in ("random", "active"):
            if name in (other, "random") or other not in names:
                continue
            diff = (wide[name].loc[:, 1:] - wide[other].loc[:, 1:]).mean(axis=1).dropna().to_numpy()
            over_steps[f"{name}_minus_{other}"] = {"mean": round(float(diff.mean()), 4),
                                                   "held_out": len(diff),
                                                   "interval_95": _rounded(bootstrap_interval(diff))}
    return {"group": str(rows["group"].iloc[0]), "held_out": int(per["dataset"].nunique()),
            "seeds": sorted(int(s) for s in rows["seed"].unique()),
            "strategies": names, "training_cells_mean": round(float(rows["cells"].mean()), 1),
            "steps": steps,
            "random_rise": {"mean": round(float(rise.mean()), 4), "held_out": len(rise),
                            "interval_95": rise_interval, "beyond_noise": rise_interval[0] > 0},
            "best@5_difference_over_steps": over_steps,
            "goal": {"random_final_best@5": final, **goals}}


def _rounded(values: list[float]) -> list[float]:
    return [round(x, 4) for x in values]


def write_report(out: Path, rows: list[dict], args: argparse.Namespace, planned: dict[str, int],
                 seconds: float, protocol: Protocol) -> dict:
    """Write the report of ``rows`` (the protocol's), complete or partial, to ``out``."""
    frame = pd.DataFrame(rows)
    groups = [] if frame.empty else [group_report(part, protocol)
                                     for _, part in frame.groupby("group", sort=False)]
    done = {g["group"]: g["held_out"] for g in groups}
    want = set(args.strategies.split(","))
    finished = {(r["group"], r["dataset"], r["strategy"], r["seed"]) for r in rows}
    seeds = [int(s) for s in args.seeds.split(",")]
    report = {
        "protocol": {"start_share": protocol.start, "step_share": protocol.step,
                     "steps": protocol.steps, "k": DEFAULT_K,
                     "normalisation": NORMALISATION, "coverage": 0.95,
                     "recommender": RECOMMENDERS[args.recommender],
                     "recommender_key": args.recommender,
                     "acquisition": "metakg.metalearner.active.propose: members' spread x "
                                    "chance of entering the dataset's top 5",
                     "strategies": {"active": "the raw utility (propose(per_dataset=False))",
                                    "random": "missing cells at random",
                                    "spread": "utility divided by its dataset's largest "
                                              "(propose()'s default, metakg next's order)",
                                    "cover": "half as spread, half on the configurations and "
                                             "datasets with the fewest runs so far",
                                    "mixed": "half as active, half at random"},
                     "seeds": seeds,
                     "held_out_limit": limits(args.limit, list(planned)), "goal_share": GOAL},
        "planned_held_out": planned,
        "complete": all(done.get(g) == n for g, n in planned.items()) and all(
            len({d for gg, d, st, sd in finished if gg == g and st == s and sd == seed}) == n
            for g, n in planned.items() for s in want for seed in seeds),
        "groups": groups, "seconds": round(seconds, 1)}
    write_json(out, report)
    return report


def limits(text: str | None, groups: list[str]) -> dict[str, int | None]:
    """``--limit`` per group: ``N`` for every group, or ``GROUP=N,...`` (others unlimited)."""
    if not text:
        return dict.fromkeys(groups)
    if "=" not in text:
        return dict.fromkeys(groups, int(text))
    given = {k: int(v) for k, v in (part.split("=") for part in text.split(","))}
    return {g: given.get(g) for g in groups}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=None)
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--groups", default="rmse", help="comma-separated metrics of the groups")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--strategies", default=",".join(STRATEGIES),
                    help="comma-separated: active, random, mixed (random's rows are reused)")
    ap.add_argument("--limit", default=None,
                    help="only the first N held-out datasets of each group: N, or GROUP=N,... per group")
    ap.add_argument("--out", default="bench/results/active_learning.json")
    ap.add_argument("--start", type=float, default=START, help="share of the cells to start from")
    ap.add_argument("--step", type=float, default=STEP, help="share of the cells acquired per step")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--recommender", choices=sorted(RECOMMENDERS), default="default",
                    help="the recommender refitted at every step (see the module docstring)")
    ap.add_argument("--rows", default=None, help=f"finished rows (default {ROWS})")
    ap.add_argument("--report-only", action="store_true", help="rebuild the report from --rows")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    metrics = args.groups.split(",")
    views = load_views(metrics, args.store, args.seed, views_key(args.store, args.seed))
    protocol = Protocol(args.start, args.step, args.steps)
    if protocol.start <= 0 or protocol.step <= 0 or protocol.steps < 1 or \
            protocol.start + protocol.step * protocol.steps > 1:
        raise SystemExit("--start, --step, --steps: positive shares that add up to at most 1.")
    rows_path = Path(args.rows or ROWS.format(recommender=args.recommender, start=protocol.start,
                                              step=protocol.step, steps=protocol.steps))
    rows_path.parent.mkdir(parents=True, exist_ok=True)
    rows = ([json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()]
            if rows_path.exists() else [])
    limit = limits(args.limit, metrics)
    seeds = [int(s) for s in args.seeds.split(",")]
    strategies = tuple(args.strategies.split(","))
    held_out = {m: set(views[m]["holdout"][:limit[m]]) for m in metrics}
    rows = [r for r in rows if r["dataset"] in held_out.get(r["group"], ()) and r["seed"] in seeds
            and r["strategy"] in strategies]  # the report is of what was asked
    done = {(r["group"], r["dataset"], r["seed"], r["strategy"]) for r in rows}
    planned = {m: len(views[m]["holdout"][:limit[m]]) for m in metrics}
    t0 = time.perf_counter()
    for m in [] if args.report_only else metrics:
        state = views[m]
        for d in state["holdout"][:limit[m]]:
            for seed in seeds:
                todo = tuple(s for s in strategies if (m, d, seed, s) not in done)
                if not todo:
                    continue
                t1 = time.perf_counter()
                new = chain(state, d, seed, todo, protocol, args.recommender)
                with rows_path.open("a") as fh:
                    fh.writelines(json.dumps(r) + "\n" for r in new)
                rows += new
                write_report(Path(args.out), rows, args, planned, time.perf_counter() - t0, protocol)
                last = {r["strategy"]: round(r["best@5"], 3) for r in new if r["step"] == protocol.steps}
                print(f"{m} {d} seed {seed}: final best@5 {last} ({time.perf_counter() - t1:.0f} s)",
                      flush=True)
    report = write_report(Path(args.out), rows, args, planned, time.perf_counter() - t0, protocol)
    for g in report["groups"]:
        print(g["group"], json.dumps(g["goal"]))
    print(f"complete: {report['complete']}")


if __name__ == "__main__":
    main()
