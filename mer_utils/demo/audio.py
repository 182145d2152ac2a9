"""Music-like audio for the generated demo corpus (:mod:`mer_utils.demo.corpus`).

Each clip is an arpeggiated chord progression of additive sines (with
envelopes), a bass line, a soft pad, light percussion and a little noise.
Five cues carry the emotion, in the directions the music-psychology
literature describes: positive = major mode, faster tempo, brighter timbre
(more energy in the upper harmonics), louder, staccato and percussive;
negative = minor, slower, darker, softer, legato.

A cue is controlled by a signed strength ``z`` in ``[-1, 1]``: +1 is fully
"positive", -1 fully "negative", 0 neutral. :func:`draw_cues` makes the cues
of some tracks weak or reversed, so that no audio model can be perfect.
"""

import io
import struct
from dataclasses import dataclass

import numpy as np
import soundfile as sf

#: Range of cue strengths towards the label, for clear tracks and for confused
#: ones (weak, or pointing to the other class).
CLEAR_STRENGTH = (0.05, 0.85)
CONFUSED_STRENGTH = (-0.9, 0.2)
#: Semitone steps of the scales the progressions are built on.
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor
#: Chord progressions as scale degrees (0 = tonic), one chord per bar.
MAJOR_PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4))
MINOR_PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4), (0, 6, 5, 0))
#: Order in which the arpeggio visits the chord tones (index into the triad, +3 = octave up).
ARPEGGIO_PATTERNS = ((0, 1, 2, 1), (0, 1, 2, 3), (0, 2, 1, 2), (2, 1, 0, 1))
#: Harmonics of every synthesized tone; the brightness cue sets their weights.
N_HARMONICS = 6
#: Longest note rendered, in seconds (the envelope is negligible beyond).
MAX_NOTE_S = 1.2
#: Level (standard deviation) of the background noise, relative to full scale: "a little noise".
NOISE_LEVEL = 10 ** (-66 / 20)
#: Resolution of the written samples (in 16-bit files). At 11 bits FLAC codes the
#: 5 constant low bits for free, which shrinks the corpus by 40%; the
#: quantization noise (about -68 dBFS) is at the level of the background noise.
RESOLUTION_BITS = 11
#: Frames per write call.
WRITE_BLOCK = 16384
#: What the output is written as, by file extension.
AUDIO_FORMATS = {"flac": ("FLAC", "PCM_16"), "wav": ("WAV", "PCM_16"), "ogg": ("OGG", "VORBIS")}


@dataclass(frozen=True)
class AudioCues:
    """The emotion cues of one clip, each a signed strength in ``[-1, 1]`` (+1 = positive)."""

    mode: float
    tempo: float
    brightness: float
    loudness: float
    articulation: float

    @property
    def is_major(self):
        return self.mode > 0

    @property
    def tempo_bpm(self):
        """Beats per minute: about 65 (z = -1) to 135 (z = +1)."""
        return 100.0 + 35.0 * self.tempo

    @property
    def harmonic_rolloff(self):
        """Harmonic k has amplitude ``k ** -rolloff``: 0.9 bright (z = +1) to 2.5 dark (z = -1)."""
        return 1.7 - 0.8 * self.brightness

    @property
    def peak_dbfs(self):
        """Target peak level: -8 dBFS loud (z = +1) to -22 dBFS soft (z = -1)."""
        return -15.0 + 7.0 * self.loudness

    @property
    def decay_s(self):
        """Time constant of each note's decay: 0.08 s staccato (z = +1) to 0.5 s legato (z = -1)."""
        return float(np.exp(np.interp(self.articulation, [-1, 1], np.log([0.5, 0.08]))))

    @property
    def percussion(self):
        """Level of the hi-hat: none for negative articulation, up to 0.25 of the mix."""
        return 0.25 * max(self.articulation, 0.0)


def draw_cues(label, *, rng, confused):
    """Draw the cues of one clip.

    Parameters
    ----------
    label : {"positive", "negative"}
    rng : numpy.random.Generator
    confused : bool
        If true, every cue is weak or points to the other class (strength in
        ``[-0.9, 0.2]`` towards the label); else it points to the label with
        strength in ``[0.15, 1]``. Each cue is drawn independently.

    Returns
    -------
    AudioCues
    """
    sign = 1.0 if label == "positive" else -1.0
    low, high = CONFUSED_STRENGTH if confused else CLEAR_STRENGTH
    strengths = sign * rng.uniform(low, high, size=5)
    return AudioCues(*map(float, strengths))


def synthesize(cues, *, duration_s, sample_rate, rng):
    """Render a music-like mono clip with the given cues.

    Parameters
    ----------
    cues : AudioCues
    duration_s : float
    sample_rate : int
    rng : numpy.random.Generator
        Key, progression, pattern, humanisation and noise come from it.

    Returns
    -------
    numpy.ndarray, shape (n_samples,), float32
        Peak at ``cues.peak_dbfs``.
    """
    n_samples = int(round(duration_s * sample_rate))
    scale = np.array(MAJOR_SCALE if cues.is_major else MINOR_SCALE)
    progressions = MAJOR_PROGRESSIONS if cues.is_major else MINOR_PROGRESSIONS
    progression = progressions[rng.integers(len(progressions))]
    tonic_midi = 57 + int(rng.integers(0, 7))  # A3 .. D#4
    beat_s = 60.0 / cues.tempo_bpm
    n_bars = int(np.ceil(duration_s / (4 * beat_s)))
    chords = np.array([_triad(scale, progression[b % 4]) for b in range(n_bars)]) + tonic_midi  # (n_bars, 3)

    # eighth-note arpeggio over the chords, one bar = 8 steps
    pattern = np.array(ARPEGGIO_PATTERNS[rng.integers(len(ARPEGGIO_PATTERNS))])
    steps = np.arange(n_bars * 8)
    tones = np.concatenate([chords, chords[:, :1] + 12], axis=1)  # triad + octave
    melody_midi = tones[steps // 8, pattern[steps % 4]] + 12
    mix = np.zeros(n_samples, dtype=np.float32)
    _add_notes(  # melody
        mix, onsets_s=steps * beat_s / 2 + rng.normal(0, 0.004, steps.size), midi=melody_midi,
        velocities=rng.uniform(0.7, 1.0, steps.size), decay_s=cues.decay_s, rolloff=cues.harmonic_rolloff,
        sample_rate=sample_rate,
    )
    _add_notes(  # bass: the root, twice a bar
        mix, onsets_s=np.arange(n_bars * 2) * 2 * beat_s, midi=np.repeat(chords[:, 0], 2) - 12,
        velocities=np.full(n_bars * 2, 0.8), decay_s=max(cues.decay_s * 2, 0.3),
        rolloff=cues.harmonic_rolloff + 0.5, sample_rate=sample_rate,
    )
    _add_notes(  # pad: the chord, once a bar
        mix, onsets_s=np.repeat(np.arange(n_bars) * 4 * beat_s, 3), midi=chords.ravel(),
        velocities=np.full(chords.size, 0.25), decay_s=MAX_NOTE_S / 2,
        rolloff=cues.harmonic_rolloff + 1.0, sample_rate=sample_rate,
    )
    mix /= max(np.abs(mix).max(), 1e-9)
    if cues.percussion > 0:
        _add_hihat(mix, level=cues.percussion, beat_s=beat_s, sample_rate=sample_rate, rng=rng)
    mix *= 10 ** (cues.peak_dbfs / 20) / max(np.abs(mix).max(), 1e-9)
    mix += (np.sqrt(3) * NOISE_LEVEL) * (2 * rng.random(n_samples, dtype=np.float32) - 1)  # uniform: cheap to draw
    return mix


def _triad(scale, degree):
    """MIDI offsets of the triad on a scale degree (stacked thirds within the scale)."""
    idx = degree + np.array([0, 2, 4])
    return scale[idx % 7] + 12 * (idx // 7)


def _add_notes(out, *, onsets_s, midi, velocities, decay_s, rolloff, sample_rate):
    """Add decaying additive-sine notes into ``out`` (shape (n_samples,)), in place.

    All notes share one envelope, so each distinct pitch is rendered once
    (a (n_pitches, note_length) matrix, one harmonic at a time) and reused.
    """
    note_len = int(min(5 * decay_s, MAX_NOTE_S) * sample_rate)
    t = np.arange(note_len, dtype=np.float32) / sample_rate
    envelope = np.minimum(t / 0.005, 1.0) * np.exp(-t / decay_s)  # 5 ms attack, exponential decay
    envelope *= np.minimum((t[-1] - t) / 0.02, 1.0)  # 20 ms fade-out: no click where the note is cut
    pitches, pitch_of_note = np.unique(np.asarray(midi), return_inverse=True)
    freqs = 440.0 * 2.0 ** ((pitches - 69) / 12)
    tones = np.zeros((freqs.size, note_len), dtype=np.float32)  # one waveform per distinct pitch
    for k in range(1, N_HARMONICS + 1):
        audible = freqs * k < 0.45 * sample_rate  # no aliasing at low sample rates
        phase = (2 * np.pi * k * freqs[:, None]).astype(np.float32) * t
        tones += (audible * k ** -rolloff)[:, None].astype(np.float32) * np.sin(phase)
    tones *= envelope
    starts = np.round(np.asarray(onsets_s) * sample_rate).astype(int)
    for start, pitch, velocity in zip(starts.clip(0), pitch_of_note, velocities):  # one vector add per note
        segment = out[start:start + note_len]
        segment += velocity * tones[pitch, :segment.size]


def _add_hihat(out, *, level, beat_s, sample_rate, rng):
    """Add short bursts of high-passed noise on the off-beats (peak about ``level``) into ``out``."""
    burst_len = int(0.03 * sample_rate)
    decay = np.exp(-np.arange(burst_len) / (0.008 * sample_rate))
    burst = (level * np.diff(rng.normal(0, 0.5, burst_len + 1)) * decay).astype(np.float32)
    starts = np.round((np.arange(0, out.size / sample_rate, beat_s) + beat_s / 2) * sample_rate).astype(int)
    for start in starts[starts < out.size]:
        segment = out[start:start + burst_len]
        segment += burst[:segment.size]


def write_audio(path, samples, *, sample_rate, ogg_serial=0):
    """Write a clip in the format its extension names: FLAC or WAV (16-bit PCM) or Ogg Vorbis.

    Parameters
    ----------
    path : pathlib.Path
    samples : numpy.ndarray, shape (n_samples,) or (n_samples, n_channels)
    sample_rate : int
    ogg_serial : int
        Stream serial number of an Ogg file. libsndfile draws it from the
        clock; fixing it keeps the corpus byte-identical from run to run.
    """
    container, subtype = AUDIO_FORMATS[path.suffix.lstrip(".")]
    if subtype == "PCM_16":  # integers, so that libsndfile's float scaling cannot undo the quantization
        step = 2 ** (16 - RESOLUTION_BITS)
        samples = (np.round(np.asarray(samples) * (32768 / step)) * step).clip(-32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    options = {"compression_level": 1.0} if container == "FLAC" else {}  # FLAC: smallest files
    with sf.SoundFile(buffer, "w", sample_rate, _n_channels(samples), format=container, subtype=subtype,
                      **options) as out:
        for start in range(0, len(samples), WRITE_BLOCK):  # libsndfile 1.2's Vorbis encoder crashes on big writes
            out.write(samples[start:start + WRITE_BLOCK])
    data = buffer.getvalue()
    if container == "OGG":
        data = _set_ogg_serial(data, ogg_serial)
    path.write_bytes(data)


def _ogg_crc_table():
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_OGG_CRC_TABLE = _ogg_crc_table()


def _ogg_crc(data):
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, not reflected)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC_TABLE[(crc >> 24) ^ byte]
    return crc


def _set_ogg_serial(data, serial):
    """Rewrite the serial number of every Ogg page (and its checksum)."""
    data = bytearray(data)
    pos = 0
    while pos < len(data):
        if data[pos:pos + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {pos}")
        n_segments = data[pos + 26]
        end = pos + 27 + n_segments + sum(data[pos + 27:pos + 27 + n_segments])
        data[pos + 14:pos + 18] = struct.pack("<I", serial)
        data[pos + 22:pos + 26] = bytes(4)
        data[pos + 22:pos + 26] = struct.pack("<I", _ogg_crc(data[pos:end]))
        pos = end
    return bytes(data)


def _n_channels(samples):
    return 1 if np.ndim(samples) == 1 else np.shape(samples)[1]
