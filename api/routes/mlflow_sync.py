"""Sync an MLflow experiment into the graph over HTTP (admins only).

The server itself reads the tracking server, so only ``http(s)://`` tracking URIs are
accepted (see :class:`api.schemas.MlflowSyncIn`); a sync is idempotent and may be repeated.
"""

from __future__ import annotations

from fastapi import APIRouter

from metakg.api.deps import AdminDep, GraphDep
from metakg.api.schemas import MlflowSyncIn, MlflowSyncOut
from metakg.kg.importers.mlflow_sync import sync_mlflow_experiment

router = APIRouter(prefix="/sync", tags=["sync"])


@router.post("/mlflow", response_model=MlflowSyncOut)
def sync_mlflow(body: MlflowSyncIn, graph: GraphDep, who: AdminDep) -> MlflowSyncOut:
    """Add the experiment's finished and failed runs that the graph does not hold yet
    (by MLflow run id); list the runs skipped and why. Needs an admin key."""
    report = sync_mlflow_experiment(graph, body.experiment, tracking_uri=body.tracking_uri,
                                    metric_step=body.metric_step, folds=body.folds,
                                    page_size=body.page_size, synced_by=who.name)
    return MlflowSyncOut.model_validate(report.to_json())
