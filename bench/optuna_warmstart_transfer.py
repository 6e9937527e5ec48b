"""Warm starts beyond the evaluated portfolio, against the stored cold TPE searches.

``bench/optuna_warmstart.py`` enqueues metakg's LightGBM top 5 (chosen among the dozen evaluated
LightGBM configurations) and lets TPE go on in the standard LightGBM space. This bench measures
other warm starts from :mod:`metalearner.warmstart.transfer`, on the same tables, folds and TPE
seeds, reusing that file's cold searches and its warm results as the baseline (``--baseline``):

* ``ranked``: five configurations proposed by the recommender's surrogate over the family's
  continuous space (2,000 draws plus the evaluated configurations, a diverse top 5);
  TPE then goes on in the standard space.
* ``ranked-box``: the same, drawn within the transferred space (the bounding box of the
  family's best configurations on the ``--box-tables`` nearest training tables, Perrone et
  al. 2019), and TPE goes on within that box.
* ``top5-box``: today's top 5, and TPE goes on within the box (holding the five).

Leave-one-dataset-out as the baseline: the recommender is fitted without the table (and the
same table under other targets). ``--trials 5``: the five points only (identical across TPE
seeds), their best on the search's folds and the pick scored again on the fresh folds.
``--trials 20``: TPE per seed (the first five trials, known from the 5-trial stage when it
ran, are added as finished trials instead of evaluated again). Every (table, variant, trials)
is written as soon as it finishes; a rerun skips those present (resumable).

Summary per variant and checkpoint: how often warm >= cold (the median over TPE seeds, as the
baseline counts), the baseline's count on the same tables, the paired difference of the
two counts with a 95% bootstrap interval over tables, and the same on fresh folds.

Usage: python bench/optuna_warmstart_transfer.py --variants ranked,ranked-box --trials 5
       [--datasets a,b] [--tpe-seeds 5] [--out bench/results/optuna_warmstart_transfer.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
import optuna
from lodo_paired import write_json
from optuna_warmstart import (
    SHARED,
    checkpoints,
    cv_score,
    default_datasets,
    distributions,
    fresh_folds,
    fresh_score,
    suggest,
)

from metakg.kg import read_table
from metakg.kg.ingest import read_manifest
from metakg.kg.measures import HIGHER_IS_BETTER, at_least_as_good
from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommend import recommend_for_query
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import Query
from metakg.metalearner.warmstart import (
    best_on_similar,
    optuna_distributions,
    ranked_configurations,
    transferred_space,
)
from metakg.runner import TaskSpec, prepare_data

CACHE = Path(".metakg-build/bench-cache")
VARIANTS = ("ranked", "ranked-box", "top5-box")


@dataclass
class HeldOut:
    """One table held out: the recommender fitted without it and its LightGBM top 5, and the
    table's task, spec and prepared data on the seed protocol's folds."""

    train: MetaData
    rec: MetaRecommender
    query: Query
    lgbm: list
    task: object
    spec: TaskSpec
    table: object
    X: object
    y: object


def held_out(inputs: dict, name: str, rows: dict) -> HeldOut:
    """Fit the default recommender without table ``name`` (and its same-table relatives) and
    prepare the table, as both warm-start benches need it."""
    info = inputs["tables"][name]
    meta, task = inputs["groups"][info["group"]], info["task"]
    train = meta.without(info["dataset_id"], *inputs["related"].get(info["dataset_id"], []))
    rec = MetaRecommender().fit(train)
    query = Query(metafeatures=meta.metafeatures.loc[info["dataset_id"]].to_dict())
    lgbm, _ = recommend_for_query(train, query, k=5, families=["lightgbm"], recommender=rec)
    spec = TaskSpec(task.id, "", task.target, task.task_type, task.folds, task.seed, task.subsample_rows)
    table = read_table(SHARED / rows[name]["file"])
    X, y = prepare_data(table, spec)
    return HeldOut(train, rec, query, lgbm, task, spec, table, X, y)


def load_inputs(seed: str, extensions: tuple[str, ...] = ()) -> dict:
    """Per table: dataset id, seed-0 task, its group and every configuration's score on that
    task; per group the views the baseline fits on (restricted to configurations run on 95% of
    the original tables); same-table relations. ``extensions`` (seed extensions) are loaded
    after the seed. Cached (keyed by the files' paths, sizes and modification times): loading
    the seed takes minutes."""
    files = [seed, *extensions]
    stamp = "|".join(f"{Path(f).resolve()}|{Path(f).stat().st_size}|{Path(f).stat().st_mtime_ns}" for f in files)
    key = hashlib.sha256(f"task-scores|{stamp}".encode()).hexdigest()[:12]
    path = CACHE / f"optuna_warmstart_inputs_{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    from metakg.kg import KnowledgeGraph, MemoryStore
    from metakg.kg.views import performance_table
    from metakg.metalearner.evaluation import same_table
    from metakg.metalearner.knowledge import feature_columns, load_metadata

    graph = KnowledgeGraph(MemoryStore())
    for f in files:
        graph.store.load(f)
    tables, groups = {}, {}
    for name in default_datasets().split(","):
        ds = graph.get_dataset(name)
        task = min(graph.tasks(ds.id), key=lambda t: t.seed)  # TPE runs on the seed-0 folds
        group = (task.task_type, task.metric)
        if group not in groups:  # as bench/optuna_warmstart.py builds them
            meta = load_metadata(graph, task.task_type, task.metric, cache=False, auxiliary=True)
            keep = meta.raw.loc[meta.originals].notna().mean() >= 0.95
            groups[group] = meta.restrict(list(meta.raw.columns[keep]))
        scores = performance_table(graph, metric=task.metric).query("task == @task.id")
        tables[name] = {"dataset_id": ds.id, "task": task, "group": group,
                        "scores": scores.set_index("config")["value"]}
    out = {"tables": tables, "groups": groups, "related": same_table(feature_columns(graph))}
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(out))
    tmp.replace(path)
    return out


def warm_start(variant: str, train, rec, query: Query, top5: list[dict], box_tables: int
               ) -> tuple[list[dict], dict | None]:
    """The variant's five points and the distributions TPE searches after them (``None``: the
    standard space)."""
    standard = distributions()
    evaluated = [train.configs[c] for c in train.norm.columns
                 if train.configs[c].get("family") == "lightgbm"]
    box = None
    if variant in ("ranked-box", "top5-box"):
        bests = best_on_similar(train, rec.neighbours(query), "lightgbm", k=box_tables)
        # only the parameters the standard space searches (what a published configuration
        # sets besides is dropped from the points too)
        bests = [{"family": "lightgbm", "params": {k: v for k, v in c["params"].items()
                                                   if k in standard}} for c in bests]
        include = top5 if variant == "top5-box" else ()
        box = transferred_space("lightgbm", bests, include=[_in_standard(c) for c in include])
    if variant == "top5-box":
        points = top5
    else:
        points = ranked_configurations(rec, query, "lightgbm", n=5, space=box,
                                       candidates=[_in_standard(c) for c in evaluated])
    dists = None
    if box is not None:
        every = optuna_distributions(box)
        dists = {k: every[k] for k in standard}
    return points, dists


def _in_standard(config: dict) -> dict:
    """A configuration reduced to (and clipped into) the standard space's parameters."""
    params = {}
    for name, d in distributions().items():
        if name in config["params"]:
            v = min(max(config["params"][name], d.low), d.high)
            params[name] = round(v) if isinstance(d, optuna.distributions.IntDistribution) else float(v)
    return {"family": "lightgbm", "params": params}


def tune(X, y, spec, metric: str, trials: int, points: list[dict], known: list[float] | None,
         dists: dict | None, seed: int) -> tuple[list[float], dict[int, dict]]:
    """TPE from the points (added as finished trials with their ``known`` scores, else
    enqueued), then in ``dists`` (``None``: the standard space): the best score after each
    trial, and the configuration chosen after each checkpoint."""
    higher = HIGHER_IS_BETTER[metric]
    dists = dists or distributions()
    study = optuna.create_study(direction="maximize" if higher else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    for i, c in enumerate(points):
        params = {k: c["params"][k] for k in dists if k in c["params"]}
        if known is not None:
            study.add_trial(optuna.trial.create_trial(params=params, distributions=dists,
                                                      value=known[i]))
        else:
            study.enqueue_trial(params)

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, dists)
        s = cv_score(X, y, spec, {"family": "lightgbm", "params": params}, metric)
        return s if np.isfinite(s) else (-1e9 if higher else 1e9)

    study.optimize(objective, n_trials=trials - len(study.trials))
    values = [t.value for t in study.trials]
    best = np.maximum.accumulate(values) if higher else np.minimum.accumulate(values)
    chosen = {}
    for n in checkpoints(trials):
        first = study.trials[:n]
        pick = (max if higher else min)(range(n), key=lambda i: first[i].value)
        chosen[n] = {"family": "lightgbm", "params": dict(first[pick].params)}
    return best.tolist(), chosen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", default="data/seed.trig.xz")
    ap.add_argument("--baseline", default="bench/results/optuna_warmstart.json",
                    help="cold searches (per TPE seed) and today's warm start, same tables and folds")
    ap.add_argument("--variants", default="ranked,ranked-box,top5-box")
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--trials", type=int, default=5, help="5: the points only; 20: TPE per seed")
    ap.add_argument("--tpe-seeds", type=int, default=5)
    ap.add_argument("--box-tables", type=int, default=5,
                    help="nearest training tables whose best configurations bound the box")
    ap.add_argument("--out", default="bench/results/optuna_warmstart_transfer.json")
    ap.add_argument("--summary-only", action="store_true",
                    help="recompute the summary of --out from its results, run nothing")
    args = ap.parse_args()
    if args.summary_only:
        baseline = json.loads(Path(args.baseline).read_text())["per_dataset"]
        results = json.loads(Path(args.out).read_text())["per_dataset"]
        print(json.dumps(write(results, baseline, Path(args.out), args), indent=1))
        return
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    variants = args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; choose among {VARIANTS}")
    baseline = json.loads(Path(args.baseline).read_text())["per_dataset"]
    out_path = Path(args.out)
    results = json.loads(out_path.read_text())["per_dataset"] if out_path.exists() else {}
    inputs = load_inputs(args.seed)
    rows = {r["name"]: r for r in read_manifest(SHARED / "manifest.csv")}
    names = (args.datasets or ",".join(n for n in default_datasets().split(",") if n in baseline)).split(",")
    for name in names:
        todo = [v for v in variants if str(args.trials) not in results.get(name, {}).get(v, {}).get("runs", {})]
        if not todo:
            continue
        t0 = time.perf_counter()
        h = held_out(inputs, name, rows)
        train, rec, query, task, spec, table, X, y = (h.train, h.rec, h.query, h.task, h.spec,
                                                      h.table, h.X, h.y)
        top5 = [_in_standard(r.config) for r in h.lgbm]
        folds, memo = fresh_folds(table, task, baseline[name]["fresh_repeats"]), {}
        metric = task.metric
        for variant in todo:
            points, dists = warm_start(variant, train, rec, query, top5, args.box_tables)
            entry = results.setdefault(name, {}).setdefault(variant, {"metric": metric, "runs": {}})
            entry["points"] = points
            if "point_scores" not in entry or entry.get("points_key") != json.dumps(points, sort_keys=True):
                entry["point_scores"] = [cv_score(X, y, spec, c, metric) for c in points]
                entry["points_key"] = json.dumps(points, sort_keys=True)
            if dists is not None:
                entry["box"] = {k: [d.low, d.high] for k, d in dists.items()}
            scores = entry["point_scores"]
            if args.trials == 5:
                best = (np.nanmax if HIGHER_IS_BETTER[metric] else np.nanmin)(scores)
                pick = points[int(np.nanargmax(scores) if HIGHER_IS_BETTER[metric] else np.nanargmin(scores))]
                entry["runs"]["5"] = {"warm": {"5": float(best)},
                                      "fresh": {"5": fresh_score(folds, pick, metric, memo)}}
            else:
                runs = [tune(X, y, spec, metric, args.trials, points, scores, dists, seed=s)
                        for s in range(args.tpe_seeds)]
                points_at = checkpoints(args.trials)
                per_seed = {n: [c[n - 1] for c, _ in runs] for n in points_at}
                fresh_per_seed = {n: [fresh_score(folds, p[n], metric, memo) for _, p in runs]
                                  for n in points_at}
                entry["runs"][str(args.trials)] = {
                    "tpe_seeds": args.tpe_seeds,
                    "warm_per_seed": per_seed, "fresh_per_seed": fresh_per_seed,
                    "warm": {n: float(np.median(v)) for n, v in per_seed.items()},
                    "fresh": {n: float(np.median(v)) for n, v in fresh_per_seed.items()}}
            print(f"{name} {variant} trials {args.trials}: {entry['runs'][str(args.trials)]['warm']} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
            write(results, baseline, out_path, args)
    print(json.dumps(write(results, baseline, out_path, args), indent=1))


def _bootstrap(diff: np.ndarray, rng: np.random.Generator, stat=np.mean, n: int = 10_000
               ) -> list[float]:
    """95% percentile interval of ``stat`` (the mean) of ``diff`` over resampled tables."""
    if len(diff) == 0:
        return [float("nan"), float("nan")]
    means = stat(diff[rng.integers(0, len(diff), size=(n, len(diff)))], axis=1)
    return [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]


def summarise(results: dict, baseline: dict) -> dict:
    """Per variant and checkpoint: warm >= cold counts (in-sample and fresh folds), the
    baseline's counts on the same tables, and their paired difference with a bootstrap
    interval (share of tables); and the gain over cold, relative to cold's score (positive:
    better), its median for the variant and the baseline, and the median of the paired
    difference with a bootstrap interval."""
    rng = np.random.default_rng(0)
    out: dict = {}
    variants = sorted({v for r in results.values() for v in r})
    for variant in variants:
        for trials in ("5", "20"):
            names = [n for n, r in results.items() if trials in r.get(variant, {}).get("runs", {})]
            if not names:
                continue
            for n in checkpoints(int(trials)):
                key, cell = str(n), {}
                for label, where in (("in_sample", None), ("fresh_folds", "fresh")):
                    new, old, gain_new, gain_old = [], [], [], []
                    for name in names:
                        b, r = baseline[name], results[name][variant]["runs"][trials]
                        metric = b["metric"]
                        cold = (b[where]["cold"] if where else b["cold"])[key]
                        warm_old = (b[where]["warm"] if where else b["warm"])[key]
                        warm_new = (r[where] if where else r["warm"])[key]
                        new.append(at_least_as_good(warm_new, cold, metric))
                        old.append(at_least_as_good(warm_old, cold, metric))
                        sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
                        gain_new.append(sign * (warm_new - cold) / abs(cold))
                        gain_old.append(sign * (warm_old - cold) / abs(cold))
                    diff = np.array(new, dtype=float) - np.array(old, dtype=float)
                    gains = np.array(gain_new) - np.array(gain_old)
                    cell[label] = {"new_at_least_as_good": f"{sum(new)}/{len(new)}",
                                   "baseline_at_least_as_good": f"{sum(old)}/{len(old)}",
                                   "share_difference": float(diff.mean()),
                                   "share_difference_95": _bootstrap(diff, rng),
                                   "new_only": int(sum(a and not b for a, b in zip(new, old, strict=True))),
                                   "baseline_only": int(sum(b and not a for a, b in zip(new, old, strict=True))),
                                   "median_relative_gain_over_cold": float(np.median(gain_new)),
                                   "baseline_median_relative_gain_over_cold": float(np.median(gain_old)),
                                   "median_paired_gain": float(np.median(gains)),
                                   "median_paired_gain_95": _bootstrap(gains, rng, np.median)}
                out[f"{variant}: run of {trials}, after {n}"] = cell
    return out


def write(results: dict, baseline: dict, path: Path, args: argparse.Namespace) -> dict:
    """The results so far and their summary, written whole then renamed."""
    results = json.loads(json.dumps(results))  # one key type (str) for new and loaded results
    summary = summarise(results, baseline)
    data = {"settings": {"baseline": args.baseline, "box_tables": args.box_tables,
                         "family": "lightgbm", "ranked_samples": 2000},
            "per_dataset": results, "summary": summary}
    write_json(path, data)
    return summary


if __name__ == "__main__":
    main()
