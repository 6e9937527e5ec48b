"""One common-check suite over every recommender: scikit-learn conventions and the contract
the recommendation code relies on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from metakg.kg.graph import make_configuration
from metakg.kg.spaces import portfolio
from metakg.metalearner import recommenders as R
from metakg.metalearner.knowledge import MetaData, normalise_scores
from metakg.metalearner.policy import Policy, load_policy
from metakg.metalearner.recommender import MetaRecommender

RECOMMENDERS = [
    MetaRecommender, R.NearestDatasetsRecommender, R.GreedyPortfolioRecommender,
    R.SingleBestRecommender, R.LocalPortfolioRecommender, R.GraphRecommender,
    R.TextSimilarityRecommender,
]


def synthetic_meta(n_tables: int = 30, seed: int = 0) -> MetaData:
    """Binary tables where linear models win when most columns are categorical and k-NN
    wins otherwise."""
    rng = np.random.default_rng(seed)
    configs = {make_configuration(c).id: c for c in portfolio(24)}
    ids = [f"d{i}" for i in range(n_tables)]
    frac_cat = rng.random(n_tables)
    mf = pd.DataFrame({"frac_cat": frac_cat, "log_nr_inst": rng.uniform(5, 9, n_tables),
                       "lm_1nn": rng.uniform(0.6, 0.9, n_tables),
                       "lm_stump": rng.uniform(0.6, 0.9, n_tables)}, index=ids)
    raw = pd.DataFrame(0.7 + 0.02 * rng.random((n_tables, len(configs))), index=ids,
                       columns=list(configs))
    for c, cfg in configs.items():
        if cfg["family"] == "linear":
            raw[c] += np.where(frac_cat > 0.5, 0.2, -0.1)
        if cfg["family"] == "knn":
            raw[c] += np.where(frac_cat <= 0.5, 0.2, -0.1)
    higher = pd.Series(True, index=ids)
    return MetaData(task_type="classification", datasets=ids, names={d: d for d in ids},
                    raw=raw, norm=normalise_scores(raw, higher), metric=dict.fromkeys(ids, "roc_auc"),
                    higher=dict.fromkeys(ids, True), configs=configs,
                    families={c: cfg["family"] for c, cfg in configs.items()}, metafeatures=mf)


@pytest.fixture(scope="module")
def meta() -> MetaData:
    return synthetic_meta()


@pytest.mark.parametrize("cls", RECOMMENDERS, ids=lambda c: c.__name__)
def test_recommenders_follow_scikit_learn(cls: type, meta: MetaData) -> None:
    rec = cls()
    params = rec.get_params()
    twin = clone(rec)
    assert twin.get_params() == params and twin is not rec
    assert not [k for k in vars(rec) if k.endswith("_")]  # no work in __init__
    query = R.Query({"frac_cat": 0.9, "log_nr_inst": 7.0, "lm_1nn": 0.7, "lm_stump": 0.8})
    with pytest.raises(NotFittedError, match=rf"This {cls.__name__} is not fitted yet .*"
                                             r"call fit\(load_metadata\(graph"):
        rec.score(query)
    assert rec.fit(meta) is rec
    with pytest.raises(AttributeError) as missing:  # fitted: a missing name is no fit advice
        rec.no_such_thing_  # noqa: B018
    assert not isinstance(missing.value, NotFittedError)
    scores = rec.score(query)
    assert list(scores.index) == list(meta.norm.columns)
    some = pd.Index(list(meta.norm.columns[:5]))
    among = rec.score_among(query, some)
    assert list(among.index) == list(some)
    assert clone(rec).get_params() == params  # a fitted estimator clones unfitted
    assert not [k for k in vars(clone(rec)) if k.endswith("_")]


def test_the_meta_recommender_ranks_the_winning_family_first(meta: MetaData) -> None:
    rec = MetaRecommender().fit(meta)
    for frac_cat, family in ((0.9, "linear"), (0.1, "knn")):
        query = R.Query({"frac_cat": frac_cat, "log_nr_inst": 7.0, "lm_1nn": 0.7, "lm_stump": 0.8})
        top = rec.score(query).idxmax()
        assert meta.families[top] == family
    assert rec.policy_.metric == "roc_auc" and "probes" in rec.policy_.features


def test_policies_are_data_and_refuse_unknown_settings(tmp_path) -> None:
    for metric in ("roc_auc", "log_loss", "rmse"):
        policy = load_policy(metric)
        assert policy.metric == metric and policy.chosen_by
    assert load_policy("accuracy").features == ("base",)  # any other metric: the default file
    bad = tmp_path / "bad.json"
    bad.write_text('{"metric": "roc_auc", "portfolio": {"tua": 3}}')
    with pytest.raises(ValueError, match=r"unknown portfolio setting\(s\) \['tua'\]"):
        load_policy("roc_auc", bad)
    with pytest.raises(ValueError, match="features must include 'base'"):
        Policy(features=("probes",))


def test_the_portfolio_keeps_the_incumbent_unless_beaten_by_the_margin(meta: MetaData) -> None:
    from metakg.metalearner.portfolio_step import Portfolio

    families = [meta.families[c] for c in meta.norm.columns]
    rel = pd.DataFrame(np.zeros((3, len(families))), columns=meta.norm.columns)
    step = Portfolio(tau=0.0, first_blend=0.0, incumbent=2, margin=0.3).fit(rel, families)
    predicted = np.zeros(len(families))
    predicted[0] = 0.2  # better than the incumbent, by less than the margin
    assert step.select(predicted)[0] == 2
    predicted[0] = 0.5
    assert step.select(predicted)[0] == 0
    covering = Portfolio(tau=0.0, first_blend=0.0, cover_families=3).fit(rel, families)
    picks = covering.select(predicted)
    assert len({families[j] for j in picks[:3]}) == 3


def test_each_pick_says_why_it_is_at_its_place(meta: MetaData) -> None:
    rec = MetaRecommender().fit(meta)
    query = R.Query({"frac_cat": 0.9, "log_nr_inst": 7.0, "lm_1nn": 0.7, "lm_stump": 0.8})
    chosen = list(rec.score(query).sort_values(ascending=False).index[:5])
    why = rec.reasons(query, chosen)
    assert list(why) == chosen
    assert why[chosen[0]].startswith("first: ")
    assert all(not text.startswith("first") for text in list(why.values())[1:])


def test_the_cover_follows_the_probes_that_put_families_in_the_running(meta: MetaData) -> None:
    """With ``cover_within``, the picks after the first cover the family groups whose probe
    on the table is close to the best one, closest first, and no other."""
    from metakg.metalearner.portfolio_step import Portfolio

    families = [meta.families[c] for c in meta.norm.columns]
    rel = pd.DataFrame(np.zeros((3, len(families))), columns=meta.norm.columns)
    predicted = np.zeros(len(families))
    first = families.index("linear")
    predicted[first] = 1.0
    gaps = np.array([{"knn": -0.002, "random_forest": -0.001, "linear": 0.0}.get(f, -0.2)
                     for f in families])
    step = Portfolio(tau=0.0, first_blend=0.0, cover_families=3, cover_within=0.005).fit(rel, families)
    picks = step.select(predicted, gaps=gaps)
    assert [families[j] for j in picks[:3]] == ["linear", "random_forest", "knn"]
    # groups: the forests' probe stands for both forests; without probes, no probe-led cover
    assert step.groups_[families.index("extra_trees")] == step.groups_[families.index("random_forest")]
    assert families[step.select(predicted, gaps=np.full(len(families), np.nan))[0]] == "linear"


def test_reasons_follow_the_filter_the_picks_were_made_under(meta: MetaData) -> None:
    """Among one family's configurations the first pick is the best of them; its reason
    does not blame a collapse or an incumbent that the filter left out."""
    rec = MetaRecommender().fit(meta)
    query = R.Query({"frac_cat": 0.9, "log_nr_inst": 7.0, "lm_1nn": 0.7, "lm_stump": 0.8})
    knn = pd.Index([c for c in meta.norm.columns if meta.families[c] == "knn"])
    chosen = list(rec.score_among(query, knn).sort_values(ascending=False).index[:3])
    why = rec.reasons(query, chosen, knn)
    assert why[chosen[0]] == "first: the highest expected relative score on tables like this one"


def test_a_policy_names_a_published_configuration_as_its_incumbent(meta: MetaData) -> None:
    from dataclasses import replace

    from metakg.kg.published import published_configurations

    catboost = next(p for p in published_configurations() if p.name == "catboost-default")
    cid = make_configuration(catboost.config).id
    with_it = replace(meta, raw=meta.raw.assign(**{cid: 0.95}), norm=meta.norm.assign(**{cid: 1.0}),
                      configs={**meta.configs, cid: catboost.config},
                      families={**meta.families, cid: "catboost"})
    policy = load_policy("roc_auc")
    first = replace(policy, portfolio=replace(policy.portfolio, incumbent="catboost-default"))
    rec = MetaRecommender(policy=first).fit(with_it)
    assert rec.portfolio_.incumbent == rec.config_ids_.index(cid)
    # where it has no runs it is no candidate, and no incumbent
    assert MetaRecommender(policy=first).fit(meta).portfolio_.incumbent is None
    with pytest.raises(ValueError, match=r"neither a family .* nor a published configuration"):
        replace(policy, portfolio=replace(policy.portfolio, incumbent="catbost-default"))


def test_a_query_is_read_as_the_frame_path_reads_a_table() -> None:
    """The query's fast path gives what the frame path gives: numbers as floats, and NaN for
    ``None``, text and anything else that is no number."""
    from metakg.metalearner.features import tables_frame

    values = {"a": 1, "b": 2.5, "c": None, "d": "3.5", "e": "n/a", "f": True, "g": np.float32(0.25),
              "h": float("nan")}
    fast = tables_frame(values)
    slow = tables_frame(pd.DataFrame([values]))
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.iloc[0].tolist()[:4] == [1.0, 2.5, pytest.approx(np.nan, nan_ok=True), 3.5]


def test_a_recommendation_reuses_its_querys_prediction_and_no_other(meta: MetaData) -> None:
    """Ranking and explaining one query predict once; another query is predicted anew; the
    kept prediction is not part of the fitted state that is pickled."""
    import pickle

    rec = MetaRecommender().fit(meta)
    calls = []
    gaps = rec.features_.family_gaps
    rec.features_.family_gaps = lambda mf: calls.append(1) or gaps(mf)  # type: ignore[method-assign]
    one = R.Query({"frac_cat": 0.9, "log_nr_inst": 7.0, "lm_1nn": 0.7, "lm_stump": 0.8})
    other = R.Query({"frac_cat": 0.1, "log_nr_inst": 7.0, "lm_1nn": 0.7, "lm_stump": 0.8})
    chosen = list(rec.score(one).sort_values(ascending=False).index[:3])
    rec.reasons(one, chosen)
    assert len(calls) == 1
    assert not np.array_equal(rec.predicted(other), rec.predicted(one)) and len(calls) == 3
    del rec.features_.family_gaps
    # the compiled bag predicts what the boosters predict
    for query in (one, other):
        boosters = rec.ranker_.predict(rec.features_.query_rows(query.metafeatures))
        np.testing.assert_allclose(rec.predicted(query), boosters, rtol=1e-9, atol=1e-12)
    assert rec.__dict__.get("_forest") is not None
    restored = pickle.loads(pickle.dumps(rec)).__dict__
    assert "_last_query" in rec.__dict__ and not {"_last_query", "_forest"} & set(restored)



def test_the_recommenders_parts_say_fit_them_first() -> None:
    from metakg.metalearner.features import FeatureBuilder
    from metakg.metalearner.portfolio_step import Portfolio
    from metakg.metalearner.ranker import Ranker
    from metakg.metalearner.score_model import ScoreModel

    for part in (FeatureBuilder(), Ranker(), Portfolio(), ScoreModel()):
        fitted = [k for k in dir(type(part)) if k.endswith("_") and not k.startswith("_")]
        assert not fitted  # the check below reads an attribute that only fit sets
        with pytest.raises(NotFittedError, match=f"This {type(part).__name__} is not fitted yet"):
            part.does_not_exist_  # noqa: B018
        assert not hasattr(part, "does_not_exist_")  # hasattr and check_is_fitted still work
        with pytest.raises(AttributeError, match="has no attribute 'typo'"):
            part.typo  # noqa: B018
