"""A warm worker for ``metakg recommend``: the second call onwards skips Python's imports.

Most of a cold ``metakg recommend`` is importing pandas, scikit-learn and LightGBM and
loading the fitted recommender (seconds), not recommending. The first call therefore
starts a background worker process that has imported everything once; later calls hand
their arguments to it over a private Unix socket and print what it answers. The worker:

- runs exactly the same CLI code, in the caller's working directory, and answers the same
  output and exit status;
- opens the store for each request and closes it afterwards, so other processes can still
  write the graph between calls (and the graph's version is checked on every call, so new
  runs reach the recommendations);
- is keyed by the interpreter, the code and the metakg-related environment: a change to
  any of them starts a new worker, and the old one exits when idle;
- exits after ``METAKG_WARM_IDLE`` seconds without a request (default 600);
- is not used with ``--run`` (long work with progress bars stays in the caller's process),
  nor when ``METAKG_WARM=0``, nor off POSIX.

``metakg warm`` shows the worker of the current environment; ``metakg warm --stop`` stops it.

This module imports only the standard library, so the caller stays fast, and nothing of
metakg: the worker process is :mod:`api.warm_worker`, which hands the CLI's ``main`` to
:func:`serve`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import socket
import stat
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["delegate", "request", "serve", "serving", "worker_address"]

#: Commands a worker answers (everything else runs in the caller's process).
COMMANDS = frozenset({"recommend"})
#: Environment variables that change what a command does; a worker serves only callers that
#: agree with it on all of them.
_KEY_PREFIXES = ("METAKG_", "XDG_", "PYTHON", "HF_", "TRANSFORMERS_", "SENTENCE_TRANSFORMERS_",
                 "OMP_", "MKL_", "OPENBLAS_")
_KEY_NAMES = ("HOME", "TMPDIR", "LANG", "LC_ALL")
#: Terminal settings copied from the caller for each request (rich and click read them).
_TERMINAL = ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TERM", "COLORTERM")
_PACKAGES = ("api", "kg", "metalearner", "runner")
_ROOT = Path(__file__).resolve().parent.parent
_SERVING = False


def serving() -> bool:
    """True while this process is a warm worker answering a request."""
    return _SERVING


def _code_stamp(root: Path = _ROOT) -> str:
    """Size and modification time of every source file of the packages."""
    parts = []
    for package in _PACKAGES:
        for dirpath, _dirs, files in os.walk(root / package):
            for f in files:
                if f.endswith(".py"):
                    st = os.stat(os.path.join(dirpath, f))
                    parts.append(f"{dirpath}/{f}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(sorted(parts))


def _key(env: dict[str, str] | None = None, root: Path = _ROOT) -> str:
    env = dict(os.environ) if env is None else env
    relevant = sorted((k, v) for k, v in env.items()
                      if (k.startswith(_KEY_PREFIXES) and k not in ("METAKG_WARM", "METAKG_WARM_IDLE"))
                      or k in _KEY_NAMES)
    text = json.dumps([sys.executable, sys.version, sys.path, relevant, _code_stamp(root)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def worker_address(env: dict[str, str] | None = None) -> Path | None:
    """The socket of the worker for this environment, or ``None`` where workers are off.

    Workers are off when ``METAKG_WARM=0``, off POSIX, or when the private directory for
    the sockets (``$TMPDIR/metakg-<uid>``, mode 0700) cannot be made or is not this user's.
    """
    env = dict(os.environ) if env is None else env
    if env.get("METAKG_WARM", "1") == "0" or os.name != "posix" or not hasattr(socket, "AF_UNIX"):
        return None
    folder = Path(tempfile.gettempdir()) / f"metakg-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    path = folder / f"{_key(env)}.sock"
    return path if len(str(path)) < 100 else None  # AF_UNIX paths are limited to ~104 bytes


# ----- framing: a 4-byte length, then UTF-8 JSON ---------------------------------------------
def _send(conn: socket.socket, obj: Any) -> None:
    data = json.dumps(obj).encode()
    conn.sendall(struct.pack("!I", len(data)) + data)


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = conn.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(conn: socket.socket) -> Any:
    head = _recv_exact(conn, 4)
    if head is None:
        return None
    body = _recv_exact(conn, struct.unpack("!I", head)[0])
    return None if body is None else json.loads(body)


def request(address: Path, message: dict[str, Any], *, connect_timeout: float = 1.0) -> Any:
    """Send one message to the worker at ``address`` and return its answer.

    Returns:
        The decoded answer, or ``None`` when the worker closed the connection first.

    Raises:
        OSError: no worker listens there (``FileNotFoundError``, ``ConnectionRefusedError``).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(connect_timeout)
        conn.connect(str(address))
        conn.settimeout(None)  # a recommendation may take as long as it takes
        _send(conn, message)
        return _recv(conn)


# ----- the caller's side ---------------------------------------------------------------------
def _eligible(argv: list[str]) -> bool:
    # a help screen is answered at once here; asking for it must not start a worker that
    # loads the recommenders and stays ten minutes
    return (bool(argv) and argv[0] in COMMANDS and "--run" not in argv
            and not {"--help", "-h"} & set(argv))


def _terminal() -> dict[str, str]:
    term = {k: os.environ[k] for k in _TERMINAL if k in os.environ}
    if sys.stdout.isatty():
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(sys.stdout.fileno())
            term.setdefault("COLUMNS", str(size.columns))
            term.setdefault("LINES", str(size.lines))
        if "NO_COLOR" not in term:
            term.setdefault("FORCE_COLOR", "1")
    return term


def delegate(argv: list[str]) -> int | None:
    """Have the warm worker run ``metakg ARGV``, starting one for next time if there is none.

    Args:
        argv: the command line after ``metakg``.

    Returns:
        The command's exit status after printing its output, or ``None`` when the caller
        should run the command itself (not a worker command, workers off, no worker yet, or
        the worker went away).
    """
    if not _eligible(argv):
        return None
    address = worker_address()
    if address is None:
        return None
    try:
        reply = request(address, {"op": "run", "argv": argv, "cwd": os.getcwd(),
                                  "terminal": _terminal()})
    except (FileNotFoundError, ConnectionRefusedError):
        _spawn(address)
        return None
    except OSError:
        return None
    except KeyboardInterrupt:  # as the CLI itself answers Ctrl-C
        print("aborted", file=sys.stderr)
        return 1
    if not isinstance(reply, dict) or "code" not in reply:
        return None
    sys.stdout.write(reply["stdout"])
    sys.stdout.flush()
    sys.stderr.write(reply["stderr"])
    sys.stderr.flush()
    return int(reply["code"])


def _spawn(address: Path) -> None:
    """Start a detached worker for ``address`` (its log beside the socket)."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(_ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}
    with contextlib.suppress(OSError), open(address.with_suffix(".log"), "wb") as log:
        subprocess.Popen([sys.executable, "-m", "metakg.api.warm_worker", str(address)], cwd=str(_ROOT),
                         env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True, close_fds=True)


# ----- the worker's side ---------------------------------------------------------------------
def _bind(address: Path) -> socket.socket | None:
    """Listen at ``address``; ``None`` if a live worker already does."""
    with contextlib.suppress(OSError):
        if request(address, {"op": "status"}, connect_timeout=0.5) is not None:
            return None
    address.unlink(missing_ok=True)  # a dead worker's socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(address))
    finally:
        os.umask(old)
    sock.listen(16)
    return sock


def _run(message: dict[str, Any], main: Callable[[list[str]], None]) -> dict[str, Any]:
    """Run one command with ``main`` as ``metakg`` would in the caller's directory and terminal."""
    import traceback

    global _SERVING
    saved_env = {k: os.environ.get(k) for k in _TERMINAL}
    saved_cwd = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        for k in _TERMINAL:
            os.environ.pop(k, None)
        os.environ.update(message.get("terminal", {}))
        os.chdir(message["cwd"])
        _SERVING = True
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(message["argv"]))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
            except Exception:
                traceback.print_exc()
                code = 1
    finally:
        _SERVING = False
        os.chdir(saved_cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "code": code}


def serve(address: Path, main: Callable[[list[str]], None], idle: float | None = None) -> None:
    """Answer requests at ``address`` with ``main`` until idle for ``idle`` seconds.

    Args:
        address: the socket path (see :func:`worker_address`).
        main: runs one command line (the CLI's :func:`api.cli.main`, imported once by the
            worker with everything it uses).
        idle: seconds without a request before exiting (default ``METAKG_WARM_IDLE`` or 600).
    """
    idle = float(os.environ.get("METAKG_WARM_IDLE", 600)) if idle is None else idle
    sock = _bind(address)
    if sock is None:
        return
    inode = address.stat().st_ino
    started, served = time.time(), 0
    sock.settimeout(idle)
    try:
        while True:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                return
            with conn:
                conn.settimeout(None)
                message = _recv(conn)
                if not isinstance(message, dict):
                    continue
                op = message.get("op")
                with contextlib.suppress(OSError):  # the caller may have gone (Ctrl-C)
                    if op == "status":
                        _send(conn, {"pid": os.getpid(), "served": served, "started": started,
                                     "idle_s": idle, "address": str(address)})
                    elif op == "stop":
                        _send(conn, {"stopped": os.getpid()})
                        return
                    elif op == "run" and _eligible(message.get("argv", [])):
                        reply = _run(message, main)
                        served += 1
                        _send(conn, reply)
    finally:
        sock.close()
        with contextlib.suppress(OSError):
            if address.stat().st_ino == inode:
                address.unlink()
