"""``metakg next`` and ``metakg improve``: the graph asks for the runs that teach it most
(what they do: :mod:`metakg.api.active_runs`). Ctrl-C or ``kill`` during ``improve`` loses no
finished fold: the runner resumes a half-done run at the next call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from metakg.api.active_runs import drain, make_proposals
from metakg.api.cli_support import (
    DEFAULT_MANIFEST,
    JsonOpt,
    StoreOpt,
    open_cli_graph,
    print_json,
    stop_on_terminate,
)

__all__ = ["improve", "next_runs", "parse_duration"]


def parse_duration(text: str) -> float:
    """Seconds of a duration such as ``30m``, ``90s``, ``1h30m`` or ``45`` (seconds).

    Raises:
        typer.BadParameter: not a duration.
    """
    parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or parts is None or not any(parts.groups()):
        raise typer.BadParameter(f"{text!r} is not a duration; write e.g. 30m, 90s or 1h30m.")
    h, m, s = (float(x) if x else 0.0 for x in parts.groups())
    return h * 3600 + m * 60 + s


def next_runs(
    budget: Annotated[int, typer.Option("--budget", min=1, help="How many runs to propose.")] = 10,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="Only runs on this dataset (name or id).")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose the runs whose results are expected to improve the recommendations most, each
    with its reason, ranked; they are stored as the open queue that `metakg improve` drains."""
    graph = open_cli_graph(store)
    proposals = make_proposals(graph, budget=budget, dataset=dataset)
    if as_json:
        print_json({"proposals": [p.to_json() for p in proposals]})
        return
    for p in proposals:
        typer.echo(f"{p.rank:3d}. [{p.status}] {p.dataset} × {p.config_id[:8]} "
                   f"({p.task_type}/{p.metric}) utility {p.utility:.4f}: {p.reason}")


def improve(
    budget: Annotated[str, typer.Option("--budget", help="Time to spend, e.g. 30m, 90s, 1h.")] = "30m",
    backend: Annotated[str, typer.Option(help="local or ray.")] = "local",
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes (local back-end).")] = 1,
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    time_limit: Annotated[float, typer.Option(min=0.001, help="Seconds per fit.")] = 300.0,
    max_runs: Annotated[int | None, typer.Option(
        "--max-runs", min=1, help="Stop after this many proposals, budget or not.")] = None,
    manifest: Annotated[Path, typer.Option(help="Manifest of the datasets' tables.")] = DEFAULT_MANIFEST,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the open proposals of `metakg next` in order until the time budget is spent,
    writing every run back and marking its proposal done (resumable; Ctrl-C loses nothing)."""
    from metakg.api.cli_support import usage_error

    if backend not in ("local", "ray"):
        usage_error(f"--backend must be local or ray, not {backend!r}.")
    try:
        seconds = parse_duration(budget)
    except typer.BadParameter as exc:
        usage_error(f"--budget: {exc}")
    if seconds <= 0:
        usage_error(f"--budget {budget!r}: give a time above 0, e.g. 30m.")
    graph = open_cli_graph(store)
    with stop_on_terminate():
        report = drain(graph, budget_s=seconds, manifest=manifest, jobs=jobs, backend=backend,
                       address=address, time_limit=time_limit, progress=not as_json,
                       max_runs=max_runs)
    if as_json:
        print_json({"done": report.done, "failed": report.failed, "no_table": report.no_table,
                    "closed_elsewhere": report.closed_elsewhere, "remaining": report.remaining,
                    "seconds": report.seconds, "stopped": report.stopped})
    else:
        no_table = f" ({len(report.no_table)} with no table in {manifest})" if report.no_table else ""
        elsewhere = (f", closed by another writer meanwhile {len(report.closed_elsewhere)}"
                     if report.closed_elsewhere else "")
        typer.echo(f"done {len(report.done)}, failed {len(report.failed)}{elsewhere}, still open "
                   f"{report.remaining}{no_table} ({report.stopped}, {report.seconds:g} s)")
