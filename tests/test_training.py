"""Training on tiny fake features: outputs, learning, determinism, save/load, device set-up."""

import json
import logging
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from mer_utils import training
from mer_utils.metrics import SCORES
from mer_utils.vocabulary import Vocabulary

N_MELS, N_FRAMES = 8, 120  # 120 frames: the smallest tidy input the five pools accept (>= 108)
FAST = {"epochs": 3, "batch_size": 8, "patience": 0, "vocab_size": 40, "max_len": 24, "learning_rate": 0.01}


class FakeMelStore:
    """The MelStore interface over in-memory arrays; records the size of every read."""

    def __init__(self, features):
        self._features = features
        self.reads = []

    @property
    def ids(self):
        return list(self._features)

    @property
    def shape(self):
        return next(iter(self._features.values())).shape

    def batch(self, track_ids):
        self.reads.append(len(track_ids))
        return np.stack([self._features[t].T for t in track_ids]).astype(np.float32)


#: Four classes of :func:`fake_data`: each lifts its own quarter of the mel bands and sings its own words.
WORDS4 = (["rain", "tears"], ["sun", "smile"], ["fire", "rage"], ["sea", "sleep"])


def fake_data(n_tracks=40, n_splits=2, seed=0, classes=None):
    """Separable toy data: positives are louder in the top mel bands and sing 'sun' words.

    With ``classes`` (four names), labels ``i % 4`` of the :data:`WORDS4` classes instead.
    """
    rng = np.random.default_rng(seed)
    ids = [f"t{i:03d}" for i in range(n_tracks)]
    labels = {t: i % (2 if classes is None else len(classes)) for i, t in enumerate(ids)}
    features, tokens = {}, {}
    for t in ids:
        mel = rng.normal(-40.0, 5.0, size=(N_MELS, N_FRAMES)).astype(np.float16)
        if classes is None:
            mel[N_MELS // 2:] += 8.0 * labels[t]
            mood = ["sun", "smile", "dance"] if labels[t] else ["rain", "tears", "alone"]
        else:
            mel[2 * labels[t]:2 * labels[t] + 2] += 10.0
            mood = WORDS4[labels[t]]
        features[t] = mel
        tokens[t] = list(rng.choice(mood + ["road", "night", "city", "we"], size=16))
    splits = []
    for s in range(n_splits):
        order = np.random.default_rng(100 + s).permutation(ids)
        val = sorted(order[:8], key=ids.index)
        splits.append({"train": [t for t in ids if t not in val], "val": list(val)})
    return training.TrainingData(splits=splits, labels=labels, mels=FakeMelStore(features), tokens=tokens,
                                 classes=training.TrainingData.classes if classes is None else tuple(classes))


def train(model_name, layout, data=None, **options):
    return training.train_on_splits(model_name, layout, data=data or fake_data(), **{**FAST, **options})


VAL_ONLY_WORD = "moonlight"


@pytest.fixture(scope="module")
def fused_run(tmp_path_factory):
    """The fused model (both inputs, GRUs, vocabulary) trained once on 2 splits: ``(layout, data, summary)``.

    A word that only split 0's validation tracks sing checks that the vocabulary never sees them.
    """
    from mer_utils.paths import RunLayout

    data = fake_data()
    for t in data.splits[0]["val"]:
        data.tokens[t] = data.tokens[t] + [VAL_ONLY_WORD] * 5
    layout = RunLayout(tmp_path_factory.mktemp("fused_run"))
    return layout, data, train("fused", layout, data, epochs=2)


def test_outputs_have_the_contracted_files_and_columns(fused_run):
    layout, data, summary = fused_run
    assert list(summary["split"]) == [0, 1]
    assert {"model", "n_train", "n_val", "epochs_run", "best_epoch", "wall_s", *SCORES} <= set(summary.columns)
    for i, split in enumerate(data.splits):
        folder = layout.model_dir("fused", i)
        history = pd.read_csv(folder / "history.csv")
        assert list(history.columns) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
        assert list(history["epoch"]) == [1, 2]
        predictions = pd.read_csv(folder / "predictions.csv", dtype={"track_id": str})
        assert list(predictions.columns) == ["track_id", "label", "prob_positive", "predicted"]
        assert list(predictions["track_id"]) == split["val"]
        assert list(predictions["label"]) == [data.labels[t] for t in split["val"]]
        assert (predictions["predicted"] == (predictions["prob_positive"] >= 0.5)).all()
        metrics = json.loads((folder / "metrics.json").read_text())
        assert list(metrics) == list(SCORES)
        assert metrics["accuracy"] == pytest.approx(summary.loc[i, "accuracy"])
        provenance = json.loads((folder / "provenance.json").read_text())
        assert provenance["seed"] == 2017 + i
        assert provenance["parameters"]["epochs"] == 2
        assert provenance["device"]["device"] in ("CPU", "GPU")
        assert "tensorflow" in provenance["device"] and provenance["libraries"]["keras"] == keras.__version__
        assert provenance["n_train"] == 32 and provenance["n_val"] == 8 and provenance["wall_s"] > 0
        assert provenance["inputs"] == {"n_frames": N_FRAMES, "n_mels": N_MELS, "max_len": 24,
                                        "vocab_size": len(Vocabulary.load(folder / "vocabulary.json"))}
        assert (folder / "model.keras").stat().st_size > 0


def test_vocabulary_is_fit_on_training_tracks_only(fused_run):
    layout, data, _ = fused_run
    vocab = Vocabulary.load(layout.model_dir("fused", 0) / "vocabulary.json")
    assert "sun" in vocab and VAL_ONLY_WORD not in vocab
    # split 1's training part holds some of those tracks, so its vocabulary knows the word
    assert set(data.splits[0]["val"]) & set(data.splits[1]["train"])
    assert VAL_ONLY_WORD in Vocabulary.load(layout.model_dir("fused", 1) / "vocabulary.json")


def test_audio_features_are_read_batch_by_batch(fused_run):
    _, data, _ = fused_run
    assert max(data.mels.reads) <= 32  # statistics in chunks of 64 (32 training tracks), batches of 8
    assert data.mels.reads.count(8) >= 2 * 2 * (32 // 8)  # 2 splits x 2 epochs x 4 training batches


@pytest.mark.parametrize("model_name", ["audio_cnn", "lyrics_cnn"])
def test_short_training_lowers_the_loss(layout, model_name):
    data = fake_data(n_splits=1)
    train(model_name, layout, data, epochs=6)
    history = pd.read_csv(layout.model_dir(model_name, 0) / "history.csv")
    assert history["loss"].iloc[-1] < 0.8 * history["loss"].iloc[0]


def test_same_seed_same_results_on_cpu(fused_run, tmp_path):
    from mer_utils.paths import RunLayout

    first, data, _ = fused_run
    again, other = RunLayout(tmp_path / "again"), RunLayout(tmp_path / "other")
    one_split = training.TrainingData(data.splits[:1], data.labels, data.mels, data.tokens)
    train("fused", again, one_split, epochs=2)
    train("fused", other, one_split, epochs=2, seed=8)

    def outputs(run):
        folder = run.model_dir("fused", 0)
        return pd.read_csv(folder / "predictions.csv"), pd.read_csv(folder / "history.csv")

    (pred_a, hist_a), (pred_b, hist_b), (pred_c, _) = outputs(first), outputs(again), outputs(other)
    pd.testing.assert_frame_equal(pred_a, pred_b, check_exact=True)
    pd.testing.assert_frame_equal(hist_a, hist_b, check_exact=True)
    assert not np.array_equal(pred_a["prob_positive"], pred_c["prob_positive"])


def test_each_epoch_logs_one_line_and_the_training_is_the_same_without_them(layout, tmp_path, caplog,
                                                                          monkeypatch):
    from mer_utils.paths import RunLayout

    data = fake_data(n_splits=2)
    with caplog.at_level(logging.INFO, logger="mer_utils.training"):
        train("audio_cnn", layout, data, epochs=2)
    epochs = [r.getMessage() for r in caplog.records if ", epoch " in r.getMessage()]
    assert [line.split(":")[0] for line in epochs] == [
        f"audio_cnn split {s} (of 2), epoch {e}/2" for s in (0, 1) for e in (1, 2)]
    history = pd.read_csv(layout.model_dir("audio_cnn", 1) / "history.csv")
    assert f"val_loss {history['val_loss'].iloc[-1]:.3f}, val_accuracy" in epochs[-1]
    assert "audio_cnn split 0 (of 2): training on 32 tracks, validating on 8" in caplog.messages

    monkeypatch.setattr(training, "EpochProgress", lambda label, epochs: None)  # no progress callback
    quiet = RunLayout(tmp_path / "quiet")
    train("audio_cnn", quiet, fake_data(n_splits=2), epochs=2)
    for split in (0, 1):
        pd.testing.assert_frame_equal(pd.read_csv(quiet.model_dir("audio_cnn", split) / "history.csv"),
                                      pd.read_csv(layout.model_dir("audio_cnn", split) / "history.csv"),
                                      check_exact=True)


def test_a_model_trains_the_same_after_other_models_in_the_same_process(tmp_path):
    """Notebooks 04 and 05 train several models in one kernel by hand, one per kernel under the runner."""
    from mer_utils.paths import RunLayout

    first, after = RunLayout(tmp_path / "first"), RunLayout(tmp_path / "after")
    train("audio_cnn", first, fake_data(n_splits=1), epochs=2)
    train("lyrics_cnn", RunLayout(tmp_path / "between"), fake_data(n_splits=1), epochs=2)
    train("audio_cnn", after, fake_data(n_splits=1), epochs=2)
    for name in ("history.csv", "predictions.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(first.model_dir("audio_cnn", 0) / name),
                                      pd.read_csv(after.model_dir("audio_cnn", 0) / name), check_exact=True)


def test_saved_model_gives_the_saved_predictions(fused_run):
    layout, data, _ = fused_run
    folder = layout.model_dir("fused", 1)
    model = training.load_model(layout, "fused", 1)
    saved = pd.read_csv(folder / "predictions.csv", dtype={"track_id": str})
    vocab = Vocabulary.load(folder / "vocabulary.json")
    val = list(saved["track_id"])
    inputs = {"mel": data.mels.batch(val), "tokens": vocab.encode([data.tokens[t] for t in val], max_len=24)}
    np.testing.assert_allclose(model.predict(inputs, verbose=0)[:, 1], saved["prob_positive"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no trained model at .*split_3.* run the notebook that trains fused"):
        training.load_model(layout, "fused", 3)
    assert not (layout.models_dir / "fused" / "split_3").exists(), "no empty split folder left behind"


def test_early_stopping_restores_the_best_epoch(layout):
    # A learning rate far too high makes the validation loss wander: training stops early
    # and the saved predictions come from the epoch with the lowest validation loss.
    data = fake_data(n_splits=1)
    summary = train("lyrics_cnn", layout, data, epochs=8, patience=1, learning_rate=0.5)
    history = pd.read_csv(layout.model_dir("lyrics_cnn", 0) / "history.csv")
    best = int(history["val_loss"].idxmin()) + 1
    assert summary.loc[0, "best_epoch"] == best
    assert summary.loc[0, "epochs_run"] == len(history) == min(best + 1, 8)
    assert summary.loc[0, "accuracy"] == pytest.approx(history.loc[best - 1, "val_accuracy"])


def test_class_weights_balance_the_classes():
    assert training.balanced_class_weights([0, 0, 0, 1]) == {0: 4 / 6, 1: 4 / 2}
    assert training.balanced_class_weights([0, 0, 1, 2, 2, 2], 3) == {0: 6 / 6, 1: 6 / 3, 2: 6 / 9}


def test_class_weights_option_trains(layout):
    data = fake_data(n_splits=1)
    data.splits[0]["train"] = [t for t in data.splits[0]["train"] if data.labels[t] == 0 or t < "t010"]
    summary = train("lyrics_cnn", layout, data, epochs=1, class_weights=True)
    assert summary.loc[0, "n_train"] == len(data.splits[0]["train"])


def test_mel_band_statistics_match_numpy():
    data = fake_data(n_tracks=10)
    ids = data.mels.ids[:7]
    mean, variance = training.mel_band_statistics(data.mels, ids, chunk_size=3)
    stacked = data.mels.batch(ids).astype(np.float64)
    np.testing.assert_allclose(mean, stacked.mean(axis=(0, 1)), rtol=1e-10)
    np.testing.assert_allclose(variance, stacked.var(axis=(0, 1)), rtol=1e-8)
    assert data.mels.reads[:3] == [3, 3, 1]


def test_dataset_batches_shapes_and_order():
    data = fake_data(n_tracks=10)
    ids = data.mels.ids
    labels = np.array([data.labels[t] for t in ids])
    tokens = np.arange(10 * 5, dtype=np.int32).reshape(10, 5)
    batches = list(training.make_dataset(ids, labels, mels=data.mels, tokens=tokens, batch_size=4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    x, y = batches[0]
    assert x["mel"].shape == (4, N_FRAMES, N_MELS) and x["mel"].dtype == tf.float32
    np.testing.assert_array_equal(x["tokens"], tokens[:4])
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), labels)

    shuffled = training.make_dataset(ids, labels, tokens=tokens, batch_size=10, shuffle=True, seed=3)
    first, second = (next(iter(shuffled))[0]["tokens"][:, 0].numpy() for _ in range(2))
    again = next(iter(training.make_dataset(ids, labels, tokens=tokens, batch_size=10, shuffle=True, seed=3)))
    assert sorted(first) == list(tokens[:, 0])
    assert not np.array_equal(first, second), "a new epoch reshuffles"
    np.testing.assert_array_equal(first, again[0]["tokens"][:, 0])


def test_bad_data_and_options_raise_clear_errors(layout):
    data = fake_data(n_splits=1)
    with pytest.raises(ValueError, match="audio_cnn needs mel features .notebook 02., but none were given"):
        training.validate_training_data(training.TrainingData(data.splits, data.labels, tokens=data.tokens),
                                        "audio_cnn")
    del data.tokens[data.splits[0]["val"][0]]
    with pytest.raises(ValueError, match="split 0 val: 1 tracks have no lyrics tokens"):
        training.validate_training_data(data, "fused")
    one_class = fake_data(n_splits=1)
    one_class.splits[0]["train"] = [t for t in one_class.splits[0]["train"] if one_class.labels[t] == 1]
    with pytest.raises(ValueError, match=r"lyrics_cnn: split 0 trains on class \[1\] only"):
        training.validate_training_data(one_class, "lyrics_cnn")
    with pytest.raises(ValueError, match="no splits to train on"):
        training.validate_training_data(training.TrainingData([], {}, tokens={}), "lyrics_cnn")
    with pytest.raises(ValueError, match="invalid training options: epochs=0, dropout=1.5"):
        training.TrainingOptions(epochs=0, dropout=1.5)
    with pytest.raises(ValueError, match="unknown model 'audio_svm'"):
        training.train_on_splits("audio_svm", layout, data=data)


class FakeGPU:
    name = "/physical_device:GPU:0"
    device_type = "GPU"


def test_gpu_path_with_detection_mocked(monkeypatch):
    """With a GPU: memory growth, mixed precision when asked, float32 softmax, no forced determinism."""
    grown = []
    monkeypatch.setattr(training, "_device", None)
    monkeypatch.setattr(training, "_physical_gpus", lambda: [FakeGPU()])
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", lambda gpu, flag: grown.append((gpu.name, flag)))
    determinism = []
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: determinism.append(True))
    try:
        info = training.configure_device(mixed_precision=True)
        assert info == {"device": "GPU", "gpus": [FakeGPU.name], "mixed_precision": True,
                        "dtype_policy": "mixed_float16", "deterministic_ops": False, "replicas": 1,
                        "tensorflow": tf.__version__}
        assert grown == [(FakeGPU.name, True)] and not determinism
        model = training.MODEL_BUILDERS["audio_cnn_rnn"](n_frames=N_FRAMES, n_mels=N_MELS)
        assert model.get_layer("audio_gru1").compute_dtype == "float16"
        assert model.output.dtype == "float32"
        assert training.configure_device(mixed_precision=False)["dtype_policy"] == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_cpu_ignores_mixed_precision_and_is_deterministic(monkeypatch, caplog):
    monkeypatch.setattr(training, "_device", None)
    monkeypatch.setattr(training, "_physical_gpus", lambda: [])
    with caplog.at_level(logging.WARNING, logger="mer_utils.training"):
        info = training.configure_device(mixed_precision=True)
    assert info["device"] == "CPU" and info["gpus"] == []
    assert not info["mixed_precision"] and info["dtype_policy"] == "float32" and info["deterministic_ops"]
    assert "no GPU found" in caplog.text


def test_report_tables_and_curves(fused_run):
    from mer_utils import model_report

    layout, _, summary = fused_run
    table = model_report.scores_table(summary)
    assert list(table.index) == [0, 1, "mean", "std"]
    assert table.loc[0, "n_train"] == 32 and str(table["n_train"].dtype) == "Int64", "counts print as integers"
    assert table.loc["mean", "n_train"] is pd.NA
    assert table.loc["mean", "accuracy"] == pytest.approx(summary["accuracy"].mean(), abs=1e-4)
    assert table.loc["std", "accuracy"] == pytest.approx(summary["accuracy"].std(ddof=1), abs=1e-4)
    comparison = model_report.paper_comparison(summary)
    assert comparison.loc[0, "paper_accuracy"] == 0.8046 and comparison.loc[0, "runs"] == 2
    fig = model_report.plot_training_curves(layout, "fused")
    loss_axis, accuracy_axis = fig.axes
    assert len(loss_axis.lines) == len(accuracy_axis.lines) == 2 * 3  # per split: training, validation, best epoch
    np.testing.assert_allclose(loss_axis.lines[1].get_ydata(),
                               pd.read_csv(layout.model_dir("fused", 0) / "history.csv")["val_loss"])
    with pytest.raises(ValueError, match="no training history for audio_rnn"):
        model_report.plot_training_curves(layout, "audio_rnn")


def test_training_does_not_import_the_command_line_runner():
    code = "import sys, mer_utils.training; print('mer_utils.run' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"


# --- N classes, and the paper's two as before ------------------------------------------------

def fake_data_4():
    """:func:`fake_data` of four classes, one split (8 validation tracks of 48)."""
    return fake_data(n_tracks=48, n_splits=1, classes=("c0", "c1", "c2", "c3"))


@pytest.mark.parametrize("model_name", ["audio_cnn", "lyrics_cnn"])
def test_four_classes_train_a_four_way_softmax(layout, model_name):
    data = fake_data_4()
    summary = train(model_name, layout, data, epochs=6)
    folder = layout.model_dir(model_name, 0)
    assert training.load_model(layout, model_name, 0).output.shape == (None, 4)
    predictions = pd.read_csv(folder / "predictions.csv", dtype={"track_id": str})
    columns = ["prob_c0", "prob_c1", "prob_c2", "prob_c3"]
    assert list(predictions.columns) == ["track_id", "label", *columns, "predicted"]
    assert predictions["label"].tolist() == [data.labels[t] for t in data.splits[0]["val"]]
    np.testing.assert_allclose(predictions[columns].sum(axis=1), 1.0, atol=1e-5)
    assert predictions["predicted"].tolist() == predictions[columns].to_numpy().argmax(axis=1).tolist()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert list(metrics) == ["accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "n"]
    assert summary.loc[0, "accuracy"] > 0.5, "well above the chance of 0.25 on separable classes"
    assert json.loads((folder / "provenance.json").read_text())["classes"] == ["c0", "c1", "c2", "c3"]


def test_labels_outside_the_classes_are_refused():
    data = fake_data_4()
    data.classes = ("c0", "c1")
    with pytest.raises(ValueError, match=r"labels must be class indices of the 2 classes \('c0', 'c1'\), "
                                         r"found \[2, 3\]; give TrainingData the run's classes"):
        training.validate_training_data(data, "lyrics_cnn")


#: What the previous version (two classes only) wrote for one split, 1 epoch, learning rate 1e-4 (``FAST``
#: otherwise): validation probabilities of the positive class, and the epoch's loss, accuracy, val_loss.
BEFORE_N_CLASSES = {
    "audio_cnn": ([0.5918235182762146, 0.5696730017662048, 0.5981903076171875, 0.46083229780197144,
                   0.43416929244995117, 0.6267402172088623, 0.41435256600379944, 0.4293164610862732],
                  [0.6553623676300049, 0.65625, 0.5439319610595703]),
    "lyrics_cnn": ([0.5367794036865234, 0.5375988483428955, 0.5399735569953918, 0.5251560807228088,
                    0.5290330052375793, 0.5422592759132385, 0.5179119110107422, 0.5209346413612366],
                   [0.6798248291015625, 0.5625, 0.6792925000190735]),
}


@pytest.mark.parametrize("model_name", list(BEFORE_N_CLASSES))
def test_two_classes_train_as_before_n_classes(layout, model_name):
    """Same layers, seeds and initialisation order: the binary outputs are the previous version's."""
    train(model_name, layout, fake_data(n_splits=1), epochs=1, learning_rate=1e-4)
    folder = layout.model_dir(model_name, 0)
    predictions = pd.read_csv(folder / "predictions.csv")
    assert list(predictions.columns) == ["track_id", "label", "prob_positive", "predicted"]
    probs, epoch = BEFORE_N_CLASSES[model_name]
    np.testing.assert_allclose(predictions["prob_positive"], probs, rtol=1e-5)
    history = pd.read_csv(folder / "history.csv")
    np.testing.assert_allclose(history.loc[0, ["loss", "accuracy", "val_loss"]].astype(float), epoch, rtol=1e-5)
    assert list(json.loads((folder / "metrics.json").read_text())) == list(SCORES)


def test_wordllama_start_gives_the_embedding_its_vectors_and_random_stays_the_paper(tmp_path):
    """With ``embedding_init="wordllama"`` each vocabulary word's row starts at its WordLlama vector."""
    from mer_utils.paths import RunLayout
    from mer_utils.pretrained import lyrics_features

    data = fake_data(n_splits=1)
    # a learning rate so small that one epoch leaves the start visible in the saved weights
    options = {"epochs": 1, "learning_rate": 1e-9}
    pretrained, scratch = RunLayout(tmp_path / "wordllama"), RunLayout(tmp_path / "random")
    train("lyrics_cnn", pretrained, data, embedding_init="wordllama", **options)
    train("lyrics_cnn", scratch, data, **options)
    vocab = Vocabulary.load(pretrained.model_dir("lyrics_cnn", 0) / "vocabulary.json")
    expected = lyrics_features.embedding_matrix(vocab, dim=200)

    def embedding(layout):
        return training.load_model(layout, "lyrics_cnn", 0).get_layer("lyrics_word_embedding").get_weights()[0]

    np.testing.assert_allclose(embedding(pretrained), expected, atol=1e-5)
    assert not np.allclose(embedding(scratch), expected, atol=1e-2), "the paper's start is random"
    record = json.loads((pretrained.model_dir("lyrics_cnn", 0) / "provenance.json").read_text())
    assert record["parameters"]["embedding_init"] == "wordllama"
    with pytest.raises(ValueError, match=r"embedding_init='glove'.*one of random, wordllama"):
        training.TrainingOptions(embedding_init="glove")


# --- random crops (crop_frames) ----------------------------------------------------------------

def test_crop_is_off_by_default_and_prediction_windows_cover_the_clip():
    """``crop_frames=0`` (the paper's protocol) by default; the windows of a clip cover it without padding."""
    from mer_utils import config

    assert config.CROP_FRAMES == 0 and training.TrainingOptions().crop_frames == 0
    assert training.window_starts(1024, 256).tolist() == [0, 256, 512, 768]
    assert training.window_starts(120, 50).tolist() == [0, 50, 70], "the last window ends at the clip's end"
    assert training.window_starts(120, 120).tolist() == [0]


def test_crop_off_gives_the_previous_outputs(layout):
    train("audio_cnn", layout, fake_data(n_splits=1), epochs=1, learning_rate=1e-4, crop_frames=0)
    folder = layout.model_dir("audio_cnn", 0)
    probs, epoch = BEFORE_N_CLASSES["audio_cnn"]
    np.testing.assert_allclose(pd.read_csv(folder / "predictions.csv")["prob_positive"], probs, rtol=1e-5)
    history = pd.read_csv(folder / "history.csv")
    np.testing.assert_allclose(history.loc[0, ["loss", "accuracy", "val_loss"]].astype(float), epoch, rtol=1e-5)
    record = json.loads((folder / "provenance.json").read_text())
    assert record["parameters"]["crop_frames"] == 0 and record["inputs"]["n_frames"] == N_FRAMES


def frame_numbered_store(n_tracks=6):
    """Mels whose value is ``1000 * track + frame`` in every band: a window tells its track and first frame."""
    return FakeMelStore({f"t{k}": np.tile(1000.0 * k + np.arange(N_FRAMES), (N_MELS, 1)).astype(np.float32)
                         for k in range(n_tracks)})


def random_windows(store, *, seed, epochs=2, crop_frames=50):
    """``[{track: first frame}]`` per pass over a shuffled, cropped dataset (one batch of every track)."""
    dataset = training.make_dataset(store.ids, np.zeros(len(store.ids)), mels=store, batch_size=len(store.ids),
                                    shuffle=True, seed=seed, crop_frames=crop_frames)
    passes = []
    for _ in range(epochs):
        (x, _), = list(dataset)
        mel = x["mel"].numpy()
        assert mel.shape == (len(store.ids), crop_frames, N_MELS)
        first = mel[:, 0, 0]
        np.testing.assert_array_equal(mel[:, :, 0], first[:, None] + np.arange(crop_frames)), "consecutive frames"
        passes.append({f"t{int(v // 1000)}": int(v % 1000) for v in first})
    return passes


def test_random_windows_change_every_epoch_and_repeat_with_the_seed():
    store = frame_numbered_store()
    first, second = random_windows(store, seed=3)
    assert sorted(first) == store.ids and all(0 <= s <= N_FRAMES - 50 for s in [*first.values(), *second.values()])
    assert first != second, "a new epoch draws new windows"
    assert len(set(first.values())) > 1, "each clip draws its own window"
    assert random_windows(store, seed=3) == [first, second], "the same seed draws the same windows"
    assert random_windows(store, seed=4)[0] != first


def test_cropped_training_is_reproducible_on_cpu(tmp_path):
    from mer_utils.paths import RunLayout

    runs = [RunLayout(tmp_path / name) for name in ("a", "b")]
    for run in runs:
        train("audio_cnn", run, fake_data(n_splits=1), epochs=2, crop_frames=108)
    for name in ("predictions.csv", "history.csv"):
        a, b = (pd.read_csv(run.model_dir("audio_cnn", 0) / name) for run in runs)
        pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize(("model_name", "crop_frames"), [("audio_rnn", 50), ("fused", 108)])
def test_a_clip_is_predicted_as_the_mean_of_its_windows(layout, model_name, crop_frames):
    from mer_utils import beyond

    data = fake_data(n_splits=1)
    summary = train(model_name, layout, data, epochs=2, crop_frames=crop_frames, learning_rate=1e-3)
    folder = layout.model_dir(model_name, 0)
    model = training.load_model(layout, model_name, 0)
    assert model.get_layer("mel").output.shape == (None, crop_frames, N_MELS)
    saved = pd.read_csv(folder / "predictions.csv", dtype={"track_id": str})
    val = data.splits[0]["val"]
    assert list(saved["track_id"]) == val, "one row per clip"
    whole = data.mels.batch(val)
    inputs = {}
    if model_name == "fused":
        vocab = Vocabulary.load(folder / "vocabulary.json")
        inputs["tokens"] = vocab.encode([data.tokens[t] for t in val], max_len=24)
    manual = np.mean([model.predict({"mel": whole[:, s:s + crop_frames], **inputs}, verbose=0)
                      for s in training.window_starts(N_FRAMES, crop_frames)], axis=0)
    np.testing.assert_allclose(saved["prob_positive"], manual[:, 1], rtol=1e-5, atol=1e-6)
    # the last epoch's validation (kept: patience 0) is the one of the averaged probabilities
    history = pd.read_csv(folder / "history.csv")
    y = np.array([data.labels[t] for t in val])
    assert history["val_accuracy"].iloc[-1] == pytest.approx(summary.loc[0, "accuracy"])
    expected_loss = -np.mean(np.log(np.clip(manual[np.arange(len(y)), y], 1e-7, 1)))  # Keras clips at 1e-7
    assert history["val_loss"].iloc[-1] == pytest.approx(expected_loss, rel=1e-4)
    record = json.loads((folder / "provenance.json").read_text())
    assert record["parameters"]["crop_frames"] == crop_frames and record["inputs"]["n_frames"] == crop_frames
    # the never-tuned rows predict their outer fold the same way
    outer = beyond._predict_outer(training, folder, model_name, data, val, {**FAST, "crop_frames": crop_frames})
    np.testing.assert_allclose(outer, manual, rtol=1e-5, atol=1e-6)


def test_bad_crop_frames_raise_precise_errors(layout):
    data = fake_data(n_splits=1)
    with pytest.raises(ValueError, match=r"invalid training options: crop_frames=-1 .*crop_frames an integer >= 0"):
        training.TrainingOptions(crop_frames=-1)
    with pytest.raises(ValueError, match=r"invalid training options: crop_frames=64.0"):
        training.TrainingOptions(crop_frames=64.0)
    with pytest.raises(ValueError, match=r"crop_frames=100 is too short for audio_cnn: 100 frames are too few for "
                                         r"pool sizes \(3, 3, 3, 2, 2\): need at least 108"):
        train("audio_cnn", layout, data, crop_frames=100)
    with pytest.raises(ValueError, match="crop_frames=100 is too short for fused: .*need at least 108"):
        training.validate_crop_frames("fused", 100, N_FRAMES)
    with pytest.raises(ValueError, match=r"crop_frames=121 is longer than the clips' 120 frames: give at most 120"):
        train("audio_rnn", layout, data, crop_frames=121)
    with pytest.raises(ValueError, match="crop_frames=50: lyrics_cnn reads no mel spectrogram"):
        train("lyrics_cnn", layout, data, crop_frames=50)
    training.validate_crop_frames("audio_rnn", 1, N_FRAMES)  # a GRU reads any length
    training.validate_crop_frames("audio_cnn_rnn", 108, N_FRAMES)
    assert not layout.models_dir.exists(), "refused before any training"


def test_four_classes_train_on_random_crops(layout):
    data = fake_data_4()
    summary = train("audio_cnn", layout, data, epochs=6, crop_frames=108)
    predictions = pd.read_csv(layout.model_dir("audio_cnn", 0) / "predictions.csv", dtype={"track_id": str})
    columns = ["prob_c0", "prob_c1", "prob_c2", "prob_c3"]
    assert list(predictions.columns) == ["track_id", "label", *columns, "predicted"]
    assert predictions["track_id"].tolist() == data.splits[0]["val"]
    np.testing.assert_allclose(predictions[columns].sum(axis=1), 1.0, atol=1e-5)
    assert summary.loc[0, "accuracy"] > 0.5, "well above the chance of 0.25 on separable classes"
