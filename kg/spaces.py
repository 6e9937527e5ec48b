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
    for which this one is active.

    ``low``/``high`` is the search range: portfolios draw from it and tuners search it.
    ``valid`` widens what a configuration may hold (a published configuration or a library
    default outside the search range, e.g. CatBoost's 1,000 iterations). A parameter with
    ``sampled=False`` is never drawn: it exists so that such configurations can be written
    down, and leaving it out of the draws keeps every portfolio drawn before it the same.
    """

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None
    default: Any = None
    condition: tuple[str, tuple[Any, ...]] | None = None
    valid: tuple[float, float] | None = None
    sampled: bool = True

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
        low, high = self.valid or (self.low, self.high)
        if not low <= value <= high:
            return f"must be in [{low:g}, {high:g}]"
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
            if not p.sampled:
                continue
            if p.condition and values.get(p.condition[0]) not in p.condition[1]:
                continue
            values[p.name] = p.sample(rng)
        return {"family": self.family, "params": values}


def _p(name: str, low: float, high: float, default: Any, *, log: bool = False,
       integer: bool = False, valid: tuple[float, float] | None = None) -> Param:
    return Param(name, low, high, log=log, integer=integer, default=default, valid=valid)


def _c(name: str, choices: tuple[Any, ...], default: Any,
       condition: tuple[str, tuple[Any, ...]] | None = None) -> Param:
    return Param(name, choices=choices, default=default, condition=condition)


def _fixed(name: str, low: float, high: float, *, log: bool = False,
           integer: bool = False) -> Param:
    """A parameter that configurations may set and portfolios never draw (no default: the
    library's own applies when it is left out)."""
    return Param(name, low, high, log=log, integer=integer, sampled=False)


def _fixed_choice(name: str, choices: tuple[Any, ...]) -> Param:
    return Param(name, choices=choices, sampled=False)


#: Early stopping on an inner validation split (``runner.early_stopping``): the number of
#: rounds without improvement after which boosting stops; the tree count is then a cap.
_ROUNDS = _fixed("early_stopping_rounds", 1, 1000, integer=True)
_VALIDATION = _fixed("validation_fraction", 0.05, 0.5)
_MANY = (1, 100_000)  # tree counts a configuration may hold (early stopping makes them caps)
_ANY_LR = (1e-4, 1.0)
_REG = (0.0, 1e4)
#: scikit-learn's split criteria (classification: gini, entropy, log_loss; regression: the rest)
_CRITERION = _fixed_choice("criterion", ("gini", "entropy", "log_loss", "squared_error",
                                         "absolute_error", "friedman_mse", "poisson"))


_LR = _p("learning_rate", 0.01, 0.3, 0.1, log=True, valid=_ANY_LR)
_FRACTION = (0.01, 1.0)
FAMILIES: dict[str, Space] = {s.family: s for s in (
    Space("hist_gradient_boosting", (
        _LR, _p("max_iter", 50, 500, 100, integer=True, log=True, valid=_MANY),
        _p("max_leaf_nodes", 8, 128, 31, integer=True, log=True, valid=(2, 65_536)),
        _p("min_samples_leaf", 2, 100, 20, integer=True, log=True, valid=(1, 10_000)),
        _p("l2_regularization", 1e-6, 10.0, 1e-6, log=True, valid=_REG),
        _p("max_features", 0.3, 1.0, 1.0, valid=_FRACTION),
        _fixed("max_depth", 1, 64, integer=True),
        _fixed_choice("early_stopping", ("auto", True, False)),
        _fixed("n_iter_no_change", 1, 1000, integer=True), _VALIDATION)),
    Space("lightgbm", (
        _LR, _p("n_estimators", 50, 500, 100, integer=True, log=True, valid=_MANY),
        _p("num_leaves", 8, 256, 31, integer=True, log=True, valid=(2, 131_072)),
        _p("min_child_samples", 2, 100, 20, integer=True, log=True, valid=(1, 10_000)),
        _p("subsample", 0.5, 1.0, 1.0, valid=_FRACTION),
        _p("colsample_bytree", 0.3, 1.0, 1.0, valid=_FRACTION),
        _p("reg_lambda", 1e-6, 10.0, 1e-6, log=True, valid=_REG),
        _fixed("reg_alpha", 0.0, 1e4, log=True), _fixed("max_bin", 3, 1023, integer=True),
        _fixed("max_depth", -1, 64, integer=True),
        _fixed("min_child_weight", 0.0, 1e3, log=True),
        _fixed("subsample_freq", 0, 100, integer=True), _fixed_choice("extra_trees", (True, False)),
        _ROUNDS, _VALIDATION), gpu=False),
    Space("xgboost", (
        _p("learning_rate", 0.01, 0.3, 0.3, log=True, valid=_ANY_LR),
        _p("n_estimators", 50, 500, 100, integer=True, log=True, valid=_MANY),
        _p("max_depth", 2, 10, 6, integer=True, valid=(0, 64)),
        _p("min_child_weight", 0.5, 20.0, 1.0, log=True, valid=(0.0, 1e4)),
        _p("subsample", 0.5, 1.0, 1.0, valid=_FRACTION),
        _p("colsample_bytree", 0.3, 1.0, 1.0, valid=_FRACTION),
        _p("reg_lambda", 1e-3, 10.0, 1.0, log=True, valid=_REG),
        _fixed("reg_alpha", 0.0, 1e4, log=True), _fixed("colsample_bylevel", 0.01, 1.0),
        _fixed("max_leaves", 0, 131_072, integer=True),
        _fixed_choice("grow_policy", ("depthwise", "lossguide")),
        _fixed("max_bin", 3, 1023, integer=True), _fixed("gamma", 0.0, 1e3, log=True),
        _ROUNDS, _VALIDATION), gpu=True),
    Space("catboost", (
        _p("learning_rate", 0.02, 0.3, 0.1, log=True, valid=_ANY_LR),
        _p("iterations", 50, 300, 200, integer=True, log=True, valid=_MANY),
        _p("depth", 3, 8, 6, integer=True, valid=(1, 16)),
        _p("l2_leaf_reg", 1.0, 10.0, 3.0, log=True, valid=(0.0, 1e4)),
        _fixed("border_count", 1, 1024, integer=True),
        _fixed("random_strength", 0.0, 100.0), _fixed("bagging_temperature", 0.0, 100.0),
        _fixed("one_hot_max_size", 0, 255, integer=True),
        _fixed("max_ctr_complexity", 1, 8, integer=True),
        _fixed_choice("grow_policy", ("SymmetricTree", "Depthwise", "Lossguide")),
        _fixed("leaf_estimation_iterations", 1, 100, integer=True),
        _fixed_choice("boosting_type", ("Plain", "Ordered")),
        _fixed_choice("bootstrap_type", ("Bayesian", "Bernoulli", "MVS", "No")),
        _fixed("subsample", 0.05, 1.0), _ROUNDS, _VALIDATION),
        gpu=True),
    Space("random_forest", (
        _p("n_estimators", 50, 300, 100, integer=True, log=True, valid=(1, 5000)),
        _p("max_features", 0.05, 1.0, 0.5, valid=(0.001, 1.0)),
        _p("min_samples_leaf", 1, 20, 1, integer=True, log=True, valid=(1, 10_000)),
        _c("bootstrap", (True, False), True),
        _fixed("max_leaf_nodes", 2, 1_000_000, integer=True),
        _fixed("max_depth", 1, 1000, integer=True), _CRITERION)),
    Space("extra_trees", (
        _p("n_estimators", 50, 300, 100, integer=True, log=True, valid=(1, 5000)),
        _p("max_features", 0.05, 1.0, 0.5, valid=(0.001, 1.0)),
        _p("min_samples_leaf", 1, 20, 1, integer=True, log=True, valid=(1, 10_000)),
        _c("bootstrap", (True, False), False),
        _fixed("max_leaf_nodes", 2, 1_000_000, integer=True),
        _fixed("max_depth", 1, 1000, integer=True), _CRITERION)),
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
    """A reproducible random configuration of a family.

    Args:
        family: the model family (a key of :data:`FAMILIES`).
        seed: the random seed; the same family and seed always give the same configuration.

    Returns:
        The configuration, ``{"family": ..., "params": {...}}``, its parameters drawn from the
        family's search ranges (conditions respected).

    Raises:
        ConfigurationError: unknown family.
    """
    return _space(family).sample(np.random.default_rng(seed))


def _space(family: str) -> Space:
    try:
        return FAMILIES[family]
    except KeyError:
        raise ConfigurationError(
            f"Unknown family {family!r}; known families: {', '.join(FAMILIES)}. (A family "
            "a team logs runs of, outside these, is stored and recommended, but metakg cannot "
            "build, run or search it.)") from None


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

    Args:
        size: how many configurations.
        seed: the random seed of the samples.
        families: only these families, in this order (default: every family of
            :data:`FAMILIES`).

    Returns:
        ``size`` distinct configurations, each ``{"family": ..., "params": {...}}``.

    Raises:
        ConfigurationError: an unknown family in ``families``.
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
