"""Evaluate published configurations on the shared datasets with the seed protocol.

The published configurations (library defaults, meta-tuned defaults, zero-shot portfolios:
:mod:`kg.published`) are evaluated on every table of the manifest, on the same tasks as the
seed graph's first repeat (same folds, same subsample), one configuration after another, so
that at any moment the finished part is complete columns of the datasets × configurations
matrix (the shared tables first, then the binary tables derived from them, which the
recommender's views also need). Results go into their own embedded store as each fold
finishes (a killed run resumes where it stopped) and are exported as they come
(``data/published-progress.trig.xz``), with the same dataset and task identities as the seed.
:func:`export_complete_columns` writes the seed extension (``data/seed-published.trig.xz``)
from that export, complete columns only, so loading seed and extension gives one matrix.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from metakg.kg.dataset_index import dataset_derivations
from metakg.kg.default_graph import store_saw_seed
from metakg.kg.errors import InvalidData, MetaKGError
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.identity import configuration_id
from metakg.kg.published import PublishedConfiguration, published_by_id
from metakg.kg.run_progress import delete_run
from metakg.kg.store import MemoryStore, OxigraphStore
from metakg.runner.execute import BatchReport, WorkItem, execute
from metakg.runner.seed import SeedSettings, ingest_manifest_tasks

__all__ = ["ColumnsWouldBeLost", "CompleteColumns", "evaluate_published", "export_complete_columns"]


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
        output: the evaluation's export (TriG, xz; e.g. ``data/published-progress.trig.xz``),
            rewritten as it goes; ``None``: not exported.
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
        InvalidData: a manifest row or table is broken, or the work store holds the seed
            graph (nothing is run or exported).
    """
    work = Path(work_dir)
    store = OxigraphStore(work / "store")
    if store_saw_seed(store):
        # opened meanwhile by a command that fills stores with the seed graph: exporting it
        # would put the whole seed into the evaluation's file
        store.close()
        raise InvalidData(
            f"The evaluation's work store {work / 'store'} holds the seed graph (a metakg "
            "command opened it without METAKG_SEED= and filled it); its export would carry the "
            f"whole seed. Delete {work / 'store'} and run again: it resumes from {output}. "
            "Nothing was run or exported.")
    if len(store) == 0 and output is not None and Path(output).exists():
        store.load(output)  # a new machine: resume from the committed export
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
        complete: the configurations written: those with a completed or failed run on every
            task of their task types, of the sources asked for, in the order asked for.
        partial: configuration name → (tasks with a result, tasks of its task types), for
            those left out (not yet started: 0 results).
        failed: complete configuration name → its tasks with a failed run and no completed
            one (a failure is a result: the recommenders count it as the task's worst score).
        runs: runs written.
        other_sources: complete configuration name → its source, for the complete columns
            left out because their source was not asked for.
    """

    complete: list[str]
    partial: dict[str, tuple[int, int]]
    failed: dict[str, int]
    runs: int
    other_sources: dict[str, str] = field(default_factory=dict)


class ColumnsWouldBeLost(MetaKGError):
    """An export would drop configurations, or tasks, that the existing extension holds."""


def export_complete_columns(
    source: str | Path,
    output: str | Path,
    configurations: list[PublishedConfiguration],
    *,
    sources: Collection[str] | None = None,
    force: bool = False,
) -> CompleteColumns:
    """Write the published configurations' complete columns as a seed extension.

    ``source`` is the evaluation's own export (:func:`evaluate_published`'s ``output``, written
    atomically while it runs, so it can be read at any time). The runs of a configuration
    that is part-way through its tasks are left out (the recommenders would rank it on those
    tables alone), as are runs an interruption left unfinished, and those of the sources not
    asked for. Datasets, tasks, meta-features and every configuration's description are kept.
    Where two published names share one configuration (FLAML lists some under two task
    types), the configuration is complete when all its tasks have a result.

    Args:
        source: the evaluation's export (TriG, xz).
        output: the extension to write (TriG, xz), replaced atomically.
        configurations: the published configurations to consider.
        sources: write only the configurations these sources published (keys such as
            ``catboost``, ``flaml``); ``None``: all of ``configurations``.
        force: replace an existing ``output`` even when it holds configurations or tasks
            that this export would drop.

    Returns:
        Which configurations were written, how far the others are, failed runs, and the
        complete columns of the sources not asked for.

    Raises:
        InvalidData: ``source``, or an existing ``output``, is not a readable RDF file.
        ColumnsWouldBeLost: ``output`` holds configurations with runs, or tasks, that this
            export would drop (nothing is written; pass ``force`` to drop them): a column
            ``source`` has not complete (completeness is judged on the tasks in ``source``,
            so an evaluation of a few datasets must not replace an extension of all of
            them), or one of a source not asked for.
    """
    memory = MemoryStore()
    memory.load(source)
    graph = KnowledgeGraph(memory)
    tasks = graph.tasks()
    runs = graph.runs()
    done: dict[str, set[str]] = {}
    completed: set[tuple[str, str]] = set()
    for run in runs:  # a pair is done when any of its runs is (a retried pair has several)
        if run.status in ("completed", "failed"):
            done.setdefault(run.configuration_id, set()).add(run.task_id)
        if run.status == "completed":
            completed.add((run.configuration_id, run.task_id))
    # (publication, configuration id, the tasks of its task types), once per published name
    columns = [(p, configuration_id(p.config), {t.id for t in tasks if t.task_type in p.task_types})
               for p in configurations]
    wanted_by_id: dict[str, set[str]] = {}
    for _, cid, wanted in columns:
        wanted_by_id.setdefault(cid, set()).update(wanted)
    whole = {cid for cid, wanted in wanted_by_id.items() if wanted and wanted <= done.get(cid, set())}
    chosen = {cid for p, cid, _ in columns if sources is None or p.source.key in sources}
    keep = whole & chosen
    complete, partial, failures, other = [], {}, {}, {}
    for p, cid, wanted in columns:
        if cid in keep:
            complete.append(p.name)
            failed = sum((cid, t) not in completed for t in done[cid])
            if failed:
                failures[p.name] = failed
        elif cid in whole:
            other[p.name] = p.source.key
        elif wanted:
            partial[p.name] = (len(done.get(cid, set()) & wanted), len(wanted))
    if Path(output).exists() and not force:
        before = MemoryStore()
        before.load(output)
        previous = KnowledgeGraph(before)
        held = {r.configuration_id for r in previous.runs()} - keep
        published = published_by_id()

        def named(cid: str) -> str:
            p = published.get(cid)
            return f"{p.name} ({p.source.key})" if p else cid

        unasked = sorted(named(cid) for cid in held if cid in whole)
        if unasked:
            raise ColumnsWouldBeLost(
                f"{output} holds runs of configurations whose sources this export leaves out: "
                f"{', '.join(unasked)}. Name their sources too (--by), or force the replacement "
                "(--force) to drop them.")
        lost = sorted(named(cid) for cid in held)
        if lost:
            raise ColumnsWouldBeLost(
                f"{output} holds runs of configurations that {source} has not complete: "
                f"{', '.join(lost)}. Export from the evaluation that has them, or force the "
                "replacement (--force) to drop them.")
        missing = {t.id for t in previous.tasks()} - {t.id for t in tasks}
        if missing:
            raise ColumnsWouldBeLost(
                f"{output} holds {len(missing)} tasks that {source} has not (an evaluation of "
                "fewer datasets?). Export from the evaluation of every dataset, or force the "
                "replacement (--force).")
    # a part-way column, and any run an interruption left unfinished, stay out
    for run in runs:
        if run.configuration_id not in keep or run.status == "running":
            delete_run(graph, run.id)
    memory.dump(output)
    written = sum(1 for r in runs if r.configuration_id in keep and r.status != "running")
    return CompleteColumns(complete, partial, failures, written, other)
