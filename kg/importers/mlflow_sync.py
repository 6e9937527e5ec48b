"""Sync an MLflow experiment into the graph: idempotent, paged, and as a watch loop.

::

    report = sync_mlflow_experiment(graph, "churn-models", tracking_uri="http://mlflow:5000")
    report.added, report.duplicates, report.skipped      # skipped: (run, name, reason) each

    watch_mlflow_experiment(lambda: sync_mlflow_experiment(graph, "churn-models",
                                                           tracking_uri=uri),
                            interval=30, on_poll=print)  # until Ctrl-C or stop.set()

Idempotent: a synced run records its MLflow run id as its source (``mlflow:<run id>``), a
fact of the graph (:func:`synced_mlflow_runs`); a run already there is counted as a
duplicate and written again never. Paged: the experiment's runs are read page by page
(``page_token``), so an experiment of any size is read whole. Each batch of runs is one
atomic write: a sync stopped half-way keeps whole runs only, and the next one adds the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from metakg.kg.errors import AlreadyRunning, InvalidData, MetaKGError, UpstreamError
from metakg.kg.graph import KnowledgeGraph
from metakg.kg.importers.mlflow_runs import (
    METRIC_STEPS,
    MlflowRunSkipped,
    RunContext,
    mlflow_run_input,
    public_tracking_uri,
)
from metakg.kg.progress import progress_bar

__all__ = ["MlflowSyncReport", "SkippedMlflowRun", "WatchState", "import_mlflow_experiment",
           "sync_mlflow_experiment", "sync_mlflow_for_server", "synced_mlflow_runs",
           "watch_mlflow_experiment"]

#: Runs per page asked of the tracking server (MLflow's own default and usual maximum).
PAGE_SIZE = 1000
#: Runs per atomic write.
_BATCH = 500
_SOURCE_PREFIX = "mlflow:"


@dataclass(frozen=True)
class SkippedMlflowRun:
    """An MLflow run that was not synced, and why (what to fix in MLflow)."""

    run_id: str
    run_name: str
    reason: str


@dataclass(frozen=True)
class MlflowSyncReport:
    """What one sync did.

    Attributes:
        tracking_uri: where (credentials removed).
        experiment, experiment_id: which experiment.
        added: runs written by this sync.
        duplicates: finished runs already in the graph (synced before), not written again.
        skipped: finished runs that cannot be synced, each with its reason.
        unfinished: runs still running or scheduled (a later sync picks them up).
        seen: every run of the experiment that was read.
        added_runs: the metakg ids of the runs written (empty in a report read back from
            the HTTP API, which gives the counts only).
    """

    tracking_uri: str
    experiment: str
    experiment_id: str
    added: int = 0
    duplicates: int = 0
    skipped: tuple[SkippedMlflowRun, ...] = ()
    unfinished: int = 0
    seen: int = 0
    added_runs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The report as JSON: counts and the skipped runs with their reasons."""
        return {"tracking_uri": self.tracking_uri, "experiment": self.experiment,
                "experiment_id": self.experiment_id, "seen": self.seen,
                "added": self.added, "duplicates": self.duplicates,
                "skipped": len(self.skipped), "unfinished": self.unfinished,
                "skipped_runs": [{"run_id": s.run_id, "run_name": s.run_name, "reason": s.reason}
                                 for s in self.skipped]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MlflowSyncReport:
        """The report from its JSON (:meth:`to_json`, the HTTP API's answer)."""
        return cls(tracking_uri=data["tracking_uri"], experiment=data["experiment"],
                   experiment_id=data["experiment_id"], added=int(data["added"]),
                   duplicates=int(data["duplicates"]), unfinished=int(data["unfinished"]),
                   seen=int(data["seen"]),
                   skipped=tuple(SkippedMlflowRun(s["run_id"], s["run_name"], s["reason"])
                                 for s in data.get("skipped_runs", [])))


def synced_mlflow_runs(graph: KnowledgeGraph) -> set[str]:
    """The MLflow run ids of every run in the graph that came from MLflow (whatever the
    tracking server or experiment: MLflow run ids are unique).

    Returns:
        The ids (the source ``mlflow:<run id>`` of each such run, prefix removed).
    """
    rows = graph.store.select(
        """SELECT DISTINCT ?src WHERE { ?r mkg:source ?src .
             FILTER(STRSTARTS(STR(?src), ?prefix)) }""", {"prefix": _SOURCE_PREFIX})
    return {str(r["src"])[len(_SOURCE_PREFIX):] for r in rows}


def _mlflow_error(exc: Exception, tracking_uri: str) -> UpstreamError:
    return UpstreamError(f"MLflow at {tracking_uri} answered: {' '.join(str(exc).split())[:500]}; "
                       "check --tracking-uri and that the tracking server is up.")


def _check_reachable(tracking_uri: str, shown_uri: str, timeout: float = 10.0) -> None:
    """Fail fast, with a clear message, when an HTTP tracking server cannot be reached (the
    MLflow client would retry for minutes first). Any HTTP answer counts as reachable.

    Raises:
        UpstreamError: no answer (refused, unknown host, timeout).
        InvalidData: a malformed URL.
    """
    if not tracking_uri.startswith(("http://", "https://")):
        return
    import httpx

    try:
        httpx.get(tracking_uri.rstrip("/") + "/health", timeout=timeout)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidData(f"MLflow tracking URI {shown_uri} is not a valid URL ({exc}); check "
                          "--tracking-uri.") from None
    except httpx.HTTPError as exc:
        raise UpstreamError(f"MLflow tracking server {shown_uri} cannot be reached ({exc}); check "
                          "--tracking-uri and that the server is up.") from None


def _experiment(client: Any, experiment: str, tracking_uri: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        exp = client.get_experiment_by_name(experiment)
        if exp is None and experiment.isdigit():
            try:
                exp = client.get_experiment(experiment)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
    except MlflowException as exc:
        raise _mlflow_error(exc, tracking_uri) from None
    if exp is None:
        raise InvalidData(f"No MLflow experiment {experiment!r} at {tracking_uri}; give its name "
                          "or id as MLflow shows it (`mlflow experiments search`).")
    if exp.lifecycle_stage == "deleted":
        raise InvalidData(f"MLflow experiment {experiment!r} at {tracking_uri} is deleted; "
                          "restore it in MLflow first.")
    return exp


def _pages(client: Any, experiment_id: str, page_size: int, tracking_uri: str) -> Iterator[Any]:
    """Every active run of the experiment, page by page, oldest first (runs started while
    paging land on later pages)."""
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    token: str | None = None
    while True:
        try:
            page = client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY,
                                      max_results=page_size, order_by=["attributes.start_time ASC"],
                                      page_token=token)
        except MlflowException as exc:
            raise _mlflow_error(exc, tracking_uri) from None
        yield from page
        token = page.token
        if not token:
            return


def sync_mlflow_experiment(
    graph: KnowledgeGraph,
    experiment: str,
    *,
    tracking_uri: str,
    metric_step: str = "last",
    folds: int = 5,
    page_size: int = PAGE_SIZE,
    synced_by: str | None = None,
    progress: bool = False,
    client: Any = None,
) -> MlflowSyncReport:
    """Add the experiment's finished and failed runs that the graph does not hold yet.

    Args:
        graph: destination.
        experiment: the experiment's name (or id).
        tracking_uri: MLflow's tracking URI (``http(s)://``, ``sqlite:///...``, a folder).
        metric_step: a metric logged at several steps counts by its ``last`` step or its
            ``best`` one (by the measure's direction; reads each metric's history).
        folds: folds of the tasks made for runs that name none (``metakg.folds``).
        page_size: runs per page asked of MLflow.
        synced_by: who asked (recorded as the tag ``synced_by``).
        progress: show a progress bar on stderr.
        client: an ``MlflowClient`` to use (default: one for ``tracking_uri``).

    Returns:
        The report: runs added, duplicates, skipped runs with their reasons, unfinished runs.

    Raises:
        InvalidData: no such experiment, a deleted one, or a bad option.
        UpstreamError: MLflow could not be reached or refused a request.
    """
    if metric_step not in METRIC_STEPS:
        raise InvalidData(f"metric_step must be one of {', '.join(METRIC_STEPS)}, not {metric_step!r}.")
    if not 1 <= page_size <= 50_000:
        raise InvalidData(f"page_size must be between 1 and 50000, not {page_size}.")
    if folds < 2:
        raise InvalidData(f"folds must be at least 2, not {folds}.")
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    shown_uri = public_tracking_uri(tracking_uri)
    if client is None:
        _check_reachable(tracking_uri, shown_uri)
        client = MlflowClient(tracking_uri=tracking_uri)
    exp = _experiment(client, experiment, shown_uri)
    ctx = RunContext(graph=graph, client=client, tracking_uri=shown_uri, experiment=exp.name,
                     experiment_id=str(exp.experiment_id), metric_step=metric_step,
                     folds=folds, synced_by=synced_by)
    runs = list(_pages(client, ctx.experiment_id, page_size, shown_uri))
    done = synced_mlflow_runs(graph)
    added: list[str] = []
    skipped: list[SkippedMlflowRun] = []
    duplicates = unfinished = 0
    batch: list[Any] = []
    with progress_bar(f"syncing {len(runs)} MLflow runs of {exp.name!r}", len(runs),
                      enabled=progress) as advance:
        for i, run in enumerate(runs):
            run_id = run.info.run_id
            if run.info.status not in ("FINISHED", "FAILED"):
                unfinished += run.info.status in ("RUNNING", "SCHEDULED")
                if run.info.status == "KILLED":
                    skipped.append(SkippedMlflowRun(
                        run_id, run.info.run_name or "",
                        "killed in MLflow (neither finished nor failed)"))
            elif run_id in done:
                duplicates += 1
            else:
                try:
                    batch.append(mlflow_run_input(ctx, run))
                    done.add(run_id)  # a run listed on two pages is written once
                except MlflowRunSkipped as exc:
                    skipped.append(SkippedMlflowRun(run_id, run.info.run_name or "", str(exc)))
                except MlflowException as exc:
                    raise _mlflow_error(exc, shown_uri) from None
            if len(batch) >= _BATCH or (batch and i == len(runs) - 1):
                tasks = {r.task_id: ctx.new_tasks[r.task_id] for r in batch if r.task_id in ctx.new_tasks}
                added += [r.id for r in graph.log_runs(batch, new_tasks=list(tasks.values()))]
                batch = []
            advance(i + 1)
    return MlflowSyncReport(tracking_uri=shown_uri, experiment=exp.name,
                            experiment_id=ctx.experiment_id, added=len(added),
                            duplicates=duplicates, skipped=tuple(skipped),
                            unfinished=unfinished, seen=len(runs), added_runs=tuple(added))


#: Syncs under way in this server process, by (tracking URI, experiment): a second request for
#: the same one (a client that timed out and polls again) is refused instead of racing it.
_SERVER_SYNCS: set[tuple[str, str]] = set()
_SERVER_SYNCS_LOCK = threading.Lock()


def sync_mlflow_for_server(graph: KnowledgeGraph, experiment: str, *, tracking_uri: str,
                           allowed_hosts: str, **options: Any) -> MlflowSyncReport:
    """:func:`sync_mlflow_experiment` on a request's behalf: the server reads only tracking
    servers its admin listed, and repeats no remote answer to the caller.

    A request could otherwise make the server fetch from any host it can reach (internal
    services, cloud metadata addresses) and read the answer back through the error message.

    Args:
        graph: destination.
        experiment: the experiment's name (or id).
        tracking_uri: an ``http(s)://host[:port][/path]`` URI, no credentials, query or fragment.
        allowed_hosts: comma-separated ``host`` or ``host:port`` entries (``METAKG_MLFLOW_HOSTS``).
        **options: passed to :func:`sync_mlflow_experiment`.

    Returns:
        The sync's report.

    Raises:
        InvalidData: the URI is malformed or its host is not allowed; nothing is fetched.
        AlreadyRunning: a sync of this experiment is under way in this process.
        UpstreamError: the tracking server could not be reached or refused a request.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(tracking_uri)
    allowed = {h.strip().lower() for h in allowed_hosts.split(",") if h.strip()}
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password or "?" in tracking_uri or "#" in tracking_uri:
        raise InvalidData(f"tracking_uri must be http(s)://host[:port][/path], without credentials, "
                          f"query or fragment; got {public_tracking_uri(tracking_uri)!r}.")
    host = parts.hostname.lower()
    if host not in allowed and f"{host}:{parts.port}" not in allowed:
        listed = ", ".join(sorted(allowed)) or "none"
        raise InvalidData(f"This server syncs only from the MLflow hosts its admin listed in "
                          f"METAKG_MLFLOW_HOSTS (now: {listed}), not {host!r}; ask for it to be "
                          "added, or run `metakg sync mlflow` where the tracking server is reachable.")
    key = (tracking_uri.rstrip("/"), experiment)
    with _SERVER_SYNCS_LOCK:
        if key in _SERVER_SYNCS:
            raise AlreadyRunning(f"A sync of experiment {experiment!r} from {host} is under way "
                                 "on this server; its runs are added when it ends. Try again after it.")
        _SERVER_SYNCS.add(key)
    try:
        return sync_mlflow_experiment(graph, experiment, tracking_uri=tracking_uri, **options)
    except (InvalidData, AlreadyRunning):
        raise
    except UpstreamError:
        raise UpstreamError(f"The MLflow tracking server at {host} could not be reached or refused a "
                          "request; run `metakg sync mlflow` from the command line to see its "
                          "answer.") from None
    finally:
        with _SERVER_SYNCS_LOCK:
            _SERVER_SYNCS.discard(key)


def import_mlflow_experiment(graph: KnowledgeGraph, experiment: str, *,
                             tracking_uri: str | None = None, folds: int = 5,
                             metric_step: str = "last") -> int:
    """Sync an experiment once (see :func:`sync_mlflow_experiment`); returns how many runs
    were added. ``tracking_uri`` defaults to MLflow's own (``MLFLOW_TRACKING_URI``).

    Raises:
        InvalidData: no such experiment.
        UpstreamError: MLflow could not be reached.
    """
    if tracking_uri is None:
        import mlflow

        tracking_uri = mlflow.get_tracking_uri()
    return sync_mlflow_experiment(graph, experiment, tracking_uri=tracking_uri, folds=folds,
                                  metric_step=metric_step).added


@dataclass
class WatchState:
    """What a watch loop has done so far.

    Attributes:
        polls: syncs made.
        added: runs added over every poll.
        errors: polls that failed (after the first, a failed poll is retried at the next).
    """

    polls: int = 0
    added: int = 0
    errors: list[str] = field(default_factory=list)


def watch_mlflow_experiment(
    sync_once: Callable[[], MlflowSyncReport],
    *,
    interval: float = 30.0,
    max_polls: int | None = None,
    stop: threading.Event | None = None,
    on_poll: Callable[[MlflowSyncReport], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> WatchState:
    """Sync now, then again every ``interval`` seconds, adding the runs that finished since.

    Args:
        sync_once: one sync (e.g. a ``functools.partial`` of :func:`sync_mlflow_experiment`).
        interval: seconds between the end of a poll and the start of the next.
        max_polls: stop after this many polls (``None``: until ``stop`` or Ctrl-C).
        stop: an event that ends the loop when set (checked while waiting).
        on_poll: called with each poll's report.
        on_error: called with a later poll's error (the loop goes on; the first poll's
            error is raised: a wrong URI or experiment must not be retried forever).

    Returns:
        How many polls ran, the runs they added and the errors of failed polls.

    Raises:
        InvalidData, MetaKGError: the first poll failed.
    """
    if interval < 0:
        raise InvalidData(f"interval must be >= 0 seconds, not {interval}.")
    stop = stop or threading.Event()
    state = WatchState()
    while not stop.is_set() and (max_polls is None or state.polls < max_polls):
        try:
            report = sync_once()
        except MetaKGError as exc:
            if state.polls == 0:
                raise
            state.errors.append(str(exc))
            if on_error is not None:
                on_error(exc)
        else:
            state.added += report.added
            if on_poll is not None:
                on_poll(report)
        state.polls += 1
        if max_polls is not None and state.polls >= max_polls:
            break
        stop.wait(interval)
    return state
