"""The six Keras models of the paper (section 3, Table 1), built from named layers.

Every builder returns an uncompiled :class:`keras.Model` that ends in a
softmax over ``n_classes`` classes, output ``i`` the run's class ``i``
(:func:`mer_utils.splits.load_classes`); the default is the paper's two,
:data:`mer_utils.config.LABELS` (output 1 is *positive*). The audio input is
a log-mel spectrogram read time-major, shape ``(n_frames, n_mels)`` =
``(1024, 128)`` in the paper; the lyrics input is a padded sequence of word
ids, shape ``(max_len,)`` = ``(400,)``.

Inputs are named ``"mel"`` and ``"tokens"``, so every model is fed the same
dictionary ``{"mel": ..., "tokens": ...}`` and takes what it needs. Which
model reads which input, and which builder builds it, is written once in
:mod:`mer_utils.catalogue`; :data:`MODEL_BUILDERS` follows it.

Choices where the paper is silent (each also stated in its builder):

- **Fifth conv filter count**: the paper lists 128, 128, 64, 64 for five
  layers; the fifth repeats 64 (:data:`~mer_utils.config.AUDIO_CONV_FILTERS`).
- **Padding**: audio convolutions use ``"same"`` padding, so only the pooling
  shortens the sequence: 1024 frames -> 341 -> 113 -> 37 -> 18 -> 9 steps.
  The lyrics convolution uses ``"valid"`` padding with ReLU, like Keras'
  ``imdb_cnn`` example whose layer sizes the paper's lyrics branch shares.
- **Input scaling**: log-mel values (decibels) are standardized per mel band
  by a fixed :class:`keras.layers.Normalization` layer whose mean and
  variance the caller computes on the *training* tracks of each split (see
  :func:`mer_utils.training.mel_band_statistics`); it is saved inside the model.
- **Branch embeddings** (FCa, FCl) are linear, as equations (2) and (3) write
  them; the only non-linearity after the branches is the fused ReLU of
  equation (4).
- **Dropout** (rate ``dropout``) follows each branch embedding, the one place
  every model shares; GRUs get none, which keeps cuDNN kernels usable on a GPU.
- **Audio CNN alone**: the 9 x 64 output of the conv stack is flattened into
  the dense layer (the CNN+RNN model reads the same 9 steps with GRUs).
- **Lyrics RNN**: one GRU of 64 units over the word embeddings, masking the
  padding (id 0) so that trailing zeros do not wash out the last state.
- **Mixed precision**: the output softmax is always computed in float32.
"""

import math
import numbers
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow starts quietly in notebooks
import keras  # noqa: E402
from keras import layers  # noqa: E402

from . import catalogue, config
from .catalogue import MODEL_INPUTS, validate_model_name  # noqa: F401  (the training notebooks' names)

#: Softmax outputs of a model by default: the paper's two classes.
N_CLASSES = len(config.LABELS)


# --- inputs and shared pieces -------------------------------------------------

#: Name of the lyrics word-embedding layer (its weights can start from pretrained vectors,
#: :func:`mer_utils.training.set_pretrained_embedding`).
EMBEDDING_LAYER = "lyrics_word_embedding"


def _mel_input(*, n_frames, n_mels, mel_mean, mel_variance):
    """The audio input and its per-band standardization; return ``(input, scaled)``."""
    if n_frames < 1 or n_mels < 1:
        raise ValueError(f"mel input needs positive n_frames and n_mels, got ({n_frames}, {n_mels})")
    mel = keras.Input(shape=(n_frames, n_mels), name="mel")
    mean = [0.0] * n_mels if mel_mean is None else [float(v) for v in mel_mean]
    variance = [1.0] * n_mels if mel_variance is None else [float(v) for v in mel_variance]
    if len(mean) != n_mels or len(variance) != n_mels:
        raise ValueError(
            f"mel_mean and mel_variance need one value per mel band ({n_mels}), "
            f"got {len(mean)} and {len(variance)}"
        )
    scaled = layers.Normalization(axis=-1, mean=mean, variance=variance, name="mel_standardize")(mel)
    return mel, scaled


def _tokens_input(*, vocab_size, max_len, embedding_dim, mask_padding):
    """The lyrics input and its word embedding; return ``(input, embedded)``."""
    if vocab_size < 2:
        raise ValueError(f"vocab_size must count at least padding and OOV ids (2), got {vocab_size}")
    if max_len < 1:
        raise ValueError(f"max_len must be positive, got {max_len}")
    tokens = keras.Input(shape=(max_len,), dtype="int32", name="tokens")
    embedded = layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_padding,
                                name=EMBEDDING_LAYER)(tokens)
    return tokens, embedded


def _conv_stack(x, *, conv_filters, pool_sizes, kernel_size):
    """Equation (1): ``[MaxPooling(Conv(x))]^5`` with ELU; ``(T, M) -> (T // prod(pools), filters[-1])``."""
    if len(conv_filters) != len(pool_sizes):
        raise ValueError(
            f"one pool size per conv layer: {len(conv_filters)} filters, {len(pool_sizes)} pool sizes"
        )
    steps = x.shape[1]
    for pool in pool_sizes:
        steps //= pool
    if steps < 1:
        raise ValueError(
            f"{x.shape[1]} frames are too few for pool sizes {tuple(pool_sizes)}: "
            f"need at least {math.prod(pool_sizes)}"
        )
    for i, (filters, pool) in enumerate(zip(conv_filters, pool_sizes), start=1):
        x = layers.Conv1D(filters, kernel_size, padding="same", activation="elu", name=f"audio_conv{i}")(x)
        x = layers.MaxPooling1D(pool, name=f"audio_pool{i}")(x)
    return x


def _gru_stack(x, *, units, n_layers, prefix):
    """``n_layers`` GRUs; all but the last return sequences; ``(T, F) -> (units,)``."""
    for i in range(1, n_layers + 1):
        x = layers.GRU(units, return_sequences=i < n_layers, name=f"{prefix}_gru{i}")(x)
    return x


def _branch_embedding(x, *, prefix, branch_dim, dropout):
    """The linear layer FCa / FCl to a ``branch_dim`` vector, then dropout."""
    x = layers.Dense(branch_dim, name=f"{prefix}_fc")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{prefix}_dropout")(x)
    return x


def _emotion_output(x, n_classes):
    """Softmax over the ``n_classes`` classes, in float32 even under mixed precision."""
    return layers.Dense(n_classes, activation="softmax", dtype="float32", name="emotion")(x)


def _validate_head(dropout, n_classes):
    """The options every builder shares: the dropout rate and the number of classes."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer of at least 2, got {n_classes!r}")


# --- branches (shared by the unimodal and the fused models) ---------------------

def audio_cnn_rnn_branch(scaled_mel, *, conv_filters=config.AUDIO_CONV_FILTERS,
                         pool_sizes=config.AUDIO_POOL_SIZES, kernel_size=config.AUDIO_CONV_KERNEL,
                         gru_units=config.GRU_UNITS, n_gru_layers=config.AUDIO_GRU_LAYERS,
                         branch_dim=config.BRANCH_DIM, dropout=config.DROPOUT):
    """The paper's audio branch, equation (2): conv stack, GRUs, FCa.

    Parameters
    ----------
    scaled_mel : KerasTensor, shape (batch, n_frames, n_mels)

    Returns
    -------
    KerasTensor, shape (batch, branch_dim)
    """
    x = _conv_stack(scaled_mel, conv_filters=conv_filters, pool_sizes=pool_sizes, kernel_size=kernel_size)
    x = _gru_stack(x, units=gru_units, n_layers=n_gru_layers, prefix="audio")
    return _branch_embedding(x, prefix="audio", branch_dim=branch_dim, dropout=dropout)


def lyrics_cnn_branch(embedded, *, conv_filters=config.LYRICS_CONV_FILTERS,
                      kernel_size=config.LYRICS_CONV_KERNEL, branch_dim=config.BRANCH_DIM,
                      dropout=config.DROPOUT):
    """The paper's lyrics branch, equation (3): Conv1D, global max pooling, FCl.

    Parameters
    ----------
    embedded : KerasTensor, shape (batch, max_len, embedding_dim)

    Returns
    -------
    KerasTensor, shape (batch, branch_dim)
    """
    if embedded.shape[1] < kernel_size:
        raise ValueError(f"max_len ({embedded.shape[1]}) must be at least the kernel size ({kernel_size})")
    x = layers.Conv1D(conv_filters, kernel_size, padding="valid", activation="relu", name="lyrics_conv")(embedded)
    # Global max pooling: the paper finds it more robust to noise words than local pooling.
    x = layers.GlobalMaxPooling1D(name="lyrics_global_pool")(x)
    return _branch_embedding(x, prefix="lyrics", branch_dim=branch_dim, dropout=dropout)


# --- the six models -----------------------------------------------------------------

def build_audio_cnn(*, n_frames=config.N_FRAMES, n_mels=config.N_MELS, conv_filters=config.AUDIO_CONV_FILTERS,
                    pool_sizes=config.AUDIO_POOL_SIZES, kernel_size=config.AUDIO_CONV_KERNEL,
                    branch_dim=config.BRANCH_DIM, dropout=config.DROPOUT, mel_mean=None, mel_variance=None,
                    n_classes=N_CLASSES):
    """Audio CNN (Table 1, audio CNN): conv stack -> flatten -> dense 64 -> softmax.

    Parameters
    ----------
    n_frames, n_mels : int
        Input shape, time-major (paper: 1024 x 128).
    conv_filters, pool_sizes : sequence of int
        One entry per conv layer (paper: 128, 128, 64, 64, [64: our choice]; pools 3, 3, 3, 2, 2).
    kernel_size : int
        Conv kernel size (paper: 3).
    branch_dim : int
        Size of the audio embedding (paper: 64).
    dropout : float
        Dropout rate after the audio embedding (paper: not stated).
    mel_mean, mel_variance : array-like, shape (n_mels,), optional
        Per-band statistics of the training tracks; default leaves the input unscaled.
    n_classes : int
        Outputs of the softmax, one per class (paper: 2).

    Returns
    -------
    keras.Model
        ``{"mel": (batch, n_frames, n_mels)} -> (batch, n_classes)``. The paper does not
        describe the CNN-only model; the conv stack's ``(n_frames // 108, 64)``
        output (9 x 64 for 1024 frames) is flattened into the dense layer.
    """
    _validate_head(dropout, n_classes)
    mel, x = _mel_input(n_frames=n_frames, n_mels=n_mels, mel_mean=mel_mean, mel_variance=mel_variance)
    x = _conv_stack(x, conv_filters=conv_filters, pool_sizes=pool_sizes, kernel_size=kernel_size)
    x = layers.Flatten(name="audio_flatten")(x)
    x = _branch_embedding(x, prefix="audio", branch_dim=branch_dim, dropout=dropout)
    return keras.Model({"mel": mel}, _emotion_output(x, n_classes), name="audio_cnn")


def build_audio_rnn(*, n_frames=config.N_FRAMES, n_mels=config.N_MELS, gru_units=config.GRU_UNITS,
                    n_gru_layers=config.AUDIO_GRU_LAYERS, branch_dim=config.BRANCH_DIM,
                    dropout=config.DROPOUT, mel_mean=None, mel_variance=None, n_classes=N_CLASSES):
    """Audio RNN (Table 1, audio RNN): two GRU(64) over every mel frame -> dense 64 -> softmax.

    Parameters
    ----------
    n_frames, n_mels : int
        Input shape, time-major (paper: 1024 x 128).
    gru_units, n_gru_layers : int
        GRU size and depth (paper: 64 and 2).
    branch_dim, dropout, mel_mean, mel_variance, n_classes
        As in :func:`build_audio_cnn`.

    Returns
    -------
    keras.Model
        ``{"mel": (batch, n_frames, n_mels)} -> (batch, n_classes)``. The GRUs read all
        ``n_frames`` steps one by one: by far the slowest model on a CPU.
    """
    _validate_head(dropout, n_classes)
    mel, x = _mel_input(n_frames=n_frames, n_mels=n_mels, mel_mean=mel_mean, mel_variance=mel_variance)
    x = _gru_stack(x, units=gru_units, n_layers=n_gru_layers, prefix="audio")
    x = _branch_embedding(x, prefix="audio", branch_dim=branch_dim, dropout=dropout)
    return keras.Model({"mel": mel}, _emotion_output(x, n_classes), name="audio_rnn")


def build_audio_cnn_rnn(*, n_frames=config.N_FRAMES, n_mels=config.N_MELS, dropout=config.DROPOUT,
                        mel_mean=None, mel_variance=None, n_classes=N_CLASSES, **branch_options):
    """Audio CNN+RNN (Table 1, the paper's audio branch with its own softmax).

    Parameters
    ----------
    n_frames, n_mels, dropout, mel_mean, mel_variance, n_classes
        As in :func:`build_audio_cnn`.
    **branch_options
        Keyword options of :func:`audio_cnn_rnn_branch` (conv_filters,
        pool_sizes, kernel_size, gru_units, n_gru_layers, branch_dim).

    Returns
    -------
    keras.Model
        ``{"mel": (batch, n_frames, n_mels)} -> (batch, n_classes)``.
    """
    _validate_head(dropout, n_classes)
    mel, x = _mel_input(n_frames=n_frames, n_mels=n_mels, mel_mean=mel_mean, mel_variance=mel_variance)
    x = audio_cnn_rnn_branch(x, dropout=dropout, **branch_options)
    return keras.Model({"mel": mel}, _emotion_output(x, n_classes), name="audio_cnn_rnn")


def build_lyrics_cnn(*, vocab_size=config.VOCAB_SIZE, max_len=config.MAX_LEN,
                     embedding_dim=config.EMBEDDING_DIM, dropout=config.DROPOUT, n_classes=N_CLASSES,
                     **branch_options):
    """Lyrics CNN (Table 1, the paper's lyrics branch with its own softmax).

    Embedding(vocab_size, 200) -> Conv1D(250, 3, ReLU) -> global max pooling
    -> dense 64 -> softmax.

    Parameters
    ----------
    vocab_size : int
        Word ids including padding (0) and out-of-vocabulary (1) (paper: 27,496).
    max_len : int
        Sequence length (paper: 400).
    embedding_dim : int
        Word embedding size (paper: 200).
    dropout : float
        Dropout rate after the lyrics embedding (paper: not stated).
    n_classes : int
        Outputs of the softmax, one per class (paper: 2).
    **branch_options
        Keyword options of :func:`lyrics_cnn_branch` (conv_filters, kernel_size, branch_dim).

    Returns
    -------
    keras.Model
        ``{"tokens": (batch, max_len) int32} -> (batch, n_classes)``.
    """
    _validate_head(dropout, n_classes)
    tokens, x = _tokens_input(vocab_size=vocab_size, max_len=max_len, embedding_dim=embedding_dim,
                              mask_padding=False)  # Conv1D cannot take a mask
    x = lyrics_cnn_branch(x, dropout=dropout, **branch_options)
    return keras.Model({"tokens": tokens}, _emotion_output(x, n_classes), name="lyrics_cnn")


def build_lyrics_rnn(*, vocab_size=config.VOCAB_SIZE, max_len=config.MAX_LEN,
                     embedding_dim=config.EMBEDDING_DIM, gru_units=config.GRU_UNITS,
                     branch_dim=config.BRANCH_DIM, dropout=config.DROPOUT, n_classes=N_CLASSES):
    """Lyrics RNN (Table 1, lyrics RNN): Embedding(vocab_size, 200) -> GRU(64) -> dense 64 -> softmax.

    Parameters
    ----------
    vocab_size, max_len, embedding_dim, dropout, n_classes
        As in :func:`build_lyrics_cnn`.
    gru_units : int
        GRU size; the paper does not give it for this model, so the audio GRUs' 64.
    branch_dim : int
        Size of the lyrics embedding (paper: 64).

    Returns
    -------
    keras.Model
        ``{"tokens": (batch, max_len) int32} -> (batch, n_classes)``. The padding id 0 is
        masked, so the GRU's final state is the one after the last real word.
    """
    _validate_head(dropout, n_classes)
    tokens, x = _tokens_input(vocab_size=vocab_size, max_len=max_len, embedding_dim=embedding_dim,
                              mask_padding=True)
    x = _gru_stack(x, units=gru_units, n_layers=1, prefix="lyrics")
    x = _branch_embedding(x, prefix="lyrics", branch_dim=branch_dim, dropout=dropout)
    return keras.Model({"tokens": tokens}, _emotion_output(x, n_classes), name="lyrics_rnn")


def build_fused(*, n_frames=config.N_FRAMES, n_mels=config.N_MELS, vocab_size=config.VOCAB_SIZE,
                max_len=config.MAX_LEN, embedding_dim=config.EMBEDDING_DIM, fused_dim=config.FUSED_DIM,
                dropout=config.DROPOUT, mel_mean=None, mel_variance=None, n_classes=N_CLASSES):
    """The multimodal model of Figure 1, equation (4).

    Audio CNN+RNN branch and lyrics CNN branch (the best unimodal models),
    concatenated -> dense 64 with ReLU (FCm) -> softmax, trained end to end.

    Parameters
    ----------
    n_frames, n_mels, mel_mean, mel_variance
        Audio input, as in :func:`build_audio_cnn`.
    vocab_size, max_len, embedding_dim
        Lyrics input, as in :func:`build_lyrics_cnn`.
    fused_dim : int
        Size of FCm (paper: 64).
    dropout : float
        Dropout rate after each branch embedding (paper: not stated).
    n_classes : int
        Outputs of the softmax, one per class (paper: 2).

    Returns
    -------
    keras.Model
        ``{"mel": (batch, n_frames, n_mels), "tokens": (batch, max_len) int32} -> (batch, n_classes)``.
    """
    _validate_head(dropout, n_classes)
    mel, audio = _mel_input(n_frames=n_frames, n_mels=n_mels, mel_mean=mel_mean, mel_variance=mel_variance)
    tokens, words = _tokens_input(vocab_size=vocab_size, max_len=max_len, embedding_dim=embedding_dim,
                                  mask_padding=False)
    merged = layers.Concatenate(name="fused_concat")([
        audio_cnn_rnn_branch(audio, dropout=dropout),
        lyrics_cnn_branch(words, dropout=dropout),
    ])
    x = layers.Dense(fused_dim, activation="relu", name="fused_fc")(merged)
    return keras.Model({"mel": mel, "tokens": tokens}, _emotion_output(x, n_classes), name="fused")


#: Model name (as in the run folder, ``models/<name>/``) -> builder: the builder each
#: :data:`mer_utils.catalogue.MODELS` entry names, so the catalogue stays the one list of models.
MODEL_BUILDERS = {info.name: globals()[info.builder] for info in catalogue.MODELS if info.builder}


def layer_table(model):
    """One row per layer: name, type, output shape, parameters (a readable model card).

    Returns
    -------
    pandas.DataFrame
        Columns ``layer, type, output_shape, params``.
    """
    import pandas as pd

    rows = [
        {"layer": layer.name, "type": type(layer).__name__,
         "output_shape": _output_shape(layer), "params": layer.count_params()}
        for layer in model.layers
    ]
    return pd.DataFrame(rows, columns=["layer", "type", "output_shape", "params"])


def _output_shape(layer):
    output = layer.output
    return tuple(output.shape) if hasattr(output, "shape") else tuple(tuple(o.shape) for o in output)
