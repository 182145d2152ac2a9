"""What mood is my song? Apply a trained run to new songs.

::

    python -m mer_utils.predict --run papermill_runs/demo/latest SONG.mp3 [--lyrics SONG.txt] [--why]
    python -m mer_utils.predict --run RUN FOLDER_OR_SONGS.csv --format csv > moods.csv

A run folder (``papermill_runs/<profile>/<run-id>/``) holds every trained
model, per split ``models/<name>/split_<i>/model.keras`` and, for the models
that read lyrics, that split's ``vocabulary.json``. A new song goes through
the run's own preprocessing, with the parameters recorded in ``run.json``,
through the functions the stages themselves call:

- audio: :func:`mer_utils.melspec.load_clip` and
  :func:`mer_utils.melspec.mel_spectrogram` (``sample_rate``, ``clip_seconds``,
  ``n_mels``, ``n_frames``, ``n_fft`` of notebook 02), rounded to the
  precision the feature store keeps, as :class:`mer_utils.mels.MelStore` serves it;
- lyrics: :func:`mer_utils.lyrics.track_words` (normalisation, language,
  POS filter with the ``korean_tagger`` of notebook 03), then each split's
  vocabulary, padded to the length the model reads.

Notebook 08's pretrained rows score new songs too, where the run has them:
musicnn features + logistic regression, lyrics features + logistic
regression (each split's fit, ``linear_model.npz``: :mod:`mer_utils.linear_model`)
and their late fusion (the mean of the two), on the features of
:mod:`mer_utils.pretrained.song_features`, computed with notebook 08's
``musicnn_model`` and ``musicnn_seconds``.

``--why`` (:meth:`Predictor.why`) adds the reasons: which seconds and mel
bands moved the run's best audio model, which words and phrases its lyrics
CNN, and which tags and features notebook 08's rows (:mod:`mer_utils.explain`).

Each model's probabilities are the mean of its split models; the ensemble's
are the mean of the models' (the late fusion's counted through its two
rows). A song that cannot be used is refused with the ledger's reason
(:class:`mer_utils.accounting.Rejected`): exit status 1 on the command line.
With no lyrics, the models that read lyrics are left out (and said so),
unless named with ``--models``: then it is an error.

Exit status: 0 done; 1 a song, a lyrics file or the run folder is unusable;
2 bad invocation.

Examples
--------
>>> table = predict_song("papermill_runs/demo/latest", "song.mp3", "song.txt")  # doctest: +SKIP
>>> table[["model", "prob_positive", "label"]]                                     # doctest: +SKIP
"""

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import config, explain
from .accounting import Rejected
from .catalogue import (
    INPUT_MODALITIES, INPUTS, LATE_FUSION, MODEL_INPUTS, PRETRAINED_AUDIO, PRETRAINED_LYRICS, PRETRAINED_ROWS,
    model_info,
)
from .corpus import AUDIO_EXTENSIONS, read_table
from .linear_model import LINEAR_MODEL_FILE, LinearModel
from .outputs import split_folders
from .paths import RunLayout
from .pos import resolve_language
from .textio import text_cell

logger = logging.getLogger(__name__)

#: Name of the ensemble's row in a prediction table.
ENSEMBLE = "ensemble"
#: Files of a trained split (written by :func:`mer_utils.training.train_on_splits`).
MODEL_FILE = "model.keras"
VOCABULARY_FILE = "vocabulary.json"
RUN_JSON = "run.json"
#: The preprocessing a song needs, by the notebook whose parameters set it, with the notebooks' defaults.
PREPROCESSING = {
    "01_data": {"min_duration_s": config.MIN_DURATION_S, "min_lyrics_words": config.MIN_LYRICS_WORDS},
    "02_mels": {"sample_rate": config.SAMPLE_RATE, "clip_seconds": config.CLIP_SECONDS, "n_mels": config.N_MELS,
                "n_frames": config.N_FRAMES, "n_fft": config.N_FFT},
    "03_lyrics": {"korean_tagger": config.KOREAN_TAGGER},
    "08_beyond_the_paper": {"musicnn_model": "MSD_musicnn", "musicnn_seconds": 30.0},
}
#: Lyrics found beside a song of a folder: ``<stem>.txt`` or ``lyrics/<stem>.txt``.
LYRICS_SUFFIX = ".txt"
#: Names of the languages of lyrics, for sentences.
LANGUAGE_NAMES = {"en": "English", "ko": "Korean"}
EXIT_UNUSABLE = 1
EXIT_USAGE = 2


class MissingInputError(ValueError):
    """A model reads an input (audio or lyrics) the song does not have."""


# --- the run ---------------------------------------------------------------------------

def run_parameters(run_dir):
    """The rules and preprocessing parameters of a run, as its notebooks 01, 02, 03 and 08 used them.

    Read from ``run.json``: a notebook's own entry first, then the run's
    parameters, then the notebook's default (the paper's value in
    :mod:`mer_utils.config`). A folder without ``run.json`` (notebooks run by
    hand, in JupyterLab) takes notebook 02's from its features' cache
    (:func:`mer_utils.mels.extraction_parameters`) and says that the others
    are the defaults.

    Returns
    -------
    dict
        ``min_duration_s, min_lyrics_words`` (notebook 01's rules), ``sample_rate, clip_seconds, n_mels,
        n_frames, n_fft, korean_tagger, musicnn_model, musicnn_seconds``.
    """
    from .mels import extraction_parameters

    path = Path(run_dir) / RUN_JSON
    record = _run_record(run_dir)
    entries = {str(e.get("notebook", "")).removesuffix(".ipynb"): e.get("parameters") or {}
               for e in record.get("notebooks", [])}
    if not path.is_file():  # notebooks run by hand: 02's features say how they were made
        entries["02_mels"] = extraction_parameters(RunLayout(run_dir))
        logger.info("%s has no run.json (notebooks run by hand): %s; the other notebooks' parameters are their "
                    "defaults (mer_utils.config)", run_dir,
                    "notebook 02's come from its features" if entries["02_mels"] else "so are notebook 02's")
    params = {}
    for notebook, defaults in PREPROCESSING.items():
        given = {**(record.get("parameters") or {}), **entries.get(notebook, {})}
        params.update({name: type(default)(given.get(name, default)) for name, default in defaults.items()})
    return params


def _run_record(run_dir):
    """The run's ``run.json`` as a dict; ``{}`` when there is none. Raises ``ValueError`` naming an unreadable one."""
    path = Path(run_dir) / RUN_JSON
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable run record ({err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not a run record (a JSON object), but a JSON {type(record).__name__}")
    return record


def rerun_command(run_dir, notebook):
    """The runner's command line that runs ``notebook`` (e.g. ``"08"``) again in the run folder ``run_dir``."""
    try:
        profile = _run_record(run_dir).get("profile") or "PROFILE"
    except ValueError:  # not a readable run record
        profile = "PROFILE"
    return f"python -m mer_utils.run --profile {profile} --run-id {Path(run_dir).name} --only {notebook}"


def trained_models(run_dir):
    """The models of a run that can score new songs: ``{name: [split folders]}``, catalogue order.

    The deep models (split folders holding ``model.keras``), then notebook
    08's unimodal pretrained rows (holding ``linear_model.npz``), then their
    late fusion when both its rows are there. A model is left out, with a
    warning that says why and which command trains it again, when

    - the notebook that trains it did not finish in this run: its
      ``run.json`` entry is ``interrupted``, ``failed``, ``running`` or
      ``stale`` (its inputs changed since);
    - a split folder of it lacks its fit (a notebook stopped part way, a
      file deleted);
    - it is a pretrained row scored by a notebook 08 older than its saved fits.

    Raises
    ------
    ValueError
        If ``run_dir`` is not a folder, or holds no usable trained model.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        what = "is a file, not a run folder" if run_dir.exists() else "does not exist"
        raise ValueError(f"run folder {run_dir} {what}")
    found, folders_of = {}, {}
    for name, _, folder in split_folders(RunLayout(run_dir)):  # sorted by model, then split
        if name in MODEL_INPUTS or name in PRETRAINED_ROWS or name == LATE_FUSION:
            folders_of.setdefault(name, []).append(folder)
            if name == LATE_FUSION or (folder / _fit_file(name)).is_file():  # a late fusion has no fit of its own
                found.setdefault(name, []).append(folder)
    left_out = {**_unfinished(run_dir, folders_of), **_incomplete(found, folders_of)}
    for name, why in left_out.items():
        found.pop(name, None)
        notebook = training_notebook(name)
        logger.warning("%s is left out: %s; to ask it about new songs, run notebook %s again (%s)", name, why,
                       notebook, rerun_command(run_dir, notebook))
    fused_splits = [folder.name for folder in found.get(LATE_FUSION, [])]
    if LATE_FUSION in found and not all(part in found and [f.name for f in found[part]] == fused_splits
                                        for part in PRETRAINED_ROWS):
        del found[LATE_FUSION]  # late fusion averages both rows' splits: nothing to say without them all
        if LATE_FUSION not in left_out:
            logger.warning("%s is left out: it averages the splits of %s, and not all of them are there",
                           LATE_FUSION, " and ".join(PRETRAINED_ROWS))
    if not found:
        hint = f"; did you mean {run_dir / 'latest'}?" if (run_dir / "latest").is_dir() else ""
        raise ValueError(f"run folder {run_dir} holds no usable trained model "
                         f"(models/<name>/split_<i>/{MODEL_FILE}): run the training notebooks 04-06 first "
                         "(python -m mer_utils.run)" + (" or again, as said above" if left_out else "") + hint)
    return {name: found[name] for name in (*MODEL_INPUTS, *PRETRAINED_ROWS, LATE_FUSION) if name in found}


def _fit_file(name):
    """The file a split folder of model ``name`` keeps its fit in: ``model.keras`` or ``linear_model.npz``."""
    return MODEL_FILE if name in MODEL_INPUTS else LINEAR_MODEL_FILE


def training_notebook(name):
    """The number of the notebook that trains model ``name``: ``"04"`` (audio) ... ``"08"`` (pretrained rows)."""
    info = model_info(name)
    if info.family == "pretrained":
        return "08"
    return {"audio": "04", "lyrics": "05"}.get(info.modality, "06")


#: The parameter of a training notebook that names the models one execution of it trains (its variants').
_MODEL_SELECTORS = {"04": "audio_models", "05": "lyrics_models"}


def _unfinished(run_dir, names):
    """``{name: why}`` for the models whose training notebook's ``run.json`` entry is not ``ok``.

    Only the executions that train the model count: ``04_audio_model-rnn`` (``audio_models: [rnn]``)
    interrupted leaves ``audio_cnn`` of ``04_audio_model-cnn`` usable. Without ``run.json`` nothing is known.
    """
    record = _run_record(run_dir)
    why = {}
    for name in names:
        number = training_notebook(name)
        selector = _MODEL_SELECTORS.get(number)
        short = name.removeprefix(f"{model_info(name).modality}_")
        for entry in record.get("notebooks", []):
            output = str(entry.get("output") or entry.get("notebook", ""))
            chosen = (entry.get("parameters") or {}).get(selector) if selector else None
            if output.startswith(number) and (chosen is None or short in chosen) and entry.get("status") != "ok":
                status = entry.get("status", "not recorded as done")
                killed = " (or its runner was killed)" if status == "running" else ""
                why[name] = f"notebook {output} is {status} in this run{killed}"
    return why


def _incomplete(found, folders_of):
    """``{name: why}`` for the models with a split folder that lacks its fit (``model.keras``, ``linear_model.npz``)."""
    why = {}
    for name, folders in folders_of.items():
        usable = {folder.name for folder in found.get(name, [])}
        missing = [folder.name for folder in folders if folder.name not in usable]
        if not missing:
            continue
        if not usable and name in PRETRAINED_ROWS:
            why[name] = f"it was scored by a notebook 08 that did not save its fits ({LINEAR_MODEL_FILE})"
        else:
            why[name] = f"{', '.join(missing)} of its {len(folders)} splits lack {_fit_file(name)}"
    return why


@dataclass
class TrainedModel:
    """One model of a run: its split models, and the vocabulary each split was trained with.

    Attributes
    ----------
    name : str
        Catalogue name (``audio_cnn``, ..., ``fused``).
    inputs : tuple of str
        What it reads: ``"mel"`` and / or ``"tokens"``.
    splits : list of keras.Model
    vocabularies : list of Vocabulary or None
        One per split for models that read lyrics; ``None`` entries otherwise.
    """

    name: str
    inputs: tuple
    splits: list
    vocabularies: list

    @property
    def modality(self):
        """``audio``, ``lyrics`` or ``both`` (:data:`mer_utils.catalogue.MODALITIES`)."""
        return model_info(self.name).modality

    @property
    def n_classes(self):
        """Outputs of its softmax."""
        return int(self.splits[0].outputs[0].shape[-1])

    def split_inputs(self, song, index):
        """Split ``index``'s model inputs for ``song``: ``{"mel": (1, n_frames, n_mels), "tokens": (1, max_len)}``."""
        model, inputs = self.splits[index], {}
        shapes = {tensor.name: tensor.shape for tensor in model.inputs}
        if "mel" in shapes:
            inputs["mel"] = song.mel.T[None]
        if "tokens" in shapes:
            inputs["tokens"] = self.vocabularies[index].encode([song.words], max_len=int(shapes["tokens"][1]))
        return inputs

    def probabilities(self, song):
        """Class probabilities for ``song``, mean of the split models: shape (n_classes,)."""
        return np.mean([explain.probabilities(model, self.split_inputs(song, i))[0]
                        for i, model in enumerate(self.splits)], axis=0)


@dataclass
class FeatureModel:
    """A notebook 08 row on pretrained features: one fitted :class:`~mer_utils.linear_model.LinearModel` per split.

    Attributes
    ----------
    name : str
        ``pretrained_audio_musicnn`` or ``pretrained_lyrics_wordllama``.
    inputs : tuple of str
        The one input it reads: ``("musicnn",)`` or ``("lyrics_features",)``.
    splits : list of LinearModel
    """

    name: str
    inputs: tuple
    splits: list

    @property
    def modality(self):
        return model_info(self.name).modality

    @property
    def n_classes(self):
        return self.splits[0].n_classes

    def features(self, song):
        """The song's features this model reads, refused when they lack a column a split was fit on."""
        features = song.features[self.inputs[0]]
        missing = [c for c in self.splits[0].columns if c not in features.columns]
        if missing:
            raise ValueError(f"{self.name} was fit on {INPUTS[self.inputs[0]]} with columns the song's lack "
                             f"({', '.join(missing[:3])}, ...): were they made with other notebook 08 parameters?")
        return features

    def probabilities(self, song):
        """Class probabilities for ``song``, in the run's class order, mean of the split models: shape (n_classes,)."""
        features = self.features(song)
        return np.mean([split.probabilities(features)[0] for split in self.splits], axis=0)

    def default_target(self, song):
        """The class :meth:`explain` shows pushes towards: the positive one of two, else the one chosen for ``song``."""
        return 1 if self.n_classes == 2 else int(np.argmax(self.probabilities(song)))

    def explain(self, song, *, top=10, prefix="", target=None):
        """The features that pushed the song most, either way, averaged over the split models.

        Parameters
        ----------
        song : Song
        top : int
        prefix : str
            Only the features whose names start with it (``"tag_"``: musicnn's named tags).
        target : int, optional
            The class whose pushes are shown (default :meth:`default_target`;
            with two classes a push below 0 is towards negative).

        Returns
        -------
        pandas.DataFrame
            ``feature, value, contribution`` (to class ``target``'s logit, see
            :meth:`mer_utils.linear_model.LinearModel.contributions`; the ``top``
            largest in magnitude, largest first).
        """
        features = self.features(song)
        target = self.default_target(song) if target is None else target
        contribution = np.mean([split.contributions(features, target=target)[0] for split in self.splits], axis=0)
        columns = list(self.splits[0].columns)
        chosen = np.array([c.startswith(prefix) for c in columns])
        order = [i for i in np.argsort(-np.abs(contribution)) if chosen[i]][:top]
        return pd.DataFrame({"feature": [columns[i] for i in order],
                             "value": features.iloc[0].reindex(columns).to_numpy(dtype=float)[order],
                             "contribution": contribution[order]})


@dataclass
class LateFusion:
    """Notebook 08's late fusion: the mean of the two pretrained rows' probabilities (nothing fitted)."""

    name: str
    parts: list

    @property
    def inputs(self):
        return tuple(key for part in self.parts for key in part.inputs)

    @property
    def splits(self):
        return self.parts[0].splits

    @property
    def n_classes(self):
        return self.parts[0].n_classes

    @property
    def modality(self):
        return model_info(self.name).modality

    def probabilities(self, song):
        return np.mean([part.probabilities(song) for part in self.parts], axis=0)

    def no_explanation(self):
        """The error the explainers raise for it: a mean of probabilities has no pushes of its own; its rows do."""
        return ValueError(f"{self.name} fits nothing of its own (the mean of the probabilities of "
                          f"{' and '.join(part.name for part in self.parts)}): explain each of them with "
                          "explain_features")


def load_model(name, split_dirs):
    """The model ``name`` of a run from its split folders: a :class:`TrainedModel`, :class:`FeatureModel`
    (``linear_model.npz``) or :class:`LateFusion` (its parts' folders beside its own)."""
    if name == LATE_FUSION:
        return LateFusion(name, [load_model(part, [d.parent.parent / part / d.name for d in split_dirs])
                                 for part in PRETRAINED_ROWS])
    if name in PRETRAINED_ROWS:
        return FeatureModel(name, (PRETRAINED_ROWS[name],), [LinearModel.load(d / LINEAR_MODEL_FILE)
                                                           for d in split_dirs])
    import keras

    from .vocabulary import Vocabulary

    models, vocabularies = [], []
    for folder in split_dirs:
        try:
            models.append(keras.models.load_model(folder / MODEL_FILE))
        except Exception as err:  # a truncated or foreign file: say which
            import zipfile

            cause = ("not a Keras archive: truncated, or another format" if not zipfile.is_zipfile(folder / MODEL_FILE)
                     else f"{type(err).__name__}: {err}")  # Keras says "File not found" for a broken archive
            raise ValueError(f"{folder / MODEL_FILE}: cannot load the trained model ({cause})") from None
        needs_vocabulary = "tokens" in MODEL_INPUTS[name]
        if needs_vocabulary and not (folder / VOCABULARY_FILE).is_file():
            raise ValueError(f"{folder}: {name} reads lyrics but its split has no {VOCABULARY_FILE}; "
                             "rerun its notebook")
        vocabularies.append(Vocabulary.load(folder / VOCABULARY_FILE) if needs_vocabulary else None)
    return TrainedModel(name=name, inputs=MODEL_INPUTS[name], splits=models, vocabularies=vocabularies)


# --- songs -------------------------------------------------------------------------------

@dataclass
class Song:
    """A song prepared as the run's stages prepare a track.

    Attributes
    ----------
    name : str
        For tables and messages (default: the audio file's name, else the lyrics file's).
    audio_path, lyrics_path : Path or None
    lyrics_text : str
        Inline lyrics (a ledger's ``lyrics_text``), read instead of ``lyrics_path``; ``""`` when none.
    clip : np.ndarray [shape=(n_samples,)] or None
        The decoded clip the mel-spectrogram is computed from (mono, the run's sample rate).
    mel : np.ndarray [shape=(n_mels, n_frames), dtype=float32] or None
        Log-mel spectrogram in dB, at the feature store's precision.
    words : list of str or None
        The POS-filtered words.
    features : dict of str to pandas.DataFrame
        Pretrained features (``"musicnn"``, ``"lyrics_features"``: one row each), for the models that read them.
    """

    name: str
    audio_path: Path = None
    lyrics_path: Path = None
    lyrics_text: str = field(default="", repr=False)
    clip: np.ndarray = field(default=None, repr=False)
    mel: np.ndarray = field(default=None, repr=False)
    words: list = field(default=None, repr=False)
    features: dict = field(default_factory=dict, repr=False)

    @property
    def has_lyrics(self):
        """Whether the song came with lyrics, a file or inline text."""
        return self.lyrics_path is not None or bool(self.lyrics_text.strip())

    def has(self, key):
        """Whether the song has input ``key`` (a key of :data:`mer_utils.catalogue.INPUTS`)."""
        if key in ("mel", "tokens"):
            return (self.mel if key == "mel" else self.words) is not None
        return key in self.features


def _optional_path(value):
    """``Path(value)``, or ``None`` for a missing or empty path (``Path("")`` would be the current folder)."""
    return Path(value) if value is not None and str(value) != "" else None


def prepare_song(params, audio_path=None, lyrics_path=None, *, lyrics_text="", language="", name=""):
    """Decode and featurize a song with a run's preprocessing (see the module docstring).

    Parameters
    ----------
    params : dict
        :func:`run_parameters` of the run.
    audio_path, lyrics_path : str or Path, optional
        ``None`` or ``""`` when absent.
    lyrics_text : str
        Inline lyrics, read instead of ``lyrics_path`` (as stage 03 reads a ledger's ``lyrics_text``).
        At least one of ``audio_path``, ``lyrics_path`` and ``lyrics_text``.
    language : str
        ``"ko"`` or ``"en"``; empty: detected from the lyrics, as stage 03 does.
    name : str
        The song's name in tables and messages; default the audio file's name, else the lyrics file's,
        else ``"lyrics"``.

    Returns
    -------
    Song

    Raises
    ------
    mer_utils.accounting.Rejected
        With the ledger's reason (``missing_audio``, ``unreadable_audio``,
        ``too_short``, ``silent_audio``, ``missing_lyrics``,
        ``undecodable_lyrics``, ``empty_lyrics``, ``no_content_words``, ...)
        and a sentence naming the file.
    """
    from . import filtering, lyrics, melspec

    audio_path, lyrics_path = _optional_path(audio_path), _optional_path(lyrics_path)
    if audio_path is None and lyrics_path is None and not lyrics_text.strip():
        raise ValueError("a song needs an audio file, lyrics (a file or inline text) or both")
    song = Song(name=name or (audio_path or lyrics_path or Path("lyrics")).name, audio_path=audio_path,
                lyrics_path=lyrics_path, lyrics_text=lyrics_text)
    # notebook 01's rules first (length, words), as the run's own tracks met them
    row = {"track_id": song.name, "audio_path": str(audio_path or ""), "lyrics_path": str(lyrics_path or ""),
           "lyrics_text": lyrics_text, "language": language, "title": "", "artist": ""}
    filtering.check_files(row, min_duration_s=params.get("min_duration_s", 0.0),
                          min_lyrics_words=params.get("min_lyrics_words", 0),
                          modalities=tuple(k for k, present in (("audio", audio_path), ("lyrics", song.has_lyrics))
                                           if present))
    if audio_path is not None:
        song.clip = melspec.load_clip(audio_path, sample_rate=params["sample_rate"],
                                      clip_seconds=params["clip_seconds"])
        mel = melspec.mel_spectrogram(song.clip, sample_rate=params["sample_rate"], n_mels=params["n_mels"],
                                      n_frames=params["n_frames"], n_fft=params["n_fft"])
        song.mel = mel.astype(melspec.STORE_DTYPE).astype(np.float32)   # what the models were trained on
    if song.has_lyrics:
        song.words = lyrics.track_words(row, korean_tagger=params["korean_tagger"])
    return song


# --- prediction -----------------------------------------------------------------------

class Predictor:
    """A run's trained models, loaded once, ready to score songs.

    Parameters
    ----------
    run_dir : str or Path
        A run folder (``papermill_runs/<profile>/<run-id>`` or its ``latest``).
    models : sequence of str, optional
        Models to use (catalogue names); default every trained model. Named
        models are required: a song lacking an input one of them reads is an
        error. By default such models are left out for that song.

    Attributes
    ----------
    params : dict
        The run's preprocessing (:func:`run_parameters`).
    models : dict of str to TrainedModel, FeatureModel or LateFusion
        The loaded models, catalogue order (:func:`trained_models`).
    labels : list of str
        Class names in softmax order: the run's (``data/splits.json``), else :func:`mer_utils.explain.label_names`.

    Raises
    ------
    ValueError
        No such folder, no trained model in it, a named model not trained there,
        or a model whose input shape disagrees with ``run.json``.
    """

    def __init__(self, run_dir, *, models=None):
        self.run_dir = Path(run_dir)
        trained = trained_models(self.run_dir)
        self.required = models is not None
        names = list(trained) if models is None else list(dict.fromkeys(models))
        unknown = [name for name in names if name not in trained]
        if unknown:
            raise ValueError(f"model(s) {', '.join(unknown)} not trained in {self.run_dir}; "
                             f"trained: {', '.join(trained)}")
        if not names:
            raise ValueError("no model named to predict with")
        self.params = run_parameters(self.run_dir)
        self._folders = {name: trained[name] for name in names}
        self.models = {name: load_model(name, trained[name]) for name in names}
        self._read_whole_clips()
        self.labels = self._class_names()
        self._song_features = None  # loaded when a model reads pretrained features

    def deep_models(self, modality=None):
        """Names of the loaded deep models (those :mod:`mer_utils.explain` explains), of ``modality`` if given."""
        return [name for name, model in self.models.items()
                if isinstance(model, TrainedModel) and modality in (None, model.modality)]

    def _read_whole_clips(self):
        """Refuse models whose mel input does not fit the run's clips; read crop-trained ones over whole clips."""
        from .training import whole_clip_model

        n_frames, n_mels = self.params["n_frames"], self.params["n_mels"]
        for trained in (self.models[name] for name in self.deep_models()):
            for index, model in enumerate(trained.splits):
                mel = [tuple(t.shape[1:]) for t in model.inputs if t.name == "mel"]
                if not mel:
                    continue
                if mel[0][1] != n_mels or mel[0][0] > n_frames:
                    raise ValueError(f"{trained.name} reads mel inputs of {mel[0][0]} frames x {mel[0][1]} bands, but "
                                     f"{self.run_dir / RUN_JSON} says n_frames={n_frames}, n_mels={n_mels}")
                # trained on random crops (crop_frames): scored as in training, the mean over the clip's windows
                trained.splits[index] = whole_clip_model(model, n_frames)

    def _class_names(self):
        """Class names in softmax order: the run's classes (``data/splits.json``) when they fit the models."""
        from .splits import load_classes

        n_classes = next(iter(self.models.values())).n_classes
        try:
            classes = load_classes(RunLayout(self.run_dir))
        except (ValueError, OSError):  # no splits.json: a run folder copied without its data
            classes = None
        return explain.label_names(n_classes, classes)

    def prepare(self, audio_path=None, lyrics_path=None, *, lyrics_text="", language="", name=""):
        """:func:`prepare_song` with this run's parameters, plus the pretrained features its models read."""
        song = prepare_song(self.params, audio_path, lyrics_path, lyrics_text=lyrics_text, language=language,
                            name=name)
        needed = {key for model in self.models.values() for key in model.inputs}
        if needed & {"musicnn", "lyrics_features"} and self._song_features is None:
            from .pretrained.song_features import SongFeatures

            self._song_features = SongFeatures(
                musicnn_model=self.params["musicnn_model"],
                max_seconds=min(self.params["clip_seconds"], self.params["musicnn_seconds"]))
        if "musicnn" in needed and song.audio_path is not None:
            song.features["musicnn"] = self._song_features.musicnn(song.name, song.audio_path)
        if "lyrics_features" in needed and song.has_lyrics:
            song.features["lyrics_features"] = self._song_features.lyrics(song.name, song.lyrics_path,
                                                                          lyrics_text=song.lyrics_text)
        return song

    def usable(self, song):
        """The models that can score ``song``, and ``{model: what the song lacks for it}`` for the others.

        Raises
        ------
        MissingInputError
            If a model named at construction cannot read the song, or none can.
        """
        usable, skipped = [], {}
        for name, trained in self.models.items():
            lacking = " and ".join(INPUT_MODALITIES[key] for key in trained.inputs if not song.has(key))
            if lacking:
                skipped[name] = lacking
            else:
                usable.append(name)
        if skipped and (self.required or not usable):
            lacking = " and ".join(dict.fromkeys(skipped.values()))
            verb = "reads" if len(skipped) == 1 else "read"
            hint = ("give its lyrics (--lyrics FILE; in a folder <name>.txt, in a table a lyrics_path column)"
                    if not song.has("tokens") else "give its audio")
            prefix = "" if usable else f"no model of {self.run_dir} can score {song.name}: "
            raise MissingInputError(f"{prefix}{', '.join(skipped)} {verb} {lacking}, and {song.name} has none: {hint}")
        return usable, skipped

    def predict(self, song):
        """Per-model and ensemble probabilities for one prepared song.

        Returns
        -------
        pandas.DataFrame
            One row per usable model, then the ensemble's: ``song, model,
            modality, n_averaged`` (split models of a model; models of the
            ensemble), ``prob_<class>`` per class, ``label`` (the most probable
            class). ``attrs["skipped"]``: ``{model: what the song lacks for it}`` (``"lyrics"``,
            ``"audio"``) for the models left out. The ensemble is the mean of
            the rows, each counted once: the late fusion stands for its two
            rows, which it averages already (with one of them also chosen,
            that one would otherwise count one and a half times).
        """
        usable, skipped = self.usable(song)
        rows = {name: self.models[name].probabilities(song) for name in usable}
        voters = self._voters(usable, song, rows)
        labels = self.labels
        table = pd.DataFrame([{"song": song.name, "model": name, "modality": self.models[name].modality,
                               "n_averaged": len(self.models[name].splits)} for name in usable]
                             + [{"song": song.name, "model": ENSEMBLE,
                                 "modality": "+".join(dict.fromkeys(model.modality for model, _ in voters.values())),
                                 "n_averaged": len(voters)}])
        probs = np.vstack([*rows.values(), np.mean([prob for _, prob in voters.values()], axis=0)])
        for i, label in enumerate(labels):
            table[f"prob_{label}"] = probs[:, i]
        table["label"] = [labels[i] for i in probs.argmax(axis=1)]
        table.attrs["skipped"] = skipped
        return table

    def _voters(self, usable, song, rows):
        """The ensemble's members, each once: ``{name: (model, probabilities)}``, the late fusion as its two rows."""
        voters = {}
        for name in usable:
            for model in getattr(self.models[name], "parts", [self.models[name]]):
                if model.name not in voters:
                    voters[model.name] = (model, rows[model.name] if model.name in rows else model.probabilities(song))
        return voters

    def best_model(self, modality):
        """The deep model of ``modality`` (``audio``, ``lyrics``, ``both``) with the best mean validation accuracy.

        The one to explain by occlusion (:meth:`explain_audio`, :meth:`explain_lyrics`); returns ``None``
        when the run has none.
        """
        from .outputs import METRICS_JSON, read_metrics

        candidates = self.deep_models(modality)
        accuracy = {}
        for name in candidates:
            splits = self._folders[name]
            scores = [read_metrics(folder / METRICS_JSON).get("accuracy", np.nan) for folder in splits
                      if (folder / METRICS_JSON).is_file()]
            accuracy[name] = np.nanmean(scores) if scores and not np.all(np.isnan(scores)) else -1.0
        return max(candidates, key=lambda name: accuracy[name]) if candidates else None

    def model_to_explain(self, modality):
        """The deep model whose reasons for ``modality`` to show: the lyrics CNN when loaded (its max-pooled
        n-grams say the most), else :meth:`best_model`; ``None`` when no deep model of it is loaded."""
        if modality == "lyrics" and "lyrics_cnn" in self.models:
            return "lyrics_cnn"
        return self.best_model(modality)

    def why(self, song, *, top=3):
        """Why the models answered as they did about ``song``: one sentence per explained model.

        The run's best audio model by occlusion of seconds and mel bands
        (:meth:`explain_audio`), the lyrics model by occlusion of words
        (:meth:`explain_lyrics`), and notebook 08's rows by the pretrained
        features that pushed them (:meth:`explain_features`; musicnn's by its
        named tags), each where it is loaded and the song has its input.

        Returns
        -------
        list of str
        """
        lines = []
        audio_model = self.model_to_explain("audio")
        if audio_model and song.mel is not None:
            lines.append(f"{audio_model}: {self.explain_audio(song, audio_model).summary(top)}")
        lyrics_model = self.model_to_explain("lyrics")
        if lyrics_model and song.words:
            explained = self.explain_lyrics(song, lyrics_model)
            words = [f"{r.word} ({r.contribution:+.2f})" for r in explained.top_words(top).itertuples()
                     if r.contribution > 0]
            phrases = [f"'{r.ngram}'" for r in explained.top_ngrams(top).itertuples() if r.contribution > 0]
            line = (f"{lyrics_model}: {explained.label} (p = {explained.probabilities[explained.target]:.2f}), "
                    + (f"supported most by the words {', '.join(words)}" if words else "no word supported it"))
            if phrases:
                line += f" and the phrases {', '.join(phrases)}"
            lines.append(line + (" (a word's number: how much the log-odds fall without it)" if words else ""))
        for name, prefix, what in ((PRETRAINED_AUDIO, "tag_", "musicnn tags"),
                                   (PRETRAINED_LYRICS, "", "lyrics features")):
            model = self.models.get(name)
            if model is not None and song.has(model.inputs[0]):
                pushes = self.explain_features(song, name, top=top, prefix=prefix)
                named = ", ".join(f"{r.feature.removeprefix(prefix)} = {r.value:.2f} ({r.contribution:+.2f})"
                                  for r in pushes.itertuples())
                lines.append(f"{name}: the {what} that weighed most (above 0 for {pushes['towards'].iloc[0]}, "
                             f"below 0 against it): {named}")
        return lines

    # --- explanations (mer_utils.explain) of one model on one song ---

    def explain_audio(self, song, model_name, *, target=None, **options):
        """:func:`mer_utils.explain.explain_audio` of each split model on ``song``, averaged.

        Every split explains the class the model (all splits together) chose, unless ``target`` is given.
        """
        target, parts = self._split_parts(song, model_name, "mel", target)
        return explain.combine_audio([
            explain.explain_audio(model, mel[0].T, sample_rate=self.params["sample_rate"],
                                  clip_seconds=self.params["clip_seconds"], target=target, other_inputs=others,
                                  labels=self.labels, **options)
            for model, mel, others, _ in parts])

    def explain_lyrics(self, song, model_name, *, target=None, **options):
        """:func:`mer_utils.explain.explain_lyrics` of each split model on ``song``, combined by word.

        Every split explains the class the model (all splits together) chose, unless ``target`` is given.
        """
        target, parts = self._split_parts(song, model_name, "tokens", target)
        return explain.combine_lyrics([
            explain.explain_lyrics(model, tokens, vocabulary, target=target, other_inputs=others, labels=self.labels,
                                   **options)
            for model, tokens, others, vocabulary in parts])

    def explain_features(self, song, model_name, *, top=10, prefix="", target=None):
        """:meth:`FeatureModel.explain`: which pretrained features pushed a notebook 08 row, and which way.

        The table's last column, ``towards``, names the class the pushes are towards. The late fusion,
        a mean of its two rows' probabilities, has no pushes of its own: it is refused, naming the rows to explain.
        """
        model = self._loaded(model_name)
        if isinstance(model, LateFusion):
            raise model.no_explanation()
        if not isinstance(model, FeatureModel):
            raise ValueError(f"{model_name} does not read pretrained features: explain it with explain_audio or "
                             "explain_lyrics")
        if not song.has(model.inputs[0]):
            raise MissingInputError(f"{model_name} reads {INPUT_MODALITIES[model.inputs[0]]}, and {song.name} has none")
        target = model.default_target(song) if target is None else target
        return model.explain(song, top=top, prefix=prefix, target=target).assign(towards=self.labels[target])

    def _loaded(self, model_name):
        if model_name not in self.models:
            raise ValueError(f"model {model_name!r} is not loaded (loaded: {', '.join(self.models)})")
        return self.models[model_name]

    def _split_parts(self, song, model_name, key, target):
        """``(target, [(split model, its input key, its other inputs or None, its vocabulary), ...])``."""
        trained = self._loaded(model_name)
        if isinstance(trained, LateFusion):
            raise trained.no_explanation()
        if not isinstance(trained, TrainedModel):
            raise ValueError(f"{model_name} is not a deep model: explain it with explain_features")
        if key not in trained.inputs:
            raise ValueError(f"{model_name} does not read {INPUTS[key]}")
        missing = [INPUT_MODALITIES[k] for k in trained.inputs if not song.has(k)]
        if missing:
            raise MissingInputError(f"{model_name} reads {' and '.join(missing)}, and {song.name} has none")
        if target is None:
            target = int(np.argmax(trained.probabilities(song)))
        parts = []
        for i, model in enumerate(trained.splits):
            inputs = trained.split_inputs(song, i)
            others = {k: v for k, v in inputs.items() if k != key} or None
            parts.append((model, inputs[key], others, trained.vocabularies[i]))
        return target, parts


def predict_song(run_dir, audio_path, lyrics_path=None, *, models=None):
    """Probabilities of each model of a run, and of their ensemble, for one song.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    audio_path : str or Path or None
        The song's audio (any format :func:`mer_utils.melspec.load_clip` reads); ``None`` for lyrics only.
    lyrics_path : str or Path, optional
        Its lyrics (UTF-8, UTF-16 or CP949).
    models : sequence of str, optional
        Restrict to these models (then each must be able to read the song).

    Returns
    -------
    pandas.DataFrame
        See :meth:`Predictor.predict`.

    Raises
    ------
    mer_utils.accounting.Rejected
        The audio or lyrics cannot be used (reason code and file in the message).
    ValueError
        The run folder has no trained model, or no model can read the song.
    """
    predictor = Predictor(run_dir, models=models)
    return predictor.predict(predictor.prepare(audio_path, lyrics_path))


# --- a song to try (notebook 09) -----------------------------------------------------

def demo_song(run_dir, *, seed=config.SEED):
    """A song of the run's own corpus to try the models on: its ledger row.

    A kept track of split 0's validation part (split 0's models never trained
    on it), with lyrics (a file or inline text), English if there is one (no
    Java VM to start for the Korean tagger), drawn with ``seed``; each
    preference is dropped when no track meets it.

    Returns
    -------
    pandas.Series
        The ledger row (:data:`mer_utils.accounting.LEDGER_COLUMNS`).
    """
    from . import accounting
    from .splits import read_splits

    layout = RunLayout(run_dir)
    if not layout.tracks_csv.is_file():
        raise ValueError(f"{layout.tracks_csv} does not exist: the run has no ledger to draw a song from; "
                         "give a song_path")
    pool = accounting.kept(layout.tracks_csv)
    if pool.empty:
        raise ValueError(f"{layout.tracks_csv} keeps no track to draw a song from; give a song_path")
    held_out = set(read_splits(layout)[0][0]["val"]) if layout.splits_json.is_file() else set()
    for preferred in (lambda t: t["track_id"].isin(held_out),
                      lambda t: (t["lyrics_path"] != "") | (t["lyrics_text"].str.strip() != ""),
                      lambda t: t["language"] == "en"):
        if preferred(pool).any():
            pool = pool[preferred(pool)]
    return pool.iloc[int(np.random.default_rng(seed).integers(len(pool)))]


def song_to_try(run_dir, song_path="", lyrics_path="", *, seed=config.SEED):
    """The song of notebook 09: the reader's ``song_path`` and / or ``lyrics_path``, else :func:`demo_song`.

    A ``lyrics_path`` alone is a song of lyrics only (as ``predict_song(run, None, lyrics)``):
    the models that read audio sit out, or, in a run without lyrics models, :meth:`Predictor.usable`
    refuses it.

    Returns
    -------
    dict
        The arguments of :meth:`Predictor.prepare`: ``audio_path``, ``lyrics_path`` (``None`` when
        there is none), ``lyrics_text`` (a demo track's inline lyrics, else ``""``), ``language``
        (the ledger's, else ``""``: detected) and ``name``; and ``about``, a sentence saying which
        song, and which of its audio and lyrics the models read.
    """
    if song_path or lyrics_path:
        audio, lyrics_file = _optional_path(song_path), _optional_path(lyrics_path)
        lyrics_part = f" with the lyrics {lyrics_file.name}" if lyrics_file else ", without lyrics"
        about = f"your song {audio.name}{lyrics_part}" if audio else f"your lyrics {lyrics_file.name}, without audio"
        return {"audio_path": audio, "lyrics_path": lyrics_file, "lyrics_text": "", "language": "", "name": "",
                "about": about}
    return _demo_choice(demo_song(run_dir, seed=seed))


def _demo_choice(row):
    """:func:`song_to_try`'s answer for a ledger row."""
    audio, lyrics_file = _optional_path(text_cell(row, "audio_path")), _optional_path(text_cell(row, "lyrics_path"))
    inline = text_cell(row, "lyrics_text")
    inline = inline if inline.strip() else ""
    if inline or lyrics_file:  # inline text wins over the file, as in stage 03
        language = LANGUAGE_NAMES.get(resolve_language(text_cell(row, "language")), "")
        where = "inline in the ledger" if inline else lyrics_file.name
        lyrics_part = " ".join(filter(None, ("its", language, "lyrics"))) + f" ({where})"
    else:
        lyrics_part = "no lyrics"
    title = f" \"{row['title']}\"" if text_cell(row, "title") else ""
    artist = f" by {row['artist']}" if text_cell(row, "artist") else ""
    return {"audio_path": audio, "lyrics_path": lyrics_file, "lyrics_text": inline,
            "language": text_cell(row, "language"), "name": str(row["track_id"]),
            "about": f"track {row['track_id']}{title}{artist} of the run's corpus, labelled {row['label']} in the "
                     f"ledger: {'its audio' if audio else 'no audio'} and {lyrics_part}"}


# --- many songs --------------------------------------------------------------------

def song_list(path, *, lyrics_path=None):
    """The songs named by a command-line argument: a file, a folder, or a CSV table.

    - an audio file: that song, with ``lyrics_path`` if given;
    - a ``.txt`` file, or none with ``lyrics_path``: those lyrics alone;
    - a folder: every audio file in it, each with ``<stem>.txt`` beside it or in
      ``lyrics/`` if present;
    - a ``.csv`` table: columns ``audio_path`` and / or ``lyrics_path`` (relative
      to the table's folder), optionally ``song`` (a name); separated by ``,``,
      ``;`` or tabs, in any encoding :func:`mer_utils.textio.read_text` reads.

    Returns
    -------
    pandas.DataFrame
        Columns ``song, audio_path, lyrics_path`` (``None`` when absent).
    """
    if path is None or Path(path).suffix.lower() == LYRICS_SUFFIX:  # lyrics alone
        if path is not None and lyrics_path:
            raise ValueError(f"{path} is lyrics (.txt) already: give --lyrics with an audio file only")
        lyrics_file = Path(path if path is not None else lyrics_path)
        return pd.DataFrame([{"song": lyrics_file.name, "audio_path": None, "lyrics_path": lyrics_file}])
    path = Path(path)
    if path.suffix.lower() == ".csv":
        rows = _rows_of_table(path)
    elif path.is_dir():
        audio = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS)
        if not audio:
            raise ValueError(f"folder {path} holds no audio file ({', '.join(AUDIO_EXTENSIONS)})")
        rows = [{"song": f.name, "audio_path": f, "lyrics_path": _lyrics_beside(f)} for f in audio]
    else:
        return pd.DataFrame([{"song": path.name, "audio_path": path,
                              "lyrics_path": Path(lyrics_path) if lyrics_path else None}])
    if lyrics_path:
        raise ValueError("--lyrics goes with one song; a folder or table names each song's lyrics itself")
    return pd.DataFrame(rows, columns=["song", "audio_path", "lyrics_path"])


def _lyrics_beside(audio):
    for candidate in (audio.with_suffix(LYRICS_SUFFIX), audio.parent / "lyrics" / f"{audio.stem}{LYRICS_SUFFIX}"):
        if candidate.is_file():
            return candidate
    return None


def _rows_of_table(path):
    try:  # the corpus tables' reader: any encoding, and "," ";" or tab (sniffed among those only)
        table = read_table(path, what="songs table")
    except OSError as err:
        raise ValueError(f"songs table {path} cannot be read ({err.strerror or err})") from None
    if not {"audio_path", "lyrics_path"} & set(table.columns):
        raise ValueError(f"songs table {path} needs an audio_path or a lyrics_path column "
                         f"(found: {', '.join(table.columns) or 'none'})")

    def cell(record, column):
        value = record.get(column, "").strip()
        return (path.parent / value).resolve() if value else None

    rows = []
    for record in table.to_dict("records"):
        audio, lyrics_file = cell(record, "audio_path"), cell(record, "lyrics_path")
        if audio is None and lyrics_file is None:
            continue
        rows.append({"song": record.get("song", "").strip() or (audio or lyrics_file).name,
                     "audio_path": audio, "lyrics_path": lyrics_file})
    if not rows:
        raise ValueError(f"songs table {path} names no song")
    from .filtering import ledger_ids

    for row, name in zip(rows, ledger_ids([row["song"] for row in rows])):  # a repeated name becomes name#2
        row["song"] = name
    return rows


def predict_songs(run_dir, songs, *, models=None, progress=True, on_error=None, why=False):
    """:func:`predict_song` for every row of :func:`song_list`, with the run loaded once.

    Parameters
    ----------
    songs : pandas.DataFrame
        Columns ``song, audio_path, lyrics_path``.
    progress : bool
        Show a progress bar (stderr).
    on_error : callable, optional
        Called with ``(song name, exception)`` for each unusable song, which is then
        left out; default: the error is raised.
    why : bool
        Also explain each song (:meth:`Predictor.why`; occlusion: seconds per song).

    Returns
    -------
    pandas.DataFrame
        The tables of :meth:`Predictor.predict`, one after the other; ``attrs["skipped"]``
        maps each song to its models left out, ``attrs["why"]`` (with ``why``) to its sentences.
    """
    from tqdm.std import tqdm

    predictor = Predictor(run_dir, models=models)
    tables, skipped, reasons = [], {}, {}
    for row in tqdm(songs.itertuples(index=False), total=len(songs), desc="songs", disable=not progress,
                    file=sys.stderr):
        try:
            song = predictor.prepare(row.audio_path, row.lyrics_path)
            table = predictor.predict(song)
        except ValueError as err:  # Rejected and MissingInputError included
            if on_error is None:
                raise
            on_error(row.song, err)
            continue
        table["song"] = row.song
        tables.append(table)
        if table.attrs["skipped"]:
            skipped[row.song] = table.attrs["skipped"]
        if why:
            reasons[row.song] = predictor.why(song)
    result = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    result.attrs["skipped"] = skipped
    if why:
        result.attrs["why"] = reasons
    return result


# --- the command line --------------------------------------------------------------

def format_table(table, fmt):
    """A prediction table as text: ``table`` (aligned columns), ``csv`` or ``json`` (a list of records)."""
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "json":
        return json.dumps(table.to_dict("records"), indent=2, default=str) + "\n"
    return table.to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n"


def error_message(err):
    """One line for a refused song: ``<reason>: <detail>`` for a rejection, else the message."""
    return f"{err.reason}: {err.detail}" if isinstance(err, Rejected) else str(err)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m mer_utils.predict",
        description="Apply a trained run to new songs: per-model class probabilities and the ensemble's label.")
    parser.add_argument("song", nargs="?",
                        help="an audio file, a folder of audio files (lyrics as <stem>.txt beside them or in "
                             "lyrics/), a .csv table with audio_path and/or lyrics_path columns, or a .txt of lyrics "
                             "alone (as --lyrics without a song)")
    parser.add_argument("--run", required=True, help="run folder, e.g. papermill_runs/demo/latest")
    parser.add_argument("--lyrics", help="the song's lyrics file (one song only)")
    parser.add_argument("--models", help="comma-separated model names (default: every trained model)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--why", action="store_true",
                        help="say why: which seconds, mel bands, words and pretrained features moved the models "
                             "(after the table; on stderr with --format csv or json)")
    args = parser.parse_args(argv)
    if args.song is None and not args.lyrics:
        parser.error("give a song (an audio file, a folder or a .csv table), or lyrics alone (--lyrics FILE)")
    known = (*MODEL_INPUTS, *PRETRAINED_ROWS, LATE_FUSION)
    unknown = [m for m in (args.models or "").split(",") if m.strip() and m.strip() not in known]
    if unknown:
        parser.error(f"--models: unknown model(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return args


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    try:
        songs = song_list(args.song, lyrics_path=args.lyrics)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    failures = []

    def report(name, err):
        from tqdm.std import tqdm

        failures.append(name)
        tqdm.write(f"error: {name}: {error_message(err)}", file=sys.stderr)  # on its own line, not on the bar

    try:
        table = predict_songs(args.run, songs, models=models, progress=len(songs) > 1, on_error=report,
                              why=args.why)
    except ValueError as err:  # the run folder or the model selection
        print(f"error: {error_message(err)}", file=sys.stderr)
        return EXIT_UNUSABLE
    except RuntimeError as err:  # a package of notebook 08's features missing here
        from .pretrained.song_features import UNAVAILABLE

        if not isinstance(err, UNAVAILABLE):
            raise
        print(f"error: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    for song, skipped in table.attrs["skipped"].items():
        for lacking in dict.fromkeys(skipped.values()):
            names = [name for name, part in skipped.items() if part == lacking]
            print(f"note: {song} has no {lacking}: {', '.join(names)} left out", file=sys.stderr)
    if not table.empty:
        sys.stdout.write(format_table(table, args.format))
    for song, lines in table.attrs.get("why", {}).items():
        out = sys.stdout if args.format == "table" else sys.stderr  # csv and json stay machine-readable
        out.write(f"\nwhy, {song}:\n" + "".join(f"  {line}\n" for line in lines or ["no model to explain"]))
    return EXIT_UNUSABLE if failures else 0


if __name__ == "__main__":
    from .notebook import filter_stderr

    # TensorFlow's C++ log lines (the variable, before its import; the filter, for those printed before it reads
    # the variable): the answer is the command's only output
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    filter_stderr()
    sys.exit(main())
