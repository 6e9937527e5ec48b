"""Leave-one-dataset-out evaluation of recommenders on the graph's performance matrix."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData, relative_scores
from metakg.metalearner.recommenders.base import BaseRecommender, Query

__all__ = ["lodo", "normalised_against_median", "same_table", "summarise", "win_rates"]

#: Column-name overlap (Jaccard, targets excluded) from which two datasets count as the same
#: table under another target: heart.c and the cleveland regression table share every column.
SAME_TABLE_JACCARD = 0.5


def same_table(columns: Mapping[str, set[str]], *,
               min_jaccard: float = SAME_TABLE_JACCARD) -> dict[str, list[str]]:
    """Datasets that are (nearly) the same table as each other, by their feature columns.

    Leave-one-dataset-out must hold such a pair out together: a binary task derived from the
    cleveland regression table is heart.c's table with another target, and learning from it
    would be learning from the held-out dataset itself.

    Args:
        columns: dataset id → its feature column names (target excluded), compared
            case-insensitively.
        min_jaccard: least share of shared names (intersection over union).

    Returns:
        dataset id → the other datasets at or above ``min_jaccard`` (absent: none).
    """
    lower = {d: {c.lower() for c in cols} for d, cols in columns.items()}
    out: dict[str, list[str]] = {}
    ids = sorted(lower)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            union = lower[a] | lower[b]
            if union and len(lower[a] & lower[b]) / len(union) >= min_jaccard:
                out.setdefault(a, []).append(b)
                out.setdefault(b, []).append(a)
    return out


def normalised_against_median(meta: MetaData, dataset: str) -> pd.Series:
    """A dataset's raw scores rescaled so that 0 is its median configuration and 1 its best
    (direction-aware). Failed configurations count as its worst score; configurations not
    run on it are left out."""
    return relative_scores(meta, datasets=[dataset]).loc[dataset].dropna()


def lodo(
    meta: MetaData,
    recommenders: Mapping[str, Callable[[], BaseRecommender]],
    *,
    ks: tuple[int, ...] = (1, 3, 5, 10, 25),
    progress: bool = True,
    holdout: list[str] | None = None,
    related: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Hold each dataset out (its runs and meta-features, and the datasets derived from it),
    fit, recommend, read its true scores.

    Args:
        meta: the views.
        recommenders: name → a function making an unfitted recommender.
        ks: the k of best@k.
        progress: show a progress bar.
        holdout: datasets to hold out (default: every one not derived from another).
        related: dataset → datasets left out with it (:func:`same_table`).

    Returns:
        One row per (recommender, dataset): ``top`` (the ranked configuration ids that have
        a known result on the dataset) and ``best@k`` (best normalised score in the top k).
    """
    from rich.progress import track

    rows = []
    for d in track(holdout or meta.originals, description="leave-one-dataset-out",
                   disable=not progress):
        train = meta.without(d, *(related or {}).get(d, []))
        truth = normalised_against_median(meta, d)
        query = Query(metafeatures=meta.metafeatures.loc[d].to_dict(),
                      embedding=meta.embeddings.get(d))
        for name, make in recommenders.items():
            rec = make().fit(train)
            scores = rec.score(query).reindex(truth.index).dropna()
            ranked = scores.sort_values(ascending=False, kind="stable").index.tolist()
            row: dict[str, object] = {"recommender": name, "dataset": d,
                                      "name": meta.names.get(d, d), "top": ranked[:max(ks)]}
            for k in ks:
                row[f"best@{k}"] = float(truth[ranked[:k]].max())
            rows.append(row)
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame, ks: tuple[int, ...] = (1, 3, 5, 10, 25)) -> pd.DataFrame:
    """Mean and median of best@k per recommender."""
    cols = [f"best@{k}" for k in ks]
    agg = results.groupby("recommender")[cols].agg(["mean", "median"])
    return agg.round(3)


def win_rates(results: pd.DataFrame, meta: MetaData, method: str,
              baselines: Mapping[str, Callable[[str], str | None]]) -> pd.Series:
    """Share of datasets where ``method``'s top-1 is at least as good as each baseline's
    choice (a function of the dataset id returning a configuration id)."""
    out = {}
    mine = results[results["recommender"] == method].set_index("dataset")
    for name, choose in baselines.items():
        wins, n = 0, 0
        for d, row in mine.iterrows():
            truth = normalised_against_median(meta, d)
            other = choose(d)
            if other is None or other not in truth.index or not row["top"]:
                continue
            n += 1
            wins += truth[row["top"][0]] >= truth[other] - 1e-12
        out[name] = wins / n if n else np.nan
    return pd.Series(out)
