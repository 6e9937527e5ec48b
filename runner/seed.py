"""Build the seed knowledge graph: a portfolio evaluated on every shared dataset.

Resumable: results go into an embedded store as each fold finishes; the store is exported to
``data/seed.nq.gz`` periodically and at the end, and a new build imports that file first, so
a later session continues where the last one stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.graph import KnowledgeGraph
from kg.migrations import migrate
from kg.records import Task
from kg.store import OxigraphStore
from runner.execute import BatchReport, WorkItem, execute, write_task_data
from runner.protocol import TaskSpec, prepare_data
from runner.spaces import portfolio

__all__ = ["SeedSettings", "build_seed", "ingest_manifest_tasks"]


@dataclass(frozen=True)
class SeedSettings:
    """Protocol of the seed graph."""

    folds: int = 3
    subsample_rows: int = 5000
    seed: int = 0
    portfolio_size: int = 120
    time_limit: float = 60.0


def ingest_manifest_tasks(
    graph: KnowledgeGraph, manifest: str | Path, work_dir: str | Path, settings: SeedSettings,
    *, names: list[str] | None = None, progress: bool = True,
) -> list[tuple[Task, TaskSpec]]:
    """Ingest every dataset of a manifest with its task; pickle each task's prepared data.

    Args:
        graph: destination graph.
        manifest: CSV with columns name, file, task, target, description.
        work_dir: where prepared task data is pickled for workers.
        settings: folds, subsample, seed.
        names: only these datasets.
        progress: show a progress bar.

    Returns:
        (task, spec) per dataset.
    """
    from kg.ingest import ingest_manifest
    from metalearner.characterise import characterise, stale_datasets

    out = []
    stale = set(stale_datasets(graph))
    for table in ingest_manifest(graph, manifest, names=names, progress=progress):
        ds, df = table.dataset, table.frame
        target, task_type = ds.default_target or "", table.task_type or "classification"
        if ds.id in stale or not graph.metafeatures(ds.id):
            characterise(graph, ds, df, target, task_type)
        n_classes = int(df[target].nunique()) if task_type == "classification" else None
        sub = settings.subsample_rows if len(df) > settings.subsample_rows else None
        task = graph.add_task(ds, target=target, task_type=task_type, n_classes=n_classes,
                              folds=settings.folds, seed=settings.seed, subsample_rows=sub)
        spec = TaskSpec(task.id, "", target, task_type, settings.folds, settings.seed, sub)
        X, y = prepare_data(df, spec)
        path = write_task_data(X, y, Path(work_dir) / "tasks", task.id)
        out.append((task, TaskSpec(task.id, path, target, task_type, settings.folds,
                                   settings.seed, sub)))
    return out


def build_seed(
    manifest: str | Path,
    *,
    work_dir: str | Path = ".metakg-build",
    output: str | Path = "data/seed.nq.gz",
    settings: SeedSettings = SeedSettings(),
    jobs: int = 2,
    export_every: float = 600.0,
    names: list[str] | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    **execute_kwargs: Any,
) -> BatchReport:
    """Evaluate the portfolio on every manifest dataset, configuration-major.

    Configuration-major order means that at any moment the finished part is a complete
    datasets × configurations matrix for the first configurations.
    """
    work = Path(work_dir)
    store = OxigraphStore(work / "store")
    graph = KnowledgeGraph(store)
    output = Path(output)
    if len(store) == 0 and output.exists():
        store.load(output)
        migrate(store)
    tasks = ingest_manifest_tasks(graph, manifest, work, settings, names=names, progress=progress)
    configs = portfolio(settings.portfolio_size, seed=settings.seed)
    items = [WorkItem(task, spec, cfg) for cfg in configs for task, spec in tasks]
    last = [time.monotonic()]

    def checkpoint(_: object) -> None:
        if time.monotonic() - last[0] >= export_every:
            store.dump(output)
            last[0] = time.monotonic()

    try:
        report = execute(graph, items, jobs=jobs, time_limit=settings.time_limit,
                         source="seed", principal="metakg-seed", progress=progress,
                         on_result=checkpoint, retry_failed=retry_failed, **execute_kwargs)
    finally:
        store.dump(output)
        store.close()
    return report
