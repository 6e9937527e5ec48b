"""Measures and their direction: what "at least as good" means for each."""

from __future__ import annotations

import pytest

from metakg.kg import InvalidData
from metakg.kg.measures import (
    at_least_as_good,
    check_fold_scores,
    check_measure,
    check_quality_measure,
    check_score,
    primary_metric,
)


def test_at_least_as_good_follows_the_measures_direction_and_counts_ties() -> None:
    assert at_least_as_good(0.81, 0.80, "roc_auc") and not at_least_as_good(0.79, 0.80, "roc_auc")
    assert at_least_as_good(0.40, 0.45, "log_loss") and not at_least_as_good(0.50, 0.45, "log_loss")
    assert at_least_as_good(3.0, 3.0, "rmse") and at_least_as_good(0.7, 0.7, "accuracy")


def test_primary_metrics_and_unknown_measures() -> None:
    assert [primary_metric("classification", 2), primary_metric("classification", 5),
            primary_metric("regression", None)] == ["roc_auc", "log_loss", "rmse"]
    with pytest.raises(InvalidData, match="Unknown measure 'auc'; known measures: roc_auc, log_loss"):
        check_measure("auc")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("roc_auc", float("nan"), r"roc_auc=nan is not a possible roc_auc: it must be finite and in \[0, 1\]"),
    ("roc_auc", 1.5, r"in \[0, 1\]"),
    ("accuracy", -0.1, r"in \[0, 1\]"),
    ("log_loss", -0.2, "at least 0"),
    ("rmse", float("inf"), "at least 0"),
    ("r2", 1.2, "at most 1"),
    ("fit_time", -1.0, "at least 0"),
    ("roc_auc", "high", "must be numbers"),
])
def test_an_impossible_score_is_refused_with_the_measures_range(name: str, value: object,
                                                                 message: str) -> None:
    with pytest.raises(InvalidData, match=message):
        check_score(name, value)  # type: ignore[arg-type]


def test_possible_scores_pass_including_the_ends_of_the_range() -> None:
    assert [check_score("roc_auc", 0), check_score("roc_auc", 1), check_score("r2", -3.5),
            check_score("log_loss", 0.0), check_score("rmse", 1e6)] == [0.0, 1.0, -3.5, 0.0, 1e6]


def test_a_quality_measure_must_fit_the_task_type() -> None:
    assert check_quality_measure("rmse", "regression") == "rmse"
    with pytest.raises(InvalidData, match="'rmse' does not measure a classification model's quality; "
                                          "use one of: roc_auc, log_loss, accuracy, balanced_accuracy"):
        check_quality_measure("rmse", "classification")
    with pytest.raises(InvalidData, match="'fit_time' does not measure a regression model's quality"):
        check_quality_measure("fit_time", "regression")


def test_a_hand_logged_run_has_one_value_per_fold_at_most_and_fitting_measures() -> None:
    ok = {"roc_auc": [0.8, 0.9], "fit_time": [1, 2]}
    assert check_fold_scores(ok, task_type="classification", folds=3) == {
        "roc_auc": [0.8, 0.9], "fit_time": [1.0, 2.0]}
    for scores, message in [({"roc_auc": []}, "roc_auc: no value given"),
                            ({"roc_auc": [0.8] * 4}, "roc_auc: 4 values for a task of 3 folds"),
                            ({"r2": [0.5]}, "'r2' does not measure a classification"),
                            ({"roc_auc": [0.8, float("nan")]}, "roc_auc=nan is not a possible")]:
        with pytest.raises(InvalidData, match=message):
            check_fold_scores(scores, task_type="classification", folds=3)
