"""metakg's search space of a family, and a configuration onto any search space: strictly
(an error naming what cannot be held) or leniently (dropped and clipped, with a warning)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from metakg.kg.errors import MetaKGError

SET_SUFFIX = "__set"
#: Relative slack when checking a value against a range read back from a tool (``exp(log(8))``).
_SLACK = 1e-9


class WarmStartError(MetaKGError, ValueError):
    """A recommended configuration cannot be handed to a tuner as it is (or, for Optuna's
    ``add_trials``, has no measured score)."""


@dataclass(frozen=True)
class Dim:
    """One searched parameter of a :class:`TunerSpace`.

    ``kind`` is ``float``, ``int`` or ``choice``; ``optional`` adds the companion choice
    ``name + SET_SUFFIX`` (``False``: the configuration leaves the parameter unset).
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    init: Any = None

    @property
    def flag(self) -> str:
        """Name of the companion ``set`` choice."""
        return self.name + SET_SUFFIX

    def cast(self, value: Any) -> Any:
        """A tool's value (NumPy scalar, float for an integer, string for a choice) → ours."""
        if self.kind == "choice":
            assert self.choices is not None
            return _choice_value(self.choices, value)
        assert self.low is not None and self.high is not None
        if self.kind == "int":  # clamped: some tools treat the upper bound as exclusive
            return int(min(max(round(float(value)), self.low), self.high))
        return float(value)


def _choice_value(choices: tuple[Any, ...], value: Any) -> Any:
    """The listed choice equal to ``value`` (same kind: ``True`` is not ``1``), else the one
    whose string is ``value`` (Syne Tune holds mixed-type choices as strings)."""
    if hasattr(value, "item"):  # NumPy scalar
        value = value.item()
    for c in choices:
        if type(c) is type(value) and c == value:
            return c
    for c in choices:
        if isinstance(value, str) and str(c) == value:
            return c
    for c in choices:
        if c == value and isinstance(c, bool) == isinstance(value, bool):
            return c
    raise WarmStartError(f"{value!r} is not one of {list(choices)}")


@dataclass(frozen=True)
class TunerSpace:
    """A family's search space in a tool-neutral form (see :func:`family_space`)."""

    family: str
    dims: tuple[Dim, ...]

    @property
    def names(self) -> list[str]:
        """Every name a tool sees: the parameters and the ``__set`` flags."""
        out = []
        for d in self.dims:
            out.append(d.name)
            if d.optional:
                out.append(d.flag)
        return out

    @property
    def required(self) -> frozenset[str]:
        """Parameters every configuration of this space sets (those without a flag)."""
        return frozenset(d.name for d in self.dims if not d.optional)

    def bounds(self) -> dict[str, Bound]:
        """The space as :class:`Bound`s (flags included)."""
        out: dict[str, Bound] = {}
        for d in self.dims:
            if d.kind == "choice":
                out[d.name] = Bound(choices=d.choices)
            else:
                out[d.name] = Bound(d.low, d.high, integer=d.kind == "int")
            if d.optional:
                out[d.flag] = Bound(choices=(False, True))
        return out

    def point(self, config: Mapping[str, Any], *, fill: bool = True) -> dict[str, Any]:
        """A configuration of this family → the tool's flat parameter dict.

        Args:
            config: ``{"family", "params"}``.
            fill: give unset optional parameters a (never used) value, for tools that need
                every name; ``False`` leaves them out (Optuna, SMAC).

        Raises:
            WarmStartError: another family, or a parameter or value this space cannot hold.
        """
        if config.get("family") != self.family:
            raise WarmStartError(f"a {config.get('family')} configuration does not fit the "
                                 f"{self.family} space")
        points, problems = _encode([dict(config)], self.bounds(), self.family, True, self.required)
        if problems:
            raise WarmStartError(_problem_text(problems, self.family, "this space"))
        out = points[0][0]
        if fill:
            for d in self.dims:
                out.setdefault(d.name, d.init)
        return out

    def config(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """What a tool evaluates → ``{"family", "params"}`` for ``build_estimator``; names
        that are not this space's (``n_jobs``, a tool's own keys) are ignored, with a warning
        for one that looks like a misspelt parameter (``num_leave``), which would otherwise
        be evaluated at its default without a word.

        Args:
            point: the tool's parameter dict (values as the tool gives them).

        Returns:
            The configuration; an optional parameter whose flag is ``False`` is left out.
        """
        _warn_misspelt(point, self.names, self.family)
        params: dict[str, Any] = {}
        for d in self.dims:
            if d.optional and not _choice_value((False, True), point.get(d.flag, False)):
                continue
            if d.name in point:
                params[d.name] = d.cast(point[d.name])
        return {"family": self.family, "params": params}


def _warn_misspelt(point: Mapping[str, Any], names: list[str], family: str) -> None:
    """Warn (once per call site and names) about names of ``point`` close to a space name."""
    import difflib

    known = set(names)
    close = {k: m[0] for k in point if isinstance(k, str) and k not in known
             and (m := difflib.get_close_matches(k, names, n=1, cutoff=0.9))}
    if close:
        said = ", ".join(f"{k!r} (did you mean {v!r}?)" for k, v in sorted(close.items()))
        warnings.warn(f"{said}: not a parameter of the {family} space, left out of the "
                      "configuration (it runs at its default).", UserWarning, stacklevel=3)


def family_space(family: str, recs: Any = ()) -> TunerSpace:
    """metakg's search space of a family, widened to hold every recommended configuration.

    Each parameter's range is the family's search range (``Param.low``/``high``, log scale,
    integer, choices) stretched to the recommended values; a log-scaled parameter with a
    recommended 0 is searched on a linear scale (a log scale cannot hold 0). A ``sampled=False``
    parameter is in the space only when some recommendation sets it. A parameter is optional
    (companion ``<name>__set`` choice) when it is ``sampled=False`` or some recommendation
    leaves it unset.

    Args:
        family: a family of :data:`metakg.kg.spaces.FAMILIES`.
        recs: recommendations to cover (a RecommendationSet, Recommendations, configuration
            dicts, ``{"config": ...}`` dicts or ``(config, score)`` pairs); those of other
            families are ignored.

    Returns:
        The :class:`TunerSpace`.

    Raises:
        ConfigurationError: unknown family, or a recommended configuration that is not valid.
    """
    from metakg.kg.spaces import _space, validate_configuration

    space = _space(family)
    configs = [c for c, _, _ in _items(recs) if c.get("family") == family]
    for c in configs:
        validate_configuration(c)
    dims = []
    for p in space.params:
        values = [c["params"][p.name] for c in configs if p.name in c.get("params", {})]
        if not p.sampled and not values:
            continue  # never drawn and never recommended: the library's default applies
        optional = not p.sampled or p.condition is not None or len(values) < len(configs)
        init = values[0] if values else p.default
        if p.choices is not None:
            dims.append(Dim(p.name, "choice", choices=tuple(p.choices), optional=optional,
                            init=p.choices[0] if init is None else init))
            continue
        assert p.low is not None and p.high is not None
        low, high = min([p.low, *values]), max([p.high, *values])
        log = p.log
        if log and low <= 0:
            positive = [v for v in values if v > 0]
            if any(v <= 0 for v in values) or not positive:
                log = False  # a log scale cannot hold 0
            else:  # a declared range from 0 on a log scale: start at the smallest value
                low = min([*positive, p.high * 1e-6])
        if p.integer:
            low, high = int(low), int(high)
        else:
            low, high = float(low), float(high)
        if init is None:
            init = low if log or low > 0 or high <= 0 else 0
        dims.append(Dim(p.name, "int" if p.integer else "float", low, high, log=log,
                        optional=optional, init=init))
    return TunerSpace(family, tuple(dims))


@dataclass(frozen=True)
class Bound:
    """What a tool accepts for one parameter: a numeric range or a list of choices."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    choices: tuple[Any, ...] | None = None


def require_space(space: Any, caller: str) -> TunerSpace:
    """``space`` if it is metakg's space of a family.

    Args:
        space: what the caller was given as a space.
        caller: the public function's name, for the message.

    Returns:
        ``space``.

    Raises:
        TypeError: anything else, with where a space comes from.
    """
    if not isinstance(space, TunerSpace):
        raise TypeError(f"{caller}(space): expected metakg's space of a family, "
                        f"family_space(family, recs), not {type(space).__name__}.")
    return space


def _listed(recs: Any) -> Any:
    """The recommendations of a RecommendationSet or of its JSON (``to_json()``, ``--json``)."""
    if isinstance(recs, Mapping) and "recommendations" in recs:
        return recs["recommendations"]
    return getattr(recs, "recommendations", recs)


def _items(recs: Any) -> list[tuple[dict[str, Any], float | None, dict[str, Any]]]:
    """(config, expected score, extra user attrs) from any accepted form of recommendations."""
    if isinstance(recs, TunerSpace):
        raise TypeError("Recommendations expected where a space was given: are the arguments "
                        "swapped? The recommendations come first, then the space.")
    items = _listed(recs)
    if isinstance(items, Mapping) and "family" in items:
        items = [items]
    out = []
    for i, r in enumerate(items):
        if isinstance(r, tuple) and r and isinstance(r[0], Mapping):
            out.append((r[0], None, {}))
        elif isinstance(r, Mapping) and isinstance(r.get("config", r), Mapping):
            config = r.get("config", r)
            attrs = {"metakg_config_id": r["config_id"]} if r.get("config_id") else {}
            out.append((config, r.get("expected_score"), attrs))
        elif hasattr(r, "config") and hasattr(r, "config_id"):
            out.append((r.config, getattr(r, "expected_score", None),
                        {"metakg_config_id": r.config_id}))
        else:
            raise TypeError(f"Recommendation {i + 1} is a {type(r).__name__}, not a "
                            "Recommendation, a {'family', 'params'} dict or a (config, score) "
                            "pair; pass recommend(...).recommendations.")
    return out


def _in(value: float, low: float | None, high: float | None) -> bool:
    tol = _SLACK * max(1.0, abs(value))
    return (low is None or value >= low - tol) and (high is None or value <= high + tol)


def _check_families(configs: list[dict[str, Any]], family: str | None,
                    noun: str = "recommendations", stacklevel: int = 5) -> None:
    """Say when configurations of other families are left out: all of them is an error (the
    tool would start from nothing), some of them a warning. ``noun`` names them as the caller
    does (``recommendations``, ``runs``); ``stacklevel`` points the warning at the user's call.

    Raises:
        WarmStartError: none of ``configs`` is of ``family``.
    """
    if family is None or not configs:
        return
    others = [str(c.get("family")) for c in configs if c.get("family") != family]
    ask = (f"ask for that family's recommendations (recommend(..., families=[{family!r}]), or "
           f"`metakg recommend --family {family}`)" if noun == "recommendations"
           else f"pass the {noun} of {family} configurations")
    if len(others) == len(configs):
        raise WarmStartError(f"None of the {len(configs)} {noun} is a {family} "
                             f"configuration (they are {', '.join(sorted(set(others)))}); {ask}.")
    if others:
        warnings.warn(f"{len(others)} of the {len(configs)} {noun} are not {family} "
                      f"configurations ({', '.join(sorted(set(others)))}) and are left out; "
                      f"to hand the tool {family} ones only, {ask}.", UserWarning, stacklevel=stacklevel)


def _encode(configs: list[dict[str, Any]], bounds: Mapping[str, Bound], family: str | None,
            strict: bool, required: frozenset[str] = frozenset(), noun: str = "recommendations",
            stacklevel: int = 5) -> tuple[list[tuple[dict[str, Any], int]], list[str]]:
    """Each configuration of ``family`` → (the tool's values, its index); and what could not be
    expressed (``strict``: nothing is dropped or clipped, the problems are only listed).
    ``required``: parameters the space always sets (metakg's space), which a configuration
    leaving them unset cannot reproduce."""
    _check_families(configs, family, noun, stacklevel)
    out, problems = [], []
    for i, config in enumerate(configs):
        if family is not None and config.get("family") != family:
            continue
        point: dict[str, Any] = {}
        params = config.get("params") or {}
        for name, value in params.items():
            b = bounds.get(name)
            where = f"configuration {i + 1}: {name}={value!r}"
            if b is None:
                problems.append(f"{where}: the space has no parameter {name!r} (dropped)")
                continue
            if b.choices is not None:
                try:
                    point[name] = _choice_value(tuple(b.choices), value)
                except WarmStartError:
                    problems.append(f"{where}: not among the space's choices {list(b.choices)} (dropped)")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{where}: the space's range is numeric (dropped)")
                continue
            if b.integer and not float(value).is_integer():
                problems.append(f"{where}: the space holds integers only (rounded)")
            if not _in(value, b.low, b.high):
                problems.append(f"{where}: outside the space's range [{b.low:g}, {b.high:g}] (clipped)")
                if strict:
                    continue
            v = float(value)
            if b.low is not None:
                v = max(v, b.low)
            if b.high is not None:
                v = min(v, b.high)
            point[name] = round(v) if b.integer else (value if v == value else v)
        for name in sorted(required - set(params)):
            problems.append(f"configuration {i + 1}: {name} is unset, but the space always sets it "
                            "(the tool would fill it in; build the space from these recommendations)")
        for name in bounds:  # flags of metakg's space: is the parameter set?
            if name.endswith(SET_SUFFIX) and name[: -len(SET_SUFFIX)] in bounds:
                point[name] = name[: -len(SET_SUFFIX)] in point
        if point or not params:
            out.append((point, i))
    return out, problems


def _problem_text(problems: list[str], family: str | None, what: str) -> str:
    fam = f"{family} " if family else ""
    return (f"{len(problems)} recommended {fam}parameter value(s) cannot be expressed in {what}: "
            + "; ".join(problems))


def _mapped(recs: Any, bounds: Mapping[str, Bound], family: str | None, strict: bool, tool: str,
            required: frozenset[str] = frozenset()) -> list[tuple[dict[str, Any], float | None, dict[str, Any]]]:
    """Recommendations of ``family`` as the tool's values (duplicates removed), with their
    expected scores and user attrs.

    Raises:
        WarmStartError: ``strict`` and something cannot be expressed.
    """
    items = _items(recs)
    points, problems = _encode([c for c, _, _ in items], bounds, family, strict, required)
    if problems:
        text = _problem_text(problems, family, f"your {tool} space")
        if strict:
            raise WarmStartError(text + f". Build the space with family_space({family!r}, recs) and "
                                 "its converter for this tool (every parameter kept), or pass "
                                 "strict=False to drop and clip.")
        warnings.warn(text, UserWarning, stacklevel=3)
    out, seen = [], set()
    for point, i in points:
        key = repr(sorted(point.items(), key=lambda kv: kv[0]))
        if key not in seen:
            seen.add(key)
            out.append((point, items[i][1], items[i][2]))
    return out


def map_config(config: dict[str, Any], bounds: Mapping[str, Bound], *, family: str | None = None,
               rename: Mapping[str, str] | None = None, strict: bool = True) -> dict[str, Any] | None:
    """Our configuration → the tool's parameter dict.

    Args:
        config: ``{"family", "params"}``.
        bounds: the tool's space, name → :class:`Bound`.
        family: only configurations of this family (``None``: any).
        rename: our parameter name → the tool's.
        strict: raise on anything that cannot be expressed; ``False`` drops and clips (with a
            ``UserWarning``).

    Returns:
        The tool's values, or ``None`` for another family or nothing left.

    Raises:
        WarmStartError: ``strict`` and a parameter is missing from the space, out of its range
            or not among its choices.
    """
    if family is not None and config.get("family") != family:
        return None  # one configuration at a time: another family's is no mistake here
    renamed = {**config, "params": {(rename or {}).get(k, k): v
                                    for k, v in (config.get("params") or {}).items()}}
    mapped = _mapped([renamed], bounds, family, strict, "the tool's")
    return (mapped[0][0] or None) if mapped else None


def _resolve(space: Any, family: str | None, read: Callable[[Any], dict[str, Bound]],
             ) -> tuple[dict[str, Bound], str | None, dict[str, Any], frozenset[str]]:
    """(bounds, family, values for unset names, parameters always set) of a TunerSpace, or of
    a tool's own space (read by ``read``; no fill values, nothing required)."""
    if isinstance(space, TunerSpace):
        return space.bounds(), space.family, {d.name: d.init for d in space.dims}, space.required
    if not isinstance(space, Mapping):
        raise TypeError(f"The space is a {type(space).__name__}: expected metakg's space "
                        "(family_space(family, recs)) or the tool's own (a dict of name → "
                        "distribution); are the arguments swapped? The "
                        "recommendations come first, then the space.")
    return read(space), family, {}, frozenset()


def _domain_bounds(space: Mapping[str, Any]) -> dict[str, Bound]:
    return {n: b for n, d in space.items() if (b := _domain_bound(d)) is not None}


def _domain_bound(domain: Any) -> Bound | None:
    """Bounds of a Ray Tune / FLAML / Syne Tune domain object (Ray's and FLAML's integer
    upper bounds are exclusive, Syne Tune's inclusive)."""
    cats = getattr(domain, "categories", None)
    if cats is not None:
        return Bound(choices=tuple(cats))
    lo, hi = getattr(domain, "lower", None), getattr(domain, "upper", None)
    if lo is None or hi is None:
        return None
    integer = "Integer" in type(domain).__name__
    if integer and not type(domain).__module__.startswith("syne_tune"):
        hi = hi - 1
    return Bound(float(lo), float(hi), integer=integer)
