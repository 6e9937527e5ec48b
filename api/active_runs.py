"""What ``metakg next`` and ``metakg improve`` do: the graph's proposals made and run.

``make_proposals`` scores every missing (dataset, configuration) run of the graph's views with
:func:`metakg.metalearner.active.propose` (the default recommender's bagged ranker: its
models' disagreement × the chance the configuration enters the dataset's top 5) and writes
the best as proposals (:mod:`metakg.kg.proposals`), replacing the open queue. ``drain`` runs
the open queue in order until its time budget is spent: each proposal is run with the runner
on its dataset's task (the seed protocol's folds), written back fold by fold, and marked done
as soon as its run finishes; a second call continues where the last stopped.

It lives in the top layer because it joins the meta-learner (which proposes) and the runner
(which runs), which do not import each other.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ImproveReport", "drain", "find_table", "list_queue", "make_proposals"]


def _groups(graph: Any) -> list[tuple[str, str]]:
    """(task type, metric) of every group of tasks the graph holds runs of."""
    from metakg.kg.views import task_table

    tasks = task_table(graph)
    pairs = sorted({(t, m) for t, m in zip(tasks["task_type"], tasks["metric"], strict=True)})
    return [(t, m) for t, m in pairs if graph.has_runs(task_type=t, metric=m)]


def _queue_order(item: tuple[Any, str, str]) -> tuple:
    """Best first: the utility (normalised per dataset), then the raw utility (which dataset's
    best run teaches more), then ids for a stable order."""
    c = item[0]
    return (-c.utility, -c.raw_utility, c.dataset_id, c.config_id)


#: Graphs whose proposals are being made (one at a time per graph: each request fits every
#: group's recommender and then replaces the open queue).
_PROPOSING: set[int] = set()
_PROPOSING_LOCK = threading.Lock()


def make_proposals(graph: Any, *, budget: int = 10, dataset: str | None = None) -> list[Any]:
    """Score the missing runs of every group with the default recommender and write the best
    ``budget`` as the open queue (replacing the open proposals: all of them, or the
    dataset's); one request at a time per graph.

    Args:
        graph: the graph (written).
        budget: how many proposals.
        dataset: only runs on this dataset (name or id).

    Returns:
        The stored proposals, best first.

    Raises:
        AlreadyRunning: proposals for this graph are being made; nothing is written.
        DatasetNotFound: ``dataset`` is not in the graph.
        InvalidData: ``budget`` below 1, no missing run to propose, or a dataset without
            runs yet.
    """
    from metakg.kg.errors import AlreadyRunning

    with _PROPOSING_LOCK:
        if id(graph) in _PROPOSING:
            raise AlreadyRunning("Proposals for this graph are being made; the queue is replaced "
                                 "when they are written. Try again after it (`GET /proposals` "
                                 "or `metakg next` lists it).")
        _PROPOSING.add(id(graph))
    try:
        return _make_proposals(graph, budget=budget, dataset=dataset)
    finally:
        with _PROPOSING_LOCK:
            _PROPOSING.discard(id(graph))


def _make_proposals(graph: Any, *, budget: int, dataset: str | None) -> list[Any]:
    """:func:`make_proposals` without its one-at-a-time guard."""
    from importlib.metadata import PackageNotFoundError, version

    from metakg.kg.errors import InvalidData
    from metakg.kg.proposals import NewProposal, RecommenderVersion, write_proposals
    from metakg.metalearner.active import bag_of, propose
    from metakg.metalearner.cache import cached_recommender
    from metakg.metalearner.recommender import MetaRecommender

    if budget < 1:
        raise InvalidData(f"--budget must be at least 1, got {budget}.")
    only = graph.get_dataset(dataset, schema=False).id if dataset else None
    found: dict[tuple[str, str], tuple[Any, str, str]] = {}
    in_views = False
    groups = _groups(graph)
    if not groups:
        from metakg.kg.default_graph import no_runs_advice

        raise InvalidData("The graph has no runs yet, so there is nothing to learn from or to "
                          "propose; " + no_runs_advice())
    for task_type, metric in groups:
        meta, rec = cached_recommender(graph, task_type, metric, MetaRecommender)
        if only is not None and only not in meta.raw.index:
            continue
        in_views = True
        for c in propose(meta, bag_of(rec), budget=budget,
                         datasets=[only] if only else None):
            key = (c.dataset_id, c.config_id)  # one run answers every group it belongs to
            if key not in found or found[key][0].utility < c.utility:
                found[key] = (c, task_type, metric)
    if not found:
        if only is not None and not in_views:
            raise InvalidData(f"Dataset {dataset} has no runs the recommender learns from yet, so "
                              "there is nothing to compare a proposal with; start it with "
                              "`metakg recommend TABLE --run` (or log a few runs), then ask again.")
        where = f" on dataset {dataset}" if dataset else ""
        raise InvalidData(f"No missing run to propose{where}: every configuration of the "
                          "recommender's views has a run there.")
    chosen = sorted(found.values(), key=_queue_order)
    chosen = chosen[:budget]
    try:
        package = version("metakg")
    except PackageNotFoundError:
        package = "unknown"
    made_by = RecommenderVersion("MetaRecommender",
                                 f"metakg {package}; graph {graph.learning_stamp()}")
    news = [NewProposal(c.dataset_id, c.config_id, c.utility, c.reason, task_type, metric)
            for c, task_type, metric in chosen]
    return write_proposals(graph, news, generated_by=made_by, replace_open=True, dataset_id=only)


def list_queue(graph: Any, *, status: str | None = "open", dataset: str | None = None,
               limit: int | None = None) -> list[Any]:
    """The stored proposals: open ones first by rank, then done and failed ones.

    Args:
        graph: the graph.
        status: only ``open``, ``done`` or ``failed`` ones (``None``: all).
        dataset: only those on this dataset (name or id).
        limit: at most this many.

    Returns:
        The proposals (:class:`metakg.kg.proposals.Proposal`).

    Raises:
        DatasetNotFound: ``dataset`` is not in the graph.
        InvalidData: an unknown status.
    """
    from metakg.kg.proposals import list_proposals

    dataset_id = graph.get_dataset(dataset, schema=False).id if dataset else None
    found = list_proposals(graph, status=status, dataset_id=dataset_id)
    return found if limit is None else found[:limit]


def find_table(graph: Any, dataset_id: str, manifest: Path) -> Any:
    """The table of a dataset of the graph, read from the manifest (a derived binary table is
    derived again from its source's). The content must hash to the dataset's id.

    Returns:
        The table (pandas DataFrame), or ``None`` when the manifest has no table for it.

    Raises:
        InvalidData: the manifest's table no longer hashes to the dataset (the file changed).
    """
    from metakg.kg.derived import SPLITS, binary_variant, split_index
    from metakg.kg.errors import InvalidData
    from metakg.kg.identity import table_hash
    from metakg.kg.ingest import read_manifest
    from metakg.kg.tables import read_table

    ds = graph.get_dataset(dataset_id, schema=False)
    rows = {r["name"]: r for r in read_manifest(manifest)}
    if ds.name in rows:
        path = manifest.parent / rows[ds.name]["file"]
        df = read_table(path)
    elif ds.derived_from is not None:
        source = graph.get_dataset(ds.derived_from, schema=False)
        split = split_index(ds.name)
        if source.name not in rows or split is None:
            return None
        row = rows[source.name]
        path = manifest.parent / row["file"]
        src = read_table(path)
        df = binary_variant(src, row["target"], row["task"], split=SPLITS[row["task"]][split]).frame
    else:
        return None
    if table_hash(df)[:32] != ds.id:
        raise InvalidData(f"{path}: its content no longer hashes to dataset {ds.name!r} "
                          f"({ds.id}); the file changed since the dataset was ingested.")
    return df


def _task_for(graph: Any, proposal: Any) -> Any:
    """The dataset's task the run goes to: one of the proposal's task type, its metric's
    first, lowest seed first (the seed protocol's first repeat); a new one with the seed
    protocol (3 folds, 5,000 rows at most, seed 0) if it has none."""
    tasks = [t for t in graph.tasks(proposal.dataset_id) if t.task_type == proposal.task_type]
    tasks.sort(key=lambda t: (t.metric != proposal.metric, t.seed, t.id))
    return tasks[0] if tasks else None


@dataclass
class ImproveReport:
    """What ``improve`` did."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: proposals left open because the manifest has no table for their dataset
    no_table: list[str] = field(default_factory=list)
    #: proposals another writer closed while this one ran them (a run logged by hand)
    closed_elsewhere: list[str] = field(default_factory=list)
    remaining: int = 0
    seconds: float = 0.0
    stopped: str = "queue empty"


def drain(graph: Any, *, budget_s: float, manifest: Path, jobs: int = 1, backend: str = "local",
          address: str | None = None, time_limit: float = 300.0, progress: bool = True,
          max_runs: int | None = None, on_result: Any = None) -> ImproveReport:
    """Run the open proposals in order until ``budget_s`` seconds are spent (a run started
    before the end finishes), writing each run back and marking its proposal done (or failed)
    at once. Resumable: the runner skips the folds already in the graph.

    Args:
        graph: the graph (read and written).
        budget_s: seconds; no proposal is started after them.
        manifest: where the datasets' tables are found (:func:`find_table`).
        jobs, backend, address, time_limit, progress, on_result: passed to
            :func:`metakg.runner.execute.execute`.
        max_runs: stop after this many proposals (``None``: only the time budget counts).

    Returns:
        What was done, what failed, how many stay open, and why it stopped.

    Raises:
        DatasetNotFound: the next proposal's dataset is no longer in the graph (nothing is
            run or changed for it; `metakg next` replaces the queue).
        InvalidData: ``manifest`` does not exist (before anything runs).
    """
    from metakg.kg.errors import InvalidData
    from metakg.kg.measures import target_scale
    from metakg.kg.proposals import check_proposal, list_proposals, mark_done, mark_failed
    from metakg.kg.user_cache import cache_dir
    from metakg.runner.execute import WorkItem, execute, write_task_data
    from metakg.runner.protocol import TaskSpec, prepare_data
    from metakg.runner.seed import SeedSettings

    if not Path(manifest).is_file():
        raise InvalidData(f"manifest {manifest}: no such file; give the manifest (name,file,"
                          "task,target,...) of the tables the proposals name, e.g. the shared "
                          "datasets' manifest.csv.")
    report = ImproveReport()
    tables: dict[str, Any] = {}
    start = time.monotonic()
    while True:
        queue = [q for q in list_proposals(graph, status="open") if q.id not in report.no_table]
        if not queue:
            if report.no_table:
                report.stopped = (f"no table in {manifest} for the {len(report.no_table)} "
                                  "proposal(s) left open")
            break
        if time.monotonic() - start >= budget_s:
            report.stopped = "time budget spent"
            break
        if max_runs is not None and len(report.done) + len(report.failed) >= max_runs:
            report.stopped = f"{max_runs} run(s) done"
            break
        p = queue[0]
        check_proposal(graph, p)
        if p.dataset_id not in tables:  # read and hashed once per dataset and call
            try:
                tables[p.dataset_id] = find_table(graph, p.dataset_id, manifest)
            except InvalidData as exc:
                tables[p.dataset_id] = exc
        df = tables[p.dataset_id]
        if isinstance(df, InvalidData):  # the table changed: this proposal cannot be run
            try:
                mark_failed(graph, p.id, str(df))
                report.failed.append(p.id)
            except InvalidData:  # closed meanwhile by another writer
                report.closed_elsewhere.append(p.id)
            continue
        if df is None:  # another manifest may have it: the proposal stays open
            report.no_table.append(p.id)
            continue
        task = _task_for(graph, p)
        if task is None:
            protocol = SeedSettings()
            sub = protocol.subsample_rows if len(df) > protocol.subsample_rows else None
            ds = graph.get_dataset(p.dataset_id, schema=False)
            task = graph.add_task(ds, target=ds.default_target, task_type=p.task_type,
                                  n_classes=int(df[ds.default_target].nunique())
                                  if p.task_type == "classification" else None,
                                  folds=protocol.folds, seed=protocol.seed, subsample_rows=sub,
                                  target_sd=target_scale(df[ds.default_target])
                                  if p.task_type == "regression" else None)
        spec = TaskSpec(task.id, "", task.target, task.task_type, task.folds, task.seed,
                        task.subsample_rows)
        X, y = prepare_data(df, spec)
        path = write_task_data(X, y, cache_dir() / "tasks", task.id)
        spec = TaskSpec(task.id, path, task.target, task.task_type, task.folds, task.seed,
                        task.subsample_rows)
        config = graph.get_configuration(p.config_id)
        execute(graph, [WorkItem(task, spec, json.loads(config.json))], jobs=jobs, backend=backend,
                address=address, time_limit=time_limit, progress=progress, source="active",
                principal=os.environ.get("USER", "cli"), on_result=on_result)
        runs = [r for r in graph.runs(task=task.id, configuration=p.config_id)
                if r.status in ("completed", "failed")]
        if not runs:  # nothing finished (cannot happen without an exception): keep it open
            break
        run = runs[0]
        # the same run answers the open proposals of every group it belongs to
        for q in list_proposals(graph, status="open", dataset_id=p.dataset_id):
            if q.config_id == p.config_id:
                try:
                    if run.status == "completed":
                        mark_done(graph, q.id, run.id)
                        report.done.append(q.id)
                    else:
                        mark_failed(graph, q.id, f"run {run.id} failed: {run.error}")
                        report.failed.append(q.id)
                except InvalidData:  # closed meanwhile by another writer (a run logged by hand)
                    report.closed_elsewhere.append(q.id)
    report.remaining = len(list_proposals(graph, status="open"))
    report.seconds = round(time.monotonic() - start, 1)
    return report
