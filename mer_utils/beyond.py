"""Notebook 08: what a practitioner would do today, beside the paper's models, on the same folds, never tuned on them.

The paper's six models stay as they are (the reproduction). This module adds
rows to Table 1, each fit on every outer split of notebook 01
(``data/splits.json``, restricted to the kept tracks: the very folds every
other model used) and scored on its validation part, the **outer fold**:

- **frozen pretrained features + logistic regression**: musicnn's tags and
  pooled penultimate layer for audio
  (:mod:`mer_utils.pretrained.musicnn_features`); WordLlama embeddings and
  VADER / TextBlob sentiment for lyrics
  (:mod:`mer_utils.pretrained.lyrics_features`);
- **zero-shot mood scores**, for teaching: musicnn's ``happy`` and
  ``party`` tags against ``sad`` and ``Mellow`` (:data:`ZERO_SHOT_TAGS`),
  with only a threshold fit on the training part (two classes only);
- **fusion beside the paper's concatenation**: early fusion (both feature
  sets in one logistic regression), late fusion (the mean of the two
  models' probabilities) and stacking (a logistic regression on the two
  probabilities);
- **the paper's deep models trained never-tuned** (:func:`train_nested`):
  early stopping on an inner validation part of the training fold.

Every row but the zero-shot one takes any number of classes, as notebooks
04-07 do: with a ``label_map`` of K classes the logistic regressions are
multinomial, late fusion averages K probabilities, and the stacker reads
each model's K log-probabilities.

**Never tuned on the scored fold.** Every choice is made on the training
part of the outer split only: the regularisation ``C`` of each logistic
regression by an inner stratified k-fold cross-validation
(:func:`make_classifier`, log-loss); the stacker is fit on inner
out-of-fold probabilities of the two unimodal models; the decision
threshold stays 0.5 (:data:`mer_utils.metrics.THRESHOLD`); late fusion has
no weight to choose. The outer fold is seen once, to be scored. The
paper's protocol (early stopping on the scored part) stays in its own rows,
labelled ``paper`` (:data:`mer_utils.catalogue.PROTOCOLS`), so the two can
be read side by side.

Outputs go where every model's go, ``models/<name>/split_<i>/``, through
:func:`mer_utils.outputs.save_split`, so :mod:`mer_utils.results` reads
them like any other row. The two unimodal rows also save their fit
(``linear_model.npz``, :mod:`mer_utils.linear_model`), with which
:mod:`mer_utils.predict` scores new songs. A track without pretrained features (rejected by
the feature stage) stays in its fold, so that every row is scored on
identical tracks: its missing values are imputed with the training part's
means (the classifier then leans on the prior), and the split's
provenance counts such tracks.
"""

import dataclasses
import logging
import math
import shutil
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from . import catalogue, outputs, results
from .catalogue import (
    AUDIO_BASELINE, BEYOND_INFO, EARLY_FUSION, FINETUNED_AUDIO, LATE_FUSION, LYRICS_BASELINE, NESTED_SUFFIX,
    PRETRAINED_AUDIO, PRETRAINED_LYRICS, PRETRAINED_ROWS, STACKING, ZERO_SHOT, model_info,
)
from .fileio import write_text
from .linear_model import LINEAR_MODEL_FILE, LinearModel
from .metrics import evaluate, positive_column
from .provenance import environment
from .splits import label_map, load_classes, load_splits, read_splits

logger = logging.getLogger(__name__)

#: p value under which :func:`recommended_verdicts` calls a difference significant.
SIGNIFICANCE = 0.05
#: The rows :func:`evaluate_pretrained` writes, as the features and the classes allow.
EVALUATED_ROWS = (PRETRAINED_AUDIO, ZERO_SHOT, PRETRAINED_LYRICS, EARLY_FUSION, LATE_FUSION, STACKING)
#: Columns of :func:`corrected_paired_tests`.
CORRECTED_COLUMNS = ("model_a", "model_b", "metric", "n_pairs", "mean_a", "mean_b", "mean_difference", "t_statistic",
                     "corrected_p_value", "plain_p_value")
#: Columns of :func:`recommended_verdicts`.
VERDICT_COLUMNS = ("modality", "model", "baseline", "n_pairs", "mean_model", "mean_baseline", "difference",
                   "p_value", "verdict")

#: Regularisation strengths the inner cross-validation chooses from (inverse L2 penalty). Not in the paper.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
#: Folds of the inner cross-validation inside each outer training part. Not in the paper.
INNER_FOLDS = 5
#: Share of an outer training part held out to stop the deep models early (never-tuned rows). Not in the paper.
INNER_VAL_FRACTION = 0.2
#: Folds of each repetition of :func:`repeated_evaluation`.
REPEATED_FOLDS = 5
#: With ``n_workers=0``, one worker process per this many folds: a worker costs ~1.5 s of imports to start, and
#: one fold (a grid of logistic regressions per row, cross-validated) seconds even on the smoke corpus.
MIN_FOLDS_PER_WORKER = 2
#: Iterations of the logistic regression solver.
MAX_ITER = 5000
#: Key of a row's details holding its fitted :class:`~mer_utils.linear_model.LinearModel` (saved, not in provenance).
FITTED = "fitted"
#: Probabilities are clipped to [EPS, 1 - EPS] before their logit is taken (stacking).
EPS = 1e-6
#: The zero-shot row's mood tags, per checkpoint, chosen by their names before any score was seen: the
#: score is the mean probability of the positive tags minus that of the negative ones. Not in the paper.
ZERO_SHOT_TAGS = {"MSD_musicnn": {"positive": ("happy", "party"), "negative": ("sad", "Mellow")},
                  "MTT_musicnn": {"positive": ("fast", "dance"), "negative": ("slow", "soft")}}


# --- inner splits ---------------------------------------------------------------------

def artist_groups(layout):
    """``{track_id: artist}`` when notebook 01 grouped its splits by artist, else ``None``.

    The inner splits then keep an artist's songs on one side too, as the outer ones do.
    """
    from .accounting import read_ledger

    _, params = read_splits(layout)
    if not params.get("group_by_artist"):
        return None
    ledger = read_ledger(layout.tracks_csv)
    return dict(zip(ledger["track_id"], ledger["artist"].fillna("").astype(str)))


def n_classes_of_labels(labels):
    """Classes of a ``{track_id: class index}`` mapping: the largest index + 1 (at least 2)."""
    return max(2, max(labels.values()) + 1)


def class_indices(labels):
    """The classes of ``labels`` named by their indices, as :func:`mer_utils.splits.make_splits` takes them."""
    return tuple(range(n_classes_of_labels(labels)))


def inner_folds(track_ids, labels, *, seed, groups=None, n_folds=INNER_FOLDS):
    """The inner cross-validation of one outer training part, as a list of ``(train_index, val_index)``.

    Stratified k-fold, shuffled with ``seed``; grouped by artist when
    ``groups`` is given (an unknown artist is a group of its own). The
    number of folds shrinks to what the smaller class (or the groups) allows.
    """
    y = np.array([labels[t] for t in track_ids])
    n_folds = max(2, min(n_folds, int(np.bincount(y, minlength=2).min())))
    if groups is None:
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y))
    codes = [groups.get(t) or f"__track_{t}" for t in track_ids]
    splitter = StratifiedGroupKFold(n_splits=min(n_folds, len(set(codes))), shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, codes))


def inner_split(track_ids, labels, *, seed, groups=None, val_fraction=INNER_VAL_FRACTION):
    """One outer training part cut into ``(inner_train_ids, inner_val_ids)``, stratified (and grouped).

    Made with :func:`mer_utils.splits.make_splits` (scheme ``shuffle``), as notebook 01 makes its splits.
    """
    from .splits import make_splits

    ids = list(track_ids)
    group_list = None if groups is None else [groups.get(t, "") for t in ids]
    (split,) = make_splits(ids, [labels[t] for t in ids], scheme="shuffle", n_splits=1,
                           val_fraction=val_fraction, seed=seed, groups=group_list, classes=class_indices(labels))
    return split["train"], split["val"]


# --- classifiers ----------------------------------------------------------------------

def make_logistic(*, seed, C=1.0):
    """Mean imputation + standardisation + logistic regression (balanced class weights), unfitted."""
    return make_pipeline(SimpleImputer(strategy="mean", keep_empty_features=True), StandardScaler(),
                         LogisticRegression(C=C, max_iter=MAX_ITER, class_weight="balanced", random_state=seed))


def make_classifier(cv, *, seed, n_classes, c_grid=C_GRID):
    """:func:`make_logistic` whose ``C`` an inner cross-validation chooses (log-loss), then refit on all of it.

    Parameters
    ----------
    cv : list of (train_index, val_index)
        The inner folds (:func:`inner_folds`) of the data it will be fit on.
    seed : int
    n_classes : int
        The run's classes: the log-loss is taken over all of them (:func:`inner_log_loss`).
    c_grid : sequence of float

    Returns
    -------
    sklearn.model_selection.GridSearchCV
        Unfitted; ``best_params_`` says which ``C`` it chose.
    """
    return GridSearchCV(make_logistic(seed=seed), {"logisticregression__C": list(c_grid)}, cv=cv,
                        scoring=inner_log_loss(n_classes), refit=True, n_jobs=1, error_score="raise")


def inner_log_loss(n_classes):
    """The inner cross-validation's score: minus the log-loss over all ``n_classes`` classes.

    scikit-learn's ``"neg_log_loss"`` fails on an inner fold whose training or
    validation part lacks a class (artist-grouped folds of a small class make
    such folds), and the search then records NaN for every ``C`` and keeps
    the first. Here a class the fold's model never saw gets probability 0,
    and the loss covers every class.
    """
    from .baselines import class_probabilities as all_columns

    classes = list(range(n_classes))

    def score(estimator, X, y):
        return -log_loss(y, all_columns(estimator, X, n_classes), labels=classes)

    return score


def class_probabilities(model, X, n_classes):
    """A fitted classifier's probabilities for the rows of ``X``, in the form :mod:`mer_utils.metrics` reads.

    Returns
    -------
    np.ndarray [shape=(n_rows,) for two classes (class 1's), else (n_rows, n_classes)]
        Columns in class-index order (:func:`mer_utils.baselines.class_probabilities`).
    """
    from .baselines import class_probabilities as all_columns

    return positive_column(all_columns(model, X, n_classes))


def stacking_features(*probabilities):
    """The stacker's inputs: each model's log-odds (two classes) or log-probabilities (more), side by side.

    Parameters
    ----------
    *probabilities : np.ndarray [shape=(n,) or (n, n_classes)]

    Returns
    -------
    np.ndarray [shape=(n, n_models) or (n, n_models * n_classes)]
        Probabilities clipped to [EPS, 1 - EPS] first.
    """
    columns = []
    for prob in probabilities:
        prob = np.clip(np.asarray(prob, dtype=float), EPS, 1 - EPS)
        columns.append(np.log(prob / (1 - prob))[:, None] if prob.ndim == 1 else np.log(prob))
    return np.hstack(columns)


# --- one outer split ---------------------------------------------------------------------

def fold_probabilities(train_ids, test_ids, labels, sources, *, seed, groups=None, c_grid=C_GRID,
                       n_inner=INNER_FOLDS):
    """Fit every pretrained row on ``train_ids`` only; their probabilities for ``test_ids``.

    Parameters
    ----------
    train_ids, test_ids : list of str
        One outer split's training part and scored fold.
    labels : dict
        Track id -> class index (0 / 1: negative / positive for the paper's task).
    sources : dict
        ``{"musicnn": DataFrame, "lyrics_features": DataFrame}`` (either may be
        absent), indexed by track id; a track missing from a table is imputed.
    seed : int
    groups : dict, optional
        Track id -> artist, for grouped inner folds.
    c_grid : sequence of float
    n_inner : int

    Returns
    -------
    dict
        Model name -> ``(probabilities for test_ids, details)``, the
        probabilities as :func:`class_probabilities` gives them (class 1's
        for two classes); the unimodal rows of the sources given, the
        zero-shot row (two classes), and the three fusions when both are.
        ``details`` records the choices made on the training part (``C``,
        inner log-loss, stacking weights) and the imputed tracks.
    """
    # BLAS in one thread: these problems are small, and threads that wait on each other made every fit 6x
    # slower on a 2-core machine with other work on it
    with threadpool_limits(limits=1):
        return _fold_probabilities(train_ids, test_ids, labels, sources, seed=seed, groups=groups, c_grid=c_grid,
                                   n_inner=n_inner)


def _fold_probabilities(train_ids, test_ids, labels, sources, *, seed, groups, c_grid, n_inner):
    y_train = np.array([labels[t] for t in train_ids])
    n_classes = n_classes_of_labels(labels)
    cv = inner_folds(train_ids, labels, seed=seed, groups=groups, n_folds=n_inner)
    found, oof, tables = {}, {}, {}
    for name, key in PRETRAINED_ROWS.items():
        if sources.get(key) is None:
            continue
        tables[key] = sources[key]
        X_train, X_test = tables[key].reindex(train_ids), tables[key].reindex(test_ids)
        search = make_classifier(cv, seed=seed, n_classes=n_classes, c_grid=c_grid).fit(X_train, y_train)
        chosen = search.best_params_["logisticregression__C"]
        # out-of-fold probabilities of the training part (the stacker's input), with the C chosen on it
        oof[name] = positive_column(cross_val_predict(make_logistic(seed=seed, C=chosen), X_train, y_train, cv=cv,
                                                      method="predict_proba"))
        found[name] = (class_probabilities(search, X_test, n_classes), {
            "C": chosen, "inner_log_loss": -search.best_score_, "n_features": X_train.shape[1],
            "imputed_train": int(X_train.isna().all(axis=1).sum()),
            "imputed_test": int(X_test.isna().all(axis=1).sum()),
            FITTED: LinearModel.from_pipeline(search.best_estimator_, X_train.columns)})
    if "musicnn" in tables and n_classes == 2:  # one score, one threshold: positive against negative
        found.update(_zero_shot(train_ids, test_ids, y_train, tables["musicnn"]))
    if len(tables) == 2:
        found.update(_fusions(train_ids, test_ids, y_train, tables, found, oof, cv=cv, seed=seed, c_grid=c_grid,
                              n_classes=n_classes))
    return found


def zero_shot_score(table):
    """Each track's mood score from musicnn's tags (:data:`ZERO_SHOT_TAGS`), or ``None`` when the tags are not named.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``tag_<name>`` of one checkpoint (:meth:`MusicnnReport.table`).

    Returns
    -------
    pandas.Series or None
        Mean probability of the positive tags minus that of the negative ones, in [-1, 1].
    """
    for tags in ZERO_SHOT_TAGS.values():
        columns = {side: [f"tag_{name}" for name in names] for side, names in tags.items()}
        if all(c in table.columns for names in columns.values() for c in names):
            return table[columns["positive"]].mean(axis=1) - table[columns["negative"]].mean(axis=1)
    return None


def _zero_shot(train_ids, test_ids, y_train, table):
    """The zero-shot row: the tag score through a logistic curve whose midpoint and slope the training part fits.

    Only the score's threshold (and scale) is learnt; ROC-AUC, which needs no threshold, is the tags' own.
    """
    score = zero_shot_score(table)
    if score is None:
        return {}
    fill = float(score.reindex(train_ids).mean())
    curve = LogisticRegression(max_iter=MAX_ITER, class_weight="balanced")
    curve.fit(score.reindex(train_ids).fillna(fill).to_frame(), y_train)
    prob = class_probabilities(curve, score.reindex(test_ids).fillna(fill).to_frame(), 2)
    return {ZERO_SHOT: (prob, {"tags": {name: list(t) for name, t in ZERO_SHOT_TAGS.items()},
                               "slope": float(curve.coef_[0][0]), "intercept": float(curve.intercept_[0])})}


def _fusions(train_ids, test_ids, y_train, tables, found, oof, *, cv, seed, c_grid, n_classes):
    """Early fusion, late fusion and stacking of the two unimodal rows of one outer split."""
    both = pd.concat([tables["musicnn"], tables["lyrics_features"]], axis=1)
    search = make_classifier(cv, seed=seed, n_classes=n_classes, c_grid=c_grid).fit(both.reindex(train_ids), y_train)
    audio, lyrics = found[PRETRAINED_AUDIO][0], found[PRETRAINED_LYRICS][0]
    # balanced like every other row: unweighted, its intercept would pull towards the larger class
    stacker = LogisticRegression(max_iter=MAX_ITER, class_weight="balanced", random_state=seed)
    stacker.fit(stacking_features(oof[PRETRAINED_AUDIO], oof[PRETRAINED_LYRICS]), y_train)
    stacked = class_probabilities(stacker, stacking_features(audio, lyrics), n_classes)
    binary = n_classes == 2  # one row of weights (class 1's), else one per class
    return {
        EARLY_FUSION: (class_probabilities(search, both.reindex(test_ids), n_classes),
                       {"C": search.best_params_["logisticregression__C"], "inner_log_loss": -search.best_score_,
                        "n_features": both.shape[1]}),
        LATE_FUSION: ((audio + lyrics) / 2, {"weights": [0.5, 0.5]}),
        STACKING: (stacked, {"weights": (stacker.coef_[0] if binary else stacker.coef_).tolist(),
                             "intercept": float(stacker.intercept_[0]) if binary else stacker.intercept_.tolist(),
                             "fit_on": "inner out-of-fold probabilities of the training part"}),
    }


# --- every outer split -------------------------------------------------------------------

def usable_sources(sources):
    """The feature tables of ``sources`` that hold a track; an empty one is left out, with a warning.

    A table is empty when its stage rejected every track (clips all shorter
    than a musicnn patch, say): a row fit on imputed values alone would only
    echo the class frequencies.
    """
    usable = {}
    for key, table in sources.items():
        if table is not None and (table.empty or not len(table.columns)):
            logger.warning("No track has %s features (data/feature_account.csv says why): their rows are left out",
                           key)
        elif table is not None:
            usable[key] = table
    return usable


def evaluate_pretrained(layout, sources, *, seed, c_grid=C_GRID, n_inner=INNER_FOLDS, n_workers=0):
    """The pretrained rows on every outer split of the run; outputs in ``models/<name>/split_<i>/``.

    Parameters
    ----------
    layout : RunLayout
        A run where notebooks 01-03 have run (splits, labels).
    sources : dict
        ``{"musicnn": DataFrame, "lyrics_features": DataFrame}``, indexed by track id (either may be absent).
    seed : int
    c_grid : sequence of float
    n_inner : int
    n_workers : int
        Processes fitting the splits (:func:`map_folds`): 0 automatic, 1 this process.

    Returns
    -------
    pandas.DataFrame
        One row per model and split: ``model, split``, the scores of
        :func:`mer_utils.metrics.evaluate`, ``C`` (where one was chosen), ``wall_s``.
    """
    sources = usable_sources(sources)
    if not sources:
        raise ValueError("no pretrained features to evaluate: give musicnn or lyrics features (or both) of at least "
                         "one track")
    splits, labels, groups = load_splits(layout), label_map(layout), artist_groups(layout)
    classes = load_classes(layout)
    catalogue.validate_splits("pretrained rows", splits, labels, available={})
    for name in EVALUATED_ROWS:  # a rerun that no longer makes a row (or has fewer splits) leaves none of its old
        shutil.rmtree(layout.models_dir / name, ignore_errors=True)
    rows, software = [], environment()
    context = FoldContext(labels, sources, groups=groups, c_grid=c_grid, n_inner=n_inner)
    folds = [(split["train"], split["val"], seed + index) for index, split in enumerate(splits)]
    for index, (split, (found, wall_s)) in enumerate(zip(splits, map_folds(folds, context, n_workers=n_workers))):
        y_test = np.array([labels[t] for t in split["val"]])
        for name, (prob, details) in found.items():
            scores = evaluate(y_test, prob)
            choices = {key: value for key, value in details.items() if key != FITTED}
            provenance = {"model": name, "split": index, "seed": seed + index, "protocol": "never-tuned",
                          "n_train": len(split["train"]), "inner_folds": n_inner, "c_grid": list(c_grid),
                          "choices": choices, "wall_s_all_rows": wall_s, **software}
            folder = outputs.save_split(layout.model_dir(name, index), track_ids=split["val"], labels=y_test,
                                        probabilities=prob, classes=classes, scores=scores, provenance=provenance)
            if FITTED in details:  # what mer_utils.predict scores new songs with
                details[FITTED].save(folder / LINEAR_MODEL_FILE)
            rows.append({"model": name, "split": index, **scores, "C": details.get("C", math.nan),
                         "wall_s": wall_s})
    return pd.DataFrame(rows)


# --- repeated folds, for the rows cheap enough -------------------------------------------

def repeated_evaluation(layout, sources, *, seed, n_repeats=5, n_folds=REPEATED_FOLDS, c_grid=C_GRID,
                        n_inner=INNER_FOLDS, n_workers=0):
    """The pretrained rows and both classical baselines on ``n_repeats`` x ``n_folds`` new stratified folds.

    Five folds give five numbers per model; repeating the k-fold with other
    shuffles averages out which songs happen to share a fold. Only the rows
    that cost seconds are repeated (the deep models would cost hours); every
    row sees identical folds, built like notebook 01's (stratified, grouped
    by artist when the run's splits are), over the tracks of the run's
    splits; repeat ``r`` shuffles with ``seed + 1 + r``. Nothing is written
    into ``models/``: these folds are not the run's. The folds are fit on
    ``n_workers`` processes (:func:`map_folds`: 0 automatic, 1 this one),
    with the same numbers whatever their count.

    Returns
    -------
    pandas.DataFrame
        Long format like :func:`mer_utils.results.collect_metrics` (``model,
        split, metric, value``; ``split = repeat * n_folds + fold``), plus
        ``repeat`` and ``fold``, so that :func:`mer_utils.results.summary_table`
        and :func:`corrected_paired_tests` read it.
    """
    from .splits import make_splits

    labels, groups, sources = label_map(layout), artist_groups(layout), usable_sources(sources)
    ids = sorted({t for split in load_splits(layout) for part in ("train", "val") for t in split[part]})
    context = FoldContext(labels, sources, groups=groups, c_grid=c_grid, n_inner=n_inner,
                          baselines=_baseline_inputs(layout, ids), baseline_seed=seed)
    folds, places = [], []
    for repeat in range(n_repeats):
        splits = make_splits(ids, [labels[t] for t in ids], scheme="kfold", n_splits=n_folds, seed=seed + 1 + repeat,
                             groups=None if groups is None else [groups.get(t, "") for t in ids],
                             classes=class_indices(labels))
        folds += [(split["train"], split["val"], seed + repeat) for split in splits]
        places += [(repeat, fold) for fold in range(len(splits))]
    rows = []
    for (repeat, fold), (_, test_ids, _), (found, _) in zip(places, folds, map_folds(folds, context,
                                                                                      n_workers=n_workers)):
        y_test = [labels[t] for t in test_ids]
        for name, (prob, _) in found.items():
            rows += [{"model": name, "split": repeat * n_folds + fold, "metric": metric, "value": value,
                      "repeat": repeat, "fold": fold} for metric, value in evaluate(y_test, prob).items()]
    return pd.DataFrame(rows)


def _baseline_inputs(layout, ids):
    """The classical baselines' inputs for ``ids``, as the run has them: ``{name: (features, stack, make_model)}``.

    ``features`` maps a track id to its input, ``stack`` turns a list of them
    into what ``make_model(seed=...)`` fits on: all picklable, for worker processes.
    """
    from . import baselines
    from .modality import load

    have, inputs = set(load(layout)), {}
    if "lyrics" in have:
        from .lyrics import load_tokens

        tokens = load_tokens(layout)
        inputs[LYRICS_BASELINE] = ({t: tokens[t] for t in ids}, list, baselines.make_lyrics_tfidf)
    if "audio" in have:
        from .mels import MelStore

        store = MelStore.open(layout)
        table = dict(zip(ids, baselines.melstats_features(store, ids)))
        inputs[AUDIO_BASELINE] = (table, np.stack, baselines.make_audio_melstats)
    return inputs


def _baseline_probabilities(train_ids, test_ids, labels, inputs, *, seed):
    """Each baseline fit on ``train_ids``; its probabilities for ``test_ids``."""
    found = {}
    with threadpool_limits(limits=1):
        for name, (features, stack, make_model) in inputs.items():
            model = make_model(seed=seed).fit(stack([features[t] for t in train_ids]), [labels[t] for t in train_ids])
            found[name] = (class_probabilities(model, stack([features[t] for t in test_ids]),
                                               n_classes_of_labels(labels)), {})
    return found


# --- many outer splits on worker processes ---------------------------------------------

@dataclasses.dataclass(frozen=True)
class FoldContext:
    """What every split of :func:`map_folds` reads: sent once to each worker process, not with each split.

    ``labels``, ``sources``, ``groups``, ``c_grid`` and ``n_inner`` as
    :func:`fold_probabilities` takes them; ``baselines``, from
    :func:`_baseline_inputs`, are fit too (with ``baseline_seed``) when given.
    """

    labels: dict
    sources: dict
    groups: dict = None
    c_grid: tuple = C_GRID
    n_inner: int = INNER_FOLDS
    baselines: dict = dataclasses.field(default_factory=dict)
    baseline_seed: int = 0


#: The context of the worker process (set by :func:`_receive_context`; None in the notebook's process).
_worker_context = None


def _receive_context(context):
    """A worker process's initializer: keep the :class:`FoldContext` its splits read."""
    global _worker_context
    _worker_context = context


def _fit_fold(fold, context=None):
    """``(found, wall_s)`` of one ``(train_ids, test_ids, seed)``: :func:`fold_probabilities` plus the baselines."""
    context = context or _worker_context
    train_ids, test_ids, seed = fold
    clock = time.perf_counter()
    found = fold_probabilities(train_ids, test_ids, context.labels, context.sources, seed=seed,
                               groups=context.groups, c_grid=context.c_grid, n_inner=context.n_inner)
    found.update(_baseline_probabilities(train_ids, test_ids, context.labels, context.baselines,
                                         seed=context.baseline_seed))
    return found, round(time.perf_counter() - clock, 3)


def map_folds(folds, context, *, n_workers=0):
    """:func:`fold_probabilities` (and the baselines) of each split, in the order given.

    Each split is fit on its own, so they run on worker processes
    (:func:`mer_utils.parallel.map_unordered`, each process on one BLAS
    thread) and the numbers do not depend on how many.

    Parameters
    ----------
    folds : list of (list of str, list of str, int)
        ``(train_ids, test_ids, seed)`` of each split.
    context : FoldContext
    n_workers : int
        ``0``: one process per :data:`MIN_FOLDS_PER_WORKER` splits, at most
        the cores; ``1``: this process; ``n``: that many.

    Returns
    -------
    list of (dict, float)
        Per split, :func:`fold_probabilities`' dict (with the baselines'
        rows) and the seconds it took.

    Raises
    ------
    Exception
        The first error of a split, as it was raised.
    """
    from .parallel import map_unordered, resolve_workers

    workers = resolve_workers(n_workers, n_items=len(folds), min_items_per_worker=MIN_FOLDS_PER_WORKER)
    if workers == 1:  # no worker process: nothing to send
        return [_fit_fold(fold, context) for fold in folds]
    fitted = [None] * len(folds)
    shown = {}  # the warnings registry of this call: "default" filters show a warning once, not once per split
    for (index, _), result in map_unordered(_fit_numbered_fold, list(enumerate(folds)), n_workers=workers,
                                            initializer=_receive_context, initargs=(context,), progress=False):
        if isinstance(result, BaseException):
            raise result
        fitted[index], caught = result
        for message, category, filename, lineno in caught:  # through this process's filters, as if fit here
            warnings.warn_explicit(message, category, filename, lineno, registry=shown)
    return fitted


def _fit_numbered_fold(item):
    """:func:`_fit_fold` of ``item = (index, fold)`` in a worker process, with the warnings it raised.

    A worker's warnings would go to its stderr, which a notebook does not
    show; :func:`map_folds` raises them again in the notebook's process.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # all of them: the notebook's filters decide there
        fitted = _fit_fold(item[1])
    return fitted, list(dict.fromkeys((str(w.message), w.category, w.filename, w.lineno) for w in caught))


def corrected_paired_tests(metrics, pairs, *, test_fraction, metric="accuracy"):
    """Paired t-tests over repeated folds, with Nadeau and Bengio's correction for overlapping training parts.

    Folds of a repeated k-fold share most of their training songs, so their
    differences are correlated and the plain paired t-test is too sure of
    itself. The corrected resampled t-test (Nadeau & Bengio, 2003) inflates
    the variance: ``t = mean(d) / sqrt((1 / J + n_test / n_train) * var(d))``
    with ``J - 1`` degrees of freedom, ``J`` the number of folds.

    Parameters
    ----------
    metrics : pandas.DataFrame
        From :func:`repeated_evaluation`.
    pairs : list of (str, str)
    test_fraction : float
        ``n_test / (n_train + n_test)`` of a fold (``1 / n_folds``).
    metric : str

    Returns
    -------
    pandas.DataFrame
        ``model_a, model_b, metric, n_pairs, mean_a, mean_b, mean_difference,
        t_statistic, corrected_p_value, plain_p_value``.
    """
    from scipy import stats

    rows = []
    for a, b in pairs:
        values = {m: metrics[(metrics["model"] == m) & (metrics["metric"] == metric)].set_index("split")["value"]
                  for m in (a, b)}
        common = values[a].index.intersection(values[b].index)
        if len(common) < 2:
            continue
        diff = (values[a][common] - values[b][common]).to_numpy()
        n, variance = len(diff), diff.var(ddof=1)
        scale = math.sqrt((1 / n + test_fraction / (1 - test_fraction)) * variance)
        t = diff.mean() / scale if scale > 0 else math.nan
        rows.append({"model_a": a, "model_b": b, "metric": metric, "n_pairs": n, "mean_a": values[a][common].mean(),
                     "mean_b": values[b][common].mean(), "mean_difference": diff.mean(), "t_statistic": t,
                     "corrected_p_value": 2 * stats.t.sf(abs(t), n - 1) if scale > 0 else math.nan,
                     "plain_p_value": stats.ttest_rel(values[a][common], values[b][common]).pvalue
                     if scale > 0 else math.nan})
    return pd.DataFrame(rows, columns=list(CORRECTED_COLUMNS))


# --- the paper's deep models, never tuned ------------------------------------------------

def runnable(layout, model_names):
    """The paper models of ``model_names`` (catalogue names) whose inputs the run's modalities give, in order."""
    from .modality import load

    have = set(load(layout))
    for name in model_names:
        catalogue.validate_model_name(name)
    return [name for name in model_names if set(catalogue.modalities_needed(name)) <= have]


def train_nested(model_name, layout, *, seed, val_fraction=INNER_VAL_FRACTION, mixed_precision=False, verbose=0,
                 **options):
    """Train a paper model per outer split with early stopping on an inner validation part; score the outer fold.

    Per outer split ``i``: its training part is cut into an inner training
    part and an inner validation part (:func:`inner_split`, seed
    ``seed + i``); :func:`mer_utils.training.train_on_splits` trains on the
    first and stops early on the second (restoring the best epoch), exactly
    as it trains the paper's rows, in a scratch run folder; the model it
    kept then predicts the outer fold, which nothing saw. Outputs:
    ``models/<model_name>_nested/split_<i>/`` (``history.csv`` is the inner
    validation's, ``model.keras`` and ``vocabulary.json`` are copied beside).

    Parameters
    ----------
    model_name : str
        A deep model of :data:`mer_utils.catalogue.MODELS`.
    layout : RunLayout
    seed : int
        Split ``i`` trains with ``seed + i``, as the paper's rows do.
    val_fraction : float
        Share of each outer training part held out for early stopping.
    mixed_precision : bool
        float16 compute on a GPU (:func:`mer_utils.training.configure_device`; ignored on a CPU).
    verbose : int
    **options
        Training options of :class:`mer_utils.training.TrainingOptions` (but ``seed``).

    Returns
    -------
    pandas.DataFrame
        One row per split: ``model, split, n_train, n_inner_val, n_test``,
        ``epochs_run``, ``best_epoch``, the scores on the outer fold, ``wall_s``.
    """
    import shutil

    from . import training
    from .paths import RunLayout

    catalogue.validate_model_name(model_name)
    training.configure_device(mixed_precision=mixed_precision)
    name = f"{model_name}{NESTED_SUFFIX}"
    data = training.TrainingData.from_layout(layout, model_name)
    groups = artist_groups(layout)
    outer = data.splits
    inner = [dict(zip(("train", "val"), inner_split(split["train"], data.labels, seed=seed + i, groups=groups,
                                                    val_fraction=val_fraction))) for i, split in enumerate(outer)]
    scratch = RunLayout(layout.run_dir / "nested_training")
    inner_data = dataclasses.replace(data, splits=inner)
    inner_rows = training.train_on_splits(model_name, scratch, data=inner_data, seed=seed, verbose=verbose, **options)
    rows = []
    for i, split in enumerate(outer):
        clock = time.perf_counter()
        source = scratch.model_dir(model_name, i)
        y_test = np.array([data.labels[t] for t in split["val"]])
        prob = _predict_outer(training, source, model_name, data, split["val"], options)
        scores = evaluate(y_test, prob)
        record = outputs.read_provenance(source / outputs.PROVENANCE_JSON)
        record.update(model=name, architecture=model_name, protocol="never-tuned", n_inner_train=len(inner[i]["train"]),
                      n_inner_val=len(inner[i]["val"]), n_test=len(split["val"]), inner_val_fraction=val_fraction,
                      inner_val_scores=outputs.read_metrics(source / outputs.METRICS_JSON))
        folder = outputs.save_split(layout.model_dir(name, i), track_ids=split["val"], labels=y_test,
                                    probabilities=prob, classes=data.classes, scores=scores, provenance=record,
                                    history=outputs.read_history(source / outputs.HISTORY_CSV))
        for extra in ("model.keras", "vocabulary.json"):
            if (source / extra).is_file():
                shutil.copy2(source / extra, folder / extra)
        run = inner_rows.iloc[i]
        rows.append({"model": name, "split": i, "n_train": len(inner[i]["train"]), "n_inner_val": len(inner[i]["val"]),
                     "n_test": len(split["val"]), "epochs_run": int(run["epochs_run"]),
                     "best_epoch": int(run["best_epoch"]), **scores,
                     "wall_s": round(float(run["wall_s"]) + time.perf_counter() - clock, 2)})
    return pd.DataFrame(rows)


def _predict_outer(training, folder, model_name, data, test_ids, options):
    """The kept model of ``folder`` on the outer fold, its inputs prepared as in training (the split's vocabulary).

    Predicted as in training (:func:`mer_utils.training.predict_clips`): with
    ``crop_frames``, each clip's probability is the mean over its windows.
    """
    import keras

    model = keras.models.load_model(folder / "model.keras")
    opts = training.TrainingOptions(**options)
    needs = catalogue.MODEL_INPUTS[model_name]
    tokens = None
    if "tokens" in needs:
        from .vocabulary import Vocabulary

        vocab = Vocabulary.load(folder / "vocabulary.json")
        tokens = vocab.encode([data.tokens[t] for t in test_ids], max_len=opts.max_len)
    return training.predict_clips(model, test_ids, mels=data.mels if "mel" in needs else None, tokens=tokens,
                                  batch_size=opts.batch_size, crop_frames=opts.crop_frames)  # (n_test, n_classes)


# --- Table 1, extended ---------------------------------------------------------------------

def extended_summary(metrics, *, confidence=0.95, n_classes=2):
    """:func:`mer_utils.results.summary_table` of every model that ran, with its protocol and family.

    Rows follow the catalogue: Table 1's models and baselines, then notebook 08's rows; models that did not run are
    left out. ``n_classes``: the run's (:func:`mer_utils.results.run_classes`), which sets the scores summarised.
    """
    summary = results.summary_table(metrics, confidence=confidence, n_classes=n_classes)
    summary = summary[summary["runs"] > 0].copy()
    info = {name: model_info(name) for name in summary["model"].unique()}
    summary.insert(3, "protocol", summary["model"].map(lambda m: info[m].protocol))
    summary.insert(4, "family", summary["model"].map(lambda m: info[m].family))
    order = {name: rank for rank, name in enumerate([*catalogue.MODEL_INFO, *BEYOND_INFO])}
    return summary.sort_values("model", key=lambda s: s.map(lambda m: order.get(m, len(order))),
                               kind="stable").reset_index(drop=True)


def extended_table(summary):
    """Table 1 with a ``protocol`` column: :func:`mer_utils.results.table1` of :func:`extended_summary`."""
    table = results.table1(summary)
    protocols = summary.drop_duplicates("model").set_index("model")["protocol"]
    table.insert(2, "protocol", table["name"].map(protocols))
    return table


def extended_markdown(table):
    """:func:`extended_table` as markdown: Table 1's columns, each model's protocol in brackets after its name."""
    labelled = table.assign(model=[f"{m} [{p}]" for m, p in zip(table["model"], table["protocol"])])
    return results.table1_markdown(labelled.drop(columns="protocol"))


def comparison_pairs(summary):
    """The paired tests notebook 08 reports, for the models that ran.

    Each never-tuned row against the paper's fused model and against its
    modality's classical baseline (the fusions against both baselines),
    each nested deep model against the same model under the paper's protocol,
    and fine-tuned musicnn against its frozen features.
    """
    ran = set(summary.loc[summary["runs"] > 0, "model"])
    pairs = []
    for info in catalogue.BEYOND_MODELS:
        if info.name not in ran:
            continue
        others = ["fused", *catalogue.BASELINES[info.modality]] + ([info.architecture] if info.architecture else []) + (
            [PRETRAINED_AUDIO] if info.name == FINETUNED_AUDIO else [])
        pairs += [(info.name, other) for other in dict.fromkeys(others) if other in ran and other != info.name]
    return pairs


def recommended_verdicts(paired, *, metric="balanced_accuracy", alpha=SIGNIFICANCE):
    """How each modality's recommended model fares against its classical baseline(s) on these folds, in words.

    The recommended models (:data:`mer_utils.catalogue.RECOMMENDED`) are named
    in advance, so a run that finds one behind its baseline says so instead of
    quietly recommending another.

    Parameters
    ----------
    paired : pandas.DataFrame
        Paired tests of :func:`comparison_pairs`: :func:`mer_utils.results.paired_tests` (the run's folds; its
        ``t_p_value`` is used) or :func:`corrected_paired_tests` (repeated folds; ``corrected_p_value``).
    metric : str
    alpha : float
        A difference with a p value below ``alpha`` is called significant.

    Returns
    -------
    pandas.DataFrame
        One row per (recommended model, baseline) pair that ran: ``modality, model, baseline, n_pairs,
        mean_model, mean_baseline, difference, p_value, verdict``, the verdict ``"ahead"``, ``"behind"``
        (both with p < ``alpha``), ``"ahead, within the noise"``, ``"behind, within the noise"`` or ``"level"``.
    """
    p_column = "corrected_p_value" if "corrected_p_value" in paired else "t_p_value"
    rows = []
    for modality, model in catalogue.RECOMMENDED.items():
        for baseline in catalogue.BASELINES[modality]:
            found = paired[(paired["model_a"] == model) & (paired["model_b"] == baseline)
                           & (paired["metric"] == metric)]
            if found.empty:
                continue
            row = found.iloc[0]
            difference, p_value = row["mean_difference"], row[p_column]
            rows.append({"modality": modality, "model": model, "baseline": baseline, "n_pairs": row["n_pairs"],
                         "mean_model": row["mean_a"], "mean_baseline": row["mean_b"], "difference": difference,
                         "p_value": p_value, "verdict": _verdict(difference, p_value, alpha)})
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


_PREPOSITIONS = {"ahead": "ahead of", "behind": "behind", "level": "level with"}


def _verdict(difference, p_value, alpha):
    if difference == 0:
        return "level"
    side = "ahead" if difference > 0 else "behind"
    return side if p_value < alpha else f"{side}, within the noise"


def verdicts_markdown(verdicts, *, metric="balanced_accuracy"):
    """:func:`recommended_verdicts` as one sentence per row, for the notebook and ``results/``."""
    lines = []
    for row in verdicts.itertuples():
        label, base = model_info(row.model).label, model_info(row.baseline).label
        side, _, noise = row.verdict.partition(", ")
        qualifier = f" ({noise})" if noise else ""
        line = (f"- **{row.modality}**: {label} is **{_PREPOSITIONS[side]}** {base}{qualifier}: {row.mean_model:.3f} "
                f"against {row.mean_baseline:.3f} {metric.replace('_', ' ')} ({row.difference:+.3f}, "
                f"p = {row.p_value:.2g}, {row.n_pairs} folds).")
        if side == "behind":
            line += (" On this corpus the recommended model does not beat its classical baseline"
                     + ("; prefer the baseline." if not noise else ", though the difference is within the noise."))
        lines.append(line)
    return "\n".join(lines or ["- no recommended model ran beside its baseline"]) + "\n"


def best_per_modality(summary, *, protocol="never-tuned", metric="balanced_accuracy"):
    """``{modality: model}``: the highest mean ``metric`` among the models of ``protocol`` (baselines excluded)."""
    rows = summary[(summary["metric"] == metric) & (summary["protocol"] == protocol) & ~summary["baseline"]]
    return {modality: group.loc[group["mean"].idxmax(), "model"] for modality, group in rows.groupby("modality")}


def save_extended(layout, *, table, paired, repeated_table=None, corrected=None, verdicts=None,
                  repeated_verdicts=None):
    """Write notebook 08's tables into ``results/``; return ``{kind: path}``.

    ``table1_extended.csv`` / ``.md`` and ``paired_tests_extended.csv`` (the
    run's outer folds); with repeated folds also ``repeated_folds.csv`` /
    ``.md`` (:func:`extended_table` of :func:`repeated_evaluation`) and
    ``repeated_paired_tests.csv`` (:func:`corrected_paired_tests`); with
    ``verdicts`` (:func:`recommended_verdicts`) ``recommended_vs_baselines.csv``
    / ``.md``, and ``repeated_recommended_vs_baselines.*`` for the repeated folds'.
    """
    written = {}
    markdown = {"table1_extended": (table, extended_markdown), "repeated_folds": (repeated_table, extended_markdown),
                "recommended_vs_baselines": (verdicts, verdicts_markdown),
                "repeated_recommended_vs_baselines": (repeated_verdicts, verdicts_markdown)}
    for stem, (frame, as_markdown) in markdown.items():
        if frame is not None:
            written[stem] = layout.results_dir / f"{stem}.csv"
            outputs.write_csv(written[stem], frame)
            written[f"{stem}_md"] = write_text(layout.results_dir / f"{stem}.md", as_markdown(frame))
    for stem, frame in {"paired_tests_extended": paired, "repeated_paired_tests": corrected}.items():
        if frame is not None:
            written[stem] = layout.results_dir / f"{stem}.csv"
            outputs.write_csv(written[stem], frame)
    return written
