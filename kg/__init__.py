"""metakg knowledge graph: vocabulary, stores, ingest, typed reads and writes.

Every SPARQL query and quad the other packages need is built here, behind typed calls:
:class:`KnowledgeGraph` (datasets, tasks, configurations, complete runs, meta-features),
:mod:`kg.run_progress` (runs written fold by fold), :mod:`kg.embeddings` (text embeddings),
:mod:`kg.dataset_index` (whole-graph reads of dataset attributes), :mod:`kg.views` (dense
tables) and :mod:`kg.spaces` (the families' configuration spaces).
"""

from metakg.kg.embeddings import set_text_embedding, text_embedding, text_embeddings
from metakg.kg.errors import (
    ConfigurationError,
    DatasetNotFound,
    InvalidData,
    MetaKGError,
    NameTaken,
    NotFound,
    QueryError,
    ShapeViolation,
    StoreError,
    StoreLocked,
    UpstreamError,
)
from metakg.kg.graph import KnowledgeGraph, make_configuration, missing_column_message
from metakg.kg.identity import canonical_json, configuration_id, table_hash
from metakg.kg.measures import HIGHER_IS_BETTER, primary_metric
from metakg.kg.migrations import SCHEMA_VERSION, migrate
from metakg.kg.records import Column, Configuration, Dataset, Run, RunInput, Task
from metakg.kg.run_progress import (
    RunStart,
    RunState,
    delete_run,
    finish_run,
    record_fold,
    run_quads,
    run_states,
)
from metakg.kg.store import MemoryStore, OxigraphStore, SparqlEndpointStore, Store, open_store
from metakg.kg.tables import infer_task_type, read_table

__all__ = [
    "HIGHER_IS_BETTER",
    "SCHEMA_VERSION",
    "Column",
    "Configuration",
    "ConfigurationError",
    "Dataset",
    "DatasetNotFound",
    "InvalidData",
    "KnowledgeGraph",
    "MemoryStore",
    "MetaKGError",
    "NameTaken",
    "NotFound",
    "OxigraphStore",
    "QueryError",
    "Run",
    "RunInput",
    "RunStart",
    "RunState",
    "ShapeViolation",
    "SparqlEndpointStore",
    "Store",
    "StoreError",
    "StoreLocked",
    "Task",
    "UpstreamError",
    "canonical_json",
    "configuration_id",
    "delete_run",
    "finish_run",
    "infer_task_type",
    "make_configuration",
    "migrate",
    "missing_column_message",
    "open_store",
    "primary_metric",
    "read_table",
    "record_fold",
    "run_quads",
    "run_states",
    "set_text_embedding",
    "table_hash",
    "text_embedding",
    "text_embeddings",
]
