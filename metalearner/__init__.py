"""metakg meta-learner: meta-features, recommenders, their evaluation and exports."""

from metalearner.knowledge import MetaData, load_metadata, normalise_scores
from metalearner.recommend import (
    Evidence,
    Recommendation,
    RecommendationSet,
    recommend,
    recommend_for_query,
)
from metalearner.recommenders import (
    EnsembleRecommender,
    GraphRecommender,
    GreedyPortfolioRecommender,
    NearestDatasetsRecommender,
    Query,
    SingleBestRecommender,
    SurrogateRecommender,
    TextSimilarityRecommender,
)

__all__ = [
    "EnsembleRecommender",
    "Evidence",
    "GraphRecommender",
    "GreedyPortfolioRecommender",
    "MetaData",
    "NearestDatasetsRecommender",
    "Query",
    "Recommendation",
    "RecommendationSet",
    "SingleBestRecommender",
    "SurrogateRecommender",
    "TextSimilarityRecommender",
    "load_metadata",
    "normalise_scores",
    "recommend",
    "recommend_for_query",
]
