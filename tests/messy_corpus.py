"""Small corpora on disk with every kind of bad input, for the data-stage tests.

Audio is written at 1 kHz so that a 61 s clip is a 120 kB WAV: durations are
what the filters look at, not the sound. :func:`make_shape_corpus` writes the
corpus shapes of issue 12 (audio only, lyrics only, given splits, N classes),
whose audio and lyrics do tell the class.
"""

import codecs
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

SR = 1000
ENGLISH_WORDS = "sunshine dancing together tonight smiling forever shining summer".split()
KOREAN_LINE = "오늘 밤 너와 함께 행복한 노래를 불러"


def write_sound(path, data, sample_rate, **kwargs):
    """``soundfile.write`` in a thread of its own.

    libvorbis's OGG encoder needs more stack than the main thread has left
    once a JVM runs in the process (konlpy, started by an earlier test): on
    the main thread it overflows into the JVM's guard pages and the process dies.
    """
    failures = []

    def write():
        try:
            sf.write(path, data, sample_rate, **kwargs)
        except Exception as error:  # re-raised in the caller
            failures.append(error)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def write_audio(path, seconds, *, sample_rate=SR, channels=1):
    """A quiet sine of ``seconds``; format from the extension (wav, flac, ogg)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = 0.1 * np.sin(2 * np.pi * 110 * t)
    write_sound(path, np.tile(wave[:, None], (1, channels)) if channels > 1 else wave, sample_rate)
    return path


def ledger_of(rows):
    """A valid ledger from partial rows (``track_id`` and whatever else): kept, positive, stage 01 by default."""
    from mer_utils.accounting import LEDGER_COLUMNS, validate_ledger

    defaults = {column: "" for column in LEDGER_COLUMNS} | {"label": "positive", "status": "kept", "stage": "01_data"}
    ledger = pd.DataFrame([{**defaults, **row} for row in rows], columns=list(LEDGER_COLUMNS))
    validate_ledger(ledger)
    return ledger


def english_lyrics(n_words):
    """``n_words`` letter words in lines of eight."""
    words = [ENGLISH_WORDS[i % len(ENGLISH_WORDS)] for i in range(n_words)]
    return "\n".join(" ".join(words[i:i + 8]) for i in range(0, n_words, 8))


def korean_lyrics(n_lines=8):
    """Korean lines of seven words each."""
    return "\n".join([KOREAN_LINE] * n_lines)


def write_bytes(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_corrupt_mp3(path):
    """Random bytes named ``.mp3``: libsndfile's MP3 decoder finds no frame, and libmpg123 complains on stderr."""
    return write_bytes(path, np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())


def undecodable_bytes(seed=0, n=400):
    """Random binary with NUL bytes: no text encoding should accept it."""
    data = bytearray(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())
    data[::7] = bytes(len(data[::7]))
    return bytes(data)


#: The messy corpus: track id -> (tags, audio spec, lyrics spec, language, expected reason or "").
#: audio spec: seconds (float), "zero" (0-byte file), "text" (text renamed .wav), "absent" (path to a
#: missing file), "" (empty cell). lyrics spec: (encoding, text), "binary", "nul_padded", "absent", "",
#: "empty", or ("inline", text).
MESSY = {
    "ok_en": ("happy|dance", 61.0, ("utf-8", english_lyrics(40)), "en", ""),
    "ok_ko_cp949": ("sad|ballad", 65.0, ("cp949", korean_lyrics()), "ko", ""),
    "ok_utf16_bom": ("Cheerful", 70.0, ("utf-16", english_lyrics(35)), "en", ""),
    "ok_utf16le_nobom": ("LONELY", 62.0, ("utf-16-le", korean_lyrics()), "ko", ""),
    "ok_utf8_bom_crlf": ("happy", 61.0, ("utf-8-sig", english_lyrics(30).replace("\n", "\r\n")), "en", ""),
    "ok_inline": ("sad", 61.0, ("inline", english_lyrics(31)), "en", ""),
    "ok_cp1252": ("happy", 61.0, ("cp1252", "Café’s déjà vu, naïve\n" + english_lyrics(30)), "en", ""),
    "zero_byte_audio": ("happy", "zero", ("utf-8", english_lyrics(40)), "en", "unreadable_audio"),
    "text_as_wav": ("sad", "text", ("utf-8", english_lyrics(40)), "en", "unreadable_audio"),
    "short_clip": ("happy", 30.0, ("utf-8", english_lyrics(40)), "en", "too_short"),
    "absent_audio": ("sad", "absent", ("utf-8", english_lyrics(40)), "en", "missing_audio"),
    "no_audio_cell": ("happy", "", ("utf-8", english_lyrics(40)), "en", "missing_audio"),
    "binary_lyrics": ("sad", 61.0, "binary", "en", "undecodable_lyrics"),
    "absent_lyrics": ("happy", 61.0, "absent", "en", "missing_lyrics"),
    "no_lyrics_cell": ("sad", 61.0, "", "en", "missing_lyrics"),
    "empty_lyrics_file": ("happy", 61.0, "empty", "en", "missing_lyrics"),
    "few_words": ("sad", 61.0, ("utf-8", english_lyrics(29)), "en", "too_few_words"),
    "markers_only": ("happy", 61.0, ("utf-8", "[Chorus] ... !!! (x2) --\n" * 10), "en", "too_few_words"),
    "empty_tags": ("", 61.0, ("utf-8", english_lyrics(40)), "en", "no_tags"),
    "conflicting": ("happy|sad", 61.0, ("utf-8", english_lyrics(40)), "en", "conflicting_tags"),
    "neutral_only": ("dance|rainy day", 61.0, ("utf-8", english_lyrics(40)), "en", "no_polarity_tag"),
}


def _audio(folder, track_id, spec):
    if spec == "":
        return ""
    if spec in FAULT_AUDIO:
        extension, write = FAULT_AUDIO[spec]
        path = folder / "audio" / f"{track_id}.{extension}"
        write(path)
        return f"audio/{path.name}"
    path = folder / "audio" / f"{track_id}.wav"
    if spec == "zero":
        write_bytes(path, b"")
    elif spec == "text":
        write_bytes(path, b"these are not the samples you are looking for\n" * 20)
    elif spec != "absent":
        write_audio(path, spec)
    return f"audio/{track_id}.wav"


def _lyrics(folder, track_id, spec):
    """(lyrics_path cell, inline lyrics cell)."""
    path = folder / "lyrics" / f"{track_id}.txt"
    if spec == "":
        return "", ""
    if isinstance(spec, tuple) and spec[0] == "inline":
        return "", spec[1]
    if spec == "binary":
        write_bytes(path, undecodable_bytes())
    elif spec == "nul_padded":  # a torn write: the text, then the zeros of a preallocated file
        write_bytes(path, english_lyrics(40).encode() + bytes(400))
    elif spec == "empty":
        write_bytes(path, b"")
    elif spec != "absent":
        encoding, text = spec
        write_bytes(path, text.encode(encoding))
    return f"lyrics/{track_id}.txt", ""


def make_messy_csv_corpus(folder, *, duplicate=True):
    """Write the :data:`MESSY` corpus as a user CSV; return (csv path, {track_id: expected reason}).

    With ``duplicate``, a last row repeats the id ``ok_en`` (expected: ``duplicate_id``).
    """
    return _write_csv_corpus(folder, MESSY, duplicate=duplicate)


def _write_csv_corpus(folder, specs, *, duplicate):
    """Write the files and the CSV of ``specs`` (id -> :data:`MESSY`-like tuple); return (csv path, {id: reason})."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for track_id, (tags, audio, lyrics, language, _) in specs.items():
        lyrics_path, inline = _lyrics(folder, track_id, lyrics)
        rows.append({"track_id": track_id, "audio_path": _audio(folder, track_id, audio),
                     "lyrics_path": lyrics_path, "lyrics": inline, "tags": tags, "language": language,
                     "artist": f"artist of {track_id}", "title": f"title of {track_id}"})
    if duplicate:
        rows.append({**rows[0], "title": "a second song with the same id"})
    csv_path = folder / "metadata.csv"
    pd.DataFrame(rows).to_csv(csv_path, index=False)
    return csv_path, {track_id: spec[-1] for track_id, spec in specs.items()}


def make_mirex_like(folder, *, songs):
    """A miniature of the MIREX-like dataset as distributed.

    Parameters
    ----------
    songs : list of (category, cluster, has_audio, has_lyrics, title, artist)
        Song ``i`` (1-based) becomes line ``i`` of categories.txt / clusters.txt.
    """
    root = Path(folder) / "dataset"
    (root / "Audio").mkdir(parents=True)
    (root / "Lyrics").mkdir()
    (root / "categories.txt").write_text("".join(f"{s[0]}\n" for s in songs), encoding="ascii")
    (root / "clusters.txt").write_text("".join(f"{s[1]}\n" for s in songs), encoding="ascii")
    lines = ["Title;Artist;Album;Track;Year;Length;Size;Last Modified;Filename;"]
    for i, (_, _, has_audio, has_lyrics, title, artist) in enumerate(songs, start=1):
        track_id = f"{i:03d}"
        if has_audio:
            write_audio(root / "Audio" / f"{track_id}.mp3", 30.0, sample_rate=8000)  # a real (small) MP3
        if has_lyrics:
            text = english_lyrics(40).replace("\n", "\r", 2).replace("\n", "\r\n", 1)  # mixed endings
            (root / "Lyrics" / f"{track_id}.txt").write_bytes(f"[Chorus]\n{text}\n".encode())
        lines.append(f"{title};{artist};Some Album [1];{i};1999;30;352,00 KB;09-09-2010;{track_id}.mp3;")
    (root / "dataset info.csv").write_bytes(codecs.BOM_UTF16_LE + "\r\n".join(lines + [""]).encode("utf-16-le"))
    return root


#: Words of each class in :func:`make_shape_corpus` (class ``k`` uses list ``k % 5``), and words every class uses.
CLASS_WORDS = (
    ("sunshine", "dancing", "smiling", "summer"), ("tears", "lonely", "rain", "goodbye"),
    ("fire", "storm", "fighting", "thunder"), ("calm", "dreaming", "river", "sleeping"),
    ("joke", "silly", "giggling", "circus"),
)
COMMON_WORDS = ("together", "tonight", "forever", "heart", "walking", "city")
#: The tag of each class in :func:`make_shape_corpus`: the paper's dictionaries know these two; any other class is its own tag.
SHAPE_TAGS = {"positive": "happy", "negative": "sad"}


def shape_lyrics(class_index, n_words, rng):
    """English lyrics whose words tell the class: half from the class's list, half common."""
    pool = CLASS_WORDS[class_index % len(CLASS_WORDS)]
    words = [pool[i % len(pool)] if i % 2 == 0 else COMMON_WORDS[rng.integers(len(COMMON_WORDS))] for i in range(n_words)]
    return "\n".join(" ".join(words[i:i + 8]) for i in range(0, n_words, 8))


def shape_audio(path, class_index, seconds, *, sample_rate, rng):
    """A clip whose pitch tells the class (220 Hz times 1.5 per class step) under a little noise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * 1.5 ** class_index * t) + 0.01 * rng.standard_normal(len(t))
    write_sound(path, wave.astype(np.float32), sample_rate)
    return path


def given_part(position, n_per_class, split, n_folds):
    """The ``split`` cell of the ``position``-th track of a class: train / val / test, or a fold number."""
    if split == "parts":
        return "val" if position == n_per_class - 2 else "test" if position == n_per_class - 1 else "train"
    return str(position % n_folds + 1)


def make_shape_corpus(folder, *, classes=("negative", "positive"), n_per_class=6, audio=True, lyrics=True,
                      split=None, n_folds=3, seconds=3.0, sample_rate=8000, n_words=40, seed=0):
    """A small CSV corpus of one shape (issue 12): both modalities, audio only, lyrics only, given splits, N classes.

    Each class's tracks carry its tag (:data:`SHAPE_TAGS`, else the class name), audio whose pitch and
    lyrics whose words tell the class, so models can learn them. Columns absent from a shape are absent
    from the CSV: an audio-only corpus has no lyrics column, a lyrics-only one no ``audio_path``.

    Parameters
    ----------
    classes : sequence of str
    n_per_class : int or sequence of int
        Tracks of each class (a sequence: one count per class).
    split : {None, "parts", "folds"}
        No ``split`` column; train / val / test (the last two tracks of each class are val and test);
        or fold numbers ``1..n_folds`` in turn.

    Returns
    -------
    Path
        The CSV file (``metadata.csv`` in ``folder``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = [n_per_class] * len(classes) if isinstance(n_per_class, int) else list(n_per_class)
    rows = []
    for k, (name, count) in enumerate(zip(classes, counts)):
        for position in range(count):
            track_id = f"{name}-{position:02d}"
            row = {"track_id": track_id, "tags": SHAPE_TAGS.get(name, name), "language": "en",
                   "artist": f"artist {position % 3}", "title": f"song {track_id}"}
            if audio:
                shape_audio(folder / "audio" / f"{track_id}.wav", k, seconds, sample_rate=sample_rate, rng=rng)
                row["audio_path"] = f"audio/{track_id}.wav"
            if lyrics:
                write_bytes(folder / "lyrics" / f"{track_id}.txt", shape_lyrics(k, n_words, rng).encode())
                row["lyrics_path"] = f"lyrics/{track_id}.txt"
            if split:
                row["split"] = given_part(position, count, split, n_folds)
            rows.append(row)
    csv_path = folder / "metadata.csv"
    pd.DataFrame(rows).to_csv(csv_path, index=False)
    return csv_path


def write_truncated_flac(path):
    """A FLAC whose header promises 61 s of noise but whose stream stops half-way."""
    whole = write_samples(path, 0.1 * np.random.default_rng(1).standard_normal(61 * SR)).read_bytes()
    return write_bytes(path, whole[: len(whole) // 50])


def write_truncated_wav(path):
    """A 61 s WAV cut to its first third: libsndfile reads the 20 s that are there."""
    whole = write_audio(path, 61.0).read_bytes()
    return write_bytes(path, whole[: len(whole) // 3])


def write_samples(path, samples, **kwargs):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_sound(path, samples, SR, **kwargs)
    return path


#: Audio specs of the fault corpus beyond :data:`MESSY`'s: name -> (file extension, writer of the path).
FAULT_AUDIO = {
    "corrupt_mp3": ("mp3", write_corrupt_mp3),
    "folder": ("wav", lambda path: path.mkdir(parents=True)),
    "truncated_flac": ("flac", write_truncated_flac),
    "truncated_wav": ("wav", write_truncated_wav),
    "silent": ("wav", lambda path: write_samples(path, np.zeros(61 * SR, np.float32))),
    "nan": ("wav", lambda path: write_samples(path, np.full(61 * SR, np.nan, np.float32), subtype="FLOAT")),
    "stereo_flac": ("flac", lambda path: write_audio(path, 61.0, sample_rate=8000, channels=2)),
    "ogg": ("ogg", lambda path: write_audio(path, 61.0, sample_rate=8000)),
    "mp3": ("mp3", lambda path: write_audio(path, 61.0, sample_rate=8000)),
}
_EN = ("utf-8", english_lyrics(40))
#: Rows the fault corpus adds to :data:`MESSY` (same fields), decided by stages 01, 02 and 03.
FAULTS = {
    "corrupt_mp3": ("happy", "corrupt_mp3", _EN, "en", "unreadable_audio"),
    "audio_is_folder": ("sad", "folder", _EN, "en", "missing_audio"),
    "truncated_flac": ("happy", "truncated_flac", _EN, "en", "unreadable_audio"),
    "truncated_wav": ("sad", "truncated_wav", _EN, "en", "too_short"),
    "silent_clip": ("sad", "silent", _EN, "en", "silent_audio"),
    "nan_samples": ("happy", "nan", _EN, "en", "extraction_failed"),
    "ok_stereo_flac_8k": ("sad", "stereo_flac", _EN, "en", ""),
    "ok_ogg": ("happy", "ogg", _EN, "en", ""),
    "ok_mp3": ("sad", "mp3", _EN, "en", ""),
    "nul_padded_lyrics": ("happy", 61.0, "nul_padded", "en", "undecodable_lyrics"),
    "ok_latin1": ("sad", 61.0, ("latin-1", "Café déjà vu, naïve señor\n" + english_lyrics(30)), "en", ""),
    "ok_utf32_bom": ("happy", 61.0, ("utf-32", english_lyrics(35)), "en", ""),
    "punctuation_only": ("sad", 61.0, ("utf-8", "!!! ... ??? -- ;;\n" * 12), "en", "too_few_words"),
    "vocables_only": ("happy", 61.0, ("utf-8", "oh oh la la na na\n" * 8), "en", "no_content_words"),
    "huge_lyrics": ("happy", 61.0, ("utf-8", english_lyrics(8000)), "en", "lyrics_too_long"),
    "spanish": ("sad", 61.0, ("utf-8", english_lyrics(40)), "es", "unsupported_language"),
    "ok_language_name": ("happy", 61.0, _EN, "English", ""),
    "None": ("happy", 61.0, _EN, "en", ""),
    "NA": ("sad", 61.0, _EN, "en", ""),
    "nan": ("happy", 61.0, _EN, "en", ""),
    "007": ("sad", 61.0, _EN, "en", ""),
}


def make_fault_corpus(folder):
    """Write :data:`MESSY` and :data:`FAULTS` as one user CSV; return (csv path, {track_id: expected reason}).

    Every kind of bad or odd input the stages promise to handle (issue 13):
    audio, lyrics, tags and ids; ``""`` means kept. The last row repeats the
    id ``ok_en``: its expected reason is under ``"ok_en#2"``.
    """
    csv_path, expected = _write_csv_corpus(folder, {**MESSY, **FAULTS}, duplicate=True)
    return csv_path, expected | {"ok_en#2": "duplicate_id"}
