"""The exception hierarchy of metakg.

Every error raised on purpose by metakg derives from :class:`MetaKGError`. Subclasses also
derive from the matching builtin so callers can catch either. Messages say what is wrong,
where, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AlreadyRunning",
    "ConfigurationError",
    "DatasetNotFound",
    "InvalidData",
    "MetaKGError",
    "NameTaken",
    "NotFound",
    "QueryError",
    "QueryLimitExceeded",
    "QuerySyntaxError",
    "ShapeViolation",
    "StoreError",
    "StoreLocked",
    "UpstreamError",
]


class MetaKGError(Exception):
    """Root of every error metakg raises on purpose."""


class NotFound(MetaKGError, KeyError):
    """An entity (dataset, task, configuration, run...) does not exist in the graph."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class DatasetNotFound(NotFound):
    """No dataset with this id, hash or name is in the graph."""


class InvalidData(MetaKGError, ValueError):
    """A table, a file or a request body is malformed; nothing was written."""


class NameTaken(MetaKGError, ValueError):
    """A name is another entity's already (meta-features registered under another dataset's
    name), or names two (a lookup by a name two datasets have): which one is meant is not
    known."""


class ShapeViolation(InvalidData):
    """A write would break the graph's SHACL shapes; nothing was written."""


class ConfigurationError(MetaKGError, ValueError):
    """A configuration (pipeline + hyperparameters) is not valid."""


class QueryError(MetaKGError, ValueError):
    """A SPARQL query is malformed or not allowed here."""


class QuerySyntaxError(QueryError):
    """A SPARQL query does not parse (or is an update where a query is expected).

    Attributes:
        line: 1-based line of the error in the query text, or ``None`` when unknown.
        column: 1-based column on that line, or ``None`` when unknown.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class QueryLimitExceeded(QueryError):
    """A query was stopped at its time or memory limit (``limit``: ``"time"`` or ``"memory"``)."""

    def __init__(self, message: str, limit: str = "time") -> None:
        super().__init__(message)
        self.limit = limit


class StoreError(MetaKGError, OSError):
    """The store could not be opened, read or written."""


class StoreLocked(StoreError):
    """The embedded store is already opened for writing by another process."""


class AlreadyRunning(MetaKGError):
    """The same long operation (a sync of one experiment) is under way; try again after it."""


class UpstreamError(MetaKGError):
    """A service a call depends on (an MLflow tracking server, OpenML) could not be reached or
    refused a request; the call may succeed later as it is."""
