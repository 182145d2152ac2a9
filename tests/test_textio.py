"""Decoding lyrics in any of the encodings corpora use, normalising them, counting words."""

import codecs

import pytest
from messy_corpus import english_lyrics, korean_lyrics, undecodable_bytes, write_bytes

from mer_utils.textio import (
    LyricsDecodeError, TextDecodeError, count_words, decode_text, normalize_lyrics, read_lyrics,
)

KOREAN = korean_lyrics(3)
MIXED = "첫 줄 hello\n둘째 줄 사랑해\nthird line"


@pytest.mark.parametrize("encoding, bom", [
    ("utf-8", b""),
    ("utf-8", codecs.BOM_UTF8),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-16-le", b""),  # BOM-less UTF-16: the byte order is guessed
    ("utf-16-be", b""),
    ("cp949", b""),
    ("euc-kr", b""),
])
@pytest.mark.parametrize("text", [KOREAN, MIXED, english_lyrics(12)], ids=["korean", "mixed", "english"])
def test_read_lyrics_decodes_every_supported_encoding(tmp_path, encoding, bom, text):
    path = write_bytes(tmp_path / "lyrics.txt", bom + text.encode(encoding))
    assert read_lyrics(path) == text


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n"])
def test_read_lyrics_normalises_line_endings(tmp_path, ending):
    path = write_bytes(tmp_path / "lyrics.txt", ending.join(["one", "two", "", "three"]).encode())
    assert read_lyrics(path) == "one\ntwo\n\nthree"


def test_mixed_line_endings_in_one_file(tmp_path):
    path = write_bytes(tmp_path / "lyrics.txt", b"a\r\nb\rc\nd")
    assert read_lyrics(path).split("\n") == ["a", "b", "c", "d"]


@pytest.mark.parametrize("seed", range(20))
def test_binary_is_undecodable_and_the_error_names_the_file(tmp_path, seed):
    path = write_bytes(tmp_path / f"song{seed}.txt", undecodable_bytes(seed))
    with pytest.raises(LyricsDecodeError, match=f"song{seed}.txt") as info:
        read_lyrics(path)
    assert isinstance(info.value, ValueError)
    assert "utf-8" in str(info.value) and "cp949" in str(info.value)


def test_random_bytes_without_nul_are_undecodable():
    data = bytes(b if b else 1 for b in undecodable_bytes(3, n=2000))
    with pytest.raises(TextDecodeError):
        decode_text(data, source="x")


def test_truncated_utf16_is_undecodable():
    with pytest.raises(TextDecodeError):
        decode_text(codecs.BOM_UTF16_LE + "hello".encode("utf-16-le")[:-1], source="x")


def test_empty_file_reads_as_empty_text(tmp_path):
    assert read_lyrics(write_bytes(tmp_path / "empty.txt", b"")) == ""


def test_read_lyrics_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_lyrics(tmp_path / "absent.txt")


@pytest.mark.parametrize("raw, expected", [
    ("[Chorus]\nla la love", "la la love"),
    ("[Verse 2: Phife Dawg]\nyo", "yo"),
    ("[후렴] 오늘 밤", "오늘 밤"),
    ("sing it (x2)\nagain (4X)\nand (repeat chorus)", "sing it\nagain\nand"),
    ("{refrain} hey {I love you}", "hey {I love you}"),
    ("CHORUS\nwords here\nRepeat Chorus\nrepeat to fade\nREPEAT 3 TIMES", "words here"),
    ("Chorus: too many martyrs\nVerse Two: Charlie", "too many martyrs\nCharlie"),
    ("stay (oh yeah) and (break my heart)", "stay (oh yeah) and (break my heart)"),
    ("Repeat after me\nChorus line dancers", "Repeat after me\nChorus line dancers"),
])
def test_normalize_lyrics_removes_markers_only(raw, expected):
    assert normalize_lyrics(raw) == expected


def test_normalize_lyrics_whitespace_case_punctuation_and_nfc():
    decomposed = "\u1112\u1161\u11ab"  # 한 as conjoining jamo
    raw = "  Hello,\t\tWORLD!  \r\n\r\n\r\n\r\nsecond   stanza\r" + decomposed + "  "
    assert normalize_lyrics(raw) == "Hello, WORLD!\n\nsecond stanza\n한"


def test_normalize_lyrics_is_idempotent():
    raw = "[Intro]\r\nyeah (x2)\n\n\n\nChorus:\n  sweet  (sweet) love\r[Outro]"
    once = normalize_lyrics(raw)
    assert normalize_lyrics(once) == once


@pytest.mark.parametrize("text, words", [
    ("one two three", 3),
    ("[Chorus] one (x2) two", 2),
    ("... !!! -- 123 ?", 0),
    ("don't stop-me now!", 3),
    (KOREAN, 21),
    ("사랑해 love 너를", 3),
    ("", 0),
])
def test_count_words_counts_tokens_with_a_letter(text, words):
    assert count_words(text) == words
