"""Progress shown on stderr for the steps that take more than a few seconds.

On a terminal: a rich progress bar (or a spinner with the elapsed time where the amount of work
is unknown) that disappears when done. Elsewhere (logs, CI, pipes): one line when the step
starts and one when it ends, so a log still says what took the time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bar", "spinner"]


@contextmanager
def progress_bar(label: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Show the progress of a step of ``total`` units (bytes, rows).

    Args:
        label: what is being done, e.g. "loading the seed graph".
        total: the amount of work.
        enabled: ``False`` shows nothing.

    Returns:
        A context manager whose value is a callback taking the units done so far.
    """
    if enabled and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("metakg: {task.description}"), BarColumn(), TaskProgressColumn(),
                      TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda done: bar.update(task, completed=done)
        return
    with _lines(label, enabled):
        yield lambda done: None


@contextmanager
def spinner(label: str, enabled: bool = True) -> Iterator[None]:
    """Show that a step of unknown length is running (a spinner with the elapsed time).

    Args:
        label: what is being done, e.g. "fitting the recommender".
        enabled: ``False`` shows nothing.
    """
    if enabled and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("metakg: {task.description}"), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            bar.add_task(label, total=None)
            yield
        return
    with _lines(label, enabled):
        yield


@contextmanager
def _lines(label: str, enabled: bool) -> Iterator[None]:
    t0 = time.perf_counter()
    if enabled:
        print(f"metakg: {label}...", file=sys.stderr, flush=True)
    yield
    if enabled:
        print(f"metakg: {label}: done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
