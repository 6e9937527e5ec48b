"""Search spaces of the model families, declared once, and reproducible portfolios."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metakg.kg.errors import ConfigurationError

__all__ = ["FAMILIES", "Param", "Space", "default_configuration", "portfolio",
           "sample_configuration", "validate_configuration"]


@dataclass(frozen=True)
class Param:
    """One hyperparameter: a numeric range (``low``/``high``, optionally log scale and
    integer) or a list of ``choices``; ``condition`` names another parameter and the values
    for which this one is active."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None
    default: Any = None
    condition: tuple[str, tuple[Any, ...]] | None = None

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw a value."""
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        assert self.low is not None and self.high is not None
        if self.log:
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            x = rng.uniform(self.low, self.high)
        return round(x) if self.integer else float(f"{x:.4g}")

    def check(self, value: Any) -> str | None:
        """Return a problem with ``value`` or ``None``."""
        if self.choices is not None:
            return None if value in self.choices else f"must be one of {list(self.choices)}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if self.integer and not float(value).is_integer():
            return "must be an integer"
        assert self.low is not None and self.high is not None
        if not self.low <= value <= self.high:
            return f"must be in [{self.low:g}, {self.high:g}]"
        return None


@dataclass(frozen=True)
class Space:
    """A model family's search space."""

    family: str
    params: tuple[Param, ...]
    tasks: tuple[str, ...] = ("classification", "regression")
    gpu: bool = False
    notes: str = ""
    by_name: dict[str, Param] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_name.update({p.name: p for p in self.params})

    def default(self) -> dict[str, Any]:
        """The family's default configuration."""
        return {"family": self.family,
                "params": {p.name: p.default for p in self.params if p.default is not None}}

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """A random configuration (conditions respected)."""
        values: dict[str, Any] = {}
        for p in self.params:
            if p.condition and values.get(p.condition[0]) not in p.condition[1]:
                continue
            values[p.name] = p.sample(rng)
        return {"family": self.family, "params": values}


def _p(name: str, low: float, high: float, default: Any, *, log: bool = False,
       integer: bool = False) -> Param:
    return Param(name, low, high, log=log, integer=integer, default=default)


def _c(name: str, choices: tuple[Any, ...], default: Any,
       condition: tuple[str, tuple[Any, ...]] | None = None) -> Param:
    return Param(name, choices=choices, default=default, condition=condition)


_LR = _p("learning_rate", 0.01, 0.3, 0.1, log=True)
FAMILIES: dict[str, Space] = {s.family: s for s in (
    Space("hist_gradient_boosting", (
        _LR, _p("max_iter", 50, 500, 100, integer=True, log=True),
        _p("max_leaf_nodes", 8, 128, 31, integer=True, log=True),
        _p("min_samples_leaf", 2, 100, 20, integer=True, log=True),
        _p("l2_regularization", 1e-6, 10.0, 1e-6, log=True),
        _p("max_features", 0.3, 1.0, 1.0))),
    Space("lightgbm", (
        _LR, _p("n_estimators", 50, 500, 100, integer=True, log=True),
        _p("num_leaves", 8, 256, 31, integer=True, log=True),
        _p("min_child_samples", 2, 100, 20, integer=True, log=True),
        _p("subsample", 0.5, 1.0, 1.0), _p("colsample_bytree", 0.3, 1.0, 1.0),
        _p("reg_lambda", 1e-6, 10.0, 1e-6, log=True)), gpu=False),
    Space("xgboost", (
        _p("learning_rate", 0.01, 0.3, 0.3, log=True),
        _p("n_estimators", 50, 500, 100, integer=True, log=True),
        _p("max_depth", 2, 10, 6, integer=True),
        _p("min_child_weight", 0.5, 20.0, 1.0, log=True),
        _p("subsample", 0.5, 1.0, 1.0), _p("colsample_bytree", 0.3, 1.0, 1.0),
        _p("reg_lambda", 1e-3, 10.0, 1.0, log=True)), gpu=True),
    Space("catboost", (
        _p("learning_rate", 0.02, 0.3, 0.1, log=True),
        _p("iterations", 50, 300, 200, integer=True, log=True),
        _p("depth", 3, 8, 6, integer=True),
        _p("l2_leaf_reg", 1.0, 10.0, 3.0, log=True)), gpu=True),
    Space("random_forest", (
        _p("n_estimators", 50, 300, 100, integer=True, log=True),
        _p("max_features", 0.05, 1.0, 0.5),
        _p("min_samples_leaf", 1, 20, 1, integer=True, log=True),
        _c("bootstrap", (True, False), True))),
    Space("extra_trees", (
        _p("n_estimators", 50, 300, 100, integer=True, log=True),
        _p("max_features", 0.05, 1.0, 0.5),
        _p("min_samples_leaf", 1, 20, 1, integer=True, log=True),
        _c("bootstrap", (True, False), False))),
    Space("linear", (
        _p("C", 1e-4, 1e3, 1.0, log=True),
        _p("l1_ratio", 0.0, 1.0, 0.0),
        _c("scaler", ("standard", "quantile"), "standard")),
        notes="logistic regression (classification), elastic net / ridge (regression)"),
    Space("knn", (
        _p("n_neighbors", 1, 50, 5, integer=True, log=True),
        _c("weights", ("uniform", "distance"), "uniform"),
        _c("p", (1, 2), 2))),
    Space("svm", (
        _p("C", 1e-3, 1e3, 1.0, log=True),
        _p("gamma", 1e-4, 1.0, 0.1, log=True),
        _p("n_components", 100, 500, 300, integer=True, log=True)),
        notes="RBF kernel approximated with Nystroem + a linear model"),
    Space("mlp", (
        _p("layers", 1, 3, 2, integer=True),
        _p("width", 32, 512, 128, integer=True, log=True),
        _p("dropout", 0.0, 0.5, 0.1),
        _p("learning_rate", 1e-4, 1e-2, 1e-3, log=True),
        _p("weight_decay", 1e-6, 1e-2, 1e-5, log=True),
        _p("epochs", 10, 60, 30, integer=True),
        _p("batch_size", 64, 512, 128, integer=True, log=True)), gpu=True,
        notes="PyTorch multi-layer perceptron"),
)}


def default_configuration(family: str) -> dict[str, Any]:
    """The default configuration of a family.

    Raises:
        ConfigurationError: unknown family.
    """
    return _space(family).default()


def sample_configuration(family: str, seed: int) -> dict[str, Any]:
    """A reproducible random configuration of a family."""
    return _space(family).sample(np.random.default_rng(seed))


def _space(family: str) -> Space:
    try:
        return FAMILIES[family]
    except KeyError:
        raise ConfigurationError(
            f"Unknown family {family!r}; known families: {', '.join(FAMILIES)}.") from None


def validate_configuration(config: dict[str, Any]) -> dict[str, Any]:
    """Check a configuration against its family's space; return it.

    Raises:
        ConfigurationError: unknown family, unknown parameter or value out of range (every
            problem listed).
    """
    if not isinstance(config, dict) or "family" not in config:
        raise ConfigurationError("A configuration is a JSON object with 'family' and 'params'.")
    space = _space(config["family"])
    params = config.get("params", {})
    if not isinstance(params, dict):
        raise ConfigurationError("'params' must be a JSON object.")
    problems = []
    for name, value in params.items():
        p = space.by_name.get(name)
        if p is None:
            problems.append(f"unknown parameter {name!r} (known: {', '.join(space.by_name)})")
        elif (msg := p.check(value)) is not None:
            problems.append(f"{name}={value!r} {msg}")
    if problems:
        raise ConfigurationError(f"Configuration of {space.family}: " + "; ".join(problems))
    return config


def portfolio(size: int, *, seed: int = 0, families: list[str] | None = None) -> list[dict[str, Any]]:
    """A portfolio: every family's default first, then samples round-robin over families.

    The same ``size`` and ``seed`` always give the same list of distinct configurations, and
    a larger ``size`` extends a smaller one (so a seed graph can grow).
    """
    import json

    fams = families or list(FAMILIES)
    out = [default_configuration(f) for f in fams][:size]
    seen = {json.dumps(c, sort_keys=True) for c in out}
    i = 0
    while len(out) < size:
        fam = fams[i % len(fams)]
        cfg = sample_configuration(fam, seed * 1_000_003 + i)
        key = json.dumps(cfg, sort_keys=True)
        if key not in seen:  # small spaces (kNN) repeat themselves: keep configurations distinct
            seen.add(key)
            out.append(cfg)
        i += 1
    return out
