"""Decoding a clip and computing its log-mel spectrogram: the work of one track.

The pure part of the mel stage (:mod:`mer_utils.mels` is the rest: cache,
parallel extraction, store). Worker processes import only this module, so
they start without pandas or librosa.
"""

import functools
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np

from . import config
from .accounting import Rejected
from .fileio import atomic_write, write_text
from .audio_io import AudioMissingError, AudioReadError, decoder_messages, probe_duration, undecodable

#: Storage type of the cached features (the models read float32 batches).
STORE_DTYPE = np.float16
#: Frames transformed at a time by :func:`mel_spectrogram` (1 MB of float32 at n_fft=2048).
_FRAMES_PER_BLOCK = 128


# --- parameters -----------------------------------------------------------------

def validate_parameters(*, sample_rate, clip_seconds, n_mels, n_frames, n_fft):
    """Raise ``ValueError`` unless the extraction parameters describe a valid feature.

    Parameters
    ----------
    sample_rate : int > 0
    clip_seconds : float > 0
    n_mels : int > 0
    n_frames : int > 0, at most one frame per sample of the clip
    n_fft : int >= 2
    """
    for name, value in (("sample_rate", sample_rate), ("n_mels", n_mels),
                        ("n_frames", n_frames), ("n_fft", n_fft)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if n_fft < 2:
        raise ValueError(f"n_fft must be at least 2, got {n_fft}")
    if not isinstance(clip_seconds, (int, float)) or not clip_seconds > 0:
        raise ValueError(f"clip_seconds must be a positive number, got {clip_seconds!r}")
    n_samples = clip_samples(sample_rate=sample_rate, clip_seconds=clip_seconds)
    if n_samples < n_frames:
        raise ValueError(
            f"{n_frames} frames do not fit in {clip_seconds} s at {sample_rate} Hz "
            f"({n_samples} samples): lower n_frames or raise clip_seconds"
        )


def clip_samples(*, sample_rate, clip_seconds):
    """Number of samples of a clip: ``round(clip_seconds * sample_rate)``."""
    return int(round(clip_seconds * sample_rate))


def hop_length(n_samples, n_frames):
    """Hop between frames so that ``n_frames`` frames span ``n_samples``: ``n_samples // n_frames``.

    With the paper's values (60 s at 22,050 Hz, 1024 frames) the hop is 1291
    samples, about 59 ms.
    """
    return n_samples // n_frames


# --- the computation -----------------------------------------------------------------

def mel_spectrogram(y, *, sample_rate, n_mels, n_frames, n_fft):
    """Log-power mel-spectrogram of a clip, with exactly ``n_frames`` frames.

    Equal (to float32 rounding) to::

        hop = len(y) // n_frames
        S = librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=n_fft, hop_length=hop,
                                           n_mels=n_mels)  # center=True, zero padding
        librosa.power_to_db(S, ref=1.0, amin=config.LOG_AMIN, top_db=None)[:, :n_frames]

    Frames are centred on samples ``0, hop, ..., (n_frames - 1) * hop``, so
    they cover the whole clip for any length and sample rate; centring
    yields one frame more, which is dropped.

    The log scale has a fixed reference (``ref=1.0``, i.e. dB relative to a
    full-scale power of 1) and a fixed floor (``10 log10(LOG_AMIN)`` =
    -100 dB), not the per-track maximum: loudness is one of the cues of
    emotion (energetic vs. soft songs), and a per-track reference would
    erase it. The models rescale the values themselves.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)], real, finite
        Mono clip at ``sample_rate``; ``n_samples >= n_frames``.
    sample_rate : int
    n_mels : int
        Mel bands (paper: 128), Slaney-style filters from 0 Hz to Nyquist.
    n_frames : int
        Time frames (paper: 1024).
    n_fft : int
        FFT window length in samples (periodic Hann window).

    Returns
    -------
    np.ndarray [shape=(n_mels, n_frames), dtype=float32]
        Mel bands by time frames, in dB.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"mel_spectrogram expects a mono clip of shape (n_samples,), got shape {y.shape}")
    if len(y) < n_frames:
        raise ValueError(f"a clip of {len(y)} samples cannot give {n_frames} frames")
    mel = mel_power(y, sample_rate=sample_rate, n_mels=n_mels, n_fft=n_fft,
                    hop=hop_length(len(y), n_frames), n_frames=n_frames)
    np.maximum(mel, config.LOG_AMIN, out=mel)
    np.log10(mel, out=mel)
    mel *= 10.0
    return np.ascontiguousarray(mel.T)


def mel_power(y, *, sample_rate, n_mels, n_fft, hop, n_frames):
    """Mel power spectrum of the first ``n_frames`` frames of ``y``, frames by bands.

    Equal (to float32 rounding) to the first ``n_frames`` columns of
    ``librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=n_fft,
    hop_length=hop, n_mels=n_mels).T``: periodic Hann window, frames centred
    on samples ``0, hop, 2 hop, ...`` with zero padding, power 2, Slaney mel
    filters. :func:`mel_spectrogram` (the study's feature) and
    :mod:`mer_utils.pretrained.musicnn_input` (musicnn's) scale it each their way.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,), dtype=float32]
    sample_rate, n_mels, n_fft, hop, n_frames : int

    Returns
    -------
    np.ndarray [shape=(n_frames, n_mels), dtype=float32]
    """
    frames = _centered_frames(y, n_fft=n_fft, hop=hop, n_frames=n_frames)
    window, filter_groups = _hann(n_fft), mel_basis(sample_rate, n_fft, n_mels)
    mel = np.empty((n_frames, n_mels), dtype=np.float32)
    buffer = np.empty((min(_FRAMES_PER_BLOCK, n_frames), n_fft), dtype=np.float32)
    # Block by block, so that windowed frames, spectrum and power stay in the CPU cache (2x faster).
    for start in range(0, n_frames, _FRAMES_PER_BLOCK):
        stop = min(start + _FRAMES_PER_BLOCK, n_frames)
        spectrum = _rfft(np.multiply(frames[start:stop], window, out=buffer[:stop - start]))
        power = np.square(spectrum.real)
        power += np.square(spectrum.imag)          # (frames, 1 + n_fft // 2)
        for bands, bins, weights in filter_groups:
            np.matmul(power[:, bins], weights, out=mel[start:stop, bands])
    return mel


def _centered_frames(y, *, n_fft, hop, n_frames):
    """Frames of ``y`` zero-padded by ``n_fft // 2`` at both ends: a view of shape (n_frames, n_fft)."""
    pad = n_fft // 2
    padded = np.zeros((n_frames - 1) * hop + n_fft, dtype=np.float32)
    body = y[:len(padded) - pad]
    padded[pad:pad + len(body)] = body
    return np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:n_frames]


def _rfft(frames):
    import scipy.fft  # pocketfft, single-threaded by default; ~4x numpy.fft on float32 rows

    return scipy.fft.rfft(frames, axis=-1, overwrite_x=True)  # frames: a scratch buffer


@functools.lru_cache(maxsize=8)
def _hann(n_fft):
    """Periodic Hann window, as ``scipy.signal.get_window("hann", n_fft)`` (librosa's default)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


#: Mel filter banks by (sample_rate, n_fft, n_mels), as :func:`mel_basis` returns them; filled once per process.
_MEL_BASES = {}
#: Neighbouring mel bands multiplied as one dense block (16: fastest of 4, 8, 16 and 32, measured).
_BANDS_PER_GROUP = 16


def mel_basis(sample_rate, n_fft, n_mels):
    """librosa's mel filter bank, cut into groups of neighbouring bands and the FFT bins they use.

    A mel filter is a triangle over a few neighbouring FFT bins, so 16
    neighbouring bands use together only a short run of bins: multiplying
    each run by its group's dense weights does about an eighth of the work
    of the full matrix product, and is 3-4x faster than a sparse product.

    Returns
    -------
    tuple of (slice, slice, np.ndarray)
        ``(bands, bins, weights)`` per group: ``power[:, bins] @ weights``
        gives the group's bands for frames of ``power``
        [shape=(frames, 1 + n_fft // 2)]; ``weights`` has
        shape (bins in the run, bands in the group), dtype float32.
    """
    key = (sample_rate, n_fft, n_mels)
    if key not in _MEL_BASES:
        dense = quiet_librosa().filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels).astype(np.float32)
        _MEL_BASES[key] = tuple(_filter_group(dense, first, min(first + _BANDS_PER_GROUP, n_mels))
                                for first in range(0, n_mels, _BANDS_PER_GROUP))
    return _MEL_BASES[key]


def _filter_group(dense, first_band, stop_band):
    """One group of :func:`mel_basis`: bands ``first_band:stop_band`` and the bins their filters touch."""
    used = np.flatnonzero(dense[first_band:stop_band].any(axis=0))  # empty for all-zero filters
    bins = slice(int(used[0]), int(used[-1]) + 1) if len(used) else slice(0, 0)
    weights = np.ascontiguousarray(dense[first_band:stop_band, bins].T)
    return slice(first_band, stop_band), bins, weights


def quiet_librosa():
    """librosa with its core loaded, minus the "IProgress not found" warning it causes in notebooks.

    librosa loads pooch, which imports ``tqdm.auto``; without ipywidgets (papermill) that warns.
    """
    import librosa

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        librosa.filters.mel  # noqa: B018 -- load the lazy core (and pooch) now
    return librosa


def install_mel_bases(bases):
    """Worker initializer: receive the filter banks instead of importing librosa (~1 s) per worker."""
    _MEL_BASES.update(bases)


# --- decoding ------------------------------------------------------------------

def load_clip(path, *, sample_rate, clip_seconds, pad_tolerance=config.CLIP_PAD_TOLERANCE,
              silence_dbfs=config.SILENCE_PEAK_DBFS):
    """Decode the first ``clip_seconds`` of a file as a mono clip at ``sample_rate``.

    Only the needed frames are decoded. Channels are averaged; resampling
    uses soxr's high-quality mode (what ``librosa.load`` uses by default).

    Parameters
    ----------
    path : str or Path
        Any file libsndfile reads: WAV, FLAC, OGG/Vorbis, Opus, MP3.
    sample_rate : int
    clip_seconds : float
    pad_tolerance : float
        A file shorter than ``clip_seconds`` by at most this fraction of it
        is zero-padded at the end (MP3 encoder delay, previews a few hundred
        milliseconds short); a shorter file is rejected as ``too_short``.
    silence_dbfs : float
        A clip whose peak stays below this level is rejected as ``silent_audio``.

    Returns
    -------
    np.ndarray [shape=(clip_samples,), dtype=float32]

    Raises
    ------
    Rejected
        With reason ``missing_audio``, ``unreadable_audio``, ``too_short``,
        ``silent_audio`` or ``extraction_failed`` and a sentence naming the file.
    """
    import soundfile as sf

    native, native_rate = _decode_head(Path(path), clip_seconds=clip_seconds, sf=sf)
    wanted = math.ceil(clip_seconds * native_rate)
    shortfall = (wanted - len(native)) / native_rate
    if shortfall > pad_tolerance * clip_seconds:
        raise Rejected(
            "too_short",
            f"audio file {path} has {len(native) / native_rate:.2f} s of audio, "
            f"less than clip_seconds={clip_seconds:g} "
            f"(up to {pad_tolerance * clip_seconds:.2f} s would be zero-padded)",
        )
    peak = max(float(native.max()), -float(native.min())) if len(native) else 0.0  # NaN and inf propagate
    if not np.isfinite(peak):
        raise Rejected("extraction_failed", f"audio file {path} decodes to NaN or infinite samples")
    if peak <= 10 ** (silence_dbfs / 20):
        level = "digital silence" if peak == 0 else f"peak {20 * np.log10(peak):.0f} dBFS"
        raise Rejected(
            "silent_audio",
            f"audio file {path} is silent in its first {clip_seconds:g} s ({level}, threshold {silence_dbfs:g} dBFS)",
        )
    return _fit_length(_resample(native, native_rate, sample_rate),
                       clip_samples(sample_rate=sample_rate, clip_seconds=clip_seconds))


def _decode_head(path, *, clip_seconds, sf):
    """Decode up to ``clip_seconds`` of ``path``, mixed to mono: (float32 samples, native rate)."""
    try:
        probe_duration(path)  # missing, a folder, empty, not audio, corrupt header: named by audio_io
    except AudioMissingError as err:
        raise Rejected("missing_audio", str(err)) from None
    except AudioReadError as err:
        raise Rejected("unreadable_audio", str(err)) from None
    try:
        with decoder_messages() as messages, sf.SoundFile(path) as audio:  # the decoder's complaints: see audio_io
            native_rate = audio.samplerate
            frames = audio.read(math.ceil(clip_seconds * native_rate), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as err:  # the stream breaks after a valid header
        raise Rejected("unreadable_audio", f"audio file {path} {undecodable(err, path, messages)}") from None
    return _mix_to_mono(frames), native_rate


def _mix_to_mono(frames):
    """Average the channels of ``frames`` [shape=(n_samples, n_channels)]: a contiguous float32 (n_samples,).

    Channel by channel: ``frames.mean(axis=1)`` reduces along the short axis
    and costs 40 ms for a minute of stereo, as much as decoding it.
    """
    mono = np.array(frames[:, 0], dtype=np.float32)
    for channel in range(1, frames.shape[1]):
        mono += frames[:, channel]
    if frames.shape[1] > 1:
        mono *= np.float32(1 / frames.shape[1])
    return mono


def _resample(y, native_rate, sample_rate):
    if native_rate == sample_rate:
        return y
    import soxr

    return soxr.resample(y, native_rate, sample_rate, quality="HQ")


def _fit_length(y, n_samples):
    """Trim or zero-pad ``y`` to exactly ``n_samples``."""
    if len(y) >= n_samples:
        return y[:n_samples]
    return np.concatenate([y, np.zeros(n_samples - len(y), dtype=y.dtype)])


# --- storing ------------------------------------------------------------------

def extract_and_store(task):
    """Decode, compute and store one track (the function worker processes run).

    Parameters
    ----------
    task : tuple
        ``(track_id, audio_path, stem, params)``: the feature is written to
        ``<stem>.npy``, a rejection to ``<stem>.rejected.json``.

    Returns
    -------
    tuple
        ``("ok", feature path, seconds)`` or ``("rejected", reason, detail, seconds)``.
    """
    track_id, audio_path, stem, params = task
    start = time.perf_counter()
    try:
        clip = load_clip(audio_path, sample_rate=params["sample_rate"], clip_seconds=params["clip_seconds"])
    except Rejected as rejected:
        # A property of the file, so remember it (unexpected exceptions are not cached: retried next run).
        write_text(Path(f"{stem}.rejected.json"), json.dumps({"reason": rejected.reason, "detail": rejected.detail}))
        return ("rejected", rejected.reason, rejected.detail, time.perf_counter() - start)
    feature = mel_spectrogram(clip, sample_rate=params["sample_rate"], n_mels=params["n_mels"],
                              n_frames=params["n_frames"], n_fft=params["n_fft"]).astype(STORE_DTYPE)
    target = Path(f"{stem}.npy")
    atomic_write(target, lambda handle: np.save(handle, feature))
    return ("ok", str(target), time.perf_counter() - start)
