"""The generated demo corpus: format, determinism, caching, planted defects, cues."""

import csv
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils import accounting, config, paths
from mer_utils.demo import corpus as demo_corpus
from mer_utils.demo.corpus import DEFECTS, METADATA_COLUMNS, TRUTH_COLUMNS, generate_demo_corpus
from mer_utils.demo.lyrics import attach_particles
from mer_utils.textio import LyricsDecodeError, count_words, read_lyrics

N_TRACKS = 40  # the smallest corpus with every planted defect
SEED = 2017


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """One small corpus for the module: its metadata.csv path."""
    return generate_demo_corpus(tmp_path_factory.mktemp("demo") / "demo-40", n_tracks=N_TRACKS, seed=SEED)


@pytest.fixture(scope="module")
def table(corpus):
    """metadata.csv and truth.csv side by side (row i describes row i)."""
    metadata = pd.read_csv(corpus, dtype=str, keep_default_na=False)
    truth = pd.read_csv(corpus.parent / "truth.csv", dtype=str, keep_default_na=False)
    assert (metadata["track_id"] == truth["track_id"]).all()
    return metadata.join(truth[["true_label", "planted_defect"]])


def file_digests(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def rows_with(table, defect):
    rows = table[table["planted_defect"] == defect]
    assert len(rows), f"no track with planted defect {defect}"
    return rows


# --- format ---------------------------------------------------------------------

def test_layout_and_columns_follow_the_user_csv_format(corpus, table):
    root = corpus.parent
    with open(corpus, encoding="utf-8", newline="") as f:
        assert tuple(next(csv.reader(f))) == METADATA_COLUMNS
    with open(root / "truth.csv", encoding="utf-8", newline="") as f:
        assert tuple(next(csv.reader(f))) == TRUTH_COLUMNS
    assert len(table) == N_TRACKS
    assert set(table["language"]) <= {"ko", "en", ""}
    assert set(table["true_label"]) == {"positive", "negative"}
    for path in table["audio_path"]:
        assert re.fullmatch(r"audio/demo-\d{4}\.(flac|wav|ogg)", path)
    for path in table["lyrics_path"]:
        assert path == "" or re.fullmatch(r"lyrics/demo-\d{4}\.txt", path)
    tags = [tag for cell in table["tags"] if cell for tag in cell.split("|")]
    assert tags and all(tag == tag.strip() and tag for tag in tags)
    assert any("," in artist for artist in table["artist"])  # quoted cells survive the round trip
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "generated teaching corpus" in readme and "say nothing about real music" in readme
    record = json.loads((root / "corpus.json").read_text(encoding="utf-8"))
    assert record["parameters"] == {"n_tracks": N_TRACKS, "seed": SEED, "sample_rate": config.DEMO_SAMPLE_RATE}
    assert record["version"] == demo_corpus.GENERATOR_VERSION


def test_demo_corpus_dir_is_under_raw_data(monkeypatch, tmp_path):
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path))
    assert demo_corpus.demo_corpus_dir(n_tracks=300, seed=2017) == tmp_path / "raw" / "demo-2017-300"
    assert demo_corpus.demo_corpus_dir(n_tracks=60, seed=1) == paths.raw_dir("demo-1-60")


@pytest.mark.parametrize("kwargs, message", [
    ({"n_tracks": 5}, "n_tracks"), ({"n_tracks": 40.0}, "n_tracks"),
    ({"seed": -1}, "seed"), ({"sample_rate": 4000}, "sample_rate"),
])
def test_bad_parameters_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_demo_corpus(tmp_path / "demo", **{"n_tracks": 40, **kwargs})
    assert not (tmp_path / "demo").exists()


def test_refuses_to_replace_a_folder_that_is_not_a_demo_corpus(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a demo corpus"):
        generate_demo_corpus(tmp_path / "mine", n_tracks=10)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


# --- determinism, caching, atomicity --------------------------------------------

def test_same_seed_gives_byte_identical_corpus(corpus, tmp_path):
    again = generate_demo_corpus(tmp_path / "again", n_tracks=N_TRACKS, seed=SEED)
    assert file_digests(again.parent) == file_digests(corpus.parent)


#: SHA-256 over every file but the audio of the 40-track corpus of seed 2017 (see
#: text_digest), as the generator made it at GENERATOR_VERSION 2. Audio is left out: its
#: bytes depend on floating point and codec builds; the text decides every label and defect.
TEXT_DIGEST_V2 = "141de1298f90429113ca8e597e38cff0b4ecd75772f9619e402ca4c0a9e69f33"


def text_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.parent.name != "audio":
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def test_generator_version_2_output_is_unchanged(corpus):
    """Metadata, truth, lyrics, README and corpus.json: a change here needs a GENERATOR_VERSION bump."""
    assert demo_corpus.GENERATOR_VERSION == 2
    assert text_digest(corpus.parent) == TEXT_DIGEST_V2


def test_other_seed_gives_another_corpus(tmp_path):
    first = generate_demo_corpus(tmp_path / "a", n_tracks=10, seed=1)
    second = generate_demo_corpus(tmp_path / "b", n_tracks=10, seed=2)
    assert first.read_bytes() != second.read_bytes()
    audio = [(path.parent / "audio" / "demo-0001.flac").read_bytes() for path in (first, second)]
    assert audio[0] != audio[1]


def test_rerun_with_same_parameters_writes_nothing(corpus):
    before = {p: p.stat().st_mtime_ns for p in corpus.parent.rglob("*")}
    assert generate_demo_corpus(corpus.parent, n_tracks=N_TRACKS, seed=SEED) == corpus
    assert {p: p.stat().st_mtime_ns for p in corpus.parent.rglob("*")} == before


def test_other_parameters_or_incomplete_corpus_are_regenerated(tmp_path):
    out = tmp_path / "demo"
    generate_demo_corpus(out, n_tracks=10, seed=3)
    generate_demo_corpus(out, n_tracks=10, seed=3, sample_rate=22050)
    assert json.loads((out / "corpus.json").read_text())["parameters"]["sample_rate"] == 22050
    assert sf.info(out / "audio" / "demo-0002.flac").samplerate in (22050, 44100)  # 44100: an odd format
    (out / "corpus.json").unlink()  # as if the generator had died before finishing...
    (tmp_path / ".demo.partial-999999999-x1y2").mkdir()  # ...and left its temporary folder (a dead pid)
    generate_demo_corpus(out, n_tracks=10, seed=3, sample_rate=22050)
    assert (out / "corpus.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no temporary folders left


class Interrupted(Exception):
    pass


def interrupt_after(monkeypatch, n_calls):
    """Make the audio writer raise on its ``n_calls``-th call, as a crash or Ctrl-C would."""
    real, calls = demo_corpus.write_audio, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) >= n_calls:
            raise Interrupted("simulated interruption")
        return real(*args, **kwargs)

    monkeypatch.setattr(demo_corpus, "write_audio", failing)


def test_interrupted_generation_leaves_no_corpus_behind(tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 4)
    with pytest.raises(Interrupted):
        generate_demo_corpus(tmp_path / "demo", n_tracks=10, seed=4)
    assert list(tmp_path.iterdir()) == []  # neither the corpus nor its temporary folder


def test_interrupted_regeneration_keeps_the_previous_corpus(tmp_path, monkeypatch):
    out = tmp_path / "demo"
    generate_demo_corpus(out, n_tracks=10, seed=5)
    before = file_digests(out)
    interrupt_after(monkeypatch, 4)
    with pytest.raises(Interrupted):
        generate_demo_corpus(out, n_tracks=10, seed=5, sample_rate=22050)
    assert file_digests(out) == before
    assert json.loads((out / "corpus.json").read_text())["parameters"]["sample_rate"] == 16000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


# --- the plan at full size (cheap: no files) ---------------------------------------

def test_full_size_plan_has_the_specified_shares():
    plans = demo_corpus.plan_tracks(n_tracks=300, seed=SEED, sample_rate=16000)
    labels = [p.label for p in plans]
    assert 0.53 <= labels.count("positive") / 300 <= 0.57
    defects = [p.defect for p in plans if p.defect]
    assert 0.12 <= len(defects) / 300 <= 0.15
    assert {code for code, _ in DEFECTS} == set(defects)
    korean = sum(p.language == "ko" for p in plans) / 300
    assert 0.4 <= korean <= 0.6
    odd = [(p.audio_ext, p.sample_rate, p.n_channels) for p in plans if not p.defect and
           (p.audio_ext, p.sample_rate, p.n_channels) != ("flac", 16000, 1)]
    assert 0.04 <= len(odd) / 300 <= 0.06


# --- planted defects ---------------------------------------------------------------

def test_every_defect_kind_is_planted_with_a_known_reason(table):
    planted = set(table["planted_defect"]) - {""}
    assert planted == {code for code, _ in DEFECTS}
    assert planted <= set(accounting.REASONS)
    assert table.loc[table["planted_defect"] != "", "track_id"].size >= len(DEFECTS)


def test_tag_defects(table):
    def polarities(cell):
        tags = {t.lower() for t in cell.split("|") if t}
        return bool(tags & set(config.POSITIVE_TAGS)), bool(tags & set(config.NEGATIVE_TAGS))

    assert (rows_with(table, "no_tags")["tags"] == "").all()
    assert all(polarities(c) == (False, False) and c for c in rows_with(table, "no_polarity_tag")["tags"])
    assert all(polarities(c) == (True, True) for c in rows_with(table, "conflicting_tags")["tags"])
    valid = table[table["planted_defect"] == ""]
    expected = [(label == "positive", label == "negative") for label in valid["true_label"]]
    assert [polarities(c) for c in valid["tags"]] == expected
    assert all(1 <= len(c.split("|")) <= 4 for c in valid["tags"])
    assert any(c != c.lower() for c in valid["tags"])  # editors' varied case


def test_audio_defects(corpus, table):
    root = corpus.parent
    for path in rows_with(table, "missing_audio")["audio_path"]:
        assert path and not (root / path).exists()
    unreadable = rows_with(table, "unreadable_audio")["audio_path"]
    assert {(root / p).stat().st_size == 0 for p in unreadable} == {True, False}  # empty, and text as .wav
    for path in unreadable:
        with pytest.raises(sf.LibsndfileError):
            sf.info(root / path)
    for path in rows_with(table, "too_short")["audio_path"]:
        assert 30.0 <= sf.info(root / path).duration <= 55.0
    for path in rows_with(table, "silent_audio")["audio_path"]:
        samples, _ = sf.read(root / path)
        assert not samples.any() and 61.0 <= len(samples) / sf.info(root / path).samplerate <= 75.0


def test_valid_audio_lasts_61_to_75_seconds(corpus, table):
    durations = [sf.info(corpus.parent / p).duration
                 for p, defect in zip(table["audio_path"], table["planted_defect"]) if defect in ("", "duplicate_id")]
    assert len(durations) >= N_TRACKS * 0.6
    assert 61.0 <= min(durations) and max(durations) <= 75.0


def test_lyrics_defects(corpus, table):
    root = corpus.parent
    missing = rows_with(table, "missing_lyrics")["lyrics_path"]
    assert "" in set(missing) and any(p and not (root / p).exists() for p in missing)
    for path in rows_with(table, "too_few_words")["lyrics_path"]:
        assert count_words(read_lyrics(root / path)) < config.MIN_LYRICS_WORDS
    markers_only = [read_lyrics(root / p) for p in rows_with(table, "too_few_words")["lyrics_path"]]
    assert any(len(text.split()) >= config.MIN_LYRICS_WORDS for text in markers_only)  # tokens, but no word


def test_undecodable_lyrics_fail_every_encoding_the_adapter_tries(corpus, table):
    for path in rows_with(table, "undecodable_lyrics")["lyrics_path"]:
        data = (corpus.parent / path).read_bytes()
        assert b"\x00" in data
        for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-16", "cp949", "euc-kr"):
            with pytest.raises(UnicodeDecodeError):
                data.decode(encoding)
        with pytest.raises(LyricsDecodeError, match=re.escape(path)):
            read_lyrics(corpus.parent / path)


def test_no_content_words_lyrics_keep_no_word_after_pos_filtering(corpus, table):
    from mer_utils.pos import pos_filter

    for path, language in rows_with(table, "no_content_words")[["lyrics_path", "language"]].itertuples(index=False):
        text = read_lyrics(corpus.parent / path)
        assert language == "en" and count_words(text) >= config.MIN_LYRICS_WORDS
        assert pos_filter(text, language="en") == []


def test_duplicate_row_repeats_an_earlier_valid_id(table):
    for index in rows_with(table, "duplicate_id").index:
        track_id = table.at[index, "track_id"]
        first = table.index[table["track_id"] == track_id][0]
        assert first < index and table.at[first, "planted_defect"] == ""
        assert table.at[first, "true_label"] == table.at[index, "true_label"]


def test_notebook_01_filtering_gives_the_planted_reasons(corpus, table):
    """Truth and pipeline agree: every 01-stage defect gets its reason, everything else is kept with its label."""
    from mer_utils.corpus import from_csv
    from mer_utils.filtering import filter_tracks

    ledger = filter_tracks(from_csv(corpus), balance=False)
    late = table["planted_defect"].isin(demo_corpus.LATE_DEFECTS)
    expected_reason = table["planted_defect"].where(~late, "")
    assert ledger["reason"].tolist() == expected_reason.tolist()
    kept = ledger["status"] == "kept"
    assert (ledger.loc[kept, "label"] == table.loc[kept, "true_label"]).all()


def test_notebook_02_decoding_rejects_silence_and_keeps_odd_formats(corpus, table):
    from mer_utils.accounting import Rejected
    from mer_utils.mels import load_clip

    for path in rows_with(table, "silent_audio")["audio_path"]:
        with pytest.raises(Rejected) as rejected:
            load_clip(corpus.parent / path, sample_rate=config.SAMPLE_RATE, clip_seconds=config.CLIP_SECONDS)
        assert rejected.value.reason == "silent_audio"
    valid = table[(table["planted_defect"] == "") & ~table["audio_path"].str.endswith(".flac")]
    assert len(valid) >= 4
    for path in valid["audio_path"]:
        clip = load_clip(corpus.parent / path, sample_rate=config.SAMPLE_RATE, clip_seconds=config.CLIP_SECONDS)
        assert clip.shape == (int(config.SAMPLE_RATE * config.CLIP_SECONDS),) and np.abs(clip).max() > 0.01


# --- valid oddities -----------------------------------------------------------------

def test_valid_oddities_formats_rates_channels(corpus, table):
    valid = table[table["planted_defect"] == ""]
    infos = [sf.info(corpus.parent / p) for p in valid["audio_path"]]
    assert {i.samplerate for i in infos} >= {8000, 16000, 22050, 44100, 48000}
    assert {i.format for i in infos} == {"FLAC", "WAV", "OGG"}
    assert {i.channels for i in infos} == {1, 2}
    odd = [(i.format, i.samplerate, i.channels) != ("FLAC", 16000, 1) for i in infos]
    odd_labels = valid.loc[odd, "true_label"]
    assert abs((odd_labels == "positive").sum() - (odd_labels == "negative").sum()) <= 1  # no format betrays a label


def test_lyrics_encodings_and_line_endings(corpus, table):
    encodings, endings = [], set()
    for path in table.loc[table["planted_defect"] == "", "lyrics_path"]:
        data = (corpus.parent / path).read_bytes()
        if data.startswith(b"\xff\xfe"):
            encodings.append("utf-16")
            text = data.decode("utf-16")
        else:
            try:
                text = data.decode("utf-8")
                encodings.append("utf-8")
            except UnicodeDecodeError:
                text = data.decode("cp949")
                encodings.append("cp949")
                assert re.search("[가-힣]", text)
        endings.add("crlf" if "\r\n" in text else "lf")
        assert 40 <= count_words(read_lyrics(corpus.parent / path)) <= 150
    assert encodings.count("utf-16") == 1 and encodings.count("cp949") >= 2
    assert endings == {"crlf", "lf"}


def test_korean_lines_mix_english_and_fit_their_particles(corpus, table):
    korean = [read_lyrics(corpus.parent / p)
              for p, lang, d in zip(table["lyrics_path"], table["language"], table["planted_defect"])
              if lang == "ko" and d == ""]
    assert korean and all(re.search("[가-힣]", text) for text in korean)
    assert any(re.search("[가-힣].* [A-Za-z]", line) for text in korean for line in text.splitlines())
    assert not any("{" in text for text in korean)
    assert attach_particles("사랑{이/가} 미소{을/를} 길{으로/로} 집{으로/로} 나{은/는}") == "사랑이 미소를 길로 집으로 나는"


# --- the cues -------------------------------------------------------------------------

#: Krumhansl-Kessler key profiles (C major, C minor), for a template test of mode.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def spectrum_of(samples, rate, *, frame_s=0.064):
    """Magnitude spectrogram (frames, bins) and bin frequencies of a mono signal."""
    n = int(frame_s * rate)
    frames = samples[: samples.size // n * n].reshape(-1, n) * np.hanning(n)
    return np.abs(np.fft.rfft(frames, axis=1)), np.fft.rfftfreq(n, 1 / rate)


def centroid_below(spectrum, freqs, max_hz=3800.0):
    """Spectral centroid below ``max_hz``, so that files of every sample rate compare."""
    band = freqs < max_hz
    return (spectrum[:, band] * freqs[band]).sum() / spectrum[:, band].sum()


def major_minus_minor(spectrum, freqs):
    """Best correlation of the pitch-class profile with a major key minus with a minor key."""
    band = (freqs > 60) & (freqs < 2000)
    pitch_class = np.round(12 * np.log2(freqs[band] / 440.0)).astype(int) % 12
    chroma = np.bincount(pitch_class, weights=spectrum[:, band].sum(axis=0), minlength=12)

    def best(profile):
        return max(np.corrcoef(chroma, np.roll(profile, k))[0, 1] for k in range(12))

    return best(MAJOR_PROFILE) - best(MINOR_PROFILE)


def auc(positive, negative):
    """Share of (positive, negative) pairs in the expected order: 0.5 is chance, 1 is perfect separation."""
    return (np.asarray(positive)[:, None] > np.asarray(negative)[None, :]).mean()


def test_corpus_audio_is_brighter_when_positive_with_overlap(corpus, table):
    valid = table[table["planted_defect"] == ""]
    centroids = []
    for path in valid["audio_path"]:
        samples, rate = sf.read(corpus.parent / path, frames=20 * sf.info(corpus.parent / path).samplerate,
                                dtype="float32", always_2d=True)
        centroids.append(centroid_below(*spectrum_of(samples.mean(axis=1), rate)))
    centroids, positive = np.array(centroids), (valid["true_label"] == "positive").to_numpy()
    assert centroids[positive].mean() > centroids[~positive].mean()
    assert 0.6 < auc(centroids[positive], centroids[~positive]) < 0.97


def test_synthesized_cues_separate_the_classes_with_overlap():
    """Mode (key templates), brightness (centroid) and loudness (peak) each favour the label, imperfectly."""
    from mer_utils.demo.audio import draw_cues, synthesize

    stats = {"positive": [], "negative": []}
    for label in stats:
        for i in range(30):
            rng = np.random.default_rng([11, i, label == "positive"])
            cues = draw_cues(label, rng=rng, confused=rng.random() < demo_corpus.AUDIO_CONFUSED_SHARE)
            samples = synthesize(cues, duration_s=6.0, sample_rate=16000, rng=rng)
            spectrum, freqs = spectrum_of(samples, 16000)
            stats[label].append((major_minus_minor(spectrum, freqs), centroid_below(spectrum, freqs),
                                 np.abs(samples).max()))
    positive, negative = np.array(stats["positive"]), np.array(stats["negative"])
    for column, cue in enumerate(("mode", "brightness", "loudness")):
        assert 0.65 < auc(positive[:, column], negative[:, column]) < 0.97, cue
