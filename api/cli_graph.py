"""CLI commands on the graph itself: ingest, query, export, import, validate, seed build.

Plain functions with Typer annotations; :mod:`api.cli` registers them on the app.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from metakg.api.cli_support import (
    DEFAULT_MANIFEST,
    JsonOpt,
    StoreOpt,
    fail,
    open_cli_graph,
    print_json,
    stop_on_terminate,
    usage_error,
)

__all__ = ["export_graph", "import_graph", "ingest", "query", "seed_build", "seed_models", "seed_published",
           "validate"]


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Table files (ARFF, CSV, Parquet).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column (checked to exist).")] = None,
    manifest: Annotated[Path | None, typer.Option(help="CSV manifest: name,file,task,target,description.")] = None,
    name: Annotated[str | None, typer.Option(
        help="Dataset name of a single table (default: its file name); a name another table "
             "has is refused.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add tables to the graph (idempotent: the same content is one dataset; a name is one
    table's)."""
    from metakg.kg.ingest import check_names, check_tables, ingest_file, ingest_manifest

    if not paths and manifest is None:
        usage_error("give table paths or --manifest FILE.")
    files = list(paths or [])
    if name is not None and len(files) != 1:
        usage_error(f"--name names one table; {len(files)} paths were given.")
    # all read and checked before the manifest's are written (a bar for several files only:
    # one file's refusal stays one line)
    checked = check_tables(files, target=target, name=name, progress=not as_json and len(files) > 1)
    graph = open_cli_graph(store)
    out = []
    try:  # closed on a refusal too: the store must not stay held
        check_names(graph, checked)
        if manifest is not None:
            out += [t.dataset for t in ingest_manifest(graph, manifest, progress=not as_json,
                                                       alongside=checked)]
        out += [ingest_file(graph, path, target=target, name=name).dataset for path in files]
    finally:
        graph.close()
    if as_json:
        print_json([{"id": d.id, "name": d.name, "rows": d.rows, "columns": d.columns,
                     "content_hash": d.content_hash} for d in out])
    else:
        for d in out:
            typer.echo(f"{d.id}  {d.name}  ({d.rows} rows × {d.columns} columns)")


def query(
    sparql: Annotated[str, typer.Argument(
        help="A SPARQL SELECT/ASK/CONSTRUCT query (prefixes mls:, mkg:, prov:, dcterms: declared).")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a read-only SPARQL query; prints a table or W3C SPARQL 1.1 Results JSON."""
    from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions

    graph = open_cli_graph(store, read=True, must_exist=True)
    try:  # results stream: a SERVICE clause may fail while they are read
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
    except OSError as exc:
        fail(f"the query could not be answered: {exc} (a SERVICE clause asks another endpoint; "
             "is it reachable from here?)")
    finally:
        graph.close()


def _term_text(term: Any) -> str:
    from metakg.kg.store import python_value

    return str(python_value(term))


def export_graph(
    file: Annotated[Path, typer.Argument(help="Output: .nq or .ttl, optionally .gz.")],
    store: StoreOpt = None,
) -> None:
    """Write the whole graph to a file (format from the suffix)."""
    graph = open_cli_graph(store, read=True, must_exist=True)
    try:
        n = graph.store.dump(file)
    finally:
        graph.close()
    typer.echo(f"wrote {n} quads to {file}")


def import_graph(
    file: Annotated[Path, typer.Argument(help="Input: .nq or .ttl, optionally .gz.")],
    store: StoreOpt = None,
) -> None:
    """Add every quad of a file to the graph (nothing is duplicated)."""
    from metakg.kg.migrations import migrate

    if not file.exists():
        usage_error(f"{file}: file not found.")
    graph = open_cli_graph(store)
    try:
        n = graph.store.load(file)
        migrate(graph.store)  # the file may predate the current layout
    finally:
        graph.close()
    typer.echo(f"imported {n} new quads from {file}")


def validate(store: StoreOpt = None) -> None:
    """Validate the whole graph against the SHACL shapes with pyshacl."""
    graph = open_cli_graph(store, read=True, must_exist=True)
    conforms, text = graph.check_shapes()
    if not conforms:
        typer.echo(text)
        fail("the graph does not conform to the shapes (report above).")
    typer.echo("the graph conforms to the SHACL shapes")


def seed_build(
    manifest: Annotated[Path, typer.Option(help="Manifest of the shared datasets.")] = DEFAULT_MANIFEST,
    portfolio_size: Annotated[int, typer.Option(help="Configurations (defaults first).")] = 120,
    jobs: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    folds: int = 3,
    subsample: Annotated[int, typer.Option(help="Rows kept per table (stratified, seeded).")] = 5000,
    time_limit: Annotated[float, typer.Option(help="Seconds per fit.")] = 60.0,
    work_dir: Path = Path(".metakg-build"),
    output: Path = Path("data/seed.trig.xz"),
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
    """Evaluate the portfolio on every shared dataset (resumable), export data/seed.trig.xz and
    fit the recommenders shipped beside it (`seed models`).

    Resumes from the work directory's store, or from OUTPUT when that store is empty (a new
    session): only (task, configuration, fold) triples not yet in the graph are evaluated.
    Every table's meta-features are stored as it is ingested.
    """
    from metakg.metalearner.characterise import characterise_if_stale
    from metakg.runner import seed

    with stop_on_terminate():
        report = seed.build_seed(
            manifest, work_dir=work_dir, output=output, jobs=jobs, retry_failed=retry_failed,
            names=dataset or None, characterise=characterise_if_stale,
            settings=seed.SeedSettings(folds=folds, subsample_rows=subsample, seed=0,
                                       portfolio_size=portfolio_size, time_limit=time_limit,
                                       repeats=repeats, small_repeats=small_repeats,
                                       small_rows=small_rows, derived_binary=derived_binary,
                                       derived_splits=derived_splits, small_binary=small_binary))
    typer.echo(f"completed {report.completed}, failed {report.failed}, already done "
               f"{report.skipped}; seed graph in {output}")
    from metakg.kg.default_graph import with_extensions

    seed_models(list(with_extensions(output)), folder=output.parent / "seed-models",
                work_dir=work_dir / "seed-models")


def seed_published(
    manifest: Annotated[Path, typer.Option(help="Manifest of the shared datasets.")] = DEFAULT_MANIFEST,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    time_limit: Annotated[float, typer.Option(
        help="Seconds per fit (published configurations are larger than the portfolio's: "
             "CatBoost's default grows 1,000 trees).")] = 300.0,
    work_dir: Path = Path(".metakg-build/published"),
    output: Annotated[Path, typer.Option(
        help="Where the evaluation so far is exported while it runs (resumed from on a machine "
             "without the work store); `seed published-export` writes the shipped extension "
             "from it.")] = Path("data/published-progress.trig.xz"),
    name: Annotated[list[str] | None, typer.Option(
        help="Only this published configuration, by name (repeat the option for several; "
             "the names are in kg/resources/published_configurations.json).")] = None,
    dataset: Annotated[list[str] | None, typer.Option(
        help="Only this manifest dataset (repeat the option for several).")] = None,
    derived_binary: Annotated[bool, typer.Option(
        help="Also the binary tables derived from the regression and multiclass ones (the "
             "seed's first split), after the shared tables: the recommender learns from them "
             "too.")] = True,
) -> None:
    """Evaluate the published configurations (library defaults, meta-tuned defaults, zero-shot
    portfolios) on every shared dataset with the seed protocol and export the runs to OUTPUT
    (resumable: a new call continues where the last stopped). `seed published-export` then
    writes the complete configurations as the seed's extension.
    """
    from metakg.kg.published import published_configurations
    from metakg.runner.candidates import evaluate_published
    from metakg.runner.seed import SeedSettings

    chosen = published_configurations()
    if name:
        known = {p.name for p in chosen}
        unknown = sorted(set(name) - known)
        if unknown:
            fail(f"unknown published configuration {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        chosen = [p for p in chosen if p.name in set(name)]
    with stop_on_terminate():
        report = evaluate_published(manifest, chosen, work_dir=work_dir, output=output, jobs=jobs,
                                    names=dataset or None,
                                    settings=SeedSettings(time_limit=time_limit,
                                                          derived_binary=derived_binary))
    typer.echo(f"completed {report.completed}, failed {report.failed}, already done "
               f"{report.skipped}; published configurations' runs in {output}")


def seed_published_export(
    output: Annotated[Path, typer.Argument(help="The extension to write (TriG, xz).")] = Path(
        "data/seed-published.trig.xz"),
    source: Annotated[Path, typer.Option(
        help="The evaluation's export (`metakg seed published --output`).")] = Path(
        "data/published-progress.trig.xz"),
    force: Annotated[bool, typer.Option(
        help="Replace OUTPUT even when it holds configurations or tasks SOURCE has not complete.")] = False,
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar="SOURCE",
        help="Only the configurations this source published (repeat the option for several). "
             "Default: the sources marked shipped in kg/resources/published_configurations.json, "
             "whose columns are the shipped extension; name others to measure them as "
             "candidates.")] = None,
) -> None:
    """Write the complete columns (a run on every task of their task types) of the shipped
    sources' published configurations, or of the sources named with --by, from the
    evaluation's export as the seed extension, leaving out any still part-way; the evaluation
    may go on meanwhile. Run `metakg seed models` after it.
    """
    from metakg.kg.published import published_configurations, published_sources
    from metakg.runner.candidates import ColumnsWouldBeLost, export_complete_columns

    known = published_sources()
    unknown = sorted(set(by or ()) - set(known))
    if unknown:
        fail(f"unknown source {', '.join(unknown)} for --by; known: {', '.join(known)}.")
    chosen = set(by) if by else {key for key, s in known.items() if s.shipped}
    if not chosen:
        fail("no published source is marked shipped: name the sources to write with --by.")
    if not source.is_file():
        fail(f"no evaluation export at {source}: run `metakg seed published --output {source}` "
             "first, or name its file with --source.")
    try:
        done = export_complete_columns(source, output, published_configurations(), sources=chosen,
                                       force=force)
    except ColumnsWouldBeLost as err:
        fail(str(err))
    typer.echo(f"{len(done.complete)} complete published configurations ({done.runs} runs) in {output}")
    if done.other_sources:
        counts = Counter(done.other_sources.values())
        typer.echo("not written, their sources not named with --by: " + ", ".join(
            f"{key} {n} complete" for key, n in counts.items()))
    for name, count in done.failed.items():
        typer.echo(f"  {name}: failed on {count} tasks (each counts as the task's worst score)")
    for name, (have, wanted) in done.partial.items():
        if have == wanted:
            typer.echo(f"left out {name}: its {wanted} tasks are done, but its configuration is "
                       "also published under a name still part-way")
        elif have:
            typer.echo(f"left out {name}: {have} of {wanted} tasks")
    untouched = sum(1 for have, _ in done.partial.values() if not have)
    if untouched:
        typer.echo(f"not started: {untouched} configurations")


def seed_models(
    seed: Annotated[list[Path] | None, typer.Argument(
        help="The seed's files, used as given: the seed, then its extensions (default: "
             "data/seed.trig.xz and the data/seed-*.trig.xz beside it, as an install loads "
             "them).")] = None,
    folder: Annotated[Path, typer.Option(help="Where the fitted recommenders go.")] = Path("data/seed-models"),
    work_dir: Annotated[Path, typer.Option(help="An empty folder for the temporary store.")] = Path(
        ".metakg-build/seed-models"),
) -> None:
    """Fit the default recommender on a seed for each primary metric and write them beside it.

    A fresh install answers its first recommendations with them (they are used only while the
    graph is exactly that seed graph). `seed build` runs this at its end.
    """
    import shutil

    from metakg.kg.default_graph import with_extensions
    from metakg.metalearner.shipped import build_shipped

    files = list(seed) if seed else list(with_extensions(Path("data/seed.trig.xz")))
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail(f"no seed file at {', '.join(missing)}; build it with `metakg seed build`.")
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    manifest = build_shipped(tuple(files), folder, work_dir=work_dir)
    shutil.rmtree(work_dir, ignore_errors=True)
    typer.echo(f"recommenders fitted on {' + '.join(map(str, files))} written to {manifest.parent}")
