"""Every model of the study in one table: name, modality, inputs, builder, the paper's accuracy.

Light on purpose (no Keras, no scikit-learn), so the results stage and the
baselines can read it without starting TensorFlow. Adding a model means one
:class:`ModelInfo` entry in :data:`MODELS`; for a deep model, its builder
function in :mod:`mer_utils.models` under the name given in ``builder``
(a test checks that every entry has one).

The only typed-in numbers are the paper's Table 1 accuracies (validation
accuracy, mean of 5 runs), one per deep model.

Examples
--------
>>> model_info("lyrics_cnn").paper_accuracy
0.7815
>>> MODEL_INPUTS["fused"]
('mel', 'tokens')
"""

import math
from dataclasses import dataclass

#: The Table 1 modalities, in the paper's order ("both" is the fused model).
MODALITIES = ("audio", "lyrics", "both")
#: Features a model can read: log-mel spectrograms (notebook 02), lyrics tokens (notebook 03), and the
#: pretrained features of notebook 08 (:mod:`mer_utils.pretrained`).
INPUTS = {"mel": "mel features (notebook 02)", "tokens": "lyrics tokens (notebook 03)",
          "musicnn": "musicnn clip features (notebook 08)",
          "lyrics_features": "pretrained lyrics features (notebook 08)"}
#: How a model's choices (early-stopping epoch, regularisation, fusion weights) were made. "paper": on the
#: very validation part that is scored, as in the paper (slightly optimistic); "never-tuned": only on the
#: training part (nested: an inner validation part or inner folds), so that the scored fold is seen by nothing
#: before it is scored. The classical baselines make no choice at all, so they are never-tuned too.
PROTOCOLS = {"paper": "choices made on the scored validation part (the paper's protocol)",
             "never-tuned": "choices made on the training part only; the scored fold is never seen"}

#: Model names of the two classical baselines (fit by :mod:`mer_utils.baselines`).
LYRICS_BASELINE = "baseline_lyrics_tfidf"
AUDIO_BASELINE = "baseline_audio_melstats"


@dataclass(frozen=True)
class ModelInfo:
    """One model of the study: a row of Table 1, or a classical baseline.

    Attributes
    ----------
    name : str
        Folder name in the run, ``models/<name>/``.
    modality : str
        One of :data:`MODALITIES`, or ``"other"`` for a model outside the catalogue.
    label : str
        How Table 1 calls the model.
    inputs : tuple of str
        Keys of :data:`INPUTS` the model reads.
    builder : str or None
        Name of the Keras builder function in :mod:`mer_utils.models`; ``None``
        for a model not trained by :mod:`mer_utils.training`.
    paper_accuracy : float
        The paper's Table 1 accuracy; NaN for models the paper does not report.
    baseline : bool
        A classical baseline (not in the paper), fit by :mod:`mer_utils.baselines`.
    protocol : str
        A key of :data:`PROTOCOLS`: ``"paper"`` for the six deep models as the
        paper trains them, ``"never-tuned"`` for the rest.
    family : str
        ``"paper"`` (Table 1's models, under either protocol), ``"baseline"`` or
        ``"pretrained"`` (notebook 08's pretrained features and fusions).
    architecture : str or None
        For a paper model trained under another protocol: the catalogue model whose network it trains.
    """

    name: str
    modality: str
    label: str
    inputs: tuple = ()
    builder: str = None
    paper_accuracy: float = math.nan
    baseline: bool = False
    protocol: str = "paper"
    family: str = "paper"
    architecture: str = None


#: Every model of the study: Table 1's order, then the baselines.
MODELS = (
    ModelInfo("audio_cnn", "audio", "CNN", inputs=("mel",), builder="build_audio_cnn", paper_accuracy=0.6479),
    ModelInfo("audio_rnn", "audio", "RNN", inputs=("mel",), builder="build_audio_rnn", paper_accuracy=0.6303),
    ModelInfo("audio_cnn_rnn", "audio", "CNN+RNN", inputs=("mel",), builder="build_audio_cnn_rnn",
              paper_accuracy=0.6619),
    ModelInfo("lyrics_cnn", "lyrics", "CNN", inputs=("tokens",), builder="build_lyrics_cnn", paper_accuracy=0.7815),
    ModelInfo("lyrics_rnn", "lyrics", "RNN", inputs=("tokens",), builder="build_lyrics_rnn", paper_accuracy=0.7716),
    ModelInfo("fused", "both", "CNN+RNN, CNN", inputs=("mel", "tokens"), builder="build_fused", paper_accuracy=0.8046),
    ModelInfo(AUDIO_BASELINE, "audio", "mel mean/std + logistic regression", inputs=("mel",), baseline=True,
              protocol="never-tuned", family="baseline"),
    ModelInfo(LYRICS_BASELINE, "lyrics", "TF-IDF + logistic regression", inputs=("tokens",), baseline=True,
              protocol="never-tuned", family="baseline"),
)
MODEL_INFO = {info.name: info for info in MODELS}

#: Suffix of a paper model's name when trained never-tuned (early stopping on an inner validation part).
NESTED_SUFFIX = "_nested"
#: Notebook 08's rows (:mod:`mer_utils.beyond`): what a practitioner would do today, beside the paper's models,
#: on the same outer folds. Not in Table 1's list (:data:`MODELS`), so notebook 07 is unchanged.
PRETRAINED_AUDIO = "pretrained_audio_musicnn"
PRETRAINED_LYRICS = "pretrained_lyrics_wordllama"
EARLY_FUSION = "pretrained_early_fusion"
LATE_FUSION = "pretrained_late_fusion"
STACKING = "pretrained_stacking"
ZERO_SHOT = "pretrained_audio_zero_shot"
#: musicnn itself trained on the run's songs (:mod:`mer_utils.pretrained.musicnn_finetune`); it reads the clips'
#: musicnn patches, the input of the musicnn features.
FINETUNED_AUDIO = "audio_musicnn_finetuned"
BEYOND_MODELS = (
    ModelInfo(PRETRAINED_AUDIO, "audio", "musicnn features + logistic regression", inputs=("musicnn",),
              protocol="never-tuned", family="pretrained"),
    ModelInfo(ZERO_SHOT, "audio", "musicnn mood tags, zero-shot (only a threshold is fit)", inputs=("musicnn",),
              protocol="never-tuned", family="pretrained"),
    ModelInfo(FINETUNED_AUDIO, "audio", "musicnn fine-tuned (inner early stopping)", inputs=("musicnn",),
              protocol="never-tuned", family="pretrained"),
    ModelInfo(PRETRAINED_LYRICS, "lyrics", "WordLlama + VADER + TextBlob + logistic regression",
              inputs=("lyrics_features",), protocol="never-tuned", family="pretrained"),
    ModelInfo(EARLY_FUSION, "both", "early fusion: both feature sets, one logistic regression",
              inputs=("musicnn", "lyrics_features"), protocol="never-tuned", family="pretrained"),
    ModelInfo(LATE_FUSION, "both", "late fusion: mean of the two probabilities",
              inputs=("musicnn", "lyrics_features"), protocol="never-tuned", family="pretrained"),
    ModelInfo(STACKING, "both", "stacking: logistic regression on the two probabilities",
              inputs=("musicnn", "lyrics_features"), protocol="never-tuned", family="pretrained"),
    *(ModelInfo(f"{info.name}{NESTED_SUFFIX}", info.modality, f"{info.label} (inner early stopping)",
                inputs=info.inputs, protocol="never-tuned", architecture=info.name)
      for info in MODELS if info.builder),
)
BEYOND_INFO = {info.name: info for info in BEYOND_MODELS}
#: Each modality's classical baselines (notebook 07), which every new row of that modality is compared with.
BASELINES = {"audio": (AUDIO_BASELINE,), "lyrics": (LYRICS_BASELINE,), "both": (AUDIO_BASELINE, LYRICS_BASELINE)}
#: The model notebook 08 recommends for each modality, named before any run rather than picked by its scores; every
#: run says how it fares against that modality's baselines (:func:`mer_utils.beyond.recommended_verdicts`).
RECOMMENDED = {"audio": PRETRAINED_AUDIO, "lyrics": PRETRAINED_LYRICS, "both": LATE_FUSION}
#: Notebook 08's two rows that fit a logistic regression on one source of pretrained features -> that source
#: (the features' key: :data:`INPUTS`). Each split saves its fit, which :mod:`mer_utils.predict` applies.
PRETRAINED_ROWS = {name: BEYOND_INFO[name].inputs[0] for name in (PRETRAINED_AUDIO, PRETRAINED_LYRICS)}
#: The deep models :mod:`mer_utils.training` trains, name -> inputs.
MODEL_INPUTS = {info.name: info.inputs for info in MODELS if info.builder}


def model_info(name):
    """The :class:`ModelInfo` of ``name`` (:data:`MODELS`, :data:`BEYOND_MODELS`); another gets modality ``"other"``."""
    return MODEL_INFO.get(name) or BEYOND_INFO.get(name) or ModelInfo(name, "other", name)


#: The modality each input comes from (:data:`INPUTS` -> "audio" or "lyrics").
INPUT_MODALITIES = {"mel": "audio", "tokens": "lyrics", "musicnn": "audio", "lyrics_features": "lyrics"}


def modalities_needed(name):
    """The modalities (``"audio"``, ``"lyrics"``) the inputs of model ``name`` come from, in that order."""
    needed = {INPUT_MODALITIES[key] for key in model_info(name).inputs}
    return tuple(kind for kind in ("audio", "lyrics") if kind in needed)


def validate_model_name(model_name):
    """Raise ``ValueError`` unless ``model_name`` is a deep model of the catalogue (one that trains)."""
    if model_name not in MODEL_INPUTS:
        raise ValueError(f"unknown model {model_name!r}; known models: {', '.join(MODEL_INPUTS)}")


def validate_splits(model_name, splits, labels, available):
    """Raise ``ValueError`` unless every split can fit and score ``model_name``.

    The one check of a model's data, for deep models and baselines alike:
    every split has training and validation tracks, each with a label and
    with every input the model reads, and its training part holds both classes.

    Parameters
    ----------
    model_name : str
        For the messages.
    splits : list of dict
        ``[{"train": [ids], "val": [ids]}, ...]`` (:func:`mer_utils.splits.load_splits`).
    labels : dict
        Track id -> 0 (negative) or 1 (positive).
    available : dict
        Each input the model reads (a key of :data:`INPUTS`) -> the track ids
        that have it (a set or a dict, for fast membership tests).
    """
    if not splits:
        raise ValueError(f"{model_name}: no splits to train on: run notebook 01 (data/splits.json is empty)")
    for index, split in enumerate(splits):
        for part in ("train", "val"):
            ids = split.get(part)
            if not ids:
                raise ValueError(f"{model_name}: split {index} has no {part!r} tracks")
            unlabeled = [t for t in ids if t not in labels]
            if unlabeled:
                raise ValueError(f"{model_name}: split {index} {part}: {len(unlabeled)} tracks have no label, "
                                 f"e.g. {unlabeled[:3]}")
            for key, have in available.items():
                missing = [t for t in ids if t not in have]
                if missing:
                    raise ValueError(f"{model_name}: split {index} {part}: {len(missing)} tracks have no "
                                     f"{INPUTS.get(key, key)}, e.g. {missing[:3]}; rerun the notebooks in order")
        classes = sorted({labels[t] for t in split["train"]})
        if len(classes) < 2:
            raise ValueError(f"{model_name}: split {index} trains on class {classes} only; a classifier needs both")
