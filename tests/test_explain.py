"""Occlusion explanations: exact on hand-built models, and pointing at the demo corpus's planted cues."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
from keras import layers

from mer_utils import explain, predict
from mer_utils.accounting import read_ledger
from mer_utils.demo.audio import draw_cues, synthesize, write_audio
from mer_utils.demo.lyrics import WORDS
from mer_utils.vocabulary import Vocabulary
from tiny_run import SOURCE_RATE

N_MELS, N_FRAMES = 16, 120
#: The hand-built audio model decides on the loudness of these bands and frames only.
CUE_BANDS, CUE_FRAMES = slice(4, 8), slice(30, 45)
#: Every emotion word the demo lyrics plant, English (nouns, verbs, adjectives of both polarities).
EMOTION_WORDS = {w for polarity in ("positive", "negative") for kind in ("adj", "noun", "verb")
                 for w in WORDS["en"][polarity][kind]}


def region_model(n_classes=2, *, weight=4.0):
    """``{"mel"} -> softmax``: the logit of the last class is ``weight`` x the mean of the cue region (nothing else)."""
    mel = keras.Input((N_FRAMES, N_MELS), name="mel")
    x = layers.Cropping1D((CUE_FRAMES.start, N_FRAMES - CUE_FRAMES.stop))(mel)
    x = layers.Permute((2, 1))(x)
    x = layers.Cropping1D((CUE_BANDS.start, N_MELS - CUE_BANDS.stop))(x)
    x = layers.Flatten()(x)
    out = layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    model = keras.Model({"mel": mel}, out)
    n_cells = (CUE_BANDS.stop - CUE_BANDS.start) * (CUE_FRAMES.stop - CUE_FRAMES.start)
    kernel = np.zeros((n_cells, n_classes), dtype=np.float32)
    kernel[:, -1] = weight / n_cells
    model.get_layer("emotion").set_weights([kernel, np.zeros(n_classes, dtype=np.float32)])
    return model


def loud_cue_mel():
    mel = np.zeros((N_MELS, N_FRAMES), dtype=np.float32)
    mel[CUE_BANDS, CUE_FRAMES] = 1.0
    return mel


def test_audio_saliency_lies_exactly_on_the_cue_region():
    grid = (4, 8)  # band groups of 4 bands, windows of 15 frames: the cue is band group 1, window 2
    explanation = explain.explain_audio(region_model(), loud_cue_mel(), sample_rate=1200, clip_seconds=1.0,
                                        grid=grid, fill_db=0.0)
    assert explanation.label == "positive" and explanation.target == 1
    inside = np.zeros((N_MELS, N_FRAMES), dtype=bool)
    inside[CUE_BANDS, CUE_FRAMES] = True
    assert explanation.saliency.shape == (N_MELS, N_FRAMES)
    assert (explanation.saliency[inside] > 0.1).all()
    np.testing.assert_allclose(explanation.saliency[~inside], 0.0, atol=1e-6)
    # the hop is 1200 // 120 = 10 samples: frames 30-45 are 0.25-0.375 s
    span = explanation.top_spans(1).iloc[0]
    assert (span.start_s, span.end_s) == pytest.approx((0.25, 0.375))
    assert (explanation.spans.score.drop(index=2).abs() < 1e-6).all()
    band = explanation.top_bands(1).iloc[0]
    centres = explain.mel_band_centres(N_MELS, sample_rate=1200)
    assert (band.low_hz, band.high_hz) == pytest.approx((centres[4], centres[7]))
    assert "0.2-0.4 s" in explanation.summary(1)
    assert explanation.summary(3).endswith("supported most by the music at 0.2-0.4 s and by the bands "
                                           f"{centres[4]:.0f}-{centres[7]:.0f} Hz"), "only parts that supported it"
    against = explain.explain_audio(region_model(), loud_cue_mel(), sample_rate=1200, clip_seconds=1.0, grid=grid,
                                    fill_db=0.0, target=0)  # the cue argues against class 0
    assert "by no stretch of time (each argued against it)" in against.summary(3)


def test_log_odds_still_rank_the_parts_of_a_song_the_model_is_sure_about():
    model = region_model(weight=200.0)  # a float32 softmax of exactly 1.0, even with half the cue occluded
    grid = (4, 16)                      # the cue spans two windows (frames 30-38 and 38-45)
    by_probability = explain.explain_audio(model, loud_cue_mel(), grid=grid, fill_db=0.0, measure="probability")
    assert np.abs(by_probability.saliency).max() < 1e-6
    by_log_odds = explain.explain_audio(model, loud_cue_mel(), grid=grid, fill_db=0.0)
    inside = np.zeros((N_MELS, N_FRAMES), dtype=bool)
    inside[CUE_BANDS, CUE_FRAMES] = True
    assert (by_log_odds.saliency[inside] > 50).all() and np.abs(by_log_odds.saliency[~inside]).max() < 1e-6
    assert by_log_odds.probabilities[1] == 1.0


def test_audio_explanation_of_another_class_and_of_n_classes():
    model = region_model(n_classes=3)
    explanation = explain.explain_audio(model, loud_cue_mel(), grid=(2, 4), fill_db=0.0, target=0)
    assert explanation.target == 0 and explanation.label == "class_0"
    assert len(explanation.probabilities) == 3
    assert explanation.saliency.min() < 0  # the cue argues against class 0
    with pytest.raises(ValueError, match="target"):
        explain.explain_audio(model, loud_cue_mel(), target=3)
    with pytest.raises(ValueError, match="grid"):
        explain.explain_audio(model, loud_cue_mel(), grid=(N_MELS + 1, 4))
    with pytest.raises(ValueError, match="measure"):
        explain.explain_audio(model, loud_cue_mel(), measure="logits")


A, B = 5, 6  # word ids of the bigram the hand-built lyrics model detects


def bigram_model(max_len=12, vocab_size=10):
    """``{"tokens"} -> softmax``: positive iff the words A, B occur in that order (a ReLU conv filter, max pooled)."""
    tokens = keras.Input((max_len,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, 2, name="embed")(tokens)
    x = layers.Conv1D(1, 2, activation="relu", name=explain.LYRICS_CONV_LAYER)(x)
    x = layers.GlobalMaxPooling1D()(x)
    out = layers.Dense(2, activation="softmax", name="emotion")(x)
    model = keras.Model({"tokens": tokens}, out)
    embedding = np.zeros((vocab_size, 2), dtype=np.float32)
    embedding[A, 0] = embedding[B, 1] = 1.0
    model.get_layer("embed").set_weights([embedding])
    kernel = np.array([[[1.0], [0.0]], [[0.0], [1.0]]], dtype=np.float32)   # (width, channels, filters)
    model.get_layer(explain.LYRICS_CONV_LAYER).set_weights([kernel, np.array([-1.0], dtype=np.float32)])
    model.get_layer("emotion").set_weights([np.array([[-3.0, 3.0]], dtype=np.float32),
                                            np.array([1.5, -1.5], dtype=np.float32)])
    return model


def test_lyrics_explanation_finds_the_deciding_bigram_and_its_words():
    vocabulary = Vocabulary(["w2", "w3", "w4", "alpha", "beta", "w7", "w8", "w9"])  # ids 2..9: alpha=5, beta=6
    ids = vocabulary.encode([["w2", "alpha", "w3", "alpha", "beta", "w4", "unknown", "w2"]], max_len=12)[0]
    explanation = explain.explain_lyrics(bigram_model(), ids, vocabulary)
    assert explanation.label == "positive"
    words = explanation.words.set_index("word")
    assert list(explanation.words.word[:2]) == ["alpha", "beta"]
    assert words.loc["alpha", "count"] == 2 and words.loc["beta", "contribution"] > 0.3
    assert (words.drop(index=["alpha", "beta"]).contribution.abs() < 1e-6).all()
    top = explanation.top_ngrams(1).iloc[0]
    assert top.ngram == "alpha beta" and top.filters == 1 and top.contribution > 0.3


def test_lyrics_explanation_of_a_model_without_convolution_has_words_only():
    tokens = keras.Input((6,), dtype="int32", name="tokens")
    x = layers.GlobalAveragePooling1D()(layers.Embedding(10, 3)(tokens))
    model = keras.Model({"tokens": tokens}, layers.Dense(2, activation="softmax")(x))
    vocabulary = Vocabulary([f"w{i}" for i in range(2, 10)])
    explanation = explain.explain_lyrics(model, vocabulary.encode([["w2", "w3", "w2"]], max_len=6), vocabulary)
    assert explanation.ngrams.empty and list(explanation.ngrams.columns) == ["ngram", "filters", "contribution"]
    assert sorted(explanation.words.word) == ["w2", "w3"]


def test_split_explanations_combine_to_the_explanation_of_the_averaged_models(run, predictor):
    song = predictor.prepare(read_ledger(run.tracks_csv).audio_path.iloc[0])
    splits = predictor.models["audio_cnn"].splits
    options = dict(grid=(4, 8), target=1, fill_db=-60.0, sample_rate=16000, clip_seconds=8.0)
    together = explain.explain_audio(splits, song.mel, **options)
    combined = explain.combine_audio([explain.explain_audio(m, song.mel, **options) for m in splits])
    np.testing.assert_allclose(combined.saliency, together.saliency, atol=1e-5)
    np.testing.assert_allclose(combined.spans.score, together.spans.score, atol=1e-5)
    with pytest.raises(ValueError, match="different classes"):
        explain.combine_audio([together, explain.explain_audio(splits[0], song.mel, target=0)])


def test_lyrics_explanations_point_at_the_planted_emotion_words(run, predictor):
    """On validation songs, the words that moved the lyrics CNN most are mostly the planted emotion words,
    far more than their share among the songs' words."""
    ledger = read_ledger(run.tracks_csv).set_index("track_id")
    val = json.loads(run.splits_json.read_text())["splits"][0]["val"]
    top_share, base_share = [], []
    for track_id in val:
        song = predictor.prepare(lyrics_path=ledger.loc[track_id, "lyrics_path"])
        explanation = predictor.explain_lyrics(song, "lyrics_cnn")
        top = explanation.top_words(5).word
        top_share.append(np.mean([w in EMOTION_WORDS for w in top]))
        base_share.append(np.mean([w in EMOTION_WORDS for w in set(song.words)]))
        assert not explanation.top_ngrams(3).empty
    assert np.mean(top_share) >= 0.7, (top_share, base_share)
    assert np.mean(top_share) >= np.mean(base_share) + 0.25


def test_audio_explanations_locate_the_planted_cues_in_time(run, predictor, tmp_path):
    """A clip spliced from positive and negative demo music: the seconds of positive music support
    "positive", the seconds of negative music argue against it."""
    rng = np.random.default_rng(5)
    positive_halves, negative_halves = [], []
    for k in range(4):
        halves = [synthesize(draw_cues(label, rng=rng, confused=False), duration_s=4.25, sample_rate=SOURCE_RATE,
                             rng=rng) for label in ("positive", "negative")]
        positive_first = k % 2 == 0
        path = tmp_path / f"spliced-{k}.flac"
        write_audio(path, np.concatenate(halves if positive_first else halves[::-1]), sample_rate=SOURCE_RATE)
        explanation = predictor.explain_audio(predictor.prepare(path), "audio_cnn", target=1)
        scores = explanation.spans.score.to_numpy()
        first, second = scores[explanation.spans.end_s <= 4.0].mean(), scores[explanation.spans.start_s >= 4.0].mean()
        positive_half, negative_half = (first, second) if positive_first else (second, first)
        assert positive_half > negative_half, (k, scores)
        positive_halves.append(positive_half)
        negative_halves.append(negative_half)
    assert np.mean(positive_halves) > 0 > np.mean(negative_halves)


def test_explanations_need_the_input_they_explain(run, predictor):
    song = predictor.prepare(lyrics_path=read_ledger(run.tracks_csv).lyrics_path.iloc[0])
    with pytest.raises(predict.MissingInputError, match="fused reads audio, and .* has none"):
        predictor.explain_lyrics(song, "fused")
    with pytest.raises(ValueError, match="does not read mel"):
        predictor.explain_audio(song, "lyrics_cnn")
    assert isinstance(predictor.explain_lyrics(song, "lyrics_cnn").words, pd.DataFrame)
