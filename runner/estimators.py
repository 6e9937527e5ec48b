"""``build_estimator(config)``: any configuration → an unfitted scikit-learn estimator.

The estimator accepts a raw pandas DataFrame (numeric, categorical/string, missing values)
and the target as given (strings, integers, booleans for classification; numbers for
regression).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.kernel_approximation import Nystroem
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder

from metakg.kg.spaces import validate_configuration
from metakg.kg.tables import infer_task_type
from metakg.runner.devices import check_device, resolve_device
from metakg.runner.preprocessing import make_preprocessor

__all__ = ["AutoTaskEstimator", "EncodedTargetClassifier", "build_estimator", "uses_gpu"]

_TREE = {"hist_gradient_boosting", "lightgbm", "xgboost", "catboost", "random_forest",
         "extra_trees"}


class _RowCappedNystroem(Nystroem):
    """Nystroem that takes every row as a component on a table of fewer rows than
    ``n_components``, as scikit-learn does, without its warning on every fold (it is what the
    svm family wants on a small table). The cap is set for the fit only: no process-wide
    warning filter is touched, so fits in threads do not disturb each other's."""

    def fit(self, X: Any, y: Any = None) -> _RowCappedNystroem:
        wanted = self.n_components
        self.n_components = min(wanted, X.shape[0])
        try:
            return super().fit(X, y)
        finally:
            self.n_components = wanted


def uses_gpu(config: dict[str, Any]) -> bool:
    """Whether a configuration's family can use a GPU.

    Args:
        config: the configuration (its ``family`` key is read; a missing one means no GPU).

    Returns:
        True for the xgboost, catboost and mlp families; False otherwise.
    """
    return config.get("family") in ("xgboost", "catboost", "mlp")


def _model(family: str, p: dict[str, Any], task: str, device: str, seed: int) -> Any:
    """The family's model; a booster with ``early_stopping_rounds`` is wrapped in
    :class:`~runner.early_stopping.EarlyStopped` (its ``validation_fraction``, default 0.2)."""
    rounds = p.pop("early_stopping_rounds", None)
    fraction = p.pop("validation_fraction", 0.2) if family != "hist_gradient_boosting" else None
    model = _library_model(family, p, task, device, seed)
    if rounds is None:
        return model
    from metakg.runner.early_stopping import EarlyStopped

    return EarlyStopped(model, rounds=int(rounds), validation_fraction=float(fraction or 0.2),
                        classification=task == "classification", random_state=seed)


def _library_model(family: str, p: dict[str, Any], task: str, device: str, seed: int) -> Any:
    clf = task == "classification"
    if family == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor
        return cls(random_state=seed, **{"early_stopping": "auto", **p})
    if family == "lightgbm":
        import lightgbm as lgb

        cls = lgb.LGBMClassifier if clf else lgb.LGBMRegressor
        extra = {"subsample_freq": 1} if p.get("subsample", 1.0) < 1.0 else {}
        return cls(random_state=seed, n_jobs=1, verbose=-1, **{**extra, **p})
    if family == "xgboost":
        import xgboost as xgb

        cls = xgb.XGBClassifier if clf else xgb.XGBRegressor
        return cls(random_state=seed, n_jobs=1, tree_method="hist",
                   device="cuda" if device.startswith("cuda") else "cpu", **p)
    if family == "catboost":
        import catboost as cb

        cls = cb.CatBoostClassifier if clf else cb.CatBoostRegressor
        gpu = {"task_type": "GPU"} if device.startswith("cuda") else {"thread_count": 1}
        return cls(random_seed=seed, verbose=False, allow_writing_files=False, **gpu, **p)
    if family in ("random_forest", "extra_trees"):
        from sklearn import ensemble

        name = ("RandomForest" if family == "random_forest" else "ExtraTrees") + (
            "Classifier" if clf else "Regressor")
        return getattr(ensemble, name)(random_state=seed, n_jobs=1, **p)
    if family == "linear":
        from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge

        C, l1 = p.get("C", 1.0), p.get("l1_ratio", 0.0)
        if clf:
            if l1 > 0:
                return LogisticRegression(C=C, l1_ratio=l1, solver="saga", max_iter=300)
            return LogisticRegression(C=C, max_iter=500)
        return ElasticNet(alpha=1.0 / C, l1_ratio=l1, max_iter=2000) if l1 > 0 else Ridge(
            alpha=1.0 / C)
    if family == "knn":
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsClassifier if clf else KNeighborsRegressor
        return cls(n_jobs=1, **p)
    if family == "svm":
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline

        head = LogisticRegression(C=p.get("C", 1.0), max_iter=500) if clf else Ridge(
            alpha=1.0 / p.get("C", 1.0))
        return make_pipeline(_RowCappedNystroem(gamma=p.get("gamma", 0.1),
                                      n_components=int(p.get("n_components", 300)),
                                      random_state=seed), head)
    if family == "mlp":
        from metakg.runner.mlp import TorchMLPClassifier, TorchMLPRegressor

        cls = TorchMLPClassifier if clf else TorchMLPRegressor
        return cls(device=device, random_state=seed, **p)
    raise AssertionError(family)  # validate_configuration rejects unknown families


def _pipeline(config: dict[str, Any], task: str, device: str, seed: int) -> Pipeline:
    family = config["family"]
    params = dict(config.get("params", {}))
    scaler = params.pop("scaler", "standard") if family == "linear" else "standard"
    kind = "tree" if family in _TREE else "dense"
    return Pipeline([("prep", make_preprocessor(kind, scaler=scaler)),
                     ("model", _model(family, params, task, device, seed))])


class _ConfiguredEstimator(BaseEstimator):
    """Stores the configuration, device and seed (scikit-learn: no work in ``__init__``)."""

    def __init__(self, config: dict[str, Any], *, device: str = "auto", random_state: int = 0) -> None:
        self.config = config
        self.device = device
        self.random_state = random_state


class EncodedTargetClassifier(ClassifierMixin, _ConfiguredEstimator):
    """Classifier pipeline that label-encodes the target, so any label type works.

    Args:
        config: the configuration.
        device: ``auto``, ``cpu`` or ``cuda``.
        random_state: seed of the model.
    """


    def fit(self, X: pd.DataFrame, y: Any) -> EncodedTargetClassifier:
        validate_configuration(self.config)
        self.device_ = resolve_device(self.device)
        self.encoder_ = LabelEncoder()
        y_enc = self.encoder_.fit_transform(np.asarray(pd.Series(y).astype(str)
                                                       if _mixed(y) else y))
        self.classes_ = self.encoder_.classes_
        self.pipeline_ = _pipeline(self.config, "classification", self.device_, self.random_state)
        self.pipeline_.fit(X, y_enc)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = np.asarray(self.pipeline_.predict_proba(X), dtype=float)
        fitted = getattr(self.pipeline_[-1], "classes_", np.arange(proba.shape[1]))
        if len(fitted) == len(self.classes_):
            return proba
        full = np.zeros((proba.shape[0], len(self.classes_)))
        full[:, np.asarray(fitted, dtype=int)] = proba
        return full

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class _Regressor(RegressorMixin, _ConfiguredEstimator):
    """Regression pipeline on a float target."""


    def fit(self, X: pd.DataFrame, y: Any) -> _Regressor:
        validate_configuration(self.config)
        self.device_ = resolve_device(self.device)
        self.pipeline_ = _pipeline(self.config, "regression", self.device_, self.random_state)
        self.pipeline_.fit(X, np.asarray(y, dtype=float))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline_.predict(X), dtype=float)


class AutoTaskEstimator(_ConfiguredEstimator):
    """Decides classification or regression from the target at ``fit``."""


    def fit(self, X: pd.DataFrame, y: Any) -> AutoTaskEstimator:
        self.task_ = infer_task_type(pd.Series(y))
        cls = EncodedTargetClassifier if self.task_ == "classification" else _Regressor
        self.estimator_ = cls(self.config, device=self.device, random_state=self.random_state)
        self.estimator_.fit(X, y)
        if self.task_ == "classification":
            self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.task_ != "classification":
            raise AttributeError("predict_proba is only available for classification.")
        return self.estimator_.predict_proba(X)


def _mixed(y: Any) -> bool:
    s = pd.Series(y)
    return s.dtype == object and s.map(type).nunique() > 1


def build_estimator(
    config: dict[str, Any], *, task: str | None = None, device: str = "auto", random_state: int = 0
) -> BaseEstimator:
    """Turn a configuration into an unfitted scikit-learn estimator.

    Args:
        config: ``{"family": ..., "params": {...}}`` as recommended or sampled; an optional
            ``"task"`` key fixes the task type.
        task: ``classification`` or ``regression``; inferred from the target at ``fit`` when
            neither this nor the configuration says.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        random_state: seed.

    Returns:
        An estimator with ``fit(X, y)`` on a raw DataFrame, ``predict`` and (classification)
        ``predict_proba``.

    Raises:
        TypeError: ``config`` is not a dict.
        ConfigurationError: unknown family or parameter, or a value out of range.
        ValueError: an unknown device.
    """
    if not isinstance(config, dict):
        raise TypeError(f"config must be a {{'family', 'params'}} dict (a recommendation's "
                        f".config, or default_configuration(family)), not {config!r:.60}.")
    check_device(device)
    validate_configuration({k: v for k, v in config.items() if k != "task"})
    task = task or config.get("task")
    config = {k: v for k, v in config.items() if k != "task"}
    if task == "classification":
        return EncodedTargetClassifier(config, device=device, random_state=random_state)
    if task == "regression":
        return _Regressor(config, device=device, random_state=random_state)
    if task is None:
        return AutoTaskEstimator(config, device=device, random_state=random_state)
    from metakg.kg.errors import ConfigurationError

    raise ConfigurationError(f"task must be 'classification' or 'regression', not {task!r}.")

