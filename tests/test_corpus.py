"""Corpus adapters: user CSV, folder, the MIREX-like dataset as distributed, the demo corpus."""

import codecs
import logging
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from conftest import needs_mirex
from messy_corpus import MESSY, english_lyrics, make_messy_csv_corpus, make_mirex_like, write_audio

from mer_utils import corpus, filtering, modality
from mer_utils.accounting import MANIFEST_COLUMNS
from mer_utils.paths import MIREX_DIR


def write_csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --- user CSV -----------------------------------------------------------------------

def test_from_csv_resolves_paths_and_keeps_every_row(tmp_path):
    csv_path, expected = make_messy_csv_corpus(tmp_path / "c")
    manifest = corpus.from_csv(csv_path)
    assert list(manifest.columns) == list(MANIFEST_COLUMNS)
    assert len(manifest) == len(expected) + 1  # the duplicate row too
    row = manifest.set_index("track_id").loc["ok_en"].iloc[0]
    assert row["audio_path"] == str((tmp_path / "c" / "audio" / "ok_en.wav").resolve())
    assert row["lyrics_path"] == str((tmp_path / "c" / "lyrics" / "ok_en.txt").resolve())
    assert row["tags"] == "happy|dance" and row["language"] == "en" and row["source"] == "csv"
    by_id = manifest.drop_duplicates("track_id").set_index("track_id")
    assert by_id.at["no_audio_cell", "audio_path"] == ""
    assert by_id.at["absent_audio", "audio_path"].endswith("absent_audio.wav")  # kept, to be rejected later
    assert by_id.at["ok_inline", "lyrics_text"] == MESSY["ok_inline"][2][1]
    assert by_id.at["ok_inline", "lyrics_path"] == ""
    corpus.validate_manifest(manifest)


@pytest.mark.parametrize("cell, tags", [
    ("happy|K-pop", "happy|K-pop"),
    ("sad; rainy day", "sad|rainy day"),
    ("sad, lonely ,", "sad|lonely"),
    (" | happy | ", "happy"),
    ("", ""),
])
def test_tag_separators(tmp_path, cell, tags):
    path = write_csv(tmp_path / "m.csv", f'track_id,audio_path,lyrics,tags\n1,a.wav,la la,"{cell}"\n')
    assert corpus.from_csv(path).at[0, "tags"] == tags


def test_from_csv_semicolon_utf16_with_inline_lyrics_and_absolute_paths(tmp_path):
    audio = write_audio(tmp_path / "elsewhere" / "x.wav", 1.0)
    text = f"Track_ID;Audio_Path;Lyrics;Tags;Language\r\n7;{audio};사랑 노래;happy;KO\r\n"
    path = write_csv(tmp_path / "m.csv", text, encoding="utf-16")
    manifest = corpus.from_csv(path)
    assert manifest.loc[0, ["track_id", "audio_path", "lyrics_text", "language"]].tolist() == [
        "7", str(audio), "사랑 노래", "ko"]


def test_the_corpus_own_split_is_read_by_both_user_adapters(tmp_path):
    path = write_csv(tmp_path / "m.csv", "track_id,lyrics,tags,Split\n1,la la,happy, val \n2,la,sad,\n")
    assert corpus.from_csv(path)["split"].tolist() == ["val", ""]
    write_audio(tmp_path / "f" / "a.wav", 1.0)
    (tmp_path / "f" / "tags.csv").write_text("track_id,tags,split\na,happy,3\n")
    assert corpus.from_folder(tmp_path / "f")["split"].tolist() == ["3"]


def test_ids_stay_strings(tmp_path):
    path = write_csv(tmp_path / "m.csv", "track_id,audio_path,lyrics,tags\n007,a.wav,x,happy\n")
    assert corpus.from_csv(path).at[0, "track_id"] == "007"


@pytest.mark.parametrize("header, missing", [
    ("track_id,audio_path,lyrics_path", "'tags'"),
    ("track_id,tags,artist", "'audio_path or lyrics_path or lyrics'"),  # an audio-only or lyrics-only table is fine
    ("id,audio_path,lyrics,tags", "'track_id'"),
])
def test_from_csv_missing_column_names_file_and_column(tmp_path, header, missing):
    path = write_csv(tmp_path / "bad.csv", header + "\n" + ",".join(["x"] * len(header.split(","))) + "\n")
    with pytest.raises(ValueError, match=f"bad.csv: missing required column.*{missing}"):
        corpus.from_csv(path)


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("track_id,audio_path,lyrics,tags\n", "no tracks"),
    ("track_id,audio_path,lyrics,tags\n1,a.wav,x,happy\n,b.wav,y,sad\n", r"without a track_id on lines \[3\]"),
    ("\ntrack_id,audio_path,lyrics,tags\n\n1,a.wav,x,happy\n\n,b.wav,y,sad\n", r"without a track_id on lines \[6\]"),
    ('track_id,lyrics,tags\r\n1,"line one\r\nline two",happy\r\n,x,sad\r\n', r"without a track_id on lines \[4\]"),
])
def test_from_csv_bad_tables(tmp_path, content, message):
    path = write_csv(tmp_path / "m.csv", content)
    with pytest.raises(ValueError, match=message) as info:
        corpus.from_csv(path)
    assert "m.csv" in str(info.value)


@pytest.mark.parametrize("content, line", [
    ("track_id,audio_path,tags\nt1,a.wav,happy,\nt2,b.wav,sad,\n", 2),  # pandas took track_id as the index
    ("track_id,audio_path,tags\nt1,a.wav,happy\nt2,b.wav,sad,extra\n", 3),
    ("track_id;audio_path;tags\n\nt1;a.wav;happy\n\nt2;b.wav;sad;\n", 5),
])
def test_a_row_longer_than_the_header_names_its_line(tmp_path, content, line):
    path = write_csv(tmp_path / "m.csv", content)
    with pytest.raises(ValueError, match=rf"m.csv: line {line} has 4 fields but the header has 3"):
        corpus.from_csv(path)


def test_rows_of_bare_delimiters_are_blank_lines(tmp_path):
    """Spreadsheets export an empty row as ``,,,``: skipped like a blank line, not a row without an id."""
    path = tmp_path / "c.csv"
    path.write_text("track_id,audio_path,tags\na,a.wav,happy\n,,\n , ,\nb,b.wav,sad\n,,\n")
    assert corpus.from_csv(path)["track_id"].tolist() == ["a", "b"]


def test_a_trailing_delimiter_everywhere_is_an_unnamed_empty_column(tmp_path):
    path = write_csv(tmp_path / "m.csv", "track_id,audio_path,tags,\nt1,a.wav,happy,\nt2,b.wav,sad\n")
    assert corpus.from_csv(path)[["track_id", "tags"]].values.tolist() == [["t1", "happy"], ["t2", "sad"]]


def test_columns_that_differ_only_in_case_are_refused(tmp_path):
    path = write_csv(tmp_path / "m.csv", "track_id,Track_ID,audio_path,tags\nt1,t1,a.wav,happy\n")
    with pytest.raises(ValueError, match="m.csv: column 'track_id' appears twice"):
        corpus.from_csv(path)


def test_an_unterminated_quote_is_a_clear_error(tmp_path):
    path = write_csv(tmp_path / "m.csv", 'track_id,lyrics,tags\nt1,"la la,happy\n')
    with pytest.raises(ValueError, match="m.csv is not a readable CSV table"):
        corpus.from_csv(path)


def test_from_csv_keeps_every_language_as_a_code(tmp_path):
    """A language without a tagger does not stop the load: an audio-only run never needs it."""
    path = write_csv(tmp_path / "m.csv", "track_id,audio_path,lyrics,tags,language\n"
                                         "1,a.wav,x,happy,fr\n2,b.wav,y,sad,Korean\n3,c.wav,z,sad, EN \n4,d.wav,w,sad,\n")
    assert corpus.from_csv(path)["language"].tolist() == ["fr", "ko", "en", ""]


def test_from_csv_missing_and_undecodable_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        corpus.from_csv(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="is a folder, not a CSV file"):
        corpus.from_csv(tmp_path)
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x00\xff\xfe\x01" * 50 + b"\x80")
    with pytest.raises(ValueError, match="binary.csv"):
        corpus.from_csv(path)


# --- folder ---------------------------------------------------------------------------

def test_from_folder(tmp_path):
    write_audio(tmp_path / "a1.wav", 1.0)
    write_audio(tmp_path / "audio" / "a2.flac", 1.0)
    write_audio(tmp_path / "audio" / "untagged.wav", 1.0)
    (tmp_path / "lyrics").mkdir()
    (tmp_path / "lyrics" / "a1.txt").write_text(english_lyrics(30))
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "tags.csv").write_text(
        "track_id,tags,artist\na1,happy,Someone\na2,sad|night,\nghost,happy,\n", encoding="utf-8")
    manifest = corpus.from_folder(tmp_path).set_index("track_id")
    assert sorted(manifest.index) == ["a1", "a2", "ghost", "untagged"]
    assert manifest.at["a1", "lyrics_path"] == str(tmp_path / "lyrics" / "a1.txt")
    assert manifest.at["a2", "lyrics_path"] == ""
    assert manifest.at["a2", "audio_path"] == str(tmp_path / "audio" / "a2.flac")
    assert manifest.at["ghost", "audio_path"] == "" and manifest.at["ghost", "tags"] == "happy"
    assert manifest.at["untagged", "tags"] == ""
    assert manifest.at["a1", "artist"] == "Someone"
    assert set(manifest["source"]) == {"folder"}


def test_from_folder_same_stem_twice_makes_two_rows(tmp_path):
    write_audio(tmp_path / "x.wav", 1.0)
    write_audio(tmp_path / "x.flac", 1.0)
    (tmp_path / "tags.csv").write_text("track_id,tags\nx,happy\n")
    assert corpus.from_folder(tmp_path)["track_id"].tolist() == ["x", "x"]


def test_a_repeated_id_in_tags_csv_keeps_every_row_for_filtering_to_reject(tmp_path):
    write_audio(tmp_path / "t1.wav", 2.0)
    write_audio(tmp_path / "t2.wav", 2.0)
    (tmp_path / "tags.csv").write_text("track_id,tags\nt1,happy\nt2,sad\nt1,sad\n")
    manifest = corpus.from_folder(tmp_path)
    assert manifest[["track_id", "tags"]].values.tolist() == [["t1", "happy"], ["t2", "sad"], ["t1", "sad"]]
    assert manifest["audio_path"].tolist()[2] == str(tmp_path / "t1.wav")
    ledger = filtering.filter_tracks(manifest, positive_tags=("happy",), negative_tags=("sad",),
                                     modalities=("audio",), min_duration_s=1, balance=False)
    assert ledger.set_index("track_id").at["t1#2", "reason"] == "duplicate_id"
    assert ledger.set_index("track_id").at["t1#2", "detail"] == (
        f"track 't1' ({tmp_path / 't1.wav'}) repeats the id of an earlier row, track 't1' ({tmp_path / 't1.wav'}), "
        "which is kept (its tags 'sad' differ from 'happy'); recorded as 't1#2'")


NFC, NFD = unicodedata.normalize("NFC", "노래 café"), unicodedata.normalize("NFD", "노래 café")


def test_from_folder_matches_ids_whatever_their_unicode_form_or_extension(tmp_path):
    """macOS writes file names in NFD; an editor writes tags.csv in NFC, sometimes with the file's extension."""
    assert NFC != NFD
    write_audio(tmp_path / f"{NFD}.wav", 1.0)
    write_audio(tmp_path / "t1.wav", 1.0)
    (tmp_path / "lyrics").mkdir()
    (tmp_path / "lyrics" / f"{NFD}.txt").write_text(english_lyrics(5))
    (tmp_path / "tags.csv").write_text(f"track_id,tags\n{NFC},happy\nt1.WAV,sad\n")
    manifest = corpus.from_folder(tmp_path).set_index("track_id")
    assert sorted(manifest.index) == sorted([NFC, "t1"])
    assert manifest["tags"].to_dict() == {NFC: "happy", "t1": "sad"}
    assert manifest.at[NFC, "audio_path"] == str(tmp_path / f"{NFD}.wav")
    assert manifest.at["t1", "audio_path"] == str(tmp_path / "t1.wav")
    assert manifest.at[NFC, "lyrics_path"] == str(tmp_path / "lyrics" / f"{NFD}.txt")


def test_from_folder_finds_lyrics_whatever_the_case_of_txt(tmp_path):
    write_audio(tmp_path / "t1.wav", 1.0)
    (tmp_path / "lyrics").mkdir()
    (tmp_path / "lyrics" / "t1.TXT").write_text(english_lyrics(5))
    (tmp_path / "tags.csv").write_text("track_id,tags\nt1,happy\n")
    assert corpus.from_folder(tmp_path).at[0, "lyrics_path"] == str(tmp_path / "lyrics" / "t1.TXT")


def test_from_csv_finds_a_file_named_in_the_other_unicode_form(tmp_path):
    write_audio(tmp_path / "audio" / f"{NFD}.wav", 1.0)
    path = write_csv(tmp_path / "m.csv", f"track_id,audio_path,tags\n{NFD},audio/{NFC}.wav,happy\n"
                                         f"x,audio/{NFC}-absent.wav,sad\n")
    manifest = corpus.from_csv(path)
    assert manifest["track_id"].tolist() == [NFC, "x"]
    assert manifest["audio_path"].tolist() == [str(tmp_path / "audio" / f"{NFD}.wav"),
                                               str(tmp_path / "audio" / f"{NFC}-absent.wav")]


def test_a_folder_of_lyrics_alone_is_a_corpus(tmp_path):
    (tmp_path / "lyrics").mkdir()
    for track_id in ("t1", "t3"):
        (tmp_path / "lyrics" / f"{track_id}.txt").write_text(english_lyrics(5))
    (tmp_path / "tags.csv").write_text("track_id,tags\nt1,happy\nt2,sad\n")
    manifest = corpus.from_folder(tmp_path).set_index("track_id")
    assert manifest["tags"].to_dict() == {"t1": "happy", "t2": "sad", "t3": ""}  # t3: rejected as no_tags
    assert manifest["lyrics_path"].to_dict() == {"t1": str(tmp_path / "lyrics" / "t1.txt"), "t2": "",
                                                 "t3": str(tmp_path / "lyrics" / "t3.txt")}
    assert set(manifest["audio_path"]) == {""}
    assert modality.present(manifest) == ("lyrics",)


def test_unsupported_audio_is_rejected_by_name_and_other_files_are_reported(tmp_path, caplog):
    write_audio(tmp_path / "t1.wav", 2.0)
    for name in ("t1.m4a", "t2.m4a", "audio/t3.WMA"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(64))
    (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / ".DS_Store").write_bytes(b"")
    (tmp_path / "tags.csv").write_text("track_id,tags\nt1,happy\nt2,sad\n")
    with caplog.at_level(logging.WARNING, logger="mer_utils.corpus"):
        manifest = corpus.from_folder(tmp_path)
    assert sorted(manifest["track_id"]) == ["t1", "t1", "t2", "t3"]
    assert manifest.at[0, "audio_path"] == str(tmp_path / "t1.wav")  # readable files first: the one kept for t1
    assert "cover.jpg" in caplog.text and "tags.csv" not in caplog.text and ".DS_Store" not in caplog.text
    ledger = filtering.filter_tracks(manifest, positive_tags=("happy",), negative_tags=("sad",),
                                     modalities=("audio",), min_duration_s=1, balance=False).set_index("track_id")
    assert ledger.at["t1", "status"] == "kept"
    assert ledger.at["t1#2", "reason"] == "duplicate_id" and "t1.m4a" in ledger.at["t1#2", "detail"]
    assert ledger.at["t2", "reason"] == "unreadable_audio"
    assert "t2.m4a" in ledger.at["t2", "detail"] and "convert others, e.g. M4A/AAC, first" in ledger.at["t2", "detail"]
    assert ledger.at["t3", "reason"] == "no_tags"


def test_from_folder_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("not audio")
    with pytest.raises(ValueError, match=r"holds no audio files \(.*\) and no lyrics/<id>.txt"):
        corpus.from_folder(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        corpus.from_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match=r"is a file, not a folder \(corpus=csv reads a CSV table\)"):
        corpus.from_folder(tmp_path / "notes.txt")
    write_audio(tmp_path / "x.wav", 1.0)
    with pytest.raises(ValueError, match="no tags.csv"):
        corpus.from_folder(tmp_path)
    (tmp_path / "tags.csv").write_text("track_id,mood\nx,happy\n")
    with pytest.raises(ValueError, match=r"tags.csv: missing required column.*'tags'"):
        corpus.from_folder(tmp_path)


# --- the MIREX-like dataset -------------------------------------------------------------

SONGS = [
    ("Cheerful", "Cluster 2", True, True, "Happy Song", "Brown, Ruth"),
    ("Wistful", "Cluster 3", True, False, "World's a Mess; It's in My Kiss", "X [1]"),
    ("Rowdy", "Cluster 1", False, False, "Gone", "Nobody"),
    ("", "Cluster 3", True, True, "Untagged", "Someone"),
]


def test_from_mirex_reads_the_distributed_layout(tmp_path):
    root = make_mirex_like(tmp_path, songs=SONGS)
    manifest = corpus.from_mirex(tmp_path)
    assert manifest["track_id"].tolist() == ["001", "002", "003", "004"]
    assert manifest["tags"].tolist() == ["Cheerful|Cluster 2", "Wistful|Cluster 3", "Rowdy|Cluster 1", "Cluster 3"]
    assert manifest["title"].tolist() == [s[4] for s in SONGS]  # the ';' inside a title survives
    assert manifest["artist"].tolist() == [s[5] for s in SONGS]
    assert manifest["audio_path"].tolist() == [str(root / "Audio" / "001.mp3"), str(root / "Audio" / "002.mp3"),
                                               "", str(root / "Audio" / "004.mp3")]
    assert manifest["lyrics_path"].tolist() == [str(root / "Lyrics" / "001.txt"), "", "",
                                                str(root / "Lyrics" / "004.txt")]
    assert set(manifest["language"]) == {"en"} and set(manifest["source"]) == {"mirex"}
    # the dataset folder itself works as well as its parent
    pd.testing.assert_frame_equal(corpus.from_mirex(root), manifest)


def test_from_mirex_without_info_csv(tmp_path):
    root = make_mirex_like(tmp_path, songs=SONGS[:1])
    (root / "dataset info.csv").unlink()
    manifest = corpus.from_mirex(root)
    assert manifest.loc[0, ["artist", "title"]].tolist() == ["", ""]


def test_read_mirex_info_is_utf16_semicolon_crlf(tmp_path):
    root = make_mirex_like(tmp_path, songs=SONGS)
    raw = (root / "dataset info.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE) and "\r\n".encode("utf-16-le") in raw
    info = corpus.read_mirex_info(root / "dataset info.csv")
    assert info["002"] == {"artist": "X [1]", "title": "World's a Mess; It's in My Kiss"}


def test_from_mirex_errors(tmp_path):
    with pytest.raises(ValueError, match="no categories.txt"):
        corpus.from_mirex(tmp_path)
    root = make_mirex_like(tmp_path, songs=SONGS)
    (root / "clusters.txt").write_text("Cluster 2\n")
    with pytest.raises(ValueError, match="categories.txt has 4 songs but clusters.txt has 1"):
        corpus.from_mirex(root)


@needs_mirex
def test_real_mirex_manifest():
    manifest = corpus.from_mirex(MIREX_DIR)
    assert len(manifest) == 903
    assert manifest["track_id"].tolist() == [f"{i:03d}" for i in range(1, 904)]
    with_lyrics = manifest["lyrics_path"] != ""
    assert with_lyrics.sum() == 764
    assert (manifest.loc[with_lyrics, "audio_path"] != "").all()
    assert all(Path(p).is_file() for p in manifest.loc[with_lyrics, "audio_path"])
    assert manifest["tags"].str.match(r"^[^|]+\|Cluster [1-5]$").all()
    assert manifest.at[0, "title"] == "(Mama) He Treats Your Daughter Mean"
    assert manifest.at[781, "title"] == "World's a Mess; It's in My Kiss"


# --- dispatch and validation ---------------------------------------------------------------

def test_build_manifest_dispatch_and_errors(tmp_path):
    csv_path, _ = make_messy_csv_corpus(tmp_path / "c")
    pd.testing.assert_frame_equal(corpus.build_manifest("csv", corpus_path=csv_path), corpus.from_csv(csv_path))
    make_mirex_like(tmp_path / "m", songs=SONGS)
    assert len(corpus.build_manifest("mirex", corpus_path=tmp_path / "m")) == len(SONGS)
    with pytest.raises(ValueError, match="unknown corpus 'spotify'"):
        corpus.build_manifest("spotify")
    with pytest.raises(ValueError, match="needs corpus_path"):
        corpus.build_manifest("folder")


def test_validate_manifest_is_precise():
    good = pd.DataFrame([{c: "" for c in MANIFEST_COLUMNS} | {"track_id": "1"}])
    corpus.validate_manifest(good)
    with pytest.raises(ValueError, match="lacks columns"):
        corpus.validate_manifest(good.drop(columns="tags"))
    with pytest.raises(ValueError, match="must hold strings"):
        corpus.validate_manifest(good.assign(tags=float("nan")))
    with pytest.raises(ValueError, match="absolute paths"):
        corpus.validate_manifest(good.assign(audio_path="audio/1.wav"))
    corpus.validate_manifest(good.assign(language="fr"))  # no tagger: stage 03 rejects the track, with a reason
    with pytest.raises(ValueError, match="track '1' has 'Korean' \\(use 'ko'\\)"):
        corpus.validate_manifest(good.assign(language="Korean"))
    with pytest.raises(ValueError, match="without a track_id"):
        corpus.validate_manifest(good.assign(track_id=" "))
