"""The paper's data filtering: from a corpus manifest to the ledger of kept and rejected tracks.

Jeon et al. (2017, section 2) label a track by its editors' tags through an
emotion-word dictionary, drop tracks whose tags hit both polarities, reject
tracks shorter than a minute or with lyrics of fewer than 30 words, and end
with as many positive as negative tracks (3,742 each). Every rule is a
keyword parameter of :func:`filter_tracks` whose default is the paper's
value from :mod:`mer_utils.config`.

Beyond the paper, a :class:`LabelScheme` turns tags into any number of
classes (a ``label_map`` such as Russell's four quadrants or the five MIREX
mood clusters; the binary polarity dictionaries are the default), and the
run's modalities (:mod:`mer_utils.modality`) decide which file checks apply:
an audio-only run never looks for lyrics, a lyrics-only run for audio.

Each track gets exactly one state: ``kept`` with its label, or ``rejected``
with the *first* failing reason in this order (cheap checks first, so no
audio file of a track that is out anyway is opened):

1. ``duplicate_id``: the id was already used by an earlier row (the first is kept)
2. ``no_tags``, ``conflicting_tags``, ``no_polarity_tag``: the tag dictionary (or label_map)
3. ``missing_audio``: no audio path, or no file there (absent, or a folder)
4. ``missing_lyrics``, ``undecodable_lyrics``: no lyrics / an empty file, or an unreadable encoding
5. ``too_few_words``: fewer than ``min_lyrics_words`` words (:func:`mer_utils.textio.count_words`)
6. ``unreadable_audio``, ``too_short``: the audio header (:func:`mer_utils.audio_io.probe_duration`)
7. ``balanced_out``: seeded undersampling of every class to the size of the smallest
   (with the corpus's own splits, within each of its parts)

Steps 3 and 6 apply when the run uses audio, 4 and 5 when it uses lyrics.

A rejected track keeps its label when its tags gave one (e.g. a positive
track that is too short), so the notebook can show the balance before and
after each step.
"""

import logging
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import accounting
from .accounting import Rejected
from .audio_io import AudioReadError, missing_file, probe_duration
from .config import (BALANCE_CLASSES, LABELS, MIN_DURATION_S, MIN_LYRICS_WORDS, NEGATIVE_TAGS, POSITIVE_TAGS, SEED,
                     SPLIT_SCHEME)
from .corpus import split_tags, validate_manifest
from .modality import KINDS
from .splits import parse_given, part_order, validate_scheme
from .textio import count_words, read_track_lyrics

logger = logging.getLogger(__name__)

#: Name of this stage in the ledger.
STAGE = "01_data"
NEGATIVE, POSITIVE = LABELS


# --- the tag dictionary -------------------------------------------------------------

def _normalize_tag(tag):
    """Case-, whitespace- and Unicode-form-insensitive form of a tag for whole-tag matching.

    NFKC: a table saved on macOS may spell ``슬픈`` or ``café`` in NFD, while the dictionary is typed in NFC.
    """
    return " ".join(unicodedata.normalize("NFKC", tag).split()).casefold()


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


@dataclass(frozen=True)
class LabelScheme:
    """How tags become classes.

    Attributes
    ----------
    classes : tuple of str
        The class names in index order: label index ``i`` (softmax output
        ``i``) is ``classes[i]``.
    tag_classes : dict
        Normalised tag (:func:`_normalize_tag`) -> class name.
    dictionary : str
        How rejection sentences name the mapping ("the polarity dictionary", "the label_map").
    """

    classes: tuple
    tag_classes: dict
    dictionary: str

    def tags_of(self, label):
        """The normalised tags that give class ``label``."""
        return [tag for tag, cls in self.tag_classes.items() if cls == label]

    def __str__(self):
        return (f"{len(self.classes)} classes from {self.dictionary} ({len(self.tag_classes)} tags): "
                + "; ".join(f"{label} <- {self.tags_of(label)}" for label in self.classes))


def polarity_scheme(positive_tags=POSITIVE_TAGS, negative_tags=NEGATIVE_TAGS):
    """The paper's binary scheme: :data:`~mer_utils.config.LABELS` from two tag dictionaries."""
    validate_tag_dictionary(positive_tags, negative_tags)
    tag_classes = {_normalize_tag(t): POSITIVE for t in positive_tags}
    tag_classes |= {_normalize_tag(t): NEGATIVE for t in negative_tags}
    return LabelScheme(LABELS, tag_classes, "the polarity dictionary")


def _label_map_pairs(label_map):
    """``(tag, class)`` pairs of a label_map given as tag -> class or as class -> [tags]."""
    if not isinstance(label_map, Mapping) or not label_map:
        raise ValueError(f"label_map must be a non-empty mapping of tag -> class, got {label_map!r}")
    listed = [isinstance(v, (list, tuple)) for v in label_map.values()]
    if any(listed) and not all(listed):
        raise ValueError("label_map mixes tag: class entries and class: [tags] entries; use one form")
    empty = [repr(cls) for cls, tags in label_map.items() if all(listed) and not tags]
    if empty:
        raise ValueError(f"label_map class{'es' * (len(empty) > 1)} {', '.join(empty)} "
                         f"list{'s' * (len(empty) == 1)} no tags")
    pairs = ([(tag, cls) for cls, tags in label_map.items() for tag in tags] if all(listed)
             else list(label_map.items()))
    bad = [pair for pair in pairs if not all(isinstance(x, str) and x.strip() for x in pair)]
    if bad:
        raise ValueError(f"label_map entries must be non-empty texts (tag: class); not {bad[:3]}")
    return [(tag, cls.strip()) for tag, cls in pairs]


def label_map_scheme(label_map):
    """A scheme of any number of classes from a ``label_map``.

    Parameters
    ----------
    label_map : mapping
        Tag -> class (``{"Q1": "Q1", "Cheerful": "happy", "Fun": "happy"}``:
        several tags may give one class), or class -> list of tags
        (``{"happy": ["Cheerful", "Fun"]}``). Tags match whole and
        case-insensitively, as in the polarity dictionaries. The classes are
        indexed in the order they first appear.

    Returns
    -------
    LabelScheme

    Raises
    ------
    ValueError
        When it is not a mapping of texts, gives one tag two classes, or has
        fewer than two classes.
    """
    tag_classes = {}
    for tag, cls in _label_map_pairs(label_map):
        known = tag_classes.setdefault(_normalize_tag(tag), cls)
        if known != cls:
            raise ValueError(f"label_map gives tag {tag!r} two classes: {known!r} and {cls!r}")
    classes = tuple(dict.fromkeys(tag_classes.values()))
    if len(classes) < 2:
        raise ValueError(f"label_map names {len(classes)} class ({', '.join(map(repr, classes))}); "
                         f"a classification needs at least two")
    return LabelScheme(classes, tag_classes, "the label_map")


def label_scheme(*, label_map=None, positive_tags=(), negative_tags=()):
    """The run's scheme from notebook 01's parameters: the label_map if any, else the polarity dictionaries.

    Parameters
    ----------
    label_map : mapping, optional
        See :func:`label_map_scheme`; empty or ``None``: the binary polarity scheme.
    positive_tags, negative_tags : sequence of str
        The polarity dictionaries; empty: :data:`~mer_utils.config.POSITIVE_TAGS` /
        :data:`~mer_utils.config.NEGATIVE_TAGS`. Not allowed with a label_map.

    Returns
    -------
    LabelScheme
    """
    if label_map:
        if positive_tags or negative_tags:
            raise ValueError("give either a label_map or positive_tags / negative_tags, not both "
                             "(the label_map replaces the polarity dictionaries)")
        return label_map_scheme(label_map)
    return polarity_scheme(list(positive_tags) or POSITIVE_TAGS, list(negative_tags) or NEGATIVE_TAGS)


def tag_class(tags, *, scheme, name="the track"):
    """Class of one track from its tags.

    Parameters
    ----------
    tags : str
        The manifest's ``"|"``-joined tags.
    scheme : LabelScheme
    name : str
        How a rejection's detail names the track.

    Returns
    -------
    str
        One of ``scheme.classes``.

    Raises
    ------
    mer_utils.accounting.Rejected
        ``no_tags``, ``conflicting_tags`` (tags of two classes) or
        ``no_polarity_tag`` (no tag in the scheme).
    """
    track_tags = split_tags(tags)
    if not track_tags:
        raise Rejected("no_tags", f"{name} has no tags")
    hits = {}  # class -> its tags on the track, in the track's order
    for tag in track_tags:
        label = scheme.tag_classes.get(_normalize_tag(tag))
        if label is not None:
            hits.setdefault(label, []).append(tag)
    if len(hits) > 1:
        raise Rejected("conflicting_tags", f"{name} has " + " and ".join(f"{c} tags {t}" for c, t in hits.items()))
    if hits:
        return next(iter(hits))
    raise Rejected("no_polarity_tag", f"{name} has tags {track_tags}, none in {scheme.dictionary}")


def tag_polarity(tags, *, positive_tags=POSITIVE_TAGS, negative_tags=NEGATIVE_TAGS, name="the track"):
    """``"positive"`` or ``"negative"`` from a track's tags: :func:`tag_class` with the polarity scheme."""
    return tag_class(tags, scheme=polarity_scheme(positive_tags, negative_tags), name=name)


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


def check_track(row, *, scheme, min_duration_s, min_lyrics_words, modalities=KINDS):
    """Run the per-track rules (everything but duplicates and balancing) on one manifest row.

    Parameters
    ----------
    row : mapping
        One manifest row.
    scheme : LabelScheme
    min_duration_s : float
    min_lyrics_words : int
    modalities : tuple of str
        The run's modalities: the audio rules apply with ``"audio"``, the lyrics rules with ``"lyrics"``.

    Returns
    -------
    label : str
        The class when the tags gave one, else ``""``.
    rejected : mer_utils.accounting.Rejected or None
        The first failing rule, or ``None`` when the track passed.
    """
    try:
        label = tag_class(row["tags"], scheme=scheme, name=_track_name(row))
    except Rejected as rejected:
        return "", rejected
    try:
        check_files(row, min_duration_s=min_duration_s, min_lyrics_words=min_lyrics_words, modalities=modalities)
    except Rejected as rejected:
        return label, rejected
    return label, None


def check_files(row, *, min_duration_s, min_lyrics_words, modalities):
    """Raise :class:`~mer_utils.accounting.Rejected` for the first failing rule on the track's files.

    The rules of ``modalities`` (``"audio"``: a readable file of at least
    ``min_duration_s``; ``"lyrics"``: at least ``min_lyrics_words`` words)
    on a manifest ``row`` (``track_id``, ``audio_path``, ``lyrics_path``,
    ``lyrics_text``, ``title``, ``artist``). :mod:`mer_utils.predict` applies
    them to new songs too.
    """
    audio, lyrics = "audio" in modalities, "lyrics" in modalities
    missing_audio = _missing_audio(row) if audio else ""
    if missing_audio:
        raise Rejected("missing_audio", missing_audio)
    if lyrics:
        text, source = read_track_lyrics(row)  # the same reading as the lyrics stage (03)
        if not text.strip():
            raise Rejected("missing_lyrics", f"lyrics file {source} is empty")
        words = count_words(text)
        if words < min_lyrics_words:
            raise Rejected("too_few_words", f"{source}: {words} words, under the minimum of {min_lyrics_words}")
    if not audio:
        return
    try:
        duration = probe_duration(row["audio_path"])
    except AudioReadError as err:
        raise Rejected("unreadable_audio", str(err)) from None
    if duration < min_duration_s:
        raise Rejected("too_short", f"audio file {row['audio_path']} lasts {duration:.1f} s, "
                                    f"under the minimum of {min_duration_s:g} s")


def _passing(outcomes, classes, positions=None):
    """Class -> positions (among ``positions``, default all) of its tracks that passed every per-track rule."""
    positions = range(len(outcomes)) if positions is None else positions
    return {label: [i for i in positions if outcomes[i][1] is None and outcomes[i][0] == label] for label in classes}


def _warn_unreached(outcomes, scheme):
    """Log a warning naming each class no track reaches; return the classes some track reaches."""
    passing = _passing(outcomes, scheme.classes)
    for label, members in passing.items():
        if not members:
            tagged = sum(lab == label for lab, _ in outcomes)
            why = (f"{tagged} tracks have its tags, all rejected" if tagged
                   else f"no track has its tags {scheme.tags_of(label)}")
            logger.warning("class %r of %s is reached by no track (%s): it is left out of the run",
                           label, scheme.dictionary, why)
    return tuple(label for label in scheme.classes if passing[label])


def _balance(outcomes, track_ids, *, seed, classes, parts=None):
    """Undersample the passing tracks; return the outcomes with ``balanced_out`` added.

    Without ``parts`` every class is undersampled to the smallest. With
    ``parts`` (each track's part of the corpus's own splits, length n) each
    part is balanced on its own, in :func:`mer_utils.splits.part_order`, so
    no part loses its tracks to another's: every class present in a part is
    undersampled to the smallest present there, and none is emptied.
    """
    rng = np.random.default_rng(seed)
    if parts is None:
        return _undersample(outcomes, range(len(outcomes)), track_ids, rng=rng, seed=seed, classes=classes)
    for part in part_order(parts):
        members = [i for i, p in enumerate(parts) if p == part]
        outcomes = _undersample(outcomes, members, track_ids, rng=rng, seed=seed, classes=classes,
                                where=f" in the corpus's {part} part")
    return outcomes


def _undersample(outcomes, positions, track_ids, *, rng, seed, classes, where=""):
    """Undersample the passing tracks at ``positions`` to the smallest class among them that has any."""
    passing = {label: members for label, members in _passing(outcomes, classes, positions).items() if members}
    if not passing:
        return outcomes
    n_keep = min(len(ids) for ids in passing.values())
    outcomes = list(outcomes)
    for label, members in passing.items():
        if len(members) <= n_keep:
            continue
        kept = set(rng.choice(members, size=n_keep, replace=False).tolist())
        counts = ", ".join(f"{len(passing[name])} {name}" for name in passing)
        for i in members:
            if i not in kept:
                outcomes[i] = (label, Rejected("balanced_out",
                                               f"track {track_ids[i]!r} ({label}) removed by undersampling "
                                               f"with seed {seed}: {counts} passed{where}, {n_keep} of each kept"))
    return outcomes


def _validate_modalities(modalities):
    if isinstance(modalities, str) or not modalities or not set(modalities) <= set(KINDS):
        raise ValueError(f"modalities must be a non-empty tuple of {KINDS}, got {modalities!r} "
                         f"(mer_utils.modality.resolve turns the parameter into one)")


def filter_tracks(manifest, *, scheme=None, positive_tags=POSITIVE_TAGS, negative_tags=NEGATIVE_TAGS,
                  modalities=KINDS, min_duration_s=MIN_DURATION_S, min_lyrics_words=MIN_LYRICS_WORDS,
                  balance=BALANCE_CLASSES, seed=SEED, split_scheme=SPLIT_SCHEME):
    """Apply the paper's filtering to a manifest; return the ledger.

    Parameters
    ----------
    manifest : pandas.DataFrame
        From :func:`mer_utils.corpus.build_manifest`, one row per input track.
    scheme : LabelScheme, optional
        How tags become classes (:func:`label_scheme`); default: the polarity
        scheme of ``positive_tags`` and ``negative_tags``.
    positive_tags, negative_tags : sequence of str
        Tag polarity dictionaries (paper: 'happy', 'cheerful', ... / 'sad',
        'lonely', ...); whole tags match, case-insensitively. Unused with a ``scheme``.
    modalities : tuple of str
        The run's modalities (:func:`mer_utils.modality.resolve`): the audio
        rules apply with ``"audio"``, the lyrics rules with ``"lyrics"``.
    min_duration_s : float
        Shortest accepted audio, in seconds (paper: 60).
    min_lyrics_words : int
        Fewest accepted lyrics words (paper: 30).
    balance : bool
        Undersample every class to the size of the smallest (paper: yes). A
        class no track reaches is named in a warning and left out.
    seed : int
        Seed of the undersampling.
    split_scheme : {"shuffle", "kfold", "given"}
        The run's split scheme (:func:`mer_utils.splits.make_splits`). With
        ``"given"`` the corpus's own parts (its ``split`` column) are balanced
        each on its own, so undersampling never moves tracks between parts
        nor empties a class of a part; otherwise the whole corpus is balanced at once.

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
    scheme = scheme if scheme is not None else polarity_scheme(positive_tags, negative_tags)
    _validate_modalities(modalities)
    validate_scheme(split_scheme)
    if min_duration_s < 0 or min_lyrics_words < 0:
        raise ValueError(f"minimums must be >= 0, got min_duration_s={min_duration_s}, "
                         f"min_lyrics_words={min_lyrics_words}")
    start = time.perf_counter()
    rules = dict(scheme=scheme, modalities=tuple(modalities),
                 min_duration_s=min_duration_s, min_lyrics_words=min_lyrics_words)
    ids = ledger_ids(manifest["track_id"].tolist())
    first_row = {}
    outcomes = []  # (label, Rejected or None) per manifest row
    for position, row in enumerate(manifest.to_dict("records")):
        track_id = row["track_id"]
        if track_id in first_row:
            first = first_row[track_id]  # named by its file: the manifest's row numbers are not the user's lines
            tags = row["tags"], first["tags"]
            differ = "" if tags[0] == tags[1] else f" (its tags {tags[0]!r} differ from {tags[1]!r})"
            outcomes.append(("", Rejected("duplicate_id",
                                          f"{_track_name(row)} repeats the id of an earlier row, {_track_name(first)}, "
                                          f"which is kept{differ}; recorded as {ids[position]!r}")))
            continue
        first_row[track_id] = row
        outcomes.append(check_track(row, **rules))
    reached = _warn_unreached(outcomes, scheme)
    if balance and reached:
        parts = parse_given(ids, manifest["split"].tolist())[1] if split_scheme == "given" else None
        outcomes = _balance(outcomes, ids, seed=seed, classes=reached, parts=parts)
    ledger = _ledger(manifest, outcomes, ids)
    logger.info("filtered %d tracks in %.2f s: %d kept", len(ledger), time.perf_counter() - start,
                (ledger["status"] == "kept").sum())
    return ledger


def run_classes(ledger, scheme):
    """The classes of a run: those of ``scheme`` with at least one kept track, in the scheme's order.

    Parameters
    ----------
    ledger : pandas.DataFrame
        From :func:`filter_tracks`.
    scheme : LabelScheme

    Returns
    -------
    tuple of str
        Label index ``i`` of the run is ``classes[i]``.

    Raises
    ------
    ValueError
        When fewer than two classes have a kept track, naming each class and its count.
    """
    counts = ledger.loc[ledger["status"] == "kept", "label"].value_counts()
    classes = tuple(label for label in scheme.classes if counts.get(label, 0) > 0)
    if len(classes) < 2:
        per_class = ", ".join(f"{counts.get(label, 0)} {label}" for label in scheme.classes)
        raise ValueError(f"a classification needs tracks of at least two classes; kept tracks per class of "
                         f"{scheme.dictionary}: {per_class} (the ledger says why the others were rejected)")
    return classes


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

def label_balance(ledger, *, classes=LABELS):
    """Tracks per label at three points of the filtering.

    Parameters
    ----------
    ledger : pandas.DataFrame
    classes : sequence of str
        The rows, in order (a scheme's ``classes``).

    Returns
    -------
    pandas.DataFrame
        Index ``classes``; columns ``tagged`` (the tags gave the label),
        ``passed_checks`` (also passed every per-track rule) and ``kept``
        (after balancing and any later stage).
    """
    labelled = ledger[ledger["label"] != ""]
    passed = labelled["reason"].isin(["", "balanced_out"]) | (labelled["stage"] != STAGE)
    table = pd.DataFrame({
        "tagged": labelled["label"].value_counts(),
        "passed_checks": labelled.loc[passed, "label"].value_counts(),
        "kept": labelled.loc[labelled["status"] == "kept", "label"].value_counts(),
    })
    return table.reindex(list(classes)).fillna(0).astype(int)

