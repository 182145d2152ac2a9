"""musicnn's input: 3 s patches of a log-compressed 96-band mel-spectrogram at 16 kHz.

What ``musicnn.extractor.batch_data`` (musicnn 0.1.0) computes, through the
project's fast mel path (:func:`mer_utils.melspec.mel_power`) instead of
``librosa.feature.melspectrogram``::

    y, _ = librosa.load(path, sr=16000)                            # soxr, channels averaged
    S = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
    S = np.log10(10000 * S + 1)                                    # in float32, see below
    patches = [S[t:t + 187] for t in range(0, len(S) - 187 + 1, 187)]

The original casts ``S`` to float16 first; under NumPy 2 ``10000 * S``
then stays float16 and overflows for every loud bin, so every clip gets
the same tags. Here the compression is computed in float32 (what the
regression fixture was made with, see ``scripts/make_musicnn_reference.py``).

The defaults are the values the checkpoints were trained with (the
network's own, not the study's, hence here rather than in
:mod:`mer_utils.config`); ``tests/test_musicnn.py`` checks them against the
wheel's ``musicnn.configuration``. NumPy and :mod:`mer_utils.melspec` only:
worker processes import this module without TensorFlow.
"""

import time

import numpy as np

from .. import config
from ..accounting import Rejected
from ..audio_io import AudioReadError, probe_duration
from ..melspec import load_clip, mel_power

#: Sample rate the networks were trained at (Hz).
SAMPLE_RATE = 16000
#: FFT window and hop, in samples.
N_FFT = 512
HOP = 256
#: Mel bands.
N_MELS = 96
#: Frames per patch: ``librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1``, 3 s.
PATCH_FRAMES = 187
#: Multiplier inside the log compression ``log10(LOG_SCALE * S + 1)``.
LOG_SCALE = 10000.0


def n_patches(n_samples, *, hop=HOP, patch_frames=PATCH_FRAMES, patch_hop=PATCH_FRAMES):
    """Number of whole patches in a clip of ``n_samples`` (centred frames: ``1 + n_samples // hop`` of them).

    The last, incomplete patch is dropped, as the original does.
    """
    n_frames = 1 + n_samples // hop
    return 0 if n_frames < patch_frames else 1 + (n_frames - patch_frames) // patch_hop


def log_compress(mel_power_, *, log_scale=LOG_SCALE):
    """``log10(log_scale * S + 1)`` in float32, in place; returns ``mel_power_``."""
    mel_power_ *= np.float32(log_scale)
    mel_power_ += np.float32(1)
    return np.log10(mel_power_, out=mel_power_)


def musicnn_patches(y, *, sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop=HOP, n_mels=N_MELS,
                    patch_frames=PATCH_FRAMES, patch_hop=PATCH_FRAMES, log_scale=LOG_SCALE,
                    silence_dbfs=config.SILENCE_PEAK_DBFS):
    """The network's input for a mono clip: log-compressed mel patches.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)], real
        Mono clip at ``sample_rate`` (16 kHz for the published checkpoints).
    sample_rate, n_fft, hop, n_mels : int
    patch_frames : int
        Frames per patch (187, 3 s).
    patch_hop : int
        Frames between the starts of consecutive patches; ``patch_frames``
        (the default) means no overlap.
    log_scale : float
    silence_dbfs : float
        A clip whose peak stays at or below this level is rejected as ``silent_audio``.

    Returns
    -------
    np.ndarray [shape=(n_patches, patch_frames, n_mels), dtype=float32]

    Raises
    ------
    mer_utils.accounting.Rejected
        ``too_short`` if the clip holds no whole patch, ``silent_audio``,
        ``extraction_failed`` for NaN or infinite samples.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"musicnn_patches expects a mono clip of shape (n_samples,), got shape {y.shape}")
    count = n_patches(len(y), hop=hop, patch_frames=patch_frames, patch_hop=patch_hop)
    if count == 0:
        shortest = (patch_frames - 1) * hop
        raise Rejected("too_short", f"a clip of {len(y) / sample_rate:.2f} s ({len(y)} samples at {sample_rate} Hz) "
                                    f"is shorter than one musicnn patch ({shortest / sample_rate:.2f} s)")
    _check_level(y, silence_dbfs=silence_dbfs)
    n_frames = (count - 1) * patch_hop + patch_frames
    spectrum = log_compress(mel_power(y, sample_rate=sample_rate, n_mels=n_mels, n_fft=n_fft, hop=hop,
                                      n_frames=n_frames), log_scale=log_scale)
    if patch_hop == patch_frames:
        return spectrum.reshape(count, patch_frames, n_mels)
    windows = np.lib.stride_tricks.sliding_window_view(spectrum, patch_frames, axis=0)[::patch_hop]
    return np.ascontiguousarray(windows.transpose(0, 2, 1))


def _check_level(y, *, silence_dbfs):
    peak = max(float(y.max()), -float(y.min()))  # NaN and inf propagate
    if not np.isfinite(peak):
        raise Rejected("extraction_failed", "the clip has NaN or infinite samples")
    if peak <= 10 ** (silence_dbfs / 20):
        level = "digital silence" if peak == 0 else f"peak {20 * np.log10(peak):.0f} dBFS"
        raise Rejected("silent_audio", f"the clip is silent ({level}, threshold {silence_dbfs:g} dBFS)")


def load_patches(path, *, max_seconds=config.CLIP_SECONDS, sample_rate=SAMPLE_RATE,
                 silence_dbfs=config.SILENCE_PEAK_DBFS, **options):
    """Decode the first ``max_seconds`` of an audio file and cut them into musicnn patches.

    A file shorter than ``max_seconds`` gives fewer patches; it is rejected
    only if it holds less than one patch (about 3 s).

    Parameters
    ----------
    path : str or Path
        Any file :func:`mer_utils.melspec.load_clip` reads (mixed to mono, resampled with soxr).
    max_seconds : float
        Audio read from the start of the file (the study's first minute by default).
    sample_rate : int
    silence_dbfs : float
    **options
        The other keyword options of :func:`musicnn_patches`, whose patches it returns.

    Raises
    ------
    mer_utils.accounting.Rejected
        ``missing_audio``, ``unreadable_audio``, ``too_short``, ``silent_audio``
        or ``extraction_failed``, with a sentence naming the file.
    """
    try:
        seconds = min(max_seconds, probe_duration(path))  # a shorter file is read whole, never padded
    except AudioReadError:
        seconds = max_seconds  # load_clip names the problem (missing, empty, not audio)
    clip = load_clip(path, sample_rate=sample_rate, clip_seconds=seconds, silence_dbfs=silence_dbfs)
    try:
        return musicnn_patches(clip, sample_rate=sample_rate, silence_dbfs=silence_dbfs, **options)
    except Rejected as rejected:
        raise Rejected(rejected.reason, f"audio file {path}: {rejected.detail}") from None


def patches_task(task):
    """One track's patches, for a worker process of :mod:`mer_utils.pretrained.musicnn_features`.

    Parameters
    ----------
    task : tuple
        ``(track_id, audio_path, params)``; ``params`` holds ``max_seconds``
        and the keyword options of :func:`load_patches`.

    Returns
    -------
    tuple
        ``("ok", patches, seconds)`` with patches [shape=(n_patches, frames, n_mels), dtype=float32],
        or ``("rejected", reason, detail, seconds)`` (a property of the file, which the caller caches).
    """
    _, audio_path, params = task
    start = time.perf_counter()
    try:
        patches = load_patches(audio_path, **params)
    except Rejected as rejected:
        return ("rejected", rejected.reason, rejected.detail, time.perf_counter() - start)
    return ("ok", patches, time.perf_counter() - start)
