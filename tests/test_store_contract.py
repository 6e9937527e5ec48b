"""One contract test suite, run against every store back-end (memory, embedded, remote)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad

from metakg.kg import KnowledgeGraph, QueryError, RunInput, ShapeViolation, Store
from metakg.kg.errors import QueryLimitExceeded, QuerySyntaxError
from metakg.kg.sparql_protocol import QueryLimits

EX = "http://example.org/"
#: A query with no memory to speak of that runs for seconds on 150 quads (3.4 million rows
#: through a filter no row passes): a time limit must stop it.
SLOW_QUERY = ('SELECT ?a WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i '
              'FILTER(CONCAT(STR(?c), STR(?f), STR(?i)) = "never") }')


def q(s: str, p: str, o: object) -> Quad:
    obj = o if isinstance(o, NamedNode | Literal) else Literal(str(o))
    return Quad(NamedNode(EX + s), NamedNode(EX + p), obj, DefaultGraph())


class TestStoreContract:
    def test_add_is_idempotent_and_counted(self, store: Store) -> None:
        store.add([q("a", "p", "1"), q("a", "p", "2")])
        store.add([q("a", "p", "1")])
        assert len(store) == 2

    def test_a_memo_lasts_until_a_write_that_does_not_keep_it(self, store: Store) -> None:
        calls: list[int] = []

        def size() -> int:
            calls.append(len(store))
            return calls[-1]

        assert store.memo("size", size) == 0 and store.memo("size", size) == 0
        assert len(calls) == (2 if store.shared else 1)  # other processes write a shared one
        store.add([q("a", "p", "1")], keeping=("another memo",))
        assert store.memo("size", size) == 1
        # the writer promises the quads cannot change it: kept as it was
        store.add([q("b", "p", "1")], keeping=("size",))
        assert store.memo("size", size) == (2 if store.shared else 1)
        for write in (lambda: store.remove([q("a", "p", "1")]),
                      lambda: store.replace([], [q("c", "p", "1")]),
                      lambda: store.add_nquads(b"<http://example.org/d> <http://example.org/p> \"1\" .\n")):
            n = len(calls)
            write()
            assert store.memo("size", size) == len(store) and len(calls) == n + 1
        with pytest.raises(TypeError, match="memo names"):
            store.add([q("e", "p", "1")], keeping="size")  # type: ignore[arg-type]

    def test_a_memo_is_not_kept_across_a_write_it_did_not_see(self, store: Store) -> None:
        if store.shared:
            pytest.skip("nothing is remembered on a shared store")

        def size_while_another_write_lands() -> int:
            n = len(store)
            store.add([q("x", "p", str(n))])
            return n

        assert store.memo("size", size_while_another_write_lands) == 0
        assert store.memo("size", lambda: len(store)) == 1  # not remembered: recomputed
        # a write that keeps the memo does not carry it over another write in between
        add = store._add

        def add_after_another(quads: list[Quad]) -> None:
            add([q("y", "p", "1")])
            store._bump()
            add(quads)

        store._add = add_after_another  # type: ignore[method-assign]
        store.add([q("z", "p", "1")], keeping=("size",))
        store._add = add  # type: ignore[method-assign]
        assert store.memo("size", lambda: len(store)) == 3

    def test_select_with_bound_values(self, store: Store) -> None:
        store.add([q("a", "name", "alice"), q("b", "name", "bob")])
        rows = store.select("SELECT ?s WHERE { ?s <http://example.org/name> ?n }",
                            {"n": "bob"})
        assert rows == [{"s": EX + "b"}]

    def test_bound_values_cannot_inject(self, store: Store) -> None:
        store.add([q("a", "name", "alice")])
        evil = 'x" } } ; DROP ALL ; SELECT * { ?s ?p "'
        rows = store.select("SELECT ?s WHERE { ?s <http://example.org/name> ?n }", {"n": evil})
        assert rows == []
        assert len(store) == 1

    def test_ask_and_construct(self, store: Store) -> None:
        store.add([q("a", "p", "1")])
        assert store.ask("ASK { ?s <http://example.org/p> ?o }")
        assert not store.ask("ASK { ?s <http://example.org/nope> ?o }")
        triples = store.construct("CONSTRUCT { ?s <http://example.org/q> ?o } WHERE { ?s ?p ?o }")
        assert [(t.subject.value, t.object.value) for t in triples] == [(EX + "a", "1")]

    def test_construct_ntriples_gives_the_triples_of_construct(self, store: Store) -> None:
        from pyoxigraph import RdfFormat, parse

        store.add([q("a", "p", "1"), q("b", "p", 'two "quoted"\nlines')])
        query = "CONSTRUCT { ?s <http://example.org/q> ?o } WHERE { ?s ?p ?o }"
        text = store.construct_ntriples(query)
        assert {t.triple for t in parse(text, format=RdfFormat.N_TRIPLES)} == set(store.construct(query))
        assert store.construct_ntriples("CONSTRUCT { ?s ?p ?o } WHERE { ?s <http://example.org/x> ?o }") == b""
        with pytest.raises(QueryError):
            store.construct_ntriples("SELECT ?s WHERE { ?s ?p ?o }")

    def test_updates_are_refused_by_query(self, store: Store) -> None:
        store.add([q("a", "p", "1")])
        with pytest.raises(QueryError, match="Only SELECT"):
            store.query("DELETE WHERE { ?s ?p ?o }")
        assert len(store) == 1

    def test_malformed_query_raises_query_error(self, store: Store) -> None:
        with pytest.raises(QueryError):
            store.select("SELECT ?s WHERE { ?s ?p }")

    def test_parse_error_says_where(self, store: Store) -> None:
        """The parser's position is the user's: predeclared prefixes do not shift it."""
        with pytest.raises(QuerySyntaxError, match=r"at 3:\d+") as info:
            store.select("SELECT ?s\nWHERE {\n  ?s ?p }")
        assert info.value.line == 3 and 9 <= info.value.column <= 10  # at or just after the '}'
        assert f"at 3:{info.value.column}:" in str(info.value)

    def test_prefix_iri_with_hash_and_comments(self, store: Store) -> None:
        store.add([q("a", "p", "1")])
        rows = store.select("PREFIX ex: <http://example.org/>  # a comment with { and # in it\n"
                            "PREFIX mls: <http://www.w3.org/ns/mls#>\n"
                            "# SELECT nothing { }\n"
                            "SELECT ?s WHERE { ?s ex:p ?o  # ?o is '1'\n }")
        assert rows == [{"s": EX + "a"}]

    def test_prefixes_are_predeclared_and_can_be_redeclared(self, store: Store) -> None:
        store.add([Quad(NamedNode(EX + "r"), NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                        NamedNode("http://www.w3.org/ns/mls#Run"), DefaultGraph())])
        assert store.select("SELECT ?r WHERE { ?r a mls:Run }") == [{"r": EX + "r"}]
        assert store.select("PREFIX mls: <http://example.org/other#> SELECT ?r WHERE { ?r a mls:Run }") == []
        with pytest.raises(QuerySyntaxError):
            store.query("SELECT ?r WHERE { ?r a mls:Run }", prefixes=False)

    def test_bound_values_in_filters_and_counts(self, store: Store) -> None:
        """A bound variable need not be projected (filters, the class of a count)."""
        store.add([q("a", "n", Literal("3", datatype=NamedNode("http://www.w3.org/2001/XMLSchema#integer"))),
                   q("b", "n", Literal("7", datatype=NamedNode("http://www.w3.org/2001/XMLSchema#integer"))),
                   q("a", "kind", NamedNode(EX + "K")), q("b", "kind", NamedNode(EX + "K")),
                   q("c", "kind", NamedNode(EX + "L"))])
        rows = store.select("SELECT ?s WHERE { ?s <http://example.org/n> ?v FILTER(?v > ?min) }", {"min": 5})
        assert rows == [{"s": EX + "b"}]
        rows = store.select("SELECT (COUNT(?x) AS ?n) WHERE { ?x <http://example.org/kind> ?k }",
                            {"k": NamedNode(EX + "K")})
        assert rows == [{"n": 2}]

    def test_bound_values_with_braces_and_hashes_in_the_text(self, store: Store) -> None:
        store.add([q("a", "name", "x { # }"), q("b", "name", "y")])
        rows = store.select('PREFIX ex: <http://example.org/> # { not the group\n'
                            'SELECT ?s WHERE { ?s ex:name ?n FILTER(?n != "}") }', {"n": "x { # }"})
        assert rows == [{"s": EX + "a"}]

    def test_bounded_queries_may_not_make_the_server_send_requests(self, store: Store) -> None:
        import socket

        from metakg.kg.errors import QuerySyntaxError

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        query = f"SELECT * WHERE {{\n  SERVICE <http://127.0.0.1:{port}/x> {{ ?s ?p ?o }} }}"
        with pytest.raises(QuerySyntaxError, match="SERVICE") as err:
            store.query_bounded(query)
        assert (err.value.line, err.value.column) == (2, 3)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing was sent
        listener.close()
        # the word inside a string, an IRI or a comment is no federated query
        store.query_bounded('SELECT * WHERE { ?s <http://e.org/SERVICE> "SERVICE" } # SERVICE',
                            limits=QueryLimits(timeout_s=120))  # a worker may start slowly on a busy machine

    def test_bounded_query_formats_and_row_cap(self, store: Store) -> None:
        store.add([q(f"s{i}", "p", str(i)) for i in range(5)])
        select = "SELECT ?s ?o WHERE { ?s <http://example.org/p> ?o } ORDER BY ?o"
        answer = store.query_bounded(select, limits=QueryLimits(max_rows=3))
        assert answer.media_type == "application/sparql-results+json" and answer.truncated
        import json

        doc = json.loads(answer.body)
        assert doc["head"]["vars"] == ["s", "o"] and len(doc["results"]["bindings"]) == 3
        assert doc["results"]["bindings"][0]["o"] == {"type": "literal", "value": "0"}
        csv = store.query_bounded(select, accept="text/csv", limits=QueryLimits(max_rows=3))
        assert csv.media_type == "text/csv" and csv.truncated
        assert csv.body.decode().splitlines() == ["s,o", EX + "s0,0", EX + "s1,1", EX + "s2,2"]
        tsv = store.query_bounded(select, accept="text/tab-separated-values")
        assert tsv.body.decode().splitlines()[1] == f'<{EX}s0>\t"0"'
        xml = store.query_bounded(select, accept="application/sparql-results+xml")
        assert xml.body.startswith(b"<?xml") and not xml.truncated
        ask = store.query_bounded("ASK { ?s mls:none ?o }")
        assert json.loads(ask.body) == {"head": {}, "boolean": False}
        graph = store.query_bounded("CONSTRUCT { ?s <http://example.org/q> ?o } WHERE { ?s ?p ?o }",
                                    accept="text/turtle", limits=QueryLimits(max_rows=2))
        assert graph.media_type == "text/turtle" and graph.truncated
        assert graph.body.count(b"<http://example.org/q>") == 2
        with pytest.raises(QuerySyntaxError, match="not DROP"):
            store.query_bounded("DROP ALL")
        assert len(store) == 5

    def test_time_limit_stops_a_running_query(self, store: Store) -> None:
        if not store.enforces_query_limits:
            pytest.skip("back-end checks limits between result rows only")
        import time

        store.add([q(f"s{i}", "p", str(i)) for i in range(150)])
        store.query_bounded("ASK {}", limits=QueryLimits(timeout_s=60))  # started, as in a service
        start = time.monotonic()
        with pytest.raises(QueryLimitExceeded, match="time limit") as info:
            store.query_bounded(SLOW_QUERY, limits=QueryLimits(timeout_s=0.5))
        assert info.value.limit == "time"
        assert time.monotonic() - start < 0.5 + 1.0

    def test_replace_is_one_step(self, store: Store) -> None:
        store.add([q("r", "status", "running")])
        store.replace([q("r", "status", "running")], [q("r", "status", "completed")])
        assert store.select("SELECT ?v WHERE { ?s <http://example.org/status> ?v }") == [
            {"v": "completed"}]

    def test_replace_if_changes_only_what_still_holds(self, store: Store) -> None:
        store.add([q("a", "status", "open"), q("b", "status", "open")])
        # the first writer takes "a"; the second, which read "open" too, changes nothing there
        store.replace_if([([q("a", "status", "open")], [q("a", "status", "open")],
                           [q("a", "status", "done"), q("a", "by", "first")])])
        store.replace_if([([q("a", "status", "open")], [q("a", "status", "open")],
                           [q("a", "status", "done"), q("a", "by", "second")]),
                          ([q("b", "status", "open")], [q("b", "status", "open")],
                           [q("b", "status", "done")])])
        rows = store.select("SELECT ?s ?p ?v WHERE { ?s ?p ?v } ORDER BY ?s ?p ?v")
        assert [(r["s"][-1], r["p"].rsplit("/", 1)[1], r["v"]) for r in rows] == [
            ("a", "by", "first"), ("a", "status", "done"), ("b", "status", "done")]
        with pytest.raises(ValueError, match="required"):
            store.replace_if([([], [q("b", "status", "done")], [])])

    def test_replace_if_has_one_winner_among_threads_at_once(self, store: Store) -> None:
        import threading

        for trial in range(20):  # unserialised, about one trial in five had several winners
            node = f"p{trial}"
            store.add([q(node, "status", "open")])
            start = threading.Barrier(6)

            def close(i: int, node: str = node, start: threading.Barrier = start) -> None:
                start.wait(timeout=10)
                store.replace_if([([q(node, "status", "open")], [q(node, "status", "open")],
                                   [q(node, "status", "done"), q(node, "by", str(i))])])

            threads = [threading.Thread(target=close, args=(i,)) for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            winners = store.select("SELECT ?v WHERE { ?s <http://example.org/by> ?v }",
                                   {"s": NamedNode(EX + node)})
            assert len(winners) == 1, (trial, winners)

    def test_remove(self, store: Store) -> None:
        store.add([q("a", "p", "1"), q("a", "p", "2")])
        store.remove([q("a", "p", "1")])
        assert len(store) == 1

    def test_dump_load_round_trip_is_isomorphic(self, store: Store, tmp_path: Path) -> None:
        quads = [q("a", "p", "1"), q("a", "p", Literal("2.5", datatype=NamedNode(
            "http://www.w3.org/2001/XMLSchema#double"))), q("b", "q", NamedNode(EX + "a")),
            q("c", "r", Literal('quote " and\nnewline'))]
        store.add(quads)
        for name in ("g.nq", "g.nq.gz", "g.ttl.gz"):
            store.dump(tmp_path / name)
            from metakg.kg import MemoryStore

            other = MemoryStore()
            assert other.load(tmp_path / name) == len(quads)
            assert set(other._store) == set(quads)
        # line formats come out sorted, so the same graph always gives the same bytes
        lines = (tmp_path / "g.nq").read_bytes().splitlines()
        assert lines == sorted(lines) and len(lines) == len(quads)
        store.dump(tmp_path / "again.nq")
        assert (tmp_path / "again.nq").read_bytes() == (tmp_path / "g.nq").read_bytes()
        # importing into a store that holds it already duplicates nothing
        assert store.load(tmp_path / "g.nq") == 0
        assert len(store) == len(quads)

    def test_streamed_dump_is_one_document_in_every_format(self, store: Store) -> None:
        from pyoxigraph import RdfFormat, parse

        named = Quad(NamedNode(EX + "n"), NamedNode(EX + "p"), Literal("in a graph"), NamedNode(EX + "g"))
        quads = [q(f"s{i}", "p", str(i)) for i in range(7)] + [named]
        store.add(quads)
        for fmt in (RdfFormat.N_QUADS, RdfFormat.TRIG, RdfFormat.N_TRIPLES, RdfFormat.TURTLE):
            chunks = list(store.stream_dump(fmt))
            got = set(parse(b"".join(chunks), format=fmt))
            if fmt in (RdfFormat.N_QUADS, RdfFormat.TRIG):
                assert got == set(quads), fmt
            else:  # triple formats carry the default graph only
                assert {Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in got} == set(quads[:-1]), fmt

    def test_a_stalled_export_blocks_neither_bulk_writes_nor_queries(
            self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        import threading

        from pyoxigraph import RdfFormat

        from metakg.kg.store import _streamed_dump

        monkeypatch.setattr(_streamed_dump, "CHUNK_BYTES", 1024)  # a small graph fills the queue
        monkeypatch.setattr(_streamed_dump, "MAX_CHUNKS", 2)
        store.add([q(f"s{i}", "p", str(i)) for i in range(3000)])  # about 30 writes of 8 KB
        export = store.stream_dump(RdfFormat.N_QUADS)
        next(export)  # a client that reads one chunk, then nothing
        done = threading.Event()

        def write_and_query() -> None:
            store.add([q(f"bulk{i}", "p", str(i)) for i in range(5000)])  # the bulk path
            store.select("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
            done.set()

        worker = threading.Thread(target=write_and_query, daemon=True)
        worker.start()
        try:
            assert done.wait(30), "a stalled export held the store's read gate"
        finally:
            export.close()
        worker.join(30)
        assert len(store) == 8000

    def test_persistence(self, store: Store, tmp_path: Path) -> None:
        if not store.persistent:
            pytest.skip("back-end is not persistent")
        store.add([q("a", "p", "1")])
        store.close()
        from metakg.kg import OxigraphStore, SparqlEndpointStore

        if store.shared:
            again: Store = SparqlEndpointStore(store.query_url)  # type: ignore[attr-defined]
        else:
            again = OxigraphStore(tmp_path / "store")
        assert len(again) == 1
        again.close()


class TestGraphContract:
    """Typed writes behave the same on every back-end."""

    def test_malformed_run_is_rejected_and_nothing_written(self, graph: KnowledgeGraph) -> None:
        import pandas as pd

        ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]}),
                               name="tiny", target="y")
        task = graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=2)
        before = len(graph.store)
        good = RunInput(task_id=task.id, config={"family": "knn"}, fold_scores={"roc_auc": [0.7, 0.8]})
        bad = RunInput(task_id=task.id, config={"family": "knn"}, fold_scores={"roc_auc": [0.7]})
        # Break the run template (drop the status line): the first run of every batch goes
        # through the full shape checker, so a template bug cannot write anything.
        import metakg.kg.graph as graph_module

        orig = graph_module.run_nquads

        def broken(*a: object, **k: object) -> tuple[str, dict[str, float]]:
            text, means = orig(*a, **k)  # type: ignore[arg-type]
            kept = [line for line in text.splitlines(True) if "ns#status>" not in line]
            return "".join(kept), means

        graph_module.run_nquads = broken  # type: ignore[assignment]
        try:
            with pytest.raises(ShapeViolation, match=r"mkg:status needs at least 1 value"):
                graph.log_runs([good, bad])
        finally:
            graph_module.run_nquads = orig  # type: ignore[assignment]
        assert len(graph.store) == before
        assert graph.runs() == []

    def test_malformed_entity_write_is_rejected(self, graph: KnowledgeGraph) -> None:
        """The generic write path (used by the runner) checks every quad against the shapes."""
        import pandas as pd

        from metakg.kg import entities
        from metakg.kg.graph import make_configuration

        ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]}),
                               name="tiny", target="y")
        task = graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=2)
        quads = entities.run_header_quads("r1", task, make_configuration({"family": "knn"}),
                                          status="exploded")
        before = len(graph.store)
        with pytest.raises(ShapeViolation, match=r"mkg:status must be one of"):
            graph.write(quads)
        assert len(graph.store) == before

    def test_run_lands_whole_with_evaluations(self, graph: KnowledgeGraph) -> None:
        import pandas as pd

        ds = graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0.5, 1, 2, 3]}),
                               name="reg", target="y")
        task = graph.add_task(ds, target="y", task_type="regression", folds=2)
        run = graph.log_run(RunInput(task_id=task.id, config={"family": "linear", "params": {}},
                                     fold_scores={"rmse": [1.0, 3.0], "r2": [0.5, 0.7]},
                                     principal="ann", tags={"team": "x"}))
        [stored] = graph.runs(dataset=ds.id)
        assert stored.id == run.id
        assert stored.scores == {"rmse": 2.0, "r2": pytest.approx(0.6)}
        assert stored.principal == "ann"
        evals = graph.store.select(
            "SELECT ?e WHERE { ?r mls:hasOutput ?e . ?e a mls:ModelEvaluation }",
            {"r": NamedNode(run.iri)})
        assert len(evals) == 6  # 2 measures × (2 folds + mean)


    def test_dataset_export_is_its_neighbourhood_and_nothing_else(self, graph: KnowledgeGraph) -> None:
        """Every triple about the dataset, its columns, meta-features, tasks, runs (read in
        several batches), their evaluations, configurations and parameters; none of another
        dataset's."""
        import pandas as pd
        from pyoxigraph import RdfFormat, parse

        from metakg.kg.export import export_graph

        ours, other = (graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0, x4], "y": [0.5, 1, 2, 3]}),
                                         name=n, target="y") for n, x4 in (("ours", 4.0), ("other", 5.0)))
        for ds, n_runs in ((ours, 120), (other, 3)):
            task = graph.add_task(ds, target="y", task_type="regression", folds=2)
            graph.log_runs([RunInput(task_id=task.id, config={"family": "ridge", "params": {"alpha": i}},
                                     fold_scores={"rmse": [1.0, 1.0 + i]}) for i in range(n_runs)])
        text, media = export_graph(graph, dataset="ours")
        exported = {t.triple for t in parse(text, format=RdfFormat.N_TRIPLES)}
        assert media == "application/n-quads" and len(text.splitlines()) == len(exported)

        def objects(subject: str, predicate: str) -> set[str]:
            rows = graph.store.select("SELECT ?o WHERE { ?s ?p ?o }",
                                      {"s": NamedNode(subject), "p": NamedNode(predicate)})
            return {r["o"] for r in rows}

        mls, mkg = "http://www.w3.org/ns/mls#", "https://w3id.org/metakg/ns#"
        tasks = {r["t"] for r in graph.store.select("SELECT ?t WHERE { ?t mls:definedOn ?d }",
                                                      {"d": NamedNode(ours.iri)})}
        runs = {r["r"] for t in tasks for r in graph.store.select(
            "SELECT ?r WHERE { ?r mls:achieves ?t }", {"t": NamedNode(t)})}
        configs = {c for r in runs for c in objects(r, mkg + "configuration")}
        subjects = {ours.iri, *tasks, *runs, *configs, *objects(ours.iri, mkg + "hasColumn"),
                    *objects(ours.iri, mls + "hasQuality"), *(e for r in runs for e in objects(r, mls + "hasOutput")),
                    *(p for c in configs for p in objects(c, mkg + "param"))}
        expected = {t for t in graph.store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
                    if t.subject.value in subjects}
        assert len(runs) == 120 and exported == expected
        turtle, _ = export_graph(graph, dataset="ours", fmt="turtle")
        assert {t.triple for t in parse(turtle, format=RdfFormat.TURTLE)} == expected


def test_batch_with_a_repeated_configuration(memory_graph: KnowledgeGraph) -> None:
    import pandas as pd

    ds = memory_graph.add_dataset(pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}), name="t", target="y")
    task = memory_graph.add_task(ds, target="y", task_type="classification", n_classes=2, folds=2)
    same = {"family": "knn", "params": {"n_neighbors": 3}}
    memory_graph.log_runs([RunInput(task_id=task.id, config=same, fold_scores={"roc_auc": [0.5, 0.6]}),
                           RunInput(task_id=task.id, config=same, fold_scores={"roc_auc": [0.7, 0.8]})])
    assert len(memory_graph.runs(configuration=memory_graph.runs()[0].configuration_id)) == 2
