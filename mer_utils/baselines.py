"""Classical baselines on the deep models' splits, so Table 1 can be read in context.

Two models a reader of the paper would try first, each fit on every split's
training part only and scored on its validation part exactly like the deep
models (:func:`mer_utils.metrics.evaluate`):

- lyrics: TF-IDF of the POS-filtered words (notebook 03's tokens) + logistic
  regression;
- audio: per-band mean and standard deviation of the log-mel spectrogram
  (notebook 02's features, ``2 * n_mels`` numbers per track), standardised,
  + logistic regression.

With more than two classes the logistic regression is multinomial (one
softmax over the run's classes, scikit-learn's default for lbfgs), like the
deep models' output. A run with one modality fits the baseline of that
modality only (:func:`run_baselines`).

Outputs go where the deep models' go, ``models/<name>/split_<i>/``, written
by the same :func:`mer_utils.outputs.save_split` (``predictions.csv``,
``metrics.json``, ``provenance.json``; no history: nothing is trained by
epochs), so :mod:`mer_utils.results` treats them as two more rows of Table 1.
Their splits are checked like the deep models' (:func:`mer_utils.catalogue.validate_splits`).
"""

import time

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .catalogue import AUDIO_BASELINE, LYRICS_BASELINE, modalities_needed, validate_splits
from .config import LABELS
from .lyrics import load_tokens
from .mels import MelStore
from .metrics import evaluate
from .modality import load as load_modalities
from .outputs import save_split
from .provenance import describe_estimator, environment
from .splits import label_map, load_classes, load_splits

#: Iterations of the logistic regression solver; lbfgs converges well before on these features.
MAX_ITER = 2000


def _tokens_as_given(tokens):
    """TF-IDF analyzer for documents that are already token lists (notebook 03's output)."""
    return tokens


def make_lyrics_tfidf(*, seed):
    """TF-IDF (sublinear term frequency, unigrams) + logistic regression, unfitted.

    Parameters
    ----------
    seed : int
        ``random_state`` of the classifier (lbfgs is deterministic; kept for provenance).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Takes a list of token lists; fitting it fits the vocabulary and the
        idf weights on the given (training) documents only.
    """
    return make_pipeline(
        TfidfVectorizer(analyzer=_tokens_as_given, sublinear_tf=True),
        LogisticRegression(max_iter=MAX_ITER, class_weight="balanced", random_state=seed),
    )


def make_audio_melstats(*, seed):
    """Standardisation + logistic regression on mel statistics, unfitted.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Takes an array of shape (n_tracks, 2 * n_mels) from :func:`melstats_features`.
    """
    return make_pipeline(
        StandardScaler(),
        LogisticRegression(max_iter=MAX_ITER, class_weight="balanced", random_state=seed),
    )


def melstats_features(store, track_ids):
    """Per-band mean and standard deviation over time of each track's log-mel spectrogram.

    Parameters
    ----------
    store : MelStore
        ``store.get(track_id)`` -> array of shape (n_mels, n_frames).
    track_ids : sequence of str

    Returns
    -------
    np.ndarray, shape (len(track_ids), 2 * n_mels), float32
        Means of bands 0..n_mels-1, then their standard deviations.
    """
    rows = []
    for track_id in track_ids:
        mel = np.asarray(store.get(track_id), dtype=np.float32)  # float16 on disk: sum in float32
        rows.append(np.concatenate([mel.mean(axis=1), mel.std(axis=1)]))
    return np.stack(rows) if rows else np.empty((0, 0), dtype=np.float32)


def fit_on_splits(name, layout, *, splits, labels, features, available, make_model, seed, classes=LABELS):
    """Fit a fresh model per split on its training part, score and save its validation part.

    Parameters
    ----------
    name : str
        A model of :mod:`mer_utils.catalogue`; its output folder under ``models/``.
    layout : RunLayout
    splits : list of dict
        ``[{"train": [ids], "val": [ids]}, ...]`` (:func:`mer_utils.splits.load_splits`).
    labels : dict
        Track id -> class index of ``classes``.
    features : callable
        ``features(track_ids)`` -> the model's input for those tracks.
    available : dict
        The input ``features`` reads (a key of :data:`mer_utils.catalogue.INPUTS`) -> the ids it can serve.
    make_model : callable
        ``make_model(seed=...)`` -> unfitted scikit-learn classifier with ``predict_proba``.
    seed : int
    classes : sequence of str
        The run's classes, in label-index order (default the paper's two).

    Returns
    -------
    pandas.DataFrame
        One row per split: ``split``, the scores of ``evaluate``, ``n_train``,
        ``n_features`` (inputs the classifier saw: the training vocabulary for
        TF-IDF), ``wall_s``.
    """
    validate_splits(name, splits, labels, available)
    rows = []
    for index, split in enumerate(splits):
        start = time.perf_counter()
        model = make_model(seed=seed)
        y_train = np.array([labels[t] for t in split["train"]])
        y_val = np.array([labels[t] for t in split["val"]])
        model.fit(features(split["train"]), y_train)  # the only fit: training tracks only
        probabilities = class_probabilities(model, features(split["val"]), len(classes))
        scores = evaluate(y_val, probabilities)
        extra = {"n_train": len(y_train), "n_features": int(model[-1].n_features_in_),
                 "wall_s": round(time.perf_counter() - start, 3)}
        save_split(layout.model_dir(name, index), track_ids=split["val"], labels=y_val,
                   probabilities=probabilities, classes=classes, scores=scores,
                   provenance={"model": name, "split": index, "seed": seed, "estimator": describe_estimator(model),
                               **extra, **environment()})
        rows.append({"split": index, **scores, **extra})
    return pd.DataFrame(rows)


def class_probabilities(model, features, n_classes):
    """A fitted classifier's ``predict_proba``, one column per class index ``0 .. n_classes - 1``.

    A class absent from the training part has no column in scikit-learn's
    output (``model.classes_``); it gets probability 0 here.

    Returns
    -------
    np.ndarray, shape (n_tracks, n_classes), float64
        Each row sums to 1 to float64 precision: a model fit on float32
        features gives float32 probabilities, whose sums scikit-learn's
        ``log_loss`` would warn about on every call.
    """
    proba = model.predict_proba(features)
    full = np.zeros((proba.shape[0], n_classes))
    full[:, np.asarray(model.classes_, dtype=int)] = proba
    return full / full.sum(axis=1, keepdims=True)


def lyrics_tfidf_baseline(layout, *, seed):
    """TF-IDF + logistic regression on every split; outputs in ``models/baseline_lyrics_tfidf/``.

    Parameters
    ----------
    layout : RunLayout
        A run folder where notebooks 01 and 03 have run (splits, labels, tokens).
    seed : int

    Returns
    -------
    pandas.DataFrame
        Per-split scores, see :func:`fit_on_splits`.
    """
    tokens = load_tokens(layout)
    return fit_on_splits(LYRICS_BASELINE, layout, splits=load_splits(layout), labels=label_map(layout),
                         features=lambda ids: [tokens[t] for t in ids], available={"tokens": tokens},
                         make_model=make_lyrics_tfidf, seed=seed, classes=load_classes(layout))


def audio_melstats_baseline(layout, *, seed):
    """Mel mean/std + logistic regression on every split; outputs in ``models/baseline_audio_melstats/``.

    Parameters
    ----------
    layout : RunLayout
        A run folder where notebooks 01 and 02 have run (splits, labels, mel features).
    seed : int

    Returns
    -------
    pandas.DataFrame
        Per-split scores, see :func:`fit_on_splits`.
    """
    store = MelStore.open(layout)
    splits = load_splits(layout)
    known = set(store.ids)
    ids = sorted({t for split in splits for t in (*split["train"], *split["val"]) if t in known})
    table = dict(zip(ids, melstats_features(store, ids)))  # each track's features computed once
    return fit_on_splits(AUDIO_BASELINE, layout, splits=splits, labels=label_map(layout),
                         features=lambda batch: np.stack([table[t] for t in batch]), available={"mel": table},
                         make_model=make_audio_melstats, seed=seed, classes=load_classes(layout))


#: Each baseline and the function that fits it, in the order :func:`run_baselines` runs them.
BASELINES = {LYRICS_BASELINE: lyrics_tfidf_baseline, AUDIO_BASELINE: audio_melstats_baseline}


def run_baselines(layout, *, seed):
    """The baselines of the run's modalities on every split; their per-split scores in one table.

    Both for a run with audio and lyrics; a run with one modality
    (:func:`mer_utils.modality.load`) fits only that modality's baseline.

    Returns
    -------
    pandas.DataFrame
        :func:`fit_on_splits`'s rows with a leading ``model`` column.
    """
    have = set(load_modalities(layout))
    runs = {name: fit(layout, seed=seed) for name, fit in BASELINES.items()
            if set(modalities_needed(name)) <= have}
    return pd.concat(runs, names=["model", None]).reset_index(level=0).reset_index(drop=True)
