"""What happened to a recommendation's configurations: feedback and outcomes.

Feedback (a ``mkg:Feedback``) says what happened to one ranked configuration of a stored
recommendation (:mod:`kg.recommendations`): ``used``, ``skipped`` or ``rejected`` (with a
reason), and for a used one the outcome score. An outcome on a table in the graph is also
logged as a run of that configuration on the table's task, tagged ``recommendation=<id>``, so
the recommender learns from it like from any run; and a run logged with that tag (API, CLI,
library) records the outcome of the rank whose configuration it ran (:func:`outcome_quads`,
called by :meth:`kg.graph.KnowledgeGraph.log_runs` in the same atomic write).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pyoxigraph import DefaultGraph, Quad

from metakg.kg.errors import InvalidData, NotFound
from metakg.kg.identity import canonical_json
from metakg.kg.measures import IN_TARGET_UNITS, check_score
from metakg.kg.recommendations import (
    RECOMMENDATION_TAG,
    RankedConfiguration,
    StoredRecommendation,
    dataset_with_hash,
    find_query_task,
    get_recommendation,
    not_found_message,
    now_literal,
    principal_name,
    principal_node,
    raw_store,
    recommendation_node,
)
from metakg.kg.shapes import check_quads
from metakg.kg.vocabulary import MKG, PROV, A, entity, entity_key, lit

if TYPE_CHECKING:
    from metakg.kg.graph import KnowledgeGraph
    from metakg.kg.records import Run, RunInput

__all__ = ["REASON_TAG", "VERDICTS", "Feedback", "feedback_id", "list_feedback", "outcome_quads",
           "record_feedback", "record_run_outcomes"]

#: The tag that carries a feedback's reason on the run that records its outcome.
REASON_TAG = "feedback_reason"
#: What can happen to a recommended configuration.
VERDICTS = ("used", "skipped", "rejected")


@dataclass(frozen=True)
class Feedback:
    """What happened to one ranked configuration of a recommendation."""

    id: str
    recommendation_id: str
    rank: int
    config_id: str
    verdict: str
    created: str
    reason: str = ""
    score: float | None = None
    run_id: str | None = None
    principal: str | None = None
    #: the later feedback of the same principal on the same rank that revised this one
    revised_by: str | None = None


def feedback_id(rec_id: str, rank: int, verdict: str, score: float | None, reason: str,
                principal: str | None, revises: str | None = None) -> str:
    """The id of a piece of feedback: a hash of what it says, who says it and which of their
    feedback it revises, so that the same feedback sent again (a client's retry after a lost
    answer) is the same feedback, stored once, and its outcome the same run, learnt from
    once; and the same words said again after a revision are a new revision."""
    import hashlib

    said = {"recommendation": rec_id, "rank": int(rank), "verdict": verdict,
            "score": None if score is None else float(score), "reason": reason,
            "principal": principal}
    text = canonical_json(said | ({"revises": revises} if revises else {}))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _feedback_quads(rec: StoredRecommendation, item: RankedConfiguration, *, verdict: str,
                    reason: str, score: float | None, run_id: str | None,
                    principal: str | None, fb_id: str | None = None) -> tuple[str, list[Quad]]:
    fb_id = fb_id or uuid.uuid4().hex
    node, g = entity("feedback", fb_id), DefaultGraph()
    quads = [Quad(node, A, MKG.Feedback, g), Quad(node, A, PROV.Entity, g),
             Quad(node, MKG.aboutRecommendation, entity("recommendation", rec.id), g),
             Quad(node, MKG.rank, lit(int(item.rank)), g),
             Quad(node, MKG.ofConfiguration, entity("config", item.config_id), g),
             Quad(node, MKG.verdict, lit(verdict), g), Quad(node, PROV.generatedAtTime, now_literal(), g)]
    if reason:
        quads.append(Quad(node, MKG.reason, lit(reason), g))
    if score is not None:
        quads.append(Quad(node, MKG.outcomeScore, lit(float(score)), g))
    if run_id:
        quads.append(Quad(node, MKG.outcomeRun, entity("run", run_id), g))
    if principal:
        quads.append(Quad(node, PROV.wasAttributedTo, principal_node(principal), g))
    return fb_id, quads


def _check_feedback(verdict: str, reason: str, score: float | None) -> None:
    if verdict not in VERDICTS:
        raise InvalidData(f"Feedback must be one of {', '.join(VERDICTS)}, not {verdict!r}.")
    if verdict == "rejected" and not reason.strip():
        raise InvalidData("Say why the configuration was rejected (--reason / reason).")
    if score is not None:
        if verdict != "used":
            raise InvalidData(f"A score is the outcome of running a configuration; give it with "
                              f"'used', not {verdict!r}.")
        if not math.isfinite(score):
            raise InvalidData(f"The outcome score must be a finite number, not {score!r}.")


def record_feedback(graph: KnowledgeGraph, rec_id: str, *, rank: int, verdict: str,
                    score: float | None = None, reason: str = "",
                    principal: str | None = None, source: str = "feedback") -> Feedback:
    """Record what happened to the configuration at ``rank`` of a recommendation.

    An outcome ``score`` of a used configuration on a table that is in the graph (the
    recommendation's task, or a task of its target on the dataset with its content hash) is
    logged as a run of that configuration on that task, tagged ``recommendation=<id>``: the
    recommender learns from it. Without such a task only the feedback is stored. The same
    feedback sent again by the same principal (a retry) is stored, and learnt from, once.

    Args:
        graph: the knowledge graph.
        rec_id: the recommendation's id.
        rank: the configuration's rank (1-based).
        verdict: ``used``, ``skipped`` or ``rejected``.
        score: the outcome by the recommendation's metric (``used`` only).
        reason: why (required for ``rejected``).
        principal: who says so.
        source: what logged it (the outcome run's ``source``).

    Returns:
        The stored feedback.

    Raises:
        NotFound: no recommendation has this id.
        InvalidData: an unknown verdict, a rank out of range, a score that is not a possible
            value of the recommendation's metric or given without ``used``, or a rejection
            without a reason; nothing is written.
    """
    _check_feedback(verdict, reason, score)
    rec = get_recommendation(graph, rec_id)
    if score is not None:  # with or without a task to log it on, a score must be possible
        check_score(rec.query.metric, score)
    item = rec.at_rank(rank)
    with _WRITING:  # a person's revisions of a rank form one chain (within this process)
        earlier = list_feedback(graph, rec.id)
        current = _current(earlier, item.rank, principal)
        if current is not None and _says(current, verdict, score, reason):
            return _settle(graph, current)  # the same feedback again: stored once
        fb_id = feedback_id(rec.id, item.rank, verdict, score, reason, principal,
                            revises=current.id if current else None)
        task_id = _outcome_task(graph, rec) if score is not None else None
        if task_id is not None:
            _check_outcome_scale(graph, rec.query.metric, task_id, float(score))  # type: ignore[arg-type]
            from metakg.kg.records import RunInput

            # the run's tag makes log_run record this feedback with it, in one write; its id
            # makes the same outcome sent again the same run (log_runs takes it as logged)
            config = graph.get_configuration(item.config_id).config
            tags = {RECOMMENDATION_TAG: rec.id} | ({REASON_TAG: reason} if reason else {})
            run = graph.log_run(RunInput(task_id=task_id, config=config,
                                         fold_scores={rec.query.metric: [float(score)]},  # type: ignore[arg-type]
                                         principal=principal, source=source, tags=tags,
                                         run_id=_outcome_run_id(fb_id)))
            new = next(f for f in list_feedback(graph, rec.id) if f.run_id == run.id)
            return _settle(graph, new)
        stored = next((f for f in earlier if f.id == fb_id), None)
        if stored is not None:  # the same feedback again: stored once
            return stored
        fb_id, quads = _feedback_quads(rec, item, verdict=verdict, reason=reason, score=score,
                                       run_id=None, principal=principal, fb_id=fb_id)
        check_quads(quads)
        raw_store(graph).add(quads)
        new = next(f for f in list_feedback(graph, rec.id) if f.id == fb_id)
        return _settle(graph, new)


#: Serialises feedback writes in this process, so that a revision names the feedback it
#: revises; processes sharing a store are settled afterwards instead (:func:`_settle`).
_WRITING = threading.Lock()


def _current(feedback: Sequence[Feedback], rank: int, principal: str | None) -> Feedback | None:
    """A person's current word on a rank: their latest feedback on it not revised (none for
    feedback without a principal: who said it cannot be told apart)."""
    if principal is None:
        return None
    mine = [f for f in feedback if f.rank == rank and f.principal == principal and f.revised_by is None]
    return mine[-1] if mine else None


def _says(f: Feedback, verdict: str, score: float | None, reason: str) -> bool:
    same_score = (f.score is None) if score is None else (f.score is not None and float(f.score) == float(score))
    return f.verdict == verdict and same_score and f.reason == reason


def _settle(graph: KnowledgeGraph, new: Feedback) -> Feedback:
    """Leave ``new``'s principal one current word on its rank, the newest: their other
    feedback on that rank not yet revised is marked revised by the newest
    (``prov:wasRevisionOf``), and an outcome run logged from it is withdrawn
    (``mkg:withdrawnRun`` keeps its id), so the recommender learns from the latest outcome
    only; a proposal that run answered is answered by the newest's outcome run, or open again.
    A run the principal logged themselves stays: it was run. Feedback without a principal
    revises nothing.

    Read after the write, so two processes that each wrote a revision of the same feedback
    at once both settle on the same newest one (by the writers' clocks, then id). Each part
    of the change is conditional on what it changes still being there, so a writer that read
    an older graph changes nothing another writer already settled; the settle reads again
    until one current word is left.

    Returns:
        ``new`` as the graph now holds it (``revised_by`` set when a newer one revised it).
    """
    if new.principal is None:
        return new
    for _ in range(_SETTLE_ROUNDS):
        current = _current_words(graph, new)
        if len(current) <= 1:
            break
        newest = max(current, key=_newest_first_key)
        _revise(graph, newest, [f for f in current if f.id != newest.id])
    _mend_answers(graph, new)
    return next(f for f in list_feedback(graph, new.recommendation_id) if f.id == new.id)


def _mend_answers(graph: KnowledgeGraph, new: Feedback) -> None:
    """Move a proposal still answered by an outcome run this rank's feedback withdrew to the
    current word's run, or open it again: a writer racing the settle can move an answer to a
    run that another writer withdraws at the same moment."""
    from metakg.kg.proposals import moved_answer

    rows = graph.store.select(
        """SELECT DISTINCT ?old WHERE { ?f mkg:aboutRecommendation ?r ; mkg:rank ?k ;
             mkg:withdrawnRun ?old . ?x mkg:answeredBy ?old }""",
        {"r": recommendation_node(new.recommendation_id), "k": new.rank})
    if not rows:
        return
    current = _current_words(graph, new)
    replacement = max(current, key=_newest_first_key).run_id if current else None
    graph.store.replace_if([change for r in rows
                            for change in moved_answer(graph, entity_key(r["old"]), replacement)])


def _current_words(graph: KnowledgeGraph, new: Feedback) -> list[Feedback]:
    """``new``'s principal's feedback on its rank that nothing revises, as the graph holds it."""
    return [f for f in list_feedback(graph, new.recommendation_id) if f.rank == new.rank
            and f.principal == new.principal and f.revised_by is None]


#: Reads a settle makes at most (a writer racing it may add one more current word per round).
_SETTLE_ROUNDS = 5


def _newest_first_key(f: Feedback) -> tuple[datetime, str]:
    """Order feedback by when it was written (as a time, not as text: Oxigraph writes
    ``10:00:00Z`` and ``10:00:00.5Z``, which sort the other way as strings), then by id."""
    return datetime.fromisoformat(f.created), f.id


def _revise(graph: KnowledgeGraph, newest: Feedback, old: Sequence[Feedback]) -> None:
    """Mark ``old`` revised by ``newest``, withdrawing their outcome runs (see :func:`_settle`);
    each withdrawal and each moved proposal only if still as read."""
    from metakg.kg.proposals import moved_answer
    from metakg.kg.run_progress import run_quads

    g, node = DefaultGraph(), entity("feedback", newest.id)
    changes = []
    for f in old:
        fb = entity("feedback", f.id)
        revision = Quad(node, PROV.wasRevisionOf, fb, g)
        if not (f.run_id or "").startswith(_OUTCOME_PREFIX):
            # a statement of the feedback itself, which is there whatever happened since
            changes.append(([Quad(fb, MKG.verdict, lit(f.verdict), g)], [], [revision]))
            continue
        run = entity("run", f.run_id)
        outcome = Quad(fb, MKG.outcomeRun, run, g)
        changes.append(([outcome], [outcome, *run_quads(graph, f.run_id)],
                        [revision, Quad(fb, MKG.withdrawnRun, run, g)]))
        changes += moved_answer(graph, f.run_id, newest.run_id)
    # through the graph's store, so that the recommenders' learning stamp moves
    graph.store.replace_if(changes)


_OUTCOME_PREFIX = "outcome-"


def _outcome_run_id(fb_id: str) -> str:
    """The id of the run that records the outcome given with a piece of feedback."""
    return _OUTCOME_PREFIX + fb_id


#: An outcome in the target's units above this many of the target's standard deviations is
#: refused: predicting the mean scores about one, and no completed run of the seed graph
#: scores above 2.1, so such a score is almost surely in other units (an MSE, another target).
OUTCOME_SCALE_LIMIT = 10.0


def _check_outcome_scale(graph: KnowledgeGraph, metric: str, task_id: str, score: float) -> None:
    """Refuse an outcome in the target's units (an RMSE, an MAE) far beyond the table's own
    target scale, before it is learnt as a run.

    Raises:
        InvalidData: the score is above :data:`OUTCOME_SCALE_LIMIT` standard deviations of
            the task's target; nothing is written.
    """
    if metric not in IN_TARGET_UNITS:
        return
    sd = graph.get_task(task_id).target_sd
    if sd and score > OUTCOME_SCALE_LIMIT * sd:
        raise InvalidData(
            f"{metric}={score:g} is {score / sd:.0f} times the standard deviation of this "
            f"table's target ({sd:.4g}); predicting the mean scores about {sd:.4g}. Give the "
            f"{metric} in the target's own units on this table (not a squared error, not "
            "another target's); nothing was written.")


def _outcome_task(graph: KnowledgeGraph, rec: StoredRecommendation) -> str | None:
    """The task an outcome of ``rec`` is a run of: its own, or one found now on the dataset
    with its query's content hash (ingested since), of its target and type."""
    q = rec.query
    if q.task_id:
        return q.task_id
    dataset_id = q.dataset_id or (dataset_with_hash(graph, q.query_digest) if q.query_digest else None)
    if dataset_id is None or q.target is None:
        return None
    return find_query_task(graph, dataset_id=dataset_id, task_type=q.task_type, metric=q.metric,
                           target=q.target)


def list_feedback(graph: KnowledgeGraph, rec_id: str) -> list[Feedback]:
    """The feedback on a recommendation, oldest first.

    Raises:
        NotFound: no recommendation has this id.
    """
    node = recommendation_node(rec_id)
    store = raw_store(graph)
    if not store.ask("ASK { ?r a mkg:Recommendation }", {"r": node}):
        raise NotFound(not_found_message(rec_id))
    rows = store.select(
        """SELECT ?f ?rank ?c ?verdict ?at ?reason ?score ?run ?who ?by WHERE {
             ?f mkg:aboutRecommendation ?r ; a mkg:Feedback ; mkg:rank ?rank ;
                mkg:ofConfiguration ?c ; mkg:verdict ?verdict ; prov:generatedAtTime ?at .
             OPTIONAL { ?f mkg:reason ?reason } OPTIONAL { ?f mkg:outcomeScore ?score }
             OPTIONAL { ?f mkg:outcomeRun ?run } OPTIONAL { ?f prov:wasAttributedTo ?who }
             OPTIONAL { ?by prov:wasRevisionOf ?f } }
           ORDER BY ?at ?f""", {"r": node})
    # one per feedback: a retry two processes stored at once has two times (the first
    # counts), and a revision two racing writers made has two revisers (``revised_by`` is
    # the smallest id; the current word is the one no feedback revises)
    first: dict[str, dict] = {}
    for r in rows:
        seen = first.setdefault(r["f"], dict(r))
        if r.get("by") and (not seen.get("by") or r["by"] < seen["by"]):
            seen["by"] = r["by"]
    return [Feedback(id=entity_key(r["f"]), recommendation_id=entity_key(node), rank=int(r["rank"]),
                     config_id=entity_key(r["c"]), verdict=r["verdict"], created=str(r["at"]),
                     reason=r.get("reason", ""), score=r.get("score"),
                     run_id=entity_key(r["run"]) if r.get("run") else None,
                     principal=principal_name(r.get("who")),
                     revised_by=entity_key(r["by"]) if r.get("by") else None)
            for r in first.values()]


def record_run_outcomes(graph: KnowledgeGraph, rec_id: str, runs: Sequence[Run]) -> list[Feedback]:
    """Record runs already in the graph (e.g. written by the runner for ``metakg recommend
    --run``) as the outcomes of the ranks whose configurations they ran; a run already
    recorded for this recommendation, or of a configuration it did not rank, is passed over.

    Returns:
        The new feedback.

    Raises:
        NotFound: no recommendation has this id.
    """
    rec = get_recommendation(graph, rec_id)
    done = {f.run_id for f in list_feedback(graph, rec.id)}
    by_config = {r.config_id: r for r in rec.ranked}
    quads: list[Quad] = []
    ids: list[str] = []
    for run in runs:
        item = by_config.get(run.configuration_id)
        if item is None or run.id in done:
            continue
        failed = run.status != "completed"
        fb_id, more = _feedback_quads(
            rec, item, verdict="used", score=None if failed else run.scores.get(rec.query.metric),
            reason=f"the run failed: {run.error or 'no error text'}" if failed else "",
            run_id=run.id, principal=run.principal)
        quads += more
        ids.append(fb_id)
        done.add(run.id)
    if quads:
        check_quads(quads)
        raw_store(graph).add(quads)
    return [f for f in list_feedback(graph, rec.id) if f.id in set(ids)]


def outcome_quads(graph: KnowledgeGraph, runs: Sequence[tuple[RunInput, Run]],
                  recommendations: dict[str, StoredRecommendation] | None = None) -> list[Quad]:
    """Feedback quads for runs tagged ``recommendation=<id>``: the outcome (``used``, the
    run's mean score by the recommendation's metric, the run) of the rank whose configuration
    the run executed. A run of a configuration the recommendation did not rank is logged
    without feedback.

    Args:
        graph: the knowledge graph.
        runs: (what was logged, the run record) pairs, before they are written.
        recommendations: the recommendations already read, by id (read here otherwise).

    Returns:
        The quads to write with the runs.

    Raises:
        NotFound: a run names a recommendation that is not in the graph; nothing is written.
    """
    quads: list[Quad] = []
    memo: dict[str, StoredRecommendation] = dict(recommendations or {})
    for given, run in runs:
        rec_id = given.tags.get(RECOMMENDATION_TAG)
        if not rec_id:
            continue
        if rec_id not in memo:
            try:
                memo[rec_id] = get_recommendation(graph, rec_id)
            except NotFound:
                raise NotFound(f"A run is tagged {RECOMMENDATION_TAG}={rec_id!r}, but the graph "
                               f"has no recommendation {rec_id!r}; fix the tag (the `id` printed "
                               "by `metakg recommend`) or drop it. No run was logged.") from None
        rec = memo[rec_id]
        item = next((r for r in rec.ranked if r.config_id == run.configuration_id), None)
        if item is None:
            continue
        score = run.scores.get(rec.query.metric) if run.status == "completed" else None
        reason = (given.tags.get(REASON_TAG, "") if run.status == "completed"
                  else f"the run failed: {run.error or 'no error text'}")
        # an outcome given as feedback (record_feedback) keeps that feedback's id
        fb_id = run.id.removeprefix(_OUTCOME_PREFIX) if run.id.startswith(_OUTCOME_PREFIX) else None
        quads += _feedback_quads(rec, item, verdict="used", reason=reason, score=score,
                                 run_id=run.id, principal=run.principal, fb_id=fb_id)[1]
    return quads
