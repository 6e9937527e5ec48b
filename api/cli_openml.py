"""``metakg import``: a graph file (``metakg import FILE``) or OpenML runs (``metakg import openml``).

``import`` is a group whose default command is ``graph``: a first argument that is not one of
its commands (``graph``, ``openml``) is a graph file, so ``metakg import FILE`` still works as
before, and ``metakg import graph FILE`` says the same explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from metakg.api.cli_support import JsonOpt, StoreOpt, open_cli_graph, print_json, usage_error

__all__ = ["import_group", "openml_import"]

_DEFAULT = "graph"


class UnknownFlows(StrEnum):
    """What ``--unknown-flows`` does with a run whose flow matches no family."""

    keep = "keep"
    skip = "skip"


class _DefaultToGraph(TyperGroup):
    """A group that runs ``graph`` when its first argument is not one of its commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [_DEFAULT, *args]
        return super().parse_args(ctx, args)


def import_group(graph_command: Callable[..., Any]) -> typer.Typer:
    """The ``import`` group: ``graph FILE`` (the default: ``import FILE``) and ``openml``.

    Args:
        graph_command: the command that imports a graph file (:func:`api.cli_graph.import_graph`).
    """
    group = typer.Typer(cls=_DefaultToGraph, no_args_is_help=True,
                        help="Add a graph file (`metakg import FILE`, short for `metakg import "
                             "graph FILE`) or OpenML runs (`metakg import openml --task ID`).")
    group.command(_DEFAULT)(graph_command)
    group.command("openml")(openml_import)
    return group


def openml_import(
    task: Annotated[list[int] | None, typer.Option(
        "--task", help="OpenML task id (repeat the option for several).")] = None,
    study: Annotated[int | None, typer.Option(
        help="OpenML study id (its runs) or benchmark suite id (the runs of its tasks).")] = None,
    max_runs: Annotated[int, typer.Option(min=1, help="Most runs listed per task (or per study).")] = 100,
    data: Annotated[bool, typer.Option(
        "--data/--no-data", help="Download each dataset's table and compute its meta-features "
                                 "(--no-data: known by its OpenML id, meta-features mapped from "
                                 "OpenML's data qualities).")] = True,
    unknown_flows: Annotated[UnknownFlows, typer.Option(
        help="A run whose flow matches no family: keep it (family openml:<flow>) or skip it.",
        case_sensitive=False)] = UnknownFlows.keep,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import the runs of OpenML tasks or of a study, with their datasets and flows.

    Idempotent: runs already imported are left alone. Flows become families where one matches;
    runs skipped are listed with the reason.
    """
    from metakg.kg.importers import Characteriser, import_openml
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.metalearner.metafeatures import EXTRACTOR, VERSION

    if not task and study is None:
        usage_error("give OpenML task ids (--task ID, repeatable) or a study (--study ID).")
    graph = open_cli_graph(store)
    report = import_openml(graph, tasks=task or [], study=study, max_runs=max_runs,
                           download_data=data, unknown_flows=unknown_flows.value,
                           characteriser=Characteriser(EXTRACTOR, VERSION, characterise_if_stale))
    if as_json:
        print_json(report.to_json())
        return
    typer.echo(f"added {len(report.added)} runs, {len(report.already)} already in the graph, "
               f"{len(report.skipped)} skipped (OpenML tasks {', '.join(map(str, report.tasks)) or 'none'})")
    for family, n in sorted(report.families.items()):
        typer.echo(f"  {family}: {n}")
    for skipped in report.skipped:
        typer.echo(f"  skipped run {skipped.run_id}: {skipped.reason}")
