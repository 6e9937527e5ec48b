"""The former default recommender (decision 0005), kept as bench/lodo.py's reference row.

``SurrogatePortfolioRecommender`` (a bagged surrogate, a weighted greedy portfolio, probe
hedges and a regime re-choice within families) inside ``EnsembleRecommender``. It left the
package when ``MetaRecommender`` became the default (decision 0011); the benchmarks that
compare with it, or use its surrogate as a light stand-in, import it from here (``bench/`` is
on their path).
"""

from .ensemble import DEFAULT_WEIGHTS, EnsembleRecommender
from .regime_choice import FAMILY_REGIMES, rechoose_within_families, regime_kernel
from .surrogate import SurrogateRecommender, surrogate_target
from .surrogate_portfolio import SurrogatePortfolioRecommender

__all__ = [
    "DEFAULT_WEIGHTS",
    "FAMILY_REGIMES",
    "EnsembleRecommender",
    "SurrogatePortfolioRecommender",
    "SurrogateRecommender",
    "rechoose_within_families",
    "regime_kernel",
    "surrogate_target",
]
