"""Keep readers out while a non-transactional bulk write is under way.

Queries take a snapshot when they start; a bulk load is not one transaction, so a query
started half-way could see part of a write. Readers pass the gate only while no bulk write
is in progress, and a bulk write waits for the queries that are starting to have started.
Transactional writes do not need the gate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["BulkGate"]


class BulkGate:
    """A readers–writer gate: many query starts at once, or one bulk write."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._bulk = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold while a query starts (takes its snapshot)."""
        with self._cond:
            while self._bulk:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def bulk_writing(self) -> Iterator[None]:
        """Hold for the whole of a bulk write; excludes readers and other bulk writes."""
        with self._cond:
            while self._bulk:
                self._cond.wait()
            self._bulk = True
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._bulk = False
                self._cond.notify_all()
