"""The paper's data filtering: from a corpus manifest to the ledger of kept and rejected tracks.

Jeon et al. (2017, section 2) label a track by its editors' tags through an
emotion-word dictionary, drop tracks whose tags hit both polarities, reject
tracks shorter than a minute or with lyrics of fewer than 30 words, and end
with as many positive as negative tracks (3,742 each). Every rule is a
keyword parameter of :func:`filter_tracks` whose default is the paper's
value from :mod:`mer_utils.config`.

Each track gets exactly one state: ``kept`` with its label, or ``rejected``
with the *first* failing reason in this order (cheap checks first, so no
audio file of a track that is out anyway is opened):

1. ``duplicate_id``: the id was already used by an earlier row (the first is kept)
2. ``no_tags``, ``conflicting_tags``, ``no_polarity_tag``: the tag dictionary
3. ``missing_audio``: no audio path, or no file there (absent, or a folder)
4. ``missing_lyrics``, ``undecodable_lyrics``: no lyrics / an empty file, or an unreadable encoding
5. ``too_few_words``: fewer than ``min_lyrics_words`` words (:func:`mer_utils.textio.count_words`)
6. ``unreadable_audio``, ``too_short``: the audio header (:func:`mer_utils.audio_io.probe_duration`)
7. ``balanced_out``: seeded undersampling of the larger class

A rejected track keeps its label when its tags gave one (e.g. a positive
track that is too short), so the notebook can show the balance before and
after each step.
"""

import logging
import time

import numpy as np
import pandas as pd

from . import accounting
from .accounting import Rejected
from .audio_io import AudioReadError, missing_file, probe_duration
from .config import BALANCE_CLASSES, LABELS, MIN_DURATION_S, MIN_LYRICS_WORDS, NEGATIVE_TAGS, POSITIVE_TAGS, SEED
from .corpus import split_tags, validate_manifest
from .textio import count_words, read_track_lyrics

logger = logging.getLogger(__name__)

#: Name of this stage in the ledger.
STAGE = "01_data"
NEGATIVE, POSITIVE = LABELS


# --- the tag dictionary -------------------------------------------------------------

def _normalize_tag(tag):
    """Case-insensitive, whitespace-insensitive form of a tag for whole-tag matching."""
    return " ".join(tag.split()).casefold()


def validate_tag_dictionary(positive_tags, negative_tags):
    """Raise ``ValueError`` unless both dictionaries are non-empty lists of distinct tags.

    Parameters
    ----------
    positive_tags, negative_tags : sequence of str
    """
    for name, tags in (("positive_tags", positive_tags), ("negative_tags", negative_tags)):
        if isinstance(tags, str):
            raise ValueError(f"{name} must be a list of tags, not the string {tags!r}")
        if not tags:
            raise ValueError(f"{name} is empty: no track could be labelled {name.split('_')[0]}")
        bad = [t for t in tags if not isinstance(t, str) or not t.strip()]
        if bad:
            raise ValueError(f"{name} holds entries that are not tags: {bad[:5]}")
    both = sorted({_normalize_tag(t) for t in positive_tags} & {_normalize_tag(t) for t in negative_tags})
    if both:
        raise ValueError(f"tags in both the positive and the negative dictionary: {both}")


def tag_polarity(tags, *, positive_tags=POSITIVE_TAGS, negative_tags=NEGATIVE_TAGS, name="the track"):
    """Label of one track from its tags.

    Parameters
    ----------
    tags : str
        The manifest's ``"|"``-joined tags.
    positive_tags, negative_tags : sequence of str
        Polarity dictionaries; whole tags match, case-insensitively.
    name : str
        How a rejection's detail names the track.

    Returns
    -------
    str
        ``"positive"`` or ``"negative"``.

    Raises
    ------
    mer_utils.accounting.Rejected
        ``no_tags``, ``conflicting_tags`` or ``no_polarity_tag``.
    """
    track_tags = split_tags(tags)
    if not track_tags:
        raise Rejected("no_tags", f"{name} has no tags")
    positive = {_normalize_tag(t) for t in positive_tags}
    negative = {_normalize_tag(t) for t in negative_tags}
    hits_positive = [t for t in track_tags if _normalize_tag(t) in positive]
    hits_negative = [t for t in track_tags if _normalize_tag(t) in negative]
    if hits_positive and hits_negative:
        raise Rejected("conflicting_tags",
                       f"{name} has positive tags {hits_positive} and negative tags {hits_negative}")
    if hits_positive:
        return POSITIVE
    if hits_negative:
        return NEGATIVE
    raise Rejected("no_polarity_tag", f"{name} has tags {track_tags}, none in the polarity dictionary")


# --- the per-track checks -------------------------------------------------------------

def _track_name(row):
    """How a detail sentence names a track: its id and its file, else its title and artist."""
    name = f"track {row['track_id']!r}"
    file = row["audio_path"] or row["lyrics_path"]
    if file:
        return f"{name} ({file})"
    if row["title"]:
        return f"{name} ({row['title']!r}" + (f" by {row['artist']})" if row["artist"] else ")")
    return name


def _missing_audio(row):
    """A detail sentence when the track's audio file is absent, else ``""``."""
    path = row["audio_path"]
    if not path:
        return f"{_track_name(row)} has no audio file in the corpus"
    problem = missing_file(path)  # absent, or a folder
    return f"audio file {path} {problem}" if problem else ""


def check_track(row, *, positive_tags, negative_tags, min_duration_s, min_lyrics_words):
    """Run the per-track rules (everything but duplicates and balancing) on one manifest row.

    Parameters
    ----------
    row : mapping
        One manifest row.
    positive_tags, negative_tags : sequence of str
    min_duration_s : float
    min_lyrics_words : int

    Returns
    -------
    label : str
        ``"positive"`` / ``"negative"`` when the tags gave one, else ``""``.
    rejected : mer_utils.accounting.Rejected or None
        The first failing rule, or ``None`` when the track passed.
    """
    try:
        label = tag_polarity(row["tags"], positive_tags=positive_tags, negative_tags=negative_tags,
                             name=_track_name(row))
    except Rejected as rejected:
        return "", rejected
    try:
        _check_files(row, min_duration_s=min_duration_s, min_lyrics_words=min_lyrics_words)
    except Rejected as rejected:
        return label, rejected
    return label, None


def _check_files(row, *, min_duration_s, min_lyrics_words):
    """Raise :class:`~mer_utils.accounting.Rejected` for the first failing rule on the track's files."""
    missing_audio = _missing_audio(row)
    if missing_audio:
        raise Rejected("missing_audio", missing_audio)
    text, source = read_track_lyrics(row)  # the same reading as the lyrics stage (03)
    if not text.strip():
        raise Rejected("missing_lyrics", f"lyrics file {source} is empty")
    words = count_words(text)
    if words < min_lyrics_words:
        raise Rejected("too_few_words", f"{source}: {words} words, under the minimum of {min_lyrics_words}")
    try:
        duration = probe_duration(row["audio_path"])
    except AudioReadError as err:
        raise Rejected("unreadable_audio", str(err)) from None
    if duration < min_duration_s:
        raise Rejected("too_short",
                       f"audio file {row['audio_path']} lasts {duration:.1f} s, under the minimum of {min_duration_s:g} s")


def _balance(outcomes, track_ids, *, seed):
    """Undersample the larger class of the passing tracks; return the outcomes with ``balanced_out`` added."""
    passing = {label: [i for i, (lab, rej) in enumerate(outcomes) if rej is None and lab == label] for label in LABELS}
    n_keep = min(len(ids) for ids in passing.values())
    rng = np.random.default_rng(seed)
    outcomes = list(outcomes)
    for label, members in passing.items():
        if len(members) <= n_keep:
            continue
        kept = set(rng.choice(members, size=n_keep, replace=False).tolist())
        counts = ", ".join(f"{len(passing[name])} {name}" for name in LABELS)
        for i in members:
            if i not in kept:
                outcomes[i] = (label, Rejected("balanced_out",
                                               f"track {track_ids[i]!r} ({label}) removed by undersampling "
                                               f"with seed {seed}: {counts} passed, {n_keep} of each kept"))
    return outcomes


def filter_tracks(manifest, *, positive_tags=POSITIVE_TAGS, negative_tags=NEGATIVE_TAGS,
                  min_duration_s=MIN_DURATION_S, min_lyrics_words=MIN_LYRICS_WORDS,
                  balance=BALANCE_CLASSES, seed=SEED):
    """Apply the paper's filtering to a manifest; return the ledger.

    Parameters
    ----------
    manifest : pandas.DataFrame
        From :func:`mer_utils.corpus.build_manifest`, one row per input track.
    positive_tags, negative_tags : sequence of str
        Tag polarity dictionaries (paper: 'happy', 'cheerful', ... / 'sad',
        'lonely', ...); whole tags match, case-insensitively.
    min_duration_s : float
        Shortest accepted audio, in seconds (paper: 60).
    min_lyrics_words : int
        Fewest accepted lyrics words (paper: 30).
    balance : bool
        Undersample the larger class so both have as many kept tracks (paper: yes).
    seed : int
        Seed of the undersampling.

    Returns
    -------
    pandas.DataFrame
        The ledger (:data:`mer_utils.accounting.LEDGER_COLUMNS`), one row per
        manifest row in manifest order, stage ``"01_data"``; it passes
        :func:`mer_utils.accounting.validate_ledger`. A row repeating an
        earlier id is recorded under ``<id>#2`` (``#3``, ...), rejected as
        ``duplicate_id``, since ledger ids are unique.
    """
    validate_manifest(manifest)
    validate_tag_dictionary(positive_tags, negative_tags)
    if min_duration_s < 0 or min_lyrics_words < 0:
        raise ValueError(f"minimums must be >= 0, got min_duration_s={min_duration_s}, "
                         f"min_lyrics_words={min_lyrics_words}")
    start = time.perf_counter()
    rules = dict(positive_tags=positive_tags, negative_tags=negative_tags,
                 min_duration_s=min_duration_s, min_lyrics_words=min_lyrics_words)
    ids = ledger_ids(manifest["track_id"].tolist())
    first_row = {}
    outcomes = []  # (label, Rejected or None) per manifest row
    for position, row in enumerate(manifest.to_dict("records")):
        track_id = row["track_id"]
        if track_id in first_row:
            outcomes.append(("", Rejected("duplicate_id",
                                          f"{_track_name(row)} repeats the id of row {first_row[track_id] + 1} "
                                          f"of the manifest (the first one is kept); recorded as {ids[position]!r}")))
            continue
        first_row[track_id] = position
        outcomes.append(check_track(row, **rules))
    if balance:
        outcomes = _balance(outcomes, ids, seed=seed)
    ledger = _ledger(manifest, outcomes, ids)
    logger.info("filtered %d tracks in %.2f s: %d kept", len(ledger), time.perf_counter() - start,
                (ledger["status"] == "kept").sum())
    return ledger


def ledger_ids(track_ids):
    """Ids unique within the ledger: a repeated id ``x`` becomes ``x#2``, ``x#3``, ...

    The ledger holds one row per input row, and its ids must be unique; the
    first occurrence keeps the corpus's id.
    """
    used = set(track_ids)
    seen = set()
    unique = []
    for track_id in track_ids:
        if track_id in seen:
            n = 2
            while f"{track_id}#{n}" in used:
                n += 1
            track_id = f"{track_id}#{n}"
            used.add(track_id)
        seen.add(track_id)
        unique.append(track_id)
    return unique


def _ledger(manifest, outcomes, ids):
    ledger = manifest.loc[:, list(accounting.MANIFEST_COLUMNS)].reset_index(drop=True)
    ledger["track_id"] = ids
    ledger["label"] = [label for label, _ in outcomes]
    ledger["status"] = ["kept" if rejected is None else "rejected" for _, rejected in outcomes]
    ledger["reason"] = ["" if rejected is None else rejected.reason for _, rejected in outcomes]
    ledger["detail"] = ["" if rejected is None else rejected.detail for _, rejected in outcomes]
    ledger["stage"] = STAGE
    accounting.validate_ledger(ledger)
    return ledger


# --- views for the notebook ---------------------------------------------------------------

def label_balance(ledger):
    """Tracks per label at three points of the filtering.

    Returns
    -------
    pandas.DataFrame
        Index ``negative``, ``positive``; columns ``tagged`` (the tags gave
        the label), ``passed_checks`` (also passed every per-track rule) and
        ``kept`` (after balancing and any later stage).
    """
    labelled = ledger[ledger["label"] != ""]
    passed = labelled["reason"].isin(["", "balanced_out"]) | (labelled["stage"] != STAGE)
    table = pd.DataFrame({
        "tagged": labelled["label"].value_counts(),
        "passed_checks": labelled.loc[passed, "label"].value_counts(),
        "kept": labelled.loc[labelled["status"] == "kept", "label"].value_counts(),
    })
    return table.reindex(list(LABELS)).fillna(0).astype(int)

