"""The lyrics stage: every kept track's lyrics -> its POS-filtered words.

Notebook 03 calls :func:`tag_all` on the ledger's kept tracks, moves the
tracks whose lyrics cannot be used to rejected (reason codes from
:data:`mer_utils.accounting.REASONS`), and saves the words with
:func:`save_tokens` (``data/tokens.json``). The models turn the words into
the paper's padded id sequences with :class:`Vocabulary`, fit on each split's
training part only.

For one track:

1. the lyrics come from ``lyrics_text`` (inline) or the file ``lyrics_path``
   (:func:`mer_utils.textio.read_lyrics`: UTF-8, UTF-16 or CP949/EUC-KR, else the
   detected encoding, e.g. Windows-1252);
2. :func:`mer_utils.textio.normalize_lyrics` drops section markers and
   normalises line endings, whitespace and Unicode;
3. the language is the manifest's, else detected (:func:`mer_utils.pos.detect_language`);
4. :func:`mer_utils.pos.pos_filter` keeps nouns, verbs, adjectives, adverbs.

Tagging is cached per text under ``paths.cache_dir("tokens")``, keyed by the
normalised text, the language, the taggers and their versions, and the token
rules' version, so a rerun skips it. Each text's words are written
(atomically) as soon as it is tagged, so a run killed half-way keeps what it
did. The Korean tagger runs in a Java VM started once per process; when Java
is missing, Korean tracks are rejected with ``tagger_failed`` and a sentence
saying how to install Java, and
:meth:`TaggingReport.raise_if_tagger_unavailable` lets the notebook stop with
that sentence once the ledger is written (a run silently missing its Korean
half would not be the study).
"""

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import config, paths
from .accounting import Rejected, StageReport
from .fileio import remove_abandoned_temporaries, write_json
from .parallel import map_unordered, resolve_workers
from .pos import (
    TaggerUnavailableError, detect_language, has_hangul, pos_filter, resolve_language, tag_words,
    tagger_version, validate_korean_tagger, SUPPORTED_LANGUAGES,
)
from .textio import normalize_lyrics, read_track_lyrics, text_cell
from .vocabulary import Vocabulary

__all__ = [
    "pos_filter", "tag_words", "tag_all", "track_words", "TaggingReport", "save_tokens", "load_tokens", "Vocabulary",
    "read_track_lyrics", "choose_workers", "tagging_examples", "STAGE",
]

logger = logging.getLogger(__name__)

#: Name of this stage in the ledger.
STAGE = "03_lyrics"
#: Texts each extra tagging worker needs before the automatic setting starts it:
#: each worker loads the English lexicon and, for Korean, its own Java VM (~500 MB).
#: At the paper's 5,763 texts two workers tagged in 31-34 s against 34-35 s in one
#: process, with twice the memory (docs/benchmarks.md), so a pool starts from 8,000.
MIN_TEXTS_PER_WORKER = 4000


@dataclass
class TaggingReport(StageReport):
    """What :func:`tag_all` did (``rejections``, ``cache_hits``, ``cache_misses``,
    ``wall_s`` and ``n_workers`` as in :class:`~mer_utils.accounting.StageReport`).

    ``rejections`` are the tracks whose lyrics cannot be used;
    ``cache_hits`` / ``cache_misses`` count texts found in / added to the
    token cache; ``n_workers`` is 1 when tagging ran in this process.

    Attributes
    ----------
    tokens : dict of str to list of str
        Kept words per usable track, in input order.
    languages : dict of str to str
        ``"ko"`` / ``"en"`` per usable track (manifest value, else detected).
    detected : set of str
        Tracks whose language was detected rather than given.
    unavailable : dict of str to str
        Taggers that could not run here, with the reason (e.g. no Java).
    """

    tokens: dict = field(default_factory=dict)
    languages: dict = field(default_factory=dict)
    detected: set = field(default_factory=set)
    n_workers: int = 1
    unavailable: dict = field(default_factory=dict)

    def summary(self):
        """One-row-per-figure table for the notebook: counts, cache use, time."""
        rejected = pd.Series([r.reason for r in self.rejections], dtype=str).value_counts()
        rows = {
            "tracks with words": len(self.tokens),
            **{f"  of which {lang}": sum(v == lang for v in self.languages.values()) for lang in SUPPORTED_LANGUAGES},
            "  language detected (not in manifest)": len(self.detected),
            **{f"rejected: {reason}": int(n) for reason, n in rejected.items()},
            "cache hits": self.cache_hits,
            "cache misses (tagged now)": self.cache_misses,
            "worker processes": self.n_workers,
            "seconds": f"{self.wall_s:.1f}",
        }
        return pd.Series(rows, name="value", dtype=object).to_frame()

    def raise_if_tagger_unavailable(self):
        """Raise ``RuntimeError`` naming the missing tagger and the fix, if any tagger could not run."""
        if self.unavailable:
            affected = sum(r.reason == "tagger_failed" for r in self.rejections)
            raise RuntimeError(
                f"{affected} tracks could not be POS-tagged and were rejected (tagger_failed): "
                + "; ".join(self.unavailable.values())
            )


# --- one track ------------------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    track_id: str
    source: str
    text: str
    language: str
    key: str


def _prepare(row, *, korean_tagger, max_chars):
    """Read, normalise and check one track; return a :class:`_Job` or raise :class:`~mer_utils.accounting.Rejected`."""
    raw, source = read_track_lyrics(row)
    text = normalize_lyrics(raw)
    if not any(ch.isalpha() for ch in text):
        raise Rejected("empty_lyrics", f"{source}: no words left after removing section markers and punctuation")
    if len(text) > max_chars:
        raise Rejected("lyrics_too_long", f"{source}: {len(text):,} characters after normalisation, "
                                          f"over the {max_chars:,} limit (MAX_LYRICS_CHARS): not a song's lyrics?")
    given = resolve_language(text_cell(row, "language"))
    language = given or detect_language(text)
    if language not in SUPPORTED_LANGUAGES:
        raise Rejected("unsupported_language", f"{source}: language {text_cell(row, 'language')!r} has no POS tagger "
                                               f"here (supported: {', '.join(SUPPORTED_LANGUAGES)})")
    return _Job(row["track_id"], source, text, language, token_cache_key(text, language=language,
                                                                          korean_tagger=korean_tagger))


def track_words(row, *, korean_tagger=config.KOREAN_TAGGER, max_chars=config.MAX_LYRICS_CHARS):
    """The POS-filtered words of one track, as :func:`tag_all` finds them (no cache, no pool).

    For a song outside the run's corpus (:mod:`mer_utils.predict`). ``row``
    holds ``track_id`` and ``lyrics_path`` or ``lyrics_text``, optionally ``language``.

    Raises
    ------
    mer_utils.accounting.Rejected
        With the reason :func:`tag_all` would record for the track.
    """
    job = _prepare(row, korean_tagger=korean_tagger, max_chars=max_chars)
    status, words = _tag_item((job.key, job.text, job.language, korean_tagger))
    if status != "ok":
        raise Rejected("tagger_failed", f"{job.source}: {words}")
    if not words:
        raise Rejected("no_content_words", f"{job.source}: no noun, verb, adjective or adverb left after POS filtering")
    return words


# --- cache ----------------------------------------------------------------------

def token_cache_key(text, *, language, korean_tagger):
    """Cache key of one normalised text: a hash of the text, language, taggers and their versions.

    The Korean tagger enters the key only when the text has Hangul, so
    English lyrics are shared across Korean-tagger choices.
    """
    version = tagger_version(korean_tagger=korean_tagger if has_hangul(text) else None)
    return hashlib.sha256("\x00".join((version, language, text)).encode("utf-8")).hexdigest()


def _cache_path(cache_dir, key):
    path = Path(cache_dir) / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _read_cache(cache_dir, key):
    path = _cache_path(cache_dir, key)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        logger.warning("ignoring unreadable token cache entry %s", path)
        return None
    return entry.get("tokens") if entry.get("key") == key else None


# --- tagging --------------------------------------------------------------------

def _tag_item(item):
    """Tag one ``(key, text, language, korean_tagger)``; failures become ``(status, message)`` (runs in workers too)."""
    _, text, language, korean_tagger = item
    try:
        return "ok", pos_filter(text, language=language, korean_tagger=korean_tagger)
    except TaggerUnavailableError as err:
        return "unavailable", str(err)
    except Exception as err:  # a tagger crash on one text must cost that track only
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return "failed", f"{type(err).__name__}: {message}"


def choose_workers(n_workers, n_texts):
    """Processes to tag ``n_texts`` with.

    ``n_workers >= 1`` is taken as given (capped by the number of texts).
    ``0`` (automatic) uses the available cores, but only as many as there
    are :data:`MIN_TEXTS_PER_WORKER` texts for: each worker process pays for
    its own English lexicon and Java VM, which on corpora of a few thousand
    songs costs more than it saves (``benchmarks/bench_lyrics.py``), so in
    practice tagging stays in this process.
    """
    return resolve_workers(n_workers, n_items=n_texts, min_items_per_worker=MIN_TEXTS_PER_WORKER)


def _tag_texts(items, *, n_workers, executor=config.EXECUTOR):
    """Yield ``(key, (status, result))`` for ``(key, text, language, korean_tagger)`` items, as each is done."""
    for item, outcome in map_unordered(_tag_item, items, n_workers=n_workers, desc="POS tagging",
                                       progress=executor != "local", executor=executor):
        if isinstance(outcome, Exception):  # the worker process died (see parallel.map_unordered)
            outcome = ("failed", f"{type(outcome).__name__}: {outcome}")
        yield item[0], outcome


def tag_all(ledger_rows, *, korean_tagger=config.KOREAN_TAGGER, n_workers=0,
            max_chars=config.MAX_LYRICS_CHARS, cache_dir=None, executor=config.EXECUTOR):
    """POS-filter the lyrics of every kept track; reject the tracks whose lyrics cannot be used.

    Parameters
    ----------
    ledger_rows : pandas.DataFrame or iterable of dict
        Ledger rows (:data:`mer_utils.accounting.LEDGER_COLUMNS`); rows whose
        ``status`` is not ``"kept"`` are skipped.
    korean_tagger : str
        A key of :data:`mer_utils.pos.KOREAN_TAGGERS` (default ``"okt"``).
    n_workers : int
        Tagging processes; ``0`` chooses (:func:`choose_workers`), ``1`` tags here.
    max_chars : int
        Longer normalised lyrics are rejected (``lyrics_too_long``).
    cache_dir : str or Path, optional
        Token cache; default ``paths.cache_dir("tokens")``.
    executor : str
        ``"local"``, ``"dask"`` or a Dask scheduler address (:func:`mer_utils.parallel.map_unordered`).
        The texts travel to the workers and the words come back: only this
        process reads the lyrics files and writes the token cache.

    Returns
    -------
    TaggingReport
        Every kept input track is either in ``tokens`` (at least one word) or
        in ``rejections`` with one of ``missing_lyrics``, ``undecodable_lyrics``,
        ``empty_lyrics``, ``lyrics_too_long``, ``unsupported_language``,
        ``tagger_failed``, ``no_content_words``.
    """
    start = time.perf_counter()
    validate_korean_tagger(korean_tagger)
    cache_dir = Path(cache_dir) if cache_dir is not None else paths.cache_dir("tokens")
    rows = ledger_rows.to_dict("records") if isinstance(ledger_rows, pd.DataFrame) else list(ledger_rows)
    rows = [row for row in rows if row.get("status", "kept") == "kept"]
    report = TaggingReport()
    jobs = []
    for row in rows:
        try:
            jobs.append(_prepare(row, korean_tagger=korean_tagger, max_chars=max_chars))
        except Rejected as rejected:
            report.rejections.append(rejected.of(row["track_id"]))
        else:
            if not resolve_language(text_cell(row, "language")):
                report.detected.add(row["track_id"])

    cached = {job.key: _read_cache(cache_dir, job.key) for job in jobs}
    pending = list({job.key: job for job in jobs if cached[job.key] is None}.values())
    # a killed run's half-written entries are temporaries beside the entries still pending (the main process
    # writes the cache: its pid names them)
    for folder in {_cache_path(cache_dir, job.key).parent for job in pending}:
        remove_abandoned_temporaries(folder)
    report.cache_hits = len(jobs) - sum(cached[job.key] is None for job in jobs)
    report.n_workers = choose_workers(n_workers, len(pending)) if pending else 1
    items = [(job.key, job.text, job.language, korean_tagger) for job in pending]
    for key, (status, result) in _tag_texts(items, n_workers=report.n_workers, executor=executor):
        if status == "ok":  # cached at once: a killed run keeps every text it tagged
            cached[key] = result
            write_json(_cache_path(cache_dir, key), {"key": key, "tokens": result})
            report.cache_misses += 1
        else:
            cached[key] = (status, result)
            if status == "unavailable":
                report.unavailable[korean_tagger] = result

    for job in jobs:
        outcome = cached[job.key]
        if isinstance(outcome, tuple):
            report.rejections.append(Rejected("tagger_failed", f"{job.source}: {outcome[1]}", track_id=job.track_id))
        elif not outcome:
            report.rejections.append(Rejected(
                "no_content_words", f"{job.source}: no noun, verb, adjective or adverb left after POS filtering",
                track_id=job.track_id))
        else:
            report.tokens[job.track_id] = outcome
            report.languages[job.track_id] = job.language
    report.wall_s = time.perf_counter() - start
    return report


def tagging_examples(ledger_rows, *, korean_tagger=config.KOREAN_TAGGER, n_lines=3):
    """Every word of the first lines of one kept track per language, with its tag and fate.

    Parameters
    ----------
    ledger_rows : pandas.DataFrame
        Ledger rows; the first usable kept track of each language is shown.
    n_lines : int
        Lines of lyrics per track.

    Returns
    -------
    pandas.DataFrame
        Columns ``track_id, language, word, tag, kept_as`` (``kept_as`` is the
        word class, or ``""`` when the word is dropped).
    """
    rows, seen = [], set()
    for row in ledger_rows[ledger_rows["status"] == "kept"].to_dict("records"):
        try:
            text = normalize_lyrics(read_track_lyrics(row)[0])
        except Rejected:
            continue
        language = resolve_language(text_cell(row, "language")) or detect_language(text)
        if language in seen or language not in SUPPORTED_LANGUAGES:
            continue
        excerpt = "\n".join([line for line in text.splitlines() if line.strip()][:n_lines])
        try:
            words = tag_words(excerpt, language=language, korean_tagger=korean_tagger)
        except TaggerUnavailableError:
            continue
        seen.add(language)
        rows += [{"track_id": row["track_id"], "language": language, "word": w.word, "tag": w.tag,
                  "kept_as": w.pos or ""} for w in words]
    return pd.DataFrame(rows, columns=["track_id", "language", "word", "tag", "kept_as"])


# --- the stage's output ---------------------------------------------------------

def save_tokens(layout, tokens):
    """Write ``{track_id: [word, ...]}`` to ``data/tokens.json`` of the run; return the path."""
    path = layout.tokens_json
    write_json(path, {str(k): list(v) for k, v in tokens.items()})
    return path


def load_tokens(layout):
    """Read the words saved by notebook 03: ``{track_id: [word, ...]}``.

    Raises
    ------
    ValueError
        If the file is missing (notebook 03 has not run) or not a mapping of
        track ids to word lists.
    """
    path = layout.tokens_json
    if not path.is_file():
        raise ValueError(f"{path}: no tokens; run notebook 03_lyrics first")
    try:
        tokens = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(tokens, dict) or not all(
        isinstance(words, list) and all(isinstance(w, str) for w in words) for words in tokens.values()
    ):
        raise ValueError(f"{path}: expected an object mapping track ids to lists of words")
    return tokens
