"""musicnn fine-tuned as the audio model, never tuned on the scored fold (a notebook-08 row).

The frozen-feature row (:mod:`mer_utils.pretrained.musicnn_features` and
:func:`mer_utils.beyond.evaluate_pretrained`) keeps musicnn as it is and
fits a logistic regression on its clip features. This row trains the
network itself on the run's songs:

- **the model**: musicnn (:func:`mer_utils.pretrained.musicnn.build_musicnn`)
  with the checkpoint's weights up to its penultimate layer (200 values per
  3 s patch), then dropout (:data:`DROPOUT`) and a new softmax layer over the
  run's classes; the 50-tag output layer is dropped;
- **patches and clips**: it trains on patches, each carrying its clip's
  label; each epoch draws at most :data:`TRAIN_PATCHES_PER_CLIP` patches of
  every training clip (a fresh draw per epoch, seeded), so that a 30 s clip
  of 10 patches does not cost 10 times a 3 s one and every clip weighs the
  same. A clip's probabilities are the mean of all its patches' (as
  ``musicnn.tagger`` averages its tags);
- **small-data fine-tuning** (our choices, not the paper's nor Pons &
  Serra's): Adam with a small learning rate (:data:`LEARNING_RATE`), so that
  a few hundred songs nudge the pretrained weights rather than overwrite
  them; **every convolution and dense layer is trainable** (the whole
  network, not only the new head: the head alone on frozen features is
  what the frozen-feature row already measures); **every batch-norm layer
  is frozen** (``trainable = False``, which in Keras 3 also runs it in
  inference mode): its moving statistics stay the checkpoint's, estimated
  on the Million Song Dataset, instead of being re-estimated from batches
  of 32 patches of a few clips, which would shift every later layer's input
  away from what it was trained on; its scale and offset stay fixed too
  (the convolutions around them can absorb a rescaling);
- **the new layer's start** (:data:`HEAD_INITS`): random, or a *linear
  probe* (``head_init="linear_probe"``): the frozen-feature row's logistic
  regression (its ``C`` chosen by an inner cross-validation of the inner
  training clips) fit on the penultimate layer of the inner training
  clips, whose weights the softmax layer takes before the whole network is
  fine-tuned ("LP-FT", Kumar et al., 2022; :func:`probe_head`). With a
  few dozen optimizer steps at a small learning rate, a random head is
  still far from converged when training stops, and its large early
  gradients reach the pretrained layers; the probe starts close to where
  the frozen-feature row ends (its features are the penultimate layer's
  mean only, without the tags and the std);
- **never tuned on the scored fold**: per outer split ``i`` of the run,
  the training part is cut into an inner training and an inner validation
  part (:func:`mer_utils.beyond.inner_split`, seed ``seed + i``, as
  :func:`mer_utils.beyond.train_nested` does); training stops early on the
  inner validation part's clip-level log-loss (patience :data:`PATIENCE`,
  best weights restored); the outer fold is predicted once, by the kept
  weights.

Outputs go to ``models/audio_musicnn_finetuned/split_<i>/`` through
:func:`mer_utils.outputs.save_split` (``predictions.csv``, ``metrics.json``,
``history.csv``, ``provenance.json``; no ``model.keras``: the weights are a
function of the seed and the data), so :mod:`mer_utils.results` reads the
row like any other. ``history.csv``: ``loss`` and ``accuracy`` are the
epoch's training patches', ``val_loss`` and ``val_accuracy`` the inner
validation clips' (patch probabilities averaged per clip).

A track whose patches are rejected (too short for one patch, silent,
unreadable, missing; a reason of :data:`mer_utils.accounting.REASONS`) stays
in its outer fold, so that the row is scored on the same tracks as every
other: it gets the training part's class frequencies as probabilities (the
prior), like the frozen-feature row, whose imputed track leans on the prior
too. It is left out of training and of the inner validation, and each
split's provenance counts such tracks and lists their reasons.
"""

import dataclasses
import datetime as dt
import logging
import time

import numpy as np
import pandas as pd

from .. import config, outputs
from ..accounting import read_ledger
from ..beyond import INNER_VAL_FRACTION, artist_groups, inner_split
from ..catalogue import FINETUNED_AUDIO, validate_splits
from ..mels import missing_audio, outcome_of, track_rows
from ..metrics import evaluate
from ..provenance import environment
from ..splits import label_map, load_classes, load_splits
from . import musicnn
from .musicnn_features import input_parameters, map_patches, patch_workers

logger = logging.getLogger(__name__)

#: Adam's learning rate: ten times below Keras' default, a usual value for fine-tuning. Our choice.
LEARNING_RATE = 1e-4
#: Dropout before the new softmax layer. Our choice.
DROPOUT = 0.5
#: Most epochs, and epochs without a lower inner-validation loss before stopping. Our choice.
EPOCHS = 10
PATIENCE = 3
#: Patches per mini-batch. Our choice.
BATCH_SIZE = 32
#: Patches drawn from each training clip per epoch (a fresh draw each epoch); None: all. Our choice.
TRAIN_PATCHES_PER_CLIP = 3
#: How the new softmax layer starts: "random" (Keras' initializer) or "linear_probe" (a logistic regression fit on
#: the penultimate layer of the training patches, then the whole network fine-tuned: "LP-FT", Kumar et al. 2022,
#: which keeps the first steps from pushing a random head's large gradients into the pretrained layers). Our choice.
HEAD_INITS = ("random", "linear_probe")
HEAD_INIT = "random"
#: Audio read from the start of each file (notebook 08's ``musicnn_seconds``: 10 patches).
MAX_SECONDS = 30.0
#: Probabilities are clipped to [EPS, 1 - EPS] in the inner-validation log-loss.
EPS = 1e-7
#: Name of the new output layer.
HEAD = "mood_softmax"


@dataclasses.dataclass(frozen=True)
class FinetuneOptions:
    """The training options of one fine-tuning (recorded in each split's provenance)."""

    epochs: int = EPOCHS
    patience: int = PATIENCE
    learning_rate: float = LEARNING_RATE
    batch_size: int = BATCH_SIZE
    dropout: float = DROPOUT
    train_patches_per_clip: int = TRAIN_PATCHES_PER_CLIP
    head_init: str = HEAD_INIT

    def __post_init__(self):
        if self.head_init not in HEAD_INITS:
            raise ValueError(f"musicnn fine-tuning: unknown head_init {self.head_init!r}; choose from "
                             f"{', '.join(HEAD_INITS)}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"musicnn fine-tuning: {name} must be at least 1, got {getattr(self, name)}")
        if self.patience < 0 or not 0 < self.learning_rate or not 0 <= self.dropout < 1:
            raise ValueError(f"musicnn fine-tuning: patience >= 0, learning_rate > 0 and 0 <= dropout < 1 needed, "
                             f"got {self.patience}, {self.learning_rate}, {self.dropout}")
        if self.train_patches_per_clip is not None and self.train_patches_per_clip < 1:
            raise ValueError(f"musicnn fine-tuning: train_patches_per_clip must be at least 1 (or None: all), "
                             f"got {self.train_patches_per_clip}")


# --- the model ----------------------------------------------------------------------

def build_finetune_model(n_classes, *, model=musicnn.DEFAULT_MODEL, dropout=DROPOUT, variables=None):
    """musicnn with the checkpoint's weights up to its penultimate layer, then dropout and a new softmax.

    Parameters
    ----------
    n_classes : int
    model : str
        A checkpoint of :data:`mer_utils.pretrained.musicnn.MODELS`.
    dropout : float
    variables : dict, optional
        The checkpoint's variables (:func:`musicnn.read_checkpoint`), to read it once for many models.

    Returns
    -------
    keras.Model
        Input [shape=(batch, frames, 96)], output [shape=(batch, n_classes)]
        softmax probabilities; batch-norm layers frozen (inference mode), every other layer trainable.

    Raises
    ------
    mer_utils.pretrained.musicnn.MusicnnUnavailable
        If the wheel is missing or its checkpoint does not load.
    """
    import keras

    variables = musicnn.read_checkpoint(model) if variables is None else variables
    network = musicnn.build_musicnn(n_tags=len(musicnn.tag_names(model)))
    musicnn.load_weights(network, variables)
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # Keras 3: also inference mode, the checkpoint's statistics
    penultimate = network.get_layer("penultimate_bn").output
    hidden = keras.layers.Dropout(dropout, name="head_dropout")(penultimate)
    probabilities = keras.layers.Dense(n_classes, activation="softmax", name=HEAD, dtype="float32")(hidden)
    return keras.Model(network.input, probabilities, name="musicnn_finetuned")


def clip_probabilities(network, clips, *, batch_size=BATCH_SIZE):
    """Each clip's class probabilities: the mean of its patches' (every patch of the clip).

    Parameters
    ----------
    network : keras.Model
        From :func:`build_finetune_model`.
    clips : sequence of np.ndarray [shape=(n_patches, frames, 96)]

    Returns
    -------
    np.ndarray [shape=(len(clips), n_classes), dtype=float64]
        Rows sum to 1.
    """
    if not len(clips):
        return np.zeros((0, network.output.shape[-1]))
    means = clip_means(network, clips, batch_size=batch_size)
    return means / means.sum(axis=1, keepdims=True)  # float32 softmax sums to 1 only to ~1e-7


def clip_means(model, clips, *, batch_size=BATCH_SIZE):
    """A model's output for every patch, averaged per clip: shape (len(clips), width), float64.

    The patches of all clips go through ``model`` together, ``batch_size`` at a time.
    """
    patches, bounds = np.concatenate(clips), np.cumsum([0, *(len(c) for c in clips)])
    outputs = np.concatenate([np.asarray(model.predict_on_batch(patches[start:start + batch_size]), dtype=np.float64)
                              for start in range(0, len(patches), batch_size)])
    return np.stack([outputs[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])


def clip_log_loss(y, prob):
    """Mean cross-entropy of clip probabilities [shape=(n, n_classes)] against class indices ``y``; NaN if empty."""
    if not len(y):
        return float("nan")
    return float(-np.mean(np.log(np.clip(prob[np.arange(len(y)), y], EPS, 1 - EPS))))


def _epoch_patches(clips, labels, rng, per_clip):
    """One epoch's training patches: at most ``per_clip`` of each clip (drawn without replacement), shuffled."""
    chosen, targets = [], []
    for patches, label in zip(clips, labels):
        keep = np.arange(len(patches)) if per_clip is None or len(patches) <= per_clip else \
            np.sort(rng.choice(len(patches), size=per_clip, replace=False))
        chosen.append(patches[keep])
        targets.append(np.full(len(keep), label, dtype=np.int32))
    X, y = np.concatenate(chosen), np.concatenate(targets)
    order = rng.permutation(len(y))
    return X[order], y[order]


def fit_finetuned(train_clips, train_labels, val_clips, val_labels, *, n_classes, seed, options=FinetuneOptions(),
                  model=musicnn.DEFAULT_MODEL, variables=None, label="musicnn fine-tuning", verbose=0):
    """Fine-tune musicnn on clips, stopping early on the validation clips; the best epoch's weights kept.

    Parameters
    ----------
    train_clips, val_clips : list of np.ndarray [shape=(n_patches, frames, 96)]
        The inner training and validation clips' patches.
    train_labels, val_labels : array-like of int, shapes (len(train_clips),), (len(val_clips),)
    n_classes, seed : int
        ``seed`` sets the new layer's initial weights, the dropout, the patches drawn and their order.
    options : FinetuneOptions
    model : str
    variables : dict, optional
        The checkpoint's variables, read once by the caller.
    label : str
        Names the fine-tuning in the log lines (one per epoch).
    verbose : int
        Keras' progress output.

    Returns
    -------
    network : keras.Model
        The fine-tuned model (best epoch's weights; the last epoch's when
        ``patience`` is 0 or there is no validation clip).
    history : pandas.DataFrame
        :data:`mer_utils.outputs.HISTORY_COLUMNS`, one row per epoch.
    best_epoch : int
        Counted from 1.
    """
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    network = build_finetune_model(n_classes, model=model, dropout=options.dropout, variables=variables)
    rng, y_val = np.random.default_rng(seed), np.asarray(val_labels, dtype=int)
    if options.head_init == "linear_probe":
        probe_head(network, train_clips, train_labels, seed=seed, batch_size=options.batch_size)
    network.compile(optimizer=keras.optimizers.Adam(learning_rate=options.learning_rate),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    rows, best, best_weights, waited = [], (np.inf, 0), None, 0
    for epoch in range(1, options.epochs + 1):
        clock = time.perf_counter()
        X, y = _epoch_patches(train_clips, train_labels, rng, options.train_patches_per_clip)
        fit = network.fit(X, y, batch_size=options.batch_size, epochs=1, shuffle=False, verbose=verbose)
        prob = clip_probabilities(network, val_clips, batch_size=options.batch_size)
        val_loss = clip_log_loss(y_val, prob)
        rows.append({"epoch": epoch, "loss": fit.history["loss"][0], "accuracy": fit.history["accuracy"][0],
                     "val_loss": val_loss, "val_accuracy": float(np.mean(prob.argmax(axis=1) == y_val))
                     if len(y_val) else float("nan")})
        logger.info("%s, epoch %d/%d: loss %.3f, inner validation loss %.3f (%.1f s)", label, epoch, options.epochs,
                    rows[-1]["loss"], val_loss, time.perf_counter() - clock)
        if not options.patience or not np.isfinite(val_loss):
            continue
        if val_loss < best[0]:
            best, best_weights, waited = (val_loss, epoch), network.get_weights(), 0
        else:
            waited += 1
            if waited >= options.patience:
                break
    if best_weights is not None:
        network.set_weights(best_weights)
    history = pd.DataFrame(rows, columns=list(outputs.HISTORY_COLUMNS))
    return network, history, best[1] if best_weights is not None else len(history)


def probe_head(network, clips, labels, *, seed, batch_size=BATCH_SIZE):
    """Set the new softmax layer to a logistic regression on the clips' penultimate layer, its C chosen by inner CV.

    The probe is the frozen-feature row's classifier
    (:func:`mer_utils.beyond.make_classifier`: standardisation, balanced
    class weights, ``C`` chosen by an inner cross-validation of these clips
    on log-loss) on the penultimate layer averaged over each clip's
    patches; the standardisation is folded into the head's weights, so the
    head gives the probe's probabilities for a one-patch clip.

    Parameters
    ----------
    network : keras.Model
        From :func:`build_finetune_model`; its head is overwritten.
    clips : list of np.ndarray [shape=(n_patches, frames, 96)]
        The training clips.
    labels : array-like of int, shape (len(clips),)
        Class indices (every class of the head present).
    seed : int
    batch_size : int

    Returns
    -------
    sklearn.model_selection.GridSearchCV
        The fitted probe (``best_params_``: the ``C`` chosen).
    """
    import keras

    from ..beyond import inner_folds, make_classifier

    labels = np.asarray(labels, dtype=int)
    n_classes = network.get_layer(HEAD).units
    if sorted(set(labels.tolist())) != list(range(n_classes)):
        raise ValueError(f"musicnn fine-tuning: the linear probe has clips of classes {sorted(set(labels.tolist()))}, "
                         f"the head {n_classes} classes; every class needs training clips")
    encoder = keras.Model(network.input, network.get_layer("penultimate_bn").output)
    features = clip_means(encoder, clips, batch_size=batch_size)
    cv = inner_folds(list(range(len(labels))), dict(enumerate(labels.tolist())), seed=seed)
    probe = make_classifier(cv, seed=seed, n_classes=n_classes).fit(features, labels)
    scaler, logistic = probe.best_estimator_[-2], probe.best_estimator_[-1]
    coef = logistic.coef_ / scaler.scale_                          # w.(x - mean) / scale = (w / scale).x - ...
    intercept = logistic.intercept_ - coef @ scaler.mean_
    if n_classes == 2:  # one logit w.x + b is the softmax of (-(w.x + b) / 2, (w.x + b) / 2)
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    network.get_layer(HEAD).set_weights([coef.T.astype(np.float32), intercept.astype(np.float32)])
    return probe


# --- the run's patches --------------------------------------------------------------

def load_run_patches(tracks, *, max_seconds=MAX_SECONDS, n_workers=0, progress=True, executor=config.EXECUTOR):
    """Every track's musicnn patches, computed in worker processes (NumPy only there).

    Parameters
    ----------
    tracks : pandas.DataFrame
        Rows with ``track_id`` and ``audio_path`` (a ledger: its ``kept`` rows).
    max_seconds : float
        Audio read from the start of each file.
    n_workers : int
        Processes cutting patches; 1 = this process; 0 = automatic.
    progress : bool
    executor : str
        ``"local"``, ``"dask"`` or a Dask scheduler address (:func:`mer_utils.parallel.map_unordered`).

    Returns
    -------
    patches : dict of str -> np.ndarray [shape=(n_patches, 187, 96), dtype=float32]
    rejections : dict of str -> Rejected
        Every track is in one of the two.
    """
    patches, rejections, todo = {}, {}, []
    for track_id, audio_path in track_rows(tracks):
        if audio_path is None or not audio_path.is_file():
            rejections[track_id] = missing_audio(track_id, audio_path)
        else:
            todo.append((track_id, audio_path))
    for task, outcome in map_patches(todo, input_parameters(max_seconds=max_seconds),
                                     workers=patch_workers(n_workers, len(todo)), desc="musicnn patches",
                                     progress=progress, executor=executor):
        if not isinstance(outcome, BaseException) and outcome[0] == "ok":
            patches[task[0]] = outcome[1]
        else:  # worker crashes and exceptions become extraction_failed, as in the feature stage
            rejections[task[0]] = outcome_of(task, outcome)[0]
    return patches, rejections


# --- every outer split ----------------------------------------------------------------

def finetune_nested(layout, *, seed, model=musicnn.DEFAULT_MODEL, epochs=EPOCHS, patience=PATIENCE,
                    learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE, dropout=DROPOUT,
                    train_patches_per_clip=TRAIN_PATCHES_PER_CLIP, head_init=HEAD_INIT, max_seconds=MAX_SECONDS,
                    val_fraction=INNER_VAL_FRACTION, n_workers=0, executor=config.EXECUTOR, verbose=0, progress=True):
    """Fine-tune musicnn per outer split with early stopping on an inner validation part; score the outer fold.

    Per outer split ``i`` of the run (:func:`mer_utils.splits.load_splits`):
    the training part is cut by :func:`mer_utils.beyond.inner_split` (seed
    ``seed + i``, grouped by artist when the run's splits are);
    :func:`fit_finetuned` trains on the inner training part and stops early
    on the inner validation part; the kept weights predict the outer fold,
    which nothing saw. Outputs: ``models/audio_musicnn_finetuned/split_<i>/``.

    Parameters
    ----------
    layout : RunLayout
        A run where notebooks 01 and 02 have run (ledger, splits, labels; binary or more classes).
    seed : int
        Split ``i`` trains with ``seed + i``.
    model : str
        The checkpoint fine-tuned: ``"MSD_musicnn"`` or ``"MTT_musicnn"``.
    epochs, patience, learning_rate, batch_size, dropout, train_patches_per_clip, head_init
        :class:`FinetuneOptions`.
    max_seconds : float
        Audio read from the start of each file (30 s: 10 patches of 3 s).
    val_fraction : float
        Share of each outer training part held out for early stopping (as :func:`mer_utils.beyond.train_nested`).
    n_workers : int
        Processes cutting patches (0: automatic).
    executor : str
        Where the patches are cut (:func:`load_run_patches`); the network trains here.
    verbose : int
        Keras' progress output (one log line per epoch either way).
    progress : bool
        Progress bar of the patch computation.

    Returns
    -------
    pandas.DataFrame
        One row per split: ``model, split, n_train, n_inner_val, n_test``,
        ``epochs_run``, ``best_epoch``, the scores on the outer fold,
        ``imputed_test`` (outer-fold tracks without patches, scored with the prior), ``wall_s``.

    Raises
    ------
    mer_utils.pretrained.musicnn.MusicnnUnavailable
        If the musicnn wheel is not installed (its message says how to install it).
    ValueError
        If the run's splits cannot train a model (:func:`mer_utils.catalogue.validate_splits`).
    """
    options = FinetuneOptions(epochs=epochs, patience=patience, learning_rate=learning_rate, batch_size=batch_size,
                              dropout=dropout, train_patches_per_clip=train_patches_per_clip, head_init=head_init)
    variables = musicnn.read_checkpoint(model)  # a missing wheel stops here, before any audio is read
    splits, labels, classes = load_splits(layout), label_map(layout), load_classes(layout)
    validate_splits(FINETUNED_AUDIO, splits, labels, available={})
    groups = artist_groups(layout)
    ledger = read_ledger(layout.tracks_csv)
    wanted = {t for split in splits for part in ("train", "val") for t in split[part]}
    clock = time.perf_counter()
    patches, rejections = load_run_patches(ledger[ledger["track_id"].isin(wanted)], max_seconds=max_seconds,
                                           n_workers=n_workers, progress=progress, executor=executor)
    patches_s = round(time.perf_counter() - clock, 2)
    logger.info("musicnn patches of %d tracks in %.1f s; %d rejected", len(wanted), patches_s, len(rejections))
    context = {"model": model, "classes": classes, "options": options, "variables": variables, "groups": groups,
               "val_fraction": val_fraction, "max_seconds": max_seconds, "patches_s": patches_s,
               "software": environment(), "verbose": verbose}
    rows = [_finetune_split(layout, i, split, labels, patches, rejections, seed=seed + i, **context)
            for i, split in enumerate(splits)]
    return pd.DataFrame(rows)


def _finetune_split(layout, index, split, labels, patches, rejections, *, seed, model, classes, options, variables,
                    groups, val_fraction, max_seconds, patches_s, software, verbose):
    """Fine-tune, score and save one outer split; return its summary row."""
    started, clock = dt.datetime.now(), time.perf_counter()
    inner_train, inner_val = inner_split(split["train"], labels, seed=seed, groups=groups, val_fraction=val_fraction)
    parts = {"train": inner_train, "inner_val": inner_val, "test": split["val"]}
    usable = {part: [t for t in ids if t in patches] for part, ids in parts.items()}
    if len({labels[t] for t in usable["train"]}) < 2:
        raise ValueError(f"{FINETUNED_AUDIO}: split {index}: the inner training part has musicnn patches of one "
                         f"class only ({len(usable['train'])} of {len(inner_train)} tracks have patches)")
    label = f"{FINETUNED_AUDIO} split {index}"
    network, history, best_epoch = fit_finetuned(
        [patches[t] for t in usable["train"]], [labels[t] for t in usable["train"]],
        [patches[t] for t in usable["inner_val"]], [labels[t] for t in usable["inner_val"]],
        n_classes=len(classes), seed=seed, options=options, model=model, variables=variables, label=label,
        verbose=verbose)
    inner_prob = clip_probabilities(network, [patches[t] for t in usable["inner_val"]], batch_size=options.batch_size)
    y_test = np.array([labels[t] for t in split["val"]])
    prob = _outer_probabilities(network, split, labels, patches, n_classes=len(classes), batch_size=options.batch_size)
    scores = evaluate(y_test, prob)
    wall_s = round(time.perf_counter() - clock, 2)
    imputed = {part: len(ids) - len(usable[part]) for part, ids in parts.items()}
    record = {
        "model": FINETUNED_AUDIO, "split": index, "seed": seed, "protocol": "never-tuned", "classes": list(classes),
        "checkpoint": model, "weights": musicnn.PACKAGE, "parameters": dataclasses.asdict(options),
        "input": input_parameters(max_seconds=max_seconds), "n_inner_train": len(inner_train),
        "n_inner_val": len(inner_val), "n_test": len(split["val"]), "inner_val_fraction": val_fraction,
        "epochs_run": len(history), "best_epoch": best_epoch,
        "inner_val_scores": evaluate([labels[t] for t in usable["inner_val"]], inner_prob)
        if len({labels[t] for t in usable["inner_val"]}) else {},
        "imputed_train": imputed["train"], "imputed_inner_val": imputed["inner_val"], "imputed_test": imputed["test"],
        "imputation": "tracks without patches: left out of training and inner validation; scored with the "
                      "training part's class frequencies",
        "rejections": [{"track_id": t, "reason": rejections[t].reason, "detail": rejections[t].detail}
                       for t in [*split["train"], *split["val"]] if t in rejections],
        "n_params": network.count_params(), "patches_s_all_splits": patches_s, **software,
        "started": started.isoformat(timespec="seconds"), "finished": dt.datetime.now().isoformat(timespec="seconds"),
        "wall_s": wall_s,
    }
    outputs.save_split(layout.model_dir(FINETUNED_AUDIO, index), track_ids=split["val"], labels=y_test,
                       probabilities=prob, classes=classes, scores=scores, provenance=record, history=history)
    logger.info("%s: %d epochs (best %d), outer-fold balanced accuracy %.3f, %.1f s", label, len(history), best_epoch,
                scores["balanced_accuracy"], wall_s)
    return {"model": FINETUNED_AUDIO, "split": index, "n_train": len(inner_train), "n_inner_val": len(inner_val),
            "n_test": len(split["val"]), "epochs_run": len(history), "best_epoch": best_epoch, **scores,
            "imputed_test": imputed["test"], "wall_s": wall_s}


def _outer_probabilities(network, split, labels, patches, *, n_classes, batch_size):
    """The outer fold's probabilities [shape=(n_test, n_classes)]; a track without patches gets the training prior."""
    prior = np.bincount([labels[t] for t in split["train"]], minlength=n_classes).astype(float)
    prob = np.tile(prior / prior.sum(), (len(split["val"]), 1))
    have = [k for k, t in enumerate(split["val"]) if t in patches]
    prob[have] = clip_probabilities(network, [patches[split["val"][k]] for k in have], batch_size=batch_size)
    return prob
