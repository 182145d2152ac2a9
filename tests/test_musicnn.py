"""musicnn: the input, the port against the original package's outputs, bad input, a missing wheel."""

import importlib.util
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from mer_utils.accounting import Rejected
from mer_utils.pretrained import musicnn, musicnn_input

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The original's outputs on the clips of scripts/make_musicnn_reference.py (which says how they were made).
REFERENCE = np.load(REPO_ROOT / "tests" / "data" / "musicnn_reference.npz")
#: Largest absolute difference allowed from the original. Measured: 1.2e-6 on the tag
#: probabilities (in [0, 1]) and 5.5e-6 on the penultimate layer (values up to ~5).
TAGS_ATOL = 1e-5
PENULTIMATE_ATOL = 1e-4


def _reference_script():
    spec = importlib.util.spec_from_file_location("make_musicnn_reference",
                                                  REPO_ROOT / "scripts" / "make_musicnn_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE_SCRIPT = _reference_script()
CLIPS = REFERENCE_SCRIPT.reference_clips()


@pytest.fixture(scope="module")
def networks():
    return {model: musicnn.Musicnn(model) for model in REFERENCE_SCRIPT.MODELS}


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory):
    """The reference clips as float WAV files, as the reference script wrote them for the original."""
    folder = tmp_path_factory.mktemp("musicnn_clips")
    files = {}
    for name, (samples, sample_rate) in CLIPS.items():
        files[name] = folder / f"{name}.wav"
        sf.write(files[name], samples, sample_rate, subtype="FLOAT")
    return files


def tone(seconds, *, sample_rate=16000, amplitude=0.3):
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


# --- the input ---------------------------------------------------------------------

def test_input_constants_are_the_wheels():
    from musicnn import configuration

    assert (musicnn_input.SAMPLE_RATE, musicnn_input.N_FFT, musicnn_input.HOP, musicnn_input.N_MELS) == \
        (configuration.SR, configuration.FFT_SIZE, configuration.FFT_HOP, configuration.N_MELS)
    assert musicnn_input.PATCH_FRAMES == librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1


def test_patches_agree_with_librosa():
    y = np.random.default_rng(0).normal(scale=0.1, size=int(7.3 * 16000)).astype(np.float32)
    power = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
    expected = np.log10(10000 * power.astype(np.float32) + 1)
    patches = musicnn_input.musicnn_patches(y)
    assert patches.shape == (2, 187, 96) and patches.dtype == np.float32
    np.testing.assert_allclose(patches.reshape(-1, 96), expected[:2 * 187], rtol=1e-4, atol=1e-5)


def test_overlapping_patches_are_windows_of_the_spectrogram():
    y = tone(9.0)
    whole = musicnn_input.musicnn_patches(y, patch_frames=560).reshape(560, 96)
    patches = musicnn_input.musicnn_patches(y, patch_hop=100)
    assert patches.shape == (musicnn_input.n_patches(len(y), patch_hop=100), 187, 96) == (4, 187, 96)
    for k, patch in enumerate(patches):
        np.testing.assert_allclose(patch, whole[100 * k:100 * k + 187], rtol=1e-6)


def test_patch_count_drops_the_incomplete_tail():
    shortest = (187 - 1) * 256  # the centred frames of one patch
    assert musicnn_input.n_patches(shortest - 1) == 0
    assert musicnn_input.n_patches(shortest) == 1
    assert musicnn_input.n_patches(30 * 16000) == 10


# --- the port against the original ---------------------------------------------------

def test_clips_are_the_ones_the_reference_saw():
    for name, (samples, _) in CLIPS.items():
        np.testing.assert_allclose(REFERENCE_SCRIPT.clip_checksum(samples), REFERENCE[f"{name}/checksum"],
                                   rtol=1e-7, err_msg=f"clip {name} is generated differently from the fixture's")


@pytest.mark.parametrize("model", ["MSD_musicnn", "MTT_musicnn"])
@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_port_reproduces_the_original(networks, clip_files, model, clip):
    tags, penultimate = networks[model].predict(musicnn_input.load_patches(clip_files[clip]))
    np.testing.assert_allclose(tags, REFERENCE[f"{model}/{clip}/taggram"], rtol=0, atol=TAGS_ATOL)
    np.testing.assert_allclose(penultimate, REFERENCE[f"{model}/{clip}/penultimate"], rtol=0, atol=PENULTIMATE_ATOL)


def test_clips_get_different_tags(networks, clip_files):
    """The symptom of the original's float16 overflow: every clip tagged alike."""
    top = {clip: int(np.argmax(networks["MTT_musicnn"].clip_features(musicnn_input.load_patches(path)).tags))
           for clip, path in clip_files.items()}
    assert networks["MTT_musicnn"].tag_names[top["drums"]] == "drums"
    assert len(set(top.values())) >= 3, top


def test_clip_features_pool_the_patches(networks, clip_files):
    net = networks["MSD_musicnn"]
    features = net.clip_features(musicnn_input.load_patches(clip_files["sweep"]))
    reference = REFERENCE["MSD_musicnn/sweep/penultimate"]
    assert features.n_patches == 3
    np.testing.assert_allclose(features.tags, REFERENCE["MSD_musicnn/sweep/taggram"].mean(axis=0), atol=TAGS_ATOL)
    np.testing.assert_allclose(features.embedding, np.concatenate([reference.mean(0), reference.std(0), reference.max(0)]),
                               atol=PENULTIMATE_ATOL)
    names = net.embedding_names()
    assert len(names) == features.embedding.shape[0] == 600
    assert names[0] == "penultimate_mean_0" and names[-1] == "penultimate_max_199"


def test_tag_names():
    assert len(musicnn.tag_names("MSD_musicnn")) == len(musicnn.tag_names("MTT_musicnn")) == 50
    assert musicnn.tag_names("MSD_musicnn")[:2] == ("rock", "pop")
    assert musicnn.tag_names("MTT_musicnn")[:2] == ("guitar", "classical")
    with pytest.raises(ValueError, match="unknown musicnn model 'MSD_vgg'"):
        musicnn.tag_names("MSD_vgg")


def test_eager_execution_stays_on(networks):
    import tensorflow as tf

    assert tf.executing_eagerly()


# --- bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("make, reason", [
    (lambda path: sf.write(path, tone(2.9), 16000), "too_short"),
    (lambda path: sf.write(path, np.zeros(5 * 16000, dtype=np.float32), 16000), "silent_audio"),
    (lambda path: path.write_bytes(b"RIFF not really a wave file" * 10), "unreadable_audio"),
    (lambda path: None, "missing_audio"),
])
def test_bad_files_are_rejected_with_a_reason(tmp_path, make, reason):
    path = tmp_path / "clip.wav"
    make(path)
    with pytest.raises(Rejected) as rejected:
        musicnn_input.load_patches(path)
    assert rejected.value.reason == reason
    assert str(path) in rejected.value.detail


@pytest.mark.parametrize("y, reason", [
    (tone(2.9), "too_short"),
    (np.zeros(4 * 16000, dtype=np.float32), "silent_audio"),
    (np.full(4 * 16000, np.nan, dtype=np.float32), "extraction_failed"),
])
def test_bad_clips_are_rejected_with_a_reason(y, reason):
    with pytest.raises(Rejected) as rejected:
        musicnn_input.musicnn_patches(y)
    assert rejected.value.reason == reason


def test_a_long_file_is_read_up_to_max_seconds(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, tone(20.0, sample_rate=22050), 22050)
    assert musicnn_input.load_patches(path, max_seconds=12.0).shape == (4, 187, 96)
    assert musicnn_input.load_patches(path).shape == (6, 187, 96)  # all 20 s of it, unpadded


def test_missing_wheel_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "musicnn" else real_find_spec(name, *args))
    with pytest.raises(musicnn.MusicnnUnavailable, match=r"musicnn==0\.1\.0.*pip install --no-deps musicnn==0\.1\.0"):
        musicnn.Musicnn("MSD_musicnn")


def test_broken_checkpoint_says_how_to_reinstall(monkeypatch, tmp_path):
    (tmp_path / ".index").write_bytes(b"not a checkpoint index")
    monkeypatch.setattr(musicnn, "checkpoint_prefix", lambda model: f"{tmp_path}/")
    with pytest.raises(musicnn.MusicnnUnavailable, match=r"does not load.*pip install --no-deps musicnn==0\.1\.0"):
        musicnn.read_checkpoint("MSD_musicnn")
