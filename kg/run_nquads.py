"""The one serialiser of runs: a run's header and evaluations as N-Quads text.

Every writer of runs goes through here: :meth:`kg.graph.KnowledgeGraph.log_runs` (complete
runs, the hot path of bulk logging), :mod:`kg.run_progress` (the runner's fold-by-fold
writes) and :func:`kg.entities.run_header_quads` / :func:`kg.entities.evaluation_quads`
(the same text parsed into pyoxigraph quads).

Building one pyoxigraph ``Quad`` object per triple and checking it with the generic shape
checker costs about 5 µs a triple in Python, so a batch of runs would be bounded near 1,000
runs/s. Here a run is written from a fixed template instead:

- the template's output conforms to the SHACL shapes (``kg/resources/shapes.ttl``; a test
  checks it for many kinds of run);
- every *value* that varies (measure, fold scores, run id, free text) is checked before
  anything is written: measures against the known ones, IRIs by pyoxigraph's IRI parser,
  free text escaped by pyoxigraph's N-Triples serialiser;
- :meth:`kg.graph.KnowledgeGraph.log_runs` additionally passes the first run of every
  batch through the full shape checker, so a template bug cannot slip through unnoticed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, parse

from metakg.kg.errors import InvalidData
from metakg.kg.measures import HIGHER_IS_BETTER
from metakg.kg.vocabulary import MKG, MLS, PROV, RDF, XSD, entity

__all__ = ["MEAN_PREDICATES", "double_lexical", "fold_mean", "fold_nquads", "mean_nquads",
           "mean_predicate", "nquads_to_quads", "run_header_nquads", "run_nquads",
           "run_term"]

_T = f"{RDF.type}"
_RUN_HEAD = f" {_T} {MLS.Run} .\n"
_PROV_ACTIVITY = f" {_T} {PROV.Activity} .\n"
_ACHIEVES, _HAS_INPUT, _CONFIGURATION = f" {MLS.achieves} ", f" {MLS.hasInput} ", f" {MKG.configuration} "
_EXECUTES, _STATUS, _STARTED = f" {MLS.executes} ", f" {MKG.status} ", f" {PROV.startedAtTime} "
_ERROR, _ASSOCIATED, _DEVICE = f" {MKG.error} ", f" {PROV.wasAssociatedWith} ", f" {MKG.device} "
_SOURCE, _CODE, _TAG, _SOFTWARE = f" {MKG.source} ", f" {MKG.codeVersion} ", f" {MKG.tag} ", f" {MKG.softwareVersions} "
_HAS_OUTPUT, _SPECIFIED_BY, _HAS_VALUE = f" {MLS.hasOutput} ", f" {MLS.specifiedBy} ", f" {MLS.hasValue} "
_IS_EVALUATION = f" {_T} {MLS.ModelEvaluation} .\n"
_FOLD, _MEAN = f" {MKG.fold} ", f' {MKG.aggregate} "mean" .\n'
_MEAN_EVALUATION = f" {MKG.meanEvaluation} "
_DOUBLE, _INTEGER, _DATETIME = f"^^{XSD.double}", f"^^{XSD.integer}", f"^^{XSD.dateTime}"
_MEASURE_IRIS = {m: entity("measure", m).value for m in HIGHER_IS_BETTER}
#: measure → the predicate from a run straight to its mean value (``mkg:mean_roc_auc``): one
#: triple instead of two joins through the mean evaluation, for run search's metric
#: conditions and ordering. The same value as the evaluation's ``mls:hasValue``.
MEAN_PREDICATES: dict[str, NamedNode] = {m: MKG[f"mean_{m}"] for m in HIGHER_IS_BETTER}
_MEAN_PREDICATE_TERMS = {m: f" {p} " for m, p in MEAN_PREDICATES.items()}


def double_lexical(value: float) -> str:
    """The xsd:double lexical form of a float (``NaN``, ``INF`` and ``-INF`` included)."""
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "INF" if value > 0 else "-INF"


def _text(value: str) -> str:
    """A plain string literal, N-Triples-escaped by pyoxigraph."""
    return str(Literal(value))


def fold_mean(values: list[float]) -> float:
    """The mean of a run's fold values as the graph records it (``NaN`` when ``inf`` and
    ``-inf`` are both among them).

    Args:
        values: one value per fold (at least one).

    Returns:
        The exactly rounded mean (``math.fsum``: the same whatever the order of the folds).
    """
    try:
        return math.fsum(values) / len(values)
    except ValueError:  # inf and -inf among the folds
        return math.nan


def nquads_to_quads(text: str) -> list[Quad]:
    """Parse N-Quads text of this module into pyoxigraph quads (default graph)."""
    return list(parse(text.encode(), format=RdfFormat.N_QUADS))


def run_term(run_id: str) -> str:
    """``<IRI>`` of a run, checked by pyoxigraph's IRI parser.

    Raises:
        InvalidData: the run id cannot be part of an IRI.
    """
    try:
        return str(NamedNode(entity("run", run_id).value))
    except ValueError:
        raise InvalidData(f"Run id {run_id!r} cannot be part of an IRI; use letters, digits, "
                          "'-', '_' or '.'.") from None


def _measure_iri(measure: str) -> str:
    m = _MEASURE_IRIS.get(measure)
    if m is None:
        raise InvalidData(f"Unknown measure {measure!r}; known measures: "
                          f"{', '.join(HIGHER_IS_BETTER)}.")
    return m


def mean_predicate(measure: str) -> NamedNode:
    """The predicate from a run to its mean value of ``measure`` (:data:`MEAN_PREDICATES`).

    Raises:
        InvalidData: an unknown measure.
    """
    _measure_iri(measure)
    return MEAN_PREDICATES[measure]


def _fold_parts(r: str, measure: str, m: str, fold: int, value: float) -> list[str]:
    e = f"{r[:-1]}/e/{measure}/{fold}>"
    return [r, _HAS_OUTPUT, e, " .\n", e, _IS_EVALUATION, e, _SPECIFIED_BY, "<", m, "> .\n",
            e, _HAS_VALUE, '"', double_lexical(value), '"', _DOUBLE, " .\n",
            e, _FOLD, '"', str(fold), '"', _INTEGER, " .\n"]


def _mean_parts(r: str, measure: str, m: str, value: float) -> list[str]:
    e = f"{r[:-1]}/e/{measure}/mean>"
    v = double_lexical(value)
    return [r, _HAS_OUTPUT, e, " .\n", e, _IS_EVALUATION, e, _SPECIFIED_BY, "<", m, "> .\n",
            e, _HAS_VALUE, '"', v, '"', _DOUBLE, " .\n",
            e, _MEAN, r, _MEAN_EVALUATION, e, " .\n",
            r, _MEAN_PREDICATE_TERMS[measure], '"', v, '"', _DOUBLE, " .\n"]


def _header_parts(
    r: str, *, task_iri: str, dataset_iri: str, config_iri: str, implementation_iri: str,
    status: str, started_at: datetime, error: str | None, principal_iri: str | None,
    device: str | None, source: str | None, code_version: str | None,
    tags: Mapping[str, str] | None, software: Mapping[str, str] | None,
) -> list[str]:
    parts = [
        r, _RUN_HEAD, r, _PROV_ACTIVITY,
        r, _ACHIEVES, "<", task_iri, "> .\n",
        r, _HAS_INPUT, "<", dataset_iri, "> .\n",
        r, _HAS_INPUT, "<", config_iri, "> .\n",
        r, _CONFIGURATION, "<", config_iri, "> .\n",
        r, _EXECUTES, "<", implementation_iri, "> .\n",
        r, _STATUS, '"', status, '" .\n',
        r, _STARTED, '"', started_at.isoformat(), '"', _DATETIME, " .\n",
    ]
    if error:
        parts += [r, _ERROR, _text(error[:4000]), " .\n"]
    if principal_iri:
        parts += [r, _ASSOCIATED, "<", principal_iri, "> .\n"]
    if device:
        parts += [r, _DEVICE, _text(device), " .\n"]
    if source:
        parts += [r, _SOURCE, _text(source), " .\n"]
    if code_version:
        parts += [r, _CODE, _text(code_version), " .\n"]
    for k, v in sorted((tags or {}).items()):
        parts += [r, _TAG, _text(f"{k}={v}"), " .\n"]
    if software:
        parts += [r, _SOFTWARE, _text(json.dumps(dict(software), sort_keys=True)), " .\n"]
    return parts


def run_header_nquads(
    run_id: str,
    *,
    task_iri: str,
    dataset_iri: str,
    config_iri: str,
    implementation_iri: str,
    status: str,
    started_at: datetime,
    error: str | None = None,
    principal_iri: str | None = None,
    device: str | None = None,
    source: str | None = None,
    code_version: str | None = None,
    tags: Mapping[str, str] | None = None,
    software: Mapping[str, str] | None = None,
) -> str:
    """N-Quads text of a run's node without its evaluations (see :func:`run_nquads`).

    Raises:
        InvalidData: the run id cannot be part of an IRI.
    """
    return "".join(_header_parts(
        run_term(run_id), task_iri=task_iri, dataset_iri=dataset_iri, config_iri=config_iri,
        implementation_iri=implementation_iri, status=status, started_at=started_at,
        error=error, principal_iri=principal_iri, device=device, source=source,
        code_version=code_version, tags=tags, software=software))


def fold_nquads(run_id: str, fold: int, scores: Mapping[str, float]) -> str:
    """N-Quads text of one fold's evaluations of a run (one per measure).

    Args:
        run_id: the run.
        fold: the fold number (0-based).
        scores: measure → value; measures must be known.

    Raises:
        InvalidData: an unknown measure or a bad run id.
    """
    r = run_term(run_id)
    parts: list[str] = []
    for measure, value in scores.items():
        parts += _fold_parts(r, measure, _measure_iri(measure), fold, float(value))
    return "".join(parts)


def mean_nquads(run_id: str, means: Mapping[str, float]) -> str:
    """N-Quads text of a run's mean evaluations (``mkg:meanEvaluation``), one per measure,
    and the run's ``mkg:mean_<measure>`` value of each.

    Raises:
        InvalidData: an unknown measure or a bad run id.
    """
    r = run_term(run_id)
    parts: list[str] = []
    for measure, value in means.items():
        parts += _mean_parts(r, measure, _measure_iri(measure), float(value))
    return "".join(parts)


def run_nquads(
    run_id: str,
    *,
    task_iri: str,
    dataset_iri: str,
    config_iri: str,
    implementation_iri: str,
    status: str,
    started_at: datetime,
    fold_scores: Mapping[str, list[float]],
    error: str | None = None,
    principal_iri: str | None = None,
    device: str | None = None,
    source: str | None = None,
    code_version: str | None = None,
    tags: Mapping[str, str] | None = None,
    software: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, float]]:
    """N-Quads text of one complete run (header, per-fold and mean evaluations) and its mean
    scores.

    IRIs passed in must already be valid (built with :func:`kg.vocabulary.entity`).

    Args:
        run_id: the run's id (its IRI is checked here).
        task_iri, dataset_iri, config_iri, implementation_iri: IRIs of what the run uses.
        status: ``completed`` or ``failed`` (``running`` for a run the runner is still
            writing fold by fold).
        started_at: start time (timezone-aware, UTC).
        fold_scores: measure → one value per fold; measures must be known.
        error, principal_iri, device, source, code_version, tags, software: provenance.

    Returns:
        The text (one triple a line, default graph) and measure → mean of the folds
        (:func:`fold_mean`).

    Raises:
        InvalidData: an unknown measure, a value that is not a number, or a run id that
            cannot be part of an IRI.
    """
    r = run_term(run_id)
    parts = _header_parts(
        r, task_iri=task_iri, dataset_iri=dataset_iri, config_iri=config_iri,
        implementation_iri=implementation_iri, status=status, started_at=started_at,
        error=error, principal_iri=principal_iri, device=device, source=source,
        code_version=code_version, tags=tags, software=software)
    means: dict[str, float] = {}
    for measure, values in fold_scores.items():
        m = _measure_iri(measure)
        try:
            vals = [float(v) for v in values]
        except (TypeError, ValueError):
            raise InvalidData(f"Scores of {measure!r} must be numbers, got {values!r:.120}.") from None
        for fold, v in enumerate(vals):
            parts += _fold_parts(r, measure, m, fold, v)
        if vals:
            means[measure] = fold_mean(vals)
            parts += _mean_parts(r, measure, m, means[measure])
    return "".join(parts), means
