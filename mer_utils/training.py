"""Train and evaluate a model on every split of notebook 01, and save what each run produced.

One call, :func:`train_on_splits`, trains one model per split (paper: 5 runs
of 90 % training / 10 % validation), always on the splits saved by notebook 01
(:func:`mer_utils.splits.load_splits`), so every model sees identical data,
run by run. Per split it writes into ``RunLayout.model_dir(model_name, i)``
the files of :mod:`mer_utils.outputs` (``history.csv``, ``predictions.csv``
of the validation tracks, ``metrics.json``, ``provenance.json`` with
parameters, seed, device, library versions and times), plus:

=================== ===========================================================
``model.keras``     the trained model (best epoch when early stopping)
``vocabulary.json`` the split's vocabulary (lyrics and fused models only)
=================== ===========================================================

Choices where the paper is silent (defaults in :mod:`mer_utils.config`; all
are notebook and profile parameters):

- **Loss**: cross-entropy of the softmax over the run's classes against
  integer labels (sparse categorical cross-entropy; with the paper's two
  classes it is its binary cross-entropy). Label ``i`` is the run's class
  ``i`` (:func:`mer_utils.splits.load_classes`), softmax output ``i``.
- **Optimizer**: Adam with learning rate 0.001 (Keras' default), the usual
  choice for CNN/GRU models of this size.
- **Batch size** 32; **epochs** at most 30.
- **Early stopping** on the validation loss (patience 5, best weights
  restored; ``patience=0`` trains all epochs and keeps the last weights). As
  in the paper, which has no separate test set, the validation part both
  picks the epoch and gives the accuracy, so the reported numbers are
  slightly optimistic.
- **Dropout** 0.25 after each branch embedding (see :mod:`mer_utils.models`).
- **Class weights** off: notebook 01 balances the classes by undersampling;
  turn them on for a corpus kept unbalanced (every class then weighs the same).
- **Seeds**: split ``i`` trains with ``seed + i`` (weights, dropout and
  shuffling); on a CPU the same seed gives the same metrics.
- **No leakage**: the mel standardization statistics and the vocabulary are
  computed on each split's training tracks only.
- **Random crops** (``crop_frames``, off by default: the paper reads whole
  clips): with ``crop_frames = W`` the model is built for W frames and every
  epoch each training clip gives a fresh random window of W consecutive
  frames (drawn from the seed). Validation and prediction cut each clip into
  its windows (:func:`window_starts`) and average their probabilities
  (:func:`predict_clips`), so a clip still gets one prediction; early
  stopping watches the loss of those averaged probabilities.

Data are read per batch: mel spectrograms as rows of the run's feature
matrix (:func:`mer_utils.mels.open_matrix`), lyrics as encoded int32 arrays, in
a ``tf.data`` pipeline that prefetches the next batches while the model trains.
"""

import dataclasses
import datetime as dt
import logging
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow starts quietly in notebooks
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import config, outputs, provenance  # noqa: E402
from .catalogue import INPUTS, MODEL_INPUTS, validate_model_name, validate_splits  # noqa: E402
from .metrics import evaluate  # noqa: E402
from .models import EMBEDDING_LAYER, MODEL_BUILDERS  # noqa: E402

logger = logging.getLogger(__name__)


class _ExpectedRetracing(logging.Filter):
    """Every split trains a fresh model, so TensorFlow's warning about repeated tracing is expected: hide it."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_ExpectedRetracing())

#: What :func:`configure_device` chose last (``None`` before the first call).
_device = None


# --- device and seeds -----------------------------------------------------------

def _physical_gpus():
    """The GPUs TensorFlow sees (a function of its own so tests can pretend to have one)."""
    return tf.config.list_physical_devices("GPU")


def _gpu_name(gpu):
    try:
        return tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
    except (ValueError, TypeError, AttributeError):
        return getattr(gpu, "name", str(gpu))


def configure_device(*, mixed_precision=config.MIXED_PRECISION):
    """Use TensorFlow's GPU when there is one, the CPU otherwise, with the same code.

    On a GPU, memory is allocated as needed (memory growth, so a notebook
    does not grab the whole card) and ``mixed_precision`` turns on float16
    compute (the output softmax stays float32). On a CPU, mixed precision is
    ignored (float16 would only be slower there) and TensorFlow's
    deterministic ops are enabled, so that one seed gives one result. Call it
    once, before building models.

    Parameters
    ----------
    mixed_precision : bool
        Train with Keras' ``mixed_float16`` policy when a GPU is present.

    Returns
    -------
    dict
        ``device`` ("GPU" or "CPU"), ``gpus`` (names), ``mixed_precision``
        (whether it is on), ``dtype_policy``, ``deterministic_ops``,
        ``replicas`` (devices a model trains on at once, :func:`distribution_strategy`),
        ``tensorflow`` (version).
    """
    global _device
    gpus = _physical_gpus()
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass  # TensorFlow already initialised this GPU; growth can only be set before that
    use_mixed = bool(mixed_precision and gpus)
    if mixed_precision and not gpus:
        logger.warning("mixed precision requested but no GPU found: training in float32 on the CPU")
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    if not gpus:
        tf.config.experimental.enable_op_determinism()
    _device = {
        "device": "GPU" if gpus else "CPU",
        "gpus": [_gpu_name(gpu) for gpu in gpus],
        "mixed_precision": use_mixed,
        "dtype_policy": keras.mixed_precision.global_policy().name,
        "deterministic_ops": not gpus,
        "replicas": max(len(_replica_devices()), 1),
        "tensorflow": tf.__version__,
    }
    logger.info("training on %s (%s)", _device["device"], _device["dtype_policy"])
    return dict(_device)


def _replica_devices():
    """The devices a model is copied to: every GPU TensorFlow sees (a function of its own so that
    tests can put two CPU devices there)."""
    return [device.name for device in tf.config.list_logical_devices("GPU")]


def distribution_strategy():
    """How a model trains: ``tf.distribute.MirroredStrategy`` when more than one GPU is visible, else as is.

    With N GPUs every GPU holds a copy of the model and takes ``batch_size / N``
    tracks of each batch; their gradients are summed before each update. The
    batch size is the global one: the same ``batch_size`` makes the same
    number of updates per epoch on one GPU or on N, so the hyper-parameters
    mean the same thing (results differ only by the order of floating-point
    sums). To give each GPU as much work as one had, raise ``batch_size`` N
    times (and the learning rate with it, as usual for larger batches).
    ``CUDA_VISIBLE_DEVICES`` chooses the GPUs.

    Returns
    -------
    tf.distribute.Strategy
        Its ``scope()`` is where models are built.
    """
    devices = _replica_devices()
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


# --- options and data -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """Hyper-parameters of one training; defaults from :mod:`mer_utils.config`.

    ``vocab_size`` and ``max_len`` only matter to models that read lyrics,
    ``crop_frames`` to those that read mel spectrograms (0: whole clips).
    """

    seed: int = config.SEED
    epochs: int = config.EPOCHS
    batch_size: int = config.BATCH_SIZE
    learning_rate: float = config.LEARNING_RATE
    dropout: float = config.DROPOUT
    patience: int = config.PATIENCE
    class_weights: bool = config.CLASS_WEIGHTS
    vocab_size: int = config.VOCAB_SIZE
    max_len: int = config.MAX_LEN
    embedding_init: str = config.EMBEDDING_INIT
    crop_frames: int = config.CROP_FRAMES

    def __post_init__(self):
        checks = {
            "epochs": self.epochs >= 1, "batch_size": self.batch_size >= 1,
            "learning_rate": self.learning_rate > 0, "dropout": 0 <= self.dropout < 1,
            "patience": self.patience >= 0, "vocab_size": self.vocab_size >= 2, "max_len": self.max_len >= 1,
            "embedding_init": self.embedding_init in config.EMBEDDING_INITS,
            "crop_frames": isinstance(self.crop_frames, (int, np.integer)) and self.crop_frames >= 0,
        }
        bad = [f"{name}={getattr(self, name)!r}" for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid training options: {', '.join(bad)} (epochs, batch_size, max_len >= 1; "
                             "learning_rate > 0; dropout in [0, 1); patience >= 0; vocab_size >= 2; "
                             f"embedding_init one of {', '.join(config.EMBEDDING_INITS)}; "
                             "crop_frames an integer >= 0, 0: whole clips)")


@dataclasses.dataclass
class TrainingData:
    """What a model trains on: splits, labels and the feature sources.

    Attributes
    ----------
    splits : list of dict
        ``[{"train": [track ids], "val": [track ids]}, ...]``.
    labels : dict
        Track id -> class index (the paper's task: 0 negative, 1 positive).
    mels : MelStore-like or None
        ``.shape`` = (n_mels, n_frames) and ``.batch(ids)`` -> float32
        (len(ids), n_frames, n_mels); needed by audio and fused models.
    tokens : dict or None
        Track id -> list of words; needed by lyrics and fused models.
    classes : tuple of str
        The run's class names in label-index order (default the paper's two):
        the models get one softmax output per class.
    """

    splits: list
    labels: dict
    mels: object = None
    tokens: dict = None
    classes: tuple = config.LABELS

    @classmethod
    def from_layout(cls, layout, model_name, *, feature_memory_mb=config.FEATURE_MEMORY_MB):
        """Read the splits, labels and the features ``model_name`` needs from a run folder.

        Mel features come from the run's feature matrix (:func:`mer_utils.mels.open_matrix`),
        loaded whole when it takes at most ``feature_memory_mb`` MB.
        """
        from .splits import label_map, load_classes, load_splits

        validate_model_name(model_name)
        needs = MODEL_INPUTS[model_name]
        mels = tokens = None
        if "mel" in needs:
            from .mels import open_matrix

            mels = open_matrix(layout, memory_budget_mb=feature_memory_mb)
        if "tokens" in needs:
            from .lyrics import load_tokens

            tokens = load_tokens(layout)
        return cls(splits=load_splits(layout), labels=label_map(layout), mels=mels, tokens=tokens,
                   classes=load_classes(layout))


def validate_training_data(data, model_name):
    """Raise ``ValueError`` unless ``data`` can train ``model_name`` on every split.

    The features the model reads must be given and every label must be a
    class index of ``data.classes``; the splits are then checked by
    :func:`mer_utils.catalogue.validate_splits`, as the baselines' are.
    """
    validate_model_name(model_name)
    n_classes = len(data.classes)
    stray = sorted({label for label in data.labels.values() if label not in range(n_classes)})
    if n_classes < 2 or stray:
        raise ValueError(f"{model_name}: labels must be class indices of the {n_classes} classes "
                         f"{tuple(data.classes)}, found {stray[:5]}; give TrainingData the run's classes "
                         "(splits.load_classes)")
    sources = {"mel": data.mels, "tokens": data.tokens}
    available = {}
    for key in MODEL_INPUTS[model_name]:
        if sources[key] is None:
            raise ValueError(f"{model_name} needs {INPUTS[key]}, but none were given")
        available[key] = set(sources[key].ids if key == "mel" else sources[key])
    validate_splits(model_name, data.splits, data.labels, available)


def validate_crop_frames(model_name, crop_frames, n_frames):
    """Raise ``ValueError`` unless ``model_name`` can train on windows of ``crop_frames`` of ``n_frames``-frame clips.

    0 (whole clips) is always fine. Otherwise the model must read mel
    spectrograms, the window must fit in the clip, and the model's builder
    must accept that many frames (the conv stack's pools need at least
    their product, 108 with the paper's pools; the audio RNN takes any
    length): the builder is asked, with a throwaway model.
    """
    if not crop_frames:
        return
    if "mel" not in MODEL_INPUTS[model_name]:
        raise ValueError(f"crop_frames={crop_frames}: {model_name} reads no mel spectrogram; random crops are for "
                         "the audio and fused models (give crop_frames=0)")
    if crop_frames > n_frames:
        raise ValueError(f"crop_frames={crop_frames} is longer than the clips' {n_frames} frames: "
                         f"give at most {n_frames} (or 0 for whole clips)")
    try:
        MODEL_BUILDERS[model_name](n_frames=crop_frames, n_mels=1)
    except ValueError as err:
        raise ValueError(f"crop_frames={crop_frames} is too short for {model_name}: {err}") from None


def window_starts(n_frames, crop_frames):
    """First frames of a clip's prediction windows: non-overlapping, covering the whole clip.

    Windows start every ``crop_frames`` frames; when ``crop_frames`` does
    not divide ``n_frames``, the last window ends at the clip's end (so it
    overlaps the one before it) rather than being padded or dropped: every
    frame is seen, every window is a real ``crop_frames``-frame excerpt.

    Returns
    -------
    np.ndarray, shape (ceil(n_frames / crop_frames),), int64

    Examples
    --------
    >>> window_starts(1024, 256).tolist()
    [0, 256, 512, 768]
    >>> window_starts(120, 50).tolist()
    [0, 50, 70]
    """
    if not 1 <= crop_frames <= n_frames:
        raise ValueError(f"crop_frames={crop_frames} must be in [1, {n_frames}] for clips of {n_frames} frames")
    starts = np.arange(0, n_frames - crop_frames + 1, crop_frames, dtype=np.int64)
    if starts[-1] + crop_frames < n_frames:
        starts = np.append(starts, n_frames - crop_frames)
    return starts


def mel_band_statistics(mels, track_ids, *, chunk_size=64):
    """Mean and variance of every mel band over the given tracks, read in chunks.

    Parameters
    ----------
    mels : MelStore-like
        ``.batch(ids)`` -> float32 (len(ids), n_frames, n_mels).
    track_ids : sequence of str
        The training tracks of a split (never the validation ones).
    chunk_size : int
        Tracks read at a time: memory stays ``chunk_size`` spectrograms.

    Returns
    -------
    mean, variance : np.ndarray, shape (n_mels,), float64
    """
    total = total_sq = None
    count = 0
    for start in range(0, len(track_ids), chunk_size):
        chunk = mels.batch(list(track_ids[start:start + chunk_size])).astype(np.float64)
        sums, sq_sums = chunk.sum(axis=(0, 1)), np.square(chunk).sum(axis=(0, 1))
        total = sums if total is None else total + sums
        total_sq = sq_sums if total_sq is None else total_sq + sq_sums
        count += chunk.shape[0] * chunk.shape[1]
    if not count:
        raise ValueError("cannot compute mel statistics of zero tracks")
    mean = total / count
    return mean, np.maximum(total_sq / count - np.square(mean), 0.0)


def make_dataset(track_ids, labels, *, mels=None, tokens=None, batch_size, shuffle=False, seed=0, crop_frames=0,
                 starts=None):
    """A ``tf.data`` pipeline of ``({"mel": ..., "tokens": ...}, labels)`` batches.

    Mel spectrograms are read from ``mels`` batch by batch (never the whole
    corpus in memory); the next batches are prefetched while the model trains.
    From a feature matrix (``mels.read_rows``, :mod:`mer_utils.feature_matrix`)
    a batch is its float16 rows, cast to float32 by TensorFlow: the same numbers.
    With ``crop_frames`` each element's mel is a window of that many frames.

    Parameters
    ----------
    track_ids : sequence of str, length n
    labels : np.ndarray, shape (n,), int
    mels : MelStore-like, optional
        Gives ``"mel"``: float32 (batch, n_frames, n_mels).
    tokens : np.ndarray, shape (n, max_len), int32, optional
        Encoded lyrics aligned with ``track_ids``; gives ``"tokens"``.
    batch_size : int
    shuffle : bool
        Reshuffle the order every epoch (training); validation keeps its order.
    seed : int
        Seed of the shuffling and of the random windows.
    crop_frames : int
        0: whole clips ``(n_frames, n_mels)``; W > 0: windows ``(W, n_mels)``.
    starts : sequence of int, length n, optional
        With ``crop_frames``: the first frame of each element's window (prediction,
        :func:`predict_clips`). Default: a fresh random window per element
        on every pass over the dataset (every epoch), uniform over the clip and
        reproducible from ``seed``.

    Returns
    -------
    tf.data.Dataset
    """
    track_ids = list(track_ids)
    labels = np.asarray(labels, dtype=np.int32)
    specs = []  # (input name, dtype, batch shape) of each model input
    rows = mels.rows(track_ids) if hasattr(mels, "read_rows") else None  # a feature matrix's row numbers
    if mels is not None:
        n_mels, n_frames = mels.shape
        specs.append(("mel", tf.float32 if rows is None else tf.float16, (None, crop_frames or n_frames, n_mels)))
    if tokens is not None:
        tokens = np.asarray(tokens, dtype=np.int32)
        specs.append(("tokens", tf.int32, (None, tokens.shape[1])))

    def load(index, *window):  # window: the batch's first frames, with crop_frames
        arrays = []
        if rows is not None:
            arrays.append(mels.read_rows(rows[index]))
        elif mels is not None:
            arrays.append(np.asarray(mels.batch([track_ids[i] for i in index]), dtype=np.float32))
        if window and mels is not None:
            frames = window[0][:, None] + np.arange(crop_frames)  # (batch, W) frame numbers
            arrays[0] = arrays[0][np.arange(len(index))[:, None], frames]
        if tokens is not None:
            arrays.append(tokens[index])
        return (*arrays, labels[index])

    def load_tf(index, *window):
        *arrays, y = tf.numpy_function(load, [index, *window], [dtype for _, dtype, _ in specs] + [tf.int32],
                                       stateful=False)
        for array, (_, _, shape) in zip(arrays, specs):
            array.set_shape(shape)
        y.set_shape((None,))
        return {name: tf.cast(array, tf.float32) if array.dtype == tf.float16 else array
                for array, (name, _, _) in zip(arrays, specs)}, y

    dataset = tf.data.Dataset.range(len(track_ids))
    if crop_frames and starts is not None:
        dataset = tf.data.Dataset.zip(dataset, tf.data.Dataset.from_tensor_slices(np.asarray(starts, np.int64)))
    if shuffle:
        dataset = dataset.shuffle(len(track_ids), seed=seed, reshuffle_each_iteration=True)
    if crop_frames and starts is None:
        dataset = tf.data.Dataset.zip(dataset, _random_starts(mels.shape[1] - crop_frames + 1, seed=seed))
    # Parallel reads of the next batches, delivered in order (deterministic=True keeps seeds meaningful).
    dataset = dataset.batch(batch_size).map(load_tf, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _random_starts(n_positions, *, seed):
    """An endless dataset of int64 window starts in ``[0, n_positions)``, new ones on every pass, from ``seed``."""
    def position(number):
        return tf.math.floormod(number, n_positions)  # the bias of a modulo of 64-bit numbers is negligible

    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).map(position)


def predict_clips(model, track_ids, *, mels=None, tokens=None, batch_size=config.BATCH_SIZE, crop_frames=0):
    """Class probabilities of whole clips; with ``crop_frames``, the mean over each clip's windows.

    The one prediction of every model trained by :func:`train_on_splits`:
    the validation of each epoch (with crops), the saved predictions and
    the never-tuned rows' outer folds (:func:`mer_utils.beyond.train_nested`).

    Parameters
    ----------
    model : keras.Model
        Built for ``crop_frames`` frames (or the whole clip when 0).
    track_ids : sequence of str, length n
    mels : MelStore-like, optional
        Whole clips ``(n_frames, n_mels)``: they are cut into :func:`window_starts` here.
    tokens : np.ndarray, shape (n, max_len), int32, optional
        Encoded lyrics, aligned with ``track_ids`` (every window of a clip gets its clip's).
    batch_size : int
    crop_frames : int
        0: the model reads whole clips.

    Returns
    -------
    np.ndarray, shape (n, n_classes), float64
    """
    track_ids = list(track_ids)
    if not crop_frames:
        dataset = make_dataset(track_ids, np.zeros(len(track_ids), dtype=np.int32), mels=mels, tokens=tokens,
                               batch_size=batch_size)
        return model.predict(dataset, verbose=0).astype(float)
    starts = window_starts(mels.shape[1], crop_frames)
    per_clip = len(starts)
    dataset = make_dataset(np.repeat(track_ids, per_clip).tolist(), np.zeros(len(track_ids) * per_clip, np.int32),
                           mels=mels, tokens=None if tokens is None else np.repeat(tokens, per_clip, axis=0),
                           batch_size=batch_size, crop_frames=crop_frames, starts=np.tile(starts, len(track_ids)))
    windows = model.predict(dataset, verbose=0).astype(float)  # (n * per_clip, n_classes), clip by clip
    return windows.reshape(len(track_ids), per_clip, -1).mean(axis=1)


def whole_clip_model(model, n_frames):
    """A model trained on crops as one that reads whole clips: the mean of its probabilities over their windows.

    The windows are :func:`window_starts`' and the mean is
    :func:`predict_clips`', so the two score a clip alike; the prediction
    and explanation of new songs (:mod:`mer_utils.predict`,
    :mod:`mer_utils.explain`) feed whole clips and use this. A model that
    already reads ``n_frames`` frames is returned as it is.

    Parameters
    ----------
    model : keras.Model
        With a ``"mel"`` input of shape (batch, crop_frames, n_mels).
    n_frames : int
        Frames of the run's clips (at least ``crop_frames``).

    Returns
    -------
    keras.Model
        Inputs as ``model``'s, ``"mel"`` of shape (batch, n_frames, n_mels);
        the crop-trained model is its one inner layer.
    """
    mel = next(tensor for tensor in model.inputs if tensor.name == "mel")
    crop_frames, n_mels = int(mel.shape[1]), int(mel.shape[2])
    if crop_frames == n_frames:
        return model
    starts = window_starts(n_frames, crop_frames)
    inputs = {tensor.name: keras.Input(shape=tuple(tensor.shape[1:]), dtype=tensor.dtype, name=tensor.name)
              for tensor in model.inputs}
    inputs["mel"] = keras.Input(shape=(n_frames, n_mels), dtype=mel.dtype, name="mel")
    windows = [model({**inputs, "mel": inputs["mel"][:, start:start + crop_frames]}) for start in starts]
    mean = keras.ops.mean(keras.ops.stack(windows, axis=0), axis=0)
    return keras.Model([inputs[tensor.name] for tensor in model.inputs], mean, name=f"{model.name}_whole_clips")


class ClipValidation(keras.callbacks.Callback):
    """Each epoch's ``val_loss`` and ``val_accuracy`` from whole-clip probabilities (:func:`predict_clips`).

    Used instead of Keras' own validation when training on random crops, so
    that early stopping judges what is reported: the clip's mean over its
    windows, not single windows. It must come before the early stopping in
    the callbacks (Keras passes every callback the same epoch logs, in order).
    """

    def __init__(self, track_ids, labels, *, mels, tokens, batch_size, crop_frames):
        super().__init__()
        self.track_ids, self.labels = list(track_ids), np.asarray(labels, dtype=np.int32)
        self.inputs = {"mels": mels, "tokens": tokens, "batch_size": batch_size, "crop_frames": crop_frames}

    def on_epoch_end(self, epoch, logs=None):
        probabilities = predict_clips(self.model, self.track_ids, **self.inputs)
        loss = keras.losses.sparse_categorical_crossentropy(self.labels, probabilities)  # as Keras' validation
        logs["val_loss"] = float(np.mean(keras.ops.convert_to_numpy(loss)))
        logs["val_accuracy"] = float(np.mean(probabilities.argmax(axis=1) == self.labels))


def balanced_class_weights(labels, n_classes=2):
    """Keras ``class_weight``: ``n / (n_classes * n_class)`` per class, so every class weighs the same."""
    labels = np.asarray(labels)
    return {c: len(labels) / (n_classes * max(int((labels == c).sum()), 1)) for c in range(n_classes)}


# --- training ----------------------------------------------------------------------

def train_on_splits(model_name, layout, *, data=None, verbose=0, feature_memory_mb=config.FEATURE_MEMORY_MB,
                    **options):
    """Train ``model_name`` once per split and save every run's outputs.

    Parameters
    ----------
    model_name : str
        A deep model of :mod:`mer_utils.catalogue` (``audio_cnn``, ...).
    layout : RunLayout
        The run folder: inputs are read from it, outputs written to
        ``models/<model_name>/split_<i>/``.
    data : TrainingData, optional
        Splits, labels and features; default :meth:`TrainingData.from_layout`.
    verbose : int
        Keras' progress output (0: none; one log line per split either way).
    feature_memory_mb : float
        Without ``data``: load the run's mel feature matrix whole when it takes at most this many MB.
    **options
        Fields of :class:`TrainingOptions`: ``seed``, ``epochs``, ``batch_size``,
        ``learning_rate``, ``dropout``, ``patience``, ``class_weights``,
        ``vocab_size``, ``max_len``, ``embedding_init``, ``crop_frames``.

    Returns
    -------
    pandas.DataFrame
        One row per split: model, split, n_train, n_val, epochs_run,
        best_epoch, the scores of :func:`mer_utils.metrics.evaluate`, wall_s.
    """
    validate_model_name(model_name)
    opts = TrainingOptions(**options)
    data = data if data is not None else TrainingData.from_layout(layout, model_name,
                                                                  feature_memory_mb=feature_memory_mb)
    validate_training_data(data, model_name)
    validate_crop_frames(model_name, opts.crop_frames, data.mels.shape[1] if data.mels is not None else 0)
    device = dict(_device) if _device is not None else configure_device()
    rows = [_train_split(model_name, layout, data, i, opts, device, verbose=verbose)
            for i in range(len(data.splits))]
    return pd.DataFrame(rows)


def _train_split(model_name, layout, data, index, opts, device, *, verbose):
    """Train, evaluate and save one model on split ``index``; return its summary row."""
    started, clock = dt.datetime.now(), time.perf_counter()
    seed = opts.seed + index
    train_ids, val_ids = list(data.splits[index]["train"]), list(data.splits[index]["val"])
    y_train = np.array([data.labels[t] for t in train_ids], dtype=np.int32)
    y_val = np.array([data.labels[t] for t in val_ids], dtype=np.int32)

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    build_options, train_tokens, val_tokens, vocab = _prepare_inputs(model_name, data, train_ids, val_ids, opts)
    with distribution_strategy().scope():  # several GPUs: one replica each (see distribution_strategy)
        model = MODEL_BUILDERS[model_name](dropout=opts.dropout, n_classes=len(data.classes), **build_options)
    if vocab is not None and opts.embedding_init == "wordllama":
        set_pretrained_embedding(model, vocab)
    mels = data.mels if "mel" in MODEL_INPUTS[model_name] else None
    train_set = make_dataset(train_ids, y_train, mels=mels, tokens=train_tokens, batch_size=opts.batch_size,
                             shuffle=True, seed=seed, crop_frames=opts.crop_frames)
    if opts.crop_frames:  # whole clips are judged by the mean of their windows
        validation = ClipValidation(val_ids, y_val, mels=mels, tokens=val_tokens, batch_size=opts.batch_size,
                                    crop_frames=opts.crop_frames)
    else:
        validation = make_dataset(val_ids, y_val, mels=mels, tokens=val_tokens, batch_size=opts.batch_size)
    label = f"{model_name} split {index} (of {len(data.splits)})"
    logger.info("%s: training on %d tracks, validating on %d", label, len(train_ids), len(val_ids))
    history, best_epoch = _fit(model, train_set, validation, opts, class_weight=(
        balanced_class_weights(y_train, len(data.classes)) if opts.class_weights else None), verbose=verbose,
        progress=EpochProgress(label, opts.epochs))
    probabilities = predict_clips(model, val_ids, mels=mels, tokens=val_tokens, batch_size=opts.batch_size,
                                  crop_frames=opts.crop_frames)  # (n_val, n_classes)

    scores = evaluate(y_val, probabilities)
    run = {"model": model_name, "split": index, "n_train": len(train_ids), "n_val": len(val_ids),
           "epochs_run": len(history), "best_epoch": best_epoch}
    wall_s = round(time.perf_counter() - clock, 2)
    record = {
        **run, "seed": seed, "classes": list(data.classes), "parameters": dataclasses.asdict(opts),
        "n_params": model.count_params(),
        "inputs": build_options_summary(build_options), "device": device, **provenance.environment(),
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now().isoformat(timespec="seconds"), "wall_s": wall_s,
    }
    folder = outputs.save_split(layout.model_dir(model_name, index), track_ids=val_ids, labels=y_val,
                                probabilities=probabilities, classes=data.classes, scores=scores,
                                provenance=record, history=history)
    model.save(folder / "model.keras")
    if vocab is not None:
        vocab.save(folder / "vocabulary.json")
    logger.info("%s split %d: %d epochs (best %d), validation accuracy %.3f, %.1f s",
                model_name, index, len(history), best_epoch, scores["accuracy"], wall_s)
    return {**run, **scores, "wall_s": wall_s}


class EpochProgress(keras.callbacks.Callback):
    """Log one line per epoch: its number, the training and validation scores and its time.

    Reads Keras' epoch logs only, so the training is the same with or without
    it. :func:`mer_utils.notebook.setup` shows the lines in the notebook, and
    the runner prints them in its console.
    """

    def __init__(self, label, epochs):
        super().__init__()
        self.label, self.epochs, self._started = label, epochs, None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        scores = ", ".join(f"{name} {float(logs[name]):.3f}" for name in outputs.HISTORY_COLUMNS[1:]
                           if name in (logs or {}))
        logger.info("%s, epoch %d/%d: %s (%.1f s)", self.label, epoch + 1, self.epochs, scores,
                    time.perf_counter() - self._started)


def _fit(model, train_set, validation, opts, *, class_weight, verbose, progress=None):
    """Compile and fit ``model``; return its history (``outputs.HISTORY_COLUMNS``) and the epoch it keeps.

    ``validation`` is a dataset Keras evaluates after each epoch, or a
    :class:`ClipValidation` that writes the epoch's validation scores itself.
    """
    with model.distribute_strategy.scope():  # the optimizer's variables live where the model's do
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=opts.learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=opts.patience, restore_best_weights=True)
    own = isinstance(validation, keras.callbacks.Callback)  # first, so the stopper sees its scores
    callbacks = ([validation] if own else []) + ([stopper] if opts.patience else []) + ([progress] if progress else [])
    fit = model.fit(train_set, validation_data=None if own else validation, epochs=opts.epochs, verbose=verbose,
                    shuffle=False, callbacks=callbacks, class_weight=class_weight)
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    best_epoch = stopper.best_epoch + 1 if opts.patience else len(history)
    return history.loc[:, list(outputs.HISTORY_COLUMNS)], best_epoch


def _prepare_inputs(model_name, data, train_ids, val_ids, opts):
    """Builder options and encoded lyrics of one split, fit on its training tracks only.

    Returns
    -------
    build_options : dict
    train_tokens, val_tokens : np.ndarray (n, max_len) int32, or None
    vocab : Vocabulary or None
    """
    needs = MODEL_INPUTS[model_name]
    build_options, train_tokens, val_tokens, vocab = {}, None, None, None
    if "mel" in needs:
        n_mels, n_frames = data.mels.shape
        mean, variance = mel_band_statistics(data.mels, train_ids)  # of the whole training clips, crops or not
        build_options.update(n_frames=opts.crop_frames or n_frames, n_mels=n_mels, mel_mean=mean,
                             mel_variance=variance)
    if "tokens" in needs:
        from .vocabulary import Vocabulary

        vocab = Vocabulary.fit([data.tokens[t] for t in train_ids], max_size=opts.vocab_size)
        train_tokens = vocab.encode([data.tokens[t] for t in train_ids], max_len=opts.max_len)
        val_tokens = vocab.encode([data.tokens[t] for t in val_ids], max_len=opts.max_len)
        build_options.update(vocab_size=len(vocab), max_len=opts.max_len)
    return build_options, train_tokens, val_tokens, vocab


def set_pretrained_embedding(model, vocab):
    """Start the model's word embedding from WordLlama's vectors of the split's vocabulary (then trained as usual).

    Set as weights after the model is built, not as an initializer, so that
    ``model.keras`` holds the matrix once, as weights, and not again in its
    configuration. WordLlama is trained on English text: on Korean words the
    vectors carry little (docs/results.md).
    """
    from .pretrained.lyrics_features import embedding_matrix

    layer = model.get_layer(EMBEDDING_LAYER)
    layer.set_weights([embedding_matrix(vocab, dim=layer.output_dim)])


def build_options_summary(build_options):
    """The builder options worth recording (shapes and sizes, not the per-band statistics)."""
    return {k: v for k, v in build_options.items() if k not in ("mel_mean", "mel_variance")}


def load_model(layout, model_name, split_index):
    """The trained model of one split, as saved by :func:`train_on_splits`."""
    path = layout.model_dir(model_name, split_index) / "model.keras"
    if not path.is_file():
        raise ValueError(f"no trained model at {path}: run the notebook that trains {model_name}")
    return keras.models.load_model(path)
