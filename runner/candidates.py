"""Evaluate published configurations on the shared datasets with the seed protocol.

The published configurations (library defaults, meta-tuned defaults, zero-shot portfolios:
:mod:`kg.published`) are evaluated on every table of the manifest, on the same tasks as the
seed graph's first repeat (same folds, same subsample), one configuration after another, so
that at any moment the finished part is complete columns of the datasets × configurations
matrix (the shared tables first, then the binary tables derived from them, which the
recommender's views also need). Results go into their own embedded store as each fold
finishes (a killed run resumes where it stopped) and are exported as a seed extension
(``data/seed-published.trig.xz``):
the same dataset and task identities as the seed, so loading both gives one matrix.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from metakg.kg.dataset_index import dataset_derivations
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.identity import configuration_id
from metakg.kg.published import PublishedConfiguration
from metakg.kg.run_progress import delete_run, run_states
from metakg.kg.store import MemoryStore, OxigraphStore
from metakg.runner.execute import BatchReport, WorkItem, execute
from metakg.runner.seed import SeedSettings, ingest_manifest_tasks

__all__ = ["CompleteColumns", "evaluate_published", "export_complete_columns"]


def evaluate_published(
    manifest: str | Path,
    configurations: list[PublishedConfiguration],
    *,
    work_dir: str | Path = ".metakg-build/published",
    output: str | Path | None = None,
    settings: SeedSettings = SeedSettings(),
    jobs: int = 1,
    names: list[str] | None = None,
    export_every: float = 900.0,
    progress: bool = True,
    **execute_kwargs: Any,
) -> BatchReport:
    """Evaluate published configurations on every manifest table (the first repeat of the
    seed protocol, with the derived binary tables when ``settings`` has them),
    configuration-major, and export the result.

    Args:
        manifest: CSV of the shared datasets.
        configurations: what to evaluate, in this order (each on the task types it names).
        work_dir: the embedded store and the prepared task data (resumable; an empty store
            starts from ``output`` when it exists).
        output: the exported extension (TriG, xz); ``None``: not exported.
        settings: the seed protocol (folds, subsample, seed, time limit, derived tables);
            only its first repeat is used.
        jobs: worker processes.
        names: only these datasets of the manifest.
        export_every: seconds between exports while it runs.
        progress: show progress bars.
        **execute_kwargs: passed to :func:`runner.execute.execute`.

    Returns:
        The batch report.

    Raises:
        InvalidData: a manifest row or table is broken.
    """
    work = Path(work_dir)
    store = OxigraphStore(work / "store")
    if len(store) == 0 and output is not None and Path(output).exists():
        store.load(output)  # a new machine: resume from the committed extension
    graph = KnowledgeGraph(store)
    protocol = replace(settings, repeats=1, small_repeats=0, small_binary=0)
    tasks = ingest_manifest_tasks(graph, manifest, work, protocol, names=names,
                                  progress=progress)
    # the shared tables first, then the derived ones: the figures on the shared tables come
    # first, and the recommender's views need the derived ones too
    derived = set(dataset_derivations(graph))
    tasks.sort(key=lambda ts: ts[0].dataset_id in derived)
    for published in configurations:
        graph.add_published_configuration(published)
    items = [WorkItem(task, spec, published.config) for published in configurations
             for task, spec in tasks if task.task_type in published.task_types]
    last = [time.monotonic()]

    def export(_: object = None, *, force: bool = False) -> None:
        if output is not None and (force or time.monotonic() - last[0] >= export_every):
            store.dump(output)  # a .trig.xz path: the deterministic seed format
            last[0] = time.monotonic()

    try:
        report = execute(graph, items, jobs=jobs, time_limit=protocol.time_limit,
                         source="published", principal="metakg-seed", progress=progress,
                         on_result=export, **execute_kwargs)
    finally:
        export(force=True)
        store.close()
    return report


@dataclass(frozen=True)
class CompleteColumns:
    """What :func:`export_complete_columns` wrote.

    Attributes:
        complete: the configurations with a finished or failed run on every task of their
            task types, in the order asked for.
        partial: configuration name → (tasks with a result, tasks of its task types), for
            those left out.
        quads: quads written.
    """

    complete: list[str]
    partial: dict[str, tuple[int, int]]
    quads: int


def export_complete_columns(
    work_dir: str | Path,
    output: str | Path,
    configurations: list[PublishedConfiguration],
) -> CompleteColumns:
    """Export the work store of :func:`evaluate_published` as a seed extension that holds only
    complete columns: the runs of a configuration that is still part-way through its tasks
    are left out (with a column of a few tables the recommender would rank the
    configuration on those alone). Datasets, tasks, meta-features and every configuration's
    description are kept.

    Args:
        work_dir: the evaluation's work folder (its ``store`` is opened read-only, so a run
            in progress may go on).
        output: the extension to write (TriG, xz), replaced atomically.
        configurations: the published configurations to consider.

    Returns:
        Which configurations were complete and written, and how far the others are.

    Raises:
        StoreError: the work store cannot be opened.
    """
    source = OxigraphStore(Path(work_dir) / "store", read_only=True)
    try:
        graph = KnowledgeGraph(source)
        tasks = graph.tasks()
        states = run_states(graph, [t.id for t in tasks])
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "work.nq"
            source.dump(copy)
            memory = MemoryStore()
            memory.load(copy)
    finally:
        source.close()
    done: dict[str, set[str]] = {}
    for (task_id, config_id), state in states.items():
        if state.status in ("completed", "failed"):
            done.setdefault(config_id, set()).add(task_id)
    complete, partial, keep = [], {}, set()
    for published in configurations:
        cid = configuration_id(published.config)
        wanted = {t.id for t in tasks if t.task_type in published.task_types}
        have = done.get(cid, set()) & wanted
        if wanted and have == wanted:
            complete.append(published.name)
            keep.add(cid)
        else:
            partial[published.name] = (len(have), len(wanted))
    out = KnowledgeGraph(memory)
    # a part-way column, and any run an interruption left unfinished, stay in the work store
    for run in out.runs():
        if run.configuration_id not in keep or run.status == "running":
            delete_run(out, run.id)
    quads = memory.dump(output)
    return CompleteColumns(complete, partial, quads)
