"""The ranker: a bag of boosted models of a configuration's relative score."""

from __future__ import annotations

import numpy as np

from metakg.metalearner.ranker import Ranker


def test_rows_of_zero_weight_teach_nothing() -> None:
    """Sample weights reach every model of the bag: rows weighted 0 (a run not to be trusted)
    leave the fit as if they were absent."""
    rng = np.random.default_rng(0)
    X = rng.random((400, 3))
    truth = np.where(X[:, 0] > 0.5, 1.0, -0.5)
    noise = np.where(X[:, 0] > 0.5, -1.0, 1.0)  # the opposite signal on a second set of rows
    both_X, both_y = np.vstack([X, X]), np.concatenate([truth, noise])
    weights = np.concatenate([np.ones(len(X)), np.zeros(len(X))])
    kw = {"n_bags": 2, "n_estimators": 50, "random_state": 0}
    weighted = Ranker(**kw).fit(both_X, both_y, sample_weight=weights)
    alone = Ranker(**kw).fit(X, truth)
    mixed = Ranker(**kw).fit(both_X, both_y)
    probe = rng.random((200, 3))
    high = probe[:, 0] > 0.5
    learnt = weighted.predict(probe)
    assert learnt[high].mean() > learnt[~high].mean() + 0.3  # the trusted rows' signal
    assert np.abs(learnt - alone.predict(probe)).mean() < 0.15
    # without weights the contrary rows cancel it (on the ranker's sharpened target scale,
    # exp(2 (r - 1)), the two groups' means nearly meet)
    unweighted = mixed.predict(probe)
    assert abs(unweighted[high].mean() - unweighted[~high].mean()) < 0.1
