"""Why did a model decide so? Occlusion explanations of one song's prediction.

Every explanation here asks the same question of a trained model: *how much
does the confidence in the class it chose drop when one part of the input is
taken away?* The score is the drop of that class's log-odds
``log(p / (1 - p))`` (or of its probability, ``measure="probability"``): a
positive score means the part supported the decision, a negative one that it
argued against it; 1.0 means the odds fell by a factor e. Log-odds come from
the model's logits, so they still rank the parts of a song the model is sure
about, whose probability is 0.9999 whatever is taken away. Occlusion needs
nothing but the model's outputs, so it explains any model of the study (CNN,
RNN, fused) the same way, and it reads per class, so it holds for any number
of classes (``target`` is an index into the softmax,
:data:`mer_utils.config.LABELS`).

- **Audio** (:func:`explain_audio`): the log-mel spectrogram is cut into a
  grid of mel-band groups by time windows; each cell, each whole window and
  each whole band group in turn is replaced by the *average music* of the
  training tracks (the per-band means the model standardizes with), and the
  drop is its score. The window scores say which
  seconds moved the decision, the band-group scores which frequencies.
- **Lyrics** (:func:`explain_lyrics`): each distinct word of the song is
  dropped (every occurrence, as a repeated chorus line would otherwise stand
  in for itself), and so is each n-gram that a CNN's global max pooling kept
  (the window where a filter peaks; the paper's lyrics branch keeps exactly
  those).

Occluded inputs are unlike any training input, so a score is the model's
reaction to a counterfactual, not a proof of what it "looks at"; the tests
check the explanations recover known cues (``tests/test_explain.py``).

Examples
--------
>>> explanation = explain_audio(model, mel, sample_rate=22050, clip_seconds=60.0)  # doctest: +SKIP
>>> explanation.top_spans(3)                                                         # doctest: +SKIP
   start_s  end_s  score
...
"""

import contextlib
import functools
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import config
from .melspec import clip_samples, hop_length
from .vocabulary import PAD_ID

#: Default occlusion grid of :func:`explain_audio`: mel-band groups x time windows
#: (128 bands x 1024 frames of a minute: groups of 16 bands, windows of 3.75 s).
AUDIO_GRID = (8, 16)
#: Occluded copies scored per call of the model.
BATCH_SIZE = 32
#: What an occlusion score measures of the target class: the drop of its log-odds ``log(p / (1 - p))``
#: (:func:`log_odds`; the default: it still ranks the parts of a song a model is sure about, where the
#: probability is 0.99... whatever is occluded), or of its probability.
MEASURES = ("probability", "log_odds")
#: Layer names of the lyrics CNN branch (:func:`mer_utils.models.lyrics_cnn_branch`) that the n-grams come from.
LYRICS_CONV_LAYER = "lyrics_conv"
#: Layer of the audio models holding the training tracks' per-band means (:mod:`mer_utils.models`).
MEL_STANDARDIZE_LAYER = "mel_standardize"


# --- scoring -------------------------------------------------------------------------

def as_model_list(model):
    """``model`` as a list: one Keras model, or the models of several splits whose probabilities are averaged."""
    return list(model) if isinstance(model, (list, tuple)) else [model]


def probabilities(models, inputs, *, batch_size=BATCH_SIZE):
    """Class probabilities of a batch, averaged over ``models``.

    Parameters
    ----------
    models : keras.Model or sequence of keras.Model
        Models with the study's named inputs (``"mel"``, ``"tokens"``).
    inputs : dict of str to np.ndarray
        Input name -> array whose first axis is the batch (n, ...).
    batch_size : int
        Rows scored per model call.

    Returns
    -------
    np.ndarray [shape=(n, n_classes), dtype=float64]
    """
    models = as_model_list(models)
    n = len(next(iter(inputs.values())))
    total = 0.0
    with _quiet_retracing():
        for model in models:
            names = [tensor.name for tensor in model.inputs]
            missing = [name for name in names if name not in inputs]
            if missing:
                raise ValueError(f"model {model.name} reads inputs {missing} that were not given "
                                 f"(given: {sorted(inputs)})")
            total = total + np.concatenate([
                np.asarray(model.predict_on_batch({name: inputs[name][start:start + batch_size] for name in names}),
                           dtype=np.float64) for start in range(0, n, batch_size)])
    return total / len(models)


@contextlib.contextmanager
def _quiet_retracing():
    """Silence TensorFlow's warning that scoring several models one after the other retraces (expected here)."""
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        tf_logger.setLevel(level)


def _target_and_drops(models, original, variants, *, target, measure, batch_size):
    """``(target, probabilities of the original, drop of the target's ``measure`` per variant)``.

    ``original`` is a batch of one (dict of arrays); ``variants`` a batch of occluded copies.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    base = probabilities(models, original, batch_size=batch_size)[0]
    target = int(np.argmax(base)) if target is None else _validate_target(target, len(base))
    if not len(next(iter(variants.values()))):
        return target, base, np.zeros(0)
    if measure == "probability":
        return target, base, base[target] - probabilities(models, variants, batch_size=batch_size)[:, target]
    before, after = (np.mean([log_odds(model, inputs, target, batch_size=batch_size)
                              for model in as_model_list(models)], axis=0) for inputs in (original, variants))
    return target, base, before[0] - after


def log_odds(model, inputs, target, *, batch_size=BATCH_SIZE):
    """Log-odds ``log(p / (1 - p))`` of class ``target``, from the model's logits when it ends in a softmax layer.

    From the logits, a model sure of itself (a float32 softmax of exactly 1.0)
    still has finite, comparable log-odds; from the probabilities otherwise.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
    """
    from scipy.special import logsumexp

    head = _softmax_head(model)
    if head is None:
        p = np.clip(probabilities(model, inputs, batch_size=batch_size)[:, target], 1e-12, 1 - 1e-12)
        return np.log(p) - np.log1p(-p)
    features, names, kernel, bias = head
    with _quiet_retracing():
        logits = np.concatenate([
            np.asarray(features.predict_on_batch({name: inputs[name][start:start + batch_size] for name in names}),
                       dtype=np.float64)
            for start in range(0, len(next(iter(inputs.values()))), batch_size)]) @ kernel + bias
    return logits[:, target] - logsumexp(np.delete(logits, target, axis=1), axis=1)


@functools.lru_cache(maxsize=16)
def _softmax_head(model):
    """``(model up to its last layer's input, its input names, kernel, bias)`` when the last layer is a
    Dense softmax, else None."""
    import keras

    last = model.layers[-1]
    if not isinstance(last, keras.layers.Dense) or last.activation is not keras.activations.softmax:
        return None
    inputs = {tensor.name: tensor for tensor in model.inputs}
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in last.get_weights())
    return keras.Model(inputs, last.input), list(inputs), kernel, bias


def _validate_target(target, n_classes):
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not 0 <= target < n_classes:
        raise ValueError(f"target must be a class index in [0, {n_classes}), got {target!r}")
    return int(target)


def label_names(n_classes, labels=None):
    """Class names of an ``n_classes`` softmax: ``labels`` (the run's classes) or :data:`mer_utils.config.LABELS`,
    the first whose length matches, else ``class_<i>``."""
    for names in (labels, config.LABELS):
        if names is not None and len(names) == n_classes:
            return list(names)
    return [f"class_{i}" for i in range(n_classes)]


# --- audio ---------------------------------------------------------------------------

@dataclass
class AudioExplanation:
    """Occlusion scores of one song's mel-spectrogram (see :func:`explain_audio`).

    Attributes
    ----------
    saliency : np.ndarray [shape=(n_mels, n_frames), dtype=float32]
        Each cell holds the score of its grid cell: the drop of the target's
        log-odds (or probability) when that cell is replaced by average music.
    spans : pandas.DataFrame
        One row per time window: ``start_s, end_s, score`` (whole window occluded, all bands).
    bands : pandas.DataFrame
        One row per band group: ``low_hz, high_hz, score`` (centre frequencies of its
        lowest and highest band; whole group occluded, all the time).
    target : int
        The explained class (index into the softmax).
    label : str
        Its name.
    probabilities : np.ndarray [shape=(n_classes,)]
        The model's probabilities for the song as it is.
    """

    saliency: np.ndarray
    spans: pd.DataFrame
    bands: pd.DataFrame
    target: int
    label: str
    probabilities: np.ndarray

    def top_spans(self, top=3):
        """The ``top`` time windows that supported the decision most, strongest first."""
        return self.spans.sort_values("score", ascending=False, kind="stable").head(top).reset_index(drop=True)

    def top_bands(self, top=3):
        """The ``top`` band groups that supported the decision most, strongest first."""
        return self.bands.sort_values("score", ascending=False, kind="stable").head(top).reset_index(drop=True)

    def summary(self, top=3):
        """One sentence: the class, its probability, and the seconds and frequencies that supported it most.

        Only parts with a positive score supported the decision (occluding them lowered it); the sentence
        names at most ``top`` of each, and says so when none did.
        """
        spans = [f"{r.start_s:.1f}-{r.end_s:.1f} s" for r in self.top_spans(top).itertuples() if r.score > 0]
        bands = [f"{r.low_hz:.0f}-{r.high_hz:.0f} Hz" for r in self.top_bands(top).itertuples() if r.score > 0]
        when = f"the music at {', '.join(spans)}" if spans else "no stretch of time (each argued against it)"
        where = f"the bands {', '.join(bands)}" if bands else "no band group (each argued against it)"
        return f"{self.label} (p = {self.probabilities[self.target]:.2f}), supported most by {when} and by {where}"


def explain_audio(model, mel, *, sample_rate=config.SAMPLE_RATE, clip_seconds=config.CLIP_SECONDS,
                  grid=AUDIO_GRID, fill_db=None, target=None, measure="log_odds", other_inputs=None, labels=None,
                  batch_size=BATCH_SIZE):
    """Which seconds and mel bands moved an audio model's decision: occlusion saliency.

    Parameters
    ----------
    model : keras.Model or sequence of keras.Model
        A model reading ``"mel"``; several (a model's splits) are averaged.
    mel : np.ndarray [shape=(n_mels, n_frames)]
        The song's log-mel spectrogram in dB, as the run's feature store serves it
        (:meth:`mer_utils.mels.MelStore.get`).
    sample_rate, clip_seconds : number
        The run's extraction parameters: they turn frames into seconds and bands into hertz.
    grid : (int, int)
        Band groups x time windows (each at most the number of bands / frames).
    fill_db : float, optional
        What an occluded cell becomes, in dB. Default: the per-band means of the
        training tracks, read from the model's standardization layer ("average
        music": zero after standardization; several models: their mean), else
        the song's own band means.
        ``-100.0`` (the log floor) occludes with silence.
    target : int, optional
        Class to explain; default the class the model chose.
    measure : str
        One of :data:`MEASURES`: the drop of the target's ``"log_odds"`` (natural log: 1.0 means its
        odds fell by a factor e) or of its ``"probability"``.
    other_inputs : dict, optional
        The model's other inputs for this song (``{"tokens": ids}`` for the fused
        model), each of shape (1, ...) or without the batch axis.
    labels : sequence of str, optional
        Class names in softmax order (the run's classes); default :func:`label_names`.
    batch_size : int

    Returns
    -------
    AudioExplanation
    """
    models = as_model_list(model)
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2:
        raise ValueError(f"mel must be one spectrogram of shape (n_mels, n_frames), got shape {mel.shape}")
    n_mels, n_frames = mel.shape
    band_edges, frame_edges = _grid_edges(n_mels, grid[0], "band groups"), _grid_edges(n_frames, grid[1], "windows")
    fill = _fill_values(models, mel, fill_db)                        # (n_mels,)
    masks = ([(slice(b0, b1), slice(f0, f1)) for b0, b1 in zip(band_edges, band_edges[1:])
              for f0, f1 in zip(frame_edges, frame_edges[1:])]
             + [(slice(None), slice(f0, f1)) for f0, f1 in zip(frame_edges, frame_edges[1:])]
             + [(slice(b0, b1), slice(None)) for b0, b1 in zip(band_edges, band_edges[1:])])
    variants = np.repeat(mel[None], len(masks), axis=0)
    for variant, (bands, frames) in zip(variants, masks):
        variant[bands, frames] = fill[bands, None]
    others = _batch_of_one(other_inputs)
    target, base, drops = _target_and_drops(
        models, {"mel": mel.T[None], **others},
        {"mel": variants.transpose(0, 2, 1), **{k: np.repeat(v, len(masks), axis=0) for k, v in others.items()}},
        target=target, measure=measure, batch_size=batch_size)

    n_groups, n_windows = len(band_edges) - 1, len(frame_edges) - 1
    cells = drops[:n_groups * n_windows].reshape(n_groups, n_windows)
    saliency = np.repeat(np.repeat(cells, np.diff(band_edges), axis=0), np.diff(frame_edges), axis=1)
    seconds = frame_edges * hop_length(clip_samples(sample_rate=sample_rate, clip_seconds=clip_seconds),
                                       n_frames) / sample_rate
    centres = mel_band_centres(n_mels, sample_rate=sample_rate)
    spans = pd.DataFrame({"start_s": seconds[:-1], "end_s": seconds[1:],
                          "score": drops[n_groups * n_windows:n_groups * n_windows + n_windows]})
    bands = pd.DataFrame({"low_hz": centres[band_edges[:-1]], "high_hz": centres[band_edges[1:] - 1],
                          "score": drops[n_groups * n_windows + n_windows:]})
    return AudioExplanation(saliency=saliency.astype(np.float32), spans=spans, bands=bands, target=target,
                            label=label_names(len(base), labels)[target], probabilities=base)


def combine_audio(explanations):
    """One explanation of several models (a model's splits) of the same song: mean scores and probabilities.

    The drops are linear in the probabilities, so this equals the explanation of
    the models' averaged probabilities.
    """
    explanations = _same_target(explanations)
    first = explanations[0]

    def mean(values):
        return np.mean(values, axis=0)

    return AudioExplanation(saliency=mean([e.saliency for e in explanations]).astype(np.float32),
                            spans=first.spans.assign(score=mean([e.spans["score"] for e in explanations])),
                            bands=first.bands.assign(score=mean([e.bands["score"] for e in explanations])),
                            target=first.target, label=first.label,
                            probabilities=mean([e.probabilities for e in explanations]))


def _same_target(explanations):
    explanations = list(explanations)
    if not explanations:
        raise ValueError("no explanations to combine")
    if len({e.target for e in explanations}) != 1:
        raise ValueError("explanations of different classes cannot be combined; pass the same target to each")
    return explanations


def _grid_edges(size, parts, what):
    if isinstance(parts, bool) or not isinstance(parts, (int, np.integer)) or not 1 <= parts <= size:
        raise ValueError(f"the occlusion grid needs 1 to {size} {what}, got {parts!r}")
    return np.linspace(0, size, parts + 1).round().astype(int)


def _fill_values(models, mel, fill_db):
    """Per-band value of an occluded cell, shape (n_mels,): ``fill_db``, else the models' mean band means."""
    if fill_db is not None:
        return np.full(mel.shape[0], float(fill_db), dtype=np.float32)
    layers = [find_layer(m, MEL_STANDARDIZE_LAYER) for m in models]
    if any(layer is None for layer in layers):  # a model built without the study's standardization
        return mel.mean(axis=1)
    means = [np.asarray(layer.mean, dtype=np.float32).reshape(-1) for layer in layers]
    if any(mean.shape != (mel.shape[0],) for mean in means):
        raise ValueError(f"the model standardizes {means[0].size} mel bands, the song has {mel.shape[0]}")
    return np.mean(means, axis=0)


def find_layer(model, name):
    """The layer ``name`` of ``model`` or of a model inside it (a crop-trained model read over whole clips,
    :func:`mer_utils.training.whole_clip_model`), else ``None``."""
    found = _find_with_owner(model, name)
    return None if found is None else found[1]


def _find_with_owner(model, name):
    """``(the model that has layer name among its own layers, the layer)``, searched as :func:`find_layer`, or None."""
    for layer in model.layers:
        if layer.name == name:
            return model, layer
        if hasattr(layer, "layers"):
            found = _find_with_owner(layer, name)
            if found is not None:
                return found
    return None


def _batch_of_one(inputs):
    """``{name: array}`` with a leading batch axis of one."""
    out = {}
    for name, value in (inputs or {}).items():
        value = np.asarray(value)
        out[name] = value if value.ndim and value.shape[0] == 1 else value[None]
    return out


def mel_band_centres(n_mels, *, sample_rate):
    """Centre frequency (Hz) of each mel band of :func:`mer_utils.melspec.mel_spectrogram`, shape (n_mels,)."""
    from .melspec import quiet_librosa

    return quiet_librosa().mel_frequencies(n_mels=n_mels + 2, fmax=sample_rate / 2)[1:-1]


# --- lyrics --------------------------------------------------------------------------

@dataclass
class LyricsExplanation:
    """Occlusion scores of one song's words (see :func:`explain_lyrics`).

    Attributes
    ----------
    words : pandas.DataFrame
        ``word, count, contribution``: the drop of the target's log-odds (or
        probability) when every occurrence of the word is left out; strongest
        support first.
        Words outside the vocabulary share one id, shown as ``<oov>``.
    ngrams : pandas.DataFrame
        ``ngram, filters, contribution``: the n-grams where at least one filter of
        the model's convolution peaks (what its global max pooling keeps), with the
        number of such filters and the drop when every occurrence is left out.
        Empty for models without that convolution (the RNNs).
    target, label, probabilities
        As in :class:`AudioExplanation`.
    """

    words: pd.DataFrame
    ngrams: pd.DataFrame
    target: int
    label: str
    probabilities: np.ndarray

    def top_words(self, top=10):
        """The ``top`` words that supported the decision most."""
        return self.words.head(top).reset_index(drop=True)

    def top_ngrams(self, top=10):
        """The ``top`` max-pooled n-grams that supported the decision most."""
        return self.ngrams.head(top).reset_index(drop=True)


def explain_lyrics(model, token_ids, vocabulary, *, target=None, measure="log_odds", other_inputs=None,
                   labels=None, batch_size=BATCH_SIZE):
    """Which words and max-pooled n-grams moved a lyrics model's decision: occlusion.

    Parameters
    ----------
    model : keras.Model
        A model reading ``"tokens"`` (lyrics CNN or RNN, fused).
    token_ids : np.ndarray [shape=(max_len,) or (1, max_len)], int
        The song's words encoded with ``vocabulary`` (:meth:`mer_utils.vocabulary.Vocabulary.encode`).
    vocabulary : Vocabulary
        The vocabulary the model was trained with (its split's ``vocabulary.json``).
    target : int, optional
        Class to explain; default the class the model chose.
    measure : str
        One of :data:`MEASURES`: the drop of the target's ``"log_odds"`` (natural log: 1.0 means its
        odds fell by a factor e) or of its ``"probability"``.
    other_inputs : dict, optional
        The model's other inputs (``{"mel": (n_frames, n_mels)}`` for the fused model).
    labels : sequence of str, optional
        Class names in softmax order (the run's classes); default :func:`label_names`.
    batch_size : int

    Returns
    -------
    LyricsExplanation
    """
    ids = np.asarray(token_ids).reshape(-1).astype(np.int32)
    words = [int(i) for i in dict.fromkeys(ids[ids != PAD_ID])]     # distinct ids, in order of appearance
    ngrams = max_pooled_ngrams(model, ids)
    drops_of = [ids != word for word in words] + [~_ngram_positions(ids, gram) for gram, _ in ngrams]
    variants = np.stack([_keep(ids, kept) for kept in drops_of]) if drops_of else np.zeros((0, len(ids)), np.int32)
    others = _batch_of_one(other_inputs)
    target, base, drops = _target_and_drops(
        model, {"tokens": ids[None], **others},
        {"tokens": variants, **{k: np.repeat(v, len(variants), axis=0) for k, v in others.items()}},
        target=target, measure=measure, batch_size=batch_size)
    word_table = pd.DataFrame({"word": [vocabulary.decode([w])[0] for w in words],
                               "count": [int((ids == w).sum()) for w in words],
                               "contribution": drops[:len(words)]})
    gram_table = pd.DataFrame({"ngram": [" ".join(vocabulary.decode(gram)) for gram, _ in ngrams],
                               "filters": [n for _, n in ngrams], "contribution": drops[len(words):]})
    return LyricsExplanation(words=_ranked(word_table), ngrams=_ranked(gram_table), target=target,
                             label=label_names(len(base), labels)[target], probabilities=base)


def _keep(ids, kept):
    """``ids[kept]`` padded back to the full length with the padding id."""
    out = np.full_like(ids, PAD_ID)
    rest = ids[kept]
    out[:len(rest)] = rest
    return out


def _ngram_positions(ids, gram):
    """Boolean mask of the tokens covered by any occurrence of ``gram`` in ``ids``."""
    gram = np.asarray(gram)
    covered = np.zeros(len(ids), dtype=bool)
    if len(gram) > len(ids):
        return covered
    windows = np.lib.stride_tricks.sliding_window_view(ids, len(gram))
    for start in np.flatnonzero((windows == gram).all(axis=1)):
        covered[start:start + len(gram)] = True
    return covered


def max_pooled_ngrams(model, token_ids):
    """The n-grams the model's global max pooling keeps, with how many filters keep each.

    For each filter of the layer :data:`LYRICS_CONV_LAYER` (kernel ``n``, no
    padding), the window where its ReLU output peaks, if above zero; windows
    with the same words count together. Trailing padding is left out of an n-gram.

    Parameters
    ----------
    model : keras.Model
    token_ids : np.ndarray [shape=(max_len,)], int

    Returns
    -------
    list of (tuple of int, int)
        ``(word ids, number of filters)``, most filters first; empty when the
        model has no such layer.
    """
    import keras

    found = _find_with_owner(model, LYRICS_CONV_LAYER)
    if found is None:
        return []
    owner, conv = found  # the owner's own "tokens" input feeds the layer
    tokens = next(tensor for tensor in owner.inputs if tensor.name == "tokens")
    with _quiet_retracing():
        activations = keras.Model(tokens, conv.output).predict_on_batch(np.asarray(token_ids, dtype=np.int32)[None])
    activations = np.asarray(activations)[0]                         # (max_len - n + 1, filters)
    width = conv.kernel_size[0]
    peaks = activations.argmax(axis=0)[activations.max(axis=0) > 0]
    counts = {}
    for start in peaks:
        gram = tuple(int(i) for i in token_ids[start:start + width] if i != PAD_ID)
        if gram:
            counts[gram] = counts.get(gram, 0) + 1
    return sorted(counts.items(), key=lambda item: -item[1])


def _ranked(table):
    return table.sort_values("contribution", ascending=False, kind="stable").reset_index(drop=True)


def combine_lyrics(explanations):
    """One explanation of several models of the same kind (a model's splits), by word.

    Each split has its own vocabulary, so words are matched by text; a word a
    split does not see on its own (out of its vocabulary) contributes 0 there.

    Parameters
    ----------
    explanations : sequence of LyricsExplanation
        Of the same song and the same target class.

    Returns
    -------
    LyricsExplanation
        Mean contributions over the explanations; mean probabilities.
    """
    explanations = _same_target(explanations)
    n = len(explanations)

    def mean_by(key, column, other):
        table = pd.concat([getattr(e, key) for e in explanations], ignore_index=True)
        if table.empty:
            return table
        merged = table.groupby(column, sort=False).agg({other: "max", "contribution": "sum"}).reset_index()
        return _ranked(merged.assign(contribution=merged["contribution"] / n))

    first = explanations[0]
    return LyricsExplanation(words=mean_by("words", "word", "count"), ngrams=mean_by("ngrams", "ngram", "filters"),
                             target=first.target, label=first.label,
                             probabilities=np.mean([e.probabilities for e in explanations], axis=0))
