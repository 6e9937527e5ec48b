"""Import OpenML runs over HTTP, for admins (the server fetches from OpenML on the caller's
behalf, so only an admin may make it do so)."""

from __future__ import annotations

from fastapi import APIRouter

from metakg.api.deps import AdminDep, GraphDep
from metakg.api.schemas import OpenMLImportIn, OpenMLImportOut

router = APIRouter(prefix="/import", tags=["import"])


@router.post("/openml", response_model=OpenMLImportOut)
def import_openml_runs(body: OpenMLImportIn, graph: GraphDep, who: AdminDep) -> OpenMLImportOut:
    """Import the runs of OpenML tasks or of a study, with their datasets and flows
    (idempotent: runs already imported are listed as such). 404 when OpenML has no such task or
    study; 422 for a request without tasks or study."""
    from metakg.kg.importers import Characteriser, import_openml
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.metalearner.metafeatures import EXTRACTOR, VERSION

    report = import_openml(graph, tasks=body.tasks, study=body.study, max_runs=body.max_runs,
                           download_data=body.download_data, unknown_flows=body.unknown_flows,
                           characteriser=Characteriser(EXTRACTOR, VERSION, characterise_if_stale))
    return OpenMLImportOut.model_validate(report.to_json())
