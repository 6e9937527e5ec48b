"""CLI commands that use the meta-learner and the runner: recommend, metafeatures, run, serve,
warm, log and the API keys.

Plain functions with Typer annotations; :mod:`api.cli` registers them on the app.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from metakg.api.cli_support import (
    JsonOpt,
    StoreOpt,
    TaskOpt,
    fail,
    open_cli_graph,
    print_json,
    read_data,
    usage_error,
)

__all__ = ["keys_create", "keys_list", "keys_revoke", "log", "metafeatures", "recommend",
           "run_configs", "serve", "warm"]


def recommend(
    data: Annotated[Path, typer.Argument(help="CSV, ARFF or Parquet table.")],
    target: Annotated[str, typer.Option(help="Target column.")],
    task: TaskOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="How many configurations.")] = 5,
    metric: Annotated[str | None, typer.Option(help="roc_auc, log_loss, accuracy, rmse, r2...")] = None,
    family: Annotated[list[str] | None, typer.Option(help="Only these families (repeatable).")] = None,
    max_fit_seconds: Annotated[float | None, typer.Option(help="Skip slower configurations.")] = None,
    run: Annotated[bool, typer.Option("--run", help="Evaluate the top k and write the runs back.")] = False,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes for --run.")] = 1,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show time spent per step.")] = False,
) -> None:
    """Recommend warm-start configurations for a table."""
    import time

    from metakg.metalearner.recommend import recommend as do_recommend

    t0 = time.perf_counter()
    df = read_data(data)
    t_read = time.perf_counter() - t0
    graph = open_cli_graph(store, read=not run)
    try:  # closed at the end: a warm worker must not keep other writers out between calls
        result = do_recommend(df, target=target, k=k, task_type=task, metric=metric,
                              families=family, max_fit_seconds=max_fit_seconds, graph=graph,
                              name=data.name, record=True,
                              principal=os.environ.get("USER", "cli"))
        result.timings = {"read": t_read, **result.timings}
        out = result.to_json()
        if run:
            from metakg.runner.table_runs import evaluate_on_table

            configs = [r.config for r in result.recommendations]
            task_rec, report = evaluate_on_table(graph, df, configs, target=target,
                                                 task_type=result.task["task_type"],
                                                 name=data.name, jobs=jobs, progress=not as_json)
            runs = graph.runs(task=task_rec.id)
            scores = {r.configuration_id: r.scores.get(result.metric) for r in runs}
            if result.id:  # the runs this call wrote are the outcomes of the recommendation's ranks
                from metakg.kg.feedback import record_run_outcomes

                written = set(report.run_ids)
                record_run_outcomes(graph, result.id, [r for r in runs if r.id in written])
            for rec_json, rec in zip(out["recommendations"], result.recommendations, strict=True):
                rec_json["observed_score"] = scores.get(rec.config_id)
            out["runs_written"] = report.completed + report.failed
    finally:
        graph.close()
    if as_json:
        print_json(out)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = out["task"]
    console.print(f"[bold]{data.name}[/]: {t['task_type']} on {t['target']!r}, {t['rows']} rows; "
                  f"metric {out['metric']} ({'higher' if out['higher_is_better'] else 'lower'} is better)")
    table = Table("rank", "family", "expected", "configuration", "why")
    for r in out["recommendations"]:
        exp = "" if r["expected_score"] is None else f"{r['expected_score']:.4g}"
        if run and r.get("observed_score") is not None:
            exp += f" (got {r['observed_score']:.4g})"
        table.add_row(str(r["rank"]), r["family"], exp, json.dumps(r["config"].get("params", {})),
                      r["reason"])
    console.print(table)
    if out["id"]:
        console.print(f"recommendation {out['id']}: say what happened with `metakg feedback "
                      f"{out['id']} --used RANK --score S` (or --skipped / --rejected RANK)")
    else:
        console.print(f"recommendation {out['not_stored']}")
    if verbose:
        from metakg.api.warm import serving

        if serving():
            console.print(f"answered by the warm worker (pid {os.getpid()}); METAKG_WARM=0 turns it off")
        console.print("time: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in out["timings"].items()))


def metafeatures(
    data: Annotated[Path | None, typer.Argument(help="Table file.")] = None,
    target: Annotated[str | None, typer.Option(help="Target column.")] = None,
    task: TaskOpt = None,
    recompute: Annotated[bool, typer.Option("--recompute", help="Recompute every stale dataset in the graph.")] = False,
    root: Annotated[list[Path] | None, typer.Option(help="Folders to find tables in when recomputing.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a table's meta-features with per-group timings, or recompute stale ones."""
    if recompute:
        from metakg.metalearner.characterise import recompute as do_recompute

        roots = [Path(p) for p in (root or [Path("."), Path("..")])]

        def resolve(ds: Any) -> Path | None:
            for src in ds.sources:
                for r in roots:
                    if (r / src).exists():
                        return r / src
            return None

        graph = open_cli_graph(store)
        done, missing = do_recompute(graph, resolve, progress=not as_json)
        typer.echo(f"recomputed {done} dataset(s); tables not found for {len(missing)}")
        if missing:
            names = sorted(graph.get_dataset(d).name for d in missing)
            typer.echo("not found (give the folder that holds them with --root): "
                       + ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else ""))
        return
    if data is None or target is None:
        usage_error("give DATA and --target (or --recompute).")
    from metakg.metalearner.metafeatures import compute_metafeatures

    mf = compute_metafeatures(read_data(data), target, task_type=task)  # type: ignore[arg-type]
    if as_json:
        print_json(mf.to_json())
        return
    for name, value in mf.values.items():
        typer.echo(f"{name:28s} {'' if value is None else f'{value:.6g}'}"
                   f"{'  (' + mf.reasons[name] + ')' if value is None else ''}")
    typer.echo("timings: " + ", ".join(f"{g} {s * 1000:.0f} ms" for g, s in mf.timings.items()))


def run_configs(
    data: Annotated[Path, typer.Argument(help="Table file.")],
    target: Annotated[str, typer.Option(help="Target column.")],
    configs: Annotated[Path | None, typer.Option(help="JSON file: a list of configurations.")] = None,
    portfolio: Annotated[int | None, typer.Option(
        min=1, help="Evaluate the first N portfolio configurations.")] = None,
    task: TaskOpt = None,
    folds: int = 5,
    seed: int = 0,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes (local back-end).")] = 1,
    backend: Annotated[str, typer.Option(help="local or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (auto: resolved where each fold runs).")] = "auto",
    gpus_per_task: Annotated[float, typer.Option(
        help="Ray: GPUs a fold of a GPU-capable family asks for when the cluster has GPUs "
             "(a fraction in (0, 1] shares one).")] = 1.0,
    time_limit: Annotated[float, typer.Option(min=0.001, help="Seconds per fit.")] = 300.0,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cross-validate configurations on a table; every fold is written to the graph."""
    from metakg.kg.spaces import portfolio as make_portfolio
    from metakg.runner.table_runs import evaluate_on_table

    if (configs is None) == (portfolio is None):
        usage_error("give exactly one of --configs FILE or --portfolio N.")
    if configs is not None:
        try:
            config_list = json.loads(configs.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            usage_error(f"{configs}: not a readable JSON list of configurations ({exc}).")
        if isinstance(config_list, dict):
            config_list = [config_list]
    else:
        config_list = make_portfolio(int(portfolio))  # type: ignore[arg-type]
    # what the command line got wrong is said before anything runs or is written
    from metakg.kg.spaces import ConfigurationError, validate_configuration
    from metakg.runner.devices import check_device

    problems = []
    for i, config in enumerate(config_list, 1):
        try:
            validate_configuration(config)
        except ConfigurationError as exc:
            problems.append(f"configuration {i}: {exc}")
    if problems:
        usage_error(f"--configs {configs}: " + "; ".join(problems) + ".")
    if backend not in ("local", "ray"):
        usage_error(f"--backend {backend!r}: use local or ray.")
    try:
        check_device(device)
    except ValueError as exc:
        usage_error(f"--device: {exc}")
    graph = open_cli_graph(store)
    df = read_data(data)
    task_rec, report = evaluate_on_table(graph, df, config_list, target=target, task_type=task,
                                         name=data.name, folds=folds, seed=seed, jobs=jobs,
                                         backend=backend, address=address, device=device,
                                         gpus_per_task=gpus_per_task,
                                         time_limit=time_limit, progress=not as_json,
                                         principal=os.environ.get("USER", "cli"))
    runs = graph.runs(task=task_rec.id)
    if as_json:
        print_json({"task": task_rec.id, "metric": task_rec.metric, "completed": report.completed,
                     "failed": report.failed, "skipped": report.skipped, "nodes": dict(report.nodes),
                     "runs": [{"run": r.id, "config": r.configuration_id, "status": r.status,
                               "score": r.scores.get(task_rec.metric), "error": r.error}
                              for r in runs]})
    else:
        typer.echo(f"completed {report.completed}, failed {report.failed}, already in the graph "
                   f"{report.skipped}; metric {task_rec.metric}")
        if len(report.nodes) > 1:
            typer.echo("folds per Ray node: " + ", ".join(f"{n[:12]} {c}" for n, c in sorted(report.nodes.items())))
        for r in sorted(runs, key=lambda r: r.scores.get(task_rec.metric, float("nan")) or 0):
            why = f"  {r.error.strip().splitlines()[-1][:160]}" if r.error else ""
            typer.echo(f"  {r.configuration_id}  {r.status:9s} {r.scores.get(task_rec.metric, '')}{why}")
    if report.failed and not report.completed:
        fail(f"every run failed ({report.failed}); see the errors above (--json gives them whole).")


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    public_reads: Annotated[bool, typer.Option(help="Allow reads without an API key.")] = False,
    store: StoreOpt = None,
) -> None:
    """Start the HTTP API (FastAPI + uvicorn)."""
    import uvicorn

    if store:
        os.environ["METAKG_STORE"] = store
    if public_reads:
        os.environ["METAKG_PUBLIC_READS"] = "1"
    from metakg.api.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")


def warm(
    stop: Annotated[bool, typer.Option("--stop", help="Stop the worker.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show (or stop) the warm worker that answers `metakg recommend` after the first call."""
    from metakg.api.warm import request, worker_address

    address = worker_address()
    if address is None:
        fail("warm workers are off here (METAKG_WARM=0, not POSIX, or no private socket folder).")
    try:
        info = request(address, {"op": "stop" if stop else "status"})  # type: ignore[arg-type]
    except OSError:
        info = None
    if as_json:
        print_json(info or {})
    elif info is None:
        typer.echo("no warm worker for this environment (the next `metakg recommend` starts one)")
    elif stop:
        typer.echo(f"stopped the warm worker (pid {info['stopped']})")
    else:
        import time

        typer.echo(f"warm worker pid {info['pid']}: {info['served']} request(s) served, up "
                   f"{time.time() - info['started']:.0f} s, exits after {info['idle_s']:.0f} s idle; "
                   f"socket {info['address']}")


def keys_create(
    name: Annotated[str, typer.Argument(help="Who the key is for.")],
    role: Annotated[str, typer.Option(help="read, write or admin.")] = "write",
    store: StoreOpt = None,
) -> None:
    """Create an API key (printed once; only its hash is stored)."""
    from metakg.api.keys import create_key

    key = create_key(open_cli_graph(store), name, role)
    typer.echo(key)


def keys_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List principals and their roles (never the keys)."""
    from metakg.api.keys import list_keys

    rows = list_keys(open_cli_graph(store, read=True, must_exist=True))
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            typer.echo(f"{r['name']:20s} {r['role']:6s} {'revoked' if r['revoked'] else 'active'}")


def keys_revoke(name: Annotated[str, typer.Argument()], store: StoreOpt = None) -> None:
    """Revoke a principal's key."""
    from metakg.api.keys import revoke_key

    revoke_key(open_cli_graph(store), name)
    typer.echo(f"revoked {name}")


def log(
    task_id: Annotated[str, typer.Option("--task", help="Task id the run achieves.")],
    config: Annotated[str, typer.Option(help="Configuration JSON, or @file.json.")],
    score: Annotated[list[str], typer.Option(help="measure=v1,v2,... per fold (repeatable).")],
    tag: Annotated[list[str] | None, typer.Option(help="key=value (repeatable).")] = None,
    status: str = "completed",
    run_id: Annotated[str | None, typer.Option("--id", help=(
        "A run id of your own: the same run logged again under it is logged once (a script "
        "may retry safely); another run under it is refused."))] = None,
    server: Annotated[str | None, typer.Option(envvar="METAKG_SERVER", help="Log through this API server.")] = None,
    key: Annotated[str | None, typer.Option(envvar="METAKG_API_KEY", help="API key for --server.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log one run from the shell (locally, or to a server with --server/--key)."""
    try:
        text = Path(config[1:]).read_text() if config.startswith("@") else config
    except OSError as exc:
        usage_error(f"--config {config}: cannot read the file ({exc.strerror}).")
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        usage_error(f"--config is not valid JSON ({exc}).")
    folds: dict[str, list[float]] = {}
    for s in score:
        name, _, vals = s.partition("=")
        vals = vals.removesuffix(",")  # a trailing comma, as a spreadsheet copy leaves it
        if not name or not vals or name in folds:
            usage_error(f"--score {s!r}: expected measure=v1,v2,... (one per fold), each measure "
                        "once" + (f"; {name} is given twice" if name in folds else "") + ".")
        try:
            folds[name] = [float(v) for v in vals.split(",")]
        except ValueError:
            usage_error(f"--score {s!r}: expected measure=v1,v2,... with numbers (an empty "
                        "value: a doubled comma?).")
    bad_tags = [t for t in tag or [] if "=" not in t or not t.split("=", 1)[0]]
    if bad_tags:
        usage_error(f"--tag {bad_tags[0]!r}: expected key=value.")
    tags = dict(t.split("=", 1) for t in (tag or []))
    _warn_if_misspelt_family(cfg)
    if server:
        from metakg.api.client import Client

        run = Client(server, key).log_run(task_id=task_id, config=cfg, fold_scores=folds,
                                          tags=tags, status=status, **({"id": run_id} if run_id else {}))
        run_id = run["id"]
    else:
        from metakg.kg.records import RunInput

        graph = open_cli_graph(store)
        try:  # closed on a refusal too: a warm worker must not keep other writers out
            # log_run checks the task and the scores (measure, range, folds) before writing
            run_id = graph.log_run(RunInput(task_id=task_id, config=cfg, fold_scores=folds,
                                            status=status, tags=tags, source="cli", run_id=run_id,
                                            principal=os.environ.get("USER", "cli"))).id
        finally:
            graph.close()
    print_json({"run": run_id}) if as_json else typer.echo(f"logged run {run_id}")


def _warn_if_misspelt_family(config: Any) -> None:
    """Say on stderr when a configuration's family is no known family but looks like one
    misspelt (``xgbost``): any family may be logged, so it is logged all the same."""
    import difflib

    from metakg.kg.spaces import FAMILIES

    family = config.get("family") if isinstance(config, dict) else None
    if not isinstance(family, str) or family in FAMILIES:
        return
    close = difflib.get_close_matches(family, list(FAMILIES), n=1, cutoff=0.85)
    if close:
        typer.echo(f"metakg: family {family!r} is not one of metakg's families; did you mean "
                   f"{close[0]!r}? (logged as {family!r}: runs of another family are not "
                   "pooled with it)", err=True)
