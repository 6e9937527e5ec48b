"""The store contract (:class:`Store`) and its back-ends."""

from metakg.kg.store.base import Store, format_from_suffix, python_value, query_form
from metakg.kg.store.factory import default_store_location, open_store
from metakg.kg.store.local import MemoryStore, OxigraphStore
from metakg.kg.store.remote import SparqlEndpointStore

__all__ = [
    "MemoryStore",
    "OxigraphStore",
    "SparqlEndpointStore",
    "Store",
    "default_store_location",
    "format_from_suffix",
    "open_store",
    "python_value",
    "query_form",
]
