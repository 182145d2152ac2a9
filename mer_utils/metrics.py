"""Named scores of a binary (negative / positive) classifier, mir_eval style.

:func:`evaluate` turns labels and predicted probabilities of the positive
class into a dictionary of scores; every model, baseline and result table
computes its numbers through it, so they are comparable. The decision
threshold is :data:`THRESHOLD` (:func:`predicted_labels`), the same for the
scores and the ``predicted`` column of ``predictions.csv``.

Examples
--------
>>> scores = evaluate([0, 1, 1, 0], [0.2, 0.8, 0.4, 0.1])
>>> scores["accuracy"], scores["roc_auc"]
(0.75, 1.0)
"""

import math
import warnings

import numpy as np
from sklearn import metrics as skm

#: Names of the scores :func:`evaluate` returns, in order.
SCORES = ("accuracy", "balanced_accuracy", "f1", "roc_auc", "n")
#: Probability of the positive class at or above which a track is predicted positive.
THRESHOLD = 0.5


def predicted_labels(prob_positive, *, threshold=THRESHOLD):
    """The decision for each track: 1 (positive) where ``prob_positive >= threshold``, else 0.

    Parameters
    ----------
    prob_positive : array-like, shape (n,)
    threshold : float

    Returns
    -------
    np.ndarray, shape (n,), int
    """
    return (np.asarray(prob_positive) >= threshold).astype(int)


def validate_predictions(y_true, prob_positive, *, threshold=THRESHOLD):
    """Raise ``ValueError`` unless the inputs can be scored.

    Parameters
    ----------
    y_true : array-like, shape (n,)
        True labels, 0 (negative) or 1 (positive).
    prob_positive : array-like, shape (n,)
        Predicted probability of the positive class, in [0, 1].
    threshold : float
        Probability at or above which a track is predicted positive, in (0, 1).

    Returns
    -------
    y_true : np.ndarray, shape (n,), int
    prob_positive : np.ndarray, shape (n,), float
    """
    y = np.asarray(y_true)
    prob = np.asarray(prob_positive)
    if y.ndim != 1 or prob.ndim != 1:
        raise ValueError(f"y_true and prob_positive must be 1-D, got shapes {y.shape} and {prob.shape}")
    if len(y) != len(prob):
        raise ValueError(f"y_true has {len(y)} labels but prob_positive has {len(prob)} probabilities")
    if len(y) == 0:
        raise ValueError("no predictions to evaluate (empty inputs)")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y_true must be 0/1 integer labels, got dtype {y.dtype} (first values {y[:3].tolist()})")
    unexpected = np.setdiff1d(np.unique(y), [0, 1])
    if unexpected.size:
        raise ValueError(f"y_true must hold only 0 (negative) and 1 (positive), found {unexpected[:5].tolist()}")
    if prob.dtype.kind not in "biuf":
        raise ValueError(f"prob_positive must be numeric, got dtype {prob.dtype}")
    if not np.isfinite(prob).all():
        raise ValueError(f"prob_positive has {int((~np.isfinite(prob)).sum())} NaN or infinite values")
    if prob.min() < 0 or prob.max() > 1:
        raise ValueError(f"prob_positive must lie in [0, 1], found range [{prob.min():g}, {prob.max():g}]")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    return y.astype(int), prob.astype(float)


def evaluate(y_true, prob_positive, *, threshold=THRESHOLD):
    """Score predicted probabilities against true labels.

    Parameters
    ----------
    y_true : array-like, shape (n,)
        True labels, 0 (negative) or 1 (positive).
    prob_positive : array-like, shape (n,)
        Predicted probability of the positive class.
    threshold : float
        A track is predicted positive when its probability is ``>= threshold``.

    Returns
    -------
    dict
        ``accuracy``: share of correct predictions (the paper's measure);
        ``balanced_accuracy``: mean of the per-class recalls (equals accuracy on
        balanced data); ``f1``: F1 of the positive class (0 when nothing is
        predicted or labelled positive); ``roc_auc``: area under the ROC curve
        of the probabilities, NaN when ``y_true`` holds one class only (a
        ``UserWarning`` says so); ``n``: number of tracks.

    Raises
    ------
    ValueError
        From :func:`validate_predictions`.
    """
    y, prob = validate_predictions(y_true, prob_positive, threshold=threshold)
    predicted = predicted_labels(prob, threshold=threshold)
    if len(np.unique(y)) < 2:
        warnings.warn(f"roc_auc is undefined (NaN): all {len(y)} tracks have label {y[0]}; "
                      "balanced_accuracy is then the recall of that class", UserWarning, stacklevel=2)
        roc_auc = math.nan
        balanced = float(np.mean(predicted == y))
    else:
        roc_auc = float(skm.roc_auc_score(y, prob))
        balanced = float(skm.balanced_accuracy_score(y, predicted))
    return {
        "accuracy": float(np.mean(predicted == y)),
        "balanced_accuracy": balanced,
        "f1": float(skm.f1_score(y, predicted, zero_division=0.0)),
        "roc_auc": roc_auc,
        "n": int(len(y)),
    }
