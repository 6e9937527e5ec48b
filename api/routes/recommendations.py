"""Recommendations for an uploaded table or a registered dataset (same output as the CLI),
stored for keys that can write (their ``id``), and what happened to them (feedback)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi import Path as PathParam

from metakg.api.deps import GraphDep, ReaderDep, SettingsDep, WriterDep
from metakg.api.keys import Principal
from metakg.api.routes.datasets import read_upload
from metakg.api.schemas import FeedbackIn, FeedbackOut, RecommendIn

router = APIRouter(prefix="/recommendations", tags=["recommendations"])


def _kept(who: Principal) -> dict[str, Any]:
    """Store the recommendation (with who asked) only for a key that can write."""
    return {"record": who.can("write"), "principal": who.name}


def _answer(result: Any, who: Principal) -> dict[str, Any]:
    out = result.to_json()
    if not who.can("write"):
        out["not_stored"] = (f"not stored: the key of {who.name!r} has role {who.role!r}; "
                             "recommendations are stored (with an id for feedback) for keys "
                             "that can write")
    return out


@router.post("")
def recommend_for_table(graph: GraphDep, who: ReaderDep, settings: SettingsDep,
                        file: Annotated[UploadFile, File(description="CSV, ARFF or Parquet table")],
                        target: Annotated[str, Form()], k: Annotated[int, Form(ge=1, le=100)] = 5,
                        task_type: Annotated[str | None, Form(pattern="^(classification|regression)$")] = None,
                        metric: Annotated[str | None, Form()] = None,
                        family: Annotated[list[str] | None, Form(
                            description="Only these families (repeatable)")] = None,
                        max_fit_seconds: Annotated[float | None, Form(
                            gt=0, description="Only configurations expected to fit within this")] = None,
                        ) -> dict[str, Any]:
    """Recommend configurations for an uploaded table (the table is not stored; the
    recommendation is, for a key that can write: its ``id`` takes feedback)."""
    from metakg.metalearner.recommend import recommend

    df = read_upload(file, settings.max_upload_mb)
    return _answer(recommend(df, target=target, k=k, task_type=task_type, metric=metric,
                             families=family, max_fit_seconds=max_fit_seconds,
                             graph=graph, name=Path(file.filename or "upload").stem,
                             **_kept(who)), who)


@router.post("/{dataset}")
def recommend_for_registered(dataset: str, graph: GraphDep, who: ReaderDep,
                             k: Annotated[int, Query(ge=1, le=100)] = 5,
                             metric: Annotated[str | None, Query()] = None,
                             family: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
    """Recommend for a dataset in the graph (uploaded or registered by meta-features); stored
    for a key that can write (its ``id`` takes feedback)."""
    from metakg.metalearner.recommend import recommend_for_dataset

    return _answer(recommend_for_dataset(graph, dataset, k=k, metric=metric, families=family,
                                         **_kept(who)), who)


@router.post("/metafeatures/query")
def recommend_for_metafeatures(body: RecommendIn, graph: GraphDep, who: ReaderDep) -> dict[str, Any]:
    """Recommend from meta-features sent in the request (they are not stored; the
    recommendation is, for a key that can write, with a hash of them)."""
    from metakg.metalearner.recommend import recommend_from_metafeatures

    return _answer(recommend_from_metafeatures(graph, body.metafeatures, task_type=body.task_type,
                                               n_classes=body.n_classes, k=body.k,
                                               metric=body.metric, families=body.families,
                                               target_sd=body.target_sd, **_kept(who)), who)


@router.get("/{rec_id}")
def get_recommendation(rec_id: Annotated[str, PathParam(max_length=200)], graph: GraphDep,
                       who: ReaderDep) -> dict[str, Any]:
    """A stored recommendation (query, recommender version, ranked configurations) and the
    feedback on it (404 if unknown)."""
    from dataclasses import asdict

    from metakg.kg.feedback import list_feedback
    from metakg.kg.recommendations import get_recommendation as find

    return {**asdict(find(graph, rec_id)), "feedback": [asdict(f) for f in list_feedback(graph, rec_id)]}


@router.post("/{rec_id}/feedback", status_code=201, response_model=FeedbackOut)
def post_feedback(rec_id: Annotated[str, PathParam(max_length=200)], body: FeedbackIn,
                  graph: GraphDep, who: WriterDep) -> FeedbackOut:
    """Record what happened to the configuration at ``rank``: used (with the outcome score),
    skipped, or rejected with a reason. An outcome on a table in the graph is also logged as a
    run (the recommender learns from it). 404: unknown recommendation; 422: a rank out of
    range or a bad verdict; a read key gets 403; nothing is written then."""
    from metakg.kg.feedback import record_feedback

    return record_feedback(graph, rec_id, rank=body.rank, verdict=body.verdict, score=body.score,
                           reason=body.reason, principal=who.name, source="api")
