"""Import the runs of an MLflow experiment (local directory, database or server).

Mapping: MLflow params → configuration params (``family`` from the param ``family`` or the
tag ``metakg.family``, else ``mlflow:<run name>``); metrics with a metakg name (``roc_auc``,
``accuracy``, ``log_loss``, ``rmse``, ``r2``, ``mae``; ``auc`` is read as ROC AUC) → scores,
per fold when the metric was logged once per step, else one value; tags → tags; the MLflow
user → the principal. The dataset is named by the tag or param ``metakg.dataset`` (id,
content hash or name), with ``metakg.target`` and ``metakg.task_type``.
"""

from __future__ import annotations

from typing import Any

from metakg.kg.errors import InvalidData
from metakg.kg.graph import KnowledgeGraph, task_for_run
from metakg.kg.measures import MEASURES
from metakg.kg.records import RunInput

__all__ = ["import_mlflow_experiment"]

_ALIASES = {"auc": "roc_auc", "roc-auc": "roc_auc", "acc": "accuracy", "logloss": "log_loss"}


def _get(run: Any, key: str) -> str | None:
    return run.data.tags.get(key) or run.data.params.get(key)


def import_mlflow_experiment(graph: KnowledgeGraph, experiment: str, *,
                             tracking_uri: str | None = None, folds: int = 5) -> int:
    """Import every finished run of an experiment (by name or id); returns how many.

    Raises:
        InvalidData: the experiment does not exist, or a run names no dataset.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment) or (
        client.get_experiment(experiment) if experiment.isdigit() else None)
    if exp is None:
        raise InvalidData(f"No MLflow experiment {experiment!r} at {tracking_uri or 'the default URI'}.")
    inputs = []
    for run in client.search_runs([exp.experiment_id]):
        if run.info.status not in ("FINISHED", "FAILED"):
            continue
        dataset = _get(run, "metakg.dataset")
        if not dataset:
            raise InvalidData(f"MLflow run {run.info.run_id} has no 'metakg.dataset' tag or param; "
                              "tag runs with the dataset they used.")
        task = task_for_run(graph, task_id=_get(run, "metakg.task"), dataset=dataset,
                            target=_get(run, "metakg.target"),
                            task_type=_get(run, "metakg.task_type"), folds=folds)
        scores: dict[str, list[float]] = {}
        for name in run.data.metrics:
            ours = _ALIASES.get(name.lower(), name.lower())
            if ours not in MEASURES:
                continue
            history = client.get_metric_history(run.info.run_id, name)
            values = [m.value for m in sorted(history, key=lambda m: (m.step, m.timestamp))]
            scores[ours] = values if len({m.step for m in history}) == len(history) > 1 else [
                run.data.metrics[name]]
        params = {k: _parse(v) for k, v in run.data.params.items()
                  if not k.startswith("metakg.") and k != "family"}
        family = run.data.params.get("family") or run.data.tags.get("metakg.family") or (
            f"mlflow:{run.info.run_name}")
        tags = {k: v for k, v in run.data.tags.items() if not k.startswith(("mlflow.", "metakg."))}
        failed = run.info.status == "FAILED" or not scores
        inputs.append(RunInput(
            task_id=task.id, config={"family": family, "params": params}, fold_scores=scores,
            status="failed" if failed else "completed",
            error="failed in MLflow" if failed else None,
            principal=run.info.user_id or "mlflow", source=f"mlflow:{run.info.run_id}",
            tags={**tags, "mlflow_run": run.info.run_id}))
    if inputs:
        graph.log_runs(inputs)
    return len(inputs)


def _parse(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(value, value)
