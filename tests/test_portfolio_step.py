"""The default recommender's portfolio step: the first pick's constraints, the greedy cover,
what a table with few runs means, auxiliary tables, and choosing among a filter's candidates.

Each test gives :class:`~metalearner.portfolio_step.Portfolio` relative scores (1 = a table's
best, 0 = its median, -1 = a collapse) and a fixed prediction, so what decides is the rule
under test, not a fitted model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metakg.metalearner.knowledge import MetaData, with_auxiliary
from metakg.metalearner.portfolio_step import Portfolio
from metakg.metalearner.recommenders import GreedyPortfolioRecommender

CONFIGS = ["X", "A", "B", "C", "D"]
FAMILIES = ["lightgbm", "catboost", "linear", "knn", "svm"]


def _relative(rows: list[dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=[f"d{i}" for i in range(len(rows))])[CONFIGS]


def _first(step: Portfolio, predicted: dict[str, float]) -> str:
    return CONFIGS[step.select(np.array([predicted[c] for c in CONFIGS]))[0]]


def test_a_configuration_that_collapsed_on_similar_tables_is_never_first() -> None:
    """Log loss punishes an overconfident model without bound: X is the best on nine tables
    and collapsed on the tenth, so it is not the first trial, whether the tables' mean or the
    ranker's prediction decides, unless the allowed risk is above its 10%."""
    good = {"X": 1.0, "A": 0.7, "B": 0.0, "C": -0.3, "D": -0.5}
    rel = _relative([good] * 9 + [{**good, "X": -1.0, "A": 1.0}])
    predicted = {"X": 1.0, "A": 0.8, "B": 0.5, "C": 0.3, "D": 0.1}
    for blend in (1.0, 0.0):  # the tables' weighted mean (0.8 against 0.73), the prediction
        def first(risk: float | None, blend: float = blend) -> str:
            step = Portfolio(tau=0.0, first_blend=blend, incumbent=None, max_collapse_risk=risk)
            return _first(step.fit(rel, FAMILIES), predicted)

        assert first(0.02) == "A"
        assert first(None) == "X" and first(0.5) == "X"


def test_a_configuration_not_run_on_a_table_is_unknown_there_not_collapsed() -> None:
    """A team logged two runs on a new table: the others' missing scores count as the table's
    median in the greedy step, never as a collapse that would veto them."""
    full = {"X": 0.9, "A": 0.8, "B": 0.7, "C": 0.6, "D": 0.5}
    rel = _relative([full] * 4 + [{"X": np.nan, "A": np.nan, "B": np.nan, "C": 1.0, "D": -1.0}])
    step = Portfolio(tau=0.0, incumbent=None).fit(rel, FAMILIES)
    assert step.relative_[-1, :3].tolist() == [0.0, 0.0, 0.0]
    assert not step.collapsed_[-1, :3].any() and step.collapsed_[-1, 4]
    assert _first(step, dict(full)) == "X"


def test_tables_with_few_runs_leave_the_training_tables_unless_every_table_is_sparse() -> None:
    from metakg.metalearner.recommender import _dense

    full = {c: 0.5 for c in CONFIGS}
    meta = _views({**{f"d{i}": full for i in range(4)}, "team": {"C": 0.9, "D": 0.1}})
    assert _dense(meta, 0.5).datasets == ["d0", "d1", "d2", "d3"]
    assert _dense(meta, 0.0).datasets == [*(f"d{i}" for i in range(4)), "team"]
    sparse = _views({"t1": {"C": 0.9, "D": 0.1}, "t2": {"A": 0.3, "B": 0.2}})
    assert _dense(sparse, 0.5).datasets == ["t1", "t2"]  # nothing left otherwise: unchanged


def test_the_greedy_step_covers_where_the_first_pick_falls_short_on_the_weighted_tables() -> None:
    """Three tables where A is best and two where B is: with the tables alike (tau = 0) A is
    first; weighted towards the tables whose profile resembles the prediction (B's), B is."""
    a_wins = {"X": 0.0, "A": 1.0, "B": -0.5, "C": 0.2, "D": 0.1}
    b_wins = {"X": 0.0, "A": -0.5, "B": 1.0, "C": 0.1, "D": 0.2}
    rel = _relative([a_wins] * 3 + [b_wins] * 2)
    predicted = {"X": 0.0, "A": -0.4, "B": 0.9, "C": 0.1, "D": 0.2}
    flat = Portfolio(tau=0.0, first_blend=1.0, incumbent=None).fit(rel, FAMILIES)
    picks = flat.select(np.array([predicted[c] for c in CONFIGS]))
    assert [CONFIGS[j] for j in picks[:2]] == ["A", "B"]  # B covers the tables A misses
    sharp = Portfolio(tau=10.0, first_blend=1.0, incumbent=None).fit(rel, FAMILIES)
    weights = sharp.weights(np.array([predicted[c] for c in CONFIGS]))
    assert weights[3:].sum() > 0.95 and weights.sum() == pytest.approx(1.0)
    assert _first(sharp, predicted) == "B"


def test_the_prediction_row_lets_the_ranker_choose_the_next_trials_too() -> None:
    """The tables say A then nothing more (A is best everywhere); the ranker predicts that C
    does well on this table. With ``prediction_weight`` its prediction joins the tables as
    one more row, and C, which covers that row, comes second."""
    rel = _relative([{"X": 0.5, "A": 1.0, "B": 0.9, "C": 0.0, "D": -0.2}] * 4)
    predicted = np.array([0.3, 0.2, 0.1, 1.0, 0.0])

    def second(weight: float) -> str:
        step = Portfolio(tau=0.0, first_blend=1.0, incumbent=None, prediction_weight=weight)
        return CONFIGS[step.fit(rel, FAMILIES).select(predicted)[1]]

    assert second(0.2) == "C"
    assert second(0.0) != "C"


def test_auxiliary_tables_join_the_cover_and_their_collapses_do_not_count() -> None:
    """Rows after ``primary`` are the task type's tables under its other metric: they shape
    the cover (C rescues where A falls short there) but a collapse there is no veto."""
    primary = [{"X": 0.0, "A": 1.0, "B": 0.9, "C": 0.0, "D": -0.1}] * 2
    auxiliary = [{"X": 0.0, "A": -1.0, "B": -0.5, "C": 1.0, "D": 0.0}] * 3
    predicted = np.array([0.0, 1.0, 0.9, 0.1, 0.0])

    def order(rows: list[dict[str, float]], **kw: object) -> list[str]:
        step = Portfolio(tau=0.0, first_blend=0.0, incumbent=None, **kw)
        return [CONFIGS[j] for j in step.fit(_relative(rows), FAMILIES, primary=2).select(predicted)]

    assert order(primary)[0] == "A" and order(primary)[1] != "C"  # nothing left to cover
    assert order(primary + auxiliary)[:2] == ["A", "C"]  # A collapsed there: still first


def test_the_greedy_portfolio_can_cover_auxiliary_tables() -> None:
    """The plain greedy portfolio (the classical baseline) uses them only when asked."""
    auc = _views({"b1": {"A": 0.9, "B": 0.8, "C": 0.6, "D": 0.5, "E": 0.7},
                  "b2": {"A": 0.8, "B": 0.7, "C": 0.5, "D": 0.4, "E": 0.6}})
    ll = _views({f"m{i}": {"A": 2.0, "B": 1.5, "C": 0.2, "D": 1.0, "E": 0.9} for i in range(3)},
                higher=False)
    meta = with_auxiliary(auc, ll)
    assert GreedyPortfolioRecommender().fit(meta).order_[:2] == ["A", "B"]
    assert GreedyPortfolioRecommender(auxiliary=True).fit(meta).order_[:2] == ["C", "A"]


def test_a_family_filter_chooses_among_that_familys_configurations() -> None:
    """A tuner of one family gets that family's best first trial and then what complements
    it, not the family's configurations in the order of the all-family portfolio (where the
    second place goes to A2 for covering what B1, another family, misses)."""
    from metakg.metalearner.policy import Policy, PortfolioPolicy
    from metakg.metalearner.recommend import recommend_for_query
    from metakg.metalearner.recommender import MetaRecommender
    from metakg.metalearner.recommenders import Query

    strong_b1 = {"B1": 1.0, "A1": 0.8, "A2": 0.0, "B2": 0.2}
    weak_b1 = {"B1": 0.0, "A1": 0.7, "A2": 1.0, "B2": 0.2}
    configs = {"A1": {"family": "lightgbm", "params": {"learning_rate": 0.05}},
               "A2": {"family": "lightgbm", "params": {"learning_rate": 0.3}},
               "B1": {"family": "catboost", "params": {"depth": 4}},
               "B2": {"family": "catboost", "params": {"depth": 10}}}
    meta = _views({**{f"d{i}": strong_b1 for i in range(4)},
                   **{f"d{i}": weak_b1 for i in range(4, 6)}}, configs=configs)
    profile = {"B1": 0.9, "A1": 0.8, "A2": 0.3, "B2": 0.1}

    class FixedPrediction(MetaRecommender):
        """The default with a fixed prediction, so the first pick is the prediction's."""

        def predicted(self, query: Query) -> np.ndarray:
            return np.array([profile[c] for c in self.config_ids_])

    policy = Policy(portfolio=PortfolioPolicy(tau=0.0, first_blend=0.0, incumbent=None))
    rec = FixedPrediction(policy=policy).fit(meta)
    overall = rec.score(Query()).sort_values(ascending=False).index.tolist()
    assert overall[:2] == ["B1", "A2"]  # A2 covers d4, d5, where B1 fails
    among = rec.score_among(Query(), pd.Index(["A1", "A2"]))
    assert among.index.tolist() == ["A1", "A2"] and among["A1"] > among["A2"]
    recs, _ = recommend_for_query(meta, Query(), k=2, families=["lightgbm"], recommender=rec)
    assert [r.config_id for r in recs] == ["A1", "A2"]
    # every configuration a candidate: the ranking is the portfolio's own
    assert rec.score_among(Query(), meta.norm.columns).equals(rec.score(Query()))


def _views(rows: dict[str, dict[str, float]], *, higher: bool = True,
           configs: dict[str, dict] | None = None) -> MetaData:
    """Views of a few tables (scores as given; ``configs``: each column's configuration)."""
    raw = pd.DataFrame(rows).T
    configs = configs or {c: {"family": "x", "params": {}} for c in raw.columns}
    return MetaData(task_type="classification", datasets=list(raw.index), names={}, raw=raw,
                    norm=raw.rank(axis=1, pct=True, ascending=higher), metric={},
                    higher=dict.fromkeys(raw.index, higher), configs=configs,
                    families={c: configs[c]["family"] for c in raw.columns},
                    metafeatures=pd.DataFrame({"log_nr_inst": 7.0}, index=raw.index))
