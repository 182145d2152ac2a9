"""One model's outputs on one split, ``models/<name>/split_<i>/``: written by the training stages, read by the results.

The contract between :mod:`mer_utils.training` (deep models),
:mod:`mer_utils.baselines` and :mod:`mer_utils.results`, in one place:

=================== =============================================================
``predictions.csv`` one row per validation track: ``track_id``, ``label``, the
                    probability columns (:func:`probability_columns`),
                    ``predicted`` (from :func:`mer_utils.metrics.predicted_labels`)
``metrics.json``    the scores of :func:`mer_utils.metrics.evaluate`
``history.csv``     :data:`HISTORY_COLUMNS`, one row per epoch (deep models only)
``provenance.json`` parameters, seed, versions, times: what reproduces the split
=================== =============================================================

``label`` and ``predicted`` are class indices of the run's classes
(:func:`mer_utils.splits.load_classes`). The probability columns are named
``prob_<class>``, one per class; with two classes only class 1's is written
(class 0's is 1 minus it), so the paper's task keeps the columns it always
had, :data:`PREDICTION_COLUMNS` (``prob_positive``).

Every file is written through :mod:`mer_utils.fileio` (a kill mid-write
leaves no half file). JSON is strict: NaN (an undefined score, such as the
ROC-AUC of a one-class validation part) is written ``null`` and read back
as NaN. Track ids are read as strings, exactly as written ("007", "NA" and
"None" stay what they are).
"""

import json
import math

import numpy as np
import pandas as pd

from .config import LABELS
from .fileio import atomic_write, write_json
from .metrics import n_classes_of, predicted_labels

PREDICTIONS_CSV = "predictions.csv"
METRICS_JSON = "metrics.json"
HISTORY_CSV = "history.csv"
PROVENANCE_JSON = "provenance.json"
#: Columns of ``history.csv`` (epoch counts from 1).
HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
#: Columns of ``predictions.csv`` for the paper's two classes; ``label`` and ``predicted`` are 0 / 1, 1 = positive.
PREDICTION_COLUMNS = ("track_id", "label", "prob_positive", "predicted")
#: Prefix of the probability columns of ``predictions.csv``.
PROB_PREFIX = "prob_"


def probability_columns(classes=LABELS):
    """The probability columns of ``predictions.csv`` for ``classes`` (in label-index order).

    ``prob_<class>`` for every class; with two classes only the second's
    (class 1), so the paper's ``("negative", "positive")`` gives ``("prob_positive",)``.
    """
    classes = tuple(classes)
    if len(classes) < 2:
        raise ValueError(f"predictions need at least two classes, got {classes}")
    return (f"{PROB_PREFIX}{classes[1]}",) if len(classes) == 2 else tuple(f"{PROB_PREFIX}{c}" for c in classes)


def prediction_columns(classes=LABELS):
    """All columns of ``predictions.csv`` for ``classes``: :data:`PREDICTION_COLUMNS` for the paper's two."""
    return ("track_id", "label", *probability_columns(classes), "predicted")


def probability_columns_of(frame):
    """The probability columns of a predictions table, in order (class index order)."""
    return [column for column in frame.columns if str(column).startswith(PROB_PREFIX)]


def probability_matrix(frame):
    """The class probabilities of a predictions table, shape (n, n_classes).

    A two-class table's one column ``p`` (class 1) gives ``[1 - p, p]``.
    """
    prob = frame.loc[:, probability_columns_of(frame)].to_numpy(dtype=float)
    return np.column_stack([1 - prob[:, 0], prob[:, 0]]) if prob.shape[1] == 1 else prob


# --- writing ------------------------------------------------------------------------

def json_safe(value):
    """``value`` with NaN and infinities as ``None`` and NumPy values as Python ones, recursively.

    What strict JSON can hold: ``json.dumps(json_safe(x), allow_nan=False)`` never fails on numbers.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_strict_json(path, data):
    """Write ``data`` as indented strict JSON (NaN as ``null``) through :func:`mer_utils.fileio.write_json`."""
    return write_json(path, json_safe(data), indent=2)


def write_csv(path, frame):
    """Write ``frame`` without its index as CSV through :func:`mer_utils.fileio.atomic_write`."""
    atomic_write(path, lambda handle: frame.to_csv(handle, index=False))


def prediction_table(track_ids, labels, probabilities, *, classes=LABELS):
    """The validation predictions of one split as ``predictions.csv`` holds them.

    Parameters
    ----------
    track_ids : sequence of str, length n
    labels : array-like, shape (n,)
        True labels, class indices.
    probabilities : array-like, shape (n,) or (n, n_classes)
        Predicted probabilities in a form of :mod:`mer_utils.metrics`: with
        two classes class 1's (shape (n,)) or both (only class 1's is kept).
    classes : sequence of str
        The run's class names, in label-index order; they name the columns.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`prediction_columns`; ``predicted`` uses the decision
        of :func:`mer_utils.metrics.evaluate`.
    """
    prob = np.asarray(probabilities)
    if n_classes_of(prob) != len(classes):
        raise ValueError(f"probabilities of shape {prob.shape} do not fit the {len(classes)} classes {tuple(classes)}")
    columns = probability_columns(classes)
    if len(columns) == 1 and prob.ndim == 2:
        prob = prob[:, 1]
    table = {"track_id": list(track_ids), "label": labels}
    table.update({columns[0]: prob} if len(columns) == 1 else dict(zip(columns, prob.T)))
    return pd.DataFrame({**table, "predicted": predicted_labels(prob)})


def save_split(folder, *, track_ids, labels, scores, provenance, probabilities=None, classes=LABELS, history=None,
               prob_positive=None):
    """Write one split's ``predictions.csv``, ``metrics.json``, ``provenance.json`` and ``history.csv``.

    Parameters
    ----------
    folder : Path
        ``RunLayout.model_dir(model_name, split_index)``; created if missing.
    track_ids : sequence of str, length n
        The split's validation tracks, in order.
    labels : array-like, shape (n,)
        Their true labels, class indices.
    scores : dict
        ``evaluate(labels, probabilities)``; NaN is written ``null``.
    provenance : dict
        Parameters, versions, seed, times: whatever reproduces the split's model.
    probabilities : array-like, shape (n,) or (n, n_classes)
        Their predicted probabilities (see :func:`prediction_table`).
    classes : sequence of str
        The run's classes, in label-index order (default the paper's two).
    history : pandas.DataFrame, optional
        One row per epoch with :data:`HISTORY_COLUMNS` (deep models; baselines have none).
    prob_positive : array-like, shape (n,), optional
        The two-class form of ``probabilities`` (class 1's), as older callers pass it.

    Returns
    -------
    Path
        ``folder``.
    """
    if (probabilities is None) == (prob_positive is None):
        raise ValueError("give the probabilities once: probabilities= (or, for two classes, prob_positive=)")
    probabilities = prob_positive if probabilities is None else probabilities
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / PREDICTIONS_CSV, prediction_table(track_ids, labels, probabilities, classes=classes))
    write_strict_json(folder / METRICS_JSON, scores)
    write_strict_json(folder / PROVENANCE_JSON, provenance)
    if history is not None:
        write_csv(folder / HISTORY_CSV, history.loc[:, list(HISTORY_COLUMNS)])
    return folder


# --- reading ------------------------------------------------------------------------

def split_folders(layout):
    """Every ``models/<name>/split_<i>/`` of a run, as ``[(model_name, split_index, folder), ...]``.

    Sorted by model name, then split index; empty when no model has run.
    """
    models_dir = layout.models_dir
    if not models_dir.is_dir():
        return []
    found = []
    for model_dir in models_dir.iterdir():
        for split_dir in model_dir.glob("split_*") if model_dir.is_dir() else ():
            index = split_dir.name.removeprefix("split_")
            if split_dir.is_dir() and index.isdigit():
                found.append((model_dir.name, int(index), split_dir))
    return sorted(found, key=lambda item: item[:2])


def _read_json(path, what):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))  # also reads the bare NaN of older runs
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable {what} file ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_metrics(path, *, required=()):
    """The numeric scores of a ``metrics.json``, ``null`` read as NaN.

    Parameters
    ----------
    path : Path
    required : sequence of str
        Scores the file must hold.

    Returns
    -------
    dict
        Score name -> float; non-numeric entries (notes) are left out.

    Raises
    ------
    ValueError
        If the file is unreadable, not a JSON object, or lacks a required score.
    """
    scores = _read_json(path, "metrics")
    numeric = {k: math.nan if v is None else float(v) for k, v in scores.items()
               if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))}
    missing = [s for s in required if s not in numeric]
    if missing:
        raise ValueError(f"{path}: missing scores {missing}")
    return numeric


def read_provenance(path):
    """The dictionary of a ``provenance.json``."""
    return _read_json(path, "provenance")


def _read_table(path, **options):
    try:
        return pd.read_csv(path, **options)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path}: not a readable CSV file ({err})") from None


def _read_csv(path, columns, **options):
    frame = _read_table(path, **options)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (has {list(frame.columns)})")
    return frame.loc[:, list(columns)]


def read_predictions(path):
    """A ``predictions.csv``: ``track_id, label``, its probability columns, ``predicted``; ids as written.

    The probability columns are those named ``prob_<class>``, in the file's
    (class index) order: ``prob_positive`` alone for the paper's task. No
    value is read as missing (``keep_default_na=False``), so ids such as
    "NA", "nan" or "None" stay strings; probabilities must be numeric.
    """
    frame = _read_table(path, dtype={"track_id": str}, keep_default_na=False)
    probs = probability_columns_of(frame)
    missing = [c for c in ("track_id", "label", "predicted") if c not in frame.columns]
    if missing or not probs:
        no_probs = "" if probs else " and no probability column (prob_<class>)"
        raise ValueError(f"{path}: missing columns {missing}{no_probs} (has {list(frame.columns)})")
    frame = frame.loc[:, ["track_id", "label", *probs, "predicted"]]
    for column in probs:
        prob = pd.to_numeric(frame[column], errors="coerce")
        if prob.isna().any():
            bad = frame.loc[prob.isna(), "track_id"].tolist()
            raise ValueError(f"{path}: {column} is not a number for tracks {bad[:5]}")
        frame[column] = prob.astype(float)
    return frame


def read_history(path):
    """A ``history.csv``: columns :data:`HISTORY_COLUMNS` (an empty cell, a diverged loss, is NaN)."""
    return _read_csv(path, HISTORY_COLUMNS)
