"""Explanations that read this table's scale: evidence in its units, and why the rank order
departs from the expected scores.

Two things of a recommendation are on different footings: its rank comes from the ranking
step (a first pick, then a set chosen to be good as a whole: a later pick covers tables where
earlier ones fall short), its expected score from the score model of each configuration alone.
Where they disagree the reason says so, with the runs that make the difference. And a similar
dataset's raw score (a tic-tac-toe ROC AUC of 0.99) means little on this table's scale: each
evidence row is also placed on it.

**Relative standing** of a configuration on a dataset: ``(score − median) / (best − median)``
of that dataset's configurations (0 = its median, 1 = its best, direction-aware; the scale of
:func:`~metalearner.knowledge.relative_scores`, from the run's own score), floored at −1 (a
collapse counts as one median-to-best gap below the median).

**This table's scale** (:class:`TableScale`): its expected median and best score, the median
and the best of the score model's expected scores of every configuration on it; without an
active score model, the similarity-weighted mean of the most similar datasets' medians and
bests (on this target's scale for a measure in the target's units). A relative standing ``r``
is placed on it as ``median + r × (best − median)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metakg.metalearner.knowledge import MetaData, scale_anchors

__all__ = ["FLOOR", "TableScale", "anchors", "order_clauses", "relative_standing", "standings",
           "table_scale"]

#: Relative standings are floored here: one median-to-best gap below the median.
FLOOR = -1.0


@dataclass(frozen=True)
class TableScale:
    """This table's expected median and best score (where standings 0 and 1 fall).

    Attributes:
        median: the expected score of its median configuration.
        best: the expected score of its best configuration.
        source: ``model`` (the score model's expected scores of every configuration) or
            ``neighbours`` (the similar datasets' medians and bests, similarity-weighted).
    """

    median: float
    best: float
    source: str

    def place(self, relative: np.ndarray | float) -> np.ndarray | float:
        """Relative standings placed on this table's scale (floored at :data:`FLOOR`)."""
        return self.median + np.maximum(relative, FLOOR) * (self.best - self.median)

    @property
    def gap(self) -> float:
        """The median-to-best gap in this table's units (never negative)."""
        return abs(self.best - self.median)


def anchors(meta: MetaData) -> pd.DataFrame:
    """Per dataset, its median and best raw score (:func:`~metalearner.knowledge.scale_anchors`,
    cached on the views, which are not changed once built)."""
    memo = meta.__dict__.setdefault("_memo_explanations", {})
    if "anchors" not in memo:
        memo["anchors"] = scale_anchors(meta)
    return memo["anchors"]


def relative_standing(raw: np.ndarray, median: np.ndarray, best: np.ndarray) -> np.ndarray:
    """``(raw − median) / (best − median)`` floored at :data:`FLOOR` (1 where the best equals
    the median; NaN where ``raw`` is NaN). The arguments broadcast."""
    with np.errstate(all="ignore"):
        rel = np.where(best == median, 1.0, (raw - median) / (best - median))
    return np.where(np.isnan(raw) | np.isnan(rel), np.nan, np.maximum(rel, FLOOR))


def standings(meta: MetaData, dataset_ids: list[str], config_ids: list[str]) -> np.ndarray:
    """Relative standing of each configuration on each dataset, floored at :data:`FLOOR`.

    Args:
        meta: the views.
        dataset_ids: rows (datasets not in the views give NaN rows).
        config_ids: columns (configurations not in the views give NaN columns).

    Returns:
        datasets × configurations; NaN where the configuration has no score (not run, or
        failed). A dataset whose best equals its median gives 1 to every score.
    """
    raw = meta.raw.reindex(index=dataset_ids, columns=config_ids).to_numpy(dtype=float)
    ends = anchors(meta).reindex(dataset_ids)
    return relative_standing(raw, ends["median"].to_numpy(dtype=float)[:, None],
                             ends["best"].to_numpy(dtype=float)[:, None])


def table_scale(meta: MetaData, *, higher: bool, expected: pd.Series | None,
                neighbours: pd.Series, rescale: np.ndarray) -> TableScale | None:
    """This table's scale (see the module docstring).

    Args:
        meta: the views.
        higher: whether a higher score is better for the query's metric.
        expected: the score model's expected score of every configuration on this table
            (``None`` or fewer than two finite values: no model to read it from).
        neighbours: the most similar datasets → similarity.
        rescale: per neighbour, the factor that puts its scores on this table's scale (this
            target's standard deviation over theirs for a measure in the target's units, else
            1; NaN where unknown).

    Returns:
        The scale, or ``None`` where neither source gives one (e.g. an RMSE without this
        target's spread) or the one it gives has no width (best = median).
    """
    if expected is not None:
        values = expected.to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if values.size >= 2:
            best = float(values.max() if higher else values.min())
            if best != float(np.median(values)):  # a zero-width scale says nothing
                return TableScale(float(np.median(values)), best, "model")
    ends = anchors(meta).reindex([str(d) for d in neighbours.index])
    w = neighbours.to_numpy(dtype=float)
    med = ends["median"].to_numpy(dtype=float) * rescale
    best = ends["best"].to_numpy(dtype=float) * rescale
    known = np.isfinite(med) & np.isfinite(best)
    if not known.any():
        return None
    weights = w[known] + 1e-12
    median, top = (float(np.average(med[known], weights=weights)),
                   float(np.average(best[known], weights=weights)))
    return TableScale(median, top, "neighbours") if top != median else None


def _shown(x: float) -> float:
    """A score as the reason prints it (4 significant digits): orders are compared so."""
    return float(f"{x:.4g}")


def _listed(parts: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _refs(ranks: list[int], expected: list[float | None]) -> str:
    """``#3 and #4 (expected 0.7915, 0.792)``."""
    return (_listed([f"#{r}" for r in ranks]) + " (expected "
            + ", ".join(f"{expected[r - 1]:.4g}" for r in ranks) + ")")


def _amount(diff: float, scale: TableScale | None) -> str:
    """A difference of relative standings in this table's units (or, without a scale, in
    median-to-best gaps)."""
    if scale is not None:
        return f"{diff * scale.gap:.2g}"
    return f"{diff:.2g} of a median-to-best gap"


def order_clauses(expected: list[float | None], rel: np.ndarray, names: list[str], *,
                  higher: bool, scale: TableScale | None) -> list[str | None]:
    """Per recommendation (in rank order), why it ranks above one with a better expected
    score, or below one with a worse (``None`` where the order agrees with the expected
    scores as printed, to 4 significant digits).

    Above: the similar datasets on which it is the best of the recommended set, and how much
    worse each better-expected one below it scores there (or, where it is the best on none,
    on how many it beats each of them, and by how much on average). Below: how much it adds,
    on average over the similar datasets, to the best of the picks above it.

    Args:
        expected: each recommendation's expected score, in rank order (``None``: unknown).
        rel: the most similar datasets × the recommendations, relative standings
            (:func:`standings`; NaN where not run).
        names: the datasets' names (rows of ``rel``).
        higher: whether a higher score is better.
        scale: this table's scale (differences are given in its units), or ``None``.

    Returns:
        One clause or ``None`` per recommendation.
    """
    k, n_tables = len(expected), len(names)
    units = " on this table's scale" if scale is not None else ""
    out: list[str | None] = [None] * k

    def better(a: float | None, b: float | None) -> bool:
        if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)):
            return False
        return _shown(a) > _shown(b) if higher else _shown(a) < _shown(b)

    filled = np.where(np.isnan(rel), -np.inf, rel)
    for i in range(k):
        parts: list[str] = []
        over = [j for j in range(i + 1, k) if better(expected[j], expected[i])]
        under = [j for j in range(i) if better(expected[i], expected[j])]
        if over:
            parts.append(f"ranked above {_refs([j + 1 for j in over], expected)}: "
                         + _above(i, over, rel, filled, names, scale, units))
        if under:
            parts.append(f"ranked below {_refs([j + 1 for j in under], expected)}: "
                         + _below(i, rel, names, n_tables, scale, units))
        out[i] = "; ".join(parts) or None
    return out


def _above(i: int, over: list[int], rel: np.ndarray, filled: np.ndarray, names: list[str],
           scale: TableScale | None, units: str) -> str:
    """Why pick ``i`` is above the better-expected picks ``over``."""
    k, n_tables = rel.shape[1], len(names)
    others = np.delete(filled, i, axis=1)
    wins = np.isfinite(filled[:, i]) & (filled[:, i] > others.max(axis=1, initial=-np.inf) + 1e-9)
    if wins.any():
        where = [names[t] for t in np.flatnonzero(wins)]
        gaps = []
        for n, j in enumerate(over):
            diff = rel[wins, i] - rel[wins, j]
            diff = diff[np.isfinite(diff)]
            gaps.append(f"#{j + 1} has no run" if diff.size == 0 else
                        f"#{j + 1}{' is' if n == 0 else ''} {_amount(float(diff.mean()), scale)}")
        return (f"best of these {k} on {len(where)} of the {n_tables} most similar datasets "
                f"({', '.join(where[:3])}), where {_listed(gaps)} worse{units}")
    beats = []
    for j in over:
        both = np.isfinite(rel[:, i]) & np.isfinite(rel[:, j])
        ahead = both & (rel[:, i] > rel[:, j] + 1e-9)
        if ahead.any():
            diff = float((rel[ahead, i] - rel[ahead, j]).mean())
            beats.append(f"#{j + 1} on {int(ahead.sum())} of the {n_tables} most similar datasets "
                         f"by {_amount(diff, scale)} on average")
    if beats:
        return "beats " + _listed(beats) + units
    return (f"they do at least as well on each of the {n_tables} most similar datasets that ran "
            "both; the order is the ranking step's estimate for this table, not the score "
            "model's")


def _below(i: int, rel: np.ndarray, names: list[str], n_tables: int,
           scale: TableScale | None, units: str) -> str:
    """What pick ``i`` adds to the picks above it on the similar datasets."""
    above = np.where(np.isnan(rel[:, :i]), -np.inf, rel[:, :i]).max(axis=1)
    known = np.isfinite(rel[:, i]) & np.isfinite(above)
    if not known.any():
        return "the similar datasets hold no run of it and of the picks above it together"
    gain = np.maximum(rel[known, i] - above[known], 0.0)
    helped = [names[t] for t, g in zip(np.flatnonzero(known), gain, strict=True) if g > 1e-9]
    used = int(known.sum())
    over = (f"the {n_tables} most similar datasets" if used == n_tables else
            f"the {used} of the {n_tables} most similar datasets that ran them all")
    if not helped:
        return f"the picks above it do at least as well on each of {over}"
    return (f"adds {_amount(float(gain.mean()), scale)} on average{units} to the best of the "
            f"picks above it over {over}, beating them all on {len(helped)} "
            f"({', '.join(helped[:3])})")
