"""Named scores against values computed by hand."""

import math

import numpy as np
import pytest

from mer_utils.metrics import SCORES, evaluate, validate_predictions

# Four positives, two negatives. At threshold 0.5 the predictions are 1 1 1 0 | 0 1:
# TP = 3, FN = 1 (0.3), TN = 1 (0.4), FP = 1 (0.8).
Y = [1, 1, 1, 1, 0, 0]
PROB = [0.9, 0.7, 0.6, 0.3, 0.4, 0.8]


def test_scores_by_hand():
    scores = evaluate(Y, PROB)
    assert list(scores) == list(SCORES)
    assert scores["accuracy"] == pytest.approx(4 / 6)  # TP + TN over all
    assert scores["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 2)  # recalls of positive and negative
    assert scores["f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))  # 2TP / (2TP + FP + FN)
    # ROC-AUC = share of (positive, negative) pairs ranked correctly: 0.9 and 0.7 and 0.6 beat 0.4,
    # only 0.9 beats 0.8: 4 of 8 pairs.
    assert scores["roc_auc"] == pytest.approx(4 / 8)
    assert scores["n"] == 6


def test_threshold_moves_the_decisions_not_the_auc():
    scores = evaluate(Y, PROB, threshold=0.85)  # predicts 1 0 0 0 | 0 0: TP 1, FN 3, TN 2
    assert scores["accuracy"] == pytest.approx(3 / 6)
    assert scores["balanced_accuracy"] == pytest.approx((1 / 4 + 2 / 2) / 2)
    assert scores["f1"] == pytest.approx(2 * 1 / (2 * 1 + 0 + 3))
    assert scores["roc_auc"] == pytest.approx(0.5)


def test_a_probability_equal_to_the_threshold_is_positive():
    assert evaluate([1, 0], [0.5, 0.2])["accuracy"] == 1.0


def test_ties_count_half_in_the_auc():
    assert evaluate([1, 0, 1, 0], [0.6, 0.6, 0.9, 0.1])["roc_auc"] == pytest.approx((1 + 0.5 + 1 + 1) / 4)


def test_one_class_gives_nan_auc_with_a_warning():
    with pytest.warns(UserWarning, match="roc_auc is undefined"):
        scores = evaluate([1, 1, 1], [0.9, 0.2, 0.7])
    assert math.isnan(scores["roc_auc"])
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["balanced_accuracy"] == pytest.approx(2 / 3)  # the recall of the only class


def test_no_positive_prediction_gives_zero_f1():
    assert evaluate([1, 0, 1], [0.1, 0.2, 0.3])["f1"] == 0.0


def test_accepts_numpy_and_bool_labels():
    scores = evaluate(np.array([True, False]), np.array([0.7, 0.1], dtype=np.float32))
    assert scores["accuracy"] == 1.0 and scores["roc_auc"] == 1.0


@pytest.mark.parametrize("y, prob, kwargs, message", [
    ([1, 0], [0.5], {}, "y_true has 2 labels but prob_positive has 1"),
    ([], [], {}, "no predictions to evaluate"),
    ([[1, 0]], [[0.1, 0.2]], {}, r"must be 1-D, got shapes \(1, 2\)"),
    ([1, 2], [0.1, 0.2], {}, r"only 0 \(negative\) and 1 \(positive\), found \[2\]"),
    (["positive", "negative"], [0.1, 0.2], {}, "must be 0/1 integer labels, got dtype <U8"),
    ([1, 0], [0.1, 1.2], {}, r"must lie in \[0, 1\], found range \[0.1, 1.2\]"),
    ([1, 0], [0.1, float("nan")], {}, "1 NaN or infinite values"),
    ([1, 0], [0.1, 0.2], {"threshold": 1.0}, "threshold must lie strictly between 0 and 1, got 1.0"),
])
def test_bad_inputs_raise_precise_errors(y, prob, kwargs, message):
    with pytest.raises(ValueError, match=message):
        validate_predictions(y, prob, **kwargs)
    with pytest.raises(ValueError, match=message):
        evaluate(y, prob, **kwargs)
