"""Run search: the filter language, its translation to one bound SPARQL query, ordering,
paging, and the configuration parameters it reads (written and migrated)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import chain

import pandas as pd
import pytest
from pyoxigraph import DefaultGraph, NamedNode, Quad

from metakg.kg import InvalidData, KnowledgeGraph, MemoryStore, NotFound
from metakg.kg.migrations import migrate_once
from metakg.kg.records import RunInput
from metakg.kg.run_nquads import MEAN_PREDICATES
from metakg.kg.run_search import (
    get_run,
    parse_filter,
    parse_order,
    search_query,
    search_runs,
)

#: (config, roc_auc or None, principal, tags, source, started month, status)
RUNS = [
    ({"family": "lightgbm", "params": {"num_leaves": 31, "boosting": "gbdt"}}, 0.91, "alice",
     {"team": "risk"}, "api", 1, "completed"),
    ({"family": "lightgbm", "params": {"num_leaves": 63, "boosting": "dart"}}, 0.995, "alice",
     {"team": "risk", "stage": "prod"}, "api", 2, "completed"),
    ({"family": "lightgbm", "params": {"num_leaves": 127, "boosting": "gbdt"}}, 0.999, "bob",
     {"team": "growth"}, "runner", 3, "completed"),
    ({"family": "linear", "params": {"C": 0.1, "fit_intercept": True}}, 0.70, "bob", {},
     "runner", 4, "completed"),
    ({"family": "linear", "params": {"C": 10.0, "fit_intercept": False}}, 0.75, "carol o'neil",
     {"team": "risk"}, "openml", 5, "completed"),
    ({"family": "knn", "params": {"n_neighbors": 7}}, None, "carol o'neil", {}, "api", 6,
     "failed"),
]


@pytest.fixture(scope="module")
def graph() -> KnowledgeGraph:
    g = KnowledgeGraph(MemoryStore())
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    ds = g.add_dataset(df, name="credit.g", target="y")
    task = g.add_task(ds, target="y", task_type="classification", n_classes=2, folds=2)
    other = g.add_dataset(df.assign(x=df.x * 2), name="other", target="y")
    other_task = g.add_task(other, target="x", task_type="regression", folds=2)
    runs = []
    for i, (config, roc, who, tags, source, month, status) in enumerate(RUNS):
        runs.append(RunInput(
            task_id=task.id, config=config, run_id=f"run{i}",
            fold_scores={"roc_auc": [roc, roc], "accuracy": [0.5, 0.6]} if roc else {},
            status=status, error=None if roc else "boom", principal=who, tags=tags,
            source=source, started_at=datetime(2024, month, 1, tzinfo=UTC)))
    runs.append(RunInput(task_id=other_task.id, config={"family": "knn", "params": {}},
                         run_id="run6", fold_scores={"rmse": [1.0, 2.0]}, principal="dave",
                         source="api", started_at=datetime(2024, 7, 1, tzinfo=UTC)))
    g.log_runs(runs)
    g.dataset_id = ds.id  # type: ignore[attr-defined]
    return g


def ids(graph: KnowledgeGraph, text: str = "", order: str | None = None, **page: int) -> list[str]:
    return [r.id for r in search_runs(graph, text, order_by=order, **page)]


@pytest.mark.parametrize("text,expected", [
    ("metrics.roc_auc > 0.99", {"run1", "run2"}),
    ("metrics.roc_auc <= 0.75", {"run3", "run4"}),
    ("metrics.roc_auc != 0.91", {"run1", "run2", "run3", "run4", "run5", "run6"}),
    ("params.family = 'lightgbm' and metrics.roc_auc > 0.99", {"run1", "run2"}),
    ("params.family != 'lightgbm'", {"run3", "run4", "run5", "run6"}),
    ("params.family LIKE 'li%'", {"run0", "run1", "run2", "run3", "run4"}),
    ("params.num_leaves >= 63", {"run1", "run2"}),
    ("params.num_leaves = 63.0", {"run1"}),
    ("params.num_leaves != 63", {"run0", "run2", "run3", "run4", "run5", "run6"}),
    ("params.boosting = 'gbdt'", {"run0", "run2"}),
    ("params.boosting ILIKE 'DA_T'", {"run1"}),
    ("params.C < 1", {"run3"}),
    ("params.fit_intercept = true", {"run3"}),
    ("params.fit_intercept = false", {"run4"}),
    ("tags.team = 'risk'", {"run0", "run1", "run4"}),
    ("tags.team != 'risk'", {"run2", "run3", "run5", "run6"}),
    ("tags.team LIKE 'gr%'", {"run2"}),
    ("tags.stage = 'prod' and tags.team = 'risk'", {"run1"}),
    ("dataset = 'credit.g'", {f"run{i}" for i in range(6)}),
    ("dataset != 'credit.g'", {"run6"}),
    ("dataset LIKE 'oth%'", {"run6"}),
    ("principal = 'alice'", {"run0", "run1"}),
    ("principal = 'carol o\\'neil'", {"run4", "run5"}),
    ("principal ILIKE 'CAROL%'", {"run4", "run5"}),
    ("principal != 'bob'", {"run0", "run1", "run4", "run5", "run6"}),
    ("status = 'failed'", {"run5"}),
    ("source = 'openml'", {"run4"}),
    ("source != 'api'", {"run2", "run3", "run4"}),
    ("started >= '2024-06-01'", {"run5", "run6"}),
    ("started < '2024-02-15T00:00:00+00:00'", {"run0", "run1"}),
    ("started = '2024-03-01T00:00:00Z'", {"run2"}),
    ("metrics.rmse > 0 AND principal = 'dave'", {"run6"}),
    ("", {f"run{i}" for i in range(7)}),
])
def test_every_filter_kind(graph: KnowledgeGraph, text: str, expected: set[str]) -> None:
    assert set(ids(graph, text)) == expected


def test_dataset_by_id(graph: KnowledgeGraph) -> None:
    assert set(ids(graph, f"dataset = '{graph.dataset_id}'")) == {f"run{i}" for i in range(6)}  # type: ignore[attr-defined]


def test_order_with_missing_values_last_and_paging(graph: KnowledgeGraph) -> None:
    desc = ids(graph, order="metrics.roc_auc DESC")
    assert desc[:5] == ["run2", "run1", "run0", "run4", "run3"]
    assert set(desc[5:]) == {"run5", "run6"}  # no roc_auc: after the others
    assert ids(graph, order="metrics.roc_auc ASC")[:5] == ["run3", "run4", "run0", "run1", "run2"]
    # pages put together give the whole order, also across the runs without the key
    pages = [ids(graph, order="metrics.roc_auc DESC", limit=2, offset=o) for o in (0, 2, 4, 6)]
    assert list(chain(*pages)) == desc and [len(p) for p in pages] == [2, 2, 2, 1]
    assert ids(graph, order="metrics.roc_auc DESC", limit=3, offset=10) == []
    assert ids(graph, "params.family = 'lightgbm'", "params.num_leaves DESC") == ["run2", "run1", "run0"]
    assert ids(graph, "metrics.roc_auc > 0.8", "metrics.roc_auc") == ["run0", "run1", "run2"]
    assert ids(graph, "", "started DESC", limit=2) == ["run6", "run5"]
    families = [r.family for r in search_runs(graph, order_by="params.family")]
    assert families == sorted(families) and families[0] == "knn"
    assert search_runs(graph, order_by="params.family DESC")[0].family == "linear"
    unordered = [ids(graph, limit=3, offset=o) for o in (0, 3, 6)]
    assert sorted(chain(*unordered)) == [f"run{i}" for i in range(7)]  # stable store order


def test_found_run_has_everything(graph: KnowledgeGraph) -> None:
    (run,) = search_runs(graph, "tags.stage = 'prod'")
    assert run.config == {"family": "lightgbm", "params": {"num_leaves": 63, "boosting": "dart"}}
    assert (run.family, run.principal, run.source, run.status) == ("lightgbm", "alice", "api", "completed")
    assert run.tags == {"team": "risk", "stage": "prod"} and run.dataset_name == "credit.g"
    assert run.metrics == {"roc_auc": pytest.approx(0.995), "accuracy": pytest.approx(0.55)}
    assert run.started.startswith("2024-02-01") and run.dataset == graph.dataset_id  # type: ignore[attr-defined,union-attr]
    assert get_run(graph, "run1") == run
    for bad in ("nope", "../run1", "run1> <x", ""):
        with pytest.raises(NotFound, match="No run"):
            get_run(graph, bad)


@pytest.mark.parametrize("text,message", [
    ("metrics.roc_auc >> 1", "Unknown operator '>>' at character 16"),
    ("metrics.roc_auc ~ 1", "Expected an operator .* at character 16"),
    ("params.family = lightgbm", "Expected a value at character 16.*quoted string"),
    ("> 1", "Cannot read the filter at character 0"),
    ("metrics.roc_auc > 0.8 and", "character"),
    ("metrics.roc_auc > 0.8 or params.C = 1", "Expected 'and' at character 22"),
    ("metrics.roc_auc > 0.8 params.C = 1", "Expected 'and' at character 22"),
    ("metrics.bogus > 1", "unknown metric 'bogus'"),
    ("metrics. > 1", "needs a name after the dot"),
    ("colour = 'red'", "unknown key 'colour'"),
    ("metrics.roc_auc = 'high'", "is a number"),
    ("metrics.roc_auc LIKE 'x%'", "metrics.roc_auc takes"),
    ("tags.team > 'a'", "tags.team takes = != LIKE ILIKE"),
    ("status = 3", "quote the value"),
    ("params.C LIKE 3", "LIKE needs a quoted pattern"),
    ("started > 'yesterday'", "ISO time"),
    ("params > 1", "needs a name after the dot"),
])
def test_bad_filters_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(InvalidData, match=message):
        parse_filter(text)


@pytest.mark.parametrize("text,message", [
    ("metrics.roc_auc SIDEWAYS", "KEY \\[ASC\\|DESC\\]"), ("tags.team", "cannot use tags"),
    ("weight DESC", "unknown key 'weight'"),
])
def test_bad_orders(text: str, message: str) -> None:
    with pytest.raises(InvalidData, match=message):
        parse_order(text)


def test_every_value_is_bound_never_written_into_the_query() -> None:
    hostile = "x' } ; DROP ALL ; SELECT * { ?s ?p ?o"
    conds = parse_filter(
        f"params.family = {hostile!r} and tags.team LIKE {hostile!r} and principal = {hostile!r} "
        f"and dataset = {hostile!r} and source != {hostile!r} and params.boosting ILIKE "
        f"{hostile!r} and metrics.roc_auc > 0.123456 and started > '2031-02-03'")
    query, bind = search_query(conds, parse_order("params.num_leaves DESC"), limit=7, offset=3)
    for text in ("DROP", "x'", "0.123456", "2031", "num_leaves", "lightgbm", "roc_auc"):
        assert text not in query
    assert "LIMIT 7 OFFSET 3" in query
    assert hostile in bind.values() and 0.123456 in bind.values()
    # and the search runs: nothing matches, nothing breaks
    assert search_runs(KnowledgeGraph(MemoryStore()), f"tags.team = {hostile!r}") == []


def test_parameters_are_written_as_triples_and_migrated(graph: KnowledgeGraph) -> None:
    config = NamedNode(graph.add_configuration(RUNS[3][0]).iri)
    rows = graph.store.select("""SELECT ?name ?value WHERE { ?c mkg:param ?p .
        ?p a mkg:Parameter ; mkg:paramName ?name ; mkg:paramValue ?value }""", {"c": config})
    assert {r["name"]: r["value"] for r in rows} == {"C": 0.1, "fit_intercept": True}
    # a store written before parameters were triples gets them from the migration
    old = KnowledgeGraph(MemoryStore())
    old.add_configuration({"family": "svm", "params": {"C": 2, "kernel": "rbf", "extra": [1, 2],
                                                       "gamma": None}})
    old.store._update("PREFIX mkg: <https://w3id.org/metakg/ns#> DELETE WHERE { ?c mkg:param ?p . "
                      "?p ?x ?y }")
    old.store._update("PREFIX mkg: <https://w3id.org/metakg/ns#> INSERT DATA { "
                      "<https://w3id.org/metakg/id/store/this> mkg:schemaVersion 2 }")
    assert not old.store.select("SELECT ?p WHERE { ?c mkg:param ?p }")
    n_before = len(old.store)
    assert migrate_once(old.store)
    values = {r["n"]: r["v"] for r in old.store.select(
        "SELECT ?n ?v WHERE { ?c mkg:param ?p . ?p mkg:paramName ?n ; mkg:paramValue ?v }")}
    assert values == {"C": 2, "kernel": "rbf", "extra": "[1,2]"}  # null values are not written
    assert len(old.store) == n_before + 3 * 4 + 1  # four quads a parameter, one marker
    assert not migrate_once(old.store)


MEASURE_OF = {p.value: m for m, p in MEAN_PREDICATES.items()}


def test_metrics_are_one_triple_from_the_run_and_migrated(graph: KnowledgeGraph) -> None:
    # every mean evaluation has the same value one triple from its run, and nothing else does
    evaluations = {(r["r"], r["m"].rsplit("/", 1)[-1]): r["v"] for r in graph.store.select(
        "SELECT ?r ?m ?v WHERE { ?r mkg:meanEvaluation ?e . ?e mls:specifiedBy ?m ; "
        "mls:hasValue ?v }")}
    shortcuts = {(r["r"], MEASURE_OF[r["p"]]): r["v"] for r in graph.store.select(
        "SELECT ?r ?p ?v WHERE { ?r ?p ?v FILTER(STRSTARTS(STR(?p), STR(mkg:mean_))) }")}
    assert shortcuts == evaluations and len(shortcuts) == 11
    # metric conditions and ordering read that triple, never the evaluation nodes
    conds = parse_filter("metrics.roc_auc > 0.8 and metrics.accuracy != 0.1")
    for missing in (False, True):
        query, bind = search_query(conds, parse_order("metrics.rmse DESC"), missing=missing)
        assert "meanEvaluation" not in query and "specifiedBy" not in query
        assert NamedNode("https://w3id.org/metakg/ns#mean_rmse") in bind.values()
    # ordering every run by a metric starts from that triple, not from every run's lookup;
    # the runs lacking it still come from every run
    assert "mkg:configuration" not in search_query([], parse_order("metrics.rmse DESC"))[0]
    assert "mkg:configuration" in search_query([], parse_order("metrics.rmse DESC"),
                                               missing=True)[0]
    expected = {
        ("metrics.roc_auc > 0.99", None): ["run1", "run2"],
        ("metrics.roc_auc > 0.8", "metrics.roc_auc DESC"): ["run2", "run1", "run0"],
        ("metrics.accuracy != 0.55", None): ["run5", "run6"],  # lacking the key: matched
        ("params.family = 'knn'", "metrics.rmse DESC"): ["run6", "run5"],  # lacking it: last
    }
    for (text, order), runs in expected.items():
        found = ids(graph, text, order)
        assert (found if order else sorted(found)) == runs, (text, order)
    # a store written before the triples existed (layout 3) gets them from the migration
    old = KnowledgeGraph(MemoryStore())
    old.store.add(Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in
                  graph.store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"))
    old.store._update("PREFIX mkg: <https://w3id.org/metakg/ns#> DELETE { ?r ?p ?v } WHERE { "
                      "?r ?p ?v FILTER(STRSTARTS(STR(?p), STR(mkg:mean_))) }")
    old.store._update("PREFIX mkg: <https://w3id.org/metakg/ns#> INSERT DATA { "
                      "<https://w3id.org/metakg/id/store/this> mkg:schemaVersion 3 }")
    assert ids(old, "metrics.roc_auc > 0.8") == []
    n_before = len(old.store)
    assert migrate_once(old.store)
    assert len(old.store) == n_before + 11 + 1  # one triple per mean evaluation, one marker
    for (text, order), runs in expected.items():
        found = ids(old, text, order)
        assert (found if order else sorted(found)) == runs, (text, order)
