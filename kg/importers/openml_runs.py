"""Import OpenML tasks, studies and their runs; datasets with their qualities; evaluations.

Online use::

    report = import_openml(graph, tasks=[31], characteriser=characteriser)  # runs of task 31
    report = import_openml(graph, study=99)                                 # a study's runs
    ds = import_openml_dataset(graph, 31)                         # credit-g, its qualities
    import_openml_evaluations(graph, function="area_under_roc_curve", tasks=[31], size=1000)

Every call to the OpenML server goes through ``openml`` (openml-python), so its cache and
configuration apply; tests answer its HTTP requests with recorded responses. Runs are
identified by their OpenML run id: importing the same task or study again adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metakg.kg import dataset_index
from metakg.kg.errors import InvalidData, MetaKGError, NotFound, UpstreamError
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.graph_inputs import family_name
from metakg.kg.importers.openml_mapping import map_flow, metafeatures_from_qualities, run_measures
from metakg.kg.measures import is_possible_score, target_scale
from metakg.kg.records import Dataset, RunInput, Task
from metakg.kg.vocabulary import entity

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MEASURES", "Characteriser", "OpenMLImport", "SkippedOpenMLRun", "import_openml",
           "import_openml_dataset", "import_openml_evaluations", "setup_to_config"]

#: OpenML evaluation measure → ours.
MEASURES = {"area_under_roc_curve": "roc_auc", "predictive_accuracy": "accuracy",
            "root_mean_squared_error": "rmse", "mean_absolute_error": "mae",
            "log_loss": "log_loss"}
_FOLDS = 10  # OpenML's standard estimation procedure: 10-fold cross-validation


def _openml() -> Any:
    """openml-python, imported when first needed (an optional dependency).

    Raises:
        MetaKGError: it is not installed.
    """
    try:
        import openml
    except ImportError:
        raise MetaKGError("Importing from OpenML needs openml-python: pip install "
                          "'metakg[importers]' (or pip install openml).") from None
    return openml


def import_openml_dataset(graph: KnowledgeGraph, dataset_id: int) -> Dataset:
    """Download an OpenML dataset and add it with its qualities (as meta-features of the
    extractor ``openml``). Identity is still the content hash: an OpenML copy of a table
    already in the graph joins that node (its ``openml:ID`` source is added).
    """
    oml = _openml().datasets.get_dataset(dataset_id, download_data=True,
                                         download_qualities=True,
                                         download_features_meta_data=False)
    target = oml.default_target_attribute
    df, *_ = oml.get_data(dataset_format="dataframe")
    ds = graph.add_dataset(df, name=oml.name, target=target if target in df.columns else None,
                           description=oml.description or "", source=f"openml:{dataset_id}")
    qualities = {k: (float(v) if v is not None and math.isfinite(float(v)) else None)
                 for k, v in (oml.qualities or {}).items()}
    if qualities:
        graph.set_metafeatures(ds.id, qualities, reasons={k: "missing on OpenML" for k, v in
                                                          qualities.items() if v is None},
                               extractor="openml", version="qualities")
    return ds


def setup_to_config(flow_name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """An OpenML setup as a configuration: family ``openml:<flow>``, parameters by short name
    (``...RandomForestClassifier(1)_n_estimators`` → ``n_estimators``), JSON values decoded."""
    params = {}
    for full, value in (parameters or {}).items():
        name = full.rsplit(")_", 1)[-1]
        try:
            params[name] = json.loads(value) if isinstance(value, str) else value
        except (json.JSONDecodeError, TypeError):
            params[name] = value
    return {"family": f"openml:{family_name(flow_name)}", "params": params}


def import_openml_evaluations(
    graph: KnowledgeGraph, *, function: str, datasets: dict[int, Dataset] | None = None,
    task_types: dict[int, str] | None = None, **filters: Any,
) -> int:
    """Import ``openml.evaluations.list_evaluations_setups`` results as runs.

    Args:
        graph: destination.
        function: OpenML measure (``area_under_roc_curve``, ``predictive_accuracy``, ...).
        datasets: OpenML data id → dataset already imported (default: imported on demand).
        task_types: OpenML data id → classification/regression (default: from the measure).
        **filters: passed on (``tasks``, ``flows``, ``size``, ``offset``...).

    Returns:
        How many runs were added (one atomic write); evaluations on a dataset whose default
        target is not one of its columns are left out (no task to attach them to).

    Raises:
        InvalidData: a measure we cannot map.
    """
    if function not in MEASURES:
        raise InvalidData(f"OpenML measure {function!r} has no metakg equivalent; use one of "
                          f"{', '.join(MEASURES)}.")
    measure = MEASURES[function]
    frame = _openml().evaluations.list_evaluations_setups(function=function, per_fold=False,
                                                         output_format="dataframe", **filters)
    datasets = dict(datasets or {})
    runs = []
    for row in frame.to_dict(orient="records"):
        data_id = int(row["data_id"])
        if data_id not in datasets:
            datasets[data_id] = import_openml_dataset(graph, data_id)
        ds = datasets[data_id]
        if ds.default_target is None:  # OpenML names no column of the table as its target
            continue
        task_type = (task_types or {}).get(data_id) or (
            "regression" if measure in ("rmse", "mae") else "classification")
        task = graph.add_task(ds, target=ds.default_target, task_type=task_type, metric=measure,
                              folds=_FOLDS)
        values = row.get("values")
        folds = [float(v) for v in values] if isinstance(values, list) and values else [
            float(row["value"])]
        if not all(is_possible_score(measure, v) for v in folds):  # whole: dropping a fold shifts the rest
            continue
        runs.append(RunInput(
            task_id=task.id, config=setup_to_config(row["flow_name"], row.get("parameters") or {}),
            fold_scores={measure: folds}, principal=f"openml:{row.get('uploader_name') or row.get('uploader')}",
            source=f"openml:run/{row['run_id']}", tags={"openml_run": str(row["run_id"]),
                                                        "openml_task": str(row["task_id"])}))
    if runs:
        graph.log_runs(runs)
    return len(runs)


# ----- tasks and studies: their runs, flows mapped to families ---------------------------------

#: OpenML task types that map to the graph's (1: supervised classification, 2: regression).
_TASK_TYPES = {1: "classification", 2: "regression"}
UNKNOWN_FLOWS = ("keep", "skip")


@dataclass(frozen=True)
class Characteriser:
    """How imported datasets get the graph's meta-features. ``kg`` knows no extractor, so the
    caller passes the metalearner's (the CLI and the API pass
    ``Characteriser(EXTRACTOR, VERSION, characterise_if_stale)`` from ``metakg.metalearner``).

    Attributes:
        extractor, version: the name and version under which the recommender reads
            meta-features (``metakg.metalearner.metafeatures.EXTRACTOR`` and ``VERSION``).
        compute: ``(graph, dataset, table, target, task_type)`` → computes and stores the
            meta-features of a table at hand (and may skip a dataset already characterised).
    """

    extractor: str
    version: str
    compute: Callable[[KnowledgeGraph, Dataset, pd.DataFrame, str, str], object]


@dataclass(frozen=True)
class SkippedOpenMLRun:
    """An OpenML run that was not imported, and why."""

    run_id: int
    reason: str


@dataclass(frozen=True)
class OpenMLImport:
    """What :func:`import_openml` did.

    Attributes:
        tasks: OpenML task ids whose runs were looked at.
        added: OpenML run ids added to the graph.
        already: OpenML run ids already in the graph (nothing written for them).
        skipped: runs not imported, with the reason.
        datasets: graph dataset id → how its meta-features were obtained (``computed``: from
            the table; ``openml qualities``: mapped from OpenML's; ``none``: no characteriser).
        families: family → how many of the added runs have it.
    """

    tasks: tuple[int, ...] = ()
    added: tuple[int, ...] = ()
    already: tuple[int, ...] = ()
    skipped: tuple[SkippedOpenMLRun, ...] = ()
    datasets: dict[str, str] = field(default_factory=dict)
    families: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The CLI/API JSON form."""
        return {"tasks": list(self.tasks), "added": list(self.added), "already": list(self.already),
                "skipped": [{"run_id": s.run_id, "reason": s.reason} for s in self.skipped],
                "datasets": self.datasets, "families": self.families}


def openml_web() -> str:
    """The OpenML web site of the configured server (``https://www.openml.org``): the base of
    the provenance URLs (``/d/ID`` datasets, ``/t/ID`` tasks, ``/f/ID`` flows, ``/r/ID`` runs)."""
    return str(_openml().config.server).split("/api/", 1)[0].rstrip("/")


def openml_run_id(run_id: int) -> str:
    """The graph id of an imported OpenML run (a hash of the server and the run id)."""
    return hashlib.sha256(f"{openml_web()}/r/{int(run_id)}".encode()).hexdigest()[:32]


def _has_run(graph: KnowledgeGraph, run_id: str) -> bool:
    return graph.store.ask("ASK { ?r a mls:Run }", {"r": entity("run", run_id)})


def _dataset_with_source(graph: KnowledgeGraph, source: str) -> str | None:
    """The id of a dataset with this ``dcterms:source`` (an OpenML URL), if any."""
    rows = graph.store.select(
        "SELECT ?d WHERE { ?d dcterms:source ?src ; a mls:Dataset } ORDER BY ?d LIMIT 1",
        {"src": source})
    return rows[0]["d"].rsplit("/", 1)[-1] if rows else None


def _said(exc: Any) -> str:
    """An OpenML server error's message (openml-python appends `` - None`` when it has no
    additional information)."""
    return str(exc.message).removesuffix(" - None")


@contextmanager
def _openml_errors(what: str) -> Iterator[None]:
    """openml-python's and the network's errors as metakg errors that say what failed."""
    oml = _openml()
    import requests  # openml-python's HTTP library

    try:
        yield
    except oml.exceptions.OpenMLServerNoResult as exc:
        raise NotFound(f"OpenML has no {what} (server said: {_said(exc)}).") from None
    except oml.exceptions.OpenMLServerException as exc:
        if exc.code in (111, 151, 220, 221, 600):  # unknown dataset, task, run, run, study
            raise NotFound(f"OpenML has no {what} (server said: {_said(exc)}).") from None
        raise UpstreamError(f"OpenML refused {what}: {_said(exc)} (code {exc.code}).") from None
    except requests.exceptions.RequestException as exc:
        raise UpstreamError(f"Could not reach OpenML at {oml.config.server} for {what}: {exc}; "
                          "check the network, or openml's server and cache settings "
                          "(openml.config).") from None


@dataclass
class _TaskInGraph:
    task: Task | None
    measures: dict[str, str]
    skip_reason: str = ""


def import_openml(
    graph: KnowledgeGraph,
    *,
    tasks: Sequence[int] = (),
    study: int | None = None,
    max_runs: int = 100,
    download_data: bool = True,
    unknown_flows: str = "keep",
    characteriser: Characteriser | None = None,
) -> OpenMLImport:
    """Import the runs of OpenML tasks or of a study, with their datasets, tasks and flows.

    Each run becomes a run of the graph: its flow mapped to a family where one matches
    (:data:`kg.importers.openml_mapping.FLOW_FAMILIES`, parameters the family's space holds),
    its per-fold evaluations of the measures that mean the same thing here, its provenance
    (the OpenML run, task, flow and setup ids as tags, the run's URL as its source, the
    uploader as principal). A run already imported (same OpenML run id) is left alone.

    Args:
        graph: destination.
        tasks: OpenML task ids; up to ``max_runs`` runs of each are imported.
        study: an OpenML study id (its runs, at most ``max_runs``) or benchmark suite id (the
            runs of its tasks, ``max_runs`` each).
        max_runs: the most runs listed per task (or per study).
        download_data: download each dataset's table (its identity is then its content hash,
            as for any table, and the characteriser computes its meta-features); without it,
            a dataset is known by its OpenML id and its qualities alone.
        unknown_flows: ``keep`` a run whose flow matches no family, with family
            ``openml:<flow name>`` (recommended only when asked for by that name), or
            ``skip`` it (it is listed among the skipped runs).
        characteriser: how datasets get the graph's meta-features (``None``: only OpenML's
            qualities are stored, under the extractor ``openml``).

    Returns:
        What was added, already there, or skipped (and why).

    Raises:
        InvalidData: no task and no study, a bad id or option; nothing is written.
        NotFound: OpenML has no such task or study.
        UpstreamError: OpenML could not be reached or refused a request.
    """
    ids = [_check_id(t, "task") for t in tasks]
    if study is not None:
        _check_id(study, "study")
    if not ids and study is None:
        raise InvalidData("Nothing to import: give OpenML task ids (--task ID; `tasks` over HTTP) "
                          "or a study (--study ID; `study`).")
    if max_runs < 1:
        raise InvalidData(f"max_runs must be at least 1, not {max_runs}.")
    if unknown_flows not in UNKNOWN_FLOWS:
        raise InvalidData(f"unknown_flows must be one of {', '.join(UNKNOWN_FLOWS)}, not {unknown_flows!r}.")
    oml = _openml()
    run_ids: dict[int, None] = {}
    if study is not None:
        study_runs, suite_tasks = _study_contents(study)
        run_ids |= dict.fromkeys(study_runs[:max_runs])
        ids += [t for t in suite_tasks if t not in ids]
    for tid in dict.fromkeys(ids):
        with _openml_errors(f"runs of task {tid}"):
            listed = oml.runs.list_runs(task=[tid], size=max_runs, output_format="dataframe")
        if not len(listed):  # no runs, or no such task: the task's description says which
            with _openml_errors(f"task {tid}"):
                oml.tasks.get_task(tid, download_data=False, download_qualities=False)
        run_ids |= dict.fromkeys(int(r) for r in (listed["run_id"] if len(listed) else []))
    already = [r for r in run_ids if _has_run(graph, openml_run_id(r))]
    known = set(already)
    new = [r for r in run_ids if r not in known]
    with _openml_errors(f"runs {', '.join(map(str, new[:5]))}{' ...' if len(new) > 5 else ''}"):
        runs = oml.runs.get_runs(new) if new else []
    in_graph: dict[int, _TaskInGraph] = {}
    datasets: dict[str, str] = {}
    flows: dict[int, Any] = {}
    inputs: list[RunInput] = []
    skipped: list[SkippedOpenMLRun] = []
    families: dict[str, int] = {}
    added: list[int] = []
    for run in runs:
        if run.task_id not in in_graph:
            in_graph[run.task_id] = _task_in_graph(graph, run.task_id, download_data=download_data,
                                                   characteriser=characteriser, datasets=datasets)
        target = in_graph[run.task_id]
        if target.task is None:
            skipped.append(SkippedOpenMLRun(run.run_id, target.skip_reason))
            continue
        if run.flow_id not in flows:
            with _openml_errors(f"flow {run.flow_id}"):
                flows[run.flow_id] = oml.flows.get_flow(run.flow_id)
        made = _run_input(run, flows[run.flow_id], target, unknown_flows=unknown_flows)
        if isinstance(made, SkippedOpenMLRun):
            skipped.append(made)
            continue
        inputs.append(made)
        added.append(run.run_id)
        families[made.config["family"]] = families.get(made.config["family"], 0) + 1
    if inputs:
        graph.log_runs(inputs)  # one atomic write
    return OpenMLImport(tasks=tuple(dict.fromkeys(ids + [r.task_id for r in runs])),
                        added=tuple(added), already=tuple(already), skipped=tuple(skipped),
                        datasets=datasets, families=families)


def _check_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidData(f"An OpenML {what} id is a positive integer, not {value!r}.")
    return value


def _study_contents(study: int) -> tuple[list[int], list[int]]:
    """(run ids, task ids to list runs of): a study's runs, or a benchmark suite's tasks."""
    oml = _openml()
    with _openml_errors(f"study {study}"):
        try:
            s = oml.study.get_study(study)
        except ValueError as exc:  # openml-python: "Unexpected entity type 'task' ..."
            if "'task'" not in str(exc):
                raise
            return [], list(oml.study.get_suite(study).tasks or [])
    return list(s.runs or []), []


def _task_in_graph(graph: KnowledgeGraph, task_id: int, *, download_data: bool,
                   characteriser: Characteriser | None, datasets: dict[str, str]) -> _TaskInGraph:
    """The graph's task for an OpenML task (its dataset added and characterised first)."""
    oml = _openml()
    with _openml_errors(f"task {task_id}"):
        otask = oml.tasks.get_task(task_id, download_data=download_data, download_qualities=True,
                                   download_features_meta_data=True)
        task_type = _TASK_TYPES.get(int(otask.task_type_id.value))
        if task_type is None:
            return _TaskInGraph(None, {}, f"task {task_id} is a {otask.task_type} task; only "
                                          "classification and regression tasks are imported")
        procedure = otask.estimation_procedure or {}
        folds = int((procedure.get("parameters") or {}).get("number_folds") or 0)
        if procedure.get("type") != "crossvalidation" or folds < 2:
            return _TaskInGraph(None, {}, f"task {task_id} is evaluated by {procedure.get('type')!r}; "
                                          "only cross-validated tasks are imported")
        odata = oml.datasets.get_dataset(otask.dataset_id, download_data=download_data,
                                         download_qualities=True, download_features_meta_data=True)
    web = openml_web()
    target = otask.target_name
    n_classes = len(otask.class_labels or []) if task_type == "classification" else None
    qualities = {k: (float(v) if v is not None and math.isfinite(float(v)) else None)
                 for k, v in (odata.qualities or {}).items()}
    source = f"{web}/d/{odata.dataset_id}"
    if download_data:
        with _openml_errors(f"the data of dataset {odata.dataset_id}"):
            df, *_ = odata.get_data(dataset_format="dataframe")
        ds = graph.add_dataset(df, name=odata.name, target=target, description=odata.description or "",
                               source=source)
    else:
        df = None
        ds = _dataset_record(graph, odata, target, qualities, source)
    if qualities:
        graph.set_metafeatures(ds.id, qualities, reasons={k: "missing on OpenML" for k, v in
                                                          qualities.items() if v is None},
                               extractor="openml", version="qualities")
    datasets[ds.id] = _characterise(graph, ds, df, target, task_type, qualities, characteriser)
    measures = run_measures(task_type, n_classes)
    metric = measures.get(str(otask.evaluation_measure), next(iter(measures.values())))
    # a regression target's scale puts other tables' RMSEs on this one's (known from the table)
    sd = target_scale(df[target]) if df is not None and task_type == "regression" else None
    task = graph.add_task(ds, target=target, task_type=task_type, n_classes=n_classes,
                          metric=metric, folds=folds, target_sd=sd)
    return _TaskInGraph(task, measures)


def _dataset_record(graph: KnowledgeGraph, odata: Any, target: str,
                    qualities: dict[str, float | None], source: str) -> Dataset:
    """A dataset known by its OpenML id (no table): the one already imported so, or a new
    record whose identity is the hash of its OpenML URL."""
    found = _dataset_with_source(graph, source)
    if found is not None:
        return graph.get_dataset(found)
    digest = hashlib.sha256(f"openml-dataset:{source}".encode()).hexdigest()
    rows = int(qualities.get("NumberOfInstances") or 1)
    cols = int(qualities.get("NumberOfFeatures") or 1)
    return graph.add_dataset_record(Dataset(
        id=digest[:32], name=odata.name, content_hash=digest, rows=max(rows, 1), columns=max(cols, 1),
        description=odata.description or "", sources=(source,), default_target=target))


def _characterise(graph: KnowledgeGraph, ds: Dataset, df: pd.DataFrame | None, target: str,
                  task_type: str, qualities: dict[str, float | None],
                  characteriser: Characteriser | None) -> str:
    """Store the graph's meta-features of an imported dataset; say how they were obtained."""
    if characteriser is None:
        return "none"
    if df is not None:
        characteriser.compute(graph, ds, df, target, task_type)
        return "computed"
    if not dataset_index.has_current_metafeatures(graph, ds.id, extractor=characteriser.extractor,
                                                  version=characteriser.version):
        mapped = metafeatures_from_qualities(qualities, task_type=task_type)
        graph.set_metafeatures(ds.id, dict(mapped), extractor=characteriser.extractor,
                               version=characteriser.version)
    return "openml qualities"


def _estimator_flow(flow: Any) -> Any:
    """A pipeline's estimator: its last step, through nested pipelines; a flow itself otherwise."""
    while flow.components:
        flow = list(flow.components.values())[-1]
    return flow


def _run_input(run: Any, flow: Any, target: _TaskInGraph, *, unknown_flows: str) -> RunInput | SkippedOpenMLRun:
    """A graph run for an OpenML run, or why it is skipped."""
    assert target.task is not None
    estimator = _estimator_flow(flow)
    settings = {p["oml:name"]: p["oml:value"] for p in run.parameter_settings or []
                if int(p.get("oml:component", run.flow_id)) == int(estimator.flow_id)}
    mapping = map_flow(run.flow_name, settings,
                       estimator_name=estimator.name if estimator is not flow else None)
    if not mapping.known and unknown_flows == "skip":
        return SkippedOpenMLRun(run.run_id, f"flow {run.flow_name} ({run.flow_id}) matches no family")
    fold_scores = {}
    for theirs, ours in target.measures.items():
        per_fold = (run.fold_evaluations or {}).get(theirs)
        if per_fold:  # the first repeat: the task's folds, as the graph's task declares them
            first = per_fold[min(per_fold)]
            values = [float(first[fold]) for fold in sorted(first)]
            if not all(is_possible_score(ours, v) for v in values):
                return SkippedOpenMLRun(run.run_id, f"a fold's {theirs} is not a possible "
                                        f"{ours} ({values}): NaN, or outside its range")
            fold_scores[ours] = values
    if not fold_scores:
        return SkippedOpenMLRun(run.run_id, "no per-fold evaluation of "
                          + " or ".join(target.measures) + " (an unfinished or failed run?)")
    web = openml_web()
    tags = {"openml_run": str(run.run_id), "openml_task": str(run.task_id),
            "openml_flow": str(run.flow_id), "openml_setup": str(run.setup_id),
            "openml_flow_name": str(run.flow_name)}
    if mapping.unmapped:
        tags["openml_unmapped"] = ", ".join(mapping.unmapped)
    return RunInput(
        task_id=target.task.id, config=mapping.config, fold_scores=fold_scores,
        principal=f"openml:{run.uploader_name or run.uploader}", source=f"{web}/r/{run.run_id}",
        tags=tags, software={"openml_flow": str(flow.external_version)} if flow.external_version else {},
        run_id=openml_run_id(run.run_id))
