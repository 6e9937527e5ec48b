"""How often a recommendation's interval contains the held-out dataset's true score.

Leave-one-dataset-out as in ``bench/lodo.py`` (same groups, views and held-out datasets):
for each held-out dataset, ``recommend_for_query`` on the views without it (the default
recommender, k = 5), then each recommendation's ``interval`` against the configuration's true
score on the held-out dataset. For log loss and RMSE the expected score and interval come
from the score model (``metalearner.score_model``), and the same recommendations'
neighbour-based ones (the similarity-weighted mean and the range of the configuration's scores
on the most similar datasets, as for the other metrics) are the baseline measured in the same
run. A measure in the target's units (RMSE) is put on the held-out table's scale by its target
standard deviation (read from its table in ``$METAKG_SHARED``, as ``recommend()`` does); its
rows also say how far off the similar datasets' own RMSEs (no rescaling) would be.

    python bench/interval_coverage.py --store <seed store> [--jobs 2]
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metakg.kg.ingest import read_manifest
from metakg.kg.measures import IN_TARGET_UNITS, target_scale
from metakg.kg.tables import read_table
from metakg.metalearner.recommend import recommend_for_query
from metakg.metalearner.recommenders import EnsembleRecommender, Query

SHARED = Path(os.environ.get("METAKG_SHARED", "../shared/datasets"))
#: regression table name → its target's standard deviation (set before the workers fork)
_TARGET_SD: dict[str, float] = {}


def _target_sds() -> dict[str, float]:
    """Each shared regression table's target standard deviation, as ``recommend()`` takes it."""
    out = {}
    for row in read_manifest(SHARED / "manifest.csv"):
        if row["task"] == "regression":
            out[row["name"]] = target_scale(read_table(SHARED / row["file"])[row["target"]])
    return out


def _one(d: str) -> list[dict]:
    from lodo import held_out_state

    meta, related, second = held_out_state()
    train = meta.without(d, *related.get(d, [])).drop(second)
    query = Query(metafeatures=meta.metafeatures.loc[d].to_dict(), embedding=meta.embeddings.get(d),
                  target_sd=_TARGET_SD.get(meta.names.get(d, "")))
    rec = EnsembleRecommender().fit(train)
    recs, _ = recommend_for_query(train, query, k=5, recommender=rec)
    # the baseline, same recommendations: the similar datasets' mean and range, which is what
    # a recommendation shows where no score model covers its metric
    rec.score_model_ = None
    plain, _ = recommend_for_query(train, query, k=5, recommender=rec)
    rows = []
    for r, p in zip(recs, plain, strict=True):
        truth = float(meta.raw.loc[d, r.config_id])
        # what the nearest datasets' own scores were, whether or not the recommendation shows them
        scores = [e.score for e in r.evidence if e.score is not None]
        row = {"dataset": d, "rank": r.rank, "truth": truth, "expected": r.expected_score,
               "lo": r.interval[0] if r.interval else None, "hi": r.interval[1] if r.interval else None,
               "evidence_median": float(np.median(scores)) if scores else None,
               "plain_expected": p.expected_score,
               "plain_lo": p.interval[0] if p.interval else None,
               "plain_hi": p.interval[1] if p.interval else None}
        rows.append(row)
    return rows


def _quality(df: pd.DataFrame, expected: str, lo: str, hi: str) -> dict[str, float]:
    """Coverage, width and error of one way of giving expected scores and intervals."""
    inside = (df["truth"] >= df[lo]) & (df["truth"] <= df[hi])
    return {"inside": round(float(inside.mean()), 3),
            "inside_top1": round(float(inside[df["rank"] == 1].mean()), 3),
            "median_width": round(float((df[hi] - df[lo]).median()), 4),
            "median_abs_error": round(float((df["truth"] - df[expected]).abs().median()), 4)}


def main() -> None:
    from lodo import held_out_arguments, map_held_out  # the protocol of bench/lodo.py (this folder)

    args = held_out_arguments("bench/results/interval_coverage.json", __doc__).parse_args()
    warnings.filterwarnings("ignore")
    _TARGET_SD.update(_target_sds())
    out: dict = {"groups": []}
    t0 = time.perf_counter()
    for task_type, metric, holdout, rows in map_held_out(_one, args):
        df = pd.DataFrame(rows)
        group = {"task_type": task_type, "metric": metric, "datasets": len(holdout),
                 "recommendations": len(df)}
        group.update(_quality(df, "expected", "lo", "hi"))
        if not df["expected"].equals(df["plain_expected"]):  # a score model made these
            group["expected_from"] = "score model"
            group["neighbours_baseline"] = _quality(df, "plain_expected", "plain_lo", "plain_hi")
        if metric in IN_TARGET_UNITS:  # a ratio says more than an error in mixed units

            def off(estimate: pd.Series) -> dict[str, float]:
                ratio = (estimate / df["truth"]).replace([np.inf, -np.inf], np.nan).dropna()
                return {"median": round(float(ratio.median()), 3),
                        "share_off_by_2x_or_more": round(float(((ratio >= 2) | (ratio <= 0.5)).mean()), 3),
                        "share_within_25pct": round(float(((ratio >= 0.8) & (ratio <= 1.25)).mean()), 3)}

            group.update({"with_interval": int(df["lo"].notna().sum()),
                          "expected_over_truth": off(df["expected"]),
                          "neighbours_median_over_truth": off(df["evidence_median"])})
            if "neighbours_baseline" in group:
                group["neighbours_expected_over_truth"] = off(df["plain_expected"])
        out["groups"].append(group)
        print(json.dumps(group), flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
