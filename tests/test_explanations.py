"""Explanations on this table's scale: evidence placed on it, and a reason wherever the rank
order departs from the expected scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metakg.metalearner.explanations import order_clauses, standings
from metakg.metalearner.knowledge import MetaData
from metakg.metalearner.recommend import recommend_for_query
from metakg.metalearner.recommenders import BaseRecommender, Query

#: Three configurations of distinct families (never too close to each other).
CONFIGS = {"A": {"family": "xgboost", "params": {}}, "B": {"family": "random_forest", "params": {}},
           "C": {"family": "linear", "params": {}}}

#: datasets × configurations, ROC AUC. Medians and bests: d1 0.90/0.95, d2 0.70/0.80,
#: d3 0.64/0.66, d4 0.70/0.90; standings (floored at -1): A 1, 0, -1, 1; B 0, 1, 1, -1;
#: C -1 (-2 floored), -1, 0, 0.
RAW = {"d1": {"A": 0.95, "B": 0.90, "C": 0.80}, "d2": {"A": 0.70, "B": 0.80, "C": 0.60},
       "d3": {"A": 0.62, "B": 0.66, "C": 0.64}, "d4": {"A": 0.90, "B": 0.50, "C": 0.70}}
SIMILAR = pd.Series({"d1": 0.9, "d2": 0.8, "d3": 0.7, "d4": 0.6})
#: The stub score model's expected scores on the query: this table's median 0.80, best 0.84.
EXPECTED = {"A": 0.80, "B": 0.84, "C": 0.70}
GAP = 0.04


def _views() -> MetaData:
    raw = pd.DataFrame(RAW).T[list(CONFIGS)]
    ids = list(raw.index)
    return MetaData(task_type="classification", datasets=ids, names={d: d for d in ids}, raw=raw,
                    norm=raw.rank(axis=1, pct=True), metric=dict.fromkeys(ids, "roc_auc"),
                    higher=dict.fromkeys(ids, True), configs=CONFIGS,
                    families={c: v["family"] for c, v in CONFIGS.items()},
                    metafeatures=pd.DataFrame(index=ids), run_ids={(d, c): f"run-{d}-{c}"
                                                                  for d in ids for c in CONFIGS})


class _Model:
    """A score model stub: fixed expected scores, an interval of ±0.1."""

    active_ = True
    n_datasets_ = 4

    def predict(self, query: Query, config_ids: list[str]) -> pd.DataFrame:
        e = np.array([EXPECTED.get(c, np.nan) for c in config_ids])
        return pd.DataFrame({"expected": e, "low": e - 0.1, "high": e + 0.1}, index=config_ids)


class _Fixed(BaseRecommender):
    """Ranks the configurations in a given order; the similar datasets are ``SIMILAR``."""

    def __init__(self, order: tuple[str, ...] = ("A", "B", "C"), model: bool = True) -> None:
        self.order = order
        self.model = model

    def _fit(self, meta: MetaData) -> None:
        self.score_model_ = _Model() if self.model else None

    def score(self, query: Query) -> pd.Series:
        n = len(self.order)
        return pd.Series({c: float(n - i) for i, c in enumerate(self.order)})

    def neighbours(self, query: Query) -> pd.Series:
        return SIMILAR


def _recommend(order: tuple[str, ...], *, model: bool = True) -> list:
    views = _views()
    recs, _ = recommend_for_query(views, Query(), k=3, recommender=_Fixed(order, model).fit(views))
    assert [r.config_id for r in recs] == list(order)
    return recs


def test_a_pick_ranked_above_a_better_expected_one_says_why_from_the_runs() -> None:
    a, b, c = _recommend(("A", "B", "C"))
    assert (a.expected_score, b.expected_score) == (0.80, 0.84)
    # A is the best of the three on d1 and d4, where B stands 1 and 2 gaps lower: 1.5 × 0.04
    assert (f"ranked above #2 (expected 0.84): best of these 3 on 2 of the 4 most similar "
            f"datasets (d1, d4), where #2 is {1.5 * GAP:.2g} worse on this table's scale;"
            ) in a.reason
    # B adds 0, 1, 2, 0 gaps to A on d1..d4: 0.75 gaps on average, and beats A on d2 and d3
    assert (f"ranked below #1 (expected 0.8): adds {0.75 * GAP:.2g} on average on this table's "
            "scale to the best of the picks above it over the 4 most similar datasets, beating "
            "them all on 2 (d2, d3);") in b.reason
    assert "ranked" not in c.reason  # worse expected than both above it: the order agrees
    # the clause joins the part that says why it is at its place; the expected score stays last
    assert a.reason.startswith("xgboost: ranked above #2") and a.reason.endswith(
        "the roc_auc of 4 datasets' runs.")


def test_an_order_that_agrees_with_the_expected_scores_gets_no_clause() -> None:
    for r in _recommend(("B", "A", "C")):
        assert "ranked above" not in r.reason and "ranked below" not in r.reason


def test_evidence_keeps_its_score_and_is_placed_on_this_tables_scale() -> None:
    recs = _recommend(("A", "B", "C"))
    rows = {(r.config_id, e.dataset_id): e for r in recs for e in r.evidence}
    median, best = 0.80, 0.84  # the median and the best of the model's expected scores
    # standing 1 on d1 (its best) → this table's best; 0 on d2 (its median) → its median
    assert rows["A", "d1"].score == 0.95 and rows["A", "d1"].score_here == pytest.approx(best)
    assert rows["A", "d2"].score == 0.70 and rows["A", "d2"].score_here == pytest.approx(median)
    # C on d1 is two gaps below the median: floored at one gap below
    assert rows["C", "d1"].score == 0.80
    assert rows["C", "d1"].score_here == pytest.approx(median - GAP)
    # B on d3: (0.66 - 0.64) / (0.66 - 0.64) = 1
    assert rows["B", "d3"].score_here == pytest.approx(best)


def test_without_a_score_model_the_scale_is_the_similar_datasets_own() -> None:
    a, _, _ = _recommend(("A", "B", "C"), model=False)
    w = SIMILAR.to_numpy()
    median = np.average([0.90, 0.70, 0.64, 0.70], weights=w)
    best = np.average([0.95, 0.80, 0.66, 0.90], weights=w)
    got = {e.dataset_id: e.score_here for e in a.evidence}
    assert got["d1"] == pytest.approx(best) and got["d2"] == pytest.approx(median)


def test_standings_are_relative_to_each_datasets_median_and_best_floored_at_minus_one() -> None:
    rel = standings(_views(), ["d1", "d2", "d3", "d4", "unknown"], ["A", "B", "C"])
    expected = [[1, 0, -1], [0, 1, -1], [-1, 1, 0], [1, -1, 0]]
    assert np.allclose(rel[:4], expected) and np.isnan(rel[4]).all()


def test_lower_is_better_and_printed_ties_are_read_as_printed() -> None:
    rel = np.array([[1.0, 0.0], [0.0, 1.0]])
    # log loss: #1 expects 0.5, #2 0.4 (better): #1 says why it is above it
    up, down = order_clauses([0.5, 0.4], rel, ["x", "y"], higher=False, scale=None)
    assert up is not None and up.startswith("ranked above #2 (expected 0.4)")
    assert "1 of a median-to-best gap worse" in up  # without a scale, in gaps
    assert down is not None and down.startswith("ranked below #1 (expected 0.5)")
    # equal to four significant digits, as the reason prints them: no disagreement
    assert order_clauses([0.79071, 0.79074], rel, ["x", "y"], higher=True, scale=None) == [None, None]


def test_json_carries_the_score_on_this_tables_scale() -> None:
    from dataclasses import asdict

    recs = _recommend(("A", "B", "C"))
    assert {"score", "score_here"} <= set(asdict(recs[0].evidence[0]))


def test_a_pick_that_is_never_the_best_of_the_set_says_where_it_beats_the_better_expected() -> None:
    # #1 is the best of the three on neither dataset (#3 is); it beats #2 on x by half a gap
    rel = np.array([[0.5, 0.0, 1.0], [0.2, 0.4, 0.9]])
    first, second, third = order_clauses([0.7, 0.8, 0.6], rel, ["x", "y"], higher=True, scale=None)
    assert first == ("ranked above #2 (expected 0.8): beats #2 on 1 of the 2 most similar "
                     "datasets by 0.5 of a median-to-best gap on average")
    assert second is not None and second.startswith("ranked below #1 (expected 0.7): adds 0.1 ")
    assert third is None


def test_a_scale_without_width_is_no_scale() -> None:
    from metakg.metalearner.explanations import table_scale

    views = _views()
    flat = pd.Series([0.7, 0.7, 0.7], index=["A", "B", "C"])
    # the model's scale has no width and no neighbour is known: no scale, so the reasons fall
    # back to median-to-best gaps instead of "0 worse on this table's scale"
    assert table_scale(views, higher=True, expected=flat, neighbours=pd.Series(dtype=float),
                       rescale=np.array([])) is None
    scale = table_scale(views, higher=False, expected=pd.Series([0.3, 0.2, 0.5]),
                        neighbours=pd.Series(dtype=float), rescale=np.array([]))
    assert scale is not None and (scale.median, scale.best) == (0.3, 0.2)  # lower is better


def test_a_published_strong_default_says_whose_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from metakg.kg.published import published_configurations

    catboost = next(p for p in published_configurations() if p.name == "catboost-default")
    # configuration "A" stands for CatBoost's default here
    monkeypatch.setattr(sys.modules["metakg.metalearner.recommend"], "published_by_id",
                        lambda: {"A": catboost})
    recs = _recommend(("A", "B", "C"))
    assert recs[0].reason.startswith("xgboost: catboost-default, published as CatBoost's own default")
    assert "published as" not in recs[1].reason and "published as" not in recs[2].reason
