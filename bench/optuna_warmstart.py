"""Optuna TPE on LightGBM, warm-started by metakg vs cold, on a few shared datasets.

For each dataset the recommender is fitted on the seed graph *without* that dataset
(leave-one-dataset-out), its top-5 LightGBM configurations are enqueued, and TPE continues.
Reports the best cross-validated score after 5, 10 and 20 trials (warm and cold, same folds),
the median over several TPE seeds (one seed's curve is mostly luck), with each seed's value
beside it, and the best of metakg's top-5 configurations of any family for scale.

Those scores are in-sample for the search: the best of 20 noisy scores on the same folds is
optimistic, more so than the best of 5. So each search's choice (TPE's best trial after 5, 10
and 20 trials, and the best of metakg's top 5 on the same folds) is also scored again on fresh
folds: ``--fresh-repeats`` new shuffles (and, for tables above the subsample size, new row
samples) that no search saw. Those scores compare what the searches *found*, not what they saw.

Datasets: six chosen tables (credit.g, diabetes, kr.vs.kp, sick, abalone, cpu.small) and
every other shared table of 500 to 5,000 rows (27 more; smaller tables have too few rows for a
3-fold comparison at the third decimal, larger ones are subsampled to 5,000 anyway): 33 in all.

Besides the per-dataset medians, the summary counts (dataset, TPE seed) pairs in which the best
of metakg's top 5 is at least as good as that seed's 20-trial search: a TPE user runs one search,
not the median of five.

Usage: python bench/optuna_warmstart.py [--datasets credit.g,diabetes,...] [--trials 20]
       [--tpe-seeds 5] [--cold-from bench/results/optuna_warmstart.json]
       [--add-to bench/results/optuna_warmstart.json]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import optuna

from metakg.kg import KnowledgeGraph, MemoryStore, OxigraphStore, read_table
from metakg.kg.ingest import read_manifest
from metakg.kg.measures import HIGHER_IS_BETTER, at_least_as_good
from metakg.kg.spaces import FAMILIES
from metakg.kg.views import performance_table
from metakg.metalearner.evaluation import same_table
from metakg.metalearner.knowledge import feature_columns, load_metadata
from metakg.metalearner.recommend import recommend_for_query
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import Query
from metakg.metalearner.warmstart import optuna_enqueue
from metakg.runner import TaskSpec, evaluate_fold, prepare_data

SHARED = Path(os.environ.get("METAKG_SHARED", "../shared/datasets"))
FIRST = "credit.g,diabetes,kr.vs.kp,sick,abalone,cpu.small"


def default_datasets() -> str:
    """The first six, then every other shared table of 500 to 5,000 rows, smallest first."""
    first = FIRST.split(",")
    more = sorted((int(r["n_rows"]), r["name"]) for r in read_manifest(SHARED / "manifest.csv")
                  if 500 <= int(r["n_rows"]) <= 5000 and r["name"] not in first)
    return ",".join(first + [name for _, name in more])


def distributions() -> dict:
    """The standard LightGBM space cold TPE searches: the family's drawn parameters (those a
    published configuration may set besides are not searched)."""
    d = {}
    for p in FAMILIES["lightgbm"].params:
        if not p.sampled:
            continue
        if p.integer:
            d[p.name] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            d[p.name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
    return d


def suggest(trial: optuna.Trial, dists: dict) -> dict:
    """The LightGBM parameters a trial suggests in ``dists`` (integer or float ranges)."""
    params = {}
    for name, dist in dists.items():
        if isinstance(dist, optuna.distributions.IntDistribution):
            params[name] = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        else:
            params[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
    return params


def cv_score(X, y, spec: TaskSpec, config: dict, metric: str) -> float:
    vals = []
    for fold in range(spec.folds):
        r = evaluate_fold(X, y, spec, config, "bench", fold, "cpu")
        if r.error:
            return float("nan")
        vals.append(r.scores[metric])
    return float(np.mean(vals))


def tune(X, y, spec, metric, trials, warm: list[dict] | None, seed: int = 0
         ) -> tuple[list[float], dict[int, dict]]:
    """TPE's best score after each trial, and its best configuration after 5, 10, ... trials."""
    higher = HIGHER_IS_BETTER[metric]
    dists = distributions()
    study = optuna.create_study(direction="maximize" if higher else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    if warm:
        # warm and cold search the same space: what a recommendation sets beyond it is dropped
        # (with a warning), as a user's own space would make it
        optuna_enqueue(study, warm, dists, strict=False)

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, dists)
        s = cv_score(X, y, spec, {"family": "lightgbm", "params": params}, metric)
        return s if np.isfinite(s) else (-1e9 if higher else 1e9)

    study.optimize(objective, n_trials=trials)
    values = [t.value for t in study.trials]
    best = np.maximum.accumulate(values) if higher else np.minimum.accumulate(values)
    chosen = {}
    for n in checkpoints(trials):
        first = study.trials[:n]
        pick = (max if higher else min)(range(n), key=lambda i: first[i].value)  # first of ties
        chosen[n] = {"family": "lightgbm", "params": dict(first[pick].params)}
    return best.tolist(), chosen


def checkpoints(trials: int) -> list[int]:
    return sorted({n for n in (5, 10, trials) if n <= trials})


def fresh_folds(table, task, repeats: int) -> list[tuple]:
    """``repeats`` fresh cross-validations of the task (seeds 101, 102, ...: other shuffles and,
    above the subsample size, other rows than the searches saw), as (X, y, spec)."""
    out = []
    for r in range(repeats):
        spec = TaskSpec(task.id, "", task.target, task.task_type, task.folds, task.seed + 101 + r,
                        task.subsample_rows)
        out.append((*prepare_data(table, spec), spec))
    return out


def fresh_score(folds: list[tuple], config: dict, metric: str, memo: dict) -> float:
    """Mean score of ``config`` over the fresh cross-validations (memoised per configuration)."""
    key = json.dumps(config, sort_keys=True)
    if key not in memo:
        memo[key] = float(np.mean([cv_score(X, y, spec, config, metric) for X, y, spec in folds]))
    return memo[key]


def reused_cold(stored: dict | None, args: argparse.Namespace
                ) -> list[tuple[list[float], dict[int, dict]]] | None:
    """An earlier result's cold searches (per TPE seed: the best score after each trial, NaN
    between the checkpoints 5 / 10 / 20, the only ones stored; and the chosen configurations),
    or ``None`` when it lacks this dataset, its choices, or ran with other seeds or trials."""
    if not stored or stored.get("tpe_seeds") != args.tpe_seeds or "cold_picks" not in stored:
        return None
    per_seed = {int(n): v for n, v in stored["cold_per_seed"].items()}
    if max(per_seed) != args.trials:
        return None
    picks = {int(n): v for n, v in stored["cold_picks"].items()}
    return [([per_seed[t][s] if t in per_seed else float("nan") for t in range(1, args.trials + 1)],
             {n: picks[n][s] for n in picks}) for s in range(args.tpe_seeds)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None)
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--datasets", default=None, help="comma-separated (default: see the module docstring)")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--tpe-seeds", type=int, default=5, help="TPE seeds; medians are reported")
    ap.add_argument("--out", default="bench/results/optuna_warmstart.json")
    ap.add_argument("--fresh-repeats", type=int, default=3,
                    help="fresh cross-validations that score each search's choice again")
    ap.add_argument("--cold-from", default=None,
                    help="reuse the cold TPE curves of an earlier result (they do not depend on "
                         "the recommender); TPE seed 0 is rerun per dataset to check that they "
                         "reproduce, and every cold curve is recomputed where it does not")
    ap.add_argument("--add-to", default=None,
                    help="keep this earlier result's datasets as they are and run only the others "
                         "(valid while the recommender and the settings are unchanged); the "
                         "output has them all")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.store:
        graph = KnowledgeGraph(OxigraphStore(args.store, read_only=True))
    else:
        graph = KnowledgeGraph(MemoryStore())
        graph.store.load(args.seed)
    rows = {r["name"]: r for r in read_manifest(SHARED / "manifest.csv")}
    results = {}
    related = same_table(feature_columns(graph))
    earlier = (json.loads(Path(args.cold_from).read_text())["per_dataset"]
               if args.cold_from else {})
    kept = json.loads(Path(args.add_to).read_text())["per_dataset"] if args.add_to else {}
    for name in (args.datasets or default_datasets()).split(","):
        if name in kept and kept[name].get("tpe_seeds") == args.tpe_seeds:
            results[name] = kept[name]
            continue
        ds = graph.get_dataset(name)
        task = min(graph.tasks(ds.id), key=lambda t: t.seed)  # TPE runs on the seed-0 folds
        meta = load_metadata(graph, task.task_type, task.metric, cache=False, auxiliary=True)
        meta = meta.restrict(list(meta.raw.columns[meta.raw.loc[meta.originals].notna().mean() >= 0.95]))
        train = meta.without(ds.id, *related.get(ds.id, []))  # as bench/lodo.py holds it out
        rec = MetaRecommender().fit(train)
        query = Query(metafeatures=meta.metafeatures.loc[ds.id].to_dict())
        lgbm, _ = recommend_for_query(train, query, k=5, families=["lightgbm"], recommender=rec)
        top5, _ = recommend_for_query(train, query, k=5, recommender=rec)
        spec = TaskSpec(task.id, "", task.target, task.task_type, task.folds, task.seed, task.subsample_rows)
        table = read_table(SHARED / rows[name]["file"])
        X, y = prepare_data(table, spec)
        seeds = range(args.tpe_seeds)
        cold_runs = reused_cold(earlier.get(name), args) if earlier else None
        if cold_runs is not None:
            check, _ = tune(X, y, spec, task.metric, args.trials, None, seed=0)
            stored = np.asarray(cold_runs[0][0])
            if not np.allclose(np.asarray(check)[~np.isnan(stored)], stored[~np.isnan(stored)],
                               rtol=0, atol=1e-9):
                print(f"{name}: the stored cold curve does not reproduce; recomputing", flush=True)
                cold_runs = None
        if cold_runs is None:
            cold_runs = [tune(X, y, spec, task.metric, args.trials, None, seed=s) for s in seeds]
        warm_runs = [tune(X, y, spec, task.metric, args.trials, [r.config for r in lgbm], seed=s)
                     for s in seeds]
        cold = np.median([c for c, _ in cold_runs], axis=0)
        warm = np.median([w for w, _ in warm_runs], axis=0)
        points = checkpoints(args.trials)
        # metakg's top 5 as measured on the same folds as TPE (the matrix averages repeats)
        own = performance_table(graph, metric=task.metric).query("task == @task.id")
        own = own.set_index("config")["value"]
        scored = [(own[r.config_id], r.config) for r in top5 if r.config_id in own.index]
        better = max if HIGHER_IS_BETTER[task.metric] else min
        best5, pick5 = better(scored, key=lambda t: t[0])
        # what each search found, scored again on folds none of them saw
        folds, memo = fresh_folds(table, task, args.fresh_repeats), {}
        fresh = {"metakg_top5": fresh_score(folds, pick5, task.metric, memo),
                 "cold_per_seed": {n: [fresh_score(folds, p[n], task.metric, memo)
                                       for _, p in cold_runs] for n in points},
                 "warm_per_seed": {n: [fresh_score(folds, p[n], task.metric, memo)
                                       for _, p in warm_runs] for n in points}}
        fresh["cold"] = {n: float(np.median(v)) for n, v in fresh["cold_per_seed"].items()}
        fresh["warm"] = {n: float(np.median(v)) for n, v in fresh["warm_per_seed"].items()}
        results[name] = {"metric": task.metric,
                         "tpe_seeds": args.tpe_seeds,
                         "cold": {n: float(cold[n - 1]) for n in points},
                         "warm": {n: float(warm[n - 1]) for n in points},
                         "cold_per_seed": {n: [c[n - 1] for c, _ in cold_runs] for n in points},
                         "warm_per_seed": {n: [w[n - 1] for w, _ in warm_runs] for n in points},
                         "cold_picks": {n: [p[n] for _, p in cold_runs] for n in points},
                         "metakg_top5_any_family": float(best5),
                         "metakg_top5_pick": pick5,
                         "fresh_repeats": args.fresh_repeats,
                         "fresh": fresh}
        print(name, results[name], flush=True)
        write_results(results, kept, args)  # every finished dataset on disk at once
    print(json.dumps(write_results(results, kept, args), indent=1))


def write_results(results: dict, kept: dict, args: argparse.Namespace) -> dict:
    """Write the per-dataset results so far, then the kept ones not reached yet, and their
    summary to ``args.out``; a run stopped half-way resumes with ``--add-to`` that file (and
    ``--cold-from`` it)."""
    # one key type for kept (read from JSON) and new results
    results = json.loads(json.dumps(results | {k: v for k, v in kept.items() if k not in results}))
    summary = {}
    for n in checkpoints(args.trials):
        wins = [at_least_as_good(r["warm"][str(n)], r["cold"][str(n)], r["metric"]) for r in results.values()]
        summary[f"warm_at_least_as_good_after_{n}"] = f"{sum(wins)}/{len(wins)}"
    wins5 = [at_least_as_good(r["metakg_top5_any_family"], r["cold"][str(args.trials)], r["metric"])
             for r in results.values()]
    summary[f"metakg_top5_vs_cold_tpe_{args.trials}"] = f"{sum(wins5)}/{len(wins5)}"
    for n in checkpoints(args.trials):
        wins = [at_least_as_good(r["fresh"]["warm"][str(n)], r["fresh"]["cold"][str(n)], r["metric"])
                for r in results.values()]
        summary[f"fresh_folds_warm_at_least_as_good_after_{n}"] = f"{sum(wins)}/{len(wins)}"
    wins5 = [at_least_as_good(r["fresh"]["metakg_top5"], r["fresh"]["cold"][str(args.trials)], r["metric"])
             for r in results.values()]
    summary[f"fresh_folds_metakg_top5_vs_cold_tpe_{args.trials}"] = f"{sum(wins5)}/{len(wins5)}"
    for label, mine, theirs in (("", "metakg_top5_any_family", "cold_per_seed"),
                                ("fresh_folds_", "metakg_top5", "cold_per_seed")):
        pairs = [at_least_as_good(float((r["fresh"] if label else r)[mine]), float(v), r["metric"])
                 for r in results.values()
                 for v in (r["fresh"] if label else r)[theirs][str(args.trials)]]
        summary[f"{label}metakg_top5_vs_each_cold_tpe_{args.trials}_run"] = f"{sum(pairs)}/{len(pairs)}"
    out = {"per_dataset": results, "summary": summary}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    return summary


if __name__ == "__main__":
    main()
