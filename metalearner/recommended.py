"""Recommendations kept in the graph: what :mod:`metalearner.recommend` stores about each
answer (the query, the recommender's version, the ranked configurations) through
:mod:`kg.recommendations`, so that people can record what happened to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metakg.kg.graph import KnowledgeGraph
    from metakg.metalearner.knowledge import MetaData
    from metakg.metalearner.recommend import RecommendationSet

__all__ = ["NOT_RECORDED", "keep_recommendation", "metafeatures_digest", "recommender_version"]

#: Why a recommendation made with ``record=False`` has no id.
NOT_RECORDED = "not stored: record=False (pass record=True to store it and get an id for feedback)"


def recommender_version() -> str:
    """The default recommender's version as cited by stored recommendations: its class, the
    installed metakg version and the fitted-cache format (:mod:`metalearner.cache`)."""
    from importlib.metadata import PackageNotFoundError, version

    from metakg.metalearner.cache import _FORMAT
    from metakg.metalearner.recommender import MetaRecommender

    try:
        installed = version("metakg")
    except PackageNotFoundError:
        installed = "unknown"

    return f"{MetaRecommender.__name__} (metakg {installed}, cache format {_FORMAT})"


def metafeatures_digest(doc: dict[str, Any]) -> str:
    """A query sent as meta-features, hashed (SHA-256 hex; missing and non-finite values
    left out) to name it in a stored recommendation."""
    import hashlib
    import math

    from metakg.kg.identity import canonical_json

    values = {k: float(v) for k, v in doc["metafeatures"].items()
              if v is not None and math.isfinite(v)}
    return hashlib.sha256(canonical_json({**doc, "metafeatures": values}).encode()).hexdigest()


def keep_recommendation(graph: KnowledgeGraph, result: RecommendationSet, meta: MetaData, *,
                        record: bool, principal: str | None, dataset_id: str | None = None,
                        target: str | None = None, digest: Any = None,
                        families: list[str] | None = None) -> RecommendationSet:
    """Store ``result`` in the graph when asked and the graph accepts writes, and set its
    ``id`` (or ``not_stored``). ``digest`` is the query's hash, or a callable giving it
    (computed only when storing; a table in the graph with that content hash is then linked)."""
    from metakg.kg.recommendations import (
        RankedConfiguration,
        RecommendationQuery,
        accepts_writes,
        dataset_with_hash,
        find_query_task,
        write_recommendation,
    )

    if not record:
        result.not_stored = NOT_RECORDED
        return result
    if not accepts_writes(graph):
        result.not_stored = "not stored: the store is open read-only"
        return result
    if not result.recommendations:
        result.not_stored = "not stored: nothing was recommended"
        return result
    task_type = result.task["task_type"]
    digest = digest() if callable(digest) else digest
    if dataset_id is None and digest is not None and target is not None:
        dataset_id = dataset_with_hash(graph, digest)
    task_id = (find_query_task(graph, dataset_id=dataset_id, task_type=task_type,
                               metric=result.metric, target=target) if dataset_id else None)
    query = RecommendationQuery(task_type=task_type, metric=result.metric, dataset_id=dataset_id,
                                task_id=task_id, target=target,
                                query_digest=None if dataset_id else digest,
                                families=tuple(sorted(families or ())))
    ranked = [RankedConfiguration(r.rank, r.config_id, r.expected_score, r.family)
              for r in result.recommendations]
    result.id = write_recommendation(graph, query, ranked, recommender=recommender_version(),
                                     principal=principal, trained_on=len(meta.datasets))
    return result
