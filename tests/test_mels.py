"""Mel extraction: the computation, bad audio, the cache, resuming, the store."""

import json
import os
import subprocess
import sys

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import MIREX_ROOT, needs_mirex
from messy_corpus import ledger_of, write_corrupt_mp3
from mer_utils import accounting, config, mels, melspec, splits

#: Small settings for tests that are not about the paper's sizes.
SMALL = dict(sample_rate=8000, clip_seconds=2.0, n_mels=32, n_frames=50, n_fft=512)


def tone(seconds, sample_rate, *, freq=1000.0, amplitude=0.3, channels=1):
    """A sine of ``freq`` Hz, shape (samples,) or (samples, channels)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(wave[:, None], channels, axis=1) if channels > 1 else wave


def write(path, data, sample_rate, **kwargs):
    sf.write(path, data, sample_rate, **kwargs)
    return path


def extract(rows, cache_dir, **overrides):
    return mels.extract_all(rows, **{**SMALL, "n_workers": 1, "progress": False, "cache_dir": cache_dir, **overrides})


def rows_of(paths):
    return [{"track_id": name, "audio_path": str(path)} for name, path in paths.items()]


# --- the computation -------------------------------------------------------------

@pytest.mark.parametrize("sample_rate, seconds, n_frames", [(22050, 60.0, 1024), (22050, 30.0, 1024),
                                                            (16000, 7.3, 1024), (8000, 1.0, 97)])
def test_shape_is_exact_for_any_clip(sample_rate, seconds, n_frames):
    y = tone(seconds, sample_rate)
    feature = mels.mel_spectrogram(y, sample_rate=sample_rate, n_mels=128, n_frames=n_frames, n_fft=2048)
    assert feature.shape == (128, n_frames)
    assert feature.dtype == np.float32


@pytest.mark.parametrize("signal", ["tone", "noise"])
def test_agrees_with_librosa_reference(signal):
    sample_rate, n_frames = 22050, 256
    y = tone(3.0, sample_rate, freq=440.0) if signal == "tone" else \
        np.random.default_rng(0).normal(scale=0.1, size=3 * sample_rate).astype(np.float32)
    ours = mels.mel_spectrogram(y, sample_rate=sample_rate, n_mels=128, n_frames=n_frames, n_fft=2048)
    hop = len(y) // n_frames
    power = librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=2048, hop_length=hop, n_mels=128)
    reference = librosa.power_to_db(power, ref=1.0, amin=config.LOG_AMIN, top_db=None)[:, :n_frames]
    loud = reference > reference.max() - 60  # far below the peak, float32 rounding dominates both
    np.testing.assert_allclose(ours[loud], reference[loud], atol=0.01)
    np.testing.assert_allclose(ours, reference, atol=0.5)
    if signal == "tone":  # the energy sits in the band of 440 Hz
        band = np.argmin(np.abs(librosa.mel_frequencies(n_mels=130, fmax=sample_rate / 2)[1:-1] - 440))
        assert abs(int(ours.mean(axis=1).argmax()) - band) <= 1


def test_log_scale_keeps_loudness():
    """Fixed reference: a 20 dB quieter clip reads 20 dB lower, it is not renormalised."""
    loud = mels.mel_spectrogram(tone(2.0, 8000), **{k: SMALL[k] for k in ("sample_rate", "n_mels", "n_frames", "n_fft")})
    quiet = mels.mel_spectrogram(tone(2.0, 8000, amplitude=0.03),
                                 **{k: SMALL[k] for k in ("sample_rate", "n_mels", "n_frames", "n_fft")})
    assert np.isclose(loud.max() - quiet.max(), 20.0, atol=0.01)


@pytest.mark.parametrize("bad, message", [
    (dict(n_mels=0), "n_mels must be a positive integer"),
    (dict(n_fft=1.5), "n_fft must be a positive integer"),
    (dict(clip_seconds=-1), "clip_seconds must be a positive number"),
    (dict(clip_seconds=0.001, n_frames=1024), "1024 frames do not fit"),
])
def test_validate_parameters(bad, message):
    with pytest.raises(ValueError, match=message):
        mels.validate_parameters(**{**SMALL, **bad})


# --- bad and unusual audio ----------------------------------------------------------

@pytest.fixture
def zoo(tmp_path):
    """Every kind of audio input the stage meets, named after what it should become."""
    folder = tmp_path / "audio"
    folder.mkdir()
    files = {}
    for rate in (8000, 22050, 44100, 48000):
        files[f"ok_{rate}hz"] = write(folder / f"r{rate}.wav", tone(2.0, rate), rate)
    files["ok_stereo"] = write(folder / "stereo.flac", tone(2.0, 44100, channels=2), 44100)
    files["ok_ogg"] = write(folder / "tone.ogg", tone(2.0, 22050), 22050)
    files["ok_mp3"] = write(folder / "tone.mp3", tone(2.0, 22050), 22050, format="MP3")
    files["ok_slightly_short"] = write(folder / "short_by_80ms.wav", tone(1.92, 8000), 8000)
    files["too_short"] = write(folder / "one_second.wav", tone(1.0, 8000), 8000)
    files["silent_audio"] = write(folder / "silence.wav", np.zeros(16000, np.float32), 8000)
    files["silent_audio_quiet"] = write(folder / "hiss.wav", tone(2.0, 8000, amplitude=1e-4), 8000)
    (folder / "empty.wav").write_bytes(b"")
    files["unreadable_audio_empty"] = folder / "empty.wav"
    (folder / "text.wav").write_text("these are lyrics, not audio\n" * 40)
    files["unreadable_audio_text"] = folder / "text.wav"
    (folder / "notes.mp3").write_text("not an mp3 at all\n" * 40)
    files["unreadable_audio_text_mp3"] = folder / "notes.mp3"
    (folder / "song.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(range(256)) * 20)
    files["unreadable_audio_m4a"] = folder / "song.m4a"
    flac = write(folder / "whole.flac", tone(2.0, 8000) + 0.01 * np.random.default_rng(1).normal(size=16000),
                 8000).read_bytes()
    (folder / "truncated.flac").write_bytes(flac[: len(flac) // 2])  # valid header, broken stream
    files["unreadable_audio_truncated"] = folder / "truncated.flac"
    files["extraction_failed_nan"] = write(folder / "nan.wav", np.full(16000, np.nan, np.float32), 8000,
                                           subtype="FLOAT")
    files["unreadable_audio_corrupt_mp3"] = write_corrupt_mp3(folder / "corrupt.mp3")
    files["missing_audio"] = folder / "gone.wav"
    (folder / "album.wav").mkdir()
    files["missing_audio_folder"] = folder / "album.wav"
    return files


def expected_reason(name):
    return next((code for code in accounting.REASONS if name.startswith(code)), None)


def test_every_input_is_extracted_or_rejected_with_its_reason(zoo, tmp_path, capfd):
    report = extract(rows_of(zoo), tmp_path / "cache")
    rejected = {r.track_id: r for r in report.rejections}
    assert set(report.features) | set(rejected) == set(zoo) and not set(report.features) & set(rejected)
    for name, path in zoo.items():
        if name.startswith("ok_"):
            assert name in report.features, f"{name} was rejected: {rejected.get(name)}"
        else:
            assert rejected[name].reason == expected_reason(name), name
            assert str(path) in rejected[name].detail, "the sentence names the file"
    assert "0 bytes" in rejected["unreadable_audio_empty"].detail
    assert "1.00 s" in rejected["too_short"].detail
    assert "convert others" in rejected["unreadable_audio_m4a"].detail
    # issue 13: say what is wrong; the decoder's own complaint goes into the sentence, not to the console
    assert "is not decodable as MP3 (no valid MPEG audio frame; the decoder said: " in \
           rejected["unreadable_audio_corrupt_mp3"].detail
    assert rejected["missing_audio_folder"].detail == f"audio file {zoo['missing_audio_folder']} is a folder, not a file"
    assert capfd.readouterr().err == ""
    assert all(isinstance(r, accounting.Rejected) for r in report.rejections)


def test_load_clip_raises_the_ledgers_rejection(zoo):
    with pytest.raises(accounting.Rejected) as info:
        melspec.load_clip(zoo["silent_audio"], sample_rate=8000, clip_seconds=2.0)
    assert info.value.reason == "silent_audio" and str(zoo["silent_audio"]) in info.value.detail


def test_workers_import_neither_pandas_nor_librosa():
    """melspec (and the accounting it raises rejections from) stays light: workers start fast."""
    code = "import sys, mer_utils.melspec; print(sorted({'pandas', 'librosa'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_sample_rates_and_channels_give_the_same_feature(zoo, tmp_path):
    """A 1 kHz tone is a 1 kHz tone at any input rate, in mono or stereo, WAV, FLAC, OGG or MP3."""
    report = extract(rows_of(zoo), tmp_path / "cache")
    reference = np.load(report.features["ok_22050hz"]).astype(np.float32)
    band = reference.mean(axis=1).argmax()
    for name, path in report.features.items():
        feature = np.load(path)
        assert feature.shape == (SMALL["n_mels"], SMALL["n_frames"]) and feature.dtype == np.float16
        assert feature.astype(np.float32).mean(axis=1).argmax() == band, name
    for name in ("ok_44100hz", "ok_48000hz", "ok_stereo"):
        same = np.load(report.features[name]).astype(np.float32)
        assert np.abs(same - reference)[reference > reference.max() - 40].max() < 0.5, name


@pytest.mark.parametrize("n_channels", [1, 2, 3, 6])
def test_channels_are_averaged_into_one_contiguous_clip(n_channels):
    frames = np.random.default_rng(n_channels).normal(size=(5000, n_channels)).astype(np.float32)
    mono = melspec._mix_to_mono(frames)
    assert mono.shape == (5000,) and mono.dtype == np.float32 and mono.flags.c_contiguous
    assert np.allclose(mono, frames.mean(axis=1), atol=1e-6)
    assert not np.shares_memory(mono, frames), "the decoder's buffer is not aliased"


def test_short_clip_within_tolerance_is_zero_padded(zoo, tmp_path):
    report = extract(rows_of(zoo), tmp_path / "cache")
    feature = np.load(report.features["ok_slightly_short"]).astype(np.float32)
    floor = 10 * np.log10(config.LOG_AMIN)
    assert np.isclose(feature[:, -1], floor, atol=0.1).all(), "the padded end is silence"
    assert (feature[:, : SMALL["n_frames"] // 2].max(axis=0) > floor + 40).all()


def test_paper_sizes_store_float16_and_batch_time_major(tmp_path, layout):
    path = write(tmp_path / "a.wav", tone(3.0, 22050), 22050)
    report = mels.extract_all([{"track_id": "a", "audio_path": str(path)}], clip_seconds=3.0, n_workers=1,
                              cache_dir=tmp_path / "cache", progress=False)
    mels.write_index(layout, report.features)
    store = mels.MelStore.open(layout)
    assert store.shape == (config.N_MELS, config.N_FRAMES) and len(store) == 1 and store.ids == ["a"]
    single = store.get("a")
    assert isinstance(single, np.memmap) and single.dtype == np.float16 and single.shape == (128, 1024)
    batch = store.batch(["a", "a"])
    assert batch.shape == (2, 1024, 128) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[1], single.T.astype(np.float32))


def test_ledger_input_extracts_only_kept_tracks(zoo, tmp_path):
    ledger = pd.DataFrame(rows_of({"ok_8000hz": zoo["ok_8000hz"], "too_short": zoo["too_short"]}))
    ledger["status"] = ["kept", "rejected"]
    report = extract(ledger, tmp_path / "cache")
    assert list(report.features) == ["ok_8000hz"] and not report.rejections


def test_duplicate_ids_and_missing_columns_are_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate track ids"):
        extract([{"track_id": "x", "audio_path": "a.wav"}, {"track_id": "x", "audio_path": "b.wav"}], tmp_path)
    with pytest.raises(ValueError, match=r"lack columns \['audio_path'\]"):
        extract([{"track_id": "x"}], tmp_path)


def test_parallel_workers_give_identical_features(zoo, tmp_path, capfd):
    subset = {k: zoo[k] for k in ("ok_8000hz", "ok_44100hz", "ok_stereo", "silent_audio", "unreadable_audio_text",
                                  "unreadable_audio_corrupt_mp3")}
    serial = extract(rows_of(subset), tmp_path / "serial")
    pooled = extract(rows_of(subset), tmp_path / "pooled", n_workers=2)
    assert pooled.n_workers == 2 and pooled.cache_misses == len(subset)
    assert list(pooled.features) == list(serial.features)
    for name in serial.features:
        np.testing.assert_array_equal(np.load(serial.features[name]), np.load(pooled.features[name]))
    assert {(r.track_id, r.reason) for r in pooled.rejections} == {(r.track_id, r.reason) for r in serial.rejections}
    assert "MPEG" not in capfd.readouterr().err, "nor from the workers' decoders"


# --- the cache -------------------------------------------------------------------------

def test_rerun_hits_the_cache_and_computes_nothing(zoo, tmp_path):
    first = extract(rows_of(zoo), tmp_path / "cache")
    stamps = {name: os.stat(path).st_mtime_ns for name, path in first.features.items()}
    second = extract(rows_of(zoo), tmp_path / "cache")
    # a missing file is neither a hit nor a miss: it is checked on every run
    assert (first.cache_hits, first.cache_misses) == (0, len(zoo) - 1)
    assert (second.cache_hits, second.cache_misses) == (len(zoo) - 1, 0)
    assert second.features == first.features
    assert {name: os.stat(path).st_mtime_ns for name, path in second.features.items()} == stamps
    assert [(r.track_id, r.reason, r.detail) for r in second.rejections] == \
           [(r.track_id, r.reason, r.detail) for r in first.rejections]


def test_changed_parameter_or_audio_recomputes(zoo, tmp_path):
    subset = {k: zoo[k] for k in ("ok_8000hz", "ok_22050hz", "ok_stereo")}
    first = extract(rows_of(subset), tmp_path / "cache")
    changed = extract(rows_of(subset), tmp_path / "cache", n_mels=40)
    assert (changed.cache_hits, changed.cache_misses) == (0, 3)
    assert changed.cache_dir != first.cache_dir
    assert np.load(changed.features["ok_8000hz"]).shape == (40, SMALL["n_frames"])
    assert json.loads((changed.cache_dir / "params.json").read_text())["n_mels"] == 40
    write(zoo["ok_stereo"], tone(2.0, 44100, freq=500.0, channels=2), 44100)  # the file changes
    again = extract(rows_of(subset), tmp_path / "cache")
    assert (again.cache_hits, again.cache_misses) == (2, 1)
    assert again.features["ok_stereo"] != first.features["ok_stereo"]


def test_interrupted_extraction_resumes_without_corrupt_entries(zoo, tmp_path, monkeypatch):
    subset = {k: zoo[k] for k in ("ok_8000hz", "ok_22050hz", "ok_44100hz", "ok_48000hz", "ok_stereo")}
    real_save, saved = np.save, []

    def save_then_die(handle, array):
        if len(saved) == 2:  # the third track dies half-way through its write
            handle.write(b"\x93NUMPY partial")
            raise KeyboardInterrupt
        saved.append(array)
        real_save(handle, array)

    monkeypatch.setattr(mels.np, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        extract(rows_of(subset), tmp_path / "cache")
    monkeypatch.setattr(mels.np, "save", real_save)

    folder = next((tmp_path / "cache").iterdir())
    assert len(list(folder.glob("*.npy"))) == 2, "only complete features carry the final name"
    assert not list(folder.glob(".*.tmp")), "the torn temporary file was removed"
    (folder / ".killed.npy.999.tmp").write_bytes(b"\x93NUMPY torn by SIGKILL")  # what a hard kill leaves
    resumed = extract(rows_of(subset), tmp_path / "cache")
    assert (resumed.cache_hits, resumed.cache_misses) == (2, 3)
    for path in resumed.features.values():
        feature = np.load(path)
        assert feature.shape == (SMALL["n_mels"], SMALL["n_frames"]) and np.isfinite(feature).all()


def test_truncated_cache_entry_is_recomputed(zoo, tmp_path):
    first = extract(rows_of({"a": zoo["ok_8000hz"]}), tmp_path / "cache")
    entry = first.features["a"]
    entry.write_bytes(entry.read_bytes()[:200])  # e.g. an interrupted copy of the cache
    again = extract(rows_of({"a": zoo["ok_8000hz"]}), tmp_path / "cache")
    assert again.cache_misses == 1 and np.load(again.features["a"]).shape == (SMALL["n_mels"], SMALL["n_frames"])


# --- reruns of the stage ------------------------------------------------------------------

def run_mel_stage(layout, cache_dir):
    """What notebook 02 does with the ledger: reopen the stage, extract the kept tracks, record the rejections."""
    ledger = accounting.reopen_stage(accounting.read_ledger(layout.tracks_csv), mels.STAGE)
    report = extract(accounting.kept(ledger), cache_dir)
    accounting.write_ledger(accounting.apply_rejections(ledger, report.rejections, stage=mels.STAGE),
                            layout.tracks_csv)
    return report


def test_rerun_after_replacing_an_unreadable_clip_keeps_it_again(zoo, tmp_path, layout):
    """Issue 13: a rerun of 02 recomputes its own rejections; those of 01 stand; the splits follow the ledger."""
    audio = {name: str(zoo[name]) for name in ("ok_8000hz", "ok_22050hz", "unreadable_audio_text", "too_short")}
    accounting.write_ledger(ledger_of([
        {"track_id": "a", "audio_path": audio["ok_8000hz"]},
        {"track_id": "b", "audio_path": audio["ok_22050hz"], "label": "negative"},
        {"track_id": "c", "audio_path": audio["unreadable_audio_text"], "label": "negative"},
        {"track_id": "d", "audio_path": audio["ok_8000hz"], "status": "rejected", "reason": "too_short",
         "detail": "rejected by 01"},
    ]), layout.tracks_csv)
    splits.save_splits(layout, [{"train": ["a", "b"], "val": ["c", "d"]}], params={})
    first = run_mel_stage(layout, tmp_path / "cache")
    assert [(r.track_id, r.reason) for r in first.rejections] == [("c", "unreadable_audio")]
    with pytest.raises(ValueError, match="split 0 has no val track left"):
        splits.load_splits(layout)

    write(zoo["unreadable_audio_text"], tone(2.0, 8000), 8000)  # the user replaces the bad file
    second = run_mel_stage(layout, tmp_path / "cache")
    assert list(second.features) == ["a", "b", "c"] and not second.rejections
    ledger = accounting.read_ledger(layout.tracks_csv)
    assert accounting.kept_ids(ledger) == ["a", "b", "c"]
    assert ledger.set_index("track_id").loc["d", ["status", "reason", "stage"]].tolist() == \
           ["rejected", "too_short", "01_data"], "an earlier stage's rejection stands"
    assert splits.load_splits(layout) == [{"train": ["a", "b"], "val": ["c"]}]


# --- the store ---------------------------------------------------------------------------

def test_store_reports_missing_index_and_features(layout, tmp_path):
    with pytest.raises(ValueError, match="run notebook 02"):
        mels.MelStore.open(layout)
    mels.write_index(layout, {"a": tmp_path / "nowhere.npy"})
    with pytest.raises(ValueError, match="1 cached mel features are missing"):
        mels.MelStore.open(layout)


def test_class_average_spectra_and_examples(zoo, tmp_path, layout):
    subset = {"hi": write(tmp_path / "hi.wav", tone(2.0, 8000, freq=2500.0), 8000),
              "lo": zoo["ok_8000hz"], "lo2": zoo["ok_22050hz"]}
    report = extract(rows_of(subset), tmp_path / "cache")
    mels.write_index(layout, report.features)
    store = mels.MelStore.open(layout)
    labels = {"hi": "positive", "lo": "negative", "lo2": "negative", "absent": "negative"}
    spectra = mels.class_average_spectra(store, labels)
    assert list(spectra.columns) == ["negative", "positive"] and len(spectra) == SMALL["n_mels"]
    assert spectra["positive"].idxmax() > spectra["negative"].idxmax()
    examples = mels.pick_examples(labels, store, per_class=5, seed=0)
    assert sorted(examples["negative"]) == ["lo", "lo2"] and examples["positive"] == ["hi"]


@needs_mirex
def test_real_mp3_clips(tmp_path):
    files = sorted((MIREX_ROOT / "Audio").glob("*.mp3"))[:4]
    report = mels.extract_all(rows_of({p.stem: p for p in files}), clip_seconds=30.0, n_workers=1,
                              cache_dir=tmp_path, progress=False)
    assert not report.rejections and len(report.features) == 4
    for path in report.features.values():
        feature = np.load(path).astype(np.float32)
        assert feature.shape == (128, 1024) and np.isfinite(feature).all()
        assert feature.max() > -20 and np.median(feature) > -90, "music, not padding"
