"""The FastAPI application factory."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from metakg.api.errors import ERROR_RESPONSES, BodyLimit, install_error_handlers
from metakg.api.routes import (
    datasets,
    export,
    keys,
    mlflow_sync,
    openml_import,
    proposals,
    recommendations,
    runs,
    sparql,
)
from metakg.api.settings import Settings, get_settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the store named by the settings (``METAKG_STORE``).

    With the embedded store only one process can serve; a second one fails at start with a
    clear message (use an Oxigraph server and ``METAKG_STORE=http://...`` for several).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from metakg.kg.default_graph import open_graph

        s = settings or get_settings()
        graph = app.state.graph = open_graph(s.store)
        if (s.store or "").startswith("memory:"):  # not graph.store: reading it fills a seed
            print("metakg: this store checks /sparql's time limit only between answer rows, so "
                  "one query can hold it for long; serve the embedded store or an Oxigraph "
                  "server to others, not this one.", file=sys.stderr)

        def prepare() -> None:
            # reading .store fills a fresh store with the seed graph first; /sparql's worker
            # processes start after that, so they open the filled store
            start_workers = getattr(graph.store, "start_query_workers", None)
            if start_workers is not None:
                start_workers(s.sparql_concurrency)

        filling = None
        if getattr(graph, "seed_pending", None) is not None:
            # in the background: recommendations are answered by the recommenders shipped
            # with the seed meanwhile, and requests that need the store wait for the fill
            import threading

            filling = threading.Thread(target=prepare, name="metakg-seed-fill", daemon=True)
            filling.start()
        else:
            prepare()
        try:
            yield
        finally:
            if filling is not None and filling.is_alive():
                # closing under the bulk loader would break it; an unfinished fill has its
                # start marked, not its end, and is repeated (idempotently) at the next start
                print("metakg: stopping while the seed graph is loading; it resumes at the next start",
                      file=sys.stderr)
            else:
                graph.close()  # without starting (or waiting for) a seed fill

    app = FastAPI(title="metakg", version="0.1.0", lifespan=lifespan,
                  description="Meta-learning knowledge graph: log runs, query the graph, get "
                              "warm-start recommendations. Authenticate with `X-API-Key`.")
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    install_error_handlers(app)
    limits = settings or get_settings()
    app.add_middleware(BodyLimit, max_mb=limits.max_body_mb, upload_mb=limits.max_upload_mb)
    for module in (datasets, recommendations, proposals, runs, sparql, export, keys, mlflow_sync,
                   openml_import):
        app.include_router(module.router, responses=ERROR_RESPONSES)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness probe (no key needed)."""
        return {"status": "ok"}

    return app
