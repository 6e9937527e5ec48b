"""Export of the whole graph or of one dataset's neighbourhood."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from metakg.api.deps import GraphDep, ReaderDep
from metakg.kg.export import export_graph

router = APIRouter(prefix="/export", tags=["export"])


@router.get("")
def export(graph: GraphDep, who: ReaderDep,
           format: Annotated[str, Query(pattern="^(turtle|nquads)$")] = "nquads",
           dataset: Annotated[str | None, Query(description="Only this dataset's neighbourhood")] = None) -> Response:
    """The graph (or a dataset with its tasks, runs and configurations) as Turtle or N-Quads."""
    body, media = export_graph(graph, fmt=format, dataset=dataset)
    return Response(body, media_type=media)
