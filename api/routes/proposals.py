"""The runs the graph asks for (active learning): propose them (``POST``, a key that can
write: the queue is stored in the graph) and read the queue (``GET``). Running them is
``metakg improve`` on a machine that holds the tables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from metakg.api.deps import GraphDep, ReaderDep, WriterDep
from metakg.api.schemas import ProposalOut, ProposalsIn, ProposalsOut

router = APIRouter(prefix="/proposals", tags=["active learning"])


@router.post("", status_code=201, response_model=ProposalsOut)
def propose_runs(body: ProposalsIn, graph: GraphDep, who: WriterDep) -> ProposalsOut:
    """Score the missing (dataset, configuration) runs and store the best ``budget`` as the
    open queue, replacing the open proposals (all of them, or the dataset's). 404: unknown
    dataset; 422: no missing run to propose; a read key gets 403; nothing is written then."""
    from metakg.api.active_runs import make_proposals

    found = make_proposals(graph, budget=body.budget, dataset=body.dataset)
    return ProposalsOut(proposals=[ProposalOut(**p.to_json()) for p in found])


@router.get("", response_model=ProposalsOut)
def list_proposed_runs(
    graph: GraphDep, who: ReaderDep,
    status: Annotated[str | None, Query(pattern="^(open|done|failed)$",
                                        description="open, done or failed (default: all).")] = None,
    dataset: Annotated[str | None, Query(max_length=200, description="Dataset name or id.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> ProposalsOut:
    """The stored proposals: open ones first by rank, then done and failed ones."""
    from metakg.api.active_runs import list_queue

    found = list_queue(graph, status=status, dataset=dataset, limit=limit)
    return ProposalsOut(proposals=[ProposalOut(**p.to_json()) for p in found])


@router.get("/{proposal_id}", response_model=ProposalOut)
def get_proposed_run(proposal_id: Annotated[str, PathParam(max_length=200)], graph: GraphDep,
                     who: ReaderDep) -> ProposalOut:
    """One proposal (404 if unknown)."""
    from metakg.kg.proposals import get_proposal

    return ProposalOut(**get_proposal(graph, proposal_id).to_json())
