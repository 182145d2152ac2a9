"""Crash-safe files and folders: a failure never leaves half of one where the whole is expected."""

import os
import subprocess
import sys
import time

import pytest

from mer_utils import fileio
from mer_utils.fileio import atomic_dir


class Failed(Exception):
    pass


def test_atomic_dir_replaces_the_old_folder_when_the_block_succeeds(tmp_path):
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_dir(out) as partial:
        assert partial.parent == tmp_path and partial != out and not any(partial.iterdir())
        (partial / "new.txt").write_text("new")
        assert (out / "old.txt").exists()  # the old folder stays until the new one is complete
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"]


@pytest.mark.parametrize("existed", [True, False])
def test_atomic_dir_keeps_the_previous_state_when_the_block_fails(tmp_path, existed):
    out = tmp_path / "corpus"
    if existed:
        out.mkdir()
        (out / "old.txt").write_text("old")
    with pytest.raises(Failed):
        with atomic_dir(out) as partial:
            (partial / "half.txt").write_text("half")
            raise Failed
    assert sorted(p.name for p in tmp_path.iterdir()) == (["corpus"] if existed else [])
    if existed:
        assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_atomic_dir_removes_leftovers_of_dead_processes_only(tmp_path):
    dead = tmp_path / ".corpus.partial-999999999-abc"  # no such process
    dead_old = tmp_path / ".corpus.old-999999999"
    alive = tmp_path / f".corpus.partial-{os.getppid()}-xyz"  # a running process may still be writing it
    other = tmp_path / ".other.partial-999999999-abc"  # another folder's leftovers are not ours to judge
    for folder in (dead, dead_old, alive, other):
        folder.mkdir()
    with atomic_dir(tmp_path / "corpus"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["corpus", alive.name, other.name])


def test_abandoned_temporaries_are_those_of_ended_writers_or_old(tmp_path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    live = tmp_path / f".a.npy.{os.getpid()}.tmp"
    dead = tmp_path / f".b.npy.{ended.pid}.tmp"
    old = tmp_path / f".c.npy.{os.getpid()}.tmp"
    for path in (live, dead, old):
        path.write_bytes(b"torn")
    os.utime(old, (time.time() - 7200, time.time() - 7200))

    fileio.remove_abandoned_temporaries(tmp_path, same_host=False)  # a cluster's storage: age only
    assert live.exists() and dead.exists() and not old.exists()
    fileio.remove_abandoned_temporaries(tmp_path)
    assert live.exists() and not dead.exists(), "a live writer's temporary stays; an ended one's goes"


def test_write_text_writes_utf8_atomically_and_returns_the_path(tmp_path):
    from mer_utils.fileio import write_text

    target = tmp_path / "table.md"
    assert write_text(target, "| 노래 | ok |\n") == target
    assert target.read_bytes() == "| 노래 | ok |\n".encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"], "no temporary file left behind"
