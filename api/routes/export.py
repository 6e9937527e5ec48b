"""Export of the whole graph or of one dataset's neighbourhood."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response, StreamingResponse

from metakg.api.deps import GraphDep, ReaderDep
from metakg.kg.export import export_graph, stream_graph

router = APIRouter(prefix="/export", tags=["export"])


@router.get("")
def export(graph: GraphDep, who: ReaderDep,
           format: Annotated[str, Query(pattern="^(turtle|nquads)$")] = "nquads",
           dataset: Annotated[str | None, Query(description="Only this dataset's neighbourhood")] = None) -> Response:
    """A dataset with its tasks, runs and configurations (read key), or the whole graph (admin
    key: streamed as it is read), as Turtle or N-Quads."""
    if dataset is None and not who.can("admin"):
        raise HTTPException(403, f"The key of {who.name!r} has role {who.role!r}; exporting the whole graph "
                                 "needs 'admin'. Export one dataset with ?dataset=NAME, or run `metakg export "
                                 "FILE` where the graph is stored.")
    if dataset is None:
        chunks, media = stream_graph(graph, fmt=format)
        return StreamingResponse(chunks, media_type=media)
    body, media = export_graph(graph, fmt=format, dataset=dataset)
    return Response(body, media_type=media)
