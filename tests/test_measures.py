"""Measures and their direction: what "at least as good" means for each."""

from __future__ import annotations

import pytest

from metakg.kg import InvalidData
from metakg.kg.measures import at_least_as_good, check_measure, primary_metric


def test_at_least_as_good_follows_the_measures_direction_and_counts_ties() -> None:
    assert at_least_as_good(0.81, 0.80, "roc_auc") and not at_least_as_good(0.79, 0.80, "roc_auc")
    assert at_least_as_good(0.40, 0.45, "log_loss") and not at_least_as_good(0.50, 0.45, "log_loss")
    assert at_least_as_good(3.0, 3.0, "rmse") and at_least_as_good(0.7, 0.7, "accuracy")


def test_primary_metrics_and_unknown_measures() -> None:
    assert [primary_metric("classification", 2), primary_metric("classification", 5),
            primary_metric("regression", None)] == ["roc_auc", "log_loss", "rmse"]
    with pytest.raises(InvalidData, match="Unknown measure 'auc'; known measures: roc_auc, log_loss"):
        check_measure("auc")
