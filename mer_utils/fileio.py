"""Crash-safe writes: a kill mid-write never leaves half a file behind.

Standard library only, so worker processes can import it cheaply.
"""

import json
import os
from pathlib import Path


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary binary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path, data, *, indent=None):
    """Write ``data`` as UTF-8 JSON through :func:`atomic_write`; return the path.

    Non-JSON values (paths, dates) are written as strings.
    """
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
    return Path(path)
