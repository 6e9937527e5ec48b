"""The ``metakg`` command line (Typer). Every command has ``--help``; most have ``--json``.

Exit status: 0 on success; 2 with one line on stderr for a command line that cannot run as
given (an unknown command or option, a missing or bad value) and for a metakg error (a table
or dataset that is not there, invalid data); 1 with one line on stderr for any other failure.

The commands live in :mod:`api.cli_graph` and :mod:`api.cli_commands` (which import only
:mod:`api.cli_support`); this module builds the app from them, so the imports form a tree.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from metakg.api import cli_active, cli_commands, cli_feedback, cli_graph, cli_openml, cli_sync
from metakg.kg.errors import MetaKGError

__all__ = ["app", "main"]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"metakg {version('metakg')}")
        except PackageNotFoundError:
            typer.echo("metakg (not installed: no version recorded)")
        raise typer.Exit()


HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=HELP_OPTIONS,
                  help="metakg: a meta-learning knowledge graph and warm-start recommender.")


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the installed version and exit.")] = False,
) -> None:
    """metakg: a meta-learning knowledge graph and warm-start recommender."""


seed_app = typer.Typer(no_args_is_help=True, context_settings=HELP_OPTIONS, help="Build the seed knowledge graph.")
keys_app = typer.Typer(no_args_is_help=True, context_settings=HELP_OPTIONS, help="Manage API keys.")
app.add_typer(seed_app, name="seed")
app.add_typer(keys_app, name="keys")
sync_app = typer.Typer(no_args_is_help=True, context_settings=HELP_OPTIONS,
                       help="Sync runs from other experiment trackers.")
app.add_typer(sync_app, name="sync")
sync_app.command("mlflow")(cli_sync.sync_mlflow)

app.command()(cli_graph.ingest)
app.command()(cli_graph.query)
app.command("export")(cli_graph.export_graph)
app.add_typer(cli_openml.import_group(cli_graph.import_graph), name="import")
app.command()(cli_graph.validate)
seed_app.command("build")(cli_graph.seed_build)
seed_app.command("models")(cli_graph.seed_models)
seed_app.command("published")(cli_graph.seed_published)
seed_app.command("published-export")(cli_graph.seed_published_export)
app.command()(cli_commands.recommend)
app.command()(cli_commands.metafeatures)
app.command("run")(cli_commands.run_configs)
app.command()(cli_commands.serve)
app.command()(cli_commands.warm)
app.command()(cli_commands.log)
app.command("next")(cli_active.next_runs)
app.command()(cli_active.improve)
app.command()(cli_feedback.feedback)
keys_app.command("create")(cli_commands.keys_create)
keys_app.command("list")(cli_commands.keys_list)
keys_app.command("revoke")(cli_commands.keys_revoke)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> None:
    """Run the app on ``argv`` (default ``sys.argv[1:]``).

    Every failure ends as one line on stderr and a non-zero exit status: usage errors and
    metakg errors 2, other failures 1; ``metakg`` alone prints the help. Success returns.

    Raises:
        SystemExit: the command failed (or asked to exit), with its exit status.
    """
    try:
        code = app(args=argv, prog_name="metakg", standalone_mode=False)
    except MetaKGError as exc:
        typer.echo(_one_line(f"error: {exc}"), err=True)
        sys.exit(2)
    except typer.Exit as exc:
        if exc.exit_code:
            sys.exit(exc.exit_code)
        return
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.TyperException as exc:  # click's usage errors (Typer vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `metakg` or `metakg keys` alone
            typer.echo(exc.format_message(), err=True)
        else:
            typer.echo(_one_line(f"error: {exc.format_message()}{_help_hint(exc)}"), err=True)
        sys.exit(getattr(exc, "exit_code", 1))
    except Exception as exc:
        if not _unreachable_server(exc):
            raise
        import httpx

        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            said = (f"error: the metakg server did not answer in time ({type(exc).__name__}); "
                    "what was sent may have been written: check before sending it again")
        else:
            said = (f"error: cannot reach the metakg server ({type(exc).__name__}: {exc}); is "
                    "it running, and are --server and METAKG_SERVER right?")
        typer.echo(_one_line(said), err=True)
        sys.exit(2)
    if isinstance(code, int) and code:  # click returns typer.Exit's code in this mode
        sys.exit(code)


def _unreachable_server(exc: Exception) -> bool:
    """Whether ``exc`` is the HTTP client's failure to reach a server (``--server``)."""
    if not type(exc).__module__.startswith("httpx"):
        return False
    import httpx

    return isinstance(exc, httpx.TransportError)


def _help_hint(exc: Exception) -> str:
    """`` (see `metakg CMD --help`)`` for the command whose line was wrong, when known."""
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) if ctx is not None else None
    return f" (see `{path} --help`)" if path else ""
