"""Reading and normalising text: lyrics files and the corpora's own tables.

Lyrics arrive in whatever encoding their source used: UTF-8 with or without a
byte-order mark, UTF-16 (Windows "Unicode" exports), CP949/EUC-KR (older
Korean files), or a legacy Western code page (Latin-1, Windows-1252).
:func:`read_text` tries the first ones in a fixed order, then the encoding
charset-normalizer detects, and accepts a decoding only if the result looks
like text, so a binary file is reported as undecodable instead of becoming a
page of mojibake.

:func:`normalize_lyrics` removes what is not sung (section markers such as
``[Chorus]`` or ``(x2)``) and tidies whitespace; it keeps case and
punctuation, which the lyrics stage decides about. :func:`count_words` is the
word count of the paper's "fewer than 30 words" rule.
"""

import codecs
import logging
import re
import unicodedata
from pathlib import Path
from typing import NamedTuple

from .accounting import Rejected

logger = logging.getLogger(__name__)

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
#: Largest share of a CP949 decoding's non-ASCII characters that may be UHC-extension
#: characters (two bytes, the second ASCII). Korean text has few: they are the rare
#: syllables. Windows-1252 read as CP949 is made of them: in "can’t", the apostrophe
#: (0x92) and the "t" become the syllable 뭪.
_MAX_UHC_EXTENSION_SHARE = 0.2
#: How much messier (charset-normalizer's "chaos", 0 to 1) than the best guess
#: Windows-1252's reading of undeclared bytes may be and still win (see _detect_encoding).
_CP1252_CHAOS_TOLERANCE = 0.25  # 0.1 lost a one-row corpus table of French titles to cp1257 (0.19)


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


def _plausible(text, encoding):
    """False for a CP949 decoding made mostly of UHC-extension characters (Latin-1 or Windows-1252 misread)."""
    if encoding != "cp949":
        return True
    wide = [ch.encode("cp949") for ch in text if ord(ch) > 0x7F]
    extension = sum(1 for code in wide if len(code) == 2 and code[1] < 0x80)
    return extension <= _MAX_UHC_EXTENSION_SHARE * len(wide)


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


class Decoded(NamedTuple):
    """Text decoded by :func:`decode_bytes`, and how."""

    text: str
    encoding: str
    detected: bool  # the encoding came from charset-normalizer, not from the fixed list


def decode_bytes(data, *, source="<bytes>"):
    """Decode bytes of unknown encoding: BOM, UTF-8, UTF-16 (BOM-less), CP949/EUC-KR, then detection.

    Without a byte-order mark, when none of the fixed encodings yields text,
    the encoding charset-normalizer detects is tried (Latin-1, Windows-1252
    and other legacy code pages of Western corpora); a file it cannot
    explain either (binary data, NUL bytes) is undecodable.

    Parameters
    ----------
    data : bytes
    source : str
        Name of the file the bytes came from, for the error message.

    Returns
    -------
    Decoded
        The text with line endings normalised to LF, its encoding, and
        whether that encoding was detected.

    Raises
    ------
    TextDecodeError
        If no encoding yields text (e.g. binary data).
    """
    tried = []
    candidates = _candidate_encodings(data)
    for encoding, skip in candidates:
        tried.append(encoding)
        try:
            text = data[skip:].decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text) and _plausible(text, encoding):
            return Decoded(normalize_newlines(text), encoding, False)
    if candidates[0][1] == 0:  # no BOM declared the encoding
        tried.append("the encoding charset-normalizer detects")
        detected = _detect_encoding(data)
        if detected is not None and _looks_like_text(detected.text):
            logger.info("%s: not UTF-8, UTF-16 or CP949; read as %s (detected)", source, detected.encoding)
            return detected._replace(text=normalize_newlines(detected.text))
    raise TextDecodeError(
        f"{source}: cannot decode {len(data)} bytes as text "
        f"(tried {', '.join(tried)}; binary data or an unsupported encoding)"
    )


def _detect_encoding(data):
    """charset-normalizer's reading of ``data`` as a :class:`Decoded`, or ``None`` when it finds none.

    A few lines of lyrics are too little for statistics to tell Windows-1252
    from its Central European or Baltic siblings (cp1250, cp1257): when
    Windows-1252 reads the bytes about as cleanly as the best guess, it wins,
    being the usual encoding of Western corpora. Cyrillic, Greek or CJK
    bytes read as Windows-1252 are a mess, and their own encoding stays.
    """
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    near_best = {m.encoding for m in matches if m.chaos <= best.chaos + _CP1252_CHAOS_TOLERANCE}
    if "cp1252" in near_best | set(best.could_be_from_charset):
        return Decoded(data.decode("cp1252"), "cp1252", True)
    return Decoded(str(best), best.encoding, True)


def decode_text(data, *, source="<bytes>"):
    """The text of bytes of unknown encoding (:func:`decode_bytes`), line endings normalised to LF.

    Raises
    ------
    TextDecodeError
        If no encoding yields text (e.g. binary data).
    """
    return decode_bytes(data, source=source).text


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
    """Read a lyrics file in UTF-8 / UTF-16 / CP949 (BOM or not) or a detected encoding; the text with LF line ends.

    Raises
    ------
    LyricsDecodeError
        Naming the file, when it is in no encoding we can read.
    FileNotFoundError
        When the file does not exist.
    """
    return _read_lyrics(path).text


def _read_lyrics(path):
    """:func:`read_lyrics`, as a :class:`Decoded`."""
    path = Path(path)
    try:
        return decode_bytes(path.read_bytes(), source=str(path))
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

    Inline ``lyrics_text`` wins over ``lyrics_path``. ``source`` is the file,
    followed by ``(read as <encoding>)`` when the encoding was detected.

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
        decoded = _read_lyrics(path)
    except LyricsDecodeError as err:
        raise Rejected("undecodable_lyrics", str(err)) from None
    except FileNotFoundError:
        raise Rejected("missing_lyrics", f"{path}: lyrics file not found") from None
    except OSError as err:
        raise Rejected("missing_lyrics", f"{path}: lyrics file cannot be read ({err.strerror or err})") from None
    # a detected encoding may be wrong: every later sentence about these lyrics says which one was used
    return decoded.text, f"{path} (read as {decoded.encoding})" if decoded.detected else path
