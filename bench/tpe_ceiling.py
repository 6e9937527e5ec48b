"""How far the candidates themselves reach against 20 trials of Optuna TPE on LightGBM.

Issue 36 asks for the best of metakg's top 5 to be at least as good as TPE's best of 20 on 75%
of tables. ``bench/top5_vs_tpe.py`` measures the recommender's top 5 (in-sample, the seed-0
task's folds, 5 stored TPE searches per table). This asks what any choice among the same
candidates could reach, on the same tables, folds and searches, so that a shortfall is
attributed to the ranking or to the candidate set:

* ``oracle``: the best candidate on the table (what a perfect ranker's top 1 would score; a
  top 5 cannot do better), among the seed's configurations alone and among all of them
  (the seed and every configuration of the extensions given);
* ``strong 5``: the best of the five strong defaults (CatBoost's default, pytabkit's three TD
  defaults of the task type, HistGradientBoosting's default), a fixed portfolio of five;
* ``CatBoost default``: that one configuration;
* ``fixed 5, other tables``: five configurations chosen greedily, without the table and its
  same-table relatives, to beat the most TPE searches on the other tables (a portfolio learnt
  from them, the same for every new table; only configurations with a score on every table
  take part, so not the task-type-specific TD defaults);
* ``metakg top 5``: read from ``bench/top5_vs_tpe.py``'s output (its ``with-published`` arm).

Per table, the share of the 5 TPE searches whose best it is at least as good as, whether it
is at least as good as the median search, and how many of the candidates are (and how often
five drawn at random include one); over tables the mean share with a 95% bootstrap interval,
and each arm's paired difference against metakg's top 5 in percentage points. No fits: every
score is read from the graph.

Usage: python bench/tpe_ceiling.py [--extension data/seed-published.trig.xz ...]
       [--top5 bench/results/top5_vs_tpe.json] [--out bench/results/tpe_ceiling.json]
"""

from __future__ import annotations

import argparse
import json
import warnings
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

# bench/, beside this script
from lodo_paired import bootstrap_interval, write_json
from optuna_warmstart_transfer import load_inputs
from strong_defaults import STRONG

from metakg.kg import make_configuration
from metakg.kg.identity import configuration_id
from metakg.kg.measures import HIGHER_IS_BETTER, at_least_as_good
from metakg.kg.published import published_configurations
from metakg.kg.spaces import default_configuration

TOP5 = "metakg top 5"
FIXED = "fixed 5, other tables"


def _best(scores: pd.Series, ids: list[str] | pd.Index, metric: str) -> float:
    """The best finite score among ``ids`` on this task (NaN when none has one)."""
    values = scores.reindex(ids).dropna()
    values = values[np.isfinite(values)]
    if values.empty:
        return float("nan")
    return float(values.max() if HIGHER_IS_BETTER[metric] else values.min())


def arms_for_table(scores: pd.Series, task_type: str, metric: str, published: set[str],
                   by_name: dict[str, str], hgb: str) -> dict[str, float]:
    """Each arm's score on one table's task.

    Args:
        scores: configuration id -> mean score on the table's seed-0 task.
        task_type: ``classification`` or ``regression`` (which TD defaults count).
        metric: the task's metric (direction of "better").
        published: ids of every published configuration (left out of the seed-only oracle).
        by_name: published name -> configuration id.
        hgb: HistGradientBoosting's default configuration id.

    Returns:
        Arm name -> score (NaN where the arm has no run on the task).
    """
    seed_only = [c for c in scores.index if c not in published]
    strong = [by_name[n] for n in STRONG[task_type]] + [hgb]
    return {"oracle, seed only": _best(scores, seed_only, metric),
            "oracle, all candidates": _best(scores, scores.index, metric),
            "strong 5": _best(scores, strong, metric),
            "CatBoost default": _best(scores, [by_name["catboost-default"]], metric)}


def fixed_portfolio(shares: pd.DataFrame, held_out: list[str], k: int = 5) -> list[str]:
    """``k`` configurations chosen greedily to raise the mean, over every table but
    ``held_out``, of the share of TPE searches their best beats.

    Args:
        shares: table × configuration × TPE search, as (table, search) rows × configuration
            columns of 0/1 (the configuration is at least as good as that search's best).
        held_out: the tables left out of the choice (the new table and its same-table
            relatives, as the recommender's training views leave them out).
        k: how many to choose.

    Returns:
        The configuration ids, in the order chosen.
    """
    rows = shares.drop(index=[t for t in held_out if t in shares.index.get_level_values(0)], level=0)
    beats = rows.to_numpy().astype(bool)
    chosen: list[int] = []
    covered = np.zeros(len(rows), dtype=bool)
    for _ in range(k):
        gain = (beats | covered[:, None]).mean(axis=0)
        gain[chosen] = -1.0
        best = int(np.argmax(gain))  # ties: the first column, in a fixed (sorted) order
        chosen.append(best)
        covered |= beats[:, best]
    return [str(rows.columns[i]) for i in chosen]


def search_wins(scores: dict[str, pd.Series], metrics: dict[str, str], top5: dict) -> pd.DataFrame:
    """Which configurations beat which TPE searches.

    Args:
        scores: table -> configuration id -> mean score on its seed-0 task.
        metrics: table -> its task's metric.
        top5: ``bench/top5_vs_tpe.py``'s per-table entries (their stored TPE searches).

    Returns:
        (table, TPE search) rows × configuration columns: 1 where the configuration's score on
        the table is at least as good as that search's best of 20, for the configurations
        scored on every table (the task-type-specific TD defaults are not).
    """
    frames = []
    for name, entry in top5.items():
        scored = scores[name].dropna()
        for i, t in enumerate(entry["tpe_best_of_20_per_seed"]):
            frames.append(pd.Series([float(at_least_as_good(v, t, metrics[name])) for v in scored.to_numpy()],
                                    index=scored.index, name=(name, i)))
    wins = pd.DataFrame(frames).dropna(axis=1)
    return wins[sorted(wins.columns)]


def random_five(wins: pd.DataFrame, k: int = 5) -> float:
    """How often ``k`` candidates drawn at random (without replacement) include one at least as
    good as a search's best, averaged over the searches (rows of one table's ``wins``)."""
    n = wins.shape[1]
    beating = wins.sum(axis=1).to_numpy().astype(int)
    return float(np.mean([1.0 - comb(n - m, k) / comb(n, k) for m in beating]))


def summarise(per_table: dict[str, dict], arms: list[str]) -> dict:
    """Each arm's figures over the tables.

    Args:
        per_table: the per-table entries (``share``: arm -> share of the table's TPE searches
            it is at least as good as; ``vs_median``: arm -> at least as good as the median
            search).
        arms: the arms, metakg's top 5 among them.

    Returns:
        Per arm: the mean share of searches (with its count and 95% bootstrap interval over
        tables), the share of tables where it is at least as good as the median search, and
        the paired difference of the first against metakg's top 5 (points, interval, tables
        above / below).
    """
    out: dict = {"tables": len(per_table)}
    searches = sum(e["searches"] for e in per_table.values())
    shares = {a: np.array([e["share"][a] for e in per_table.values()]) for a in arms}
    weights = np.array([e["searches"] for e in per_table.values()])
    for a in arms:
        v = shares[a]
        median = np.array([float(e["vs_median"][a]) for e in per_table.values()])
        out[a] = {"share": float(v.mean()), "count": f"{round(float(v @ weights))}/{searches}",
                  "interval_95": bootstrap_interval(v),
                  "vs_median_search": {"share": float(median.mean()),
                                       "count": f"{round(median.sum())}/{len(median)}"}}
        if a != TOP5:
            diff = v - shares[TOP5]
            out[a]["minus_top5_points"] = float(100 * diff.mean())
            out[a]["minus_top5_interval_95_points"] = [100 * x for x in bootstrap_interval(diff)]
            out[a]["tables_above_top5"] = int((diff > 0).sum())
            out[a]["tables_below_top5"] = int((diff < 0).sum())
    return out


def main() -> None:
    """Score every arm on every table of ``--top5`` and write the summary to ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--extension", action="append", default=None,
                    help="seed extensions to load after the seed (repeatable; default: the shipped one)")
    ap.add_argument("--top5", default="bench/results/top5_vs_tpe.json")
    ap.add_argument("--out", default="bench/results/tpe_ceiling.json")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    extensions = tuple(args.extension or ["data/seed-published.trig.xz"])
    inputs = load_inputs(args.seed, extensions)
    top5 = json.loads(Path(args.top5).read_text())["per_dataset"]
    by_name = {p.name: configuration_id(p.config) for p in published_configurations()}
    published = set(by_name.values())
    hgb = make_configuration(default_configuration("hist_gradient_boosting")).id
    # each table's mean score per configuration on its seed-0 task (a pair may have several runs)
    scores_of = {name: inputs["tables"][name]["scores"].groupby(level=0).mean() for name in top5}
    wins = search_wins(scores_of, {name: inputs["tables"][name]["task"].metric for name in top5}, top5)
    by_id = {t["dataset_id"]: n for n, t in inputs["tables"].items()}
    per_table: dict[str, dict] = {}
    for name, entry in top5.items():
        table = inputs["tables"][name]
        task = table["task"]
        relatives = [by_id[d] for d in inputs["related"].get(table["dataset_id"], ()) if d in by_id]
        scores = scores_of[name]
        arm_scores = arms_for_table(scores, task.task_type, task.metric, published, by_name, hgb)
        arm_scores[TOP5] = float(entry["with-published"]["best_of_top5"])
        fixed = fixed_portfolio(wins, [name, *relatives])
        arm_scores[FIXED] = _best(scores, fixed, task.metric)
        tpe = entry["tpe_best_of_20_per_seed"]
        per_table[name] = {
            "metric": task.metric, "scores": arm_scores,
            "candidates": int(scores.notna().sum()), "fixed_5": fixed, "searches": len(tpe),
            # of the candidates scored on every table: the share at least as good as a search
            "candidates_beating_a_search": float(wins.loc[name].mean(axis=1).mean()),
            "random_5_beating_a_search": random_five(wins.loc[name]),
            "share": {a: float(np.mean([at_least_as_good(s, t, task.metric) for t in tpe]))
                      if np.isfinite(s) else 0.0 for a, s in arm_scores.items()},
            "vs_median": {a: bool(np.isfinite(s) and at_least_as_good(s, float(np.median(tpe)), task.metric))
                          for a, s in arm_scores.items()}}
    arms = [TOP5, "oracle, seed only", "oracle, all candidates", FIXED, "strong 5", "CatBoost default"]
    summary = summarise(per_table, arms)
    summary["candidates_per_table"] = int(np.median([e["candidates"] for e in per_table.values()]))
    summary["candidates_on_every_table"] = int(wins.shape[1])
    summary["median_share_of_candidates_beating_a_search"] = float(
        np.median([e["candidates_beating_a_search"] for e in per_table.values()]))
    summary["random_5_beating_a_search"] = float(
        np.mean([e["random_5_beating_a_search"] for e in per_table.values()]))
    print(json.dumps(summary, indent=1))
    write_json(Path(args.out), {
        "protocol": ("seed-0 task's folds (in-sample), the 5 stored 20-trial TPE searches per table "
                     f"from {args.top5}; candidates from {args.seed} and {', '.join(extensions)}; "
                     "share of TPE searches at least as good as, 95% bootstrap interval over tables"),
        "extensions": list(extensions), "summary": summary, "per_dataset": per_table})


if __name__ == "__main__":
    main()
