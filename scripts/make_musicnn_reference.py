"""Make tests/data/musicnn_reference.npz: the original musicnn's outputs on a few synthesized clips.

The port in :mod:`mer_utils.pretrained.musicnn` is checked against these
values by ``tests/test_musicnn.py``. They come from the original package
(``musicnn==0.1.0``, TF1 graph mode through tf-keras), which cannot run in
the project's environment, so they were made once in a throwaway one::

    python3 -m venv /tmp/musicnn-ref
    /tmp/musicnn-ref/bin/python -m pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 \\
        librosa==0.11.0 numpy==2.4.6 soundfile==0.14.0
    /tmp/musicnn-ref/bin/python -m pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /tmp/musicnn-ref/bin/python scripts/make_musicnn_reference.py

(run from the repository root; it writes tests/data/musicnn_reference.npz).

One fix is applied to the original code, in memory: ``batch_data`` casts
the mel power to float16 before ``np.log10(10000 * x + 1)``; under NumPy 2
``10000 * x`` stays float16 and overflows to inf for every loud bin, so all
clips get the same tags. The cast is replaced by float32 (the log
compression computed in float32, as the port does). And one setting:
``musicnn.configuration.BATCH_SIZE`` (patches per ``sess.run``, 1) is raised
so that a clip's patches run in one batch, because after the first batch
``extractor`` appends the first batch's penultimate layer again instead of
the new one (it unpacks the new one as ``backend_``). Everything else
(``librosa.load`` at 16 kHz with soxr, the mel-spectrogram, 3 s patches
without overlap, the graph and the checkpoints) is the package's own.

The clips (:func:`reference_clips`) are synthesized with NumPy only, so
the test regenerates them instead of committing audio; their checksums are
stored beside the outputs, and the test checks them first.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

#: Where the fixture goes, relative to the repository root.
OUTPUT = Path("tests/data/musicnn_reference.npz")
#: The checkpoints compared (the issue's choice first).
MODELS = ("MSD_musicnn", "MTT_musicnn")
#: The one line of the original changed in memory, and what it becomes.
FLOAT16_LINE = "audio_rep = audio_rep.astype(np.float16)"
FLOAT32_LINE = "audio_rep = audio_rep.astype(np.float32)"
#: Patches per forward pass: more than any clip here has, so each clip runs as one batch.
ONE_BATCH = 64


def reference_clips():
    """The fixed clips: name -> (samples, sample rate), all built deterministically with NumPy.

    Returns
    -------
    dict of str -> (np.ndarray [shape=(n_samples,) or (n_samples, 2), dtype=float32], int)
        ``arpeggio``: decaying harmonic tones, 7.6 s at 16 kHz (2 patches and a dropped tail);
        ``drums``: noise bursts and a low thump at 130 bpm, 6.1 s at 16 kHz;
        ``sweep``: a logarithmic sine sweep over a chord, 9.3 s at 44.1 kHz (resampled);
        ``stereo``: a chord left, filtered noise right, 6.4 s at 22.05 kHz (mixed down, resampled).
    """
    rng = np.random.default_rng(2017)
    clips = {}

    sr, n = 16000, int(7.6 * 16000)
    t = np.arange(n) / sr
    y = np.zeros(n)
    for k, onset in enumerate(np.arange(0, 7.6, 0.25)):
        f0 = 220 * 2 ** ((0, 3, 7, 12, 7, 3)[k % 6] / 12)
        env = np.where(t >= onset, np.exp(-(t - onset) / 0.3), 0.0)
        y += env * sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6))
    clips["arpeggio"] = (_normalised(y, 0.8), sr)

    sr, n = 16000, int(6.1 * 16000)
    t = np.arange(n) / sr
    beat = 60 / 130
    phase = t % beat
    y = np.exp(-phase / 0.03) * rng.standard_normal(n)
    y += 2 * np.exp(-phase / 0.12) * np.sin(2 * np.pi * 55 * phase)
    clips["drums"] = (_normalised(y, 0.9), sr)

    sr, n = 44100, int(9.3 * 44100)
    t = np.arange(n) / sr
    f_lo, f_hi, span = 60.0, 6000.0, 9.3
    sweep = np.sin(2 * np.pi * f_lo * span / np.log(f_hi / f_lo) * ((f_hi / f_lo) ** (t / span) - 1))
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
    clips["sweep"] = (_normalised(sweep + 0.5 * chord, 0.5), sr)

    sr, n = 22050, int(6.4 * 22050)
    t = np.arange(n) / sr
    left = sum(np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t)) for f in (196.0, 246.9, 293.7))
    right = np.convolve(rng.standard_normal(n), np.hanning(9), mode="same")
    clips["stereo"] = (np.stack([_normalised(left, 0.7), _normalised(right, 0.3)], axis=1), sr)
    return clips


def _normalised(y, peak):
    return (y * (peak / np.abs(y).max())).astype(np.float32)


def clip_checksum(samples):
    """A fingerprint of a clip's samples (sum and sum of squares, in float64), to detect a changed generator."""
    samples = np.asarray(samples, dtype=np.float64)
    return np.array([samples.sum(), np.square(samples).sum()])


def _patched_extractor():
    """musicnn.extractor with its float16 cast replaced by float32 (see the module docstring)."""
    import importlib.util
    import types

    spec = importlib.util.find_spec("musicnn.extractor")
    source = Path(spec.origin).read_text()
    if source.count(FLOAT16_LINE) != 1:
        raise SystemExit(f"{spec.origin} no longer contains {FLOAT16_LINE!r} exactly once: is it musicnn 0.1.0?")
    module = types.ModuleType("musicnn.extractor")
    module.__file__ = spec.origin  # the checkpoints are found beside it
    exec(compile(source.replace(FLOAT16_LINE, FLOAT32_LINE), spec.origin, "exec"), module.__dict__)
    return module


def main():
    import librosa
    import musicnn
    import soundfile as sf
    import tensorflow as tf

    extractor = _patched_extractor()
    extractor.config.BATCH_SIZE = ONE_BATCH
    arrays = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, (samples, sample_rate) in reference_clips().items():
            path = Path(folder) / f"{name}.wav"
            sf.write(path, samples, sample_rate, subtype="FLOAT")
            arrays[f"{name}/checksum"] = clip_checksum(samples)
            for model in MODELS:
                taggram, _, features = extractor.extractor(str(path), model=model, extract_features=True)
                if len(taggram) >= ONE_BATCH:
                    raise SystemExit(f"{name} has {len(taggram)} patches, more than one batch ({ONE_BATCH})")
                arrays[f"{model}/{name}/taggram"] = taggram.astype(np.float32)
                arrays[f"{model}/{name}/penultimate"] = features["penultimate"].astype(np.float32)
    provenance = {
        "script": "scripts/make_musicnn_reference.py",
        "change_to_original": f"{FLOAT16_LINE!r} -> {FLOAT32_LINE!r}",
        "versions": {"musicnn": "0.1.0", "tensorflow": tf.__version__, "librosa": librosa.__version__,
                     "numpy": np.__version__, "python": sys.version.split()[0]},
        "musicnn_path": str(Path(musicnn.__file__).parent),
    }
    arrays["provenance"] = np.array(json.dumps(provenance))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUTPUT, **arrays)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes): {sorted(k for k in arrays if 'taggram' in k)}")


if __name__ == "__main__":
    main()
