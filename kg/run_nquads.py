"""Serialise complete runs straight to N-Quads text: the hot path of bulk run logging.

Building one pyoxigraph ``Quad`` object per triple and checking it with the generic shape
checker costs about 5 µs a triple in Python, so a batch of runs would be bounded near 1,000
runs/s. Here a run is written from a fixed template instead:

- the template produces exactly the triples of :func:`kg.entities.run_header_quads` and
  :func:`kg.entities.evaluation_quads` (a test compares the two for many kinds of run, and
  checks the template's output against the SHACL shapes);
- every *value* that varies (status, measure, fold scores, IRIs, free text) is checked
  before anything is written: values against the same compiled shape rules
  (``kg/resources/shapes.ttl``), IRIs by pyoxigraph's IRI parser, free text escaped by
  pyoxigraph's N-Triples serialiser;
- :meth:`kg.graph.KnowledgeGraph.log_runs` additionally passes the first run of every
  batch through the full shape checker, so a template bug cannot slip through unnoticed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime

from pyoxigraph import Literal, NamedNode

from metakg.kg.errors import InvalidData
from metakg.kg.measures import HIGHER_IS_BETTER
from metakg.kg.vocabulary import MKG, MLS, PROV, RDF, XSD, entity

__all__ = ["double_lexical", "run_nquads"]

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
    """N-Quads text of one run (header, per-fold and mean evaluations) and its mean scores.

    IRIs passed in must already be valid (built with :func:`kg.vocabulary.entity`).

    Args:
        run_id: the run's id (its IRI is checked here).
        task_iri, dataset_iri, config_iri, implementation_iri: IRIs of what the run uses.
        status: ``completed`` or ``failed``.
        started_at: start time (timezone-aware, UTC).
        fold_scores: measure → one value per fold; measures must be known.
        error, principal_iri, device, source, code_version, tags, software: provenance.

    Returns:
        The text (one triple a line, default graph) and measure → mean of the folds.

    Raises:
        InvalidData: an unknown measure, a value that is not a number, or a run id that
            cannot be part of an IRI.
    """
    try:
        r = str(NamedNode(entity("run", run_id).value))
    except ValueError:
        raise InvalidData(f"Run id {run_id!r} cannot be part of an IRI; use letters, digits, "
                          "'-', '_' or '.'.") from None
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
    base = r[:-1]  # '<...run/id' without the closing '>'
    means: dict[str, float] = {}
    for measure, values in fold_scores.items():
        m = _MEASURE_IRIS.get(measure)
        if m is None:
            raise InvalidData(f"Unknown measure {measure!r}; known measures: "
                              f"{', '.join(HIGHER_IS_BETTER)}.")
        try:
            vals = [float(v) for v in values]
        except (TypeError, ValueError):
            raise InvalidData(f"Scores of {measure!r} must be numbers, got {values!r:.120}.") from None
        for fold, v in enumerate(vals):
            e = f"{base}/e/{measure}/{fold}>"
            parts += [r, _HAS_OUTPUT, e, " .\n", e, _IS_EVALUATION, e, _SPECIFIED_BY, "<", m,
                      "> .\n", e, _HAS_VALUE, '"', double_lexical(v), '"', _DOUBLE, " .\n",
                      e, _FOLD, '"', str(fold), '"', _INTEGER, " .\n"]
        if vals:
            try:
                mean = math.fsum(vals) / len(vals)
            except ValueError:  # inf and -inf among the folds
                mean = math.nan
            means[measure] = mean
            e = f"{base}/e/{measure}/mean>"
            parts += [r, _HAS_OUTPUT, e, " .\n", e, _IS_EVALUATION, e, _SPECIFIED_BY, "<", m,
                      "> .\n", e, _HAS_VALUE, '"', double_lexical(mean), '"', _DOUBLE, " .\n",
                      e, _MEAN, r, _MEAN_EVALUATION, e, " .\n"]
    return "".join(parts), means
