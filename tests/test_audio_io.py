"""Probing audio headers: durations, and clear errors for files that are not audio."""

import os

import pytest
from messy_corpus import write_audio, write_corrupt_mp3

from mer_utils.audio_io import (
    AudioMissingError, AudioReadError, decoder_line, decoder_messages, missing_file, probe_duration,
)


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


def test_a_corrupt_mp3_is_not_decodable_as_mp3_and_its_decoder_stays_off_the_console(tmp_path, capfd):
    """Issue 13: libsndfile says "File does not exist or is not a regular file" of an MP3 it cannot decode."""
    path = write_corrupt_mp3(tmp_path / "song.mp3")
    with pytest.raises(AudioReadError) as info:
        probe_duration(path)
    message = str(info.value)
    assert message.startswith(f"audio file {path} is not decodable as MP3 (no valid MPEG audio frame; "
                              "the decoder said: "), message
    assert "exist" not in message and "regular file" not in message
    assert capfd.readouterr().err == "", "libmpg123's complaint is in the message, not on the console"


def test_a_folder_is_called_a_folder(tmp_path):
    assert missing_file(tmp_path) == "is a folder, not a file" and missing_file(tmp_path / "x.wav") == "does not exist"
    with pytest.raises(AudioMissingError, match=f"^audio file {tmp_path} is a folder, not a file$"):
        probe_duration(tmp_path)


def test_decoder_messages_catches_file_descriptor_2_and_restores_it(capfd):
    with decoder_messages() as messages:
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x00000000 at offset 19996.\n"
                    b"[src/libmpg123/parse.c:wetwork():1349] error: Giving up resync after 1024 bytes\n\n")
    os.write(2, b"after the block\n")
    assert messages == ["Note: Illegal Audio-MPEG-Header 0x00000000 at offset 19996.",
                        "[src/libmpg123/parse.c:wetwork():1349] error: Giving up resync after 1024 bytes"]
    assert capfd.readouterr().err == "after the block\n"
    assert decoder_line(messages) == "Giving up resync after 1024 bytes", "the error, without its source location"
    assert decoder_line(messages[:1]) == "Illegal Audio-MPEG-Header 0x00000000 at offset 19996."
    assert decoder_line([]) == "" and len(decoder_line(["x" * 500])) == 160
