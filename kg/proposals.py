"""Proposals: runs the recommender asks for (active learning), as graph entities.

A proposal is a ``mkg:Proposal`` (a ``prov:Entity``) naming a dataset
(``mkg:proposedDataset``, with its name copied as ``mkg:datasetName`` so a proposal still
reads after its dataset is gone), a configuration (``mkg:proposedConfiguration``), the task
type and metric whose recommendations it should improve, its ``mkg:utility``, ``mkg:rank``
and ``mkg:reason``, and a ``mkg:proposalStatus``: ``open``, ``done`` (``mkg:answeredBy`` the
run that answered it) or ``failed`` (``mkg:error``). It ``prov:wasGeneratedBy`` a
``prov:Activity`` that ``prov:wasAssociatedWith`` the recommender version that made it (a
``prov:SoftwareAgent`` with its name and ``mkg:version``), at ``prov:generatedAtTime``.

Its id derives from the recommender version, dataset, configuration and metric: proposing
the same run again with the same recommender names the same proposal.

No predicate here is ``mkg:status`` and no node is a ``mls:Run``: writing proposals does not
change the graph's learning stamp (:meth:`kg.graph.KnowledgeGraph.learning_stamp`), so the
fitted recommenders stay cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad

from metakg.kg.errors import DatasetNotFound, InvalidData, NotFound
from metakg.kg.vocabulary import DCT, MKG, PROV, XSD, A, entity, entity_key, lit

if TYPE_CHECKING:
    from metakg.kg.graph import KnowledgeGraph
    from metakg.kg.records import Run

__all__ = ["STATUSES", "NewProposal", "Proposal", "RecommenderVersion", "check_proposal",
           "get_proposal", "list_proposals", "mark_answered", "mark_done", "mark_failed",
           "moved_answer", "write_proposals"]

#: What a proposal can be.
STATUSES = ("open", "done", "failed")


@dataclass(frozen=True)
class RecommenderVersion:
    """The recommender that made proposals: its name and a version (e.g. the package's
    version and the graph's learning stamp it was fitted on)."""

    name: str
    version: str

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.name}|{self.version}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class NewProposal:
    """A run to propose (what :func:`metakg.metalearner.active.propose` found)."""

    dataset_id: str
    config_id: str
    utility: float
    reason: str
    task_type: str
    metric: str


@dataclass(frozen=True)
class Proposal:
    """A stored proposal.

    Attributes:
        id: its id.
        dataset_id, dataset: the dataset's id and name (the name as it was when proposed).
        config_id: the configuration to run.
        task_type, metric: the recommendations it should improve.
        utility, rank, reason: how much, where in the queue (1 first), and why.
        status: ``open``, ``done`` or ``failed``.
        generated_by: id of the recommender version that made it.
        created: when (ISO 8601, UTC).
        run_id: the run that answered it (done).
        error: why it failed (failed).
    """

    id: str
    dataset_id: str
    dataset: str
    config_id: str
    task_type: str
    metric: str
    utility: float
    rank: int
    reason: str
    status: str
    generated_by: str
    created: str
    run_id: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        """As printed by ``metakg next --json``."""
        return {"id": self.id, "rank": self.rank, "dataset_id": self.dataset_id,
                "dataset": self.dataset, "config_id": self.config_id,
                "task_type": self.task_type, "metric": self.metric, "utility": self.utility,
                "reason": self.reason, "status": self.status,
                "generated_by": self.generated_by, "created": self.created,
                "run_id": self.run_id, "error": self.error}


def _proposal_id(version: RecommenderVersion, dataset_id: str, config_id: str, metric: str) -> str:
    return hashlib.sha256(f"{version.id}|{dataset_id}|{config_id}|{metric}".encode()).hexdigest()[:32]


def _dataset_name(graph: KnowledgeGraph, dataset_id: str) -> str | None:
    rows = graph.store.select("SELECT ?name WHERE { ?d a mls:Dataset . OPTIONAL { ?d dcterms:title ?name } }",
                              {"d": entity("dataset", dataset_id)})
    return None if not rows else str(rows[0].get("name", dataset_id))


def write_proposals(graph: KnowledgeGraph, proposals: Sequence[NewProposal], *,
                    generated_by: RecommenderVersion, replace_open: bool = True,
                    dataset_id: str | None = None) -> list[Proposal]:
    """Write a ranked queue of proposals, atomically.

    The rank is the position in the open queue: ``proposals`` in their order; where open
    proposals are kept (those of other datasets after a write scoped to ``dataset_id``), the
    two are merged by utility (the new ones first on ties) and the kept ones renumbered.

    Args:
        graph: the graph.
        proposals: best first.
        generated_by: the recommender version that made them.
        replace_open: first withdraw the open proposals (a new queue replaces the old one;
            done and failed ones stay as history).
        dataset_id: withdraw only the open proposals of this dataset.

    Returns:
        The stored proposals, in the order given. One already done or failed (same recommender version,
        dataset, configuration and metric) is returned as it is, not reopened.

    Raises:
        DatasetNotFound: a proposal names a dataset the graph does not hold; nothing written.
        NotFound: a proposal names an unknown configuration; nothing written.
    """
    names: dict[str, str] = {}
    for p in proposals:
        if p.dataset_id not in names:
            name = _dataset_name(graph, p.dataset_id)
            if name is None:
                raise DatasetNotFound(
                    f"Cannot propose a run on dataset {p.dataset_id!r}: it is not in the graph "
                    "(deleted?); nothing was written. Run `metakg next` again to propose runs "
                    "on the datasets it holds.")
            names[p.dataset_id] = name
        if not graph.store.ask("ASK { ?c mkg:json ?j }", {"c": entity("config", p.config_id)}):
            raise NotFound(f"Cannot propose configuration {p.config_id!r}: it is not in the graph; "
                           "nothing was written.")
    existing = {q.id: q for q in list_proposals(graph)}
    # open proposals proposed again are rewritten below, not withdrawn
    again = {_proposal_id(generated_by, p.dataset_id, p.config_id, p.metric) for p in proposals}
    withdraw = [q.id for q in existing.values() if q.status == "open" and q.id not in again
                and (dataset_id is None or q.dataset_id == dataset_id)] if replace_open else []
    remove = _quads_of(graph, withdraw)
    add_ranks: list[Quad] = []
    g = DefaultGraph()
    # the lexical form the store reads back (xsd:dateTime in UTC ends in Z)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    activity = entity("proposing", hashlib.sha256(
        f"{generated_by.id}|{now}".encode()).hexdigest()[:32])
    agent = entity("recommender", generated_by.id)
    add = [Quad(activity, A, PROV.Activity, g), Quad(activity, PROV.wasAssociatedWith, agent, g),
           Quad(activity, PROV.endedAtTime, Literal(now, datatype=XSD.dateTime), g),
           Quad(agent, A, PROV.SoftwareAgent, g), Quad(agent, DCT.title, lit(generated_by.name), g),
           Quad(agent, MKG.version, lit(generated_by.version), g)]
    # one queue: the open proposals kept from earlier writes (other datasets' after a scoped
    # write) and the new ones are ranked together by utility, the new ones first on ties
    withdrawn = set(withdraw)
    kept = sorted((q for q in existing.values() if q.status == "open" and q.id not in again
                   and q.id not in withdrawn), key=lambda q: q.rank)
    order = sorted([(-float(p.utility), 0, i) for i, p in enumerate(proposals)]
                   + [(-q.utility, 1, i) for i, q in enumerate(kept)])
    new_rank = {i: i + 1 for i in range(len(proposals))}
    if kept:
        for r, (_, kind, i) in enumerate(order, start=1):
            if kind == 0:
                new_rank[i] = r
            elif kept[i].rank != r:
                node = entity("proposal", kept[i].id)
                remove.append(Quad(node, MKG.rank, lit(kept[i].rank), g))
                add_ranks.append(Quad(node, MKG.rank, lit(r), g))
    out: list[Proposal] = []
    ids: list[str] = []
    for i, p in enumerate(proposals):
        rank = new_rank[i]
        pid = _proposal_id(generated_by, p.dataset_id, p.config_id, p.metric)
        old = existing.get(pid)
        if old is not None and old.status != "open":
            out.append(old)
            continue
        node = entity("proposal", pid)
        if old is not None:  # proposed again: its rank, utility, reason and activity are new
            remove += _quads_of(graph, [pid])
        add += [Quad(node, A, MKG.Proposal, g), Quad(node, A, PROV.Entity, g),
                Quad(node, MKG.proposedDataset, entity("dataset", p.dataset_id), g),
                Quad(node, MKG.datasetName, lit(names[p.dataset_id]), g),
                Quad(node, MKG.proposedConfiguration, entity("config", p.config_id), g),
                Quad(node, MKG.taskType, lit(p.task_type), g), Quad(node, MKG.metric, lit(p.metric), g),
                Quad(node, MKG.utility, lit(float(p.utility)), g), Quad(node, MKG.rank, lit(rank), g),
                Quad(node, MKG.reason, lit(p.reason), g),
                Quad(node, MKG.proposalStatus, lit("open"), g),
                Quad(node, PROV.wasGeneratedBy, activity, g),
                Quad(node, PROV.generatedAtTime, Literal(now, datatype=XSD.dateTime), g)]
        ids.append(pid)
        out.append(Proposal(id=pid, dataset_id=p.dataset_id, dataset=names[p.dataset_id],
                            config_id=p.config_id, task_type=p.task_type, metric=p.metric,
                            utility=float(p.utility), rank=rank, reason=p.reason, status="open",
                            generated_by=generated_by.id, created=now))
    if not ids:
        add = []
    graph.store.replace(remove, add + add_ranks)
    return out


def _quads_of(graph: KnowledgeGraph, ids: Sequence[str]) -> list[Quad]:
    """Every quad whose subject is one of these proposals."""
    out: list[Quad] = []
    for pid in ids:
        node = entity("proposal", pid)
        for sol in graph.store.query("SELECT ?p ?o WHERE { ?s ?p ?o }", {"s": node}):
            out.append(Quad(node, sol["p"], sol["o"], DefaultGraph()))
    return out


_SELECT = """SELECT ?x ?d ?name ?c ?type ?metric ?u ?rank ?reason ?status ?agent ?when ?run ?err
WHERE { ?x a mkg:Proposal ; mkg:proposedDataset ?d ; mkg:datasetName ?name ;
          mkg:proposedConfiguration ?c ; mkg:taskType ?type ; mkg:metric ?metric ;
          mkg:utility ?u ; mkg:rank ?rank ; mkg:reason ?reason ; mkg:proposalStatus ?status ;
          prov:wasGeneratedBy ?act ; prov:generatedAtTime ?when .
        ?act prov:wasAssociatedWith ?agent .
        OPTIONAL { ?x mkg:answeredBy ?run } OPTIONAL { ?x mkg:error ?err }
        FILTER(!BOUND(?want_status) || ?status = ?want_status)
        FILTER(!BOUND(?want_type) || ?type = ?want_type)
        FILTER(!BOUND(?want_metric) || ?metric = ?want_metric)
        FILTER(!BOUND(?want_dataset) || ?d = ?want_dataset) }"""


def _record(r: dict) -> Proposal:
    return Proposal(id=entity_key(r["x"]), dataset_id=entity_key(r["d"]), dataset=str(r["name"]),
                    config_id=entity_key(r["c"]), task_type=r["type"], metric=r["metric"],
                    utility=float(r["u"]), rank=int(r["rank"]), reason=r["reason"],
                    status=r["status"], generated_by=entity_key(r["agent"]),
                    created=str(r["when"]), run_id=entity_key(r["run"]) if "run" in r else None,
                    error=r.get("err"))


def list_proposals(graph: KnowledgeGraph, *, status: str | None = None,
                   task_type: str | None = None, metric: str | None = None,
                   dataset_id: str | None = None) -> list[Proposal]:
    """Stored proposals, open ones first by rank (then by utility), then the others.

    Args:
        graph: the graph.
        status: only ``open``, ``done`` or ``failed`` ones.
        task_type, metric, dataset_id: only those for this task type, metric or dataset.

    Raises:
        InvalidData: an unknown status.
    """
    if status is not None and status not in STATUSES:
        raise InvalidData(f"Unknown proposal status {status!r}; use one of {', '.join(STATUSES)}.")
    bind = {k: v for k, v in {"want_status": status, "want_type": task_type,
                              "want_metric": metric,
                              "want_dataset": entity("dataset", dataset_id) if dataset_id else None
                              }.items() if v is not None}
    rows = graph.store.select(_SELECT, bind or None)
    out = [_record(r) for r in rows]
    out.sort(key=lambda p: (p.status != "open", p.rank, -p.utility, p.created, p.id))
    return out


def get_proposal(graph: KnowledgeGraph, proposal_id: str) -> Proposal:
    """A proposal by id.

    Raises:
        NotFound: no such proposal.
    """
    rows = graph.store.select(_SELECT, {"x": _node(proposal_id)})
    if not rows:
        raise NotFound(f"No proposal {proposal_id!r} in the graph; `metakg next` lists them.")
    return _record(rows[0])


def _node(proposal_id: str) -> NamedNode:
    try:
        return entity("proposal", proposal_id)
    except ValueError:
        raise NotFound(f"No proposal {proposal_id!r}: that is not a valid proposal id.") from None


def check_proposal(graph: KnowledgeGraph, proposal: Proposal) -> None:
    """Check that a proposal can still be run: open, and its dataset still in the graph.

    Raises:
        DatasetNotFound: its dataset is no longer in the graph.
        InvalidData: it is not open.
    """
    if proposal.status != "open":
        raise InvalidData(f"Proposal {proposal.id} is {proposal.status}, not open; nothing to run.")
    if _dataset_name(graph, proposal.dataset_id) is None:
        raise DatasetNotFound(
            f"Proposal {proposal.id} (rank {proposal.rank}) is for dataset {proposal.dataset!r} "
            f"({proposal.dataset_id}), which is no longer in the graph; nothing was run or "
            "changed. Run `metakg next` to replace the open proposals.")


def _set_status(graph: KnowledgeGraph, proposal_id: str, status: str, extra: list[Quad]) -> Proposal:
    """Move an open proposal to ``status`` with ``extra`` quads, if it is still open when the
    write runs: of two processes closing one proposal at once (``metakg improve`` and a run
    logged by hand), one closes it and the other is told it is closed."""
    current = get_proposal(graph, proposal_id)
    if current.status != "open":
        raise InvalidData(f"Proposal {proposal_id} is already {current.status}.")
    graph.store.replace_if([_closing(proposal_id, status, extra)])
    _settle(graph, proposal_id)
    after = get_proposal(graph, proposal_id)
    if after.status != status or not all(graph.store.ask(
            "ASK { ?s ?p ?o }", {"s": q.subject, "p": q.predicate, "o": q.object}) for q in extra):
        raise InvalidData(f"Proposal {proposal_id} was closed by another writer at the same "
                          f"moment: it is {after.status}"
                          f"{f', answered by run {after.run_id}' if after.run_id else ''}.")
    return after


def _closing(proposal_id: str, status: str, extra: list[Quad]) -> tuple[list[Quad], list[Quad], list[Quad]]:
    """The conditional change (for :meth:`Store.replace_if`) that moves a proposal from open to
    ``status`` with ``extra`` quads, only if it is still open when written."""
    node, g = entity("proposal", proposal_id), DefaultGraph()
    is_open = Quad(node, MKG.proposalStatus, lit("open"), g)
    return [is_open], [is_open], [Quad(node, MKG.proposalStatus, lit(status), g), *extra]


def _settle(graph: KnowledgeGraph, proposal_id: str) -> None:
    """Leave a proposal one status and at most one answer and error, whatever writers raced
    to close it (processes sharing a remote store can both pass a conditional update): done
    wins over failed, then an answer whose run is still in the graph, then the smallest
    answer, error or status, so every writer that settles keeps the same one. A writer's
    read-back of its own answer is best effort: one whose conditional update passed on an
    older snapshot and lands after another settled can still replace that answer."""
    node, g = entity("proposal", proposal_id), DefaultGraph()
    values = {p: sorted(r["v"] for r in graph.store.select(
        "SELECT ?v WHERE { ?x ?p ?v }", {"x": node, "p": MKG[p]})) for p in
        ("proposalStatus", "answeredBy", "error")}
    if all(len(v) <= 1 for v in values.values()):
        return
    values["answeredBy"].sort(key=lambda run: (not graph.store.ask(
        "ASK { ?r mls:achieves ?t }", {"r": NamedNode(run)}), run))
    status = "done" if "done" in values["proposalStatus"] else values["proposalStatus"][0]
    keep = {"proposalStatus": status,
            "answeredBy": values["answeredBy"][0] if status == "done" and values["answeredBy"] else None,
            "error": values["error"][0] if status == "failed" and values["error"] else None}
    drop = [Quad(node, MKG[p], NamedNode(v) if p == "answeredBy" else lit(v), g)
            for p, vs in values.items() for v in vs if v != keep[p]]
    graph.store.remove(drop)


def mark_done(graph: KnowledgeGraph, proposal_id: str, run_id: str) -> Proposal:
    """Mark an open proposal done, answered by a run of the graph.

    Raises:
        NotFound: no such proposal or run.
        InvalidData: the proposal is not open.
    """
    run = entity("run", run_id)
    if not graph.store.ask("ASK { ?r mls:achieves ?t }", {"r": run}):
        raise NotFound(f"No run {run_id!r} in the graph to answer proposal {proposal_id}.")
    return _set_status(graph, proposal_id, "done", [Quad(entity("proposal", proposal_id),
                                                         MKG.answeredBy, run, DefaultGraph())])


def mark_failed(graph: KnowledgeGraph, proposal_id: str, error: str) -> Proposal:
    """Mark an open proposal failed, with why (its run failed, or its table is unavailable).

    Raises:
        NotFound: no such proposal.
        InvalidData: the proposal is not open.
    """
    return _set_status(graph, proposal_id, "failed", [Quad(entity("proposal", proposal_id),
                                                           MKG.error, lit(error), DefaultGraph())])


def mark_answered(graph: KnowledgeGraph, runs: Sequence[tuple[Run, str]]) -> list[str]:
    """Mark done the open proposals that newly logged runs answer, in one write.

    A proposal is answered by a completed run of its configuration on its dataset, on a task
    of its task type, with a score by its metric: a run a person logged by hand
    (``metakg log``, ``POST /runs``, an MLflow sync) answers it as one ``metakg improve`` ran
    would, so the queue no longer asks for it.

    Args:
        graph: the graph the runs were written to.
        runs: (run, its task's type) pairs, as just logged.

    Returns:
        The ids of the proposals marked done (each answered by the first such run).
    """
    answers: dict[tuple[str, str, str], Run] = {}
    for run, task_type in runs:
        if run.status == "completed":
            answers.setdefault((run.dataset_id, run.configuration_id, task_type), run)
    if not answers or not graph.store.ask("ASK { ?x mkg:proposalStatus \"open\" }"):
        return []
    g, changes, answered = DefaultGraph(), [], {}
    open_ = [q for dataset_id in sorted({d for d, _, _ in answers})
             for q in list_proposals(graph, status="open", dataset_id=dataset_id)]
    for q in open_:
        run = answers.get((q.dataset_id, q.config_id, q.task_type))
        if run is None or q.metric not in run.scores:
            continue
        # each closed only if still open when written (another writer may close it first)
        changes.append(_closing(q.id, "done", [Quad(entity("proposal", q.id), MKG.answeredBy,
                                                    entity("run", run.id), g)]))
        answered[q.id] = entity("run", run.id)
    if not changes:
        return []
    graph.store.replace_if(changes)
    for pid in answered:
        _settle(graph, pid)
    return [pid for pid, run in answered.items()
            if graph.store.ask("ASK { ?x mkg:answeredBy ?r }", {"x": entity("proposal", pid), "r": run})]


def moved_answer(graph: KnowledgeGraph, run_id: str, replacement: str | None
                 ) -> list[tuple[list[Quad], list[Quad], list[Quad]]]:
    """The changes that move the proposals a run answered to another run, for a caller that
    removes the run in the same write (an outcome revised by later feedback).

    Args:
        graph: the graph.
        run_id: the run that goes.
        replacement: the run that answers them now; ``None``: they are open again.

    Returns:
        Conditional changes for :meth:`Store.replace_if`, one per proposal, each made only if
        the proposal is still answered by the run when written (a writer that read an older
        graph changes nothing another already moved).
    """
    g, run, changes = DefaultGraph(), entity("run", run_id), []
    for row in graph.store.select("SELECT ?x WHERE { ?x mkg:answeredBy ?r }", {"r": run}):
        node = NamedNode(row["x"])
        answered = Quad(node, MKG.answeredBy, run, g)
        if replacement:
            changes.append(([answered], [answered],
                            [Quad(node, MKG.answeredBy, entity("run", replacement), g)]))
        else:
            done = Quad(node, MKG.proposalStatus, lit("done"), g)
            changes.append(([answered, done], [answered, done],
                            [Quad(node, MKG.proposalStatus, lit("open"), g)]))
    return changes
