"""KnowledgeGraph: typed reads and validated, atomic writes over any store."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

import pandas as pd
from pyoxigraph import NamedNode, Quad, RdfFormat, parse, serialize

from metakg.kg import entities as E
from metakg.kg.errors import DatasetNotFound, InvalidData, NameTaken, NotFound
from metakg.kg.graph_inputs import batch_prefix, make_configuration, missing_column_message, task_for_run
from metakg.kg.identity import canonical_json, configuration_id, table_hash
from metakg.kg.measures import (
    check_fold_scores,
    check_measure,
    check_quality_measure,
    primary_metric,
)
from metakg.kg.records import Column, Configuration, Dataset, Run, RunInput, Task
from metakg.kg.run_nquads import fold_mean, run_nquads, run_term
from metakg.kg.shapes import check_quads
from metakg.kg.store.base import Store
from metakg.kg.tables import column_kind
from metakg.kg.vocabulary import MLS, entity, entity_key

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from metakg.kg.published import PublishedConfiguration
    from metakg.kg.run_search import FoundRun

__all__ = ["LEARNING_STAMP", "KnowledgeGraph", "make_configuration", "missing_column_message",
           "task_for_run"]

#: The store memo (:meth:`Store.memo`) of :meth:`KnowledgeGraph.learning_stamp`: a write
#: that no recommender learns from passes it as ``keeping`` so the stamp is not recounted.
LEARNING_STAMP = "learning_stamp"


class TaskProtocol(TypedDict, total=False):
    """The keywords of :meth:`KnowledgeGraph.task_record` beyond the dataset, target and type."""

    n_classes: int | None
    metric: str | None
    folds: int
    seed: int
    subsample_rows: int | None
    target_sd: float | None


class KnowledgeGraph:
    """Typed access to the metakg graph held in a :class:`~kg.store.Store`.

    Every write builds the entity's quads, checks them against the SHACL shapes and adds
    them in one atomic store call: an invalid entity raises and writes nothing.

    Args:
        store: the back-end (see :func:`kg.store.open_store`).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._measures_written = False
        self._configs_written: set[str] = set()  # configurations are never deleted
        self._task_cache: dict[str, Task] = {}  # tasks are immutable and never deleted

    def __repr__(self) -> str:
        return f"KnowledgeGraph({self.store!r})"

    def close(self) -> None:
        """Release the store; the graph must not be used afterwards."""
        self.store.close()

    # ----- writing -------------------------------------------------------------------------
    def write(self, quads: list[Quad]) -> None:
        """Validate quads against the shapes and add them atomically.

        Raises:
            ShapeViolation: the quads break a shape; nothing is written.
        """
        check_quads(quads)
        self._declare_measures()
        self.store.add(quads)

    def _declare_measures(self) -> None:
        """Write the evaluation measures' nodes once per graph object (idempotent)."""
        if not self._measures_written:
            self.store.add(E.measure_quads())
            self._measures_written = True

    def add_dataset(
        self,
        df: pd.DataFrame,
        *,
        name: str,
        target: str | None = None,
        description: str = "",
        source: str | None = None,
        derived_from: str | None = None,
        derivation: str = "",
        unique_name: bool = False,
    ) -> Dataset:
        """Add a table's dataset node (idempotent: identity is the content hash).

        Args:
            df: the table.
            name: a human-readable name (stored as ``dcterms:title``).
            target: the default target column, if known.
            description: free text (stored as ``dcterms:description``).
            source: where the table came from (path, URL, OpenML id).
            derived_from: id of the dataset this table was derived from
                (``prov:wasDerivedFrom``), e.g. by :func:`kg.derived.binary_variant`.
            derivation: how, in words (required with ``derived_from``).
            unique_name: refuse a name another dataset already has (a person naming a table:
                an upload, ``metakg ingest``), so that looking the table up by it stays
                unambiguous.

        Returns:
            The dataset record (the existing one when the content is already known; a new
            source or title is added to it).

        Raises:
            InvalidData: the table is empty or the target is not one of its columns.
            NameTaken: with ``unique_name``, ``name`` is another table's; nothing was written.
        """
        if df.shape[0] == 0 or df.shape[1] == 0:
            raise InvalidData(f"Dataset {name!r} is empty ({df.shape[0]} rows, {df.shape[1]} columns).")
        if target is not None and target not in df.columns:
            raise InvalidData(missing_column_message(name, target, df.columns))
        if derived_from is not None and not derivation:
            raise InvalidData(f"Dataset {name!r} is derived from {derived_from!r} but says not how; "
                              "pass derivation='...' (the rule in words).")
        digest = table_hash(df)
        schema = tuple(Column(str(c), column_kind(df[c]), i) for i, c in enumerate(df.columns))
        record = Dataset(
            id=digest[:32], name=name, content_hash=digest, rows=int(df.shape[0]),
            columns=int(df.shape[1]), description=description or "",
            sources=(source,) if source else (), default_target=target, schema=schema,
            derived_from=derived_from, derivation=derivation if derived_from else "",
        )
        if unique_name:
            self.check_name_free(name, record.id)
        existing = self._find_dataset_by_id(record.id)
        if existing is not None:
            extra = [q for q in E.dataset_quads(record)
                     if q.predicate.value.endswith(("/source", "/title"))]
            self.store.add(extra)
            return self.get_dataset(record.id)
        self.write(E.dataset_quads(record))
        return record

    def add_dataset_record(self, record: Dataset) -> Dataset:
        """Add a dataset known by its record alone (no table: e.g. known only by its
        meta-features), as is; re-adding the same record changes nothing.

        Raises:
            ShapeViolation: the record breaks a shape; nothing is written.
        """
        self.write(E.dataset_quads(record))
        return record

    def task_record(
        self,
        dataset: Dataset | str,
        *,
        target: str,
        task_type: str,
        n_classes: int | None = None,
        metric: str | None = None,
        folds: int = 5,
        seed: int = 0,
        subsample_rows: int | None = None,
        target_sd: float | None = None,
    ) -> Task:
        """The task of a dataset, target, type, metric and protocol, checked but not written
        (:meth:`add_task` writes it; :meth:`log_runs` can write it with its first runs).

        Args:
            dataset: the dataset or its id.
            target: the column to predict.
            task_type: ``classification`` or ``regression``.
            n_classes: a classification target's classes (picks the primary metric).
            metric: the metric the task is scored by (default: the task type's primary one).
            folds: cross-validation folds.
            seed: the folds' shuffling seed.
            subsample_rows: rows the task is subsampled to, if any.
            target_sd: a regression target's standard deviation; it lets recommendations for
                the task put other datasets' RMSEs on its scale before it has runs of its own.

        Returns:
            The task; its id is a hash of its definition, so the same definition gives the
            same task.

        Raises:
            InvalidData: unknown task type, a metric that does not measure the task type's
                quality, a target that is not a column of the dataset (when its columns are
                known), or fewer than 2 folds.
            DatasetNotFound: unknown dataset.
        """
        ds = dataset if isinstance(dataset, Dataset) else self.get_dataset(dataset)
        if task_type not in ("classification", "regression"):
            raise InvalidData(f"Task type must be 'classification' or 'regression', not {task_type!r}.")
        metric = (check_quality_measure(metric, task_type) if metric
                  else primary_metric(task_type, n_classes))
        columns = [c.name for c in ds.schema]  # none known for a dataset of meta-features only
        if columns and target not in columns:
            raise InvalidData(missing_column_message(ds.name, target, columns))
        if folds < 2:
            raise InvalidData(f"Cross-validation needs at least 2 folds, not {folds}.")
        if target_sd is not None and not (math.isfinite(target_sd) and target_sd >= 0):
            raise InvalidData(f"target_sd must be a finite number >= 0, not {target_sd!r}.")
        key = canonical_json({"dataset": ds.id, "target": target, "type": task_type,
                              "metric": metric, "folds": folds, "seed": seed,
                              "subsample": subsample_rows})
        task = Task(id=configuration_id({"task": key}), dataset_id=ds.id, target=target,
                    task_type=task_type, metric=metric, folds=folds, seed=seed,
                    subsample_rows=subsample_rows, n_classes=n_classes,
                    target_sd=None if target_sd is None else float(target_sd))
        return task

    def add_task(self, dataset: Dataset | str, *, target: str, task_type: str,
                 **protocol: Unpack[TaskProtocol]) -> Task:
        """Add (or return the existing) task: a dataset, target, type, metric and protocol.

        Args:
            dataset: the dataset or its id.
            target: the column to predict.
            task_type: ``classification`` or ``regression``.
            **protocol: ``n_classes``, ``metric``, ``folds``, ``seed``, ``subsample_rows``,
                ``target_sd``, as in :meth:`task_record`.

        Returns:
            The task (see :meth:`task_record`).

        Raises:
            InvalidData, DatasetNotFound: as :meth:`task_record`.
        """
        record = self.task_record(dataset, target=target, task_type=task_type, **protocol)
        self.write(E.task_quads(record))
        return record

    def add_configuration(self, config: dict[str, Any]) -> Configuration:
        """Add a configuration (idempotent: its id is the hash of its canonical JSON).

        Raises:
            InvalidData: the configuration is not a JSON object with a ``family``.
        """
        record = make_configuration(config)
        self.write(E.configuration_quads(record))
        return record

    def add_published_configuration(self, published: PublishedConfiguration) -> Configuration:
        """Add a published configuration with its name and source (``prov:wasDerivedFrom``).

        Args:
            published: one of :func:`kg.published.published_configurations`.

        Returns:
            The configuration record (the same id as the plain configuration).
        """
        from metakg.kg.published import published_quads

        record = make_configuration(published.config)
        self.write(E.configuration_quads(record)
                   + published_quads(published, entity("config", record.id)))
        return record

    def log_run(self, run: RunInput) -> Run:
        """Log one complete run (all folds) atomically; see :meth:`log_runs`."""
        return self.log_runs([run])[0]

    def log_runs(self, runs: Sequence[RunInput], *, new_tasks: Sequence[Task] = ()) -> list[Run]:
        """Log complete runs with their per-fold and mean evaluations, in one atomic write.

        A run whose id is already in the graph as the same run (task, configuration, status,
        principal, tags and mean scores) is taken as logged and not written again, so a
        client that retries after a lost answer logs each run once.

        Args:
            runs: the runs.
            new_tasks: tasks the runs refer to that may not be in the graph yet
                (:meth:`task_record`), written in the same write: a refused run leaves no task
                behind.

        Raises:
            NotFound: a run names a task that is not in the graph (nor in ``new_tasks``).
            InvalidData: a run is malformed (a configuration without a usable family; an
                unknown status; no measure in a completed run; an unknown measure, or one of
                the other task type; a measure with no value, or more values than the task has
                folds; a score that is not finite or outside its measure's range), or a run id
                is repeated in the batch or names another run in the graph. Each refusal names the run
                by its index in ``runs`` (``runs[1]: ...``) when there are several. Nothing is written.
        """
        texts: list[str] = []
        config_quads: list[Quad] = [q for t in new_tasks for q in E.task_quads(t)]
        out: list[Run] = []
        written: list[tuple[RunInput, Run]] = []
        task_types: dict[str, str] = {}
        configs_seen: set[str] = set()
        logged = self._logged_runs(runs)
        pending = {t.id: t for t in new_tasks}
        recommendations: dict[str, Any] = {}  # read once per id; an unknown one names its run
        for i, r in enumerate(runs):
            try:
                task = pending.get(r.task_id) or self.get_task(r.task_id)  # cached per graph
                task_types[task.id] = task.task_type
                config = _checked_run(r, task)
                rec_id = r.tags.get("recommendation")
                if rec_id and rec_id not in recommendations:
                    from metakg.kg.recommendations import get_recommendation

                    try:
                        recommendations[rec_id] = get_recommendation(self, rec_id)
                    except NotFound:
                        raise NotFound(
                            f"The run is tagged recommendation={rec_id!r}, but the graph has no "
                            f"recommendation {rec_id!r}; fix the tag (the `id` printed by "
                            "`metakg recommend`) or drop it.") from None
                if r.run_id in logged:  # logged before (a retry): the same run, not written again
                    out.append(_same_run(r, task, config, logged[r.run_id]))
                    continue
            except (InvalidData, NotFound) as exc:
                raise type(exc)(f"{batch_prefix(i, len(runs), r.run_id)}{exc} Nothing was written.") from None
            run_id = r.run_id or uuid.uuid4().hex
            if config.id not in configs_seen and config.id not in self._configs_written:
                configs_seen.add(config.id)
                config_quads += E.configuration_quads(config)
            text, means = run_nquads(
                run_id, task_iri=entity("task", task.id).value,
                dataset_iri=entity("dataset", task.dataset_id).value,
                config_iri=entity("config", config.id).value,
                implementation_iri=entity("implementation", config.family).value,
                status=r.status, started_at=(r.started_at or datetime.now(UTC)).astimezone(UTC),
                fold_scores=r.fold_scores, error=r.error,
                principal_iri=E.principal_iri(r.principal).value if r.principal else None,
                device=r.device, source=r.source, code_version=r.code_version, tags=r.tags,
                software=r.software)
            texts.append(text)
            out.append(Run(id=run_id, task_id=task.id, dataset_id=task.dataset_id,
                           configuration_id=config.id, status=r.status, scores=means,
                           error=r.error, principal=r.principal, source=r.source,
                           device=r.device, tags=tuple(sorted(f"{k}={v}" for k, v in r.tags.items()))))
            written.append((r, out[-1]))
        if not texts:
            self._answer_proposals(out, task_types)  # a retry: a write before may have stopped short
            return out
        # The first run goes through the full shape checker with the configurations, as a
        # guard on the template (see kg/run_nquads.py); the store parses all of the text.
        first = list(parse(texts[0].encode(), format=RdfFormat.N_QUADS))
        # runs tagged recommendation=<id> record the outcome of the rank they ran, in this
        # same write (kg/feedback.py; an unknown id raises before anything is written)
        linked = [(r, o) for r, o in written if "recommendation" in r.tags]
        if linked:
            from metakg.kg.feedback import outcome_quads

            config_quads = config_quads + outcome_quads(self, linked, recommendations)
        check_quads(config_quads + first)
        self._declare_measures()
        head = serialize(config_quads, format=RdfFormat.N_QUADS) if config_quads else b""
        self.store.add_nquads(head + "".join(texts).encode())
        self._configs_written |= configs_seen
        self._answer_proposals(out, task_types)
        return out

    def _answer_proposals(self, runs: list[Run], task_types: dict[str, str]) -> None:
        """Open proposals these runs answer are done (a person ran what the queue asked for)."""
        from metakg.kg.proposals import mark_answered

        mark_answered(self, [(r, task_types[r.task_id]) for r in runs])

    def _logged_runs(self, runs: Sequence[RunInput]) -> dict[str, FoundRun]:
        """The runs of the batch whose ids are already in the graph, as stored. A run id given
        to two runs of the batch is refused: a second run under one id would merge into the
        first (two configurations, two values per fold), and the graph would no longer
        conform to its shapes.

        Raises:
            InvalidData: a run id that cannot be part of an IRI or is repeated in the batch
                (named, with the run's place in the batch).
        """
        from metakg.kg.run_search import stored_runs

        terms: dict[str, str] = {}  # run id → its checked ``<IRI>``
        for i, r in enumerate(runs):
            if r.run_id and r.run_id not in terms:
                try:
                    terms[r.run_id] = run_term(r.run_id)
                except InvalidData as exc:
                    raise InvalidData(f"{batch_prefix(i, len(runs))}{exc} Nothing was written.") from None
        given = Counter(r.run_id for r in runs if r.run_id)
        repeated = sorted(i for i, n in given.items() if n > 1)
        if repeated:
            raise InvalidData(f"Run id {repeated[0]!r} is given to {given[repeated[0]]} runs of "
                              "the batch; a run id names one run. Nothing was written.")
        found: list[str] = []
        ids = sorted(given)
        for start in range(0, len(ids), 500):
            values = " ".join(terms[i] for i in ids[start:start + 500])  # checked IRIs, no text
            found += [row["r"] for row in self.store.select(
                f"SELECT ?r WHERE {{ VALUES ?r {{ {values} }} ?r a mls:Run }}")]
        return {run.id: run for run in stored_runs(self, found)} if found else {}

    def set_metafeatures(
        self,
        dataset_id: str,
        values: dict[str, float | None],
        *,
        groups: dict[str, str] | None = None,
        reasons: dict[str, str] | None = None,
        extractor: str = "metakg",
        version: str = "1",
    ) -> None:
        """Store a dataset's meta-feature values, replacing the same extractor's old ones."""
        self.get_dataset(dataset_id)
        self.store.remove(self._metafeature_quads(dataset_id, extractor))
        self.write(E.metafeature_quads(dataset_id, values, groups=groups or {},
                                       reasons=reasons or {}, extractor=extractor,
                                       version=version))

    def _metafeature_quads(self, dataset_id: str, extractor: str) -> list[Quad]:
        triples = self.store.construct(
            """CONSTRUCT { ?d mls:hasQuality ?q . ?q ?p ?o } WHERE {
                 ?d mls:hasQuality ?q . ?q mkg:extractor ?x ; ?p ?o }""",
            {"d": entity("dataset", dataset_id), "x": extractor})
        from pyoxigraph import DefaultGraph

        return [Quad(t.subject, t.predicate, t.object, DefaultGraph()) for t in triples]

    # ----- reading -------------------------------------------------------------------------
    def _find_dataset_by_id(self, dataset_id: str) -> Dataset | None:
        node = entity("dataset", dataset_id)
        if self.store.ask("ASK { ?d a mls:Dataset }", {"d": node}):
            return self._dataset(node)
        return None

    def _dataset_iri(self, ref: str) -> NamedNode:
        """IRI of a dataset given by id (fast path), IRI, content hash or name."""
        if len(ref) == 32 and all(c in "0123456789abcdef" for c in ref):
            return entity("dataset", ref)
        return NamedNode(self.get_dataset(ref).iri)

    def get_dataset(self, ref: str, *, schema: bool = True) -> Dataset:
        """A dataset by id, content hash, IRI or name (tried in that order).

        Args:
            ref: id, content hash, IRI or name.
            schema: also read its columns (one more query; ``Dataset.schema`` is empty
                without it).

        Raises:
            DatasetNotFound: nothing matches; the message says how to list datasets.
            NameTaken: ``ref`` is a name that two datasets have (two tables uploaded under
                one name); the message lists their ids.
        """
        try:
            node: NamedNode | None = _as_iri("dataset", ref)
        except NotFound:  # not an id (e.g. a name with a space): by hash or name below
            node = None
        props = self._dataset_properties(node) if node is not None else {}  # by id or IRI
        if MLS.Dataset.value not in props.get("type", []):
            found = self._dataset_by_hash_or_name(ref)
            if found is None:
                raise DatasetNotFound(
                    f"No dataset {ref!r} in the graph (looked up by id, content hash and name); "
                    "list datasets with `metakg query` or KnowledgeGraph.datasets().")
            node, props = found, self._dataset_properties(found)
        return self._dataset(node, schema=schema, props=props)

    def check_name_free(self, name: str, dataset_id: str, *, how: str = "") -> None:
        """Check that a table may take this name: no other dataset has it (the dataset
        ``dataset_id`` may have it already: the same table named again).

        Args:
            name: the name the table is to have.
            dataset_id: the table's dataset id (the first 32 characters of its content hash).
            how: how the caller gives a table another name (``"--name NEW"``), for the
                message.

        Raises:
            NameTaken: another dataset has the name; the message says which, and suggests a
                free name.
        """
        named = self.datasets_named(name)
        if not named or dataset_id in named:
            return
        other = self.get_dataset(named[0], schema=False)
        what = ("registered by its meta-features only" if "metafeatures-only" in other.sources
                else f"{other.rows} rows × {other.columns} columns")
        free = next((f"{name}-{n}" for n in range(2, 100) if not self.datasets_named(f"{name}-{n}")),
                    f"{name}-{dataset_id[:8]}")
        raise NameTaken(
            f"The name {name!r} is already dataset {other.id} ({what}), and this table's "
            f"content differs (it would be dataset {dataset_id}); two datasets of one name "
            "would make looking either up by name ambiguous. Give this table a name of its own"
            f"{f' ({how})' if how else ''}, e.g. {free!r}.")

    def datasets_named(self, name: str) -> list[str]:
        """The ids of the datasets with this name (``dcterms:title``).

        Args:
            name: a dataset's name.

        Returns:
            Their ids, in IRI order (empty when none has it).
        """
        rows = self.store.select("SELECT ?d WHERE { ?d dcterms:title ?ref ; a mls:Dataset } "
                                 "ORDER BY ?d", {"ref": name})
        return [entity_key(r["d"]) for r in rows]

    def _dataset_by_hash_or_name(self, ref: str) -> NamedNode | None:
        """The dataset node with this content hash, else this name (``get_dataset`` tried
        the id or IRI first).

        Each step is one index lookup: a single query with ``FILTER(?d = ?iri || ...)``
        compared every dataset, which took most of a recommendation's time.
        """
        rows = self.store.select("SELECT ?d WHERE { ?d mkg:contentHash ?ref ; a mls:Dataset } "
                                 "ORDER BY ?d LIMIT 1", {"ref": ref})
        if rows:
            return NamedNode(rows[0]["d"])
        rows = self.store.select("SELECT ?d WHERE { ?d dcterms:title ?ref ; a mls:Dataset } "
                                 "ORDER BY ?d LIMIT 2", {"ref": ref})
        if len(rows) > 1:  # two tables uploaded under one name: which one is meant is not known
            named = self.datasets_named(ref)
            raise NameTaken(f"The name {ref!r} names {len(named)} datasets ({', '.join(named)}); "
                            "refer to one by its id (list them with KnowledgeGraph.datasets(), "
                            "GET /datasets or `metakg query`).")
        return NamedNode(rows[0]["d"]) if rows else None

    def _dataset_properties(self, node: NamedNode) -> dict[str, list[Any]]:
        """Local name of each property of ``node`` → its values (columns, qualities and the
        text embedding are read by their own queries, not here)."""
        rows = self.store.select(
            """SELECT ?p ?o WHERE { ?d ?p ?o
                 FILTER(?p NOT IN (mkg:hasColumn, mls:hasQuality, mkg:textEmbedding)) }""",
            {"d": node})
        props: dict[str, list[Any]] = {}
        for r in rows:
            props.setdefault(r["p"].rsplit("#", 1)[-1].rsplit("/", 1)[-1], []).append(r["o"])
        return props

    def _dataset(self, node: NamedNode, *, schema: bool = True,
                 props: dict[str, list[Any]] | None = None) -> Dataset:
        props = self._dataset_properties(node) if props is None else props
        cols = self.store.select(
            """SELECT ?name ?dtype ?pos WHERE { ?d mkg:hasColumn ?c . ?c mkg:name ?name ;
                 mkg:dtype ?dtype ; mkg:position ?pos } ORDER BY ?pos""", {"d": node}) if schema else []
        return Dataset(
            id=entity_key(node), name=props["title"][0], content_hash=props["contentHash"][0],
            rows=props["rows"][0], columns=props["columns"][0],
            description=(props.get("description") or [""])[0],
            sources=tuple(sorted(props.get("source", []))),
            default_target=(props.get("defaultTarget") or [None])[0],
            schema=tuple(Column(c["name"], c["dtype"], c["pos"]) for c in cols),
            derived_from=entity_key(props["wasDerivedFrom"][0])
            if props.get("wasDerivedFrom") else None,
            derivation=(props.get("derivation") or [""])[0],
        )

    def datasets(
        self, *, task_type: str | None = None, min_rows: int | None = None,
        max_rows: int | None = None, limit: int | None = None, offset: int = 0,
    ) -> list[Dataset]:
        """Datasets, optionally those with a task of a type and a size range, by name."""
        rows = self.store.select(
            """SELECT DISTINCT ?d ?name WHERE { ?d a mls:Dataset ; dcterms:title ?name ;
                 mkg:rows ?n .
                 OPTIONAL { ?t mls:definedOn ?d ; mkg:taskType ?type }
                 FILTER(!BOUND(?want) || ?type = ?want)
                 FILTER(!BOUND(?lo) || ?n >= ?lo) FILTER(!BOUND(?hi) || ?n <= ?hi) }
               ORDER BY ?name ?d""",
            {k: v for k, v in {"want": task_type, "lo": min_rows, "hi": max_rows}.items()
             if v is not None} or None)
        seen: dict[str, None] = dict.fromkeys(r["d"] for r in rows)
        ids = list(seen)[offset: None if limit is None else offset + limit]
        return [self._dataset(NamedNode(i)) for i in ids]

    def get_task(self, task_id: str) -> Task:
        """A task by id or IRI.

        Raises:
            NotFound: no such task.
        """
        cached = self._task_cache.get(task_id)
        if cached is not None:
            return cached
        node = _as_iri("task", task_id)
        rows = self.store.select(
            """SELECT ?d ?target ?type ?metric ?folds ?seed ?sub ?k ?sd WHERE {
                 ?t a mkg:Task ; mls:definedOn ?d ; mkg:target ?target ; mkg:taskType ?type ;
                 mkg:metric ?metric ; mkg:folds ?folds .
                 OPTIONAL { ?t mkg:seed ?seed } OPTIONAL { ?t mkg:subsampleRows ?sub }
                 OPTIONAL { ?t mkg:nClasses ?k } OPTIONAL { ?t mkg:targetSd ?sd } }""", {"t": node})
        if not rows:
            raise NotFound(f"No task {task_id!r} in the graph. A task is created by the first run "
                           "on a table (`metakg run`, `metakg recommend --run`; their --json "
                           "output gives its id), by KnowledgeGraph.add_task(), or by a run "
                           "logged over HTTP with dataset, target and task_type.")
        r = rows[0]
        task = Task(id=entity_key(node), dataset_id=entity_key(r["d"]), target=r["target"],
                    task_type=r["type"], metric=r["metric"], folds=r["folds"],
                    seed=r.get("seed", 0), subsample_rows=r.get("sub"), n_classes=r.get("k"),
                    target_sd=r.get("sd"))
        if len(self._task_cache) < 100_000:
            self._task_cache[task_id] = task
        return task

    def tasks(self, dataset_id: str | None = None) -> list[Task]:
        """Tasks, optionally of one dataset."""
        rows = self.store.select(
            "SELECT ?t WHERE { ?t a mkg:Task ; mls:definedOn ?d } ORDER BY ?t",
            {"d": entity("dataset", dataset_id)} if dataset_id else None)
        return [self.get_task(r["t"]) for r in rows]

    def get_configuration(self, config_id: str) -> Configuration:
        """A configuration by id or IRI.

        Raises:
            NotFound: no such configuration.
        """
        rows = self.store.select(
            "SELECT ?json ?family WHERE { ?c mkg:json ?json ; mkg:family ?family }",
            {"c": _as_iri("config", config_id)})
        if not rows:
            raise NotFound(f"No configuration {config_id!r} in the graph.")
        return Configuration(id=entity_key(_as_iri("config", config_id)),
                             family=rows[0]["family"], json=rows[0]["json"])

    def runs(
        self, *, dataset: str | None = None, configuration: str | None = None,
        task: str | None = None, status: str | None = None,
    ) -> list[Run]:
        """Runs filtered by dataset, configuration, task and status, with their mean scores,
        tags (``key=value``) and start times."""
        bind: dict[str, Any] = {}
        if dataset:
            bind["d"] = self._dataset_iri(dataset)
        if configuration:
            bind["c"] = _as_iri("config", configuration)
        if task:
            bind["t"] = _as_iri("task", task)
        if status:
            bind["status"] = status
        rows = self.store.select(
            """SELECT ?r ?t ?d ?c ?status ?err ?who ?src ?dev ?when ?m ?v WHERE {
                 ?r mls:achieves ?t ; mkg:configuration ?c ; mkg:status ?status .
                 ?t mls:definedOn ?d .
                 OPTIONAL { ?r mkg:error ?err } OPTIONAL { ?r prov:wasAssociatedWith ?who }
                 OPTIONAL { ?r mkg:source ?src } OPTIONAL { ?r mkg:device ?dev }
                 OPTIONAL { ?r prov:startedAtTime ?when }
                 OPTIONAL { ?r mkg:meanEvaluation ?e . ?e mls:specifiedBy ?mm ;
                            mls:hasValue ?v .
                            ?mm dcterms:title ?m } }""", bind or None)
        # tags apart: joined above, they would repeat every run's scores once per tag
        tags: dict[str, list[str]] = {}
        for r in self.store.select(
                """SELECT ?r ?tag WHERE { ?r mls:achieves ?t ; mkg:configuration ?c ;
                     mkg:status ?status ; mkg:tag ?tag . ?t mls:definedOn ?d }""", bind or None):
            tags.setdefault(r["r"], []).append(r["tag"])
        runs: dict[str, dict[str, Any]] = {}
        for r in rows:
            entry = runs.setdefault(r["r"], {**r, "scores": {}})
            if "m" in r:
                entry["scores"][r["m"]] = r["v"]
        return [Run(id=entity_key(k), task_id=entity_key(v["t"]), dataset_id=entity_key(v["d"]),
                    configuration_id=entity_key(v["c"]), status=v["status"], scores=v["scores"],
                    error=v.get("err"), principal=_principal_name(v.get("who")),
                    source=v.get("src"), device=v.get("dev"),
                    started_at=str(v["when"]) if v.get("when") is not None else None,
                    tags=tuple(sorted(tags.get(k, ()))))
                for k, v in sorted(runs.items())]

    def best_configurations(
        self, dataset: str, *, metric: str, k: int = 10
    ) -> list[tuple[Configuration, float]]:
        """The ``k`` best configurations on a dataset by mean ``metric`` (completed runs)."""
        from metakg.kg.measures import HIGHER_IS_BETTER

        check_measure(metric)
        order = "DESC(?best)" if HIGHER_IS_BETTER[metric] else "ASC(?best)"
        agg = "MAX" if HIGHER_IS_BETTER[metric] else "MIN"
        rows = self.store.select(
            f"""SELECT ?c ?json ?family ({agg}(?v) AS ?best) WHERE {{
                 ?t mls:definedOn ?d . ?r mls:achieves ?t ; mkg:configuration ?c ;
                 mkg:meanEvaluation ?e . ?e mls:specifiedBy ?m ; mls:hasValue ?v .
                 ?c mkg:json ?json ; mkg:family ?family }}
               GROUP BY ?c ?json ?family ORDER BY {order} LIMIT {int(k)}""",
            {"d": self._dataset_iri(dataset), "m": entity("measure", metric)})
        return [(Configuration(entity_key(r["c"]), r["family"], r["json"]), r["best"])
                for r in rows]

    def metafeatures(self, dataset_id: str, *, extractor: str | None = None) -> dict[str, float | None]:
        """A dataset's meta-features (missing ones as ``None``)."""
        bind: dict[str, Any] = {"d": entity("dataset", dataset_id)}
        if extractor:
            bind["x"] = extractor
        rows = self.store.select(
            """SELECT ?name ?v WHERE { ?d mls:hasQuality ?q . ?q mkg:feature ?name ;
                 mkg:extractor ?x . OPTIONAL { ?q mls:hasValue ?v } }""", bind)
        return {r["name"]: r.get("v") for r in rows}

    def has_runs(self, *, task_type: str, metric: str) -> bool:
        """Whether any run of a task of this type has an evaluation by ``metric``."""
        return self.store.ask(
            """ASK { ?t mkg:taskType ?type . ?r mls:achieves ?t ; mls:hasOutput ?e .
                     ?e mls:specifiedBy ?m }""", {"type": task_type, "m": entity("measure", metric)})

    def check_shapes(self) -> tuple[bool, str]:
        """Validate the whole graph against the SHACL shapes with pyshacl (slow: minutes on
        the seed graph; writes are already checked one by one).

        Returns:
            (whether it conforms, pyshacl's report text).
        """
        import tempfile
        from pathlib import Path

        from metakg.kg.shapes import validate_with_pyshacl

        with tempfile.TemporaryDirectory(prefix="metakg-validate-") as tmp:
            path = Path(tmp) / "graph.nq"
            self.store.dump(path)
            return validate_with_pyshacl(path.read_bytes())

    def has_loaded_seed(self, digest: str) -> bool:
        """Whether the seed with this digest was loaded into the store: a seed file's SHA-256,
        or the combined digest of a seed and its extensions (:func:`kg.seed_file.seed_digest`)."""
        return self.store.ask("ASK { ?s mkg:seededFrom ?h }", {"h": digest})

    def learning_stamp(self) -> str:
        """A cheap version of what recommenders learn from: how many runs, meta-feature values,
        completed and failed runs the graph holds (it changes with every run logged, and with
        every run written fold by fold when it completes or fails).

        Counted once per version of the store (:meth:`Store.memo`, ``"learning_stamp"``):
        a write of what no recommender learns from (a stored recommendation) keeps it, so
        it costs no recount (three counts over every run: about 35 ms on the seed).
        """
        def counted() -> str:
            # by status value: a run finishing replaces its "running" by another status; and
            # outcome runs withdrawn by revised feedback (replaced by one with another score)
            done = {row["s"]: row["n"] for row in self.store.select(
                """SELECT ?s (COUNT(?r) AS ?n) WHERE {
                     { VALUES ?s { "completed" "failed" } ?r mkg:status ?s }
                     UNION { ?f mkg:withdrawnRun ?r BIND("withdrawn" AS ?s) } } GROUP BY ?s""")}
            revised = f"-{done['withdrawn']}" if done.get("withdrawn") else ""
            return (f"{self.count('mls:Run')}-{self.count('mls:DatasetCharacteristic')}-"
                    f"{done.get('completed', 0)}-{done.get('failed', 0)}{revised}")

        return self.store.memo(LEARNING_STAMP, counted)

    def count(self, rdf_class: str) -> int:
        """How many nodes have a class, e.g. ``count("mls:Run")``."""
        from metakg.kg.vocabulary import PREFIXES

        prefix, _, local = rdf_class.partition(":")
        rows = self.store.select("SELECT (COUNT(?x) AS ?n) WHERE { ?x a ?cls }",
                                 {"cls": NamedNode(PREFIXES[prefix] + local)})
        return int(rows[0]["n"])


def _as_iri(kind: str, ref: str) -> NamedNode:
    """The IRI of an entity given by id or IRI.

    Raises:
        NotFound: ``ref`` cannot be part of an IRI (e.g. it has a space), so no entity has it.
    """
    try:
        return NamedNode(ref) if ref.startswith(("http://", "https://")) else entity(kind, ref)
    except ValueError:
        raise NotFound(f"No {kind} {ref!r} in the graph: that is not a valid {kind} id.") from None


def _principal_name(iri: str | None) -> str | None:
    if not iri:
        return None
    from urllib.parse import unquote

    return unquote(entity_key(iri))


def _same_run(run: RunInput, task: Task, config: Configuration, stored: FoundRun) -> Run:
    """The stored run under ``run``'s id, when it is the run given (a retry of its logging).

    Raises:
        InvalidData: the id names another run (what differs is named).
    """
    means = {m: fold_mean(v) for m, v in run.fold_scores.items()}
    differs = [what for what, same in [
        ("task", stored.task == task.id), ("configuration", stored.config_id == config.id),
        ("status", stored.status == run.status), ("principal", stored.principal == run.principal),
        ("tags", stored.tags == dict(run.tags)),
        ("scores", set(stored.metrics) == set(means) and all(
            math.isclose(stored.metrics[m], v, rel_tol=1e-12, abs_tol=1e-12)
            or (math.isnan(v) and math.isnan(stored.metrics[m])) for m, v in means.items()))]
        if not same]
    if differs:
        raise InvalidData(f"Run id {run.run_id!r} is already in the graph as another run "
                          f"(its {', '.join(differs)} differ); a run id names one run. Log this "
                          "one without a run id (one is made), or delete the old run first "
                          "(KnowledgeGraph.delete_run).")
    return Run(id=stored.id, task_id=task.id, dataset_id=task.dataset_id,
               configuration_id=config.id, status=stored.status, scores=dict(stored.metrics),
               error=run.error, principal=stored.principal, source=stored.source,
               device=run.device, tags=tuple(sorted(f"{k}={v}" for k, v in stored.tags.items())))


def _checked_run(run: RunInput, task: Task) -> Configuration:
    """A run's configuration record, once the run is found fit to store on ``task``.

    Raises:
        InvalidData: a configuration without a usable family; an unknown status; a completed
            run without a measure; scores :func:`check_fold_scores` refuses.
    """
    config = make_configuration(run.config)
    if run.status not in ("completed", "failed"):
        raise InvalidData(f"Run status must be 'completed' or 'failed', not {run.status!r}.")
    if run.status == "completed" and not run.fold_scores:
        raise InvalidData("A completed run needs at least one measure in fold_scores.")
    # no NaN, impossible score, other task type's measure or extra fold is stored
    check_fold_scores(run.fold_scores, task_type=task.task_type, folds=task.folds)
    return config
