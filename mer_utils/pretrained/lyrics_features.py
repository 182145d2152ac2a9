"""Pretrained lyrics features for English: static word embeddings and sentiment lexicons, offline.

Per song, from its normalised lyrics (:func:`mer_utils.textio.normalize_lyrics`):

- **WordLlama** (``wordllama`` 0.4.0.post1, MIT): 256-d static token
  embeddings distilled from Llama 2 70B's input layer, averaged over the
  song's tokens and scaled to unit length (the library's own ``embed``).
  The weights and the tokenizer ship inside the wheel; they are read from
  the package folder, never from a hub: :func:`load_wordllama` opens the
  two files itself (the library's loader looks for the tokenizer in a
  folder the wheel does not have, then falls back to downloading it), and
  the Hugging Face libraries are switched offline first.
- **VADER** (``vaderSentiment`` 3.3.2, MIT): its lexicon and rules score
  each line (negative, neutral, positive, compound); the song gets the mean
  of each over its lines (the compound of a whole song saturates at ±1).
- **TextBlob** (already a dependency, for POS tagging): the pattern
  lexicon's polarity and subjectivity of the whole text.

262 numbers per song (:func:`feature_names`), cached per text under
``paths.cache_dir("lyrics_features")`` (:class:`~mer_utils.pretrained.feature_cache.FeatureCache`).

**Korean.** Nothing here understands Korean, and nothing offline does: the
Llama 2 tokenizer cuts Hangul into single syllables and raw bytes, whose
static vectors carry little meaning, and both lexicons are English (a
Korean song scores as neutral). No installable wheel we know of ships
Korean word vectors or a Korean sentiment lexicon with a licence that
allows it; the study downloads nothing at run time. Korean songs still get
these numbers, but they should be read as noise: :func:`korean_share`
tells a notebook how much of a corpus that concerns.
"""

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import paths
from ..accounting import Rejected, StageReport
from ..pos import has_hangul
from ..textio import normalize_lyrics, read_track_lyrics
from .feature_cache import FeatureCache

#: WordLlama's configuration and dimension shipped in the wheel, and the files that hold them.
WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIM = 256
WORDLLAMA_WEIGHTS = f"weights/{WORDLLAMA_CONFIG}_{WORDLLAMA_DIM}.safetensors"
WORDLLAMA_TOKENIZER = f"tokenizers/{WORDLLAMA_CONFIG}_tokenizer_config.json"
#: The pinned packages and how to install them (pyproject.toml pins the same versions).
PACKAGES = {"wordllama": "wordllama==0.4.0.post1", "vaderSentiment": "vaderSentiment==3.3.2",
            "textblob": "textblob==0.20.1"}
VADER_SCORES = ("neg", "neu", "pos", "compound")
TEXTBLOB_SCORES = ("polarity", "subjectivity")
#: Bump when the computation changes, so that old cache entries are not reused.
FEATURE_VERSION = 1
#: Environment variables that keep the Hugging Face libraries (tokenizers) from any network access.
OFFLINE_VARIABLES = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class LyricsFeaturesUnavailable(RuntimeError):
    """A package of the lyrics features is missing or its files do not load; the message says how to install it."""


def _missing(package, detail=""):
    return LyricsFeaturesUnavailable(
        f"the lyrics features need the {package} package{detail}: run "
        f"`pip install {PACKAGES[package]}` (or `make setup`); nothing is downloaded at run time")


def feature_names():
    """Names of the 262 values of :func:`text_features`, in order."""
    return ([f"wordllama_{k}" for k in range(WORDLLAMA_DIM)] + [f"vader_{s}" for s in VADER_SCORES]
            + [f"textblob_{s}" for s in TEXTBLOB_SCORES])


# --- the pretrained parts ---------------------------------------------------------

def package_folder(package):
    """The installed folder of ``package``, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise _missing(package, ", which is not installed")
    return Path(spec.origin).parent


def _import_quietly(module):
    """Import ``module`` while keeping the root logger as it was (wordllama calls ``logging.basicConfig``)."""
    import importlib

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return importlib.import_module(module)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def load_wordllama():
    """WordLlama's inference object, from the files inside the installed wheel (offline).

    Returns
    -------
    wordllama.WordLlamaInference
        ``.embed(texts, norm=True)`` -> float32 [shape=(n_texts, 256)].

    Raises
    ------
    LyricsFeaturesUnavailable
        If the package or one of its two files is missing or does not load.
    """
    os.environ.update(OFFLINE_VARIABLES)
    folder = package_folder("wordllama")
    weights, tokenizer_file = folder / WORDLLAMA_WEIGHTS, folder / WORDLLAMA_TOKENIZER
    for path in (weights, tokenizer_file):
        if not path.is_file():
            raise _missing("wordllama", f" with its file {path}, which is missing (reinstall it)")
    try:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        inference = _import_quietly("wordllama.inference")
        with safe_open(str(weights), framework="np", device="cpu") as stored:
            embedding = stored.get_tensor("embedding.weight")
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
    except ImportError as err:
        raise _missing("wordllama", f" and its dependencies ({err})") from None
    except Exception as err:  # a corrupt file: any of safetensors' or tokenizers' errors
        raise _missing("wordllama", f", whose files do not load ({type(err).__name__}: {err})") from None
    return inference.WordLlamaInference(embedding, tokenizer)


def load_vader():
    """VADER's analyser (its lexicon ships in the wheel)."""
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        raise _missing("vaderSentiment", ", which is not installed") from None
    return SentimentIntensityAnalyzer()


def load_textblob_sentiment():
    """TextBlob's pattern-lexicon sentiment analyser (no NLTK data needed)."""
    try:
        from textblob.en.sentiments import PatternAnalyzer
    except ImportError:
        raise _missing("textblob", ", which is not installed") from None
    return PatternAnalyzer()


@dataclass
class LyricsEncoder:
    """The three pretrained parts, loaded once: :meth:`features` turns texts into rows of 262 values."""

    wordllama: object
    vader: object
    textblob: object

    @classmethod
    def load(cls):
        """Load all three parts (offline); raises :class:`LyricsFeaturesUnavailable` naming what is missing."""
        return cls(wordllama=load_wordllama(), vader=load_vader(), textblob=load_textblob_sentiment())

    def features(self, texts):
        """The features of normalised texts.

        Parameters
        ----------
        texts : list of str

        Returns
        -------
        np.ndarray [shape=(len(texts), 262), dtype=float32]
            Columns :func:`feature_names`.
        """
        if not texts:
            return np.empty((0, len(feature_names())), dtype=np.float32)
        embedded = self.wordllama.embed(list(texts), norm=True)
        return np.concatenate([embedded, np.array([self.sentiment(text) for text in texts])], axis=1,
                              dtype=np.float32)

    def sentiment(self, text):
        """VADER's four scores averaged over the text's lines, then TextBlob's polarity and subjectivity."""
        lines = [line for line in text.split("\n") if line.strip()] or [text]
        vader = np.mean([[self.vader.polarity_scores(line)[s] for s in VADER_SCORES] for line in lines], axis=0)
        blob = self.textblob.analyze(text)
        return [*vader, blob.polarity, blob.subjectivity]


def embedding_matrix(vocabulary, *, dim=WORDLLAMA_DIM, wordllama=None):
    """Initial weights for the lyrics CNN's embedding layer: each vocabulary word's WordLlama vector.

    Row ``i`` is the vector of the word with id ``i`` (its tokens' mean,
    unit length, the first ``dim`` dimensions: WordLlama's dimensions are
    nested, 64 to 256, so a prefix is itself an embedding). Rows 0 and 1
    (padding and out-of-vocabulary) are zeros. The paper's layer is 200-d
    and learnt from scratch; this is the pretrained start an
    ``Embedding(..., embeddings_initializer=Constant(matrix))`` would take.

    Parameters
    ----------
    vocabulary : mer_utils.vocabulary.Vocabulary
    dim : int
        At most 256.
    wordllama : WordLlamaInference, optional
        Loaded once by the caller (else :func:`load_wordllama`).

    Returns
    -------
    np.ndarray [shape=(len(vocabulary), dim), dtype=float32]
    """
    if not 1 <= dim <= WORDLLAMA_DIM:
        raise ValueError(f"dim must be between 1 and {WORDLLAMA_DIM} (WordLlama's width), got {dim}")
    vectors = (wordllama or load_wordllama()).embed(list(vocabulary.words), norm=True) if vocabulary.words else \
        np.empty((0, WORDLLAMA_DIM), dtype=np.float32)
    vectors = vectors[:, :dim]
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return np.concatenate([np.zeros((2, dim), dtype=np.float32), vectors.astype(np.float32)])


# --- the stage --------------------------------------------------------------------

def cache_provenance():
    """What the cached features depend on: the packages' versions and this module's rules."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            raise _missing(package, ", which is not installed") from None
    return {"feature_version": FEATURE_VERSION, "wordllama_config": WORDLLAMA_CONFIG,
            "wordllama_dim": WORDLLAMA_DIM, "normalised": True, **versions}


def text_key(text):
    """Cache name of one normalised text: a hash of it."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:24]


@dataclass
class LyricsFeaturesReport(StageReport):
    """What :func:`extract_all` did (the counts of :class:`~mer_utils.accounting.StageReport`).

    Attributes
    ----------
    features : pandas.DataFrame [shape=(n_tracks, 262)]
        Indexed by track id, columns :func:`feature_names`, in input order.
    korean : list of str
        Tracks whose lyrics hold Hangul (their features carry little meaning).
    """

    features: pd.DataFrame = None
    korean: list = field(default_factory=list)

    def summary(self):
        """One-row table of counts and times, for notebooks."""
        return pd.DataFrame([{"tracks": len(self.features), "rejected": len(self.rejections),
                              "korean": len(self.korean), "cache_hits": self.cache_hits,
                              "cache_misses": self.cache_misses, "wall_s": round(self.wall_s, 2)}])


def extract_all(tracks, *, cache_dir=None, encoder=None):
    """The lyrics features of every track, from the cache or computed now (in this process).

    Parameters
    ----------
    tracks : pandas.DataFrame or iterable of mappings
        Ledger rows (``track_id`` and ``lyrics_text`` or ``lyrics_path``);
        only ``kept`` rows are used when a ``status`` column is present.
    cache_dir : str or Path, optional
        Root of the cache; default ``paths.cache_dir("lyrics_features")``.
    encoder : LyricsEncoder or callable, optional
        Already loaded parts, or a function that returns them; either way
        only used (the function only called) when a text needs computing.
        Default: load them then.

    Returns
    -------
    LyricsFeaturesReport
        Every track is in ``features`` or in ``rejections`` (lyrics that
        cannot be read, with the reasons of notebook 03).
    """
    start = time.perf_counter()
    table = tracks if isinstance(tracks, pd.DataFrame) else pd.DataFrame(list(tracks))
    if "status" in table.columns:
        table = table[table["status"] == "kept"]
    cache = FeatureCache(cache_dir or paths.cache_dir("lyrics_features"), cache_provenance()).prepare()
    report = LyricsFeaturesReport()
    texts, values = {}, {}
    for row in table.to_dict(orient="records"):
        track_id = str(row["track_id"])
        try:
            texts[track_id] = normalize_lyrics(read_track_lyrics(row)[0])
        except Rejected as rejected:
            report.rejections.append(rejected.of(track_id))
            continue
        if has_hangul(texts[track_id]):
            report.korean.append(track_id)
        cached = cache.get(text_key(texts[track_id]))
        if isinstance(cached, dict):
            values[track_id], report.cache_hits = cached["values"], report.cache_hits + 1
    todo = [t for t in texts if t not in values]
    if todo:
        encoder = encoder() if callable(encoder) else encoder or LyricsEncoder.load()
        for track_id, row in zip(todo, encoder.features([texts[t] for t in todo])):
            cache.put(text_key(texts[track_id]), values=row)
            values[track_id] = row
    report.cache_misses = len(todo)
    ids = [t for t in texts]
    report.features = pd.DataFrame(np.stack([values[t] for t in ids]) if ids else np.empty((0, len(feature_names()))),
                                   index=pd.Index(ids, name="track_id"), columns=feature_names(), dtype=np.float32)
    report.wall_s = time.perf_counter() - start
    return report


def korean_share(report):
    """Share of the report's tracks whose lyrics hold Hangul (features of little meaning for them)."""
    return len(report.korean) / max(len(report.features), 1)
