"""Classical baselines on a tiny synthetic run: fake splits, labels, tokens and mels."""

import json
import types

import numpy as np
import pandas as pd
import pytest

from mer_utils import baselines, metrics, results
from mer_utils.catalogue import AUDIO_BASELINE, LYRICS_BASELINE

N_TRACKS = 40
N_MELS, N_FRAMES = 8, 16
POSITIVE_WORDS = ["happy", "sun", "dance", "smile"]
NEGATIVE_WORDS = ["sad", "rain", "tears", "alone"]
NEUTRAL_WORDS = ["the", "night", "road", "city", "song", "time"]


def toy_data(seed=0):
    """Labels alternate; each track's words and mels carry its class; splits of 30 train / 10 val."""
    rng = np.random.default_rng(seed)
    ids = [f"t{i:02d}" for i in range(N_TRACKS)]
    labels = {t: i % 2 for i, t in enumerate(ids)}
    tokens, mels = {}, {}
    for t in ids:
        cue = POSITIVE_WORDS if labels[t] else NEGATIVE_WORDS
        tokens[t] = list(rng.choice(cue, 5)) + list(rng.choice(NEUTRAL_WORDS, 10))
        mel = rng.normal(-40.0, 5.0, size=(N_MELS, N_FRAMES))
        mel[3] += 10.0 if labels[t] else -10.0  # band 3 is louder in positive tracks
        mels[t] = mel.astype(np.float16)
    order = rng.permutation(ids).tolist()
    splits = [{"train": order[10:], "val": order[:10]}, {"train": order[:30], "val": order[30:]}]
    return splits, labels, tokens, mels


class FakeMelStore:
    """The slice of ``mels.MelStore`` the audio baseline uses."""

    def __init__(self, mels):
        self._mels = mels
        self.ids = list(mels)
        self.shape = (N_MELS, N_FRAMES)

    def get(self, track_id):
        return self._mels[track_id]


@pytest.fixture
def toy(monkeypatch):
    splits, labels, tokens, mels = toy_data()
    monkeypatch.setattr(baselines, "load_splits", lambda layout: splits)
    monkeypatch.setattr(baselines, "label_map", lambda layout: labels)
    monkeypatch.setattr(baselines, "load_tokens", lambda layout: tokens)
    monkeypatch.setattr(baselines, "MelStore", types.SimpleNamespace(open=lambda layout: FakeMelStore(mels)))
    toy = types.SimpleNamespace(splits=splits, labels=labels, tokens=tokens, mels=mels,
                                classes=("negative", "positive"), modalities=("audio", "lyrics"))
    monkeypatch.setattr(baselines, "load_classes", lambda layout: toy.classes)
    monkeypatch.setattr(baselines, "load_modalities", lambda layout: toy.modalities)
    return toy


@pytest.mark.parametrize("run_baseline", [baselines.lyrics_tfidf_baseline, baselines.audio_melstats_baseline])
def test_a_separable_toy_set_is_learnt(layout, toy, run_baseline):
    scores = run_baseline(layout, seed=2017)
    assert scores["split"].tolist() == [0, 1]
    assert (scores["accuracy"] >= 0.9).all(), scores
    assert (scores["n_train"] == 30).all()


def test_outputs_have_the_models_format(layout, toy):
    baselines.lyrics_tfidf_baseline(layout, seed=2017)
    folder = layout.model_dir(LYRICS_BASELINE, 1)
    predictions = pd.read_csv(folder / "predictions.csv", dtype={"track_id": str})
    assert list(predictions.columns) == ["track_id", "label", "prob_positive", "predicted"]
    assert predictions["track_id"].tolist() == toy.splits[1]["val"], "validation tracks only, in order"
    assert predictions["label"].tolist() == [toy.labels[t] for t in toy.splits[1]["val"]]
    assert predictions["predicted"].tolist() == (predictions["prob_positive"] >= 0.5).astype(int).tolist()
    saved = json.loads((folder / "metrics.json").read_text())
    assert saved == pytest.approx(metrics.evaluate(predictions["label"], predictions["prob_positive"]))
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["seed"] == 2017 and provenance["n_train"] == 30
    assert "scikit-learn" in provenance["libraries"] and "git_commit" in provenance
    assert "TfidfVectorizer(analyzer=_tokens_as_given, sublinear_tf=True)" in provenance["estimator"]
    assert " at 0x" not in provenance["estimator"], "the same in every run: no memory addresses"
    assert not (folder / "history.csv").exists()
    collected = results.collect_metrics(layout)
    assert set(collected["model"]) == {LYRICS_BASELINE}


def test_tfidf_never_sees_validation_text(layout, toy):
    # every validation track of every split gets a word no other track has
    for split in toy.splits:
        for t in split["val"]:
            toy.tokens[t] = toy.tokens[t] + [f"only_in_{t}"]
    scores = baselines.lyrics_tfidf_baseline(layout, seed=2017)
    for split, n_features in zip(toy.splits, scores["n_features"]):
        training_vocabulary = {w for t in split["train"] for w in toy.tokens[t]}
        # 4 + 4 cue words + 6 neutral ones, plus the planted words of the *other* split's validation tracks
        assert n_features == len(training_vocabulary)
        assert not any(f"only_in_{t}" in training_vocabulary for t in split["val"])


def test_melstats_features_are_band_means_then_stds():
    mel = np.array([[1.0, 3.0], [2.0, 2.0], [0.0, 4.0]], dtype=np.float16)  # 3 bands, 2 frames
    features = baselines.melstats_features(FakeMelStore({"a": mel, "b": mel + 1}), ["a", "b"])
    assert features.shape == (2, 6) and features.dtype == np.float32
    np.testing.assert_allclose(features[0], [2.0, 2.0, 2.0, 1.0, 0.0, 2.0])
    np.testing.assert_allclose(features[1], [3.0, 3.0, 3.0, 1.0, 0.0, 2.0])


def test_same_seed_same_probabilities(layout, toy, tmp_path):
    from mer_utils.paths import RunLayout

    other = RunLayout(tmp_path / "again")
    baselines.audio_melstats_baseline(layout, seed=7)
    baselines.audio_melstats_baseline(other, seed=7)
    first, second = (pd.read_csv(lay.model_dir(AUDIO_BASELINE, 0) / "predictions.csv")
                     for lay in (layout, other))
    pd.testing.assert_frame_equal(first, second)


def test_both_baselines_in_one_table(layout, toy):
    table = baselines.run_baselines(layout, seed=2017)
    assert table.groupby("model").size().to_dict() == {AUDIO_BASELINE: 2, LYRICS_BASELINE: 2}


@pytest.mark.parametrize("modality, fitted", [("audio", AUDIO_BASELINE), ("lyrics", LYRICS_BASELINE)])
def test_a_one_modality_run_fits_its_own_baseline_only(layout, toy, modality, fitted):
    toy.modalities = (modality,)
    if modality == "audio":
        toy.tokens.clear()  # an audio-only run has no tokens: the lyrics baseline must not ask for them
    table = baselines.run_baselines(layout, seed=2017)
    assert set(table["model"]) == {fitted}
    assert [p.name for p in layout.models_dir.iterdir()] == [fitted]


def test_three_classes_fit_a_multinomial_regression(layout, toy):
    """A third class (every third track, its own cue word): one softmax over three classes, N-class outputs."""
    toy.classes = ("negative", "positive", "calm")
    for i, t in enumerate(sorted(toy.labels)):
        if i % 3 == 2:
            toy.labels[t] = 2
            toy.tokens[t] = [w for w in toy.tokens[t] if w in NEUTRAL_WORDS] + ["calm"] * 5
    scores = baselines.lyrics_tfidf_baseline(layout, seed=2017)
    assert (scores["accuracy"] >= 0.9).all(), scores
    assert "f1" not in scores.columns and {"macro_f1", "roc_auc"} <= set(scores.columns)
    folder = layout.model_dir(LYRICS_BASELINE, 0)
    predictions = pd.read_csv(folder / "predictions.csv", dtype={"track_id": str})
    assert list(predictions.columns) == ["track_id", "label", "prob_negative", "prob_positive", "prob_calm",
                                         "predicted"]
    probs = predictions[["prob_negative", "prob_positive", "prob_calm"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert predictions["predicted"].tolist() == probs.argmax(axis=1).tolist()
    assert json.loads((folder / "metrics.json").read_text()) == pytest.approx(
        metrics.evaluate(predictions["label"], probs))


def test_a_class_missing_from_a_training_part_gets_probability_zero():
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [5.0], [6.0]], [0, 0, 2, 2])  # class 1 never seen
    probs = baselines.class_probabilities(model, [[0.5], [5.5]], 3)
    assert probs.shape == (2, 3) and (probs[:, 1] == 0).all()
    np.testing.assert_allclose(probs[:, [0, 2]], model.predict_proba([[0.5], [5.5]]))


def test_probabilities_of_float32_features_sum_to_one_for_log_loss():
    """float32 features give float32 probabilities (sums off by ~1e-7): log_loss would warn on every fold."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 450)).astype(np.float32), rng.integers(0, 3, 120)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    assert np.abs(model.predict_proba(X).astype(float).sum(axis=1) - 1).max() > 1e-8, "the case this guards"
    probs = baselines.class_probabilities(model, X, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(probs, model.predict_proba(X), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_loss(y, probs)


def test_binary_predictions_are_those_of_the_previous_version(layout):
    """The paper's two classes through the N-class code: the previous version's file, same columns and values."""
    rng = np.random.default_rng(5)
    ids = [f"t{i:02d}" for i in range(40)]
    labels = {t: i % 2 for i, t in enumerate(ids)}
    features = {t: rng.normal(size=6) + 0.5 * labels[t] for t in ids}
    baselines.fit_on_splits(AUDIO_BASELINE, layout, splits=[{"train": ids[10:], "val": ids[:10]}], labels=labels,
                            features=lambda batch: np.stack([features[t] for t in batch]), available={"mel": features},
                            make_model=baselines.make_audio_melstats, seed=3)
    written = pd.read_csv(layout.model_dir(AUDIO_BASELINE, 0) / "predictions.csv", dtype={"track_id": str})
    assert list(written.columns) == ["track_id", "label", "prob_positive", "predicted"] and len(written) == 10
    previous = written.iloc[[0, 1, 2, -1]]
    assert list(previous.track_id) == ["t00", "t01", "t02", "t09"]
    assert list(previous.label) == [0, 1, 0, 1] and list(previous.predicted) == [0, 1, 0, 1]
    # to the last bits of a float64: the BLAS of another CPU may round the final digit differently
    np.testing.assert_allclose(previous.prob_positive,
                               [0.34082952253547016, 0.5667899914557264, 0.1977717774824647, 0.8070883275220616],
                               rtol=1e-12)


def test_bad_splits_are_refused_with_the_reason(layout, toy):
    train = toy.splits[0]["train"]
    toy.splits[0]["train"] = [t for t in train if toy.labels[t] == 1]
    with pytest.raises(ValueError, match=r"baseline_lyrics_tfidf: split 0 trains on class \[1\] only"):
        baselines.lyrics_tfidf_baseline(layout, seed=2017)
    toy.splits[0]["train"] = train
    missing = toy.splits[0]["val"][0]
    del toy.tokens[missing]
    with pytest.raises(ValueError, match=rf"split 0 val: 1 tracks have no lyrics tokens .*\['{missing}'\]"):
        baselines.lyrics_tfidf_baseline(layout, seed=2017)
    toy.tokens[missing] = ["restored"]
    toy.splits[1]["val"] = []
    with pytest.raises(ValueError, match="split 1 has no 'val' tracks"):
        baselines.lyrics_tfidf_baseline(layout, seed=2017)
