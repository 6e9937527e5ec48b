"""Build the seed knowledge graph: a portfolio evaluated on every shared dataset.

Resumable: results go into an embedded store as each fold finishes, checkpointed to the work
directory periodically and exported to ``data/seed.trig.xz`` at the end; a new build starts
from the work store, else the checkpoint, else that file, so it continues where the last stopped.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from metakg.kg.derived import SPLITS, BinaryVariant, binary_variant, small_sample, small_sample_name, variant_name
from metakg.kg.errors import InvalidData
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.measures import target_scale
from metakg.kg.migrations import migrate_once
from metakg.kg.records import Dataset, Task
from metakg.kg.spaces import portfolio
from metakg.kg.store import OxigraphStore
from metakg.runner.execute import BatchReport, WorkItem, execute, write_task_data
from metakg.runner.protocol import TaskSpec, prepare_data

__all__ = ["Characterise", "SeedSettings", "build_seed", "ingest_manifest_tasks"]

#: A hook that describes a table the seed build ingests: (graph, dataset, table, target,
#: task type) → anything (ignored).
Characterise = Callable[[KnowledgeGraph, Dataset, pd.DataFrame, str, str], object]


@dataclass(frozen=True)
class SeedSettings:
    """Protocol of the seed graph.

    ``repeats`` > 1 adds repeated cross-validation: repeat ``r`` is its own task with seed
    ``seed + r`` (new fold shuffle, and a new subsample for tables above ``subsample_rows``).
    The views average a configuration's runs over a dataset's tasks of the same metric, so
    every repeat lowers the noise of the matrix the meta-learner learns from and is scored on.

    Small tables are where that noise is largest (a 3-fold ROC AUC on 300 rows moves by more
    than the gap between most configurations) and where a repeat costs least, so tables of at
    most ``small_rows`` rows get ``small_repeats`` repeats when that is more than ``repeats``.

    ``derived_binary`` adds, for every regression and multiclass table, a binary task derived
    from it (:func:`kg.derived.binary_variant`: target above its median, or the most frequent
    class against the rest) as its own dataset, ``prov:wasDerivedFrom`` the source: the seed
    has 30 binary tables, few to learn binary data from. ``derived_splits`` = 2 adds a second
    one per table: the target above its upper quartile, or the two most frequent classes.

    ``small_binary`` > 0 adds, for every binary table of at least twice that many rows
    (shared or derived), a sample of that many rows (:func:`kg.derived.small_sample`) as its
    own dataset, ``prov:wasDerivedFrom`` the table: most binary tables are small, and what
    changes between a table and its sample is its size alone.
    """

    folds: int = 3
    subsample_rows: int = 5000
    seed: int = 0
    portfolio_size: int = 120
    time_limit: float = 60.0
    repeats: int = 1
    small_repeats: int = 0
    small_rows: int = 1000
    derived_binary: bool = False
    derived_splits: int = 1
    small_binary: int = 0

    def seeds_for(self, n_rows: int) -> list[int]:
        """The task seed of each repeat of a table with ``n_rows`` rows.

        Args:
            n_rows: rows of the table (before any subsampling).

        Returns:
            ``seed``, ``seed + 1``, ...: ``max(repeats, small_repeats)`` of them for a table of
            at most ``small_rows`` rows, else ``repeats``.
        """
        n = max(self.repeats, self.small_repeats) if n_rows <= self.small_rows else self.repeats
        return [self.seed + r for r in range(n)]


def ingest_manifest_tasks(
    graph: KnowledgeGraph, manifest: str | Path, work_dir: str | Path, settings: SeedSettings,
    *, names: list[str] | None = None, progress: bool = True,
    characterise: Characterise | None = None,
) -> list[tuple[Task, TaskSpec]]:
    """Ingest every dataset of a manifest with its tasks; pickle each task's prepared data.

    Args:
        graph: destination graph.
        manifest: CSV with columns name, file, task, target, description.
        work_dir: where prepared task data is pickled for workers.
        settings: folds, subsample, seed, repeats (more for small tables) and whether to add
            the binary tasks derived from regression and multiclass tables.
        names: only these datasets.
        progress: show a progress bar.
        characterise: called with (graph, dataset, table, target, task type) for every table
            ingested, shared or derived, e.g. to store its meta-features
            (:func:`metalearner.characterise.characterise_if_stale`; the runner does not
            compute meta-features itself). ``None``: nothing is called.

    Returns:
        (task, spec) per dataset and repeat, repeat-major (every dataset's first repeat, then
        every dataset's second...).
    """
    from metakg.kg.ingest import ingest_manifest

    out: list[tuple[int, Task, TaskSpec]] = []
    # a build re-reads its own manifest: a changed file is a new dataset, not a refusal
    for table in ingest_manifest(graph, manifest, names=names, progress=progress, unique_names=False):
        ds, df = table.dataset, table.frame
        target, task_type = ds.default_target or "", table.task_type or "classification"
        tables = [(ds, df, task_type)]
        if settings.derived_binary:
            tables += _derived_binary(graph, ds, df, target, task_type,
                                      SPLITS[task_type][:settings.derived_splits])
        if settings.small_binary:
            tables += _small_samples(graph, tables, target, settings.small_binary, settings.seed)
        for dataset, frame, kind in tables:
            if characterise is not None:
                characterise(graph, dataset, frame, target, kind)
            out += _tasks(graph, dataset, frame, target, kind, settings, Path(work_dir))
    out.sort(key=lambda item: item[0])  # stable: manifest order within a repeat
    return [(task, spec) for _, task, spec in out]


def _derived_binary(graph: KnowledgeGraph, ds: Dataset, df: pd.DataFrame, target: str,
                    task_type: str, splits: tuple[str, ...],
                    ) -> list[tuple[Dataset, pd.DataFrame, str]]:
    """The binary datasets derived from a regression or multiclass table, one per split (none
    for a binary table; a split whose derived target would be too unbalanced is skipped
    with a warning that says why)."""
    if task_type == "classification" and df[target].nunique() <= 2:
        return []
    out = []
    for split in splits:
        try:
            variant = binary_variant(df, target, task_type, split=split)
        except InvalidData as err:
            warnings.warn(f"{ds.name}: no derived binary task by {split} ({err})", stacklevel=2)
            continue
        out.append(_add_derived(graph, ds, variant, variant_name(ds.name, split), "Derived"))
    return out


def _small_samples(graph: KnowledgeGraph, tables: list[tuple[Dataset, pd.DataFrame, str]],
                   target: str, rows: int, seed: int) -> list[tuple[Dataset, pd.DataFrame, str]]:
    """A ``rows``-row sample of each binary table of ``tables`` with at least twice as many rows
    (smaller and multiclass or regression tables give none)."""
    out = []
    for ds, df, kind in tables:
        if kind != "classification" or df[target].nunique() != 2 or len(df) < 2 * rows:
            continue
        sample = small_sample(df, target, rows, seed=seed)
        out.append(_add_derived(graph, ds, sample, small_sample_name(ds.name, rows), "Sampled"))
    return out


def _add_derived(graph: KnowledgeGraph, source: Dataset, table: BinaryVariant, name: str,
                 verb: str) -> tuple[Dataset, pd.DataFrame, str]:
    """Add a binary table made from ``source`` as its own dataset, ``prov:wasDerivedFrom`` it,
    with the rule in its description ("Derived from autompg: ...")."""
    derived = graph.add_dataset(
        table.frame, name=name, target=table.target,
        description=f"{verb} from {source.name}: {table.rule}. {source.description}".strip(),
        source=f"derived from {source.name}", derived_from=source.id, derivation=table.rule)
    return derived, table.frame, "classification"


def _tasks(graph: KnowledgeGraph, ds: Dataset, df: pd.DataFrame, target: str, task_type: str,
           settings: SeedSettings, work_dir: Path) -> list[tuple[int, Task, TaskSpec]]:
    """One task per repeat of a table, its prepared data pickled for the workers."""
    n_classes = int(df[target].nunique()) if task_type == "classification" else None
    sub = settings.subsample_rows if len(df) > settings.subsample_rows else None
    spread = target_scale(df[target]) if task_type == "regression" else None
    out = []
    for repeat, seed in enumerate(settings.seeds_for(len(df))):
        task = graph.add_task(ds, target=target, task_type=task_type, n_classes=n_classes,
                              folds=settings.folds, seed=seed, subsample_rows=sub,
                              target_sd=spread)
        spec = TaskSpec(task.id, "", target, task_type, settings.folds, seed, sub)
        X, y = prepare_data(df, spec)
        path = write_task_data(X, y, work_dir / "tasks", task.id)
        out.append((repeat, task, TaskSpec(task.id, path, target, task_type, settings.folds,
                                           seed, sub)))
    return out


def build_seed(
    manifest: str | Path,
    *,
    work_dir: str | Path = ".metakg-build",
    output: str | Path = "data/seed.trig.xz",
    settings: SeedSettings = SeedSettings(),
    jobs: int = 2,
    export_every: float = 600.0,
    names: list[str] | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    characterise: Characterise | None = None,
    **execute_kwargs: Any,
) -> BatchReport:
    """Evaluate the portfolio on every manifest dataset, repeat- then configuration-major.

    That order means that at any moment the finished part is a complete datasets ×
    configurations matrix for the first configurations of the current repeat, on top of
    complete earlier repeats.

    Args:
        manifest: CSV of the shared datasets.
        work_dir: embedded store and prepared task data of the build.
        output: the exported seed graph; a build with an empty work store starts from it.
        settings: the protocol (folds, subsample, seed, portfolio size, time limit, repeats).
        jobs: worker processes.
        export_every: seconds between checkpoints (``work_dir/checkpoint.nq.gz``).
        names: only these datasets of the manifest.
        progress: show progress bars.
        retry_failed: evaluate failed runs again.
        characterise: describes every table ingested (see :func:`ingest_manifest_tasks`);
            the ``metakg seed build`` command stores each table's meta-features with it.
        **execute_kwargs: passed to :func:`runner.execute.execute`.

    Returns:
        The batch report (completed, failed, skipped runs).

    Raises:
        InvalidData: a manifest row or table is broken (nothing of it is written).
    """
    work = Path(work_dir)
    store = OxigraphStore(work / "store")
    graph = KnowledgeGraph(store)
    output = Path(output)
    # Checkpoints are gzipped N-Quads in the work directory (a minute to write); the compact
    # seed file (TriG, xz: about ten minutes for the full graph) is written once, at the end.
    checkpoint_file = work / "checkpoint.nq.gz"
    if len(store) == 0:
        for start in (checkpoint_file, output):
            if start.exists():
                store.load(start)
                break
    # brought to the current layout and marked so: the exported seed carries the marker, and
    # open_graph, loading it into an empty store, need not migrate (about 10 s)
    migrate_once(store)
    tasks = ingest_manifest_tasks(graph, manifest, work, settings, names=names, progress=progress,
                                  characterise=characterise)
    configs = portfolio(settings.portfolio_size, seed=settings.seed)
    by_repeat: dict[int, list[tuple[Task, TaskSpec]]] = {}
    for task, spec in tasks:
        by_repeat.setdefault(spec.seed, []).append((task, spec))
    items = [WorkItem(task, spec, cfg) for seed in sorted(by_repeat) for cfg in configs
             for task, spec in by_repeat[seed]]
    last = [time.monotonic()]

    def checkpoint(_: object) -> None:
        if time.monotonic() - last[0] >= export_every:
            store.dump(checkpoint_file)
            last[0] = time.monotonic()

    try:
        report = execute(graph, items, jobs=jobs, time_limit=settings.time_limit,
                         source="seed", principal="metakg-seed", progress=progress,
                         on_result=checkpoint, retry_failed=retry_failed, **execute_kwargs)
    finally:
        store.dump(output)
        store.close()
    return report
