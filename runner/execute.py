"""Execute (task, configuration, fold) jobs locally or on Ray and write every result back.

The local back-end runs a process pool here; the Ray back-end (:mod:`runner.ray_backend`)
runs the folds on any node of a cluster. Each finished fold is written to the graph at once;
a run's header is written with its first fold (status ``running``) and its status and mean
scores when its last fold arrives. A killed batch resumes where it stopped: folds already in
the graph are not repeated.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from metakg.kg.graph import KnowledgeGraph, make_configuration
from metakg.kg.records import Configuration, Task
from metakg.kg.run_nquads import fold_mean
from metakg.kg.run_progress import RunStart, delete_run, finish_run, record_fold, run_states
from metakg.runner.protocol import FoldResult, TaskSpec, evaluate_fold

__all__ = ["BatchReport", "WorkItem", "execute", "software_versions"]


@dataclass(frozen=True)
class WorkItem:
    """One configuration to evaluate on one task (all its folds)."""

    task: Task
    spec: TaskSpec
    config: dict[str, Any]


@dataclass
class BatchReport:
    """What a batch did."""

    completed: int = 0
    failed: int = 0
    skipped: int = 0
    folds_run: int = 0
    run_ids: list[str] = field(default_factory=list)
    #: Ray node id → folds it evaluated (empty for the local back-end)
    nodes: dict[str, int] = field(default_factory=dict)


def software_versions() -> dict[str, str]:
    """Versions of the packages that shape results."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("scikit-learn", "lightgbm", "xgboost", "catboost", "torch", "numpy", "pandas"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


# ----- worker side -------------------------------------------------------------------------
@lru_cache(maxsize=8)
def load_task_data(path: str) -> Any:
    """A task's prepared ``(X, y)``, as :func:`write_task_data` pickled it (the last few are
    kept in memory)."""
    with open(path, "rb") as fh:
        return pickle.load(fh)


class _TimeLimit(BaseException):  # not caught by the per-fold error capture
    pass


_ALARM_FIRED = [False]


def _alarm(signum: int, frame: Any) -> None:
    _ALARM_FIRED[0] = True
    raise _TimeLimit()


def worker_init() -> None:
    """Make a worker single-threaded (maths libraries, torch) and quiet."""
    import os
    import warnings

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    warnings.filterwarnings("ignore")


def run_job(spec: TaskSpec, config: dict[str, Any], config_id: str, fold: int, device: str,
            time_limit: float) -> FoldResult:
    """Evaluate one fold in a local worker, its data read from ``spec.data_path``."""
    X, y = load_task_data(spec.data_path)
    return run_fold(X, y, spec, config, config_id, fold, device, time_limit)


def run_fold(X: Any, y: Any, spec: TaskSpec, config: dict[str, Any], config_id: str, fold: int,
             device: str, time_limit: float) -> FoldResult:
    """Evaluate one fold of ``(X, y)`` with a soft time limit (SIGALRM); a fit over it is a
    failed fold (``TimeLimitExceeded``)."""
    use_alarm = time_limit > 0 and hasattr(signal, "setitimer")
    _ALARM_FIRED[0] = False
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        return evaluate_fold(X, y, spec, config, config_id, fold, device)
    except (_TimeLimit, KeyboardInterrupt):
        # Libraries that poll for signals inside their own loops (CatBoost) turn the alarm's
        # exception into KeyboardInterrupt; only a real Ctrl-C goes on up.
        if not _ALARM_FIRED[0]:
            raise
        return FoldResult(spec.task_id, config_id, fold,
                          error=f"TimeLimitExceeded: fit took longer than {time_limit:g} s")
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


# ----- driver -------------------------------------------------------------------------------
def execute(
    graph: KnowledgeGraph,
    items: Sequence[WorkItem],
    *,
    jobs: int = 1,
    backend: str = "local",
    address: str | None = None,
    device: str = "auto",
    gpus_per_task: float = 1.0,
    time_limit: float = 120.0,
    principal: str | None = None,
    source: str = "runner",
    progress: bool = True,
    on_result: Callable[[FoldResult], None] | None = None,
    retry_failed: bool = False,
) -> BatchReport:
    """Evaluate every (task, configuration) fold not yet in the graph and write results.

    Args:
        graph: where results go (and what was already done).
        items: the work: configurations on tasks (their data pickled at ``spec.data_path``).
        jobs: worker processes (local back-end).
        backend: ``local`` (process pool) or ``ray``.
        address: Ray cluster address (``None`` starts or joins a local one).
        device: ``auto``, ``cpu`` or ``cuda``; resolved here for the local back-end, on each
            worker for Ray.
        gpus_per_task: GPUs a fold of a GPU-capable family asks Ray for when the cluster has
            GPUs (a fraction in (0, 1] shares a GPU between folds); ignored by the local
            back-end.
        time_limit: seconds per fit; a fold over it is recorded as failed.
        principal: who runs the batch (PROV).
        source: recorded on each run.
        progress: show a progress bar.
        on_result: called with each finished fold (tests use it to interrupt a batch).
        retry_failed: evaluate failed runs again (their old record is replaced).

    Returns:
        A :class:`BatchReport`.

    Raises:
        ValueError: an unknown back-end or device, ``cuda`` where there is none (here for the
            local back-end, in the cluster for Ray), a bad ``gpus_per_task``.
    """
    from metakg.runner.devices import check_device, resolve_device

    if backend not in ("local", "ray"):
        raise ValueError(f"Unknown backend {backend!r}; use 'local' or 'ray'.")
    # the local workers share this machine's devices; Ray's workers resolve their own
    dev = resolve_device(device) if backend == "local" else check_device(device)
    if backend == "ray":
        from metakg.runner.ray_backend import check_gpus_per_task

        check_gpus_per_task(gpus_per_task)
    report = BatchReport()
    existing = run_states(graph, (i.task.id for i in items))
    versions = software_versions()
    pending: list[tuple[WorkItem, Configuration, str, int]] = []
    runs: dict[tuple[str, str], dict] = {}
    for item in items:
        cfg = make_configuration(item.config)
        key = (item.task.id, cfg.id)
        state = existing.get(key)
        if retry_failed and state and state.status == "failed":
            delete_run(graph, state.run_id)
            state = None
        if key in runs or (state and state.status in ("completed", "failed")):
            report.skipped += 1
            continue
        folds_done = dict(state.folds) if state else {}
        runs[key] = {"run": state.run_id if state else uuid.uuid4().hex, "item": item, "cfg": cfg,
                     "folds": folds_done, "header": state is not None, "error": None}
        pending += [(item, cfg, runs[key]["run"], f) for f in range(item.spec.folds)
                    if f not in folds_done]
    for st in runs.values():  # runs whose folds were all written before a kill
        if len(st["folds"]) == st["item"].spec.folds:
            _finish(graph, st, report)

    def handle(result: FoldResult, node: str | None = None) -> None:
        st = runs[(result.task_id, result.config_id)]
        report.folds_run += 1
        if node is not None:
            report.nodes[node] = report.nodes.get(node, 0) + 1
        start = None
        if not st["header"]:
            start = RunStart(task=st["item"].task, config=st["cfg"], principal=principal,
                             device=result.device, source=source, software=versions)
        record_fold(graph, st["run"], result.fold, result.scores, start=start)
        st["header"] = True
        if result.error:
            st["error"] = st["error"] or result.error
        st["folds"][result.fold] = result.scores
        if on_result:
            on_result(result)
        if len(st["folds"]) == st["item"].spec.folds:
            _finish(graph, st, report)

    if pending and backend == "ray":
        from metakg.runner.ray_backend import run_ray

        run_ray(pending, handle, jobs=jobs, address=address, device=dev, time_limit=time_limit,
                progress=progress, gpus_per_task=gpus_per_task)
    elif pending:
        _run_local(pending, handle, jobs=jobs, device=dev, time_limit=time_limit,
                   progress=progress)
    return report


def _finish(graph: KnowledgeGraph, st: dict, report: BatchReport) -> None:
    run_id = st["run"]
    failed = st["error"] is not None or any(not s for s in st["folds"].values())
    if failed:
        finish_run(graph, run_id, error=st["error"] or "a fold produced no scores")
    else:
        measures = set.intersection(*(set(s) for s in st["folds"].values()))
        finish_run(graph, run_id, means={
            m: fold_mean([s[m] for s in st["folds"].values()]) for m in sorted(measures)})
    report.run_ids.append(run_id)
    if failed:
        report.failed += 1
    else:
        report.completed += 1


def progress_bar(total: int, enabled: bool) -> Any:
    """A progress bar over a batch's folds (rich), with the count of failed ones."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("[bold]folds"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("failed: {task.fields[failed]}"), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), disable=not enabled, transient=False)


#: Why a local batch stops when its pool of worker processes breaks (pebble's
#: ``BrokenProcessPool``): the pool is at fault, not the configurations, so nothing is recorded
#: against them; the folds already evaluated are kept and a rerun goes on from there.
POOL_BROKE = ("The pool of worker processes broke ({error}) after {done} fold(s) had been "
              "evaluated, so the batch stopped; those folds are kept and no failure was "
              "recorded against the configurations: run it again to go on.")
#: The same before any fold, where the usual cause is a script without the main guard.
WORKERS_DID_NOT_START = (
    "The worker processes stopped before evaluating anything ({error}), so the batch stopped; "
    "no failure was recorded against its configurations. When this runs from a Python script, "
    "each worker imports the script again: put the code that starts the runs under "
    "`if __name__ == \"__main__\":` (Python's \"Safe importing of main module\", "
    "https://docs.python.org/3/library/multiprocessing.html). Otherwise the workers' error "
    "is printed above.")


def _run_local(pending: list, handle: Callable[[FoldResult], None], *, jobs: int,
               device: str, time_limit: float, progress: bool) -> None:
    import multiprocessing
    from concurrent.futures import TimeoutError as FutureTimeout
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    from pebble import ProcessPool

    failed = handled = 0
    # not ``with ProcessPool(...)``: pebble's ``__exit__`` closes the pool, which waits for every
    # scheduled job, so an interrupted batch (Ctrl-C, a failed write) would go on evaluating the
    # whole backlog with nobody recording the results; on an error the pool is stopped instead
    pool = ProcessPool(max_workers=max(1, jobs), initializer=worker_init,
                       context=multiprocessing.get_context("forkserver"))
    try:
        with progress_bar(len(pending), progress) as bar:
            tid = bar.add_task("folds", total=len(pending), failed=0)
            futures = {}
            for item, cfg, _run, fold in pending:
                fut = pool.schedule(run_job, args=(item.spec, item.config, cfg.id, fold, device,
                                                   time_limit),
                                    timeout=time_limit * 2 + 30 if time_limit > 0 else None)
                futures[fut] = (item, cfg, fold)
            for fut in as_completed(futures):
                item, cfg, fold = futures[fut]
                # the worker's exception, as an object: any of them (a crash, a segfault, an
                # OOM kill, a KeyboardInterrupt a library raised there) is one failed fold, while
                # a Ctrl-C here still stops the batch
                exc = fut.exception()
                if exc is None:
                    result = fut.result()
                elif isinstance(exc, BrokenProcessPool):  # the pool, not this configuration
                    text = POOL_BROKE if handled else WORKERS_DID_NOT_START
                    raise RuntimeError(text.format(error=exc, done=handled)) from exc
                elif isinstance(exc, FutureTimeout):
                    result = FoldResult(item.task.id, cfg.id, fold, error=(
                        f"TimeLimitExceeded: killed after {time_limit * 2 + 30:g} s"))
                else:
                    result = FoldResult(item.task.id, cfg.id, fold,
                                        error=f"WorkerCrashed: {type(exc).__name__}: {exc}")
                failed += bool(result.error)
                handle(result)
                handled += 1
                bar.update(tid, advance=1, failed=failed)
    except BaseException:
        pool.stop()
        pool.join()
        raise
    pool.close()
    pool.join()


def write_task_data(X: Any, y: Any, directory: str | Path, task_id: str) -> str:
    """Pickle a task's prepared (X, y) for the driver and the local workers; return the path.

    The Ray back-end reads it on the driver only and ships the data through Ray's object
    store, so a cluster needs no shared folder.

    Args:
        X: the task's features.
        y: the task's target.
        directory: where to write (made when missing).
        task_id: the task (names the file, ``<task_id>.pkl``).

    Returns:
        The file's path; a file already there is kept, not written again.
    """
    path = Path(directory) / f"{task_id}.pkl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump((X, y), fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    return str(path)
