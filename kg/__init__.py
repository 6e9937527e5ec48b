"""metakg knowledge graph: vocabulary, stores, ingest, typed reads and writes."""

from metakg.kg.errors import (
    ConfigurationError,
    DatasetNotFound,
    InvalidData,
    MetaKGError,
    NotFound,
    QueryError,
    ShapeViolation,
    StoreError,
    StoreLocked,
)
from metakg.kg.graph import KnowledgeGraph, make_configuration
from metakg.kg.identity import canonical_json, configuration_id, table_hash
from metakg.kg.measures import HIGHER_IS_BETTER, primary_metric
from metakg.kg.migrations import SCHEMA_VERSION, migrate
from metakg.kg.records import Column, Configuration, Dataset, Run, RunInput, Task
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
    "NotFound",
    "OxigraphStore",
    "QueryError",
    "Run",
    "RunInput",
    "ShapeViolation",
    "SparqlEndpointStore",
    "Store",
    "StoreError",
    "StoreLocked",
    "Task",
    "canonical_json",
    "configuration_id",
    "infer_task_type",
    "make_configuration",
    "migrate",
    "open_store",
    "primary_metric",
    "read_table",
    "table_hash",
]
