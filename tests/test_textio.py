"""Decoding lyrics in any of the encodings corpora use, normalising them, counting words."""

import codecs

import pytest
from messy_corpus import english_lyrics, korean_lyrics, undecodable_bytes, write_bytes

from mer_utils.accounting import Rejected
from mer_utils.textio import (
    LyricsDecodeError, TextDecodeError, count_words, decode_bytes, decode_text, normalize_lyrics, read_lyrics,
    read_track_lyrics,
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
    assert "utf-8" in str(info.value) and "cp949" in str(info.value) and "charset-normalizer" in str(info.value)


def test_nul_bytes_are_undecodable():
    with pytest.raises(TextDecodeError, match="cannot decode 400 bytes"):
        decode_text(bytes(400), source="x")


def test_random_bytes_without_nul_are_undecodable():
    data = bytes(b if b else 1 for b in undecodable_bytes(3, n=2000))
    with pytest.raises(TextDecodeError):
        decode_text(data, source="x")


def test_truncated_utf16_is_undecodable():
    with pytest.raises(TextDecodeError):
        decode_text(codecs.BOM_UTF16_LE + "hello".encode("utf-16-le")[:-1], source="x")


WESTERN = {
    "french": "Je t'aime, mon amour, à jamais\nMon cœur déchiré pleure encore\nÇa fait mal, été comme hiver\n",
    "spanish": "Te quiero mucho, corazón, mañana será otro día\nCanción de la pasión, señorita\n",
    "portuguese": "Saudade do coração, não há ninguém como você\n",
    "german": "Ich möchte dich küssen, Liebe über alles\nÄrger und Schmerz, süße Träume\n",
    "english": "I can’t stop, don’t you know I’m yours\nIt’s a “beautiful” day\n",
    "table": "track_id,audio_path,tags,title\nt1,déjà vu.mp3,sad,Déjà vu\n",  # a corpus CSV: little text to go on
}


@pytest.mark.parametrize("language, encoding", [(language, encoding) for language in WESTERN
                                                 for encoding in ("latin-1", "cp1252")
                                                 if "œ" not in WESTERN[language] and "’" not in WESTERN[language]
                                                 or encoding == "cp1252"])
def test_western_legacy_encodings_are_detected(tmp_path, language, encoding):
    """Issue 13: Latin-1 / Windows-1252 lyrics were rejected as undecodable (only UTF-8, UTF-16, CP949 tried)."""
    data = WESTERN[language].encode(encoding)
    decoded = decode_bytes(data, source="x")
    assert decoded.text == WESTERN[language] and decoded.detected, decoded
    path = write_bytes(tmp_path / "song.txt", data)
    text, source = read_track_lyrics({"track_id": "t", "lyrics_path": str(path)})
    assert text == WESTERN[language] and source == f"{path} (read as {decoded.encoding})"


@pytest.mark.parametrize("text, encoding", [
    ("Я люблю тебя, моя любовь, навсегда\nНочь темна и холодна без тебя\n", "cp1251"),
    ("Я люблю тебя, моя любовь, навсегда\nНочь темна и холодна без тебя\n", "koi8-r"),
    ("Σ'αγαπώ, αγάπη μου, για πάντα\nΗ νύχτα είναι σκοτεινή χωρίς εσένα\n", "cp1253"),
])
def test_other_legacy_encodings_keep_their_own(text, encoding):
    """Windows-1252 is preferred among near-equal Latin readings only: Cyrillic and Greek stay themselves."""
    decoded = decode_bytes(text.encode(encoding), source="x")
    assert decoded.text == text and decoded.detected


def test_windows_1252_apostrophes_are_not_read_as_korean():
    """In CP949, "’t" (0x92 0x74) is a valid, rare syllable: a file of such pairs is Windows-1252, not Korean."""
    text = "I can’t stop, don’t you know I’m yours\nIt’s a beautiful day\n"
    data = text.encode("cp1252")
    assert data.decode("cp949") == "I can뭪 stop, don뭪 you know I뭢 yours\nIt뭩 a beautiful day\n", "the trap"
    assert decode_bytes(data, source="x") == (text, "cp1252", True)
    rare = "오늘 밤 똠방각하 햏 너와 함께"  # two rare syllables among common ones: still Korean
    assert decode_bytes(rare.encode("cp949"), source="x") == (rare, "cp949", False)


def test_fixed_encodings_are_not_reported_as_detected(tmp_path):
    for text, encoding in ((KOREAN, "cp949"), (MIXED, "utf-8")):
        path = write_bytes(tmp_path / f"{encoding}.txt", text.encode(encoding))
        assert decode_bytes(text.encode(encoding)) == (text, encoding, False)
        assert read_track_lyrics({"track_id": "t", "lyrics_path": str(path)}) == (text, str(path))
    with pytest.raises(Rejected, match="undecodable|cannot decode") as info:
        read_track_lyrics({"track_id": "t", "lyrics_path": str(write_bytes(tmp_path / "nul.txt", bytes(50)))})
    assert info.value.reason == "undecodable_lyrics"


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
