"""Active learning: proposals ranked with reasons, stored as PROV entities, `metakg next`,
`metakg improve` draining the queue (resumable, Ctrl-C safe), and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakg.api.active_runs import drain, make_proposals
from metakg.api.cli_active import parse_duration
from metakg.kg import KnowledgeGraph, MemoryStore, OxigraphStore, RunInput, read_table
from metakg.kg.errors import DatasetNotFound, InvalidData
from metakg.kg.identity import configuration_id
from metakg.kg.proposals import (
    NewProposal,
    RecommenderVersion,
    get_proposal,
    list_proposals,
    mark_done,
    write_proposals,
)
from metakg.metalearner import MetaRecommender, load_metadata
from metakg.metalearner.active import acquisition, member_predictions, propose
from metakg.metalearner.metafeatures.extract import EXTRACTOR
from metakg.metalearner.recommenders import Query
from metakg.runner import portfolio

CONFIGS = portfolio(12, families=["linear", "knn", "hist_gradient_boosting"])
#: datasets whose runs are only partly in the graph (the others have every configuration)
PARTIAL = ("t6", "t7")
VERSION = RecommenderVersion("test recommender", "1")


def _table(i: int, rng: np.random.Generator) -> pd.DataFrame:
    """A small synthetic binary table; odd tables have a linear signal, even ones a local one."""
    X = rng.normal(size=(150, 4))
    signal = X[:, 0] + X[:, 1] if i % 2 else np.sin(3 * X[:, 0]) * np.cos(3 * X[:, 1])
    y = np.where(signal + 0.3 * rng.normal(size=150) > np.median(signal), "yes", "no")
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(4)]).assign(y=y)


def _score(i: int, config: dict, rng: np.random.Generator) -> float:
    good = {"linear": i % 2 == 1, "knn": i % 2 == 0, "hist_gradient_boosting": True}[config["family"]]
    return 0.7 + (0.15 if good else 0.0) + 0.05 * rng.random()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(seed dump of a small graph, manifest of its tables): 8 tables, every configuration run
    on six of them and a third on the other two."""
    folder = tmp_path_factory.mktemp("active")
    rng = np.random.default_rng(0)
    graph = KnowledgeGraph(MemoryStore())
    rows = []
    for i in range(8):
        name = f"t{i}"
        path = folder / f"{name}.csv"
        _table(i, rng).to_csv(path, index=False)
        rows.append({"name": name, "file": path.name, "task": "classification", "target": "y",
                     "description": "synthetic"})
        df = read_table(path)
        ds = graph.add_dataset(df, name=name, target="y")
        values = {"log_nr_inst": float(np.log(150)), "log_nr_attr": float(np.log(4)),
                  "frac_cat": 0.0, "lm_1nn": 0.6 + 0.2 * (i % 2 == 0) + 0.01 * i,
                  "lm_ridge": 0.6 + 0.2 * (i % 2 == 1) - 0.01 * i, "cor.mean": 0.1 * i}
        graph.set_metafeatures(ds.id, values, extractor=EXTRACTOR)
        task = graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=3)
        configs = CONFIGS[::3] if name in PARTIAL else CONFIGS
        runs = []
        for cfg in configs:
            s = _score(i, cfg, rng)
            runs.append(RunInput(task_id=task.id, config=cfg,
                                 fold_scores={"roc_auc": [s - 0.01, s, s + 0.01]}))
        graph.log_runs(runs)
    manifest = folder / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    dump = folder / "graph.nq.gz"
    graph.store.dump(dump)
    return dump, manifest


def _graph(world: tuple[Path, Path]) -> KnowledgeGraph:
    graph = KnowledgeGraph(MemoryStore())
    graph.store.load(world[0])
    return graph


def _surrogate(graph: KnowledgeGraph) -> tuple[object, MetaRecommender]:
    """The views and the default recommender fitted on them, with a small ranker."""
    from dataclasses import replace

    from metakg.metalearner.policy import RankerPolicy, load_policy

    meta = load_metadata(graph, "classification", "roc_auc", cache=False)
    policy = replace(load_policy("roc_auc"), ranker=RankerPolicy(n_bags=3, n_estimators=40))
    return meta, MetaRecommender(policy=policy).fit(meta)


def test_the_default_recommenders_members_are_its_rankers_bag(world: tuple[Path, Path]) -> None:
    """Proposals read the default's own bag: each model's prediction, averaged on the target's
    scale, is the ranker's prediction; the proposals are runs the graph lacks."""
    from dataclasses import replace

    from metakg.metalearner import MetaRecommender
    from metakg.metalearner.active import bag_of
    from metakg.metalearner.policy import RankerPolicy, load_policy

    meta = load_metadata(_graph(world), "classification", "roc_auc", cache=False)
    policy = replace(load_policy("roc_auc"), ranker=RankerPolicy(n_bags=3, n_estimators=40))
    default = MetaRecommender(policy=policy).fit(meta)
    assert bag_of(default) is default
    from metakg.metalearner.recommenders import NearestDatasetsRecommender

    for other in (NearestDatasetsRecommender().fit(meta), MetaRecommender()):
        with pytest.raises(InvalidData, match="has no fitted bag of ranking models"):
            bag_of(other)
    mf = meta.metafeatures.loc[meta.datasets[0]].to_dict()
    members = member_predictions(default, mf)
    assert members.shape == (3, len(default.config_ids_))
    top = np.exp(policy.ranker.temperature * (members - 1.0)).mean(axis=0)
    predicted = default.predicted(Query(metafeatures=mf))
    np.testing.assert_allclose(1.0 + np.log(top) / policy.ranker.temperature, predicted, rtol=1e-9)
    assert np.ptp(members, axis=0).max() > 0  # the models disagree somewhere
    found = propose(meta, default, budget=4)
    names = {meta.names[d]: d for d in meta.datasets}
    assert len(found) == 4 and all(
        c.dataset in PARTIAL and np.isnan(meta.raw.loc[names[c.dataset], c.config_id]) for c in found)


def test_acquisition_weighs_disagreement_by_the_chance_of_entering_the_top_k() -> None:
    members = np.array([[0.9, 0.2, -0.8, 0.5], [0.7, 0.0, -0.2, 0.5], [0.5, 0.4, -0.5, 0.5]])
    observed = np.array([np.nan, np.nan, np.nan, 0.6])
    utility, spread, chance, _, threshold = acquisition(members, observed, k=1)
    assert threshold == pytest.approx(0.6)  # the best run so far
    assert np.isnan(utility[3])  # already run: nothing to learn
    # the same spread: the one predicted near the top wins; far below the top k teaches little
    assert spread[0] == pytest.approx(spread[1])
    assert utility[0] > utility[1] > utility[2] >= 0
    assert chance[0] > 0.5 > chance[1] > chance[2]
    # fewer runs than k: anything can enter the top k
    _, _, chance_few, _, floor = acquisition(members, observed, k=5)
    assert floor == -1.0 and chance_few[0] > 0.99


def test_proposals_are_missing_runs_ranked_by_utility_with_reasons(world: tuple[Path, Path]) -> None:
    graph = _graph(world)
    meta, surrogate = _surrogate(graph)
    found = propose(meta, surrogate, budget=6)
    assert len(found) == 6
    assert [c.utility for c in found] == sorted((c.utility for c in found), reverse=True)
    names = {meta.names[d]: d for d in meta.datasets}
    for c in found:  # only runs the graph lacks
        assert c.dataset in PARTIAL and np.isnan(meta.raw.loc[names[c.dataset], c.config_id])
        assert c.raw_utility == pytest.approx(c.disagreement * c.chance)
        assert 0 <= c.utility <= 1  # relative to its dataset's most useful missing run
        assert f"disagree by {c.disagreement:.2f}" in c.reason and c.dataset in c.reason
        assert "top 5" in c.reason
    only = propose(meta, surrogate, budget=50, datasets=[names["t7"]])
    assert {c.dataset for c in only} == {"t7"} and len(only) == len(CONFIGS) - len(CONFIGS[::3])
    with pytest.raises(InvalidData, match="No classification runs of dataset"):
        propose(meta, surrogate, datasets=["nope"])


def test_proposals_put_each_datasets_most_useful_run_first(world: tuple[Path, Path]) -> None:
    graph = _graph(world)
    meta, surrogate = _surrogate(graph)
    raw = propose(meta, surrogate, budget=1000, per_dataset=False)
    scaled = propose(meta, surrogate, budget=1000)
    assert len(raw) == len(scaled) == 2 * (len(CONFIGS) - len(CONFIGS[::3]))
    # the raw order ranks by disagreement x chance across datasets
    assert [c.utility for c in raw] == sorted((c.utility for c in raw), reverse=True)
    assert all(c.utility == pytest.approx(c.raw_utility) for c in raw)
    # per dataset: the same candidates, each utility divided by the largest of its dataset
    top = {d: max(c.utility for c in raw if c.dataset_id == d) for d in {c.dataset_id for c in raw}}
    assert {(c.dataset_id, c.config_id) for c in scaled} == {(c.dataset_id, c.config_id) for c in raw}
    for c in scaled:
        assert c.utility == pytest.approx(c.raw_utility / top[c.dataset_id])
        assert "of the most useful missing run's utility there" in c.reason
    # so a budget of one run per dataset proposes each dataset's most useful run
    first = propose(meta, surrogate, budget=len(PARTIAL))
    assert {c.dataset for c in first} == set(PARTIAL)
    assert all(c.utility == pytest.approx(1.0) for c in first)
    assert {(c.dataset_id, c.config_id) for c in first} == {
        max(((c.dataset_id, c.config_id, c.utility) for c in raw if c.dataset_id == d), key=lambda x: x[2])[:2]
        for d in top}


def test_proposals_are_entities_generated_by_the_recommender_version(world: tuple[Path, Path]) -> None:
    graph = _graph(world)
    meta, surrogate = _surrogate(graph)
    stamp = graph.learning_stamp()
    news = [NewProposal(c.dataset_id, c.config_id, c.utility, c.reason, "classification", "roc_auc")
            for c in propose(meta, surrogate, budget=4)]
    stored = write_proposals(graph, news, generated_by=VERSION)
    assert [p.rank for p in stored] == [1, 2, 3, 4] and {p.status for p in stored} == {"open"}
    assert graph.learning_stamp() == stamp  # the fitted recommenders stay cached
    rows = graph.store.select(
        """SELECT ?p ?name ?v ?d WHERE { ?p a mkg:Proposal , prov:Entity ;
             prov:wasGeneratedBy ?act ; mkg:proposedDataset ?d .
             ?act a prov:Activity ; prov:wasAssociatedWith ?agent .
             ?agent a prov:SoftwareAgent ; dcterms:title ?name ; mkg:version ?v .
             ?d a mls:Dataset }""")
    assert len(rows) == 4 and {(r["name"], r["v"]) for r in rows} == {("test recommender", "1")}
    assert [p.id for p in list_proposals(graph, status="open")] == [p.id for p in stored]
    assert get_proposal(graph, stored[0].id).reason == news[0].reason
    # a new queue replaces the open one
    again = write_proposals(graph, news[2:], generated_by=RecommenderVersion("test recommender", "2"))
    assert [p.id for p in list_proposals(graph, status="open")] == [p.id for p in again]


def test_a_run_logged_by_hand_answers_the_open_proposal_it_runs(world: tuple[Path, Path]) -> None:
    graph = _graph(world)
    queue = make_proposals(graph, budget=3)
    first, second = queue[0], queue[1]
    task = next(t for t in graph.tasks(first.dataset_id) if t.task_type == "classification")
    config = json.loads(graph.get_configuration(first.config_id).json)
    other = next(c for c in CONFIGS if configuration_id(c) not in {q.config_id for q in queue})
    # a failed run of it, a run of another configuration, a run without its metric: still open
    graph.log_runs([RunInput(task_id=task.id, config=config, status="failed", error="out of memory"),
                    RunInput(task_id=task.id, config=other, fold_scores={"roc_auc": [0.8]})])
    graph.log_run(RunInput(task_id=task.id, config=config, fold_scores={"accuracy": [0.8]}))
    assert get_proposal(graph, first.id).status == "open"
    run = graph.log_run(RunInput(task_id=task.id, config=config, fold_scores={"roc_auc": [0.81, 0.83]},
                                 principal="ann"))
    done = get_proposal(graph, first.id)
    assert done.status == "done" and done.run_id == run.id
    assert get_proposal(graph, second.id).status == "open"
    assert [q.id for q in list_proposals(graph, status="open")] == [q.id for q in queue[1:]]
    with pytest.raises(InvalidData, match="already done"):
        mark_done(graph, first.id, run.id)


def test_of_two_writers_closing_one_proposal_one_wins(world: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`metakg improve` read the proposal open, then a run logged by hand closed it before
    improve's write: improve is told, and the proposal keeps the one answer."""
    import metakg.kg.proposals as proposals

    graph = _graph(world)
    first = make_proposals(graph, budget=2)[0]
    stale = get_proposal(graph, first.id)
    task = next(t for t in graph.tasks(first.dataset_id) if t.task_type == "classification")
    config = json.loads(graph.get_configuration(first.config_id).json)
    by_hand = graph.log_run(RunInput(task_id=task.id, config=config, fold_scores={"roc_auc": [0.8]}))
    improve_run = graph.log_run(RunInput(task_id=task.id, config=config, fold_scores={"roc_auc": [0.7]},
                                         principal="improve"))
    reads = iter([stale])
    real = proposals.get_proposal
    monkeypatch.setattr(proposals, "get_proposal", lambda g, pid: next(reads, None) or real(g, pid))
    with pytest.raises(InvalidData, match="closed by another writer"):
        mark_done(graph, first.id, improve_run.id)
    answers = graph.store.select("SELECT ?r WHERE { ?p mkg:answeredBy ?r }",
                                 {"p": proposals.entity("proposal", first.id)})
    assert len(answers) == 1 and answers[0]["r"].endswith(by_hand.id)
    assert real(graph, first.id).status == "done"


def test_a_proposal_two_processes_both_closed_is_settled_on_one_answer(world: tuple[Path, Path]) -> None:
    """Processes sharing a remote store can both pass the conditional update: whichever
    settles first leaves one status and one answer, the same one every writer keeps."""
    from pyoxigraph import DefaultGraph, Quad

    import metakg.kg.proposals as proposals
    from metakg.kg.vocabulary import MKG, entity, lit

    graph = _graph(world)
    first = make_proposals(graph, budget=2)[0]
    node, g = entity("proposal", first.id), DefaultGraph()
    runs = sorted(entity("run", r).value for r in ("run-b", "run-a"))
    graph.store.replace([Quad(node, MKG.proposalStatus, lit("open"), g)],
                        [Quad(node, MKG.proposalStatus, lit("done"), g),
                         Quad(node, MKG.proposalStatus, lit("failed"), g),
                         Quad(node, MKG.error, lit("run x failed"), g),
                         *[Quad(node, MKG.answeredBy, entity("run", r), g) for r in ("run-b", "run-a")]])
    proposals._settle(graph, first.id)
    settled = get_proposal(graph, first.id)
    assert settled.status == "done" and entity("run", settled.run_id).value == runs[0]
    assert not graph.store.ask("ASK { ?p mkg:error ?e }", {"p": node})


def test_a_proposal_for_a_deleted_dataset_is_a_clear_error_and_changes_nothing(
        world: tuple[Path, Path]) -> None:
    graph = _graph(world)
    meta, surrogate = _surrogate(graph)
    found = propose(meta, surrogate, budget=2)
    before = len(graph.store)
    bad = [NewProposal(found[0].dataset_id, found[0].config_id, 0.1, "x", "classification", "roc_auc"),
           NewProposal("0" * 32, found[1].config_id, 0.1, "x", "classification", "roc_auc")]
    with pytest.raises(DatasetNotFound, match=r"not in the graph \(deleted\?\); nothing was written"):
        write_proposals(graph, bad, generated_by=VERSION)
    assert len(graph.store) == before
    # a queued proposal whose dataset is deleted afterwards: improve stops on it, runs nothing
    stored = write_proposals(graph, bad[:1], generated_by=VERSION)
    node = f"<https://w3id.org/metakg/id/dataset/{found[0].dataset_id}>"
    gone = [q for q in graph.store.query(f"CONSTRUCT {{ {node} ?p ?o }} WHERE {{ {node} ?p ?o }}")]
    from pyoxigraph import DefaultGraph, Quad

    graph.store.remove([Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in gone])
    runs = len(graph.runs())
    with pytest.raises(DatasetNotFound, match="no longer in the graph; nothing was run or changed"):
        drain(graph, budget_s=60, manifest=world[1], progress=False)
    assert get_proposal(graph, stored[0].id).status == "open" and len(graph.runs()) == runs


def test_next_json_prints_and_stores_the_ranked_queue(world: tuple[Path, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from metakg.api.cli import main

    store = tmp_path / "store"
    with OxigraphStore(store) as s:
        s.load(world[0])
    main(["next", "--budget", "3", "--json", "--store", str(store)])
    doc = json.loads(capsys.readouterr().out)
    assert [p["rank"] for p in doc["proposals"]] == [1, 2, 3]
    assert all(p["dataset"] in PARTIAL and p["status"] == "open" and "disagree" in p["reason"]
               for p in doc["proposals"])
    graph = KnowledgeGraph(OxigraphStore(store))
    assert [p.id for p in list_proposals(graph, status="open")] == [p["id"] for p in doc["proposals"]]
    graph.close()
    with pytest.raises(SystemExit) as exit_info:
        main(["next", "--dataset", "no-such-table", "--store", str(store)])
    assert exit_info.value.code == 2
    assert "no-such-table" in capsys.readouterr().err
    # an empty graph: the reason, and what to do in this environment (the tests set METAKG_SEED="")
    with pytest.raises(SystemExit) as exit_info:
        main(["next", "--budget", "3", "--store", str(tmp_path / "empty")])
    assert exit_info.value.code == 2
    assert "The graph has no runs yet, so there is nothing to learn from or to propose; METAKG_SEED " \
           "is set to empty" in capsys.readouterr().err


def test_improve_leaves_proposals_open_when_the_manifest_lacks_their_tables(
        world: tuple[Path, Path], tmp_path: Path) -> None:
    graph = _graph(world)
    queue = make_proposals(graph, budget=2)
    with pytest.raises(InvalidData, match=r"manifest .*nope\.csv: no such file"):
        drain(graph, budget_s=60, manifest=tmp_path / "nope.csv", progress=False)
    other = tmp_path / "other.csv"  # a real manifest, of other tables
    other.write_text(world[1].read_text().splitlines()[0] + "\n")
    report = drain(graph, budget_s=60, manifest=other, progress=False)
    assert report.done == [] and report.failed == [] and report.no_table == [q.id for q in queue]
    assert report.remaining == 2 and report.stopped.startswith(f"no table in {other} for the 2")
    assert all(get_proposal(graph, q.id).status == "open" for q in queue)


@pytest.mark.slow  # two batches of the runner's process pool: about 20 s on two busy cores
def test_improve_runs_the_top_proposal_marks_it_done_and_resumes(world: tuple[Path, Path]) -> None:
    graph = _graph(world)
    queue = make_proposals(graph, budget=2)
    first = drain(graph, budget_s=600, manifest=world[1], max_runs=1, progress=False)
    assert first.done == [queue[0].id] and first.remaining == 1
    done = get_proposal(graph, queue[0].id)
    run = next(r for r in graph.runs(dataset=queue[0].dataset_id, configuration=queue[0].config_id))
    assert done.status == "done" and done.run_id == run.id
    assert run.status == "completed" and 0.0 <= run.scores["roc_auc"] <= 1.0 and run.source == "active"
    second = drain(graph, budget_s=600, manifest=world[1], progress=False)  # continues the queue
    assert second.done == [queue[1].id] and second.remaining == 0 and second.stopped == "queue empty"
    with pytest.raises(InvalidData, match="already done"):
        mark_done(graph, queue[0].id, run.id)


@pytest.mark.slow  # two batches of the runner's process pool: about 20 s on two busy cores
def test_improve_interrupted_loses_no_fold_and_the_next_call_finishes_the_run(
        world: tuple[Path, Path]) -> None:
    graph = _graph(world)
    queue = make_proposals(graph, budget=1)

    def stop(result: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drain(graph, budget_s=600, manifest=world[1], progress=False, on_result=stop)
    assert get_proposal(graph, queue[0].id).status == "open"
    partial = graph.runs(dataset=queue[0].dataset_id, configuration=queue[0].config_id)
    assert len(partial) == 1 and partial[0].status == "running"
    report = drain(graph, budget_s=600, manifest=world[1], progress=False)
    assert report.done == [queue[0].id]
    assert get_proposal(graph, queue[0].id).run_id == partial[0].id  # the same run, resumed


def test_durations() -> None:
    assert parse_duration("30m") == 1800 and parse_duration("1h30m") == 5400
    assert parse_duration("90s") == 90 and parse_duration("45") == 45
    import typer

    with pytest.raises(typer.BadParameter, match="not a duration"):
        parse_duration("soon")


def test_a_reason_says_when_a_table_has_too_few_runs_for_a_kth_best() -> None:
    from metakg.metalearner.active import FLOOR, _ordinal, _reason

    few = _reason("500b7288ab", "knn", "credit-d", 0.3, 0.9, 0.23, FLOOR, 5)
    assert "credit-d has fewer than 5 runs, so any configuration enters its top 5" in few
    assert "-1.00" not in few
    many = _reason("500b7288ab", "knn", "credit-d", 0.3, 0.4, 0.1, 0.2, 3)
    assert "the 3rd best run so far +0.20" in many and "a 40% chance it enters the top 3" in many
    assert [_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"]
