"""The ``metakg`` command line (Typer). Every command has ``--help``; most have ``--json``.

Exit status 0 on success; on failure a one-line reason on stderr and a non-zero status.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from metakg.kg.errors import MetaKGError
from metakg.kg.migrations import migrate

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="metakg: a meta-learning knowledge graph and warm-start recommender.")
seed_app = typer.Typer(no_args_is_help=True, help="Build the seed knowledge graph.")
keys_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")
app.add_typer(seed_app, name="seed")
app.add_typer(keys_app, name="keys")

StoreOpt = Annotated[str | None, typer.Option("--store", envvar="METAKG_STORE",
                                              help="Directory, memory: or http(s):// endpoint.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}".replace("\n", " "), err=True)
    raise typer.Exit(code)


def _graph(store: str | None) -> Any:
    from metakg.kg.default_graph import open_graph

    return open_graph(store)


def _print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Table files (ARFF, CSV, Parquet).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column (checked to exist).")] = None,
    manifest: Annotated[Path | None, typer.Option(help="CSV manifest: name,file,task,target,description.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add tables to the graph (idempotent: the same content is one dataset)."""
    from metakg.kg.ingest import ingest_file, ingest_manifest

    if not paths and manifest is None:
        _fail("give table paths or --manifest FILE.")
    graph = _graph(store)
    out = []
    if manifest is not None:
        out += [t.dataset for t in ingest_manifest(graph, manifest, progress=not as_json)]
    for p in paths or []:
        out.append(ingest_file(graph, p, target=target).dataset)
    if as_json:
        _print_json([{"id": d.id, "name": d.name, "rows": d.rows, "columns": d.columns,
                      "content_hash": d.content_hash} for d in out])
    else:
        for d in out:
            typer.echo(f"{d.id}  {d.name}  ({d.rows} rows × {d.columns} columns)")


@app.command()
def query(
    sparql: Annotated[str, typer.Argument(
        help="A SPARQL SELECT/ASK/CONSTRUCT query (prefixes mls:, mkg:, prov:, dcterms: declared).")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a read-only SPARQL query; prints a table or W3C SPARQL 1.1 Results JSON."""
    from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions

    graph = _graph(store)
    result = graph.store.query(sparql)
    if isinstance(result, QuerySolutions | QueryBoolean):
        if as_json:
            typer.echo(result.serialize(format=QueryResultsFormat.JSON).decode())
            return
        if isinstance(result, QueryBoolean):
            typer.echo("true" if bool(result) else "false")
            return
        from rich.console import Console
        from rich.table import Table

        names = [v.value for v in result.variables]
        table = Table(*names)
        for sol in result:
            table.add_row(*["" if sol[n] is None else _term_text(sol[n]) for n in names])
        Console().print(table)
    else:
        for t in result:
            typer.echo(f"{t.subject} {t.predicate} {t.object} .")


def _term_text(term: Any) -> str:
    from metakg.kg.store import python_value

    return str(python_value(term))


@app.command("export")
def export_graph(
    file: Annotated[Path, typer.Argument(help="Output: .nq or .ttl, optionally .gz.")],
    store: StoreOpt = None,
) -> None:
    """Write the whole graph to a file (format from the suffix)."""
    graph = _graph(store)
    n = graph.store.dump(file)
    typer.echo(f"wrote {n} quads to {file}")


@app.command("import")
def import_graph(
    file: Annotated[Path, typer.Argument(help="Input: .nq or .ttl, optionally .gz.")],
    store: StoreOpt = None,
) -> None:
    """Add every quad of a file to the graph (nothing is duplicated)."""
    if not file.exists():
        _fail(f"{file}: file not found.")
    graph = _graph(store)
    n = graph.store.load(file)
    migrate(graph.store)  # the file may predate the current layout
    typer.echo(f"imported {n} new quads from {file}")


@app.command()
def validate(store: StoreOpt = None) -> None:
    """Validate the whole graph against the SHACL shapes with pyshacl."""
    from pyoxigraph import RdfFormat

    from metakg.kg.shapes import validate_with_pyshacl

    graph = _graph(store)
    conforms, text = validate_with_pyshacl(graph.store._dump(RdfFormat.N_QUADS))
    if not conforms:
        typer.echo(text)
        _fail("the graph does not conform to the shapes (report above).")
    typer.echo("the graph conforms to the SHACL shapes")


@seed_app.command("build")
def seed_build(
    manifest: Annotated[Path, typer.Option(help="Manifest of the shared datasets.")] = Path(
        "../shared/datasets/manifest.csv"),
    portfolio_size: Annotated[int, typer.Option(help="Configurations (defaults first).")] = 120,
    jobs: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    folds: int = 3,
    subsample: Annotated[int, typer.Option(help="Rows kept per table (stratified, seeded).")] = 5000,
    time_limit: Annotated[float, typer.Option(help="Seconds per fit.")] = 60.0,
    work_dir: Path = Path(".metakg-build"),
    output: Path = Path("data/seed.nq.gz"),
    retry_failed: Annotated[bool, typer.Option(help="Evaluate failed runs again.")] = False,
    repeats: Annotated[int, typer.Option(
        min=1, help="Cross-validation repeats (each with its own fold shuffle and subsample).")] = 1,
    small_repeats: Annotated[int, typer.Option(
        min=0, help="Repeats of tables with at most --small-rows rows, where fold noise is "
                    "largest and a repeat cheapest (when more than --repeats).")] = 0,
    small_rows: Annotated[int, typer.Option(min=1, help="See --small-repeats.")] = 1000,
    dataset: Annotated[list[str] | None, typer.Option(
        help="Only this manifest dataset (repeat the option for several).")] = None,
    derived_binary: Annotated[bool, typer.Option(
        help="Also evaluate a binary task derived from each regression table (target above its "
             "median) and multiclass table (most frequent class against the rest).")] = False,
    derived_splits: Annotated[int, typer.Option(
        min=1, max=2, help="Derived binary tasks per table with --derived-binary: 2 adds the "
                           "target above its upper quartile, or the two most frequent classes.")] = 1,
    small_binary: Annotated[int, typer.Option(
        min=0, help="Also evaluate a sample of this many rows (stratified) of every binary table, "
                    "shared or derived, of at least twice as many rows (0: none).")] = 0,
) -> None:
    """Evaluate the portfolio on every shared dataset (resumable) and export data/seed.nq.gz.

    Resumes from the work directory's store, or from OUTPUT when that store is empty (a new
    session): only (task, configuration, fold) triples not yet in the graph are evaluated.
    """
    from metakg.runner.seed import SeedSettings, build_seed

    report = build_seed(manifest, work_dir=work_dir, output=output, jobs=jobs, retry_failed=retry_failed,
                        names=dataset or None,
                        settings=SeedSettings(folds=folds, subsample_rows=subsample, seed=0,
                                              portfolio_size=portfolio_size, time_limit=time_limit,
                                              repeats=repeats, small_repeats=small_repeats,
                                              small_rows=small_rows, derived_binary=derived_binary,
                                              derived_splits=derived_splits,
                                              small_binary=small_binary))
    typer.echo(f"completed {report.completed}, failed {report.failed}, already done "
               f"{report.skipped}; seed graph in {output}")


def main(argv: list[str] | None = None) -> None:
    """Run the app on ``argv`` (default ``sys.argv[1:]``), turning metakg errors into one
    line on stderr and a non-zero exit status (``SystemExit``)."""
    try:
        code = app(args=argv, prog_name="metakg", standalone_mode=False)
        if isinstance(code, int) and code:  # click returns typer.Exit's code in this mode
            sys.exit(code)
    except MetaKGError as exc:
        typer.echo(f"error: {exc}".replace("\n", " "), err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


from metakg.api import cli_commands as _more  # noqa: E402,F401  (registers run, recommend, ...)
