"""Worker processes that answer untrusted SPARQL queries on a read-only view of an embedded
store, each one killed at its query's deadline or memory limit.

pyoxigraph evaluates a query in native code that Python cannot interrupt (an ORDER BY over a
large join builds its whole table before the first row), so a time limit checked between
rows does not hold. Here each query runs in a separate process: the parent polls for the
answer and kills the worker at the deadline, or as soon as its resident memory passes the
limit, and starts a replacement. Workers are fresh interpreters that run this module (not a
fork: the parent holds RocksDB and threads; not ``multiprocessing`` spawn either, which
re-runs the parent's main script), talking over two pipes with ``multiprocessing``'s
``Connection``. They open the store with ``pyoxigraph.Store.read_only`` and reopen it when
the parent says it has written since, and run at a lower CPU priority so the service's other
routes keep the processor. Results come back encoded and cut at ``max_rows``. POSIX only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from metakg.kg.errors import QueryLimitExceeded, QuerySyntaxError, StoreError
from metakg.kg.sparql_protocol import ProtocolAnswer, QueryDataset, QueryLimits

__all__ = ["QueryPool"]

#: How often the parent checks a running query's worker (deadline and memory).
POLL_S = 0.05
#: How long a new worker may take to start (imports, opening the store) before it is an error.
START_TIMEOUT_S = 60.0
#: CPU priority added to workers (POSIX ``nice``): the API's other routes come first.
WORKER_NICE = 10


#: The worker's first lines: lower its priority before the imports (about a second of CPU)
#: compete with the service, then run this module.
_BOOTSTRAP = (f"import os\ntry:\n    os.nice({WORKER_NICE})\nexcept (AttributeError, OSError):\n    pass\n"
              f"import runpy\nrunpy.run_module({__name__!r}, run_name='__main__')\n")


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: _Duplex
    started: float
    ready: bool = False


class QueryPool:
    """A few warm worker processes for one embedded store; thread-safe.

    Args:
        path: the store's directory (opened read-only by each worker).
        workers: processes kept (queries answered at once; more wait for one).
    """

    def __init__(self, path: str | os.PathLike[str], *, workers: int = 2) -> None:
        self.path = Path(path)
        self.workers = workers
        self._idle: list[_Worker] = []
        self._alive = 0
        self._closed = False
        self._cond = threading.Condition()
        # Workers are started from one long-lived thread: on Linux a worker dies with the
        # thread that started it (PR_SET_PDEATHSIG), and request threads come and go.
        self._spawner: ThreadPoolExecutor | None = None

    # ----- public ----------------------------------------------------------------------------
    def run(self, query: str, *, accept: str, limits: QueryLimits, dataset: QueryDataset,
            version: int) -> ProtocolAnswer:
        """Answer ``query`` in a worker within ``limits``.

        Args:
            query: SPARQL query text from a user (the standard prefixes are predeclared).
            accept: the request's ``Accept`` header.
            limits: time (from this call), rows and resident memory of the worker.
            dataset: the protocol's default and named graphs.
            version: the store's write count; a worker that opened an older one reopens.

        Raises:
            QuerySyntaxError: the query does not parse or is an update.
            QueryLimitExceeded: past the deadline (also when no worker came free in time) or
                the memory limit; the worker was killed.
            StoreError: the store cannot be opened read-only, or a worker died.
        """
        deadline = time.monotonic() + limits.timeout_s
        worker = self._acquire(deadline)
        ok = False
        try:
            try:
                worker.conn.send((query, accept, limits.max_rows, dataset, version))
            except OSError:
                raise StoreError(f"A query worker had stopped (exit code "
                                 f"{worker.process.poll()}) before the query reached it; try "
                                 "again.") from None
            reply = self._wait(worker, deadline, limits)
            ok = True
        finally:
            if ok:
                self._release(worker)
            else:
                self._discard(worker)
        kind, payload = reply
        if kind == "ok":
            return payload
        if kind == "syntax":
            message, line, column = payload
            raise QuerySyntaxError(message, line, column)
        raise StoreError(f"The query worker for {self.path} failed: {payload}")

    def close(self) -> None:
        """Stop every worker (running queries end with an error)."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for w in idle:
            with contextlib.suppress(OSError):
                w.conn.send(None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.process.wait(timeout=2)
            _kill(w)
        if self._spawner is not None:
            self._spawner.shutdown(wait=False)

    def start(self) -> None:
        """Start every worker now rather than at the first query."""
        with self._cond:
            while self._alive < self.workers and not self._closed:
                self._idle.append(self._spawn())

    # ----- workers ---------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        """Start a worker process and count it (the caller holds the lock)."""
        if self._spawner is None:
            self._spawner = ThreadPoolExecutor(1, thread_name_prefix="metakg-sparql-spawner")
        worker = self._spawner.submit(self._start_process).result()
        self._alive += 1
        return worker

    def _start_process(self) -> _Worker:
        to_child_r, to_child_w = os.pipe()
        to_parent_r, to_parent_w = os.pipe()
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(to_child_r), str(to_parent_w),
                 str(os.getpid()), str(self.path)],
                pass_fds=(to_child_r, to_parent_w), stdin=subprocess.DEVNULL, close_fds=True)
        finally:
            os.close(to_child_r)
            os.close(to_parent_w)
        return _Worker(process, _Duplex(to_parent_r, to_child_w), time.monotonic())

    def _acquire(self, deadline: float) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise StoreError(f"The query workers of {self.path} are closed.")
                if self._idle:
                    worker = self._pick_idle()
                    break
                if self._alive < self.workers:
                    worker = self._spawn()
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QueryLimitExceeded(
                        f"All {self.workers} query workers stayed busy until the time limit; "
                        "try again later.", "time")
                self._cond.wait(remaining)
        if not worker.ready:
            self._wait_ready(worker, deadline)
        return worker

    def _pick_idle(self) -> _Worker:
        """An idle worker, a started one first (the caller holds the lock)."""
        for w in self._idle:
            if not w.ready and w.conn.poll(0):
                with contextlib.suppress(EOFError, OSError):
                    w.ready = w.conn.recv() == "ready"
        worker = next((w for w in reversed(self._idle) if w.ready), self._idle[-1])
        self._idle.remove(worker)
        return worker

    def _wait_ready(self, worker: _Worker, deadline: float) -> None:
        """Wait until a new worker has started, at most until the deadline (it is kept for
        the next query then) or ``START_TIMEOUT_S`` after its start (it is replaced)."""
        give_up = worker.started + START_TIMEOUT_S
        if worker.conn.poll(max(0.0, min(deadline, give_up) - time.monotonic())):
            try:
                status = worker.conn.recv()
            except (EOFError, OSError):
                status = None
            if status == "ready":
                worker.ready = True
                return
        elif time.monotonic() < give_up:
            self._release(worker)
            raise QueryLimitExceeded("No query worker was ready within the time limit (one is "
                                     "starting); try again shortly.", "time")
        self._discard(worker)
        raise StoreError(f"A query worker for {self.path} did not start within "
                         f"{START_TIMEOUT_S:g} s (exit code {worker.process.poll()}).")

    def _wait(self, worker: _Worker, deadline: float,
              limits: QueryLimits) -> tuple[str, Any]:
        memory = limits.memory_mb * 2**20
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryLimitExceeded(
                    f"The query ran past its {limits.timeout_s:.3g} s time limit and was stopped; "
                    "narrow it or add a LIMIT.", "time")
            try:
                if worker.conn.poll(min(POLL_S, remaining)):
                    return worker.conn.recv()
            except (EOFError, OSError):
                # the query is the likely cause (a very deeply nested one overflows the
                # parser's stack); the store's path is the server's business, not the client's
                raise StoreError(f"The process evaluating the query stopped (exit code "
                                 f"{worker.process.poll()}) before answering; a very deeply "
                                 "nested query can do that: simplify it. Other queries are "
                                 "not affected.") from None
            rss = _rss_bytes(worker.process.pid)
            if rss is not None and rss > memory:
                raise QueryLimitExceeded(
                    f"The query passed its {limits.memory_mb} MB memory limit and was stopped; "
                    "narrow it or add a LIMIT.", "memory")

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if self._closed:
                self._alive -= 1
                _kill(worker)
            else:
                self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker (past its limits, or broken) and start its replacement."""
        _kill(worker)
        with self._cond:
            self._alive -= 1
            if not self._closed:
                self._idle.append(self._spawn())
            self._cond.notify()


def _kill(worker: _Worker) -> None:
    if worker.process.poll() is None:
        worker.process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.process.wait(timeout=5)
    worker.conn.close()


class _Duplex:
    """One ``Connection`` to read and one to write: the two pipes to a worker."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._reader = Connection(read_fd, writable=False)
        self._writer = Connection(write_fd, readable=False)

    def send(self, obj: object) -> None:
        self._writer.send(obj)

    def recv(self) -> Any:
        return self._reader.recv()

    def poll(self, timeout: float) -> bool:
        return self._reader.poll(timeout)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


def _rss_bytes(pid: int | None) -> int | None:
    """Resident memory of a process, or ``None`` where it cannot be read."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None


# ----- the worker process --------------------------------------------------------------------
def _worker_main(conn: _Duplex, path: str, parent: int) -> None:
    """Answer queries from ``conn`` until it closes; runs in the worker process."""
    _die_with_parent()
    if os.getppid() != parent:  # the parent ended before the line above took effect
        return
    from pyoxigraph import Store as OxStore

    from metakg.kg.sparql_protocol import encode_results
    from metakg.kg.store._sparql_text import syntax_error
    from metakg.kg.vocabulary import PREFIXES

    prefixes = dict(PREFIXES)
    store, opened = None, None
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        query, accept, max_rows, dataset, version = request
        reply: tuple[str, Any]
        try:
            if store is None or opened != version:
                store, opened = None, None
                store, opened = _open_read_only(OxStore, path), version
            try:
                result = store.query(query, prefixes=prefixes, **dataset.pyoxigraph_args())
            except SyntaxError as exc:  # the query's, not ours: the parse comes first
                err = syntax_error(exc, query)
                reply = ("syntax", (str(err), err.line, err.column))
            else:
                reply = ("ok", encode_results(result, accept, max_rows=max_rows))
        except Exception as exc:  # reported to the parent, which raises StoreError
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


def _open_read_only(open_store: Any, path: str) -> Any:
    """Open read-only, retrying briefly: the writer may be replacing files at that moment."""
    for attempt in range(5):
        try:
            return open_store.read_only(path)
        except OSError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker if the thread that started it ends (the
    pool's spawner thread, which lives as long as the parent process)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


if __name__ == "__main__":
    _worker_main(_Duplex(int(sys.argv[1]), int(sys.argv[2])), sys.argv[4], int(sys.argv[3]))
