"""The corpus manifest: one row per input track, whatever the corpus looks like on disk.

Adapters turn each supported corpus into the same table,
:data:`mer_utils.accounting.MANIFEST_COLUMNS`:

=============  =================================================================
track_id       the corpus's own id (string)
source         which adapter built the row: ``demo``, ``mirex``, ``csv``, ``folder``
audio_path     absolute path, ``""`` when the corpus has no audio for the track
lyrics_path    absolute path, ``""`` when there is none (or lyrics are inline)
lyrics_text    inline lyrics, ``""`` unless the corpus gives them in its table
language       ``"ko"``, ``"en"``, ``""`` (unknown) or another lower-case code, which
               the lyrics stage rejects as ``unsupported_language``
tags           editor / mood tags joined with ``"|"``
artist, title  where the corpus knows them, else ``""``
split          the corpus's own part of the track (``train``, ``val``, ``test`` or
               a fold number) where it gives one, else ``""``; used when
               ``split_scheme`` is ``given`` (:func:`mer_utils.splits.validate_given_parts`)
=============  =================================================================

A corpus may give only audio or only lyrics: which of them a run uses is
decided from the manifest by :func:`mer_utils.modality.resolve`.

Adapters never drop a track: a row whose file is absent keeps an empty path
and is rejected with a reason by :mod:`mer_utils.filtering`. Problems with
the corpus itself (no such file, missing column, empty folder) raise
``ValueError`` naming the file and the cause.

Supported corpora (:func:`build_manifest`):

- ``csv``: a user's table, see :func:`from_csv`.
- ``folder``: audio files and / or ``lyrics/<stem>.txt``, with ``tags.csv``, see :func:`from_folder`.
- ``mirex``: the MIREX-like multimodal dataset of Panda et al. (2013) as its
  authors distribute it, see :func:`from_mirex`.
- ``demo``: the generated teaching corpus (:mod:`mer_utils.demo`).
"""

import csv
import io
import logging
import re
import unicodedata
from pathlib import Path

import pandas as pd

from . import paths
from .accounting import MANIFEST_COLUMNS
from .config import DEMO_N_TRACKS, SEED
from .pos import resolve_language
from .textio import read_text

CORPORA = ("demo", "mirex", "csv", "folder")
#: Tags are stored joined with this separator.
TAG_SEPARATOR = "|"
#: Extensions the folder adapter treats as audio (anything libsndfile reads).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
#: Audio formats libsndfile does not read: the folder adapter still makes them tracks, so that
#: filtering rejects each as ``unreadable_audio`` by name (convert them first) instead of missing.
UNREADABLE_AUDIO_EXTENSIONS = (".m4a", ".aac", ".mp4", ".wma", ".alac", ".ape", ".wv", ".webm", ".mka", ".amr")

logger = logging.getLogger(__name__)


# --- the manifest table -------------------------------------------------------------

def validate_manifest(manifest):
    """Raise ``ValueError`` unless ``manifest`` is a well-formed corpus manifest.

    Checks the columns, that every cell is a string, that every track has an
    id, that paths are absolute (or empty) and that languages are written as
    codes (:func:`mer_utils.pos.resolve_language`). Duplicate ids and
    languages without a tagger are allowed: stages 01 and 03 reject them with a reason.

    Parameters
    ----------
    manifest : pandas.DataFrame
        One row per track with :data:`~mer_utils.accounting.MANIFEST_COLUMNS`.
    """
    if not isinstance(manifest, pd.DataFrame):
        raise ValueError(f"manifest must be a pandas DataFrame, got {type(manifest).__name__}")
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise ValueError(f"manifest lacks columns {missing} (expected {list(MANIFEST_COLUMNS)})")
    for column in MANIFEST_COLUMNS:
        not_str = ~manifest[column].map(lambda v: isinstance(v, str))
        if not_str.any():
            first = manifest.index[not_str][0]
            raise ValueError(
                f"manifest column {column!r} must hold strings ('' when unknown); "
                f"row {first} holds {manifest.at[first, column]!r}"
            )
    no_id = manifest["track_id"].str.strip() == ""
    if no_id.any():
        raise ValueError(f"manifest rows without a track_id: {manifest.index[no_id].tolist()[:10]}")
    for column in ("audio_path", "lyrics_path"):
        relative = manifest[column].map(lambda p: p != "" and not Path(p).is_absolute())
        if relative.any():
            first = manifest.index[relative][0]
            raise ValueError(
                f"manifest column {column!r} must hold absolute paths or ''; "
                f"track {manifest.at[first, 'track_id']!r} has {manifest.at[first, column]!r}"
            )
    not_code = manifest["language"].map(lambda v: resolve_language(v) != v)
    if not_code.any():
        first = manifest.index[not_code][0]
        value = manifest.at[first, "language"]
        raise ValueError(
            f"manifest language must be a lower-case code such as 'ko', 'en' or '' (unknown); "
            f"track {manifest.at[first, 'track_id']!r} has {value!r} (use {resolve_language(value)!r})"
        )


def _manifest(rows, *, source):
    """A validated manifest from dicts holding some of the manifest columns ('' for the rest)."""
    table = pd.DataFrame(list(rows), columns=list(MANIFEST_COLUMNS), dtype=object).fillna("")
    table["source"] = source
    validate_manifest(table)
    return table


def split_tags(tags):
    """Tags of one cell as a list: separated by ``|`` (else ``;`` or ``,``), stripped, empties dropped.

    >>> split_tags("happy| K-pop ")
    ['happy', 'K-pop']
    >>> split_tags("sad; rainy day")
    ['sad', 'rainy day']
    """
    separators = r"\|" if TAG_SEPARATOR in tags else r"[;,]"
    return [tag.strip() for tag in re.split(separators, tags) if tag.strip()]


def join_tags(tags):
    """The manifest's form of a tag list: ``"happy|k-pop"``."""
    return TAG_SEPARATOR.join(tags)


# --- user tables: csv and folder --------------------------------------------------------

def read_table(path, *, what):
    """Read a small CSV of unknown encoding and delimiter (``,``, ``;`` or tab) as strings.

    Column names are stripped and lower-cased (an empty one is named
    ``unnamed: <n>``); cells are stripped; blank lines (also lines of bare
    delimiters, as spreadsheets export empty rows) are skipped and a short
    row is padded with empty cells. A row with more fields than the header
    raises: read leniently (as pandas does), a trailing delimiter on the first
    row turns the first column into the index and shifts every other one.

    Returns
    -------
    pandas.DataFrame
        One row per record, indexed by the file's line (1-based) where the record starts.

    Raises
    ------
    ValueError
        Naming the file (and the line) when it is missing, empty, undecodable,
        not a CSV table, has a column twice or a row longer than its header.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder, not a CSV file")
    if not path.is_file():
        raise ValueError(f"{what} {path} does not exist")
    text = read_text(path)  # TextDecodeError (a ValueError) names the file
    if not text.strip():
        raise ValueError(f"{what} {path} is empty")
    header = text.lstrip("\r\n").splitlines()[0]
    try:
        delimiter = csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    (_, names), *body = _records(text, delimiter=delimiter, path=path, what=what)
    columns = _column_names(names, path)
    for line, cells in body:
        if len(cells) > len(columns):
            raise ValueError(
                f"{what} {path}: line {line} has {len(cells)} fields but the header has {len(columns)} "
                f"(a trailing {delimiter!r}, or a {delimiter!r} inside a cell that should be quoted?)"
            )
    cells = [cells + [""] * (len(columns) - len(cells)) for _, cells in body]
    return pd.DataFrame(cells, columns=columns, index=[line for line, _ in body], dtype=str)


def _records(text, *, delimiter, path, what):
    """``(first line, stripped cells)`` of every record of a CSV text with a non-blank cell (lines are 1-based)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records, start = [], 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):  # blank: [], ['  '] or only delimiters (spreadsheets write ',,,')
                records.append((start, [cell.strip() for cell in cells]))
            start = reader.line_num + 1
    except csv.Error as err:
        raise ValueError(f"{what} {path} is not a readable CSV table: line {start}: {err}") from None
    return records


def _column_names(names, path):
    """Stripped, lower-cased header names; raise ``ValueError`` on a name given twice."""
    columns = [name.lower() or f"unnamed: {i + 1}" for i, name in enumerate(names)]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise ValueError(f"{path}: column {twice[0]!r} appears twice in the header (names ignore case)")
    return columns


def _require_columns(table, path, *, required, any_of=()):
    """Raise ``ValueError`` naming the file and the columns it lacks."""
    missing = [c for c in required if c not in table.columns]
    if any_of and not any(c in table.columns for c in any_of):
        missing.append(" or ".join(any_of))
    if missing:
        raise ValueError(
            f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)} "
            f"(found: {', '.join(table.columns) or 'none'})"
        )


def _nfc(text):
    """``text`` in Unicode NFC: macOS writes file names in NFD, tables are typed in NFC."""
    return unicodedata.normalize("NFC", text)


def _on_disk(path):
    """``path`` with each name in the Unicode form (as given, NFC or NFD) it has on disk; as given if absent."""
    if path.exists():
        return path
    found = Path(path.anchor)
    for name in path.parts[1:]:
        forms = (name, _nfc(name), unicodedata.normalize("NFD", name))
        found = next((found / form for form in forms if (found / form).exists()), None)
        if found is None:
            return path
    return found


def _resolve(path_cell, base):
    """An absolute path for a cell relative to ``base``, as the file is named on disk; ``''`` stays ``''``."""
    return str(_on_disk((base / path_cell).resolve())) if path_cell else ""


def _rows_without_ids(table, path):
    """Raise ``ValueError`` naming the lines of a :func:`read_table` table whose track_id is empty."""
    empty = table.index[table["track_id"] == ""]
    if len(empty):
        raise ValueError(f"{path}: rows without a track_id on lines {[int(line) for line in empty[:10]]}")


def from_csv(path):
    """Manifest from a user's CSV table.

    Columns (header names, case-insensitive, comma / semicolon / tab separated):
    ``track_id``, ``tags``, ``audio_path`` and / or ``lyrics_path`` or
    ``lyrics`` (the text itself): an audio-only corpus has no lyrics column,
    a lyrics-only one no ``audio_path``. Optionally ``language``
    (``ko``/``en``, or a name such as ``Korean``; a language without a POS
    tagger is rejected by the lyrics stage, not here), ``artist``, ``title`` and ``split`` (the corpus's own
    part of the track: ``train``, ``val``, ``test`` or a fold number). Paths
    are relative to the CSV's folder (absolute paths work too); tags are
    separated by ``|`` (or ``;`` / ``,``). An empty cell means unknown or
    missing. Any encoding :func:`~mer_utils.textio.read_text` reads.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    pandas.DataFrame
        The manifest, one row per CSV row, ``source = "csv"``.

    Raises
    ------
    ValueError
        If the file is missing, empty, undecodable, lacks a required column,
        has a row without a track id; the message names the file.
    """
    path = Path(path).resolve()
    table = read_table(path, what="corpus CSV")
    _require_columns(table, path, required=("track_id", "tags"), any_of=("audio_path", "lyrics_path", "lyrics"))
    if table.empty:
        raise ValueError(f"corpus CSV {path} has a header but no tracks")
    _rows_without_ids(table, path)
    base = path.parent
    rows = []
    for record in table.to_dict("records"):
        lyrics_path = record.get("lyrics_path", "")
        rows.append({
            "track_id": _nfc(record["track_id"]),
            "audio_path": _resolve(record.get("audio_path", ""), base),
            "lyrics_path": _resolve(lyrics_path, base),
            "lyrics_text": "" if lyrics_path else record.get("lyrics", ""),
            "language": resolve_language(record.get("language", "")),
            "tags": join_tags(split_tags(record["tags"])),
            "artist": record.get("artist", ""),
            "title": record.get("title", ""),
            "split": record.get("split", ""),
        })
    return _manifest(rows, source="csv")


def from_folder(folder):
    """Manifest from a folder of audio files and / or ``lyrics/<stem>.txt``, with a ``tags.csv``.

    Layout::

        folder/<id>.<ext>  or  folder/audio/<id>.<ext>   audio (wav, flac, ogg, opus, mp3, aiff)
        folder/lyrics/<id>.txt                            lyrics, any supported encoding
        folder/tags.csv                                   track_id, tags[, language, artist, title, split]

    A corpus may give audio only or lyrics only. The track id is the file's
    stem. Ids and file names match in either Unicode form (NFC or NFD, as
    macOS names files) and whatever the case of the extension; an id in
    ``tags.csv`` may carry its audio file's extension (``t1.wav``). Every id
    of ``tags.csv``, of an audio file or of a lyrics file becomes a row: a
    tagged id without audio gets an empty ``audio_path``, a file without a
    ``tags.csv`` row empty tags, so filtering rejects them with a reason. An
    audio file of a format libsndfile does not read
    (:data:`UNREADABLE_AUDIO_EXTENSIONS`, e.g. M4A) is the track's audio only
    when no readable file has its stem; filtering rejects it as
    ``unreadable_audio``, naming it. Two audio files with the same stem, or
    two ``tags.csv`` rows with the same id, make two rows with the same id
    (the later is rejected as ``duplicate_id``). Other files are left out,
    with a logged warning naming them.

    Raises
    ------
    ValueError
        If the folder does not exist, holds neither audio nor lyrics files,
        or has no usable ``tags.csv``.
    """
    folder = Path(folder).resolve()
    if folder.is_file():
        raise ValueError(f"corpus folder {folder} is a file, not a folder (corpus=csv reads a CSV table)")
    if not folder.is_dir():
        raise ValueError(f"corpus folder {folder} does not exist")
    audio_folders = (folder, folder / "audio")
    # readable formats first, so that a stem's first file (its audio) is one that can be decoded
    audio_files = _files_in(audio_folders, AUDIO_EXTENSIONS) + _files_in(audio_folders, UNREADABLE_AUDIO_EXTENSIONS)
    lyrics_files = _first_by_stem(_files_in((folder / "lyrics",), (".txt",)))
    if not audio_files and not lyrics_files:
        raise ValueError(
            f"corpus folder {folder} holds no audio files "
            f"(looked for {', '.join(AUDIO_EXTENSIONS)} in it and in its audio/ subfolder) and no lyrics/<id>.txt"
        )
    tags_path = folder / "tags.csv"
    if not tags_path.is_file():
        raise ValueError(f"corpus folder {folder} has no tags.csv (columns track_id, tags) to label its tracks")
    tags = read_table(tags_path, what="tags file")
    _require_columns(tags, tags_path, required=("track_id", "tags"))
    _rows_without_ids(tags, tags_path)
    _warn_left_out(folder, (*audio_folders, folder / "lyrics"),
                   used={tags_path, *audio_files, *lyrics_files.values()})
    records = {}  # every row of an id, in file order: filtering rejects a repeated id as duplicate_id
    for record in tags.to_dict("records"):
        records.setdefault(_tags_id(record["track_id"]), []).append(record)

    def row(track_id, audio_path, record):
        return {
            "track_id": track_id,
            "audio_path": str(audio_path),
            "lyrics_path": str(lyrics_files.get(track_id, "")),
            "language": resolve_language(record.get("language", "")),
            "tags": join_tags(split_tags(record.get("tags", ""))),
            "artist": record.get("artist", ""),
            "title": record.get("title", ""),
            "split": record.get("split", ""),
        }

    rows = [row(_nfc(f.stem), f, records.get(_nfc(f.stem), [{}])[0]) for f in audio_files]
    first_audio = _first_by_stem(audio_files)
    for track_id, its_records in records.items():
        audio = first_audio.get(track_id, "")
        rows += [row(track_id, audio, record) for record in (its_records[1:] if audio else its_records)]
    known = first_audio.keys() | records.keys()
    rows += [row(track_id, "", {}) for track_id in lyrics_files if track_id not in known]
    return _manifest(rows, source="folder")


def _files_in(folders, suffixes):
    """The files of ``folders`` (those that exist) whose extension, in any case, is one of ``suffixes``; sorted."""
    return sorted(f for d in folders if d.is_dir() for f in d.iterdir() if f.is_file() and f.suffix.lower() in suffixes)


def _warn_left_out(folder, folders, *, used):
    """Log the files of ``folders`` not in ``used`` (hidden ones aside): a misnamed track must not vanish unseen."""
    left = sorted(str(f.relative_to(folder)) for d in folders if d.is_dir() for f in d.iterdir()
                  if f.is_file() and f not in used and not f.name.startswith("."))
    if left:
        logger.warning("corpus folder %s: left out %d file(s) that are neither audio (%s) nor lyrics/<id>.txt "
                       "(or repeat a lyrics file's id): %s", folder, len(left), ", ".join(AUDIO_EXTENSIONS),
                       ", ".join(left[:10]) + (", ..." if len(left) > 10 else ""))


def _first_by_stem(files):
    """``{NFC stem: the first file with it}``: a file name matches its id in either Unicode form."""
    first = {}
    for f in files:
        first.setdefault(_nfc(f.stem), f)
    return first


def _tags_id(cell):
    """A ``tags.csv`` id as a track id: NFC, without an audio file's extension (``t1.wav`` names track ``t1``)."""
    cell = _nfc(cell)
    suffix = Path(cell).suffix
    audio = suffix.lower() in AUDIO_EXTENSIONS + UNREADABLE_AUDIO_EXTENSIONS
    return cell[:-len(suffix)] if audio and len(cell) > len(suffix) else cell


# --- the MIREX-like multimodal dataset -----------------------------------------------------

def _mirex_root(dataset_dir):
    """The folder holding categories.txt: ``dataset_dir`` itself or its ``dataset/``."""
    root = paths.mirex_root(dataset_dir)
    if root is not None:
        return root
    raise ValueError(
        f"{Path(dataset_dir).resolve()} is not the MIREX-like multimodal dataset: no categories.txt in it "
        f"or in its dataset/ subfolder"
    )


def _numbered_lines(path):
    """Lines of a one-entry-per-song file; a final empty line (trailing newline) is not a song."""
    lines = read_text(path).split("\n")
    if lines and lines[-1].strip() == "":
        lines.pop()
    return [line.strip() for line in lines]


def read_mirex_info(path):
    """Artist and title per song id from the dataset's ``dataset info.csv``.

    The file is UTF-16 with a BOM, ``;``-separated, CRLF, every line ending
    in ``;``, with a ``Filename`` column (``NNN.mp3``) naming the song. Fields
    are not quoted, so a title containing ``;`` spills over: extra fields
    on a line are joined back into the title (the first column).

    Returns
    -------
    dict
        ``{track_id: {"artist": ..., "title": ...}}``, ids as in the file names.
    """
    lines = [line for line in read_text(path).split("\n") if line.strip()]
    if not lines:
        raise ValueError(f"{path} is empty")

    def fields(line):
        parts = line.split(";")
        return parts[:-1] if parts[-1].strip() == "" else parts

    header = [name.strip().lower() for name in fields(lines[0])]
    missing = [c for c in ("title", "artist", "filename") if c not in header]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing} (found: {header})")
    info = {}
    for line in lines[1:]:
        parts = fields(line)
        extra = len(parts) - len(header)
        if extra > 0:
            parts = [";".join(parts[:extra + 1])] + parts[extra + 1:]
        record = dict(zip(header, (p.strip() for p in parts)))
        track_id = Path(record.get("filename", "")).stem
        if track_id:
            info[track_id] = {"artist": record.get("artist", ""), "title": record.get("title", "")}
    return info


def from_mirex(dataset_dir=paths.MIREX_DIR):
    """Manifest of the MIREX-like multimodal dataset, read as its authors distribute it.

    Song ``i`` (1-based) is line ``i`` of ``categories.txt`` (its AllMusic
    mood tag) and of ``clusters.txt`` (its MIREX mood cluster); its id is
    ``i`` zero-padded to three digits (``"001"``), the stem of
    ``Audio/NNN.mp3`` and ``Lyrics/NNN.txt``. Artist and title come from
    ``dataset info.csv`` when present.

    Tags: the mood tag, then the cluster (``"Cheerful|Cluster 2"``). A
    polarity dictionary over mood tags ignores the cluster tag; one over
    ``"Cluster 2"`` / ``"Cluster 3"`` labels by cluster instead. Language is
    ``"en"`` (the lyrics are English). A song whose audio or lyrics file is
    absent keeps an empty path, so filtering rejects it as missing.

    Parameters
    ----------
    dataset_dir : str or Path
        The dataset folder or the folder holding its ``dataset/``
        (default: :data:`mer_utils.paths.MIREX_DIR`).

    Returns
    -------
    pandas.DataFrame
        One row per line of ``categories.txt`` (903 for the full dataset).
    """
    root = _mirex_root(dataset_dir)
    categories = _numbered_lines(root / "categories.txt")
    if not categories:
        raise ValueError(f"{root / 'categories.txt'} lists no songs")
    clusters_path = root / "clusters.txt"
    if not clusters_path.is_file():
        raise ValueError(f"{root}: clusters.txt is missing")
    clusters = _numbered_lines(clusters_path)
    if len(clusters) != len(categories):
        raise ValueError(
            f"{root}: categories.txt has {len(categories)} songs but clusters.txt has {len(clusters)}; "
            f"line i of each must describe song i"
        )
    info_path = root / "dataset info.csv"
    info = read_mirex_info(info_path) if info_path.is_file() else {}
    width = max(3, len(str(len(categories))))
    rows = []
    for number, (category, cluster) in enumerate(zip(categories, clusters), start=1):
        track_id = f"{number:0{width}d}"
        audio, lyrics = root / "Audio" / f"{track_id}.mp3", root / "Lyrics" / f"{track_id}.txt"
        rows.append({
            "track_id": track_id,
            "audio_path": str(audio) if audio.is_file() else "",
            "lyrics_path": str(lyrics) if lyrics.is_file() else "",
            "language": "en",
            "tags": join_tags(t for t in (category, cluster) if t),
            **info.get(track_id, {}),
        })
    return _manifest(rows, source="mirex")


# --- the demo corpus and dispatch ------------------------------------------------------------

def from_demo(*, n_tracks=DEMO_N_TRACKS, seed=SEED):
    """Manifest of the generated teaching corpus (generated once, then read from its cache folder)."""
    from .demo import corpus as demo_corpus  # imported here: generating needs the synthesis code, reading does not

    out_dir = demo_corpus.demo_corpus_dir(n_tracks=n_tracks, seed=seed)
    metadata = demo_corpus.generate_demo_corpus(out_dir, n_tracks=n_tracks, seed=seed)
    manifest = from_csv(metadata)
    manifest["source"] = "demo"
    return manifest


def build_manifest(corpus, *, corpus_path="", demo_n_tracks=DEMO_N_TRACKS, seed=SEED):
    """Manifest of the named corpus.

    Parameters
    ----------
    corpus : {"demo", "mirex", "csv", "folder"}
    corpus_path : str or Path
        The CSV file (``csv``), the folder (``folder``), or the dataset folder
        (``mirex``; default :data:`mer_utils.paths.MIREX_DIR`). Unused for ``demo``.
    demo_n_tracks : int
        Size of the demo corpus.
    seed : int
        Seed of the demo corpus.

    Returns
    -------
    pandas.DataFrame
        A manifest that passes :func:`validate_manifest`.
    """
    if corpus not in CORPORA:
        raise ValueError(f"unknown corpus {corpus!r}; choose one of {', '.join(CORPORA)}")
    if corpus == "demo":
        return from_demo(n_tracks=demo_n_tracks, seed=seed)
    if corpus == "mirex":
        return from_mirex(corpus_path or paths.MIREX_DIR)
    if not corpus_path:
        what = "the CSV file" if corpus == "csv" else "the folder"
        raise ValueError(f"corpus {corpus!r} needs corpus_path ({what} describing your tracks)")
    return from_csv(corpus_path) if corpus == "csv" else from_folder(corpus_path)
