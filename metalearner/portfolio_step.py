"""Portfolio: one greedy best-of-k step with generic constraints.

A ranker's favourite is one guess; the next trials should cover the cases where it is wrong.
The training tables are weighted by how much their real performance profile resembles the
ranker's predicted profile for the new table (``exp(tau × Spearman)``), and configurations
are chosen greedily to raise the weighted mean, over those tables, of the best relative score
reached so far. The constraints, each a policy setting:

- first pick: the best mix of the weighted tables' mean relative score and the ranker's own
  prediction (``first_blend``: the tables' share);
- incumbent: a default a team would try anyway keeps the first place unless another is
  expected to beat it by ``margin`` (relative scale);
- collapse risk: a configuration that collapsed (a whole median-to-best gap or more below
  the median) on more than ``max_collapse_risk`` of the weighted tables is not first;
- the query itself: the ranker's prediction joins the tables as one more row of weight
  ``prediction_weight``;
- family cover: the first ``cover_families`` picks come from distinct family groups (the
  families a probe stands for: boosted trees, forests, linear, SVM, k-NN, MLP); with
  ``cover_within``, only the groups whose probe on the table is within that much of the best
  probe, closest first (the table's own cheap models say they are in the running);
- filters: only the allowed configurations are chosen (families, time budget);
- auxiliary tables (the task type's tables scored by its other metric, e.g. multiclass log
  loss for a binary ROC AUC query) may join the weighted tables; the collapse risk is read on
  the query's own metric only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metakg.metalearner.fitted import NotFittedGuard
from metakg.metalearner.recommenders._greedy import greedy_order

__all__ = ["Portfolio"]


_FIRST_REASONS = {
    "best": "first: the highest expected relative score on tables like this one",
    "collapse": ("first: the best expected among those that never collapsed on similar tables "
                 "(a higher-rated one did)"),
    "incumbent": ("first: the default a team would try anyway; no other is expected to beat it "
                  "by {margin:g} of the median-to-best gap"),
}


class Portfolio(NotFittedGuard, BaseEstimator):
    """The greedy best-of-k step (see the module docstring for the constraints).

    Args:
        size: configurations ordered greedily (the rest follow by the ranker's prediction).
        tau, first_blend, prediction_weight, incumbent, margin, max_collapse_risk,
        cover_families: the policy's constraints.

    Fitted attributes: ``relative_`` (tables × configurations, floored at −1, 0 where not
    run), ``profile_ranks_``, ``collapsed_`` (on the query's own metric only), ``table_ids_``,
    ``families_`` and ``groups_`` (each candidate's family cover group).
    """

    fit_hint = "fit(relative, families)"

    def __init__(self, *, size: int = 25, tau: float = 10.0, first_blend: float = 0.5,
                 prediction_weight: float = 0.0, incumbent: int | None = None,
                 margin: float = 0.3, max_collapse_risk: float | None = 0.02,
                 cover_families: int = 0, cover_within: float | None = None) -> None:
        self.size = size
        self.tau = tau
        self.first_blend = first_blend
        self.prediction_weight = prediction_weight
        self.incumbent = incumbent
        self.margin = margin
        self.max_collapse_risk = max_collapse_risk
        self.cover_families = cover_families
        self.cover_within = cover_within

    def fit(self, relative: pd.DataFrame, families: list[str], *,
            primary: int | None = None) -> Portfolio:
        """Learn the training tables' relative scores and profiles.

        Args:
            relative: tables × candidate configurations (1 = the table's best, 0 = its
                median; NaN where not run).
            families: each candidate's family.
            primary: the first ``primary`` rows are scored by the query's metric (the rest
                are auxiliary tables); ``None``: all.

        Returns:
            ``self``.
        """
        values = relative.to_numpy(dtype=float)
        # a configuration not run on a table is unknown there (its median), not a collapse
        self.relative_ = np.nan_to_num(np.maximum(values, -1.0), nan=0.0)
        # an overconfident model's log loss on a multiclass table says nothing of its ROC AUC
        collapsed = values <= -1.0
        if primary is not None:
            collapsed[primary:] = False
        self.collapsed_ = collapsed.astype(float)
        self.profile_ranks_ = _centred_ranks(np.nan_to_num(values, nan=0.0))
        self.profile_norms_ = np.linalg.norm(self.profile_ranks_, axis=1)
        self.table_ids_ = list(relative.index)
        self.families_ = list(families)
        from metakg.metalearner.recommenders.probe_contrasts import FAMILY_PROBES

        # a family's cover group: the probe that stands for it (families without one alone)
        self.groups_ = [FAMILY_PROBES.get(f, (f,)) for f in self.families_]
        return self

    def weights(self, predicted: np.ndarray) -> np.ndarray:
        """Training table weights (summing to 1) for a predicted profile (one relative score
        per candidate, NaN = worst)."""
        q = _centred_ranks(np.nan_to_num(predicted, nan=np.nanmin(predicted))[None, :])[0]
        denom = self.profile_norms_ * np.linalg.norm(q)
        corr = np.divide(self.profile_ranks_ @ q, denom, out=np.zeros(len(denom)),
                         where=denom > 0)
        w = np.exp(self.tau * (corr - corr.max()))
        return w / w.sum()

    def select(self, predicted: np.ndarray, allowed: np.ndarray | None = None,
               gaps: np.ndarray | None = None) -> list[int]:
        """The ordered picks: the first by the constraints, then greedy, then the rest of
        ``allowed`` by the prediction.

        Args:
            predicted: the ranker's relative score of every candidate.
            allowed: positions that may be chosen (``None``: all).
            gaps: each candidate's family probe gap on the table (``cover_within``); ``None``
                or NaN: unknown (no probe-informed cover).

        Returns:
            Positions among the candidates, every allowed one, best first.
        """
        n = len(self.families_)
        allowed = np.arange(n) if allowed is None else np.asarray(allowed, dtype=np.intp)
        weights = self.weights(predicted)
        first = self.first(predicted, weights, allowed)
        rows, row_weights = self._rows(predicted, weights)
        start = [first, *self._covering(first, rows, row_weights, allowed, gaps)]
        at = {int(c): j for j, c in enumerate(allowed)}
        chosen = greedy_order(rows[:, allowed], self.size, weights=row_weights,
                              first=[at[c] for c in start])
        picks = [int(allowed[j]) for j in chosen]
        taken = set(picks)
        by_prediction = allowed[np.argsort(-np.nan_to_num(predicted[allowed], nan=-np.inf),
                                           kind="stable")]
        return picks + [int(j) for j in by_prediction if j not in taken]

    def first(self, predicted: np.ndarray, weights: np.ndarray, allowed: np.ndarray) -> int:
        """Position of the first pick among ``allowed``."""
        return self._first(predicted, weights, allowed)[0]

    def _first(self, predicted: np.ndarray, weights: np.ndarray,
               allowed: np.ndarray) -> tuple[int, str]:
        """The first pick and what decided it: ``best``, ``collapse`` (a better-rated one
        collapsed on similar tables) or ``incumbent`` (kept within the margin)."""
        value = np.full(len(predicted), np.nan)
        mix = (self.first_blend * (weights @ self.relative_)
               + (1.0 - self.first_blend) * np.nan_to_num(predicted, nan=-1.0))
        value[allowed] = mix[allowed]
        cause = "best"
        if self.max_collapse_risk is not None:
            risk = weights @ self.collapsed_
            safe = np.where(risk <= self.max_collapse_risk, value, np.nan)
            if not np.isnan(safe).all():
                if int(np.nanargmax(safe)) != int(np.nanargmax(value)):
                    cause = "collapse"
                value = safe
        best = int(np.nanargmax(value))
        h = self.incumbent
        if h is None or h == best or np.isnan(value[h]):
            return best, cause
        return (h, "incumbent") if value[best] - value[h] < self.margin else (best, cause)

    def reasons(self, predicted: np.ndarray, picks: list[int], names: list[str],
                allowed: np.ndarray | None = None, gaps: np.ndarray | None = None) -> list[str]:
        """Why each pick is where it is, in words.

        Args:
            predicted: the ranker's relative score of every candidate.
            picks: positions in the order shown (the top k, as :meth:`select` ordered them).
            names: the training tables' names, in ``table_ids_`` order.
            allowed: the positions the picks were chosen among (``None``: all).
            gaps: each candidate's family probe gap on the table, as given to :meth:`select`.

        Returns:
            One reason per pick.
        """
        allowed = np.arange(len(self.families_)) if allowed is None else np.asarray(allowed)
        weights = self.weights(predicted)
        first, cause = self._first(predicted, weights, allowed)
        covering = set(self._covering(first, *self._rows(predicted, weights), allowed, gaps))
        out: list[str] = []
        best = np.full(len(weights), -np.inf)
        for i, j in enumerate(picks):
            if i == 0 and j == first:
                out.append(_FIRST_REASONS[cause].format(margin=self.margin))
            elif j in covering:
                out.append("covers a family group the picks above leave out"
                           + (" (its probe on this table is close to the best)"
                              if self.cover_within is not None else ""))
            else:
                better = self.relative_[:, j] > best + 1e-9
                share = float(weights[better].sum())
                if i < self.size and share >= 0.01:
                    top = np.argsort(-(weights * better))[:2]
                    like = ", ".join(names[t] for t in top if better[t])
                    out.append(f"covers where the picks above fall short: better than them on "
                               f"tables holding {share:.0%} of the similarity weight ({like})")
                else:
                    out.append("next by its expected score on this table")
            best = np.maximum(best, self.relative_[:, j])
        return out

    def _rows(self, predicted: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The greedy step's rows and their weights: the training tables, and with
        ``prediction_weight`` the ranker's prediction for the query as one more row."""
        if self.prediction_weight <= 0:
            return self.relative_, weights
        own = np.clip(np.nan_to_num(predicted, nan=-1.0), -1.0, 1.0)
        return (np.vstack([self.relative_, own]),
                np.append((1.0 - self.prediction_weight) * weights, self.prediction_weight))

    def _covering(self, first: int, rows: np.ndarray, weights: np.ndarray,
                  allowed: np.ndarray, gaps: np.ndarray | None) -> list[int]:
        """Picks 2..``cover_families``, each the configuration of a family group not yet
        chosen that most raises the weighted best-so-far; with ``cover_within``, only groups
        whose probe is that close to the best, closest first."""
        picks: list[int] = []
        if self.cover_families <= 1:
            return picks
        best = rows[:, first].copy()
        seen = {self.groups_[first]}
        queue: list[tuple[str, ...] | None] = [None]  # None: any group not seen yet
        if self.cover_within is not None:
            if gaps is None or np.isnan(gaps[allowed]).all():
                return picks  # no probes on this table: nothing says which groups to cover
            near: dict[tuple[str, ...], float] = {}
            for j in allowed:
                if np.isfinite(gaps[j]) and gaps[j] >= -self.cover_within:
                    near[self.groups_[j]] = float(gaps[j])
            queue = sorted(near, key=lambda g: -near[g])
        for group in queue:
            while len(picks) + 1 < self.cover_families:
                options = np.array([j for j in allowed if self.groups_[j] not in seen
                                    and (group is None or self.groups_[j] == group)],
                                   dtype=np.intp)
                if options.size == 0:
                    break
                gain = weights @ np.maximum(rows[:, options], best[:, None])
                j = int(options[int(np.argmax(gain))])
                picks.append(j)
                seen.add(self.groups_[j])
                best = np.maximum(best, rows[:, j])
                if group is not None:
                    break
        return picks


def _centred_ranks(values: np.ndarray) -> np.ndarray:
    """Row-wise ranks minus their mean: the dot product of two rows over their norms is
    Spearman's correlation."""
    ranks = pd.DataFrame(values).rank(axis=1).to_numpy()
    return ranks - ranks.mean(axis=1, keepdims=True)
