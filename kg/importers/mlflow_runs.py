"""One MLflow run as a metakg run: its task, configuration, scores and provenance.

Mapping (see :func:`mlflow_run_input`):

- dataset: the tag or parameter ``metakg.dataset`` (id, content hash or name of a dataset
  already in the graph), with ``metakg.target`` (default: the dataset's default target),
  ``metakg.task_type`` (default: what the logged measures imply), ``metakg.folds`` or
  ``metakg.task`` (a task id);
- scores: metrics with a metakg name (``roc_auc``, ``accuracy``, ``log_loss``, ``rmse``,
  ``r2``, ``mae``...; ``auc`` is read as ROC AUC). A metric logged at several steps is a
  history (epochs, boosting rounds), not folds: the run's value is its last step or its best
  one, as asked;
- configuration: the parameters, as a configuration of a family of :data:`kg.spaces.FAMILIES`
  when the parameter ``family`` or the tag ``metakg.family`` names one or when exactly one
  family's space holds every parameter, else of the family ``mlflow:<run name>``;
- provenance: source ``mlflow:<run id>`` (what makes syncing idempotent), the run's id
  ``mlflow-<run id>``, tags ``mlflow_run``, ``mlflow_experiment``, ``mlflow_experiment_id``
  and ``mlflow_tracking_uri``, the MLflow user as principal, the git commit as code version,
  the start time; the run's other tags are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from metakg.kg.errors import DatasetNotFound, InvalidData, MetaKGError, NameTaken
from metakg.kg.graph import KnowledgeGraph, task_for_run
from metakg.kg.graph_inputs import family_name, make_configuration
from metakg.kg.measures import HIGHER_IS_BETTER, MEASURES, check_fold_scores, is_possible_score
from metakg.kg.records import Dataset, RunInput, Task
from metakg.kg.spaces import FAMILIES

__all__ = ["METRIC_STEPS", "MlflowRunSkipped", "RunContext", "mlflow_configuration",
           "mlflow_run_input", "public_tracking_uri"]

#: How a metric logged at several steps becomes the run's value.
METRIC_STEPS = ("last", "best")
_ALIASES = {"auc": "roc_auc", "roc-auc": "roc_auc", "acc": "accuracy", "logloss": "log_loss"}
_REGRESSION = frozenset({"rmse", "mae", "r2"})
_CLASSIFICATION = frozenset({"roc_auc", "accuracy", "balanced_accuracy", "log_loss"})
#: Parameters that are no hyperparameter (seeds, threads, logging): left out of a family's
#: configuration when the parameters are matched to a family's space.
_NOT_HYPERPARAMETERS = frozenset({"random_state", "seed", "random_seed", "n_jobs", "nthread",
                                  "num_threads", "thread_count", "verbose", "verbosity",
                                  "silent", "logging_level"})
#: Words of an estimator's class (the ``estimator_class`` tag of MLflow's autologging) → the
#: family it belongs to; picks one family when several spaces hold every parameter.
_ESTIMATOR_HINTS = (("histgradientboosting", "hist_gradient_boosting"), ("lgbm", "lightgbm"),
                    ("lightgbm", "lightgbm"), ("xgb", "xgboost"), ("catboost", "catboost"),
                    ("randomforest", "random_forest"), ("extratrees", "extra_trees"),
                    ("kneighbors", "knn"), ("logisticregression", "linear"),
                    ("elasticnet", "linear"), ("ridge", "linear"))
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


class MlflowRunSkipped(MetaKGError):
    """An MLflow run that cannot become a metakg run; the message says why and how to fix."""


@dataclass
class RunContext:
    """What every run of one sync shares: where they come from, how to read them, caches.

    Args:
        graph: the destination graph.
        client: the ``MlflowClient`` (metric histories are read through it).
        tracking_uri: the tracking URI as recorded (credentials removed).
        experiment: the experiment's name.
        experiment_id: its id.
        metric_step: ``last`` or ``best`` (see :data:`METRIC_STEPS`).
        folds: folds of a task created for a run that names none (``metakg.folds``).
        synced_by: who asked for the sync (a tag ``synced_by``), if known.
    """

    graph: KnowledgeGraph
    client: Any
    tracking_uri: str
    experiment: str
    experiment_id: str
    metric_step: str = "last"
    folds: int = 5
    synced_by: str | None = None
    datasets: dict[str, Dataset | None] = field(default_factory=dict)
    tasks: dict[tuple[Any, ...], Task] = field(default_factory=dict)
    #: tasks made for runs that name a dataset, written with the batch of their runs
    #: (``KnowledgeGraph.log_runs(..., new_tasks=...)``): a refused batch leaves none behind
    new_tasks: dict[str, Task] = field(default_factory=dict)


def public_tracking_uri(uri: str) -> str:
    """A tracking URI fit to be recorded: user name, password and query removed
    (``https://bob:secret@mlflow.example/`` → ``https://mlflow.example/``).

    Raises:
        InvalidData: the URI cannot be parsed (e.g. an unclosed ``[`` in its host).
    """
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise InvalidData(f"Tracking URI {uri!r} is not a valid URI ({exc}).") from None
    if not parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _get(run: Any, key: str) -> str | None:
    return run.data.tags.get(key) or run.data.params.get(key)


def _parse(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"True": True, "False": False, "true": True, "false": False, "None": None}.get(value, value)


def mlflow_configuration(params: dict[str, str], *, run_name: str,
                         family: str | None = None, estimator: str | None = None) -> dict[str, Any]:
    """An MLflow run's parameters as a configuration.

    Args:
        params: the run's parameters (strings, as MLflow keeps them), ``metakg.*`` and
            ``family`` already removed.
        run_name: the run's name (the family ``mlflow:<run name>`` when no family matches).
        family: a family the run declares (parameter ``family`` or tag ``metakg.family``):
            used as given, with every parameter.
        estimator: the estimator's class name, if known (picks a family when several match).

    Returns:
        ``{"family": ..., "params": ...}``: a family of :data:`kg.spaces.FAMILIES` when
        exactly one family's space (or the one the estimator names) holds every parameter
        (seeds, threads and verbosity left out, integers as integers), else
        ``mlflow:<run name>`` with every parameter.
    """
    parsed = {k: _parse(v) for k, v in params.items()}
    if family:
        return {"family": family, "params": parsed}
    hyper = {k: v for k, v in parsed.items() if k not in _NOT_HYPERPARAMETERS and v is not None}
    matches = [name for name, space in FAMILIES.items()
               if hyper and all(k in space.by_name and space.by_name[k].check(v) is None
                                for k, v in hyper.items())]
    hinted = [f for word, f in _ESTIMATOR_HINTS if estimator and word in estimator.lower()]
    if len(matches) > 1 and hinted:
        matches = [m for m in matches if m == hinted[0]]
    if len(matches) != 1:
        # the family names a node of the graph: a run name's spaces and the like are escaped
        return {"family": f"mlflow:{family_name(run_name)}", "params": parsed}
    space = FAMILIES[matches[0]]
    return {"family": space.family,
            "params": {k: int(v) if space.by_name[k].integer and isinstance(v, float) else v
                       for k, v in hyper.items()}}


def _scores(ctx: RunContext, run: Any) -> dict[str, list[float]]:
    """measure → ``[value]``: the last step of each metric metakg knows, or its best step."""
    scores: dict[str, list[float]] = {}
    for name, latest in sorted(run.data.metrics.items()):
        ours = _ALIASES.get(name.lower(), name.lower())
        if ours not in HIGHER_IS_BETTER or ours in scores:
            continue
        value = float(latest)  # MLflow's latest value: the highest step, then the newest
        if ctx.metric_step == "best":
            history = [float(m.value) for m in ctx.client.get_metric_history(run.info.run_id, name)
                       if is_possible_score(ours, float(m.value))]
            if history:
                value = max(history) if HIGHER_IS_BETTER[ours] else min(history)
        if is_possible_score(ours, value):  # a diverged (NaN) or impossible value is left out
            scores[ours] = [value]
    return scores


def _task_type(run: Any, scores: dict[str, list[float]]) -> str:
    given = _get(run, "metakg.task_type")
    if given:
        return given
    measures = set(scores)
    if measures & _REGRESSION and not measures & _CLASSIFICATION:
        return "regression"
    if measures & _CLASSIFICATION and not measures & _REGRESSION:
        return "classification"
    raise MlflowRunSkipped("no 'metakg.task_type' tag, and its metrics do not say whether it is "
                           "a classification or a regression; tag it metakg.task_type")


def _dataset(ctx: RunContext, run: Any) -> Dataset:
    ref = _get(run, "metakg.dataset")
    if not ref:
        raise MlflowRunSkipped("no 'metakg.dataset' tag or parameter; tag the run with the "
                               "dataset it used (its id, content hash or name in the graph)")
    if ref not in ctx.datasets:
        try:
            ctx.datasets[ref] = ctx.graph.get_dataset(ref, schema=False)
        except DatasetNotFound:
            ctx.datasets[ref] = None
        except NameTaken as exc:  # a name two datasets have: this run is skipped, not the sync
            raise MlflowRunSkipped(str(exc).rstrip(".")) from None
    found = ctx.datasets[ref]
    if found is None:
        raise MlflowRunSkipped(f"dataset {ref!r} is not in the graph; add it first "
                               "(`metakg ingest TABLE --target COL`)")
    return found


def _task(ctx: RunContext, run: Any, scores: dict[str, list[float]]) -> Task:
    task_id = _get(run, "metakg.task")
    if task_id:
        ds, target, task_type = None, None, None
    else:
        ds = _dataset(ctx, run)
        target = _get(run, "metakg.target") or ds.default_target
        if not target:
            raise MlflowRunSkipped(f"no 'metakg.target' tag and dataset {ds.name!r} has no "
                                   "default target; tag the run with its target column")
        task_type = _task_type(run, scores)
    folds = _get(run, "metakg.folds")
    try:
        task = task_for_run(ctx.graph, task_id=task_id, dataset=ds.id if ds else None,
                            target=target, task_type=task_type,
                            folds=int(folds) if folds else ctx.folds, memo=ctx.tasks, write=False)
    except (MetaKGError, ValueError) as exc:
        raise MlflowRunSkipped(str(exc).rstrip(".")) from None
    if not task_id:
        ctx.new_tasks[task.id] = task
    return task


#: Parameters and tags whose names say they hold a credential are not copied into the graph.
_SECRET = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|credential|private[_-]?key)")


def _check_recommendation_tag(ctx: RunContext, tags: Mapping[str, str]) -> None:
    """A run tagged ``recommendation=<id>`` records that recommendation's outcome when it is
    logged; a tag naming no recommendation of this graph (made by another metakg server, or
    mistyped) skips the run instead of failing its whole batch."""
    from metakg.kg.errors import NotFound
    from metakg.kg.recommendations import RECOMMENDATION_TAG, get_recommendation

    rec_id = tags.get(RECOMMENDATION_TAG)
    if not rec_id:
        return
    try:
        get_recommendation(ctx.graph, rec_id)
    except NotFound:
        raise MlflowRunSkipped(f"tagged {RECOMMENDATION_TAG}={rec_id!r}, which names no recommendation "
                               "in this graph; fix or delete the tag in MLflow") from None


def mlflow_run_input(ctx: RunContext, run: Any) -> RunInput:
    """The metakg run of a finished or failed MLflow run (see the module's mapping).

    Args:
        ctx: the sync's shared context.
        run: an ``mlflow.entities.Run`` with status ``FINISHED`` or ``FAILED``.

    Returns:
        The run to log; its ``run_id`` is ``mlflow-<MLflow run id>`` when that id is safe in
        an IRI, so that writing it twice writes the same triples.

    Raises:
        MlflowRunSkipped: the run names no dataset, a dataset or task not in the graph, or
            (finished) has no metric metakg knows, or a tag names a recommendation not in the graph.
    """
    info = run.info
    scores = _scores(ctx, run)
    failed = info.status == "FAILED"
    if not scores and not failed:
        known = sorted(n for n in run.data.metrics if _ALIASES.get(n.lower(), n.lower()) in HIGHER_IS_BETTER)
        if known:
            raise MlflowRunSkipped("no possible value of a metric metakg knows ("
                                   + ", ".join(f"{n}={run.data.metrics[n]!r}" for n in known)
                                   + ": not finite, or outside the measure's range)")
        logged = ", ".join(sorted(run.data.metrics)) or "none"
        raise MlflowRunSkipped(f"no metric metakg knows (logged: {logged}); log one of "
                               f"{', '.join(m for m in MEASURES if m in _CLASSIFICATION | _REGRESSION)}")
    _check_recommendation_tag(ctx, run.data.tags)
    task = _task(ctx, run, scores)
    redacted = sorted(k for k in {**run.data.params, **run.data.tags} if _SECRET.search(k))
    params = {k: v for k, v in run.data.params.items()
              if not k.startswith("metakg.") and k != "family" and not _SECRET.search(k)}
    name = info.run_name or info.run_id
    config = mlflow_configuration(
        params, run_name=name,
        family=run.data.params.get("family") or run.data.tags.get("metakg.family"),
        estimator=run.data.tags.get("estimator_class") or run.data.tags.get("estimator_name"))
    tags = {k: v for k, v in run.data.tags.items()
            if not k.startswith(("mlflow.", "metakg.")) and not _SECRET.search(k)}
    if redacted:  # every read key can read the graph: credentials logged in MLflow stay there
        tags["mlflow_redacted"] = ",".join(redacted)
    tags |= {"mlflow_run": info.run_id, "mlflow_experiment": ctx.experiment,
             "mlflow_experiment_id": ctx.experiment_id, "mlflow_tracking_uri": ctx.tracking_uri,
             "mlflow_metric_step": ctx.metric_step}
    if ctx.synced_by:
        tags["synced_by"] = ctx.synced_by
    started = (datetime.fromtimestamp(info.start_time / 1000, UTC)
               if info.start_time else None)
    try:  # what the graph would refuse skips this run, not the rest of the sync
        make_configuration(config)
        check_fold_scores(scores, task_type=task.task_type, folds=task.folds)
    except InvalidData as exc:
        raise MlflowRunSkipped(str(exc).rstrip(".")) from None
    return RunInput(
        task_id=task.id, config=config, fold_scores=scores,
        status="failed" if failed else "completed",
        error="failed in MLflow" if failed else None,
        principal=info.user_id or "mlflow", started_at=started,
        source=f"mlflow:{info.run_id}", code_version=run.data.tags.get("mlflow.source.git.commit"),
        tags=tags, run_id=f"mlflow-{info.run_id}" if _SAFE_ID.fullmatch(info.run_id) else None)
