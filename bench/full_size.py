"""Do the graph's 5,000-row scores hold at full size? The large shared tables, evaluated whole.

The seed protocol subsamples every table above 5,000 rows (decision 0006), so what the graph
knows of a 40,000-row table is what configurations do on 5,000 of its rows. This benchmark
evaluates, on the full table and otherwise as the seed protocol (3 folds, the first repeat's
seed, one thread per worker; 900 s per fit instead of 60, for the larger fits):

* the strong single defaults of ``bench/strong_defaults.py`` (CatBoost's default, pytabkit's
  LightGBM-, XGBoost- and CatBoost-TD of the task type, HistGradientBoosting's default);
* the recommender's top 5 for the table in leave-one-dataset-out (the former default, surrogate
  seed 0, as ``bench/lodo_paired.py`` recorded it: fitted without the table).

Work order: configuration rank first (CatBoost's default, the top 1, HGB's default, the TD
defaults, picks 2 to 5), tables from the smallest, so an interrupted run leaves complete
comparisons; each fold is written to its own store as it finishes and a new call resumes.

Figures, per table and over the tables (95% percentile bootstrap over tables): the shares of
``bench/strong_defaults.py`` (top 1 >= CatBoost's default; best of 5 >= the best strong
default; a failed run counts as the table's worst score) at 5,000 rows and at full size, their
paired difference, and the tables where they differ; the rank correlation
between the two sizes over the configurations evaluated at both; how often the best of them
at 5,000 rows is still the best at full size; what the extra rows are worth to each strong
default, to the top 1 and to the best of the top 5 (median relative change).

Usage: python bench/full_size.py run [--jobs 2]      (background: 24 min on 2 cores)
       python bench/full_size.py report [--out bench/results/full_size.json]
"""

from __future__ import annotations

import argparse
import csv
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# bench/, beside this script
from lodo_paired import CACHE, bootstrap_interval, read_rows, write_json
from strong_defaults import STRONG, mean_scores, published_scores

from metakg.kg import KnowledgeGraph, OxigraphStore, make_configuration
from metakg.kg.measures import HIGHER_IS_BETTER, at_least_as_good
from metakg.kg.published import published_configurations
from metakg.kg.spaces import default_configuration
from metakg.runner.execute import WorkItem, execute
from metakg.runner.seed import SeedSettings, ingest_manifest_tasks

MANIFEST = Path("../shared/datasets/manifest.csv")
WORK = Path(".metakg-build/full-size")
ROWS = Path("bench/results/lodo_paired_strong.jsonl")
SUBSAMPLE = SeedSettings().subsample_rows


def large_tables(manifest: Path) -> list[str]:
    """Manifest tables above the seed protocol's subsample size, smallest first."""
    with manifest.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(float(r["n_rows"])) > SUBSAMPLE]
    return [r["name"] for r in sorted(rows, key=lambda r: int(float(r["n_rows"])))]


def _picks(rows_path: Path, candidate: str = "current", seed: int = 0) -> dict[str, tuple[str, list[str], str]]:
    """Held-out dataset id → (group, the recommender's top 10, views key) from the paired rows."""
    out = {}
    for r in read_rows(rows_path):
        if r["candidate"] == candidate and int(r["seed"]) == seed:
            out[r["dataset"]] = (r["group"], list(r["top"]), r["views"])
    return out


def _configs(picks: dict[str, tuple[str, list[str], str]]) -> dict[str, dict]:
    """Configuration id → configuration, from the paired benchmark's cached views of the picks."""
    out: dict[str, dict] = {}
    for group, views in {(g, v) for g, _, v in picks.values()}:
        state = pickle.loads((CACHE / views / f"{group}.pkl").read_bytes())
        out.update(state["meta"].configs)
    return out


def run(args: argparse.Namespace) -> None:
    """Evaluate the strong defaults and the LODO top 5 on the large tables at full size."""
    names = large_tables(args.manifest)
    picks = _picks(args.rows)
    configs = _configs(picks)
    store = OxigraphStore(args.work / "store")
    graph = KnowledgeGraph(store)
    # the first repeat of the seed protocol, with a subsample larger than any table: no subsample
    protocol = SeedSettings(subsample_rows=10**9, time_limit=args.time_limit)
    tasks = ingest_manifest_tasks(graph, args.manifest, args.work, protocol, names=names,
                                  progress=True)
    strong = {p.name: p for p in published_configurations()}
    hgb = default_configuration("hist_gradient_boosting")
    ranked: dict[int, list[WorkItem]] = {}
    for task, spec in tasks:
        if task.dataset_id not in picks:
            continue
        _, top, _ = picks[task.dataset_id]
        order = [strong["catboost-default"].config, configs[top[0]], hgb,
                 *(strong[n].config for n in STRONG[task.task_type][1:]),
                 *(configs[c] for c in top[1:5])]
        seen: set[str] = set()
        for rank, config in enumerate(order):
            cid = make_configuration(config).id
            if cid not in seen:  # CatBoost's default can be the top 1 itself
                seen.add(cid)
                ranked.setdefault(rank, []).append(WorkItem(task, spec, config))
    for p in strong.values():
        graph.add_published_configuration(p)
    items = [item for rank in sorted(ranked) for item in ranked[rank]]
    try:
        report = execute(graph, items, jobs=args.jobs, time_limit=args.time_limit,
                         source="bench-full-size", principal="metakg-bench", progress=True)
        print(f"completed {report.completed}, failed {report.failed}")
    finally:
        store.close()


def _table_figures(raw: pd.Series, top: list[str], strong_ids: list[str], metric: str) -> dict | None:
    """One table, one size: top 1 >= CatBoost's default, best of 5 >= the best strong default
    (``None`` where a pick or a strong default has no score)."""
    best = max if HIGHER_IS_BETTER[metric] else min
    picks = [c for c in top[:5] if c in raw.index and np.isfinite(raw[c])]
    defaults = [raw[c] for c in strong_ids if c in raw.index and np.isfinite(raw[c])]
    if len(picks) < 5 or len(defaults) < len(strong_ids):
        return None
    return {"top1": float(at_least_as_good(float(raw[top[0]]), float(raw[strong_ids[0]]), metric)),
            "best5": float(at_least_as_good(best(float(raw[c]) for c in picks),
                                            best(float(v) for v in defaults), metric)),
            "top1_score": float(raw[top[0]]), "best5_score": best(float(raw[c]) for c in picks)}


def _with_failed_as_worst(raw: pd.Series, failed: list[str], metric: str) -> pd.Series:
    """A failed run counts as the table's worst score (as ``bench/strong_defaults.py`` scores
    it), so a pick over the time limit is a loss, not a table left out."""
    worst = raw.min() if HIGHER_IS_BETTER[metric] else raw.max()
    out = raw.copy()
    for c in failed:
        out[c] = worst
    return out


def _round(x: float | None) -> float | None:
    """A score for the JSON: 5 decimals, ``None`` where there is none."""
    return None if x is None or not np.isfinite(x) else round(float(x), 5)


def _relative_gain(at_small: float, at_full: float, metric: str) -> float:
    """Relative change from 5,000 rows to full size, positive where full size is better."""
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    return sign * (at_full - at_small) / abs(at_small)


def report(args: argparse.Namespace) -> None:
    """Compare the 5,000-row and the full-size figures on the tables evaluated whole."""
    warnings.filterwarnings("ignore")
    picks = _picks(args.rows)
    full = mean_scores(args.work / "store")
    small_published = published_scores(args.published)
    names = {p.name: make_configuration(p.config).id for p in published_configurations()}
    hgb = make_configuration(default_configuration("hist_gradient_boosting")).id
    label = {v: k for k, v in names.items()} | {hgb: "hist_gradient_boosting default"}
    per_table, dropped = [], {}
    gains: dict[str, list[float]] = {}
    metas: dict[tuple[str, str], object] = {}
    for dataset, (group, top, views) in picks.items():
        if (group, dataset) not in full.index:
            continue
        if (views, group) not in metas:
            metas[(views, group)] = pickle.loads((CACHE / views / f"{group}.pkl").read_bytes())
        state = metas[(views, group)]
        meta = state["meta"]
        strong_ids = [names[n] for n in STRONG[state["task_type"]]] + [hgb]
        small = meta.raw.loc[dataset].copy()
        small = _with_failed_as_worst(small, list(small.index[small.isna() & (meta.norm.loc[dataset] == 0)]), group)
        if (group, dataset) in small_published.index:
            for n, value in small_published.loc[(group, dataset)].dropna().items():
                if n in names:
                    small[names[n]] = value
        big = full.loc[(group, dataset)]
        # every pick and strong default was run at full size: one without a score failed
        attempted = list(dict.fromkeys([*top[:5], *strong_ids]))
        big = _with_failed_as_worst(big.dropna(), [c for c in attempted if not np.isfinite(big.get(c, np.nan))], group)
        at_small = _table_figures(small, top, strong_ids, group)
        at_full = _table_figures(big, top, strong_ids, group)
        both = [c for c in big.index if c in small.index and np.isfinite(small[c])]
        entry = {"dataset": meta.names.get(dataset, dataset), "group": group,
                 "rows": int(meta.rows.get(dataset, 0)), "configurations_at_full_size": len(big),
                 "top1": label.get(top[0], top[0])}
        if at_small and at_full:
            entry |= {"top1_vs_catboost_default": [at_small["top1"], at_full["top1"]],
                      "best5_vs_best_strong_default": [at_small["best5"], at_full["best5"]]}
            for name, key in (("top 1", "top1_score"), ("best of top 5", "best5_score")):
                gains.setdefault(name, []).append(_relative_gain(at_small[key], at_full[key], group))
        else:
            dropped[entry["dataset"]] = "a pick or a strong default has no score at one size"
        if len(both) >= 3:
            rho = pd.Series(small[both]).rank().corr(big[both].rank())
            higher = HIGHER_IS_BETTER[group]
            pick = (small[both].idxmax() if higher else small[both].idxmin())
            best_full = big[both].max() if higher else big[both].min()
            # None where every configuration ties at one size
            entry |= {"rank_correlation": round(float(rho), 3) if np.isfinite(rho) else None,
                      "best_at_5000_still_best": bool(at_least_as_good(float(big[pick]), float(best_full), group)),
                      "full_minus_5000_median": round(float((big[both] - small[both]).median()), 4)}
        entry["scores"] = {label.get(c, c): {"at_5000_rows": _round(small.get(c)), "at_full_size": _round(big[c])}
                           for c in big.index}
        for c in strong_ids:
            if c in both:
                gains.setdefault(label[c], []).append(_relative_gain(float(small[c]), float(big[c]), group))
        per_table.append(entry)
    done = [e for e in per_table if "top1_vs_catboost_default" in e]
    summary: dict = {"tables": len(per_table), "dropped": dropped}
    for key in ("top1_vs_catboost_default", "best5_vs_best_strong_default"):
        at5 = np.array([e[key][0] for e in done])
        atf = np.array([e[key][1] for e in done])
        if len(done):
            summary[key] = {
                "at_5000_rows": round(float(at5.mean()), 4), "at_full_size": round(float(atf.mean()), 4),
                "full_minus_5000": round(float((atf - at5).mean()), 4),
                "interval_95": [round(x, 4) for x in bootstrap_interval(atf - at5)], "tables": len(done),
                "yes_to_no": [e["dataset"] for e in done if e[key][0] > e[key][1]],
                "no_to_yes": [e["dataset"] for e in done if e[key][0] < e[key][1]]}
    ranked = [e for e in per_table if "best_at_5000_still_best" in e]
    rhos = np.array([e["rank_correlation"] for e in ranked if e["rank_correlation"] is not None])
    if ranked:
        summary["rank_correlation_median"] = round(float(np.median(rhos)), 3)
        summary["best_at_5000_still_best_share"] = round(float(np.mean([e["best_at_5000_still_best"] for e in ranked])), 3)
        summary["tables_ranked"] = len(rhos)
        summary["tables_compared"] = len(ranked)
    # what the rows the 5,000-row sample left out are worth: the median over tables of the
    # relative change, positive where full size is better
    summary["median_relative_gain_at_full_size"] = {
        n: {"median": round(float(np.median(v)), 4), "tables": len(v)} for n, v in gains.items()}
    for k, v in summary.items():
        print(k, v)
    write_json(args.out, {
        "protocol": ("tables above 5,000 rows of the shared manifest; at full size: 3 folds, the "
                     "seed protocol's first-repeat seed, no subsample, one thread, "
                     f"{args.time_limit:g} s per fit; at 5,000 rows: the seed graph's scores (repeats "
                     "averaged) and the published configurations' runs; the recommender's LODO top 5 "
                     f"from {args.rows} (the former default, seed 0); a failed run counts as the table's "
                     "worst score; 95% bootstrap interval over tables of the paired difference"),
        "summary": summary, "tables": per_table})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("run", "report"))
    p.add_argument("--manifest", type=Path, default=MANIFEST)
    p.add_argument("--rows", type=Path, default=ROWS)
    p.add_argument("--work", type=Path, default=WORK)
    p.add_argument("--published", type=Path, default=Path(".metakg-build/published/store"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--time-limit", type=float, default=900.0)
    p.add_argument("--out", type=Path, default=Path("bench/results/full_size.json"))
    args = p.parse_args()
    (run if args.action == "run" else report)(args)


if __name__ == "__main__":
    main()
