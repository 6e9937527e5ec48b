"""``metakg feedback``: record what happened to a recommendation, or show it.

A plain function with Typer annotations; :mod:`api.cli` registers it on the app.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Annotated, Any

import typer

from metakg.api.cli_support import JsonOpt, StoreOpt, open_cli_graph, print_json, usage_error

__all__ = ["feedback"]

def _verdict(used: int | None, skipped: int | None, rejected: int | None) -> tuple[str, int] | None:
    given = [(v, r) for v, r in (("used", used), ("skipped", skipped), ("rejected", rejected))
             if r is not None]
    if len(given) > 1:
        usage_error("give one of --used, --skipped or --rejected (one rank per call).")
    return given[0] if given else None


def _show(rec: dict[str, Any], fb: list[dict[str, Any]]) -> None:
    q = rec["query"]
    typer.echo(f"recommendation {rec['id']} ({rec['created']}, by {rec['principal'] or 'unknown'}; "
               f"{rec['recommender']}): {q['task_type']}, metric {q['metric']}, "
               + (f"dataset {q['dataset_id']}" if q["dataset_id"] else "a table not in the graph"))
    for r in rec["ranked"]:
        exp = "" if r["expected_score"] is None else f" expected {r['expected_score']:.4g}"
        typer.echo(f"  {r['rank']:>3}. {r['family'] or '?':22s} {r['config_id']}{exp}")
    for f in fb:
        score = "" if f["score"] is None else f" score {f['score']:.4g}"
        reason = f" ({f['reason']})" if f["reason"] else ""
        revised = f"; revised by {f['revised_by']}" if f.get("revised_by") else ""
        typer.echo(f"  feedback: rank {f['rank']} {f['verdict']}{score}{reason} by "
                   f"{f['principal'] or 'unknown'} at {f['created']}{revised}")


def feedback(
    rec_id: Annotated[str, typer.Argument(help="The recommendation's id (printed by `metakg recommend`).")],
    used: Annotated[int | None, typer.Option(
        min=1, metavar="RANK", help="You ran the configuration at this rank.")] = None,
    skipped: Annotated[int | None, typer.Option(
        min=1, metavar="RANK", help="You did not try this rank.")] = None,
    rejected: Annotated[int | None, typer.Option(
        min=1, metavar="RANK", help="You ruled this rank out (give --reason).")] = None,
    score: Annotated[float | None, typer.Option(
        help="The outcome by the recommendation's metric (with --used).")] = None,
    reason: Annotated[str, typer.Option(help="Why (required with --rejected).")] = "",
    server: Annotated[str | None, typer.Option(envvar="METAKG_SERVER", help="Send it to this API server.")] = None,
    key: Annotated[str | None, typer.Option(envvar="METAKG_API_KEY", help="API key for --server.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record what happened to a recommended configuration (`--used 2 --score 0.81`,
    `--skipped 1`, `--rejected 3 --reason "..."`), or, with none of these, show the
    recommendation and its feedback. An outcome score on a table in the graph is also logged
    as a run, which the recommender learns from."""
    chosen = _verdict(used, skipped, rejected)
    if chosen is None and (score is not None or reason):
        usage_error("--score and --reason go with --used, --skipped or --rejected RANK.")
    if server:
        from metakg.api.client import Client

        with Client(server, key) as client:
            if chosen is None:
                rec = client.get_recommendation(rec_id)
                fb = rec.pop("feedback")
            else:
                out = client.feedback(rec_id, rank=chosen[1], verdict=chosen[0], score=score,
                                      reason=reason)
    else:
        from metakg.kg.feedback import list_feedback, record_feedback
        from metakg.kg.recommendations import get_recommendation

        graph = open_cli_graph(store, read=chosen is None)
        try:
            if chosen is None:
                rec = asdict(get_recommendation(graph, rec_id))
                fb = [asdict(f) for f in list_feedback(graph, rec_id)]
            else:
                out = asdict(record_feedback(graph, rec_id, rank=chosen[1], verdict=chosen[0],
                                             score=score, reason=reason, source="cli",
                                             principal=os.environ.get("USER", "cli")))
        finally:
            graph.close()
    if chosen is None:
        if as_json:
            print_json({**rec, "feedback": fb})
        else:
            _show(rec, fb)
        return
    if as_json:
        print_json(out)
        return
    learnt = (f"; revised at the same moment by newer feedback {out['revised_by']}, which the "
              "recommender learns from instead" if out.get("revised_by")
              else f"; logged as run {out['run_id']}, which the recommender learns from" if out["run_id"]
              else "; the table is not in the graph, so the recommender does not learn from it"
              if out["score"] is not None else "")
    typer.echo(f"recorded: rank {out['rank']} {out['verdict']}"
               + ("" if out["score"] is None else f" with score {out['score']:.4g}") + learnt)
