"""``metakg sync mlflow``: sync an MLflow experiment into the graph, once or as a watch.

Plain functions with Typer annotations; :mod:`api.cli` registers them on its ``sync`` app.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Annotated, Any

import typer

from metakg.api.cli_support import JsonOpt, StoreOpt, open_cli_graph, print_json, stop_on_terminate

__all__ = ["sync_mlflow"]

#: Skipped runs listed in the text output (``--json`` lists them all).
_SHOWN = 50


def _print_report(report: Any, *, as_json: bool, watch: bool, poll: int,
                  known_skips: set[str]) -> None:
    """One sync's report: JSON (one line per poll with ``--watch``), or a summary line and
    the skipped runs not listed before."""
    if as_json:
        if watch:
            typer.echo(json.dumps({"poll": poll, **report.to_json()}, ensure_ascii=False))
        else:
            print_json(report.to_json())
        return
    new_skips = [s for s in report.skipped if s.run_id not in known_skips]
    known_skips.update(s.run_id for s in report.skipped)
    head = f"poll {poll} at {datetime.now().strftime('%H:%M:%S')}: " if watch else ""
    typer.echo(f"{head}{report.experiment} ({report.tracking_uri}): added {report.added}, "
               f"already synced {report.duplicates}, skipped {len(report.skipped)}, "
               f"unfinished {report.unfinished} (of {report.seen} runs)")
    for s in new_skips[:_SHOWN]:
        typer.echo(f"  skipped {s.run_id} ({s.run_name or 'no name'}): {s.reason}")
    if len(new_skips) > _SHOWN:
        typer.echo(f"  ... and {len(new_skips) - _SHOWN} more skipped runs (--json lists them all)")


def sync_mlflow(
    tracking_uri: Annotated[str, typer.Option("--tracking-uri", envvar="MLFLOW_TRACKING_URI",
                                              help="MLflow tracking URI (http(s)://, sqlite:///...).")],
    experiment: Annotated[str, typer.Option("--experiment", help="Experiment name (or id).")],
    watch: Annotated[bool, typer.Option("--watch", help="Keep polling and add runs as they "
                                                         "finish, until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.0,
                                            help="Seconds between polls with --watch.")] = 30.0,
    max_polls: Annotated[int | None, typer.Option("--max-polls", min=1,
                                                  help="With --watch: stop after N polls.")] = None,
    metric_step: Annotated[str, typer.Option("--metric-step", help="A metric logged at several "
                                                                  "steps counts by its last or best step.")] = "last",
    folds: Annotated[int, typer.Option(help="Folds of tasks made for runs that name none.")] = 5,
    page_size: Annotated[int, typer.Option("--page-size", help="Runs per MLflow page.")] = 1000,
    server: Annotated[str | None, typer.Option(envvar="METAKG_SERVER",
                                               help="Have this metakg server sync (admin key).")] = None,
    key: Annotated[str | None, typer.Option(envvar="METAKG_API_KEY", help="API key for --server.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sync an MLflow experiment: add the finished runs the graph lacks (by MLflow run id).

    Runs that name no dataset in the graph are listed and skipped; syncing again adds nothing
    twice.
    """
    from functools import partial

    from metakg.kg.importers.mlflow_sync import (
        MlflowSyncReport,
        sync_mlflow_experiment,
        watch_mlflow_experiment,
    )

    options = {"metric_step": metric_step, "folds": folds, "page_size": page_size}
    graph = client = None
    if server:
        from metakg.api.client import Client

        client = Client(server, key)

        def sync_once() -> MlflowSyncReport:
            return MlflowSyncReport.from_json(client.sync_mlflow(  # type: ignore[union-attr]
                tracking_uri=tracking_uri, experiment=experiment, **options))
    else:
        graph = open_cli_graph(store)
        sync_once = partial(sync_mlflow_experiment, graph, experiment, tracking_uri=tracking_uri,
                            synced_by=os.environ.get("USER", "cli"), progress=not as_json,
                            **options)
    polls, added = [0], [0]
    known_skips: set[str] = set()

    def on_poll(report: MlflowSyncReport) -> None:
        polls[0] += 1
        added[0] += report.added
        _print_report(report, as_json=as_json, watch=watch, poll=polls[0], known_skips=known_skips)

    def on_error(exc: Exception) -> None:
        typer.echo(f"metakg: poll {polls[0] + 1} failed (retrying in {interval:g} s): "
                   f"{' '.join(str(exc).split())}", err=True)
        polls[0] += 1

    try:
        with stop_on_terminate():
            state = watch_mlflow_experiment(sync_once, interval=interval,
                                            max_polls=max_polls if watch else 1,
                                            on_poll=on_poll, on_error=on_error)
        if watch and not as_json:
            typer.echo(f"stopped after {state.polls} polls; added {added[0]} runs")
    except KeyboardInterrupt:
        if not watch:
            raise
        if not as_json:
            typer.echo(f"stopped after {polls[0]} polls; added {added[0]} runs")
    finally:
        if graph is not None:
            graph.close()
        if client is not None:
            client.close()
