"""Policies: what differs between metrics, as versioned data rather than code branches.

One JSON file per metric in ``metalearner/policies/`` (``default.json`` for any other) says
which table features the ranker reads, how the ranker is fitted and the portfolio step's
constraints. Each file names the benchmark that chose it; a change to a file is a change to
the recommender and follows the same acceptance rule (docs/decisions/0011).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["FEATURE_GROUPS", "Policy", "PortfolioPolicy", "RankerPolicy", "load_policy"]

#: Table feature groups a policy may name (:class:`~metalearner.features.FeatureBuilder`).
FEATURE_GROUPS = ("base", "landmark_contrasts", "probes", "family_probe_gaps", "regimes")


@dataclass(frozen=True)
class RankerPolicy:
    """How the ranker is fitted (:class:`~metalearner.ranker.Ranker`)."""

    temperature: float = 2.0
    n_bags: int = 5
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31


@dataclass(frozen=True)
class PortfolioPolicy:
    """The portfolio step's constraints (:class:`~metalearner.portfolio_step.Portfolio`).

    ``incumbent`` is the configuration kept first unless another is expected to beat it by
    ``margin``: a family's default (``hist_gradient_boosting``) or a published configuration
    by name (``catboost-default``), where it is a candidate.
    """

    tau: float = 10.0
    first_blend: float = 0.5
    prediction_weight: float = 0.0
    incumbent: str | None = "hist_gradient_boosting"
    margin: float = 0.3
    max_collapse_risk: float | None = 0.02
    min_coverage: float = 0.5
    cover_families: int = 0
    cover_within: float | None = None
    auxiliary: bool = False


@dataclass(frozen=True)
class Policy:
    """A metric's policy: feature groups, ranker and portfolio settings, and provenance."""

    metric: str = "*"
    version: int = 1
    features: tuple[str, ...] = ("base",)
    ranker: RankerPolicy = field(default_factory=RankerPolicy)
    portfolio: PortfolioPolicy = field(default_factory=PortfolioPolicy)
    chosen_by: str = ""
    task: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.features) - set(FEATURE_GROUPS)
        if unknown or "base" not in self.features:
            raise ValueError(f"policy for {self.metric}: features must include 'base' and be "
                             f"among {', '.join(FEATURE_GROUPS)} (unknown: {sorted(unknown)})")
        p = self.portfolio
        if not 0.0 <= p.first_blend <= 1.0 or not 0.0 <= p.prediction_weight < 1.0:
            raise ValueError(f"policy for {self.metric}: first_blend must be in [0, 1] and "
                             "prediction_weight in [0, 1)")
        if self.ranker.n_bags < 1 or p.tau < 0 or p.cover_families < 0:
            raise ValueError(f"policy for {self.metric}: n_bags >= 1, tau >= 0 and "
                             "cover_families >= 0 are required")
        if p.incumbent is not None:
            from metakg.kg.published import published_configurations
            from metakg.kg.spaces import FAMILIES

            if p.incumbent not in FAMILIES and p.incumbent not in {
                    c.name for c in published_configurations()}:
                raise ValueError(
                    f"policy for {self.metric}: incumbent {p.incumbent!r} is neither a family "
                    f"({', '.join(FAMILIES)}) nor a published configuration's name "
                    "(kg/resources/published_configurations.json)")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Policy:
        """Build a policy from its JSON form, refusing unknown keys (a typo must not pass
        silently as a default).

        Raises:
            ValueError: an unknown key or an invalid value.
        """
        def pick(kind: type, values: dict[str, Any], where: str) -> Any:
            names = {f.name for f in fields(kind)}
            extra = set(values) - names
            if extra:
                raise ValueError(f"unknown {where} setting(s) {sorted(extra)}; known: {sorted(names)}")
            return kind(**values)

        top = dict(raw)
        ranker = pick(RankerPolicy, top.pop("ranker", {}), "ranker")
        portfolio = pick(PortfolioPolicy, top.pop("portfolio", {}), "portfolio")
        top["features"] = tuple(top.get("features", ("base",)))
        return pick(cls, {**top, "ranker": ranker, "portfolio": portfolio}, "policy")


def load_policy(metric: str, path: str | Path | None = None) -> Policy:
    """The policy for ``metric``: ``policies/<metric>.json``, else ``policies/default.json``.

    Args:
        metric: the measure recommendations are made for.
        path: a policy file to use instead (benchmarks try variants this way).

    Returns:
        The policy.

    Raises:
        ValueError: the file holds an unknown key or an invalid value.
    """
    if path is not None:
        return Policy.from_dict(json.loads(Path(path).read_text()))
    folder = resources.files("metakg.metalearner") / "policies"
    own = folder / f"{metric}.json"
    chosen = own if own.is_file() else folder / "default.json"
    return Policy.from_dict({**json.loads(chosen.read_text()), "metric": metric})
