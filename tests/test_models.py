"""The six model builders against the paper's description (section 3)."""

import inspect
import math
import subprocess
import sys

import keras
import numpy as np
import pytest

from mer_utils import catalogue, models

VOCAB = 50  # small vocabularies keep the lyrics models cheap to build


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.fixture
def float16_policy():
    """Keras' mixed-precision policy for one test, restored afterwards."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def conv_params(kernel, n_in, n_out):
    return kernel * n_in * n_out + n_out


def dense_params(n_in, n_out):
    return n_in * n_out + n_out


def gru_params(n_in, units):
    # Keras' GRU (reset_after=True): 3 gates, input and recurrent kernels, two bias vectors.
    return 3 * (n_in * units + units * units + 2 * units)


def test_audio_cnn_matches_the_paper():
    model = models.build_audio_cnn()
    assert layer_types(model) == (
        ["InputLayer", "Normalization"] + ["Conv1D", "MaxPooling1D"] * 5 + ["Flatten", "Dense", "Dropout", "Dense"]
    )
    convs = [model.get_layer(f"audio_conv{i}") for i in range(1, 6)]
    assert [c.filters for c in convs] == [128, 128, 64, 64, 64]
    assert all(c.kernel_size == (3,) and c.activation.__name__ == "elu" for c in convs)
    assert [model.get_layer(f"audio_pool{i}").pool_size for i in range(1, 6)] == [(3,), (3,), (3,), (2,), (2,)]
    assert model.input["mel"].shape == (None, 1024, 128)
    # 'same' convolutions: only the pools shorten 1024 frames: 341, 113, 37, 18, 9.
    assert model.get_layer("audio_pool5").output.shape == (None, 9, 64)
    assert model.get_layer("audio_fc").output.shape == (None, 64)
    assert model.output.shape == (None, 2)
    expected = (conv_params(3, 128, 128) + conv_params(3, 128, 128) + conv_params(3, 128, 64)
                + conv_params(3, 64, 64) + conv_params(3, 64, 64)  # 147,904 in the conv stack
                + dense_params(9 * 64, 64) + dense_params(64, 2))
    assert expected == 184_962
    assert model.count_params() == expected


def test_audio_rnn_reads_every_frame_with_two_grus():
    model = models.build_audio_rnn()
    assert layer_types(model) == ["InputLayer", "Normalization", "GRU", "GRU", "Dense", "Dropout", "Dense"]
    assert model.get_layer("audio_gru1").output.shape == (None, 1024, 64)
    assert model.get_layer("audio_gru2").output.shape == (None, 64)
    assert model.count_params() == gru_params(128, 64) + gru_params(64, 64) + dense_params(64, 64) + dense_params(64, 2)


def test_audio_cnn_rnn_is_the_conv_stack_then_two_grus():
    model = models.build_audio_cnn_rnn()
    assert layer_types(model) == (
        ["InputLayer", "Normalization"] + ["Conv1D", "MaxPooling1D"] * 5 + ["GRU", "GRU", "Dense", "Dropout", "Dense"]
    )
    assert model.get_layer("audio_gru1").output.shape == (None, 9, 64)
    cnn = models.build_audio_cnn()
    conv_stack = sum(cnn.get_layer(f"audio_conv{i}").count_params() for i in range(1, 6))
    assert model.count_params() == (conv_stack + gru_params(64, 64) * 2 + dense_params(64, 64) + dense_params(64, 2))


def test_lyrics_cnn_matches_the_paper():
    model = models.build_lyrics_cnn()
    assert layer_types(model) == ["InputLayer", "Embedding", "Conv1D", "GlobalMaxPooling1D", "Dense", "Dropout", "Dense"]
    assert model.input["tokens"].shape == (None, 400)
    assert model.get_layer("lyrics_word_embedding").output.shape == (None, 400, 200)
    assert model.get_layer("lyrics_conv").output.shape == (None, 398, 250)  # 'valid' convolution
    expected = 27_496 * 200 + conv_params(3, 200, 250) + dense_params(250, 64) + dense_params(64, 2)
    assert expected == 5_665_644
    assert model.count_params() == expected


def test_lyrics_rnn_masks_padding():
    model = models.build_lyrics_rnn(vocab_size=VOCAB)
    assert layer_types(model) == ["InputLayer", "Embedding", "GRU", "Dense", "Dropout", "Dense"]
    assert model.get_layer("lyrics_word_embedding").mask_zero
    assert model.count_params() == VOCAB * 200 + gru_params(200, 64) + dense_params(64, 64) + dense_params(64, 2)
    # Masked padding: more trailing zeros do not change the prediction.
    short = models.build_lyrics_rnn(vocab_size=VOCAB, max_len=20)
    padded = models.build_lyrics_rnn(vocab_size=VOCAB, max_len=40)
    padded.set_weights(short.get_weights())
    tokens = np.array([[5, 7, 9] + [0] * 17], dtype="int32")
    np.testing.assert_allclose(short.predict({"tokens": tokens}, verbose=0),
                               padded.predict({"tokens": np.pad(tokens, ((0, 0), (0, 20)))}, verbose=0), rtol=1e-5)


def test_fused_reuses_both_branches():
    fused = models.build_fused(vocab_size=VOCAB)
    audio = {layer.name for layer in models.build_audio_cnn_rnn().layers}
    lyrics = {layer.name for layer in models.build_lyrics_cnn(vocab_size=VOCAB).layers}
    names = {layer.name for layer in fused.layers}
    assert names == (audio | lyrics) - {"emotion"} | {"fused_concat", "fused_fc", "emotion"}
    assert fused.get_layer("fused_concat").output.shape == (None, 128)
    assert fused.get_layer("fused_fc").activation.__name__ == "relu"
    branches = fused.count_params() - dense_params(128, 64) - dense_params(64, 2)
    audio_params = models.build_audio_cnn_rnn().count_params() - dense_params(64, 2)
    lyrics_params = models.build_lyrics_cnn(vocab_size=VOCAB).count_params() - dense_params(64, 2)
    assert branches == audio_params + lyrics_params


@pytest.mark.parametrize("n_classes", [2, 5])
@pytest.mark.parametrize("name", list(models.MODEL_BUILDERS))
def test_every_model_outputs_class_probabilities(name, n_classes):
    options = {"n_classes": n_classes}
    if "mel" in models.MODEL_INPUTS[name]:
        options.update(n_frames=120, n_mels=8)
    if "tokens" in models.MODEL_INPUTS[name]:
        options.update(vocab_size=VOCAB, max_len=30)
    model = models.MODEL_BUILDERS[name](**options)
    assert model.name == name
    rng = np.random.default_rng(0)
    batch = {"mel": rng.normal(size=(3, 120, 8)).astype("float32"),
             "tokens": rng.integers(0, VOCAB, size=(3, 30)).astype("int32")}
    probs = model.predict({k: batch[k] for k in models.MODEL_INPUTS[name]}, verbose=0)
    assert probs.shape == (3, n_classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    emotion = model.get_layer("emotion")
    assert emotion.activation.__name__ == "softmax" and emotion.count_params() == dense_params(64, n_classes)


def test_n_classes_changes_only_the_output_layer():
    """Every layer but the softmax keeps its shape and its parameters; the default is the paper's two classes."""
    two, five = models.build_fused(vocab_size=VOCAB), models.build_fused(vocab_size=VOCAB, n_classes=5)
    assert [layer.name for layer in two.layers] == [layer.name for layer in five.layers]
    assert five.count_params() - two.count_params() == dense_params(64, 5) - dense_params(64, 2)
    keras.utils.set_random_seed(3)
    default = models.build_lyrics_cnn(vocab_size=VOCAB, max_len=30)
    keras.utils.set_random_seed(3)
    explicit = models.build_lyrics_cnn(vocab_size=VOCAB, max_len=30, n_classes=2)
    for a, b in zip(default.get_weights(), explicit.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mel_standardization_uses_the_given_statistics():
    mean, variance = np.arange(8.0), np.full(8, 4.0)
    model = models.build_audio_cnn(n_frames=120, n_mels=8, mel_mean=mean, mel_variance=variance)
    standardize = keras.Model(model.input, model.get_layer("mel_standardize").output)
    mel = np.tile(mean + 2.0, (1, 120, 1)).astype("float32")  # one std above the mean in every band
    np.testing.assert_allclose(standardize.predict({"mel": mel}, verbose=0), 1.0, rtol=1e-5)


def test_mixed_precision_keeps_the_softmax_in_float32(float16_policy):
    model = models.build_fused(n_frames=120, n_mels=8, vocab_size=VOCAB, max_len=30)
    assert model.get_layer("audio_conv1").compute_dtype == "float16"
    assert model.get_layer("fused_fc").compute_dtype == "float16"
    assert model.get_layer("emotion").compute_dtype == "float32"
    assert model.output.dtype == "float32"


def test_builders_reject_impossible_shapes():
    with pytest.raises(ValueError, match="100 frames are too few .* need at least 108"):
        models.build_audio_cnn_rnn(n_frames=100)
    with pytest.raises(ValueError, match=r"one value per mel band \(128\)"):
        models.build_audio_rnn(mel_mean=np.zeros(64))
    with pytest.raises(ValueError, match="dropout must be in"):
        models.build_lyrics_cnn(vocab_size=VOCAB, dropout=1.0)
    with pytest.raises(ValueError, match="max_len .2. must be at least the kernel size .3."):
        models.build_lyrics_cnn(vocab_size=VOCAB, max_len=2)
    with pytest.raises(ValueError, match="vocab_size must count"):
        models.build_lyrics_rnn(vocab_size=1)
    with pytest.raises(ValueError, match="n_classes must be an integer of at least 2, got 1"):
        models.build_lyrics_rnn(vocab_size=VOCAB, n_classes=1)
    with pytest.raises(ValueError, match="n_classes must be an integer of at least 2, got 2.0"):
        models.build_audio_cnn(n_classes=2.0)
    with pytest.raises(ValueError, match="unknown model 'audio_lstm'; known models: audio_cnn"):
        models.validate_model_name("audio_lstm")


def test_layer_table_lists_every_layer():
    model = models.build_lyrics_cnn(vocab_size=VOCAB, max_len=30)
    table = models.layer_table(model)
    assert list(table["layer"]) == [layer.name for layer in model.layers]
    assert table["params"].sum() == model.count_params()
    assert table.set_index("layer").loc["lyrics_conv", "output_shape"] == (None, 28, 250)


def test_every_catalogue_entry_has_its_builder_and_inputs():
    names = [info.name for info in catalogue.MODELS]
    assert len(names) == len(set(names)), "one entry per model"
    for info in catalogue.MODELS:
        assert info.modality in catalogue.MODALITIES and info.inputs, info
        assert set(info.inputs) <= set(catalogue.INPUTS), info
        if info.baseline:
            assert info.builder is None and math.isnan(info.paper_accuracy), info
        else:
            assert models.MODEL_BUILDERS[info.name] is getattr(models, info.builder), info
            assert 0.5 < info.paper_accuracy < 1, info
    builders = {name for name, f in inspect.getmembers(models, inspect.isfunction) if name.startswith("build_")}
    assert builders == {info.builder for info in catalogue.MODELS if info.builder}, "no builder outside the catalogue"
    assert list(models.MODEL_BUILDERS) == list(models.MODEL_INPUTS) == ["audio_cnn", "audio_rnn", "audio_cnn_rnn",
                                                                        "lyrics_cnn", "lyrics_rnn", "fused"]


def test_catalogue_results_and_baselines_start_without_keras():
    code = ("import sys, mer_utils.catalogue, mer_utils.results, mer_utils.baselines, mer_utils.model_report; "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
