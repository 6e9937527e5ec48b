"""OpenML import of tasks and studies through openml-python's own code, answered offline.

openml-python's HTTP requests (``openml._api_calls._send_request``) are answered from the
files in ``tests/fixtures/openml``: hand-made responses in the OpenML server's XML format, and
two small invented tables as ARFF. Everything above the transport (URLs, caching, XML and
ARFF parsing) is openml-python's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pyoxigraph import NamedNode

from metakg.kg import KnowledgeGraph, read_table
from metakg.kg.errors import InvalidData, NotFound
from metakg.kg.importers import Characteriser, import_openml
from metakg.kg.importers.openml_mapping import map_flow, metafeatures_from_qualities
from metakg.kg.importers.openml_runs import openml_run_id
from metakg.kg.records import Dataset

FIXTURES = Path(__file__).parent / "fixtures" / "openml"
SERVER = "https://www.openml.org/api/v1/xml"


def _recorded(url: str) -> tuple[int, Path]:
    """The HTTP status and fixture file answering a URL: the path after the API or download
    prefix, paging dropped, ``/`` as ``-`` (``.../run/list/limit/100/offset/0/task/9211`` →
    ``run-list-task-9211.xml``); ``NAME.error.xml`` is an OpenML error answer (status 412)."""
    path = re.sub(r"^https://www\.openml\.org/(api/v1/xml/|data/v1/download/)", "", url)
    name = re.sub(r"/limit/\d+/offset/\d+", "", path).replace("/", "-")
    for status, candidate in ((412, FIXTURES / f"{name}.error.xml"), (200, FIXTURES / f"{name}.xml"),
                              (200, FIXTURES / f"data-download-{name.removesuffix('.arff')}.arff")):
        if candidate.exists():
            return status, candidate
    raise AssertionError(f"no recorded OpenML response for {url}")


@pytest.fixture
def openml_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """openml-python configured with an empty cache in tmp_path, its requests answered from
    the fixtures; yields the list of URLs requested."""
    import openml
    import requests

    calls: list[str] = []

    def send(request_method: str, url: str, data: object, files: object = None,
             md5_checksum: str | None = None) -> requests.Response:
        assert request_method == "get", f"the importer must only read from OpenML, not {request_method} {url}"
        calls.append(url)
        status, answer = _recorded(url)
        response = requests.Response()
        response.status_code, response.url, response.encoding = status, url, "utf-8"
        response._content = answer.read_bytes()
        response.headers["Content-Encoding"] = "gzip"  # as the server sends it (no warning)
        return response

    monkeypatch.setattr(openml._api_calls, "_send_request", send)
    monkeypatch.setattr(openml.config, "server", SERVER)
    monkeypatch.setattr(openml.config, "apikey", "")
    previous = openml.config._root_cache_directory
    openml.config.set_root_cache_directory(tmp_path / "openml-cache")
    yield calls
    openml.config.set_root_cache_directory(previous)


def _characteriser() -> Characteriser:
    """The metalearner's extractor, computing only the simple group (the one OpenML's qualities
    overlap; every group takes seconds, too long for the fast tier)."""
    from metakg.metalearner.metafeatures import EXTRACTOR, VERSION, compute_metafeatures

    def compute(graph: KnowledgeGraph, ds: Dataset, df: pd.DataFrame, target: str, task_type: str) -> None:
        mf = compute_metafeatures(df, target, task_type=task_type, groups=("simple",))
        graph.set_metafeatures(ds.id, mf.values, groups=mf.groups, reasons=mf.reasons,
                               extractor=EXTRACTOR, version=VERSION)

    return Characteriser(EXTRACTOR, VERSION, compute)


def _by_tag(graph: KnowledgeGraph, key: str) -> dict[str, str]:
    """OpenML run id → its graph run id (from the runs' ``openml_run`` tags)."""
    rows = graph.store.select("SELECT ?r ?t WHERE { ?r mkg:tag ?t }")
    return {r["t"].split("=", 1)[1]: r["r"].rsplit("/", 1)[-1] for r in rows
            if r["t"].startswith(f"{key}=")}


def test_task_runs_with_flows_mapped_to_families(memory_graph: KnowledgeGraph,
                                                 openml_server: list[str]) -> None:
    report = import_openml(memory_graph, tasks=[9211], max_runs=50)
    assert report.added == (9311, 9312, 9313) and report.already == () and report.skipped == ()
    assert report.families == {"random_forest": 1, "xgboost": 1, "openml:weka.J48(1)": 1}
    assert f"{SERVER}/run/list/limit/50/offset/0/task/9211" in openml_server
    assert _by_tag(memory_graph, "openml_run") == {str(r): openml_run_id(r) for r in (9311, 9312, 9313)}

    [task] = memory_graph.tasks()
    assert (task.task_type, task.metric, task.folds, task.n_classes, task.target) == (
        "classification", "roc_auc", 5, 2, "class")
    [ds] = memory_graph.datasets()
    assert (ds.name, ds.rows, ds.columns, ds.sources) == ("loans-toy", 40, 5,
                                                         ("https://www.openml.org/d/9111",))
    runs = {r.id: r for r in memory_graph.runs()}
    forest = runs[openml_run_id(9311)]
    assert forest.scores["roc_auc"] == pytest.approx(0.8) and forest.scores["accuracy"] == pytest.approx(0.75)
    assert (forest.principal, forest.source) == ("openml:Ada Example", "https://www.openml.org/r/9311")
    # a sklearn forest: the parameters the family's space holds; "sqrt" is not a fraction
    assert memory_graph.get_configuration(forest.configuration_id).config == {
        "family": "random_forest", "params": {"n_estimators": 200, "min_samples_leaf": 2,
                                              "bootstrap": True, "criterion": "gini"}}
    # a pipeline: its estimator's settings (XGBClassifier), not the imputer's
    boosted = runs[openml_run_id(9312)]
    assert memory_graph.get_configuration(boosted.configuration_id).config == {
        "family": "xgboost", "params": {"learning_rate": 0.05, "n_estimators": 300, "max_depth": 4}}
    # an unknown flow is kept under its own name, every setting decoded
    weka = runs[openml_run_id(9313)]
    assert memory_graph.get_configuration(weka.configuration_id).config == {
        "family": "openml:weka.J48(1)", "params": {"C": 0.25, "M": 2}}
    tags = {r["t"] for r in memory_graph.store.select(
        "SELECT ?t WHERE { ?r mkg:tag ?t }", {"r": NamedNode(forest.iri)})}
    assert {"openml_task=9211", "openml_flow=9411", "openml_setup=9611",
            "openml_unmapped=max_features=\"sqrt\""} <= tags
    # the mapped runs reach the recommender's view: known families on the dataset
    best = memory_graph.best_configurations(ds.id, metric="roc_auc", k=1)[0][0]
    assert best.family == "xgboost"


def test_a_run_with_an_impossible_fold_is_skipped_with_the_reason_and_the_rest_added(
        memory_graph: KnowledgeGraph, openml_server: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    nan_fold = tmp_path / "run-9311.xml"  # run 9311 as OpenML would send it with one fold NaN
    nan_fold.write_text((FIXTURES / "run-9311.xml").read_text().replace(
        '<oml:evaluation repeat="0" fold="2"><oml:name>area_under_roc_curve</oml:name>'
        '<oml:value>0.84</oml:value>',
        '<oml:evaluation repeat="0" fold="2"><oml:name>area_under_roc_curve</oml:name>'
        '<oml:value>NaN</oml:value>'))
    recorded = _recorded
    monkeypatch.setitem(globals(), "_recorded", lambda url: (200, nan_fold) if url.endswith(
        "/run/9311") else recorded(url))
    report = import_openml(memory_graph, tasks=[9211], max_runs=50)
    assert report.added == (9312, 9313)
    [skipped] = report.skipped
    assert skipped.run_id == 9311 and "area_under_roc_curve is not a possible roc_auc" in skipped.reason
    assert openml_run_id(9311) not in {r.id for r in memory_graph.runs()}


def test_reimport_adds_nothing(memory_graph: KnowledgeGraph, openml_server: list[str]) -> None:
    import_openml(memory_graph, tasks=[9211])
    quads = len(memory_graph.store.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"))
    again = import_openml(memory_graph, tasks=[9211])
    assert again.added == () and again.already == (9311, 9312, 9313)
    assert len(memory_graph.store.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")) == quads
    assert len(memory_graph.runs()) == 3


def test_unknown_flows_can_be_skipped_with_the_reason(memory_graph: KnowledgeGraph,
                                                      openml_server: list[str]) -> None:
    report = import_openml(memory_graph, tasks=[9211], unknown_flows="skip")
    assert report.added == (9311, 9312)
    [skip] = report.skipped
    assert skip.run_id == 9313 and "weka.J48(1) (9415) matches no family" in skip.reason
    # skipped, so a later import with keep adds it
    assert import_openml(memory_graph, tasks=[9211]).added == (9313,)


def test_study_and_suite(memory_graph: KnowledgeGraph, openml_server: list[str]) -> None:
    report = import_openml(memory_graph, study=9511)  # a study of runs: its two runs
    assert report.added == (9312, 9314) and set(report.tasks) == {9211, 9212}
    [reg] = [t for t in memory_graph.tasks() if t.task_type == "regression"]
    assert (reg.metric, reg.target) == ("rmse", "price")
    [run] = memory_graph.runs(task=reg.id)
    assert run.scores == pytest.approx({"rmse": 21.36, "mae": 17.14})
    assert memory_graph.get_configuration(run.configuration_id).config == {
        "family": "lightgbm", "params": {"n_estimators": 150, "learning_rate": 0.05, "num_leaves": 15}}
    houses = read_table(FIXTURES / "data-download-9112-houses-toy.arff")
    assert reg.target_sd == pytest.approx(houses["price"].std(ddof=0))  # known from the table
    suite = import_openml(memory_graph, study=9512)  # a benchmark suite: its task's runs
    assert suite.tasks == (9212,) and suite.added == () and suite.already == (9314,)
    [failed] = suite.skipped  # a run with a mean and no per-fold evaluations
    assert failed.run_id == 9315 and failed.reason.startswith(
        "no per-fold evaluation of root_mean_squared_error or mean_absolute_error")


def test_metafeatures_computed_from_the_data(memory_graph: KnowledgeGraph,
                                             openml_server: list[str]) -> None:
    from metakg.metalearner.metafeatures import EXTRACTOR

    report = import_openml(memory_graph, tasks=[9211], characteriser=_characteriser())
    [(ds_id, how)] = report.datasets.items()
    assert how == "computed"
    ours = memory_graph.metafeatures(ds_id, extractor=EXTRACTOR)
    assert ours["nr_inst"] == 40 and ours["nr_attr"] == 4 and ours["nr_cat"] == 1
    qualities = memory_graph.metafeatures(ds_id, extractor="openml")
    assert qualities["NumberOfInstances"] == 40 and qualities["kNN1NAUC"] is None
    # where OpenML's qualities agree with ours in meaning, the mapping gives our values
    mapped = metafeatures_from_qualities(qualities, task_type="classification")
    assert set(mapped) >= {"nr_inst", "nr_attr", "nr_num", "nr_cat", "missing_frac", "nr_class",
                           "class_prob_min", "class_balance_entropy", "rows_with_missing_frac"}
    for name, value in mapped.items():
        assert ours[name] == pytest.approx(value, rel=1e-5), name


def test_without_the_data_qualities_become_metafeatures(memory_graph: KnowledgeGraph,
                                                        openml_server: list[str]) -> None:
    from metakg.metalearner.metafeatures import EXTRACTOR

    report = import_openml(memory_graph, tasks=[9212], download_data=False,
                           characteriser=_characteriser())
    assert not any("download" in url for url in openml_server)  # the table was never fetched
    [(ds_id, how)] = report.datasets.items()
    assert how == "openml qualities"
    ds = memory_graph.get_dataset(ds_id)
    assert (ds.name, ds.rows, ds.sources) == ("houses-toy", 30, ("https://www.openml.org/d/9112",))
    ours = memory_graph.metafeatures(ds_id, extractor=EXTRACTOR)
    assert ours == pytest.approx({"nr_inst": 30, "log_nr_inst": 3.4012, "nr_attr": 3,
                                  "log_nr_attr": 1.0986, "log_attr_to_inst": -2.3026, "nr_num": 2,
                                  "nr_cat": 1, "frac_num": 2 / 3, "frac_cat": 1 / 3,
                                  "missing_frac": 0.0, "rows_with_missing_frac": 0.0}, abs=1e-4)
    # the same dataset node the next time, known by its OpenML URL
    again = import_openml(memory_graph, tasks=[9212], download_data=False)
    assert again.already == (9314,) and len(memory_graph.datasets()) == 1


def test_bad_input_and_unknown_ids(memory_graph: KnowledgeGraph, openml_server: list[str]) -> None:
    with pytest.raises(InvalidData, match="give OpenML task ids"):
        import_openml(memory_graph)
    with pytest.raises(InvalidData, match="positive integer"):
        import_openml(memory_graph, tasks=[0])
    with pytest.raises(InvalidData, match="keep, skip"):
        import_openml(memory_graph, tasks=[9211], unknown_flows="drop")
    with pytest.raises(NotFound, match=r"OpenML has no task 4242 \(server said: Unknown task\)"):
        import_openml(memory_graph, tasks=[4242])
    assert openml_server == [f"{SERVER}/run/list/limit/100/offset/0/task/4242", f"{SERVER}/task/4242"]
    assert memory_graph.runs() == [] and memory_graph.datasets() == []


def test_flow_mapping_rules() -> None:
    ranger = map_flow("mlr.classif.ranger(13)", {"num.trees": "500", "min.node.size": "3", "mtry": "2"})
    assert ranger.config == {"family": "random_forest", "params": {"n_estimators": 500, "min_samples_leaf": 3}}
    assert ranger.unmapped == ("mtry=2",)
    out_of_range = map_flow("sklearn.neighbors._classification.KNeighborsClassifier(2)",
                            {"n_neighbors": "7", "weights": '"distance"', "p": "3"})
    assert out_of_range.config["params"] == {"n_neighbors": 7, "weights": "distance"}
    assert out_of_range.unmapped == ("p=3",)


def test_cli_import_openml_and_graph_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           openml_server: list[str]) -> None:
    from typer.testing import CliRunner

    from metakg.api.cli import app

    monkeypatch.setenv("METAKG_CACHE", str(tmp_path / "cache"))
    runner = CliRunner()
    store = str(tmp_path / "store")

    def invoke(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = json.loads(invoke("import", "openml", "--task", "9212", "--no-data", "--json", "--store", store))
    assert (out["tasks"], out["added"], out["families"]) == ([9212], [9314], {"lightgbm": 1})
    assert [s["run_id"] for s in out["skipped"]] == [9315]
    assert list(out["datasets"].values()) == ["openml qualities"]
    text = invoke("import", "openml", "--task", "9212", "--task", "9211", "--no-data",
                  "--unknown-flows", "skip", "--store", store)
    assert "added 2 runs, 1 already in the graph, 2 skipped (OpenML tasks 9212, 9211)" in text
    assert "skipped run 9313: flow weka.J48(1) (9415) matches no family" in text
    bad = runner.invoke(app, ["import", "openml", "--store", store])
    assert bad.exit_code == 2 and "give OpenML task ids" in bad.output
    # a graph file: `import FILE` as before, and `import graph FILE`
    invoke("export", str(tmp_path / "g.nq"), "--store", store)
    assert "imported" in invoke("import", str(tmp_path / "g.nq"), "--store", str(tmp_path / "other"))
    assert "imported 0 new quads" in invoke("import", "graph", str(tmp_path / "g.nq"), "--store",
                                            str(tmp_path / "other"))


@pytest.mark.filterwarnings("ignore:You should not use the .timeout. argument")
def test_http_import_for_admins_and_the_client(openml_server: list[str]) -> None:
    from fastapi.testclient import TestClient

    from metakg.api.app import create_app
    from metakg.api.client import Client
    from metakg.api.keys import create_key
    from metakg.api.settings import Settings
    from metakg.kg.errors import MetaKGError

    app = create_app(Settings(store="memory:"))
    with TestClient(app) as http:
        graph = app.state.graph
        admin, writer = create_key(graph, "root", "admin"), create_key(graph, "wanda", "write")
        r = http.post("/import/openml", json={"tasks": [9212], "download_data": False},
                      headers={"X-API-Key": writer})
        assert r.status_code == 403 and "needs 'admin'" in r.json()["detail"]
        r = http.post("/import/openml", json={}, headers={"X-API-Key": admin})
        assert r.status_code == 422 and "give OpenML task ids" in r.json()["detail"]
        client = Client("http://testserver", admin)
        client._http = http
        http.headers.update({"X-API-Key": admin})
        out = client.import_openml(tasks=[9212], download_data=False)
        assert (out["added"], out["already"], out["families"]) == ([9314], [], {"lightgbm": 1})
        assert client.import_openml(study=9511, download_data=False, unknown_flows="skip")["added"] == [9312]
        with pytest.raises(NotFound, match="OpenML has no task 4242"):
            client.import_openml(tasks=[4242])
        http.headers.update({"X-API-Key": writer})
        with pytest.raises(MetaKGError, match="403"):
            client.import_openml(tasks=[9212])
        assert len(graph.runs()) == 2


@pytest.mark.slow
def test_cli_import_with_data_computes_every_metafeature(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         openml_server: list[str]) -> None:
    """The command's own characteriser: every group of the project's meta-features (seconds)."""
    from typer.testing import CliRunner

    from metakg.api.cli import app
    from metakg.kg.default_graph import open_graph
    from metakg.metalearner.metafeatures import EXTRACTOR, feature_names

    monkeypatch.setenv("METAKG_CACHE", str(tmp_path / "cache"))
    store = str(tmp_path / "store")
    result = CliRunner().invoke(app, ["import", "openml", "--study", "9511", "--json", "--store", store],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["added"] == [9312, 9314] and sorted(out["datasets"].values()) == ["computed", "computed"]
    graph = open_graph(store)
    try:
        for ds_id in out["datasets"]:
            values = graph.metafeatures(ds_id, extractor=EXTRACTOR)
            assert set(values) == set(feature_names())
            assert values["nr_inst"] in (30, 40) and values["nr_attr"] in (3, 4)
    finally:
        graph.close()
