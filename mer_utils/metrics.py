"""Named scores of a classifier over the run's classes, mir_eval style.

:func:`evaluate` turns labels and predicted probabilities into a dictionary
of scores; every model, baseline and result table computes its numbers
through it, so they are comparable. Labels are class indices (label ``i`` is
``classes[i]``, :func:`mer_utils.splits.load_classes`).

Probabilities come in one of two forms:

- **two classes**: shape ``(n,)``, the probability of class 1 (the paper's
  *positive*), or ``(n, 2)``, of which only column 1 is read. A track is
  predicted 1 when that probability is at least :data:`THRESHOLD`
  (:func:`predicted_labels`), the same for the scores and the ``predicted``
  column of ``predictions.csv``;
- **N > 2 classes**: shape ``(n, N)``, one column per class, each row summing
  to 1; the prediction is the most probable class.

Examples
--------
>>> scores = evaluate([0, 1, 1, 0], [0.2, 0.8, 0.4, 0.1])
>>> scores["accuracy"], scores["roc_auc"]
(0.75, 1.0)
>>> scores = evaluate([0, 1, 2], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3]])
>>> scores["accuracy"], scores["roc_auc"]
(0.6666666666666666, 1.0)
"""

import math
import warnings

import numpy as np
from sklearn import metrics as skm

#: Names of the scores :func:`evaluate` returns for two classes, in order.
SCORES = ("accuracy", "balanced_accuracy", "f1", "macro_f1", "roc_auc", "n")
#: Names of the scores :func:`evaluate` returns for more than two classes (no class is "positive").
MULTICLASS_SCORES = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "n")
#: Probability of class 1 at or above which a track of a two-class task is predicted 1.
THRESHOLD = 0.5
#: How far a row of N-class probabilities may sum from 1 (float32 softmax outputs, averaged models).
SUM_TOLERANCE = 1e-3


def score_names(n_classes):
    """The names :func:`evaluate` returns for ``n_classes`` classes: :data:`SCORES` or :data:`MULTICLASS_SCORES`."""
    return SCORES if n_classes == 2 else MULTICLASS_SCORES


def n_classes_of(probabilities):
    """The number of classes a probability array covers: 2 for shape ``(n,)`` or ``(n, 2)``, else its columns."""
    shape = np.shape(probabilities)
    return 2 if len(shape) == 1 else shape[1]


def positive_column(prob):
    """A two-class probability array as the probability of class 1, shape (n,); others unchanged."""
    return prob[:, 1] if prob.ndim == 2 and prob.shape[1] == 2 else prob


def predicted_labels(probabilities, *, threshold=THRESHOLD):
    """The decision for each track.

    Parameters
    ----------
    probabilities : array-like, shape (n,) or (n, n_classes)
        Two classes: class 1 where its probability is ``>= threshold``, else 0.
        More: the most probable class (the first of a tie).
    threshold : float

    Returns
    -------
    np.ndarray, shape (n,), int
    """
    prob = positive_column(np.asarray(probabilities))
    if prob.ndim == 1:
        return (prob >= threshold).astype(int)
    return prob.argmax(axis=1).astype(int)


def validate_predictions(y_true, probabilities, *, threshold=THRESHOLD):
    """Raise ``ValueError`` unless the inputs can be scored.

    Parameters
    ----------
    y_true : array-like, shape (n,)
        True labels: class indices ``0 .. n_classes - 1``.
    probabilities : array-like, shape (n,) or (n, n_classes)
        Predicted probabilities in [0, 1] (see the module's two forms); with
        more than two classes every row sums to 1.
    threshold : float
        Two classes: probability at or above which a track is predicted 1, in (0, 1).

    Returns
    -------
    y_true : np.ndarray, shape (n,), int
    probabilities : np.ndarray, shape (n,) (two classes: class 1's) or (n, n_classes), float
    """
    y = np.asarray(y_true)
    prob = np.asarray(probabilities)
    if y.ndim != 1 or prob.ndim not in (1, 2) or (prob.ndim == 2 and prob.shape[1] < 2):
        raise ValueError(f"y_true must be 1-D and probabilities 1-D or 2-D with a column per class (at least 2), "
                         f"got shapes {y.shape} and {prob.shape}")
    if len(y) != len(prob):
        raise ValueError(f"y_true has {len(y)} labels but probabilities has {len(prob)} rows")
    if len(y) == 0:
        raise ValueError("no predictions to evaluate (empty inputs)")
    n_classes = n_classes_of(prob)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y_true must be integer class indices, got dtype {y.dtype} (first values {y[:3].tolist()})")
    unexpected = np.setdiff1d(np.unique(y), np.arange(n_classes))
    if unexpected.size:
        allowed = "0 (negative) and 1 (positive)" if n_classes == 2 else f"class indices 0 to {n_classes - 1}"
        raise ValueError(f"y_true must hold only {allowed}, found {unexpected[:5].tolist()}")
    if prob.dtype.kind not in "biuf":
        raise ValueError(f"probabilities must be numeric, got dtype {prob.dtype}")
    if not np.isfinite(prob).all():
        raise ValueError(f"probabilities has {int((~np.isfinite(prob)).sum())} NaN or infinite values")
    if prob.min() < 0 or prob.max() > 1:
        raise ValueError(f"probabilities must lie in [0, 1], found range [{prob.min():g}, {prob.max():g}]")
    if n_classes > 2:
        sums = prob.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1) > SUM_TOLERANCE)
        if off.size:
            raise ValueError(f"each row of probabilities must sum to 1; rows {off[:5].tolist()} sum to "
                             f"{[round(float(s), 4) for s in sums[off[:5]]]}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie strictly between 0 and 1, got {threshold}")
    return y.astype(int), positive_column(prob).astype(float)


def evaluate(y_true, probabilities, *, threshold=THRESHOLD):
    """Score predicted probabilities against true labels.

    Parameters
    ----------
    y_true : array-like, shape (n,)
        True labels: class indices (two classes: 0 negative, 1 positive).
    probabilities : array-like, shape (n,) or (n, n_classes)
        Predicted probabilities, in one of the two forms of the module.
    threshold : float
        Two classes: a track is predicted 1 when its probability is ``>= threshold``.

    Returns
    -------
    dict
        ``accuracy``: share of correct predictions (the paper's measure);
        ``balanced_accuracy``: mean of the per-class recalls (equals accuracy
        on balanced data); two classes only, ``f1``: F1 of class 1, the
        positive one (0 when nothing is predicted or labelled 1);
        ``macro_f1``: mean of the per-class F1 (a class never predicted nor
        labelled counts 0); ``roc_auc``: area under the ROC curve of the
        probabilities, with more than two classes the mean over the classes
        of each class against the rest (one-vs-rest), NaN when ``y_true``
        holds one class only (a ``UserWarning`` says so); ``n``: number of
        tracks. Names and order: :func:`score_names`.

    Raises
    ------
    ValueError
        From :func:`validate_predictions`.
    """
    y, prob = validate_predictions(y_true, probabilities, threshold=threshold)
    if prob.ndim == 2:
        return _evaluate_multiclass(y, prob)
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
        "macro_f1": _macro_f1(y, predicted, 2),
        "roc_auc": roc_auc,
        "n": int(len(y)),
    }


def _macro_f1(y, predicted, n_classes):
    return float(skm.f1_score(y, predicted, labels=list(range(n_classes)), average="macro", zero_division=0.0))


def _evaluate_multiclass(y, prob):
    """:func:`evaluate` for more than two classes (``prob``: shape (n, n_classes))."""
    n_classes = prob.shape[1]
    predicted = predicted_labels(prob)
    present = np.unique(y)
    recalls = [np.mean(predicted[y == c] == c) for c in present]
    if len(present) < 2:
        warnings.warn(f"roc_auc is undefined (NaN): all {len(y)} tracks have label {y[0]}; "
                      "balanced_accuracy is then the recall of that class", UserWarning, stacklevel=3)
        roc_auc = math.nan
    else:
        if len(present) < n_classes:
            absent = sorted(set(range(n_classes)) - set(present.tolist()))
            warnings.warn(f"classes {absent} have no track here: roc_auc and balanced_accuracy average over the "
                          f"{len(present)} classes present", UserWarning, stacklevel=3)
        roc_auc = float(np.mean([skm.roc_auc_score(y == c, prob[:, c]) for c in present]))
    return {
        "accuracy": float(np.mean(predicted == y)),
        "balanced_accuracy": float(np.mean(recalls)),
        "macro_f1": _macro_f1(y, predicted, n_classes),
        "roc_auc": roc_auc,
        "n": int(len(y)),
    }
