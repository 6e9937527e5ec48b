"""Recommendations restricted to one family (a tuner's warm start), leave-one-dataset-out.

A tuner searches one family (Optuna over LightGBM, FLAML's estimators, ...), so what it is
warm-started with is metakg's recommendation *among that family's configurations*
(``recommend(..., families=[...])``). Two ways to choose them, same fitted default
recommender, same protocol as ``bench/lodo.py`` (held-out dataset, its runs and everything
derived from it or from the same table left out; training views as ``recommend()`` builds them):

- **filtered**: the family's configurations in the order of the portfolio over all families
  (``score(query)`` restricted afterwards), for comparison;
- **among**: the first choice and the greedy portfolio made among the family's configurations
  (``score_among(query, candidates)``, what ``recommend`` does now).

Reported per family and per group: the best of the top 1 / 3 / 5 on the held-out dataset
(normalised against its median configuration over *all* families: 0 = median, 1 = best
configuration of any family), with the family's own best (oracle) and the mean best of 5 random
configurations of the family for scale.

Usage: python bench/lodo_families.py --store <store loaded from data/seed.trig.xz> [--jobs 2]
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from metakg.metalearner.evaluation import normalised_against_median
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import Query

#: The families tuners are warm-started for (Optuna / FLAML / SMAC / Ray Tune searches).
FAMILIES = ("lightgbm", "xgboost", "catboost", "hist_gradient_boosting", "random_forest",
            "extra_trees", "mlp", "svm", "linear", "knn")
KS = (1, 3, 5)


def _one(d: str) -> list[dict]:
    from lodo import held_out_state

    meta, related, second = held_out_state()
    train = meta.without(d, *related.get(d, [])).drop(second)
    truth = normalised_against_median(meta, d)
    query = Query(metafeatures=meta.metafeatures.loc[d].to_dict())
    rec = MetaRecommender().fit(train)
    everything = rec.score(query)
    rows = []
    rng = np.random.default_rng(0)
    for family in FAMILIES:
        cands = train.norm.columns[[train.families.get(c) == family and c in truth.index
                                    and not np.isnan(truth[c]) for c in train.norm.columns]]
        if len(cands) < 2 * max(KS):
            continue
        t = truth[cands]
        row = {"dataset": d, "family": family, "n": len(cands), "oracle": float(t.max()),
               "random@5": float(np.mean([t.iloc[rng.permutation(len(t))[:5]].max()
                                          for _ in range(200)]))}
        for name, scores in (("filtered", everything.reindex(cands)),
                             ("among", rec.score_among(query, cands))):
            order = scores.sort_values(ascending=False, kind="stable").index
            for k in KS:
                row[f"{name}@{k}"] = float(t[order[:k]].max())
        rows.append(row)
    return rows


def main() -> None:
    # the held-out datasets and views of bench/lodo.py (this folder)
    from lodo import held_out_arguments, map_held_out

    args = held_out_arguments("bench/results/lodo_families.json").parse_args()
    warnings.filterwarnings("ignore")
    out: dict = {"groups": []}
    t0 = time.perf_counter()
    for task_type, metric, holdout, rows in map_held_out(_one, args):
        df = pd.DataFrame(rows)
        cols = ["oracle", "random@5"] + [f"{n}@{k}" for n in ("filtered", "among") for k in KS]
        by_family = df.groupby("family")[cols].mean().round(4)
        overall = df[cols].mean().round(4)
        out["groups"].append({"task_type": task_type, "metric": metric, "datasets": len(holdout),
                              "by_family": by_family.to_dict(orient="index"),
                              "all": overall.to_dict()})
        print(f"{task_type} / {metric}: {len(holdout)} datasets\n{by_family.to_string()}\n"
              f"all families: {overall.to_dict()}", flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
