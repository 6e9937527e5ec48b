"""Sync an MLflow experiment into the graph over HTTP (admins only).

The server itself reads the tracking server, so only ``http(s)://`` tracking servers on the
hosts its admin listed (``METAKG_MLFLOW_HOSTS``) are accepted, and their answers are not
repeated to the caller; a sync is idempotent and may be repeated.
"""

from __future__ import annotations

from fastapi import APIRouter

from metakg.api.deps import AdminDep, GraphDep, SettingsDep
from metakg.api.schemas import MlflowSyncIn, MlflowSyncOut
from metakg.kg.importers.mlflow_sync import sync_mlflow_for_server

router = APIRouter(prefix="/sync", tags=["sync"])


@router.post("/mlflow", response_model=MlflowSyncOut)
def sync_mlflow(body: MlflowSyncIn, graph: GraphDep, who: AdminDep, settings: SettingsDep) -> MlflowSyncOut:
    """Add the experiment's finished and failed runs that the graph does not hold yet
    (by MLflow run id); list the runs skipped and why. Needs an admin key, and a tracking
    server on a host listed in the server's ``METAKG_MLFLOW_HOSTS``."""
    report = sync_mlflow_for_server(graph, body.experiment, tracking_uri=body.tracking_uri,
                                    allowed_hosts=settings.mlflow_hosts,
                                    metric_step=body.metric_step, folds=body.folds,
                                    page_size=body.page_size, synced_by=who.name)
    return MlflowSyncOut.model_validate(report.to_json())
