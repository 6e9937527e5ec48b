"""Evaluate configurations on a user's table and write the runs to the graph."""

from __future__ import annotations

from typing import Any

import pandas as pd

from metakg.kg.errors import DatasetNotFound
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.identity import table_hash
from metakg.kg.measures import target_scale
from metakg.kg.records import Dataset, Task
from metakg.kg.tables import infer_task_type
from metakg.kg.user_cache import cache_dir
from metakg.runner.execute import BatchReport, WorkItem, execute, write_task_data
from metakg.runner.protocol import TaskSpec, prepare_data

__all__ = ["evaluate_on_table", "table_task"]


def table_task(graph: KnowledgeGraph, df: pd.DataFrame, *, target: str, task_type: str | None = None,
               name: str | None = None, description: str = "", source: str | None = None,
               folds: int = 5, seed: int = 0, subsample_rows: int | None = None,
               metric: str | None = None, unique_name: bool = False) -> tuple[Dataset, Task, TaskSpec]:
    """Add a table's dataset and task to the graph; pickle its prepared data for workers.

    ``name``: the dataset's title; ``None`` keeps the title of the same table already in the
    graph (a name adds a title to it), or ``"table"`` for a new one. ``unique_name``: refuse
    a name another table has (:class:`~metakg.kg.errors.NameTaken`, nothing written).
    """
    if name is None:
        try:
            name = graph.get_dataset(table_hash(df)).name
        except DatasetNotFound:
            name = "table"
    ds = graph.add_dataset(df, name=name, target=target, description=description, source=source,
                           unique_name=unique_name)
    task_type = task_type or infer_task_type(df[target])
    n_classes = int(df[target].nunique()) if task_type == "classification" else None
    sub = subsample_rows if subsample_rows and len(df) > subsample_rows else None
    task = graph.add_task(ds, target=target, task_type=task_type, n_classes=n_classes,
                          metric=metric, folds=folds, seed=seed, subsample_rows=sub,
                          target_sd=target_scale(df[target]) if task_type == "regression" else None)
    spec = TaskSpec(task.id, "", target, task_type, folds, seed, sub)
    X, y = prepare_data(df, spec)
    path = write_task_data(X, y, cache_dir() / "tasks", task.id)
    return ds, task, TaskSpec(task.id, path, target, task_type, folds, seed, sub)


def evaluate_on_table(graph: KnowledgeGraph, df: pd.DataFrame, configs: list[dict[str, Any]], *,
                      target: str, task_type: str | None = None, name: str | None = None,
                      folds: int = 5, seed: int = 0, **execute_kwargs: Any) -> tuple[Task, BatchReport]:
    """Cross-validate configurations on a table; every fold is written to the graph.

    Args:
        graph: destination.
        df: the table.
        configs: configurations to evaluate.
        target, task_type, name, folds, seed: the task.
        **execute_kwargs: passed to :func:`runner.execute.execute` (jobs, backend, ...).

    Returns:
        The task and the batch's report: runs completed and failed, and configurations
        skipped because this task already has their run (a completed one, or a failed one:
        a configuration that failed on a task is not tried on it again unless
        ``retry_failed=True`` is passed).

    Raises:
        InvalidData: a bad target, task type or table (from the graph's checks).
        ConfigurationError: a configuration outside its family's space.
        RuntimeError: the local worker processes could not start (in a script, the calling
            code needs ``if __name__ == "__main__":``).
    """
    _, task, spec = table_task(graph, df, target=target, task_type=task_type, name=name,
                               folds=folds, seed=seed)
    report = execute(graph, [WorkItem(task, spec, c) for c in configs], **execute_kwargs)
    return task, report
