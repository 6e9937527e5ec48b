"""Datasets: upload, register by meta-features, list, search, one with its best runs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from metakg.api.deps import GraphDep, ReaderDep, SettingsDep, WriterDep
from metakg.api.schemas import DatasetOut, MetaFeaturesIn
from metakg.kg.errors import InvalidData

router = APIRouter(prefix="/datasets", tags=["datasets"])


def _out(d: Any) -> DatasetOut:
    return DatasetOut(id=d.id, name=d.name, content_hash=d.content_hash, rows=d.rows,
                      columns=d.columns, description=d.description, sources=list(d.sources),
                      default_target=d.default_target)


def read_upload(upload: UploadFile, max_mb: int) -> Any:
    """Read an uploaded table file (CSV/ARFF/Parquet by its name) into a DataFrame."""
    from metakg.kg.tables import read_table

    name = Path(upload.filename or "upload.csv").name
    data = upload.file.read(max_mb * 1024 * 1024 + 1)
    if len(data) > max_mb * 1024 * 1024:
        raise InvalidData(f"{name}: larger than the {max_mb} MB upload limit.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return read_table(path)


@router.post("", status_code=201, response_model=DatasetOut)
def upload_dataset(graph: GraphDep, who: WriterDep, settings: SettingsDep,
                   file: Annotated[UploadFile, File(description="CSV, ARFF or Parquet table")],
                   target: Annotated[str, Form()], description: Annotated[str, Form()] = "",
                   name: Annotated[str | None, Form()] = None,
                   task_type: Annotated[str | None, Form(pattern="^(classification|regression)$")] = None,
                   ) -> DatasetOut:
    """Upload a table: it is ingested, characterised (meta-features + text) and its task added.
    A name another table has is refused (409), so a lookup by name stays unambiguous."""
    from metakg.metalearner.characterise import characterise
    from metakg.runner.table_runs import table_task

    df = read_upload(file, settings.max_upload_mb)
    ds, task, _ = table_task(graph, df, target=target, task_type=task_type,
                             name=name or Path(file.filename or "upload").stem,
                             description=description, source=f"upload by {who.name}",
                             unique_name=True)
    characterise(graph, ds, df, target, task.task_type)
    return _out(graph.get_dataset(ds.id))


@router.post("/metafeatures", status_code=201, response_model=DatasetOut)
def register_dataset(body: MetaFeaturesIn, graph: GraphDep, who: WriterDep) -> DatasetOut:
    """Register a dataset by its meta-features only (no table leaves your machine)."""
    from metakg.metalearner.characterise import register_metafeatures

    return _out(register_metafeatures(graph, name=body.name, task_type=body.task_type,
                                      metafeatures=body.metafeatures, n_classes=body.n_classes,
                                      description=body.description, target_sd=body.target_sd))


@router.get("", response_model=list[DatasetOut])
def list_datasets(graph: GraphDep, who: ReaderDep,
                  task_type: Annotated[str | None, Query(pattern="^(classification|regression)$")] = None,
                  min_rows: Annotated[int | None, Query(ge=0)] = None,
                  max_rows: Annotated[int | None, Query(ge=0)] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0) -> list[DatasetOut]:
    """List datasets, filtered by task type and size, paged."""
    return [_out(d) for d in graph.datasets(task_type=task_type, min_rows=min_rows,
                                            max_rows=max_rows, limit=limit, offset=offset)]


@router.get("/search")
def search(graph: GraphDep, who: ReaderDep, q: Annotated[str, Query(min_length=1, max_length=500)],
           k: Annotated[int, Query(ge=1, le=100)] = 10) -> list[dict[str, Any]]:
    """Semantic search of datasets by the meaning of their descriptions and columns."""
    from metakg.metalearner.characterise import search_datasets

    return [{"dataset": _out(d).model_dump(), "similarity": s}
            for d, s in search_datasets(graph, q, k)]


@router.get("/{dataset}")
def get_dataset(dataset: str, graph: GraphDep, who: ReaderDep,
                k: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """One dataset with its meta-features and best runs (by its tasks' metrics)."""
    ds = graph.get_dataset(dataset)
    best = {}
    for task in graph.tasks(ds.id):
        best[task.metric] = [{"config_id": c.id, "family": c.family, "config": c.config,
                              "score": s}
                             for c, s in graph.best_configurations(ds.id, metric=task.metric, k=k)]
    return {"dataset": _out(ds).model_dump(), "metafeatures": graph.metafeatures(ds.id),
            "best_runs": best}
