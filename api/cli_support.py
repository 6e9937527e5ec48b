"""What every ``metakg`` command shares: option types, failing with one line, opening the graph.

The command modules (:mod:`api.cli_graph`, :mod:`api.cli_commands`) import only this module
and the domain packages; :mod:`api.cli` imports them and registers their commands, so the
imports form a tree.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

__all__ = ["DEFAULT_MANIFEST", "JsonOpt", "StoreOpt", "TaskOpt", "fail", "open_cli_graph", "print_json", "read_data",
           "usage_error"]

StoreOpt = Annotated[str | None, typer.Option("--store", envvar="METAKG_STORE",
                                              help="Directory, memory: or http(s):// endpoint.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
TaskOpt = Annotated[str | None, typer.Option(
    "--task", help="classification or regression (inferred if omitted).")]

#: Exit status of a command that failed while running (a missing file, a broken table...).
FAILURE = 1
#: Exit status of a command line that cannot be run as given (click's and the shells' usage).
USAGE = 2

#: The shared datasets' manifest: ``$METAKG_SHARED/manifest.csv``, by default beside the
#: checkout (``../shared/datasets``), where the seed commands, ``improve`` and the tests look.
DEFAULT_MANIFEST = Path(os.environ.get("METAKG_SHARED", "../shared/datasets")) / "manifest.csv"


@contextmanager
def stop_on_terminate() -> Iterator[None]:
    """Within the block, SIGTERM (``kill``, a scheduler stopping a job) stops a long job as
    Ctrl-C does: what finished is kept and exported. A job started in the background by a
    shell ignores SIGINT, so this is how such a job is stopped cleanly."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def fail(message: str, code: int = FAILURE) -> NoReturn:
    """Print ``error: MESSAGE`` as one line on stderr and exit with ``code``.

    Raises:
        typer.Exit: always.
    """
    typer.echo(f"error: {message}".replace("\n", " "), err=True)
    raise typer.Exit(code)


def usage_error(message: str) -> NoReturn:
    """Fail with the usage status (2): the command line itself is wrong.

    Raises:
        typer.Exit: always.
    """
    fail(message, USAGE)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    typer.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def read_data(path: Path) -> Any:
    """Read a table argument (CSV, ARFF or Parquet; see :func:`kg.tables.read_table`)."""
    from metakg.kg.tables import read_table

    return read_table(path)


def open_cli_graph(store: str | None, *, read: bool = False, must_exist: bool = False) -> Any:
    """Open the graph a command works on.

    Args:
        store: the ``--store`` value (``None``: ``METAKG_STORE`` or the user data directory).
        read: the command only reads: when another process (``metakg serve``, say) holds
            the embedded store, open it read-only instead of failing, and say so on stderr.
        must_exist: the command answers from the graph as it is (``query``, ``export``,
            ``validate``, ``keys list``): a store folder named by ``--store`` or
            ``METAKG_STORE`` that does not exist is a mistyped path, refused, not made.

    Returns:
        The :class:`kg.graph.KnowledgeGraph`.

    Raises:
        StoreLocked: the store is held by another process and the command writes.
        StoreError: ``must_exist`` and the named store folder does not exist.
    """
    from metakg.kg.default_graph import open_graph
    from metakg.kg.errors import StoreError, StoreLocked

    named = store or os.environ.get("METAKG_STORE")
    if (must_exist and named and "://" not in named and named not in ("memory:", ":memory:")
            and not Path(named).expanduser().exists()):
        # a mistyped path would otherwise become a new, empty store that answers as if it
        # were the graph (an empty query result, "conforms")
        raise StoreError(f"No store at {named}: check --store (or METAKG_STORE). A store is "
                         "made by a command that writes (ingest, log, run, serve).")
    try:
        return open_graph(store)
    except StoreLocked:
        if not read:
            raise
    graph = open_graph(store, read_only=True)
    where = getattr(graph.store, "path", store)
    print(f"metakg: the store at {where} is held by another process; reading it read-only "
          "(a snapshot as of now)", file=sys.stderr)
    return graph
