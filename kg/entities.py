"""Turn records into quads (the graph's write model). One function per entity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad

from metakg.kg.measures import HIGHER_IS_BETTER
from metakg.kg.records import Configuration, Dataset, Task
from metakg.kg.run_nquads import fold_nquads, mean_nquads, nquads_to_quads, run_header_nquads
from metakg.kg.vocabulary import DCT, MKG, MLS, PROV, RDF, XSD, entity, lit

__all__ = [
    "configuration_quads",
    "dataset_quads",
    "evaluation_quads",
    "measure_quads",
    "metafeature_quads",
    "principal_iri",
    "run_header_quads",
    "task_quads",
]

_G = DefaultGraph()
A = RDF.type


def _q(s: NamedNode, p: NamedNode, o: Any) -> Quad:
    return Quad(s, p, o if isinstance(o, NamedNode | Literal) else lit(o), _G)


def dataset_quads(d: Dataset) -> list[Quad]:
    """Quads of a dataset node with its schema."""
    s = entity("dataset", d.id)
    out = [
        _q(s, A, MLS.Dataset), _q(s, A, PROV.Entity),
        _q(s, DCT.title, d.name), _q(s, MKG.contentHash, d.content_hash),
        _q(s, MKG.rows, d.rows), _q(s, MKG.columns, d.columns),
    ]
    if d.description:
        out.append(_q(s, DCT.description, d.description))
    out.extend(_q(s, DCT.source, src) for src in d.sources)
    if d.default_target:
        out.append(_q(s, MKG.defaultTarget, d.default_target))
    if d.derived_from:
        out.append(_q(s, PROV.wasDerivedFrom, entity("dataset", d.derived_from)))
        out.append(_q(s, MKG.derivation, d.derivation))
    for c in d.schema:
        col = NamedNode(f"{s.value}/column/{c.position}")
        out += [_q(s, MKG.hasColumn, col), _q(col, A, MKG.Column), _q(col, MKG.name, c.name),
                _q(col, MKG.dtype, c.dtype), _q(col, MKG.position, c.position)]
    return out


def task_quads(t: Task) -> list[Quad]:
    """Quads of a task node."""
    s = entity("task", t.id)
    out = [
        _q(s, A, MKG.Task), _q(s, A, MLS.Task),
        _q(s, MLS.definedOn, entity("dataset", t.dataset_id)),
        _q(s, MKG.target, t.target), _q(s, MKG.taskType, t.task_type),
        _q(s, MKG.metric, t.metric), _q(s, MKG.folds, t.folds), _q(s, MKG.seed, t.seed),
    ]
    if t.subsample_rows is not None:
        out.append(_q(s, MKG.subsampleRows, t.subsample_rows))
    if t.n_classes is not None:
        out.append(_q(s, MKG.nClasses, t.n_classes))
    if t.target_sd is not None:
        out.append(_q(s, MKG.targetSd, float(t.target_sd)))
    return out


def configuration_quads(c: Configuration) -> list[Quad]:
    """Quads of a configuration and of its family's implementation node."""
    s = entity("config", c.id)
    impl = entity("implementation", c.family)
    from metakg.kg.config_params import parameter_quads_from_json

    return [
        _q(s, A, MKG.Configuration), _q(s, A, MLS.HyperParameterSetting),
        _q(s, MKG.json, c.json), _q(s, MKG.family, c.family),
        _q(impl, A, MLS.Implementation), _q(impl, DCT.title, c.family),
        *parameter_quads_from_json(s, c.json),  # what run search filters and orders on
    ]


def measure_quads() -> list[Quad]:
    """Quads declaring every known evaluation measure."""
    out = []
    for name, higher in HIGHER_IS_BETTER.items():
        m = entity("measure", name)
        out += [_q(m, A, MLS.EvaluationMeasure), _q(m, DCT.title, name),
                _q(m, MKG.higherIsBetter, higher)]
    return out


def principal_iri(name: str) -> NamedNode:
    """IRI of a principal (person or service) by name."""
    from urllib.parse import quote

    return entity("principal", quote(name, safe=""))


def run_header_quads(
    run_id: str,
    task: Task,
    config: Configuration,
    *,
    status: str,
    error: str | None = None,
    principal: str | None = None,
    started_at: datetime | None = None,
    device: str | None = None,
    source: str | None = None,
    code_version: str | None = None,
    tags: dict[str, str] | None = None,
    software: dict[str, str] | None = None,
) -> list[Quad]:
    """Quads of a run node (without evaluations), from the one run serialiser
    (:func:`kg.run_nquads.run_header_nquads`).

    Raises:
        InvalidData: the run id cannot be part of an IRI.
    """
    return nquads_to_quads(run_header_nquads(
        run_id, task_iri=entity("task", task.id).value,
        dataset_iri=entity("dataset", task.dataset_id).value,
        config_iri=entity("config", config.id).value,
        implementation_iri=entity("implementation", config.family).value, status=status,
        started_at=(started_at or datetime.now(UTC)).astimezone(UTC), error=error,
        principal_iri=principal_iri(principal).value if principal else None, device=device,
        source=source, code_version=code_version, tags=tags, software=software))


def evaluation_quads(run_id: str, measure: str, value: float, fold: int | None) -> list[Quad]:
    """Quads of one evaluation of a run: per fold (``fold`` >= 0) or the mean (``None``),
    from the one run serialiser (:mod:`kg.run_nquads`).

    Raises:
        InvalidData: an unknown measure or a bad run id.
    """
    text = (mean_nquads(run_id, {measure: value}) if fold is None
            else fold_nquads(run_id, fold, {measure: value}))
    return nquads_to_quads(text)


def metafeature_quads(
    dataset_id: str,
    values: dict[str, float | None],
    *,
    groups: dict[str, str],
    reasons: dict[str, str],
    extractor: str,
    version: str,
) -> list[Quad]:
    """Quads of a dataset's meta-features (``mls:DatasetCharacteristic`` nodes)."""
    from urllib.parse import quote

    d = entity("dataset", dataset_id)
    out = []
    for name, value in values.items():
        q = NamedNode(f"{d.value}/quality/{quote(extractor, safe='')}/{quote(name, safe='')}")
        out += [_q(d, MLS.hasQuality, q), _q(q, A, MLS.DatasetCharacteristic),
                _q(q, MKG.feature, name), _q(q, MKG.extractor, extractor),
                _q(q, MKG.extractorVersion, version)]
        if name in groups:
            out.append(_q(q, MKG.group, groups[name]))
        if value is not None:
            out.append(Quad(q, MLS.hasValue, Literal(repr(float(value)), datatype=XSD.double), _G))
        else:
            out.append(_q(q, MKG.missingReason, reasons.get(name, "not computed")))
    return out
