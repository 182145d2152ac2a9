"""The pretrained-feature stages: musicnn clip features and lyrics features, cached, offline, with rejections."""

import socket

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from mer_utils.pretrained import lyrics_features, musicnn, musicnn_features, musicnn_input, song_features


@pytest.fixture(scope="module")
def network():
    return musicnn.Musicnn()


def _tone(seconds, frequency, *, sample_rate=22050, amplitude=0.3):
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    noise = np.random.default_rng(int(frequency)).normal(scale=0.02, size=len(t))
    return (amplitude * np.sin(2 * np.pi * frequency * t) + noise).astype(np.float32)


@pytest.fixture()
def clips(tmp_path):
    """Two usable clips and one of each defect musicnn must reject, as ledger rows."""
    files = {"bright": _tone(7.0, 880.0), "dark": _tone(4.0, 110.0), "short": _tone(2.0, 440.0),
             "silent": np.zeros(5 * 22050, dtype=np.float32)}
    rows = []
    for name, samples in files.items():
        sf.write(tmp_path / f"{name}.wav", samples, 22050)
        rows.append({"track_id": name, "audio_path": str(tmp_path / f"{name}.wav"), "status": "kept"})
    (tmp_path / "garbage.wav").write_bytes(b"not audio at all" * 100)
    rows.append({"track_id": "garbage", "audio_path": str(tmp_path / "garbage.wav"), "status": "kept"})
    rows.append({"track_id": "absent", "audio_path": str(tmp_path / "absent.wav"), "status": "kept"})
    rows.append({"track_id": "dropped", "audio_path": str(tmp_path / "bright.wav"), "status": "rejected"})
    return pd.DataFrame(rows)


def test_musicnn_features_are_the_networks_and_rejections_have_reasons(clips, network, tmp_path):
    report = musicnn_features.extract_all(clips, max_seconds=30.0, n_workers=1, cache_dir=tmp_path / "cache",
                                          network=network, progress=False)
    assert list(report.features) == ["bright", "dark"], "kept tracks only, in input order"
    reasons = {r.track_id: r.reason for r in report.rejections}
    assert reasons == {"short": "too_short", "silent": "silent_audio", "garbage": "unreadable_audio",
                       "absent": "missing_audio"}
    assert all(r.detail for r in report.rejections)
    assert (report.cache_hits, report.cache_misses) == (0, 5)
    # batched over clips, the features equal the network's on each clip alone
    for track_id in ("bright", "dark"):
        alone = network.clip_features(musicnn_input.load_patches(clips.set_index("track_id").loc[track_id,
                                                                                                   "audio_path"]))
        with np.load(report.features[track_id]) as stored:
            np.testing.assert_allclose(stored["tags"], alone.tags, atol=1e-5)
            np.testing.assert_allclose(stored["embedding"], alone.embedding, atol=1e-4)
            assert int(stored["n_patches"]) == alone.n_patches == (2 if track_id == "bright" else 1)


def test_musicnn_rerun_reads_everything_from_the_cache(clips, network, tmp_path):
    first = musicnn_features.extract_all(clips, max_seconds=30.0, n_workers=1, cache_dir=tmp_path,
                                         network=network, progress=False)
    again = musicnn_features.extract_all(clips, max_seconds=30.0, n_workers=1, cache_dir=tmp_path,
                                         network=object(), progress=False)  # a network call would fail
    assert (again.cache_hits, again.cache_misses) == (5, 0), "rejections of the file are cached too"
    assert again.features == first.features and set(again.rejections) == set(first.rejections)
    other = musicnn_features.extract_all(clips.head(1), max_seconds=5.0, n_workers=1, cache_dir=tmp_path,
                                         network=network, progress=False)
    assert other.cache_dir != first.cache_dir and other.cache_misses == 1, "another parameter, another key"


def test_a_cached_song_loads_no_network(clips, network, tmp_path, monkeypatch):
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path))
    loads = []

    def load(model):
        loads.append(model)
        return network

    monkeypatch.setattr(musicnn, "Musicnn", load)
    path = clips.set_index("track_id").loc["bright", "audio_path"]
    first = song_features.SongFeatures().musicnn("bright", path)
    assert loads == [musicnn.DEFAULT_MODEL], "the first song is computed with the loaded network"
    again = song_features.SongFeatures().musicnn("bright", path)  # a new predictor: nothing loaded yet
    assert loads == [musicnn.DEFAULT_MODEL], "the cached song needs no network"
    pd.testing.assert_frame_equal(first, again)


def test_feature_table_selects_parts(clips, network, tmp_path):
    report = musicnn_features.extract_all(clips.head(2), n_workers=1, cache_dir=tmp_path, network=network,
                                          progress=False)
    table = musicnn_features.feature_table(report.features, tag_names=network.tag_names)
    assert table.shape == (2, 50 + 400) and table.index.tolist() == ["bright", "dark"]
    assert table.columns[0] == f"tag_{network.tag_names[0]}" and table.columns[-1] == "penultimate_std_199"
    pd.testing.assert_frame_equal(report.table(), table)
    only_max = musicnn_features.feature_table(report.features, parts=("max",))
    with np.load(report.features["dark"]) as stored:
        np.testing.assert_array_equal(only_max.loc["dark"].to_numpy(), stored["embedding"][400:])
    with pytest.raises(ValueError, match="unknown musicnn feature parts"):
        musicnn_features.feature_table(report.features, parts=("median",))


# --- lyrics --------------------------------------------------------------------------

HAPPY = "I love you, baby, you make me smile\nSunshine and laughter all the while"
SAD = "Tears fall down, I'm lonely and sad\nMy heart is broken, everything is bad"


@pytest.fixture()
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_lyrics_encoder_loads_offline_and_scores_sentiment(no_network):
    encoder = lyrics_features.LyricsEncoder.load()
    values = pd.DataFrame(encoder.features([HAPPY, SAD]), columns=lyrics_features.feature_names())
    assert values.shape == (2, 262)
    embedding = values.filter(like="wordllama_").to_numpy()
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=1), 1.0, atol=1e-5)
    assert values.loc[0, "vader_compound"] > 0.3 > -0.3 > values.loc[1, "vader_compound"]
    assert values.loc[0, "textblob_polarity"] > values.loc[1, "textblob_polarity"]


def test_cached_lyrics_load_no_encoder(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("MER_DATA_DIR", str(tmp_path))
    (tmp_path / "happy.txt").write_text(HAPPY, encoding="utf-8")
    real, loads = lyrics_features.LyricsEncoder.load, []

    def load():
        loads.append(1)
        return real()

    monkeypatch.setattr(lyrics_features.LyricsEncoder, "load", staticmethod(load))
    first = song_features.SongFeatures().lyrics("happy", tmp_path / "happy.txt")
    assert loads == [1], "the first lyrics are computed with the loaded encoder"
    again = song_features.SongFeatures().lyrics("happy", tmp_path / "happy.txt")  # a new predictor
    assert loads == [1], "cached lyrics need no encoder"
    pd.testing.assert_frame_equal(first, again)


def test_lyrics_features_are_cached_and_name_rejections(tmp_path, no_network):
    rows = pd.DataFrame([
        {"track_id": "happy", "lyrics_text": HAPPY, "status": "kept"},
        {"track_id": "sad", "lyrics_text": SAD, "status": "kept"},
        {"track_id": "korean", "lyrics_text": "사랑해 너를\n눈물이 나", "status": "kept"},
        {"track_id": "none", "lyrics_text": "", "lyrics_path": "", "status": "kept"},
        {"track_id": "out", "lyrics_text": SAD, "status": "rejected"},
    ])
    first = lyrics_features.extract_all(rows, cache_dir=tmp_path)
    assert first.features.index.tolist() == ["happy", "sad", "korean"]
    assert [(r.track_id, r.reason) for r in first.rejections] == [("none", "missing_lyrics")]
    assert first.korean == ["korean"] and lyrics_features.korean_share(first) == pytest.approx(1 / 3)
    again = lyrics_features.extract_all(rows, cache_dir=tmp_path, encoder=object())
    assert (again.cache_hits, again.cache_misses) == (3, 0)
    pd.testing.assert_frame_equal(again.features, first.features)


def test_a_missing_package_names_the_install_command(monkeypatch):
    real = lyrics_features.importlib.util.find_spec
    monkeypatch.setattr(lyrics_features.importlib.util, "find_spec",
                        lambda name, *a: None if name == "wordllama" else real(name, *a))
    with pytest.raises(lyrics_features.LyricsFeaturesUnavailable, match=r"pip install wordllama==0\.4\.0\.post1"):
        lyrics_features.load_wordllama()


def test_pins_agree_with_pyproject():
    import tomllib

    from mer_utils.paths import REPO_ROOT

    pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert set(lyrics_features.PACKAGES.values()) <= set(pins)


def test_embedding_matrix_gives_each_vocabulary_word_its_vector(no_network):
    from mer_utils.vocabulary import Vocabulary

    vocab = Vocabulary(["love", "adore", "tax"])
    wordllama = lyrics_features.load_wordllama()
    matrix = lyrics_features.embedding_matrix(vocab, dim=200, wordllama=wordllama)
    assert matrix.shape == (5, 200) and not matrix[:2].any(), "padding and out-of-vocabulary rows are zeros"
    np.testing.assert_allclose(np.linalg.norm(matrix[2:], axis=1), 1.0, atol=1e-5)
    love, adore, tax = matrix[vocab.encode([["love", "adore", "tax"]], max_len=3)[0]]
    assert love @ adore > love @ tax, "related words lie closer"
    with pytest.raises(ValueError, match="between 1 and 256"):
        lyrics_features.embedding_matrix(vocab, dim=300, wordllama=wordllama)
