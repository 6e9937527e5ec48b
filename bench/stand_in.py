"""The recommender that the active-learning and weak-supervision benches refit many times on
partial or mixed-quality training views (``--recommender``).

- ``default``: the default :class:`~metakg.metalearner.recommender.MetaRecommender` with its
  metric's policy, ranking as it ships (the portfolio step). Two changes keep it to the
  benches: the policy's ``min_coverage`` is 0, because a partly run graph has no complete
  table (and a strategy that completes a few would otherwise drop the rest from training);
  and no expected-score model is fitted (the figures read the ranking only).
- ``weighted-ranker``: the default with its ranker learning weak runs' own scores weighted by
  their reliability (decision 0012: a measured gain, not adopted).
- ``former``: the lighter stand-in these benches used before the default changed: the former
  default's bagged surrogate (``bench/former_default/``, five members) with 100 trees per
  member instead of 300, ranking by its score.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from former_default import SurrogateRecommender

from metakg.metalearner.knowledge import MetaData, relative_scores, weak_cells
from metakg.metalearner.policy import Policy
from metakg.metalearner.recommender import MetaRecommender

#: trees per member of the former stand-in
N_ESTIMATORS = 100

RECOMMENDERS = {
    "default": "the default MetaRecommender (its metric's policy with min_coverage 0, no "
               "expected-score model), ranking as it ships",
    "weighted-ranker": "as 'default', but its ranker learns weak cells' own scores with their "
                       "reliability as the row's weight (decision 0012, not adopted)",
    "former": f"the former default's bagged surrogate (5 members, {N_ESTIMATORS} trees each "
              "instead of 300), ranking by its score",
}


class PartialGraphRecommender(MetaRecommender):
    """The default recommender as these benches refit it: no table left out for being
    sparse, no expected-score model."""

    def _policy_for(self, metric: str) -> Policy:
        policy = super()._policy_for(metric)
        return replace(policy, portfolio=replace(policy.portfolio, min_coverage=0.0))

    def _fit_score_model(self, meta: MetaData) -> None:
        return None


class ReliabilityWeightedRanker(PartialGraphRecommender):
    """The same, but its ranker learns weak cells' own relative scores with their
    reliability as the row's weight, instead of the scores shrunk towards the
    configuration's mean elsewhere (the portfolio step still reads the shrunk ones)."""

    def _fit_ranker(self, meta: MetaData, relative: pd.DataFrame) -> None:
        weak = weak_cells(meta)
        if weak is None:
            super()._fit_ranker(meta, relative)
            return
        own = relative_scores(replace(meta, reliability=None), floor=-1.0).reindex(
            index=relative.index, columns=relative.columns)
        super()._fit_ranker(meta, own, weak.reindex(index=own.index, columns=own.columns).fillna(1.0))


def fit_stand_in(meta: MetaData, seed: int, recommender: str = "default"
                 ) -> MetaRecommender | SurrogateRecommender:
    """A bench's recommender fitted on its training views.

    Args:
        meta: the training views (partly run, or with weak cells).
        seed: the recommender's random state.
        recommender: a key of :data:`RECOMMENDERS`.

    Returns:
        The fitted recommender.

    Raises:
        ValueError: an unknown ``recommender``.
    """
    if recommender not in RECOMMENDERS:
        raise ValueError(f"recommender must be one of {', '.join(RECOMMENDERS)}, not {recommender!r}")
    if recommender == "former":
        return SurrogateRecommender(n_estimators=N_ESTIMATORS, random_state=seed).fit(meta)
    if recommender == "weighted-ranker":
        return ReliabilityWeightedRanker(random_state=seed).fit(meta)
    return PartialGraphRecommender(random_state=seed).fit(meta)
