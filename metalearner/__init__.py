"""metakg meta-learner: meta-features, recommenders, their evaluation and exports."""

from metakg.metalearner.features import FeatureBuilder
from metakg.metalearner.knowledge import (
    MetaData,
    learning_targets,
    load_metadata,
    normalise_scores,
    relative_scores,
    scale_anchors,
    with_auxiliary,
)
from metakg.metalearner.policy import Policy, load_policy
from metakg.metalearner.portfolio_step import Portfolio
from metakg.metalearner.ranker import Ranker
from metakg.metalearner.recommend import (
    Evidence,
    Recommendation,
    RecommendationSet,
    recommend,
    recommend_for_query,
)
from metakg.metalearner.recommender import MetaRecommender
from metakg.metalearner.recommenders import (
    GraphRecommender,
    GreedyPortfolioRecommender,
    LocalPortfolioRecommender,
    NearestDatasetsRecommender,
    Query,
    SingleBestRecommender,
    TextSimilarityRecommender,
)
from metakg.metalearner.score_model import ScoreModel

__all__ = [
    "Evidence",
    "FeatureBuilder",
    "GraphRecommender",
    "GreedyPortfolioRecommender",
    "LocalPortfolioRecommender",
    "MetaData",
    "MetaRecommender",
    "NearestDatasetsRecommender",
    "Policy",
    "Portfolio",
    "Query",
    "Ranker",
    "Recommendation",
    "RecommendationSet",
    "ScoreModel",
    "SingleBestRecommender",
    "TextSimilarityRecommender",
    "learning_targets",
    "load_metadata",
    "load_policy",
    "normalise_scores",
    "recommend",
    "recommend_for_query",
    "relative_scores",
    "scale_anchors",
    "with_auxiliary",
]
