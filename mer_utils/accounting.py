"""The ledger: every input track ends kept (with a label) or rejected with a reason.

Notebook 01 writes the ledger (``RunLayout.tracks_csv``); later stages (mel
extraction, lyrics) only move kept tracks to rejected, through
:func:`apply_rejections`. Nothing is ever dropped silently: the ledger has one
row per input track for the whole run. It is the one record of what was kept
(:func:`kept`, :func:`rejected` read it; no other track list is written).

A stage starts from the ledger as the stages before it left it
(:func:`reopen_stage`): a rerun of stage 03 recomputes its own rejections
instead of inheriting them, while those of 01 and 02 stand.

Columns
-------
track_id, source, audio_path, lyrics_path, lyrics_text, language, tags,
artist, title, split   the corpus manifest (see :mod:`mer_utils.corpus`); ``split``
                       is the corpus's own part of the track ("train", "val",
                       "test", a fold number) or "", used by ``split_scheme: given``
label                  the class once known ("positive" / "negative" by default,
                       else a class of the run's label_map), else ""
status                 "kept" or "rejected"
reason                 a code from :data:`REASONS` ("" when kept)
detail                 a human sentence naming the file and the cause
stage                  the notebook that decided: a stage module's ``STAGE`` ("01_data", "02_mels", ...)

Worker processes import :class:`Rejected` (through :mod:`mer_utils.melspec`),
so this module imports pandas only inside the functions that need it.
"""

from dataclasses import dataclass, field

from .fileio import write_text

MANIFEST_COLUMNS = (
    "track_id", "source", "audio_path", "lyrics_path", "lyrics_text",
    "language", "tags", "artist", "title", "split",
)
LEDGER_COLUMNS = MANIFEST_COLUMNS + ("label", "status", "reason", "detail", "stage")
STATUSES = ("kept", "rejected")
#: The stages that decide about tracks, in run order: the ``STAGE`` of :mod:`~mer_utils.filtering`,
#: :mod:`~mer_utils.mels` and :mod:`~mer_utils.lyrics`. The first writes the ledger and is the
#: ``stage`` of every kept track.
STAGES = ("01_data", "02_mels", "03_lyrics")

#: Every rejection reason, with the sentence shown to users. Stages add theirs here.
REASONS = {
    # 01: corpus and filtering
    "duplicate_id": "another track in the corpus has the same id",
    "missing_audio": "no audio file for the track",
    "unreadable_audio": "the audio file cannot be decoded (corrupt, empty or not audio)",
    "too_short": "audio shorter than the minimum duration",
    "missing_lyrics": "no lyrics for the track",
    "undecodable_lyrics": "the lyrics file is in no encoding we can read",
    "too_few_words": "lyrics shorter than the minimum word count",
    "no_tags": "the track has no tags",
    "no_polarity_tag": "no tag is in the polarity dictionary (or the label_map)",
    "conflicting_tags": "tags hit both the positive and the negative dictionary (or two classes of the label_map)",
    "balanced_out": "removed by undersampling to balance the classes",
    # 02: mel extraction
    "silent_audio": "the clip is digital silence",
    "extraction_failed": "mel extraction failed",
    # 03: lyrics
    "empty_lyrics": "nothing left after normalisation (markers or punctuation only)",
    "no_content_words": "no noun, verb, adjective or adverb survives POS filtering",
    "tagger_failed": "the POS tagger failed on these lyrics",
    "unsupported_language": "the lyrics are in a language with no POS tagger here (Korean and English only)",
    "lyrics_too_long": "the lyrics are far longer than any song (probably not lyrics)",
}


class Rejected(ValueError):
    """A track cannot be used: ``reason``, a code from :data:`REASONS`, and ``detail``, a sentence naming the file.

    The one way to say "this track is rejected, here is why". Raised where the
    cause is found (decoding a clip, reading lyrics, a filtering rule); once it
    names its track (``track_id``) it is also the record a stage returns in its
    ``rejections`` and :func:`apply_rejections` writes to the ledger.

    Parameters
    ----------
    reason : str
        A key of :data:`REASONS`; any other value raises ``ValueError``.
    detail : str
        A sentence naming the file (or the track) and the cause.
    track_id : str, optional
        The rejected track, when known.
    """

    def __init__(self, reason, detail, *, track_id=None):
        if reason not in REASONS:
            of_track = f" for track {track_id!r}" if track_id is not None else ""
            raise ValueError(f"unknown rejection reason {reason!r}{of_track}; "
                             f"known reasons: {', '.join(sorted(REASONS))}")
        super().__init__(detail)
        self.reason, self.detail, self.track_id = reason, detail, track_id

    def of(self, track_id):
        """The same rejection, recorded for ``track_id``."""
        return Rejected(self.reason, self.detail, track_id=track_id)

    def _key(self):
        return self.track_id, self.reason, self.detail

    def __eq__(self, other):
        return isinstance(other, Rejected) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"Rejected({self.reason!r}, {self.detail!r}, track_id={self.track_id!r})"

    def __reduce__(self):  # picklable across worker processes despite the keyword-only track_id
        return _rejected, self._key()

    def _render_traceback_(self):
        """What IPython shows of an uncaught rejection (a notebook refusing a song): the reason and the sentence.

        A rejection is an answer about the input, not a bug: the stack through the package would bury it.
        """
        return [f"Rejected: {self.reason}: {self.detail}"]


def _rejected(track_id, reason, detail):
    return Rejected(reason, detail, track_id=track_id)


@dataclass
class StageReport:
    """What a stage did to the kept tracks (the fields :class:`~mer_utils.mels.ExtractionReport`
    and :class:`~mer_utils.lyrics.TaggingReport` share).

    Attributes
    ----------
    rejections : list of Rejected
        Tracks the stage rejected, each with its ``track_id``, in input order.
    cache_hits, cache_misses : int
        Items found in / added to the stage's cache.
    wall_s : float
        Elapsed time of the whole stage call.
    n_workers : int
        Worker processes used (1: this process).
    """

    rejections: list = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0
    wall_s: float = 0.0
    n_workers: int = 0

    def rejection_table(self):
        """The rejections as a table (track_id, reason, detail)."""
        import pandas as pd

        return pd.DataFrame([(r.track_id, r.reason, r.detail) for r in self.rejections],
                            columns=["track_id", "reason", "detail"])


def validate_ledger(ledger):
    """Raise ``ValueError`` unless ``ledger`` accounts for every track exactly once.

    Parameters
    ----------
    ledger : pandas.DataFrame
        One row per input track with :data:`LEDGER_COLUMNS`.
    """
    missing = [c for c in LEDGER_COLUMNS if c not in ledger.columns]
    if missing:
        raise ValueError(f"ledger lacks columns {missing}")
    if ledger["track_id"].duplicated().any():
        dup = ledger.loc[ledger["track_id"].duplicated(), "track_id"].tolist()
        raise ValueError(f"ledger has duplicate track ids {dup[:5]}")
    bad_status = ~ledger["status"].isin(STATUSES)
    if bad_status.any():
        raise ValueError(f"tracks with no final status: {ledger.loc[bad_status, 'track_id'].tolist()[:5]}")
    rejected = ledger["status"] == "rejected"
    unknown = rejected & ~ledger["reason"].isin(list(REASONS))
    if unknown.any():
        raise ValueError(f"rejected tracks without a known reason: {ledger.loc[unknown, 'track_id'].tolist()[:5]}")
    unlabeled = (ledger["status"] == "kept") & (ledger["label"] == "")
    if unlabeled.any():
        raise ValueError(f"kept tracks without a label: {ledger.loc[unlabeled, 'track_id'].tolist()[:5]}")


def write_ledger(ledger, path):
    """Validate and write the ledger as CSV (UTF-8), atomically: a kill never leaves half a ledger."""
    validate_ledger(ledger)
    write_text(path, ledger.loc[:, list(LEDGER_COLUMNS)].to_csv(index=False))


def read_ledger(path):
    """Read a ledger written by :func:`write_ledger`; ids and text stay strings ("NA" is not NaN).

    A ledger written before the ``split`` column existed reads with it empty.
    """
    import pandas as pd

    ledger = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "split" not in ledger.columns:
        ledger["split"] = ""
    validate_ledger(ledger)
    return ledger


def kept(ledger):
    """The kept tracks: the rows (every column) of ``ledger``, a DataFrame or the path of one, in ledger order."""
    return _with_status(ledger, "kept")


def rejected(ledger):
    """The rejected tracks, with their reason, detail and stage: rows of ``ledger`` (a DataFrame or a path)."""
    return _with_status(ledger, "rejected")


def _with_status(ledger, status):
    import pandas as pd

    if not isinstance(ledger, pd.DataFrame):
        ledger = read_ledger(ledger)
    return ledger[ledger["status"] == status]


def kept_ids(ledger):
    """Ids of the kept tracks, in ledger order."""
    return ledger.loc[ledger["status"] == "kept", "track_id"].tolist()


def reopen_stage(ledger, stage):
    """Return a copy of ``ledger`` as the stages before ``stage`` left it.

    The tracks rejected by ``stage`` or a later stage are kept again, with
    their label (a rejection never erases it) and stage ``STAGES[0]``,
    the one that kept them; the rejections of earlier stages stand. A stage
    starts from here, so that a rerun recomputes its own decisions instead of
    inheriting them: a Korean track rejected while Java was missing is tagged
    once Java is installed; a clip replaced by a good file is extracted.

    Parameters
    ----------
    ledger : pandas.DataFrame
    stage : str
        One of :data:`STAGES` after the first (the first rebuilds the ledger).

    Returns
    -------
    pandas.DataFrame
    """
    if stage not in STAGES[1:]:
        raise ValueError(f"cannot reopen stage {stage!r}: the stages after {STAGES[0]} are {', '.join(STAGES[1:])}")
    reopened = (ledger["status"] == "rejected") & ledger["stage"].isin(STAGES[STAGES.index(stage):])
    ledger = ledger.copy()
    ledger.loc[reopened, ["status", "reason", "detail", "stage"]] = ["kept", "", "", STAGES[0]]
    validate_ledger(ledger)
    return ledger


def apply_rejections(ledger, rejections, *, stage):
    """Return a copy of ``ledger`` with the given kept tracks moved to rejected.

    Parameters
    ----------
    ledger : pandas.DataFrame
    rejections : iterable of Rejected
        Each naming its track (``track_id``).
    stage : str
        Name of the deciding stage: the stage module's ``STAGE``, e.g. ``mels.STAGE``.

    Raises
    ------
    ValueError
        If a rejection names a track that is not in the ledger.
    """
    import pandas as pd

    ledger = ledger.copy()
    index = pd.Index(ledger["track_id"])
    for rej in rejections:
        if rej.track_id not in index:
            raise ValueError(f"{stage}: cannot reject unknown track {rej.track_id!r}")
        row = index.get_loc(rej.track_id)
        if ledger.iat[row, ledger.columns.get_loc("status")] == "rejected":
            continue  # an earlier stage already rejected it; its reason stands
        ledger.iloc[row, [ledger.columns.get_loc(c) for c in ("status", "reason", "detail", "stage")]] = [
            "rejected", rej.reason, rej.detail, stage,
        ]
    return ledger


#: Columns of :func:`feature_account`.
FEATURE_ACCOUNT_COLUMNS = ("track_id", "features", "status", "reason", "detail")


def feature_account(track_ids, reports):
    """Every kept track's account in a feature stage that removes no track (notebook 08's pretrained features).

    Such a stage leaves the ledger alone: the run's folds stay as notebook
    01 made them, and a track without features is scored with imputed
    values (:mod:`mer_utils.beyond`). This table says, for each track and
    each feature source, whether it got its features or why not.

    Parameters
    ----------
    track_ids : sequence of str
        The run's kept tracks.
    reports : dict
        Feature source name (e.g. ``"musicnn"``) -> :class:`StageReport`
        whose ``rejections`` name tracks of ``track_ids``; ``None`` reports are left out.

    Returns
    -------
    pandas.DataFrame
        :data:`FEATURE_ACCOUNT_COLUMNS`; ``status`` is ``"computed"`` or
        ``"missing"`` (with a reason of :data:`REASONS` and its detail).

    Raises
    ------
    ValueError
        If a rejection names a track outside ``track_ids`` or an unknown reason.
    """
    import pandas as pd

    ids, rows = list(track_ids), []
    for source, report in reports.items():
        if report is None:
            continue
        missing = {r.track_id: r for r in report.rejections}
        strangers = [t for t in missing if t not in set(ids)]
        unknown = sorted({r.reason for r in missing.values()} - set(REASONS))
        if strangers or unknown:
            raise ValueError(f"{source}: rejections of tracks that are not kept ({strangers[:5]}) or with "
                             f"unknown reasons ({unknown})")
        rows += [(t, source, "missing", missing[t].reason, missing[t].detail) if t in missing else
                 (t, source, "computed", "", "") for t in ids]
    return pd.DataFrame(rows, columns=list(FEATURE_ACCOUNT_COLUMNS))


def reason_counts(ledger):
    """Counts of kept tracks by label and rejected tracks by stage and reason.

    Returns
    -------
    pandas.DataFrame
        Columns ``status, stage, reason, label, tracks``; sums to ``len(ledger)``.
    """
    table = ledger.assign(label=ledger["label"].where(ledger["status"] == "kept", ""))
    counts = (
        table.groupby(["status", "stage", "reason", "label"], dropna=False)
        .size().rename("tracks").reset_index()
    )
    return counts.sort_values(["status", "stage", "tracks"], ascending=[True, True, False], ignore_index=True)
