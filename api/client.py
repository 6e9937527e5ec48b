"""Python client of the metakg HTTP API (httpx)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pandas as pd

from metakg.kg.errors import InvalidData, MetaKGError, NameTaken, NotFound, StoreError, UpstreamError

__all__ = ["RETRIES", "Client", "evaluate_and_log"]

#: Further attempts of a run's logging after a connection failure or a lost answer (the run's
#: id makes them safe), 0.5, 1 and 2 s apart.
RETRIES = 3


def _with_id(run: dict[str, Any]) -> dict[str, Any]:
    """The run with an id of its own (kept when given), so that sending it twice logs it once."""
    import uuid

    return run if run.get("id") else {**run, "id": uuid.uuid4().hex}


class Client:
    """Talk to a ``metakg serve`` server.

    Args:
        url: base URL, e.g. ``http://127.0.0.1:8000``.
        key: API key (``metakg keys create``).
        timeout: seconds per request.
    """

    def __init__(self, url: str, key: str | None = None, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout,
                                  headers={"X-API-Key": key} if key else {})

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, r: httpx.Response, *, conflict: type[MetaKGError] | None = None) -> Any:
        if r.status_code < 300:
            return r.json()
        detail = r.json().get("detail", r.text) if r.headers.get("content-type", "").startswith(
            "application/json") else r.text
        known: dict[int, type[MetaKGError]] = {404: NotFound, 422: InvalidData, 502: UpstreamError,
                                               503: StoreError}
        if conflict is not None:  # what a 409 means to this call
            known[409] = conflict
        if r.status_code in known:
            raise known[r.status_code](str(detail))
        raise MetaKGError(f"HTTP {r.status_code}: {detail}")

    def recommend(self, df: pd.DataFrame, *, target: str, k: int = 5,
                  task_type: str | None = None, metric: str | None = None,
                  families: str | list[str] | None = None,
                  max_fit_seconds: float | None = None) -> dict[str, Any]:
        """Recommendations for a table (sent as Parquet; the table is not stored server-side),
        with the same arguments as :func:`metakg.metalearner.recommend`."""
        buf = io.BytesIO()
        df.to_parquet(buf)
        data: dict[str, Any] = {"target": target, "k": str(k)}
        if task_type:
            data["task_type"] = task_type
        if metric:
            data["metric"] = metric
        if families:  # one family by name, as recommend() takes it, or several
            data["family"] = [families] if isinstance(families, str) else list(families)
        if max_fit_seconds is not None:
            data["max_fit_seconds"] = str(max_fit_seconds)
        return self._check(self._http.post("/recommendations", data=data,
                                           files={"file": ("table.parquet", buf.getvalue())}))

    def upload(self, df: pd.DataFrame, *, target: str, name: str, description: str = "") -> dict[str, Any]:
        """Upload a table as a dataset (returns its record).

        Raises:
            NameTaken: another table has this name (nothing was written); upload it under
                another name.
            InvalidData: the table or target was refused (422).
        """
        buf = io.BytesIO()
        df.to_parquet(buf)
        return self._check(self._http.post(
            "/datasets", data={"target": target, "name": name, "description": description},
            files={"file": (f"{name}.parquet", buf.getvalue())}), conflict=NameTaken)

    def log_run(self, **run: Any) -> dict[str, Any]:
        """Log one run (fields of the API's RunIn: task_id or dataset+target+task_type,
        config, fold_scores, status, tags, code_version, id).

        The run gets an id here unless it has one, so the request is retried when the
        connection fails or the answer is lost (:data:`RETRIES` times): the server takes the
        same run under the same id as logged once.

        Returns:
            The logged run (``id``, ``task_id``, ``dataset_id``, ``configuration_id``, ...).

        Raises:
            NotFound, InvalidData, MetaKGError: the server refused it (404, 422, other).
            httpx.TransportError: the server could not be reached after the retries.
        """
        return self._check(self._post_retried("/runs", _with_id(run)))

    def log_runs(self, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Log a batch atomically (all or none), each run with an id as in :meth:`log_run`,
        retried the same way."""
        return self._check(self._post_retried("/runs/batch", {"runs": [_with_id(r) for r in runs]}))

    def _post_retried(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST an idempotent body, again after a connection failure or a lost answer."""
        import time

        for attempt in range(RETRIES):
            try:
                return self._http.post(path, json=body)
            except httpx.TransportError:
                time.sleep(0.5 * 2 ** attempt)
        return self._http.post(path, json=body)  # the last try: its failure is the caller's

    def search_runs(self, filter: str = "", *, order_by: str | None = None, limit: int = 100,
                    offset: int = 0) -> list[dict[str, Any]]:
        """Search runs; the server's store filters, orders and pages them.

        Args:
            filter: conditions joined by ``and`` (see :mod:`kg.run_search`), e.g.
                ``metrics.roc_auc > 0.8 and params.family = 'lightgbm'``.
            order_by: ``KEY [ASC|DESC]``, e.g. ``metrics.roc_auc DESC``.
            limit: page size (1-1000).
            offset: runs to skip.

        Raises:
            InvalidData: a malformed filter or order (the message says where).
        """
        params: dict[str, Any] = {"filter": filter, "limit": limit, "offset": offset}
        if order_by:
            params["order_by"] = order_by
        return self._check(self._http.get("/runs", params=params))

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run with its configuration, tags and mean scores.

        Raises:
            NotFound: no run has this id.
        """
        from urllib.parse import quote

        return self._check(self._http.get(f"/runs/{quote(run_id, safe='')}"))

    def create_key(self, name: str, role: str = "write") -> str:
        """Create (or rotate) a principal's key; needs an admin key. Returns the new key,
        which is shown only this once.

        Raises:
            InvalidData: bad name or role.
            MetaKGError: HTTP 403 when this client's key is not an admin's.
        """
        return self._check(self._http.post("/keys", json={"name": name, "role": role}))["key"]

    def list_keys(self) -> list[dict[str, Any]]:
        """Principals with a key: name, role, revoked (never the keys); needs an admin key."""
        return self._check(self._http.get("/keys"))

    def revoke_key(self, name: str) -> dict[str, Any]:
        """Revoke a principal's key (refused from the next request on); needs an admin key.

        Raises:
            NotFound: no principal of this name has a key.
        """
        from urllib.parse import quote

        return self._check(self._http.delete(f"/keys/{quote(name, safe='')}"))

    def sparql(self, query: str) -> dict[str, Any]:
        """A read-only SPARQL query; W3C JSON results."""
        return self._check(self._http.post("/sparql", data={"query": query}))

    def get_recommendation(self, rec_id: str) -> dict[str, Any]:
        """A stored recommendation (query, recommender version, ranked configurations) with
        the feedback on it.

        Raises:
            NotFound: no recommendation has this id.
        """
        from urllib.parse import quote

        return self._check(self._http.get(f"/recommendations/{quote(rec_id, safe='')}"))

    def feedback(self, rec_id: str, *, rank: int, verdict: str, score: float | None = None,
                 reason: str = "") -> dict[str, Any]:
        """Record what happened to the configuration at ``rank`` of a recommendation (the
        ``id`` of :meth:`recommend`'s answer); needs a key that can write.

        Args:
            rec_id: the recommendation's id.
            rank: the configuration's rank (1-based).
            verdict: ``used``, ``skipped`` or ``rejected``.
            score: the outcome by the recommendation's metric (with ``used``).
            reason: why (required for ``rejected``).

        Returns:
            The recorded feedback (with ``run_id`` where the outcome was logged as a run).

        Raises:
            NotFound: no recommendation has this id.
            InvalidData: a rank out of range, a bad verdict or score, a rejection without a
                reason.
            MetaKGError: HTTP 403 when this client's key can only read.
        """
        from urllib.parse import quote

        body: dict[str, Any] = {"rank": rank, "verdict": verdict, "reason": reason}
        if score is not None:
            body["score"] = score
        return self._check(self._http.post(f"/recommendations/{quote(rec_id, safe='')}/feedback",
                                           json=body))

    def propose(self, *, budget: int = 10, dataset: str | None = None,
                timeout: float = 600.0) -> list[dict[str, Any]]:
        """Ask the graph which runs would improve its recommendations most, and store them as
        the open queue (``metakg next``); needs a key that can write. The server fits the
        recommender of every group first: minutes on a large graph after it changed.

        Args:
            budget: how many runs to propose.
            dataset: only runs on this dataset (name or id).
            timeout: seconds to wait for the answer.

        Returns:
            The proposals, best first, each with its dataset, configuration, utility and reason.

        Raises:
            NotFound: ``dataset`` is not in the graph.
            InvalidData: no missing run to propose, or a dataset without runs yet.
            MetaKGError: HTTP 403 when this client's key can only read; HTTP 409 while
                proposals for this graph are being made.
        """
        body: dict[str, Any] = {"budget": budget}
        if dataset is not None:
            body["dataset"] = dataset
        return self._check(self._http.post("/proposals", json=body, timeout=timeout))["proposals"]

    def proposals(self, *, status: str | None = "open", dataset: str | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
        """The stored proposals, open ones first by rank (``GET /proposals``).

        Args:
            status: ``open`` (the default here: the queue), ``done``, ``failed``, or ``None``
                for all of them (the route's default).
            dataset: only those on this dataset (name or id).
            limit: at most this many.

        Returns:
            The proposals, each with its dataset, configuration, utility, reason, status and,
            once done, its run.

        Raises:
            NotFound: ``dataset`` is not in the graph.
        """
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        if dataset is not None:
            params["dataset"] = dataset
        return self._check(self._http.get("/proposals", params=params))["proposals"]

    def sync_mlflow(self, *, tracking_uri: str, experiment: str, metric_step: str = "last",
                    folds: int = 5, page_size: int = 1000,
                    timeout: float = 600.0) -> dict[str, Any]:
        """Have the server sync an MLflow experiment (``POST /sync/mlflow``); needs an admin
        key. Idempotent: runs synced before are counted as duplicates, never added twice.

        Args:
            tracking_uri: the MLflow tracking server as the metakg server reaches it
                (``http(s)://`` only).
            experiment: its name or id.
            metric_step: ``last`` or ``best``: which step of a metric logged at several.
            folds: folds of tasks made for runs that name none.
            page_size: runs per MLflow page.
            timeout: seconds to wait for the answer (a large experiment takes a while).

        Returns:
            ``{"added", "duplicates", "skipped", "unfinished", "seen", "skipped_runs": [{"run_id",
            "run_name", "reason"}], ...}``.

        Raises:
            InvalidData: no such experiment, or a tracking URI that is not http(s).
            UpstreamError: the tracking server could not be reached or refused (HTTP 502).
            MetaKGError: HTTP 403 when this client's key is not an admin's; the metakg server
                did not answer (a watch retries at its next poll).
        """
        body = {"tracking_uri": tracking_uri, "experiment": experiment,
                "metric_step": metric_step, "folds": folds, "page_size": page_size}
        try:
            return self._check(self._http.post("/sync/mlflow", json=body, timeout=timeout))
        except httpx.HTTPError as exc:  # a watch retries these at its next poll
            raise MetaKGError(f"The metakg server at {self.url} did not answer the sync "
                              f"({type(exc).__name__}: {exc}).") from None

    def import_openml(self, *, tasks: list[int] | None = None, study: int | None = None,
                      max_runs: int = 100, download_data: bool = True, unknown_flows: str = "keep",
                      timeout: float = 600.0) -> dict[str, Any]:
        """Have the server import the runs of OpenML tasks or of a study
        (``POST /import/openml``); needs an admin key. Idempotent: runs imported before are
        listed under ``already``, never added twice.

        Args:
            tasks: OpenML task ids.
            study: an OpenML study (its runs) or benchmark suite (the runs of its tasks) id.
            max_runs: the most runs listed per task (or per study).
            download_data: download each dataset's table and compute its meta-features
                (``False``: meta-features mapped from OpenML's data qualities).
            unknown_flows: ``keep`` a run whose flow matches no family (family
                ``openml:<flow>``) or ``skip`` it.
            timeout: seconds to wait for the answer (a large import takes a while).

        Returns:
            ``{"tasks", "added", "already", "skipped": [{"run_id", "reason"}], "datasets",
            "families"}`` (OpenML run ids).

        Raises:
            InvalidData: no tasks and no study, or a bad id or option.
            NotFound: OpenML has no such task or study.
            UpstreamError: OpenML could not be reached or refused (HTTP 502).
            MetaKGError: HTTP 403 when this client's key is not an admin's.
        """
        body = {"tasks": list(tasks or []), "study": study, "max_runs": max_runs,
                "download_data": download_data, "unknown_flows": unknown_flows}
        return self._check(self._http.post("/import/openml", json=body, timeout=timeout))


def evaluate_and_log(client: Client, estimator: Any, df: pd.DataFrame, *, target: str,
                     dataset: str, task_type: str, config: dict[str, Any], folds: int = 5,
                     seed: int = 0, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """Cross-validate any scikit-learn estimator on a table and log the run in one call.

    The folds follow metakg's protocol (stratified for classification, seeded); the primary
    metric and its companions are logged per fold.
    """
    from sklearn.base import clone

    from metakg.kg.measures import primary_metric
    from metakg.runner.protocol import TaskSpec, fold_indices, prepare_data, score

    spec = TaskSpec("", "", target, task_type, folds, seed)
    X, y = prepare_data(df, spec)
    per_fold: dict[str, list[float]] = {}
    for train, test in fold_indices(y, spec):
        est = clone(estimator).fit(X.iloc[train], y.iloc[train])
        if task_type == "classification":
            proba = est.predict_proba(X.iloc[test])
            classes = est.classes_
            s = score(task_type, y.iloc[test], classes[proba.argmax(1)], proba, classes)
        else:
            s = score(task_type, y.iloc[test], est.predict(X.iloc[test]), None, None)
        for k, v in s.items():
            per_fold.setdefault(k, []).append(v)
    if task_type == "classification":
        n = int(y.nunique())
        metric = primary_metric(task_type, n)
        per_fold = {k: v for k, v in per_fold.items() if k in ("accuracy", "log_loss", metric)}
    return client.log_run(dataset=dataset, target=target, task_type=task_type, folds=folds,
                          config=config, fold_scores=per_fold, tags=tags or {}, source="client")
