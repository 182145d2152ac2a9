"""Checking audio files without decoding them.

Notebook 01 needs every track's duration (the paper rejects tracks shorter
than a minute) before any feature is computed. Reading the header with
``soundfile.info`` costs about a tenth of a millisecond per file, so a whole
corpus is probed sequentially in well under a second per thousand tracks.

The decoders under libsndfile (libmpg123 for MP3) print their complaints
about a broken file to the process's standard error, past Python; around a
decode, :func:`decoder_messages` catches them so that they end up in the
rejection's sentence instead of on the runner's console.
"""

import contextlib
import os
import re
import sys
import tempfile
from pathlib import Path

import soundfile as sf

#: What libsndfile says when its MP3 decoder finds no MPEG frame in a file that does exist.
_NO_MPEG_FRAME = "File does not exist or is not a regular file"
#: Appended when libsndfile recognises no format: librosa.load would try audioread/ffmpeg; we do not.
FORMATS_HINT = "readable formats are WAV, FLAC, OGG/Vorbis, Opus and MP3 (convert others, e.g. M4A/AAC, first)"
#: Longest decoder message quoted in a rejection's sentence.
_MAX_MESSAGE_CHARS = 160


class AudioReadError(ValueError):
    """An audio file is missing, empty, not audio or corrupt; the message names the file and the cause."""


class AudioMissingError(AudioReadError):
    """The audio path names no file: it does not exist, or it is a folder."""


def missing_file(path):
    """Why ``path`` is not a file to read (``"does not exist"``, ``"is a folder, not a file"``...); ``""`` if it is."""
    path = Path(path)
    if path.is_file():
        return ""
    if path.is_dir():
        return "is a folder, not a file"
    if path.exists():
        return "is not a regular file (a device or a pipe?)"
    return "does not exist"


def probe_duration(path):
    """Duration of an audio file in seconds, read from its header.

    Parameters
    ----------
    path : str or Path
        Any format libsndfile reads: WAV, FLAC, OGG/Vorbis, MP3, ...

    Returns
    -------
    float
        Seconds (frames / sample rate).

    Raises
    ------
    AudioMissingError
        If the path does not exist or is a folder.
    AudioReadError
        If the file is empty (0 bytes), is not audio, or its header is
        corrupt; the message names the file and the cause.
    """
    path = Path(path)
    problem = missing_file(path)
    if problem:
        raise AudioMissingError(f"audio file {path} {problem}")
    if path.stat().st_size == 0:
        raise AudioReadError(f"audio file {path} is empty (0 bytes)")
    try:
        with decoder_messages() as messages:
            info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioReadError(f"audio file {path} {undecodable(err, path, messages)}") from None
    if info.samplerate <= 0 or info.frames <= 0:
        raise AudioReadError(
            f"audio file {path} has no audio frames "
            f"({info.frames} frames at {info.samplerate} Hz; truncated or corrupt header)"
        )
    return info.frames / info.samplerate


def undecodable(err, path, messages=()):
    """What is wrong with a file libsndfile failed on, as the end of a sentence naming it.

    Parameters
    ----------
    err : Exception
        soundfile's error.
    path : Path
    messages : sequence of str
        What the decoder printed meanwhile (:func:`decoder_messages`); the
        most telling line is quoted.
    """
    cause = str(getattr(err, "error_string", "") or err).strip().rstrip(".") or type(err).__name__
    if cause.startswith(_NO_MPEG_FRAME):  # libsndfile blames the file's existence; it exists
        sentence = f"is not decodable as {path.suffix[1:].upper() or 'MPEG audio'} (no valid MPEG audio frame"
    elif "not recognised" in cause:
        sentence = f"is not readable audio ({cause}; {FORMATS_HINT}"
    else:
        sentence = f"is not readable audio ({cause}"
    said = decoder_line(messages)
    return sentence + (f"; the decoder said: {said})" if said else ")")


def decoder_line(messages):
    """The most telling of a decoder's messages (its last error, else its last line), shortened; ``""`` if none."""
    errors = [m for m in messages if "error" in m.lower()]
    line = (errors or list(messages) or [""])[-1]
    line = re.sub(r"^(\[[^\]]*\]\s*)?(error|note|warning):\s*", "", line, flags=re.IGNORECASE).strip()
    return line if len(line) <= _MAX_MESSAGE_CHARS else line[:_MAX_MESSAGE_CHARS - 3] + "..."


@contextlib.contextmanager
def decoder_messages():
    """Catch what C libraries write to file descriptor 2 inside the block; yield the list that receives the lines.

    The list is filled when the block ends. File descriptor 2 belongs to the
    whole process, so anything another thread writes there meanwhile is caught
    too: keep the block to the decoding call, and do not nest blocks.
    """
    messages = []
    if sys.stderr is not None:
        sys.stderr.flush()  # Python's own pending output goes where it was going
    capture = _capture_file()
    saved = os.dup(2)
    os.dup2(capture.fileno(), 2)
    try:
        yield messages
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", errors="replace")
        messages.extend(line.strip() for line in text.splitlines() if line.strip())


#: This process's capture file (creating one per decode would triple the cost of a probe).
_CAPTURE_FILES = {}


def _capture_file():
    """An empty temporary file of this process, reused (a forked child gets its own)."""
    pid = os.getpid()
    if pid not in _CAPTURE_FILES:
        _CAPTURE_FILES.clear()
        _CAPTURE_FILES[pid] = tempfile.TemporaryFile()
    capture = _CAPTURE_FILES[pid]
    capture.seek(0)
    capture.truncate()
    return capture
