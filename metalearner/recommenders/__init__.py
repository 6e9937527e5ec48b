"""Recommenders: fit on the graph's views, score configurations for a new task."""

from metakg.metalearner.recommenders.base import BaseRecommender, Query
from metakg.metalearner.recommenders.graph_ppr import GraphRecommender
from metakg.metalearner.recommenders.landmark_contrasts import LANDMARK_CONTRASTS, landmark_contrasts
from metakg.metalearner.recommenders.local_portfolio import LocalPortfolioRecommender
from metakg.metalearner.recommenders.nearest import NearestDatasetsRecommender
from metakg.metalearner.recommenders.portfolio import GreedyPortfolioRecommender, SingleBestRecommender
from metakg.metalearner.recommenders.probe_contrasts import (
    FAMILY_PROBE_GROUPS,
    FAMILY_PROBES,
    HEDGE_PROBES,
    PROBE_FEATURES,
    family_gap_columns,
    family_probe_gaps,
    near_best_probes,
    probe_features,
)
from metakg.metalearner.recommenders.regime_contrasts import (
    REGIME_CONTRASTS,
    REGIME_FEATURES,
    query_with_regime_contrasts,
    with_regime_contrasts,
)
from metakg.metalearner.recommenders.text import TextSimilarityRecommender

__all__ = [
    "FAMILY_PROBES",
    "FAMILY_PROBE_GROUPS",
    "HEDGE_PROBES",
    "LANDMARK_CONTRASTS",
    "PROBE_FEATURES",
    "REGIME_CONTRASTS",
    "REGIME_FEATURES",
    "BaseRecommender",
    "GraphRecommender",
    "GreedyPortfolioRecommender",
    "LocalPortfolioRecommender",
    "NearestDatasetsRecommender",
    "Query",
    "SingleBestRecommender",
    "TextSimilarityRecommender",
    "family_gap_columns",
    "family_probe_gaps",
    "landmark_contrasts",
    "near_best_probes",
    "probe_features",
    "query_with_regime_contrasts",
    "with_regime_contrasts",
]
