"""Named scores against values computed by hand: two classes (the paper's) and N classes."""

import math

import numpy as np
import pytest

from mer_utils.metrics import MULTICLASS_SCORES, SCORES, evaluate, predicted_labels, score_names, validate_predictions

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
    # macro-F1: the positive class's 3/4 and the negative class's 2 * 1 / (2 * 1 + 1 + 1) = 1/2, averaged
    assert scores["macro_f1"] == pytest.approx((3 / 4 + 1 / 2) / 2)
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
    ([1, 0], [0.5], {}, "y_true has 2 labels but probabilities has 1 rows"),
    ([], [], {}, "no predictions to evaluate"),
    ([[1, 0]], [[0.1, 0.2]], {}, r"y_true must be 1-D .* got shapes \(1, 2\) and \(1, 2\)"),
    ([1, 0], [[0.1], [0.2]], {}, r"a column per class \(at least 2\), got shapes \(2,\) and \(2, 1\)"),
    ([1, 2], [0.1, 0.2], {}, r"only 0 \(negative\) and 1 \(positive\), found \[2\]"),
    ([0, 3], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], {}, r"only class indices 0 to 2, found \[3\]"),
    ([0, 1], [[0.2, 0.3, 0.4], [0.1, 0.1, 0.8]], {}, r"must sum to 1; rows \[0\] sum to \[0.9\]"),
    (["positive", "negative"], [0.1, 0.2], {}, "must be integer class indices, got dtype <U8"),
    ([1, 0], [0.1, 1.2], {}, r"must lie in \[0, 1\], found range \[0.1, 1.2\]"),
    ([1, 0], [0.1, float("nan")], {}, "1 NaN or infinite values"),
    ([1, 0], [0.1, 0.2], {"threshold": 1.0}, "threshold must lie strictly between 0 and 1, got 1.0"),
])
def test_bad_inputs_raise_precise_errors(y, prob, kwargs, message):
    with pytest.raises(ValueError, match=message):
        validate_predictions(y, prob, **kwargs)
    with pytest.raises(ValueError, match=message):
        evaluate(y, prob, **kwargs)


# --- N classes ------------------------------------------------------------------------------

# Three classes, six tracks. Rows: probabilities of classes 0, 1, 2; the most probable class is predicted.
Y3 = [0, 0, 1, 1, 2, 2]
PROB3 = [[0.7, 0.2, 0.1],   # 0 -> 0
         [0.3, 0.6, 0.1],   # 0 -> 1
         [0.1, 0.8, 0.1],   # 1 -> 1
         [0.2, 0.5, 0.3],   # 1 -> 1
         [0.1, 0.3, 0.6],   # 2 -> 2
         [0.5, 0.1, 0.4]]   # 2 -> 0


def test_three_classes_by_hand():
    scores = evaluate(Y3, PROB3)
    assert list(scores) == list(MULTICLASS_SCORES) == list(score_names(3)), "no positive class, so no f1"
    assert predicted_labels(PROB3).tolist() == [0, 1, 1, 1, 2, 0]
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 2 + 1 / 2) / 3)  # recalls of classes 0, 1, 2
    # per-class F1 = 2TP / (2TP + FP + FN): class 0: TP 1, FP 1, FN 1 -> 1/2; class 1: TP 2, FP 1, FN 0 -> 4/5;
    # class 2: TP 1, FP 0, FN 1 -> 2/3
    assert scores["macro_f1"] == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    # one-vs-rest AUC, share of (class c, other) pairs ranked right by column c:
    # class 0 (0.7, 0.3 against 0.1, 0.2, 0.1, 0.5): 4 + 3 of 8 pairs; class 1 (0.8, 0.5 against 0.2, 0.6, 0.3,
    # 0.1): 4 + 3; class 2 (0.6, 0.4 against 0.1, 0.1, 0.1, 0.3): 4 + 4
    assert scores["roc_auc"] == pytest.approx((7 / 8 + 7 / 8 + 1) / 3)
    assert scores["n"] == 6


def test_two_columns_score_exactly_as_the_positive_column():
    """A model's (n, 2) softmax and its class-1 column are one thing: the same scores, the threshold decides."""
    rng = np.random.default_rng(3)
    y, prob = rng.integers(0, 2, 40), rng.random(40)
    assert evaluate(y, np.column_stack([1 - prob, prob])) == evaluate(y, prob)
    assert predicted_labels([[0.5, 0.5]]).tolist() == [1], "the threshold's tie rule, not argmax's"


def test_binary_scores_are_those_of_the_previous_version():
    """The values ``evaluate`` gave before N classes existed, on a fixed draw (computed with that version)."""
    rng = np.random.default_rng(12)
    y, prob = rng.integers(0, 2, 50), rng.random(50)
    scores = evaluate(y, prob)
    assert {k: scores[k] for k in ("accuracy", "balanced_accuracy", "f1", "roc_auc", "n")} == {
        "accuracy": 0.48, "balanced_accuracy": 0.4895330112721417, "f1": 0.5185185185185185,
        "roc_auc": 0.5072463768115942, "n": 50}


def test_a_class_missing_from_the_labels_is_averaged_out_with_a_warning():
    prob = [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3]]
    with pytest.warns(UserWarning, match=r"classes \[2\] have no track here"):
        scores = evaluate([0, 1, 0], prob)
    assert scores["roc_auc"] == 1.0 and scores["balanced_accuracy"] == 1.0
    assert scores["macro_f1"] == pytest.approx(2 / 3), "the never-seen class counts 0"
    with pytest.warns(UserWarning, match="roc_auc is undefined"):
        assert math.isnan(evaluate([1, 1, 1], prob)["roc_auc"])
