"""Active learning: which missing (dataset, configuration) runs would teach the recommender most.

The default recommender ranks configurations with a bagged ranker
(:class:`~metalearner.ranker.Ranker` in :class:`~metalearner.recommender.MetaRecommender`:
several gradient-boosted models fitted with different seeds). Where its members
disagree about a configuration on a dataset, the graph does not know that configuration's
score there; a run answers it. A disagreement matters only if the answer can change what is
recommended, so each missing pair is scored by

``utility = disagreement × chance it enters the dataset's top k``

where the disagreement is the spread (standard deviation) of the members' predicted
relative scores (0 = the dataset's median configuration, 1 = its best) and the chance is
that of a normal with the members' mean and spread lying above the dataset's k-th best run
so far. A pair the members agree on, or one that cannot reach the top k, teaches little.

Each utility is then divided by the largest of its dataset (``per_dataset``), so that each
dataset's most useful missing runs come first whatever the scale of the members'
disagreement there; ranked on the raw utility, the proposals gather on the datasets where
the members disagree most, while the recommender is judged on new datasets.
``bench/active_learning_curve.py`` measures what acquiring runs in either order is worth
against acquiring them at random (docs/guide/active.md has the figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from scipy.special import ndtr

from metakg.kg.errors import InvalidData
from metakg.metalearner.knowledge import MetaData, relative_scores
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import BaseRecommender

__all__ = [
    "Candidate",
    "acquisition",
    "bag_of",
    "member_predictions",
    "missing_pairs",
    "propose",
]

#: The top k whose membership a run can change (best@5 is the benchmarks' main figure).
DEFAULT_K = 5
#: Smallest spread used for the chance (members that agree exactly are not certain).
MIN_SPREAD = 1e-3
#: Threshold when a dataset has fewer than k runs: the relative scores' floor, so any
#: configuration can enter its top k.
FLOOR = -1.0


@dataclass(frozen=True)
class Candidate:
    """A missing run, scored.

    Attributes:
        dataset_id, dataset: the dataset's id and name.
        config_id, family: the configuration.
        utility: ``disagreement × chance`` (divided by the largest on its dataset when
            proposed ``per_dataset``: 1 = the dataset's most useful missing run); higher first.
        disagreement: spread of the members' predicted relative scores.
        chance: probability (under the members' spread) that it enters the top k.
        predicted: the members' mean predicted relative score.
        threshold: the dataset's k-th best relative score so far.
        reason: one sentence saying why.
        raw_utility: ``disagreement × chance`` itself, whichever the order (NaN where a
            candidate is built without it).
    """

    dataset_id: str
    dataset: str
    config_id: str
    family: str
    utility: float
    disagreement: float
    chance: float
    predicted: float
    threshold: float
    reason: str
    raw_utility: float = float("nan")


class Bagged(Protocol):
    """A fitted bag of models that rank the same candidates: the default recommender (or a
    benchmark's stand-in with the same two members)."""

    config_ids_: list[str]

    def bag_predictions(self, metafeatures: Mapping[str, float | None]) -> np.ndarray: ...


def bag_of(recommender: BaseRecommender) -> MetaRecommender:
    """The bagged model whose members disagree: the fitted default recommender itself.

    Args:
        recommender: a fitted :class:`MetaRecommender` (its ranker is a bag of models).

    Returns:
        The recommender.

    Raises:
        InvalidData: the recommender has no bag of models (nothing to disagree).
    """
    if not isinstance(recommender, MetaRecommender) or not hasattr(recommender, "ranker_"):
        raise InvalidData(f"{type(recommender).__name__} has no fitted bag of ranking models to "
                          "measure disagreement with; use the default recommender.")
    return recommender


def member_predictions(bag: Bagged, metafeatures: Mapping[str, float | None]) -> np.ndarray:
    """Each bagged member's predicted relative score of every configuration on a table.

    Args:
        bag: a fitted bag of models with ``config_ids_`` and ``bag_predictions`` (the default
            recommender, :meth:`~metalearner.recommender.MetaRecommender.bag_predictions`).
        metafeatures: the table's meta-features.

    Returns:
        members × configurations (``bag.config_ids_`` order), relative scale.
    """
    return bag.bag_predictions(metafeatures)


def acquisition(members: np.ndarray, observed: np.ndarray, k: int = DEFAULT_K
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Utility of running each configuration on one dataset.

    Args:
        members: members × configurations of predicted relative scores.
        observed: per configuration, its relative score on the dataset (NaN: not run).
        k: the top k a run must be able to enter.

    Returns:
        (utility, disagreement, chance, mean, threshold): arrays per configuration (utility
        NaN where the configuration was run) and the dataset's k-th best score so far.
    """
    seen = np.sort(observed[~np.isnan(observed)])[::-1]
    threshold = float(seen[k - 1]) if len(seen) >= k else FLOOR
    mean = members.mean(axis=0)
    spread = members.std(axis=0)
    chance = ndtr((mean - threshold) / np.maximum(spread, MIN_SPREAD))
    utility = np.where(np.isnan(observed), spread * chance, np.nan)
    return utility, spread, chance, mean, threshold


def missing_pairs(meta: MetaData) -> pd.DataFrame:
    """Which (dataset, configuration) pairs have no run in the views (failed runs count as
    run: their answer is known)."""
    return meta.raw.isna() & meta.norm.isna()


def _reason(c: str, family: str, dataset: str, spread: float, chance: float, mean: float,
            threshold: float, k: int) -> str:
    where = ("it is predicted within the top" if mean >= threshold
             else f"a {chance:.0%} chance it enters the top")
    if threshold == FLOOR:  # fewer than k runs: no k-th best score to beat, only the floor
        return (f"the recommender's models disagree by {spread:.2f} on {family} {c[:8]} for "
                f"{dataset} (predicted {mean:+.2f}); {dataset} has fewer than {k} runs, so any "
                f"configuration enters its top {k}")
    return (f"the recommender's models disagree by {spread:.2f} on {family} {c[:8]} for {dataset} "
            f"(predicted {mean:+.2f}, the {_ordinal(k)} best run so far {threshold:+.2f}); "
            f"{where} {k}")


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def propose(meta: MetaData, bag: Bagged, *, budget: int = 10,
            datasets: Sequence[str] | None = None, k: int = DEFAULT_K,
            per_dataset: bool = True) -> list[Candidate]:
    """The missing runs expected to improve the recommendations most, best first.

    Args:
        meta: the views the bag was fitted on.
        bag: the fitted default recommender (:func:`bag_of`), or a bag like it.
        budget: how many to return.
        datasets: only these dataset ids (default: every dataset of the views).
        k: the top k a run must be able to enter.
        per_dataset: rank by the utility divided by the largest of its dataset (each
            dataset's most useful runs first; the default); ``False``: by the raw utility.

    Returns:
        Up to ``budget`` candidates, by utility (ties: raw utility, dataset, then
        configuration id).

    Raises:
        InvalidData: ``budget`` below 1, or a dataset id not in the views.
    """
    if budget < 1:
        raise InvalidData(f"budget must be at least 1, got {budget}.")
    chosen = list(meta.datasets) if datasets is None else list(datasets)
    unknown = [d for d in chosen if d not in meta.raw.index]
    if unknown:
        raise InvalidData(f"No {meta.task_type} runs of dataset(s) {', '.join(unknown)} in the "
                          "graph's views; run at least one configuration on it first.")
    missing = missing_pairs(meta)
    relative = relative_scores(meta, floor=FLOOR, datasets=chosen)
    configs = list(bag.config_ids_)
    out: list[Candidate] = []
    for d in chosen:
        gaps = missing.loc[d].reindex(configs, fill_value=False).to_numpy()
        if not gaps.any():
            continue
        members = member_predictions(bag, meta.metafeatures.loc[d].to_dict())
        observed = relative.loc[d].reindex(configs).to_numpy(dtype=float)
        observed = np.where(gaps, np.nan, np.nan_to_num(observed, nan=FLOOR))
        utility, spread, chance, mean, threshold = acquisition(members, observed, k)
        top = float(np.nanmax(utility[gaps]))
        scale = top if per_dataset and top > 0 else 1.0
        name = meta.names.get(d, d)
        for j in np.flatnonzero(gaps):
            c = configs[j]
            family = meta.families.get(c, "")
            out.append(Candidate(
                dataset_id=d, dataset=name, config_id=c, family=family,
                utility=float(utility[j]) / scale, disagreement=float(spread[j]),
                chance=float(chance[j]), predicted=float(mean[j]), threshold=threshold,
                reason=_reason(c, family, name, spread[j], chance[j], mean[j], threshold, k)
                + (f"; {utility[j] / scale:.0%} of the most useful missing run's utility there"
                   if per_dataset else ""),
                raw_utility=float(utility[j])))
    out.sort(key=lambda c: (-c.utility, -c.raw_utility, c.dataset_id, c.config_id))
    return out[:budget]
