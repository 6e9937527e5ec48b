"""How often a recommendation's interval holds the held-out dataset's true score, and how wide it is.

Three ways of giving a recommendation an expected score and interval, on the same
recommendations of the same held-out datasets, at nominal coverage 90%:

* ``today``: a global conformal band: the score learnt from meta-features and
  configuration alone (:class:`TodayScoreModel`, no landmark level) and one global pair of
  out-of-fold residual quantiles (the 5th and 95th percentiles) around every prediction, in
  the transformed space. Its code path lives here (:func:`global_conformal`), not in the
  library. For ROC AUC the library had no such model: this row is that model and
  band with the new ROC AUC transform, for reference, and what a ROC AUC recommendation showed
  was ``neighbours``.
* ``neighbours``: the similarity-weighted mean and the range (min-max) of the configuration's
  scores on the most similar datasets (RMSEs rescaled by the targets' standard deviations), as
  ``recommend()`` shows where no score model covers the metric.
* ``new``: :class:`~metalearner.score_model.ScoreModel`'s normalised split-conformal interval.

Protocol: ``bench/lodo.py``'s groups and views (rank normalisation, configurations run on at
least 95% of the datasets; derived datasets never held out), with the held-out datasets of a
group split into ``--folds`` folds (fixed seed) rather than one at a time, so that the score
model is fitted ``--folds`` times per group, not once per dataset: every held-out dataset is
held out exactly once, and the views a fold's datasets are scored with leave out all of that
fold's datasets, what was derived from them and the same table under another target
(``same_table``), and the second derived split (as ``recommend()`` fits them). For each held-out
dataset, the default recommender (``MetaRecommender``) fitted on those views picks the top 5
(``recommend_for_query``); each of the three gives those configurations an interval, read
against the configuration's true score. The same three are also read on every configuration
above the held-out dataset's median (rows ``above_median``; more scores, so a steadier coverage,
though those of one dataset are not independent). RMSE is put on the held-out table's scale by
its target's standard deviation (read from its table in ``$METAKG_SHARED``, as ``recommend()``
does).

Reported per metric and way: coverage (share of true scores inside; also of the top-1 only),
median and mean width in the metric's units, for RMSE also the median ratio high / low, and the
median absolute error of the expected score; and ``new``'s median width over ``today``'s.

Views come from ``bench/lodo_paired.py``'s cache (``.metakg-build/bench-cache/``) when that
script is there (it builds the cache if missing), else from the graph as ``bench/lodo.py`` loads
it.

    nice -n 10 python bench/interval_coverage.py [--seed data/seed.trig.xz | --store PATH] \\
        [--folds 10] [--jobs 2] [--metrics roc_auc,log_loss,rmse] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/lodo.py, bench/lodo_paired.py
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from metakg.kg.ingest import read_manifest
from metakg.kg.measures import IN_TARGET_UNITS, target_scale
from metakg.kg.tables import read_table
from metakg.metalearner.recommend import _Explainer, recommend_for_query
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import Query
from metakg.metalearner.score_model import _TRANSFORMS, ScoreModel

SHARED = Path(os.environ.get("METAKG_SHARED", "../shared/datasets"))
COVERAGE = 0.90
K = 5
METRICS = ("roc_auc", "log_loss", "rmse")
WAYS = ("today", "neighbours", "new")
#: metric -> group state (views, held-out datasets, folds, ...), inherited by forked workers
_STATE: dict[str, dict] = {}
#: regression table name -> its target's standard deviation (set before the workers fork)
_TARGET_SD: dict[str, float] = {}


def _target_sds() -> dict[str, float]:
    """Each shared regression table's target standard deviation, as ``recommend()`` takes it."""
    out = {}
    for row in read_manifest(SHARED / "manifest.csv"):
        if row["task"] == "regression":
            out[row["name"]] = target_scale(read_table(SHARED / row["file"])[row["target"]])
    return out


def load_groups(metrics: list[str], store: str | None, seed: str) -> dict[str, dict]:
    """metric -> {task_type, metric, meta, holdout, related, second}: from bench/lodo_paired.py's
    cache where that script is present, else from the graph (minutes)."""
    try:
        from lodo_paired import load_views, views_key
    except ImportError:
        load_views = None
    if load_views is not None:
        return load_views(metrics, store, seed, views_key(store, seed))
    from lodo import group_views, groups, open_bench_graph

    from metakg.metalearner.evaluation import same_table
    from metakg.metalearner.knowledge import derived_by_later_splits, feature_columns

    graph = open_bench_graph(store, seed)
    related = same_table(feature_columns(graph))
    out = {}
    for task_type, metric, holdout in groups(graph):
        if metric not in metrics:
            continue
        meta = group_views(graph, task_type, metric, normalisation="rank", coverage=0.95)
        holdout = [d for d in holdout if d in meta.datasets]
        if len(holdout) >= 3:
            out[metric] = {"task_type": task_type, "metric": metric, "meta": meta,
                           "holdout": holdout, "related": related,
                           "second": derived_by_later_splits(meta, 1)}
    return out


class TodayScoreModel(ScoreModel):
    """A score model without the reference level from the table's
    landmarkers (the score itself is learnt)."""

    def _level(self, landmarks: np.ndarray) -> np.ndarray:
        return np.zeros(len(landmarks))


def global_conformal(model: ScoreModel, query: Query, config_ids: list[str]) -> pd.DataFrame:
    """A global conformal band: the model's prediction with one global pair of
    out-of-fold residual quantiles, ``(1 - coverage) / 2`` and ``1 - (1 - coverage) / 2``,
    added in the transformed space, for every table and configuration alike."""
    index = pd.Index(config_ids)
    out = pd.DataFrame(np.nan, index=index, columns=["expected", "low", "high"])
    scale = 1.0
    if model.in_target_units_:
        scale = query.target_sd if query.target_sd and np.isfinite(query.target_sd) else np.nan
    position = model.config_matrix_.index.get_indexer(index)
    known = position >= 0
    if not model.active_ or not known.any() or not scale > 0:
        return out
    p, _ = model.transformed(query, position[known])
    tail = (1.0 - model.coverage) / 2.0
    lo, hi = np.quantile(model.residuals_, [tail, 1.0 - tail])
    _, inverse = _TRANSFORMS[model.metric_]
    ends = np.sort(np.column_stack([inverse(p + lo), inverse(p + hi)]), axis=1)
    out.loc[index[known], "expected"] = scale * inverse(p)
    out.loc[index[known], "low"] = scale * ends[:, 0]
    out.loc[index[known], "high"] = scale * ends[:, 1]
    return out


def _fold(unit: tuple[str, int]) -> list[dict]:
    """Fit on the views without fold ``k``'s datasets; rows for each of them."""
    metric, k = unit
    st = _STATE[metric]
    meta, related = st["meta"], st["related"]
    fold = [d for d, f in st["fold_of"].items() if f == k]
    gone = {x for d in fold for x in (d, *related.get(d, []))}
    train = meta.without(*gone).drop(st["second"])
    t0 = time.perf_counter()
    rec = MetaRecommender().fit(train)
    model = ScoreModel(metrics=METRICS, coverage=COVERAGE).fit(train)
    before = TodayScoreModel(metrics=METRICS, coverage=COVERAGE).fit(train)
    seconds = time.perf_counter() - t0
    rows = []
    for d in fold:
        query = Query(metafeatures=meta.metafeatures.loc[d].to_dict(),
                      embedding=meta.embeddings.get(d),
                      target_sd=_TARGET_SD.get(meta.names.get(d, "")))
        recs, _ = recommend_for_query(train, query, k=K, recommender=rec)
        top = [r.config_id for r in recs]
        truth = meta.raw.loc[d]
        above = [c for c in meta.norm.columns[meta.norm.loc[d] >= 0.5]
                 if c in train.raw.columns and np.isfinite(truth[c])]
        ids = list(dict.fromkeys(top + above))
        new = model.predict(query, ids)
        today = global_conformal(before, query, ids)
        explain = _Explainer(train, rec.neighbours(query), query.target_sd)
        for c in ids:
            plain = explain(0, c)
            row = {"dataset": d, "config": c, "fold": k, "truth": float(truth[c]),
                   "rank": top.index(c) + 1 if c in top else None, "above_median": c in above,
                   "neighbours_expected": plain.expected_score,
                   "neighbours_low": plain.interval[0] if plain.interval else None,
                   "neighbours_high": plain.interval[1] if plain.interval else None}
            for way, frame in (("new", new), ("today", today)):
                row.update({f"{way}_{col}": float(frame.loc[c, col])
                            for col in ("expected", "low", "high")})
            rows.append(row)
    print(f"  {metric} fold {k}: {len(fold)} held out, fitted in {seconds:.0f} s, "
          f"{model.n_rows_ if model.active_ else 0} rows", flush=True)
    return rows


def quality(df: pd.DataFrame, way: str, in_target_units: bool) -> dict[str, float | int | None]:
    """Coverage, width and error of one way of giving expected scores and intervals (rows
    where it gives an interval)."""
    lo, hi, exp = df[f"{way}_low"], df[f"{way}_high"], df[f"{way}_expected"]
    has = lo.notna() & hi.notna() & np.isfinite(lo.astype(float)) & np.isfinite(hi.astype(float))
    if not has.any():
        return {"with_interval": 0}
    d, lo, hi, exp = df[has], lo[has].astype(float), hi[has].astype(float), exp[has].astype(float)
    inside = (d["truth"] >= lo) & (d["truth"] <= hi)
    width = hi - lo
    out: dict[str, float | int | None] = {
        "with_interval": int(has.sum()), "of": len(df),
        "coverage": round(float(inside.mean()), 3),
        "coverage_top1": (round(float(inside[d["rank"] == 1].mean()), 3)
                          if (d["rank"] == 1).any() else None),
        "median_width": round(float(width.median()), 4),
        "mean_width": round(float(width.mean()), 4),
        "median_abs_error": round(float((d["truth"] - exp).abs().median()), 4)}
    if in_target_units:
        ratio = (hi / lo).replace([np.inf, -np.inf], np.nan)
        out["median_high_over_low"] = round(float(ratio.median()), 3)
        out["share_low_nonpositive"] = round(float((lo <= 0).mean()), 3)
    return out


def report_group(metric: str, task_type: str, rows: list[dict], n_held_out: int,
                 folds: int) -> dict:
    """The group's entry: each way's quality on the top-k recommendations and on every
    configuration above the held-out dataset's median."""
    df = pd.DataFrame(rows)
    units = metric in IN_TARGET_UNITS
    entry: dict = {"task_type": task_type, "metric": metric, "held_out": n_held_out,
                   "folds": folds, "nominal": COVERAGE}
    for name, part in (("recommendations", df[df["rank"].notna()]),
                       ("above_median", df[df["above_median"]])):
        entry[name] = {way: quality(part, way, units) for way in WAYS}
        entry[name]["n"] = len(part)
        new, today = entry[name]["new"], entry[name]["today"]
        if new.get("median_width") and today.get("median_width"):
            entry[name]["new_over_today_median_width"] = round(
                new["median_width"] / today["median_width"], 3)
        if units and new.get("median_high_over_low") and today.get("median_high_over_low"):
            entry[name]["new_over_today_median_high_over_low"] = round(
                new["median_high_over_low"] / today["median_high_over_low"], 3)
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default=None, help="an Oxigraph store of the seed (read-only)")
    ap.add_argument("--seed", default="data/seed.trig.xz", help="else this seed, loaded in memory")
    ap.add_argument("--folds", type=int, default=10, help="folds of held-out datasets per group")
    ap.add_argument("--jobs", type=int, default=2, help="folds fitted at a time")
    ap.add_argument("--metrics", default=",".join(METRICS))
    ap.add_argument("--out", default="bench/results/interval_coverage.json")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    metrics = args.metrics.split(",")
    _TARGET_SD.update(_target_sds())
    states = load_groups(metrics, args.store, args.seed)
    print(f"views ready in {time.perf_counter() - t0:.0f} s", flush=True)
    units = []
    for metric, st in states.items():
        order = np.random.default_rng(0).permutation(len(st["holdout"]))
        st["fold_of"] = {st["holdout"][i]: int(j % args.folds) for j, i in enumerate(order)}
        _STATE[metric] = st
        units += [(metric, k) for k in range(min(args.folds, len(st["holdout"])))]
    if args.jobs <= 1:
        parts = [_fold(u) for u in units]
    else:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            parts = pool.map(_fold, units, chunksize=1)
    out: dict = {"protocol": (f"held-out datasets in {args.folds} folds per group (fixed seed), "
                              "each held out exactly once and never in the views it is scored "
                              "with; top-5 of the default recommender; nominal coverage 0.90"),
                 "groups": []}
    for metric, st in states.items():
        rows = [r for (m, _), part in zip(units, parts, strict=True) if m == metric for r in part]
        entry = report_group(metric, st["task_type"], rows, len(st["holdout"]),
                             min(args.folds, len(st["holdout"])))
        out["groups"].append(entry)
        print(json.dumps(entry), flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
