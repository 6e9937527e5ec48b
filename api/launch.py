"""The ``metakg`` entry point: a warm worker answers when it can, else the CLI runs here.

Only the standard library is imported before that choice, so a call that a warm worker
answers (see :mod:`api.warm`) costs a Python start-up and a socket round trip.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Run ``metakg`` with ``sys.argv``: through the warm worker, or in this process."""
    from metakg.api.warm import delegate

    code = delegate(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from metakg.api.cli import main as run_here

    run_here()
