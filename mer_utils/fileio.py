"""Crash-safe writes: a kill mid-write never leaves half a file (or half a folder) behind.

Standard library only, so worker processes can import it cheaply.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary binary file beside ``path``, then rename it to ``path``.

    Creates the folder of ``path`` first (path getters create nothing).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path, text):
    """Write ``text`` as UTF-8 through :func:`atomic_write`; return the path."""
    data = text.encode("utf-8")
    atomic_write(path, lambda handle: handle.write(data))
    return Path(path)


def write_json(path, data, *, indent=None):
    """Write ``data`` as UTF-8 JSON through :func:`atomic_write`; return the path.

    Non-JSON values (paths, dates) are written as strings.
    """
    return write_text(path, json.dumps(data, indent=indent, ensure_ascii=False, default=str))


@contextlib.contextmanager
def atomic_dir(out_dir):
    """Build a folder under a temporary sibling name; rename it to ``out_dir`` when the block succeeds.

    Yields the temporary folder (a ``Path``, created empty). When the block
    ends normally, it replaces ``out_dir`` (an old folder there is removed);
    when it raises, it is deleted and ``out_dir`` is left as it was.
    Temporary folders of processes that were killed are removed first.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_partials(out_dir)
    partial = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-{os.getpid()}-"))
    try:
        yield partial
        _swap_into_place(partial, out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _swap_into_place(partial, out_dir):
    """Rename the finished folder to ``out_dir``, replacing an old or incomplete one."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        out_dir.rename(old)
    partial.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_abandoned_partials(out_dir):
    """Delete temporary folders left beside ``out_dir`` by :func:`atomic_dir` in processes that were killed."""
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.(partial|old)-(\d+)(-.*)?$")
    for leftover in out_dir.parent.iterdir():
        match = pattern.match(leftover.name)
        if match and not _process_alive(int(match.group(2))):
            shutil.rmtree(leftover, ignore_errors=True)


def _process_alive(pid):
    from .lifetime import process_alive  # lazily: fileio stays import-light for worker processes

    return process_alive(pid)


#: A temporary of :func:`atomic_write`: ``.<name>.<pid>.tmp``.
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.tmp$")


def remove_abandoned_temporaries(folder, *, older_than_s=3600, same_host=True):
    """Delete the temporaries :func:`atomic_write` left in ``folder`` when its writer was killed.

    A temporary goes when the process that wrote it (its name holds the pid) has
    ended, or, whoever wrote it, once it is older than ``older_than_s``.

    Parameters
    ----------
    folder : str or Path
    older_than_s : float
        Age after which any temporary counts as abandoned.
    same_host : bool
        Whether every writer of ``folder`` runs on this machine, so that a pid
        means a process here. ``False`` on storage shared by a cluster, where a
        pid may be another machine's live worker: only the age counts.
    """
    now = time.time()
    for tmp in Path(folder).glob(".*.tmp"):
        match = _TEMPORARY.match(tmp.name)
        try:
            if (same_host and match and not _process_alive(int(match.group(1)))) \
                    or now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
        except OSError:
            pass  # removed meanwhile by its owner
