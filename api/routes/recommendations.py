"""Recommendations for an uploaded table or a registered dataset (same output as the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from metakg.api.deps import GraphDep, ReaderDep, SettingsDep
from metakg.api.routes.datasets import read_upload
from metakg.api.schemas import RecommendIn

router = APIRouter(prefix="/recommendations", tags=["recommendations"])


@router.post("")
def recommend_for_table(graph: GraphDep, who: ReaderDep, settings: SettingsDep,
                        file: Annotated[UploadFile, File(description="CSV, ARFF or Parquet table")],
                        target: Annotated[str, Form()], k: Annotated[int, Form(ge=1, le=100)] = 5,
                        task_type: Annotated[str | None, Form(pattern="^(classification|regression)$")] = None,
                        metric: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    """Recommend configurations for an uploaded table (nothing is stored)."""
    from metakg.metalearner.recommend import recommend

    df = read_upload(file, settings.max_upload_mb)
    return recommend(df, target=target, k=k, task_type=task_type, metric=metric, graph=graph,
                     name=Path(file.filename or "upload").stem).to_json()


@router.post("/{dataset}")
def recommend_for_registered(dataset: str, graph: GraphDep, who: ReaderDep,
                             k: Annotated[int, Query(ge=1, le=100)] = 5,
                             metric: Annotated[str | None, Query()] = None,
                             family: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
    """Recommend for a dataset in the graph (uploaded or registered by meta-features)."""
    from metakg.metalearner.recommend import recommend_for_dataset

    return recommend_for_dataset(graph, dataset, k=k, metric=metric, families=family).to_json()


@router.post("/metafeatures/query")
def recommend_for_metafeatures(body: RecommendIn, graph: GraphDep, who: ReaderDep) -> dict[str, Any]:
    """Recommend from meta-features sent in the request (nothing is stored)."""
    from metakg.metalearner.recommend import recommend_from_metafeatures

    return recommend_from_metafeatures(graph, body.metafeatures, task_type=body.task_type,
                                       n_classes=body.n_classes, k=body.k, metric=body.metric,
                                       families=body.families,
                                       target_sd=body.target_sd).to_json()
