"""Probing audio headers: durations, and clear errors for files that are not audio."""

import pytest
from messy_corpus import write_audio

from mer_utils.audio_io import AudioReadError, probe_duration


def test_probe_duration_of_real_audio(tmp_path):
    assert probe_duration(write_audio(tmp_path / "a.wav", 2.5)) == pytest.approx(2.5)
    assert probe_duration(write_audio(tmp_path / "b.flac", 1.0, sample_rate=8000, channels=2)) == pytest.approx(1.0)


@pytest.mark.parametrize("content, cause", [
    (b"", "empty"),
    (b"plain text, not audio\n" * 10, "not readable audio"),
    (None, "does not exist"),
])
def test_probe_duration_rejects_bad_files_with_the_file_name(tmp_path, content, cause):
    path = tmp_path / "track.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioReadError, match=cause) as info:
        probe_duration(path)
    assert str(path) in str(info.value)


def test_probe_duration_rejects_a_header_without_frames(tmp_path):
    path = write_audio(tmp_path / "a.wav", 1.0)
    path.write_bytes(path.read_bytes()[:44])  # the RIFF header alone
    with pytest.raises(AudioReadError, match="no audio frames"):
        probe_duration(path)
