"""Reading and normalising text: lyrics files and the corpora's own tables.

Lyrics arrive in whatever encoding their source used: UTF-8 with or without a
byte-order mark, UTF-16 (Windows "Unicode" exports), or CP949/EUC-KR (older
Korean files). :func:`read_text` tries them in a fixed order and accepts a
decoding only if the result looks like text, so a binary file is reported as
undecodable instead of becoming a page of mojibake.

:func:`normalize_lyrics` removes what is not sung (section markers such as
``[Chorus]`` or ``(x2)``) and tidies whitespace; it keeps case and
punctuation, which the lyrics stage decides about. :func:`count_words` is the
word count of the paper's "fewer than 30 words" rule.
"""

import codecs
import re
import unicodedata
from pathlib import Path

from .accounting import Rejected

#: Byte-order marks, longest first (the UTF-32-LE mark starts with UTF-16-LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: Largest share of control / unassigned / private-use characters a decoding may
#: contain and still count as text (real text has none; a binary file decoded
#: by accident is full of them).
_MAX_NON_TEXT_SHARE = 0.01
_NON_TEXT_CATEGORIES = frozenset({"Cc", "Cn", "Co", "Cs"})
_TEXT_CONTROLS = frozenset("\t\n\r\f")


class TextDecodeError(ValueError):
    """A file is in no encoding we can read; the message names the file."""


class LyricsDecodeError(TextDecodeError):
    """A lyrics file is in no encoding we can read; the message names the file."""


def _looks_like_text(text):
    """True unless ``text`` holds more than a trace of non-text characters (NUL, controls, unassigned)."""
    if not text:
        return True
    bad = sum(
        1 for ch in text
        if ch not in _TEXT_CONTROLS and unicodedata.category(ch) in _NON_TEXT_CATEGORIES
    )
    return bad <= _MAX_NON_TEXT_SHARE * len(text)


def _utf16_without_bom(data):
    """UTF-16 byte order guessed from NUL positions (ASCII, spaces and newlines have a zero high byte)."""
    zeros_at_odd = data[1::2].count(0)
    zeros_at_even = data[0::2].count(0)
    return "utf-16-le" if zeros_at_odd >= zeros_at_even else "utf-16-be"


def _candidate_encodings(data):
    """Encodings to try, in order: the BOM's if any, else UTF-8, UTF-16, CP949."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return [(encoding, len(bom))]
    candidates = [("utf-8", 0)]
    if b"\x00" in data:  # UTF-8 and CP949 text never contains NUL bytes; BOM-less UTF-16 always does
        candidates.append((_utf16_without_bom(data), 0))
    candidates.append(("cp949", 0))  # a superset of EUC-KR
    return candidates


def normalize_newlines(text):
    """Replace CRLF and lone CR line endings with LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data, *, source="<bytes>"):
    """Decode bytes of unknown encoding: BOM, then UTF-8, UTF-16 (BOM-less), CP949/EUC-KR.

    Parameters
    ----------
    data : bytes
    source : str
        Name of the file the bytes came from, for the error message.

    Returns
    -------
    str
        The text with line endings normalised to LF.

    Raises
    ------
    TextDecodeError
        If no encoding yields text (e.g. binary data).
    """
    tried = []
    for encoding, skip in _candidate_encodings(data):
        tried.append(encoding)
        try:
            text = data[skip:].decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return normalize_newlines(text)
    raise TextDecodeError(
        f"{source}: cannot decode {len(data)} bytes as text "
        f"(tried {', '.join(tried)}; binary data or an unsupported encoding)"
    )


def read_text(path):
    """Read a text file of unknown encoding (see :func:`decode_text`).

    Raises
    ------
    TextDecodeError
        Naming the file, when it cannot be decoded.
    FileNotFoundError
        When the file does not exist.
    """
    path = Path(path)
    return decode_text(path.read_bytes(), source=str(path))


def read_lyrics(path):
    """Read a lyrics file in UTF-8 / UTF-16 / CP949 (BOM or not); return text with LF line endings.

    Raises
    ------
    LyricsDecodeError
        Naming the file, when it is in no encoding we can read.
    FileNotFoundError
        When the file does not exist.
    """
    try:
        return read_text(path)
    except TextDecodeError as err:
        raise LyricsDecodeError(f"lyrics file {err}") from None


# --- normalisation --------------------------------------------------------------

_MARKER_WORDS = (
    r"chorus|pre-?chorus|verse|refrain|bridge|intro|outro|hook|interlude|instrumental|"
    r"solo|spoken|rap|break|coda|후렴|반복|간주|랩|브릿지|벌스|코러스"
)
_NUMBER_WORDS = r"\d+|one|two|three|four|five|six|seven|eight|nine|ten"
_H = r"[^\S\n]"  # horizontal whitespace: patterns must not run across lines
#: Repeat counts: x2, 2x, X 3, sing 3x, 4 times, twice.
_REPEAT = rf"(?:sing{_H}+)?(?:x{_H}*\d+|\d+{_H}*x|\d+{_H}*times|twice)"
#: A section name: "Chorus", "Verse Two", "Repeat Chorus", "VERSE 2".
_SECTION = rf"(?:repeat{_H}+)?(?:{_MARKER_WORDS})(?:{_H}+(?:{_NUMBER_WORDS}))?"
#: Square-bracketed annotations are never sung: [Chorus], [Verse 2: Name], [x2], [whistle].
_BRACKETED = re.compile(r"\[[^\]\n]*\]")
#: Parenthesised or braced markers: (x2), (Chorus), (Repeat Chorus), (repeat 8x), {refrain}, (*).
#: Other parentheses are backing vocals ("(oh yeah)", "(break my heart)") and stay.
_PAREN_MARKER = re.compile(
    rf"[({{]{_H}*(?:{_SECTION}(?:{_H}*,?{_H}*{_REPEAT})?{_H}*:?|repeat\b[^)}}\n]*|{_REPEAT}|\*){_H}*[)}}]",
    re.IGNORECASE,
)
#: A label opening a line: "Chorus:", "Verse Two:", "VERSE 1:", "후렴:".
_LINE_LABEL = re.compile(rf"^{_H}*{_SECTION}{_H}*:", re.IGNORECASE | re.MULTILINE)
#: A line that is only a marker: "CHORUS", "Repeat Chorus", "repeat to fade", "REPEAT 3 TIMES", "x2".
_MARKER_LINE = re.compile(
    rf"^{_H}*(?:{_SECTION}(?:{_H}*{_REPEAT})?"
    rf"|repeat(?:{_H}+(?:to{_H}+fade|{_REPEAT}|\(\*\)))*"
    rf"|{_REPEAT}){_H}*$",
    re.IGNORECASE | re.MULTILINE,
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_lyrics(text):
    """Remove section markers, normalise line endings, whitespace and Unicode (NFC).

    Removed: square-bracketed annotations (``[Chorus]``, ``[Verse 2: Name]``,
    ``[x2]``), parenthesised or braced markers (``(x2)``, ``(Repeat Chorus)``,
    ``{refrain}``), line labels (``Chorus:``, ``Verse One:``) and lines that
    are only a marker (``CHORUS``, ``repeat to fade``). Other parentheses
    (backing vocals) stay. Runs of spaces and tabs become one space, lines
    are stripped, at most one blank line separates stanzas. Case and
    punctuation are kept. Idempotent.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    text = unicodedata.normalize("NFC", normalize_newlines(text))
    text = _BRACKETED.sub(" ", text)
    text = _PAREN_MARKER.sub(" ", text)
    text = _LINE_LABEL.sub("", text)
    text = _MARKER_LINE.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def count_words(text):
    """Number of words in the normalised lyrics: whitespace-separated tokens holding a letter.

    Markers and punctuation-only tokens ("...", "!!!", "-") do not count;
    Hangul counts as letters.

    Parameters
    ----------
    text : str
        Raw or normalised lyrics.

    Returns
    -------
    int
    """
    return sum(1 for token in normalize_lyrics(text).split() if any(ch.isalpha() for ch in token))


def text_cell(row, column):
    """A text cell of a ledger row; ``""`` when absent, ``None`` or NaN (a DataFrame read without ``dtype=str``)."""
    value = row.get(column, "")
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def read_track_lyrics(row):
    """The lyrics of one ledger row and a name for messages: ``(text, source)``.

    Inline ``lyrics_text`` wins over ``lyrics_path``.

    Raises
    ------
    mer_utils.accounting.Rejected
        ``missing_lyrics`` (no text, no file) or ``undecodable_lyrics``.
    """
    track_id = row["track_id"]
    if text_cell(row, "lyrics_text").strip():
        return text_cell(row, "lyrics_text"), f"track {track_id} (inline lyrics)"
    path = text_cell(row, "lyrics_path")
    if not path:
        raise Rejected("missing_lyrics", f"track {track_id}: no lyrics file or inline lyrics in the ledger")
    try:
        return read_lyrics(path), path
    except LyricsDecodeError as err:
        raise Rejected("undecodable_lyrics", str(err)) from None
    except FileNotFoundError:
        raise Rejected("missing_lyrics", f"{path}: lyrics file not found") from None
    except OSError as err:
        raise Rejected("missing_lyrics", f"{path}: lyrics file cannot be read ({err.strerror or err})") from None
