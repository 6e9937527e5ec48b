"""The warm worker process: ``python -m metakg.api.warm_worker SOCKET`` (started by
:func:`api.warm.delegate`).

It imports the CLI and what ``metakg recommend`` uses once, then answers requests at the
socket with the CLI's ``main`` (see :mod:`api.warm`).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["run_worker"]


def run_worker(address: Path) -> None:
    """Import the CLI once and serve requests at ``address`` until idle."""
    import metakg.metalearner.metafeatures
    import metakg.metalearner.recommend
    import metakg.metalearner.recommenders  # noqa: F401  (the imports are the point)
    from metakg.api import warm
    from metakg.api.cli import main

    warm.serve(address, main)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m metakg.api.warm_worker SOCKET")
    run_worker(Path(sys.argv[1]))
