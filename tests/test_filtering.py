"""The paper's filtering rules: every track ends kept with a label or rejected with its first failing reason."""

import re
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from conftest import needs_mirex
from messy_corpus import english_lyrics, make_messy_csv_corpus, make_mirex_like, write_audio, write_corrupt_mp3

from mer_utils import accounting, corpus, filtering
from mer_utils.splits import make_splits
from mer_utils.paths import MIREX_DIR

#: The MIREX profile's dictionaries: MIREX cluster 2 tags positive, cluster 3 tags negative.
MIREX_POSITIVE = ["Amiable-good natured", "Cheerful", "Fun", "Rollicking", "Sweet"]
MIREX_NEGATIVE = ["Autumnal", "Bittersweet", "Brooding", "Literate", "Poignant", "Wistful"]


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """(manifest, expected reason per id) of the messy corpus."""
    csv_path, expected = make_messy_csv_corpus(tmp_path_factory.mktemp("messy"))
    return corpus.from_csv(csv_path), expected


def test_every_messy_track_gets_its_reason(messy):
    manifest, expected = messy
    ledger = filtering.filter_tracks(manifest, balance=False)
    accounting.validate_ledger(ledger)
    assert len(ledger) == len(manifest)
    first = ledger.iloc[:-1].set_index("track_id")
    assert first["reason"].to_dict() == expected
    assert (first.loc[[t for t, r in expected.items() if not r], "status"] == "kept").all()
    duplicate = ledger.iloc[-1]
    assert (duplicate["track_id"], duplicate["status"], duplicate["reason"]) == ("ok_en#2", "rejected", "duplicate_id")
    assert duplicate["title"] == "a second song with the same id"
    assert (ledger["stage"] == filtering.STAGE).all()


def test_labels_come_from_the_dictionary(messy):
    ledger = filtering.filter_tracks(messy[0], balance=False).set_index("track_id")
    assert ledger.at["ok_en", "label"] == "positive"  # 'happy'
    assert ledger.at["ok_utf16_bom", "label"] == "positive"  # 'Cheerful': case-insensitive
    assert ledger.at["ok_utf16le_nobom", "label"] == "negative"  # 'LONELY'
    assert ledger.at["short_clip", "label"] == "positive"  # a rejected track keeps its known label
    assert ledger.at["conflicting", "label"] == ""


def test_details_name_the_file(messy):
    ledger = filtering.filter_tracks(messy[0], balance=False).set_index("track_id")
    for track_id in ("zero_byte_audio", "text_as_wav", "short_clip", "absent_audio"):
        assert f"audio/{track_id}.wav" in ledger.at[track_id, "detail"]
    for track_id in ("binary_lyrics", "absent_lyrics", "empty_lyrics_file", "few_words"):
        assert f"lyrics/{track_id}.txt" in ledger.at[track_id, "detail"]
    assert "no_audio_cell" in ledger.at["no_audio_cell", "detail"]
    assert "29 words" in ledger.at["few_words", "detail"]
    assert "30.0 s" in ledger.at["short_clip", "detail"]


def test_ledger_round_trips(messy, layout):
    ledger = filtering.filter_tracks(messy[0].drop_duplicates("track_id"), balance=False)
    accounting.write_ledger(ledger, layout.tracks_csv)
    pd.testing.assert_frame_equal(accounting.read_ledger(layout.tracks_csv), ledger, check_dtype=False)


def row(tmp_path, track_id, *, tags="happy", seconds=61.0, words=40, audio=True, lyrics=True):
    """One manifest row with real files."""
    audio_path = str(write_audio(tmp_path / f"{track_id}.wav", seconds)) if audio else ""
    lyrics_path = ""
    if lyrics:
        lyrics_path = str(tmp_path / f"{track_id}.txt")
        (tmp_path / f"{track_id}.txt").write_text(english_lyrics(words))
    return {"track_id": track_id, "source": "csv", "audio_path": audio_path, "lyrics_path": lyrics_path,
            "lyrics_text": "", "language": "en", "tags": tags, "artist": "", "title": "", "split": ""}


def manifest_of(rows):
    return pd.DataFrame(rows, columns=list(accounting.MANIFEST_COLUMNS))


@pytest.mark.parametrize("seconds, words, reason", [
    (60.0, 30, ""),  # the paper's limits are inclusive minimums
    (59.9, 30, "too_short"),
    (60.0, 29, "too_few_words"),
    (30.0, 10, "too_few_words"),  # the first failing rule wins: lyrics before audio
])
def test_paper_thresholds(tmp_path, seconds, words, reason):
    manifest = manifest_of([row(tmp_path, "t", seconds=seconds, words=words)])
    assert filtering.filter_tracks(manifest, balance=False).at[0, "reason"] == reason


def test_thresholds_are_parameters(tmp_path):
    manifest = manifest_of([row(tmp_path, "t", seconds=30.0, words=10)])
    ledger = filtering.filter_tracks(manifest, min_duration_s=29, min_lyrics_words=5, balance=False)
    assert ledger.at[0, "status"] == "kept"


def test_dictionaries_are_parameters_and_match_whole_tags(tmp_path):
    manifest = manifest_of([row(tmp_path, "a", tags="Sunny Day|x"), row(tmp_path, "b", tags="sunny"),
                            row(tmp_path, "c", tags="gloom|sunny  day")])
    ledger = filtering.filter_tracks(manifest, positive_tags=["sunny day"], negative_tags=["gloom"], balance=False)
    assert ledger["label"].tolist() == ["positive", "", ""]
    assert ledger["reason"].tolist() == ["", "no_polarity_tag", "conflicting_tags"]


def test_tag_polarity_gives_a_label_or_raises_the_rejection():
    assert filtering.tag_polarity("Happy|dance") == "positive"
    assert filtering.tag_polarity("dance| lonely ") == "negative"
    for tags, reason in (("", "no_tags"), ("dance", "no_polarity_tag"), ("happy|sad", "conflicting_tags")):
        with pytest.raises(accounting.Rejected) as info:
            filtering.tag_polarity(tags, name="track 'x'")
        assert info.value.reason == reason and info.value.detail.startswith("track 'x' has ")


def test_tags_match_in_either_unicode_form():
    """A tags.csv saved on macOS spells accents and Hangul decomposed (NFD); dictionaries are typed composed."""
    positive, negative = ["café", "기쁜"], ["슬픈"]
    for form in ("NFC", "NFD"):
        assert filtering.tag_polarity(unicodedata.normalize(form, "Café|x"), positive_tags=positive,
                                      negative_tags=negative) == "positive"
        assert filtering.tag_polarity(unicodedata.normalize(form, "슬픈"), positive_tags=positive,
                                      negative_tags=negative) == "negative"
    assert unicodedata.normalize("NFD", "슬픈") != "슬픈"  # the test would prove nothing otherwise


def test_cheap_checks_come_first_no_audio_is_opened_for_tag_rejections(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(filtering, "probe_duration", lambda path: opened.append(path) or 61.0)
    manifest = manifest_of([row(tmp_path, "tagless", tags=""), row(tmp_path, "neutral", tags="dance"),
                            row(tmp_path, "both", tags="happy|sad"), row(tmp_path, "fine"),
                            row(tmp_path, "fine")])
    ledger = filtering.filter_tracks(manifest, balance=False)
    assert ledger["reason"].tolist() == ["no_tags", "no_polarity_tag", "conflicting_tags", "", "duplicate_id"]
    assert ledger["track_id"].tolist()[-2:] == ["fine", "fine#2"]
    assert opened == [str(tmp_path / "fine.wav")]


def test_balancing_undersamples_the_larger_class_with_a_seed(tmp_path):
    rows = [row(tmp_path, f"p{i}", tags="happy") for i in range(7)] + [row(tmp_path, f"n{i}", tags="sad") for i in range(3)]
    rows.append(row(tmp_path, "short", tags="sad", seconds=10))
    manifest = manifest_of(rows)
    ledger = filtering.filter_tracks(manifest, seed=1)
    kept = ledger[ledger["status"] == "kept"]
    assert kept["label"].value_counts().to_dict() == {"positive": 3, "negative": 3}
    out = ledger[ledger["reason"] == "balanced_out"]
    assert len(out) == 4 and set(out["label"]) == {"positive"}
    assert ledger.set_index("track_id").at["short", "reason"] == "too_short"  # not a candidate
    assert filtering.filter_tracks(manifest, seed=1).equals(ledger)
    picks = {tuple(filtering.filter_tracks(manifest, seed=s).query("status == 'kept'").track_id) for s in range(6)}
    assert len(picks) > 1, "the seed chooses which tracks are kept"
    balance = filtering.label_balance(ledger)
    assert balance.loc["positive"].tolist() == [7, 7, 3]
    assert balance.loc["negative"].tolist() == [4, 3, 3]


def test_audio_details_say_what_is_wrong(tmp_path, capfd):
    """Issue 13: a folder is not "missing", a corrupt MP3 is not "not a regular file"."""
    folder, corrupt = row(tmp_path, "folder"), row(tmp_path, "corrupt")
    folder["audio_path"] = str(tmp_path / "album")
    (tmp_path / "album").mkdir()
    corrupt["audio_path"] = str(write_corrupt_mp3(tmp_path / "corrupt.mp3"))
    ledger = filtering.filter_tracks(manifest_of([folder, corrupt]), balance=False)
    assert ledger["reason"].tolist() == ["missing_audio", "unreadable_audio"]
    assert ledger.at[0, "detail"] == f"audio file {tmp_path / 'album'} is a folder, not a file"
    assert ledger.at[1, "detail"].startswith(f"audio file {tmp_path / 'corrupt.mp3'} is not decodable as MP3 (")
    assert capfd.readouterr().err == ""


def test_inline_lyrics_are_counted(tmp_path):
    short, long = row(tmp_path, "s", lyrics=False), row(tmp_path, "l", lyrics=False)
    short["lyrics_text"], long["lyrics_text"] = english_lyrics(5), english_lyrics(30)
    ledger = filtering.filter_tracks(manifest_of([short, long]), balance=False)
    assert ledger["reason"].tolist() == ["too_few_words", ""]
    assert ledger.at[0, "detail"] == "track s (inline lyrics): 5 words, under the minimum of 30"


@pytest.mark.parametrize("kwargs, message", [
    (dict(positive_tags=[]), "positive_tags is empty"),
    (dict(negative_tags="sad"), "must be a list"),
    (dict(positive_tags=["happy", "Sad"]), "in both"),
    (dict(min_duration_s=-1), "must be >= 0"),
    (dict(split_scheme="own"), "unknown split scheme 'own'"),
])
def test_bad_rules_raise(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        filtering.filter_tracks(manifest_of([row(tmp_path, "t")]), **kwargs)


def test_the_ledger_is_the_one_track_list(messy, tmp_path):
    """kept() and rejected() partition the ledger file; no stale copy (kept.csv, rejected.csv) exists to drift."""
    ledger = filtering.filter_tracks(messy[0].drop_duplicates("track_id"))
    path = tmp_path / "tracks.csv"
    accounting.write_ledger(ledger, path)
    kept, rejected = accounting.kept(path), accounting.rejected(path)
    assert len(kept) + len(rejected) == len(ledger)
    assert kept["track_id"].tolist() == accounting.kept_ids(ledger)
    assert (rejected["reason"] != "").all() and (rejected["detail"] != "").all()
    repository = Path(filtering.__file__).parents[1]
    mentions = [str(f.relative_to(repository)) for folder in ("mer_utils", "notebooks", "docs")
                for f in (repository / folder).rglob("*") if f.suffix in {".py", ".ipynb", ".md"}
                and re.search(r"\b(kept|rejected)\.csv\b", f.read_text(encoding="utf-8"))]
    assert not mentions, "the ledger data/tracks.csv is the one list of kept and rejected tracks"


def test_mirex_like_miniature(tmp_path):
    songs = [("Cheerful", "Cluster 2", True, True, "a", "x"), ("Wistful", "Cluster 3", True, False, "b", "y"),
             ("Rowdy", "Cluster 1", False, False, "c", "z"), ("Sweet", "Cluster 2", False, False, "d", "w")]
    make_mirex_like(tmp_path, songs=songs)
    ledger = filtering.filter_tracks(corpus.from_mirex(tmp_path), positive_tags=MIREX_POSITIVE,
                                     negative_tags=MIREX_NEGATIVE, min_duration_s=29, min_lyrics_words=30,
                                     balance=False)
    assert ledger["reason"].tolist() == ["", "missing_lyrics", "no_polarity_tag", "missing_audio"]
    assert ledger.at[3, "detail"] == "track '004' ('d' by w) has no audio file in the corpus"


@needs_mirex
def test_real_mirex_accounting():
    manifest = corpus.from_mirex(MIREX_DIR)
    ledger = filtering.filter_tracks(manifest, positive_tags=MIREX_POSITIVE, negative_tags=MIREX_NEGATIVE,
                                     min_duration_s=29.0)
    accounting.validate_ledger(ledger)
    assert len(ledger) == 903
    assert set(ledger["status"]) == {"kept", "rejected"}
    rejected = ledger[ledger["status"] == "rejected"]
    assert (rejected["reason"] != "").all() and (rejected["detail"] != "").all()
    counts = accounting.reason_counts(ledger)
    assert counts["tracks"].sum() == 903
    # the 764 songs with lyrics have audio too: none of them is missing anything
    with_lyrics = ledger[ledger["lyrics_path"] != ""]
    assert len(with_lyrics) == 764
    assert not with_lyrics["reason"].isin(["missing_audio", "missing_lyrics", "unreadable_audio",
                                           "undecodable_lyrics"]).any()
    # the 139 songs without lyrics or audio are rejected, as missing when their tag has a polarity
    without = ledger[ledger["lyrics_path"] == ""]
    assert (without["status"] == "rejected").all()
    assert set(without["reason"]) == {"missing_audio", "no_polarity_tag"}
    kept = ledger[ledger["status"] == "kept"]
    n_positive = (kept["label"] == "positive").sum()
    assert n_positive == (kept["label"] == "negative").sum() > 100
    assert set(kept["tags"].str.split("|").str[1]) == {"Cluster 2", "Cluster 3"}


def test_demo_corpus_defects_match_the_truth():
    """Filtering the demo corpus finds exactly the defects it planted for notebook 01."""
    demo_corpus = pytest.importorskip("mer_utils.demo.corpus")
    n_tracks, seed = 60, 2017  # the smoke profile's corpus: generated once, shared with the smoke run
    manifest = corpus.from_demo(n_tracks=n_tracks, seed=seed)
    truth = pd.read_csv(demo_corpus.demo_corpus_dir(n_tracks=n_tracks, seed=seed) / "truth.csv",
                        dtype=str, keep_default_na=False)
    assert truth["track_id"].tolist() == manifest["track_id"].tolist()
    ledger = filtering.filter_tracks(manifest, balance=False)
    planted = dict(zip(filtering.ledger_ids(truth["track_id"].tolist()), truth["planted_defect"]))
    got = ledger.set_index("track_id")["reason"].to_dict()
    assert set(planted.values()) >= {"duplicate_id", "too_short", "unreadable_audio", "missing_lyrics"}
    for track_id, defect in planted.items():
        if defect == "empty_lyrics":
            # markers-only lyrics have no word with a letter: the paper's 30-word rule rejects them here
            assert got[track_id] == "too_few_words", track_id
        elif defect == "" or defect in demo_corpus.LATE_DEFECTS:  # found by 02 (silence) or 03 (no content words)
            assert got[track_id] == "", f"{track_id}: nothing planted for 01, got {got[track_id]!r}"
        else:
            assert got[track_id] == defect, f"{track_id}: planted {defect!r}, got {got[track_id]!r}"
    balanced = filtering.filter_tracks(manifest)
    kept = balanced.loc[balanced["status"] == "kept"].merge(truth.drop_duplicates("track_id"), on="track_id")
    assert (kept["label"] == kept["true_label"]).all()
    assert kept["label"].value_counts().nunique() == 1


def parts_manifest(tmp_path, counts):
    """Lyrics-only rows, ``counts[(part, tag)]`` of each, with the corpus's own ``split`` column."""
    rows = []
    for (part, tags), n in counts.items():
        for i in range(n):
            rows.append(row(tmp_path, f"{tags}-{part}-{i}", tags=tags, audio=False) | {"split": part})
    return manifest_of(rows)


def kept_per_part(ledger):
    kept = ledger[ledger["status"] == "kept"]
    return kept.groupby(["split", "label"]).size().to_dict()


def test_balancing_with_given_parts_stays_within_each_part(tmp_path):
    """The review's case: global undersampling dropped both positive val tracks (seed 2017) and the test part's."""
    manifest = parts_manifest(tmp_path, {("train", "happy"): 20, ("val", "happy"): 2, ("test", "happy"): 3,
                                         ("train", "sad"): 10, ("val", "sad"): 2, ("test", "sad"): 1})
    ledger = filtering.filter_tracks(manifest, modalities=("lyrics",), seed=2017, split_scheme="given")
    assert kept_per_part(ledger) == {("train", "positive"): 10, ("train", "negative"): 10,
                                     ("val", "positive"): 2, ("val", "negative"): 2,
                                     ("test", "positive"): 1, ("test", "negative"): 1}
    out = ledger[ledger["reason"] == "balanced_out"]
    assert out["split"].value_counts().to_dict() == {"train": 10, "test": 2}
    assert out["detail"].str.contains("in the corpus's train part|in the corpus's test part").all()
    assert "10 of each kept" in out.iloc[0]["detail"]
    kept = accounting.kept(ledger)
    given = make_splits(kept["track_id"], kept["label"], scheme="given", classes=filtering.LABELS,
                        given=kept["split"].tolist())
    assert [len(given[0][p]) for p in ("train", "val", "test")] == [20, 4, 2]


def test_balancing_with_given_parts_never_empties_a_class_of_a_part(tmp_path):
    """A part without negative tracks keeps its positive ones (the split check then names the corpus's gap)."""
    manifest = parts_manifest(tmp_path, {("1", "happy"): 4, ("1", "sad"): 2, ("2", "happy"): 3})
    ledger = filtering.filter_tracks(manifest, modalities=("lyrics",), seed=0, split_scheme="given")
    assert kept_per_part(ledger) == {("1", "positive"): 2, ("1", "negative"): 2, ("2", "positive"): 3}


def test_balancing_without_given_parts_ignores_the_split_column(tmp_path):
    manifest = parts_manifest(tmp_path, {("train", "happy"): 20, ("val", "happy"): 2,
                                         ("train", "sad"): 10, ("val", "sad"): 2})
    ledger = filtering.filter_tracks(manifest, modalities=("lyrics",), seed=2017)
    assert ledger.query("status == 'kept'")["label"].value_counts().to_dict() == {"positive": 12, "negative": 12}
    assert ledger.equals(filtering.filter_tracks(manifest, modalities=("lyrics",), seed=2017, split_scheme="kfold"))


def test_a_label_map_class_without_tags_is_named():
    """Two classes named, one with no tags: the message names it, not 'names 1 class'."""
    with pytest.raises(ValueError, match=r"^label_map class 'sad' lists no tags$"):
        filtering.label_scheme(label_map={"happy": ["Cheerful"], "sad": []})
    with pytest.raises(ValueError, match=r"^label_map classes 'a', 'b' list no tags$"):
        filtering.label_scheme(label_map={"a": [], "b": (), "c": ["x"]})
