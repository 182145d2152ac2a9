"""A run's per-track features gathered into one contiguous float16 file, read by row.

The per-track cache (one ``.npy`` per track, :mod:`mer_utils.mels`) is the
source of truth and what a rerun reuses; training, which reads every track
once per epoch in random batches, reads this matrix instead: one file of
``(n_tracks, *row_shape)`` float16 rows in the run folder, with its id index.
A batch is ``batch_size`` positional reads from one open file (no file
opened per track, no header parsed per track, no transposition), or a slice
of the matrix loaded whole when it fits the memory budget.

The matrix folder (``RunLayout.matrix_dir(kind)``) holds

=============== ==============================================================
``matrix.npy``  float16 [shape=(n_tracks, *row_shape)], row ``i`` = ``ids[i]``
``index.json``  ``ids``, ``row_shape`` and each source file's path, size and
                modification time (the signature it was built from)
=============== ==============================================================

and is written whole under a temporary name, then renamed
(:func:`mer_utils.fileio.atomic_dir`): a kill never leaves a matrix without
its index. :func:`open_matrix` compares the index with the sources it is
given (ids, paths, sizes, modification times) and rebuilds the matrix when
anything differs: a matrix that does not match the cache is never used.

Rows are read with ``os.preadv`` rather than through a memory map: the
pages then stay in the operating system's page cache, not in the process's
resident memory, so reading a 2 GB matrix (7,484 one-minute tracks) over an
epoch does not grow the process by 2 GB.
"""

import json
import logging
import os
from pathlib import Path

import numpy as np

from .fileio import atomic_dir, write_json

logger = logging.getLogger(__name__)

#: Storage type of every matrix (the per-track caches store float16 too).
MATRIX_DTYPE = np.float16
#: Version of the folder's format; a different one is rebuilt.
FORMAT_VERSION = 1
MATRIX_FILE = "matrix.npy"
INDEX_FILE = "index.json"


# --- signatures -------------------------------------------------------------------

def source_signature(sources):
    """``[[track_id, path, size, mtime_ns], ...]`` of the per-track files, in order.

    Parameters
    ----------
    sources : mapping of str to path
        Track id -> per-track ``.npy`` file.

    Raises
    ------
    ValueError
        A source file is missing (names the first ones).
    """
    rows, missing = [], []
    for track_id, path in sources.items():
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            missing.append(f"{path} (track {track_id})")
            continue
        rows.append([str(track_id), str(path), stat.st_size, stat.st_mtime_ns])
    if missing:
        raise ValueError(f"{len(missing)} per-track feature files are missing, e.g. {missing[0]}: "
                         "the cache was cleared or moved; rerun the stage that wrote them")
    return rows


def _mismatch(index, signature, transform_name):
    """Why a built matrix's ``index`` does not fit ``signature``; ``None`` when it does."""
    if index.get("format") != FORMAT_VERSION or index.get("transform") != transform_name:
        return "it was built by another version or with another layout"
    built = {row[0]: row[1:] for row in index.get("sources", [])}
    wanted = {row[0]: row[1:] for row in signature}
    if [row[0] for row in index.get("sources", [])] != [row[0] for row in signature]:
        gone, new = sorted(set(built) - set(wanted)), sorted(set(wanted) - set(built))
        if gone or new:
            return (f"tracks differ ({len(gone)} no longer in the index, e.g. {gone[:3]}; "
                    f"{len(new)} new, e.g. {new[:3]})")
        return "the track order differs"
    changed = [t for t in wanted if built[t] != wanted[t]]
    if changed:
        return f"{len(changed)} per-track files changed since it was built (e.g. track {changed[0]})"
    return None


# --- building and opening -----------------------------------------------------------

def build_matrix(folder, sources, *, transform=None, transform_name="identity"):
    """Write the matrix of ``sources`` into ``folder`` (replacing what is there); return its index.

    Parameters
    ----------
    folder : path
        The matrix folder (created; replaced atomically).
    sources : mapping of str to path
        Track id -> per-track ``.npy`` file; all of one shape.
    transform : callable, optional
        Array -> row (e.g. a transposition); the row is stored as float16.
    transform_name : str
        Names ``transform`` in the index, so a matrix built with another one is rebuilt.

    Returns
    -------
    dict
        The index written to ``index.json``.

    Notes
    -----
    Memory stays one row: each source is read, transformed and appended to
    the file in turn.
    """
    signature = source_signature(sources)
    row_shape = None
    with atomic_dir(folder) as partial:
        with open(partial / MATRIX_FILE, "wb") as handle:
            header_at = handle.tell()
            _write_header(handle, (len(signature), 0))  # placeholder of the same size; rewritten below
            for track_id, path, _, _ in signature:
                row = _row(path, transform)
                if row_shape is None:
                    row_shape = row.shape
                elif row.shape != row_shape:
                    raise ValueError(f"{path} (track {track_id}) has shape {row.shape} after the transform; "
                                     f"the first track's is {row_shape}: features of one run must agree")
                handle.write(row.tobytes())
            handle.seek(header_at)
            _write_header(handle, (len(signature), *(row_shape or ())))
        index = {"format": FORMAT_VERSION, "transform": transform_name, "dtype": np.dtype(MATRIX_DTYPE).str,
                 "row_shape": list(row_shape or ()), "ids": [row[0] for row in signature], "sources": signature}
        write_json(partial / INDEX_FILE, index)
    return index


def _row(path, transform):
    array = np.load(path)
    if transform is not None:
        array = transform(array)
    return np.ascontiguousarray(array, dtype=MATRIX_DTYPE)


#: Bytes reserved for the header, whatever the shape (``.npy`` headers are padded to 64 bytes).
_HEADER_BYTES = 128


def _write_header(handle, shape):
    """A ``.npy`` version 1.0 header padded to :data:`_HEADER_BYTES`, so it can be rewritten in place."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(MATRIX_DTYPE)), "fortran_order": False,
              "shape": tuple(int(n) for n in shape)}
    text = repr(header).encode("latin1")
    magic = np.lib.format.magic(1, 0)
    padding = _HEADER_BYTES - len(magic) - 2 - len(text) - 1
    if padding < 0:
        raise ValueError(f"shape {shape} does not fit a {_HEADER_BYTES}-byte .npy header")
    handle.write(magic + (len(text) + padding + 1).to_bytes(2, "little") + text + b" " * padding + b"\n")


def open_matrix(folder, sources, *, transform=None, transform_name="identity", memory_budget_mb=0,
                matrix_class=None):
    """The matrix of ``sources``, rebuilt first unless the one in ``folder`` matches them.

    Parameters
    ----------
    folder : path
        The matrix folder (``RunLayout.matrix_dir(kind)``).
    sources : mapping of str to path
        Track id -> per-track ``.npy`` file, in the order the rows must have.
    transform, transform_name
        See :func:`build_matrix`.
    memory_budget_mb : float
        Load the matrix whole when it takes at most this many MB; else read rows from the file.
    matrix_class : type, optional
        :class:`FeatureMatrix` or a subclass.

    Returns
    -------
    FeatureMatrix
    """
    folder = Path(folder)
    signature = source_signature(sources)
    reason = "it does not exist yet"
    index_path = folder / INDEX_FILE
    if index_path.is_file():
        try:
            reason = _mismatch(json.loads(index_path.read_text(encoding="utf-8")), signature, transform_name)
        except ValueError:
            reason = "its index is unreadable"
    if reason is not None:
        logger.info("building the feature matrix %s (%d tracks): %s", folder, len(signature), reason)
        build_matrix(folder, sources, transform=transform, transform_name=transform_name)
    matrix = (matrix_class or FeatureMatrix)(folder, memory_budget_mb=memory_budget_mb)
    matrix.rebuilt_because = reason
    return matrix


class FeatureMatrix:
    """Rows of one matrix folder, by track id.

    Parameters
    ----------
    folder : path
        Written by :func:`build_matrix`.
    memory_budget_mb : float
        Load the matrix whole when it takes at most this many MB (0: never).

    Attributes
    ----------
    rebuilt_because : str or None
        Set by :func:`open_matrix`: why the matrix was (re)built, ``None`` when reused.
    """

    rebuilt_because = None
    _fd = _fd_pid = None  # the open matrix file and the process that opened it

    def __init__(self, folder, *, memory_budget_mb=0):
        self.folder = Path(folder)
        index = json.loads((self.folder / INDEX_FILE).read_text(encoding="utf-8"))
        self._ids = list(index["ids"])
        self._rows = {track_id: i for i, track_id in enumerate(self._ids)}
        self.row_shape = tuple(index["row_shape"])
        self._row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * np.dtype(MATRIX_DTYPE).itemsize
        path = self.folder / MATRIX_FILE
        self._offset = _validated_header(path, (len(self._ids), *self.row_shape))
        expected = self._offset + len(self._ids) * self._row_bytes
        if path.stat().st_size != expected:
            raise ValueError(f"{path} has {path.stat().st_size} bytes, {expected} expected: delete the folder "
                             f"{self.folder} and rerun (it is rebuilt from the per-track cache)")
        self._path = path
        self.in_memory = self.nbytes <= memory_budget_mb * 1e6
        self._array = np.load(path) if self.in_memory else None

    @property
    def ids(self):
        """Track ids, in row order."""
        return list(self._ids)

    @property
    def nbytes(self):
        """Size of the rows in bytes."""
        return len(self._ids) * self._row_bytes

    def __len__(self):
        return len(self._ids)

    def __contains__(self, track_id):
        return track_id in self._rows

    def rows(self, track_ids):
        """Row numbers of ``track_ids`` (``KeyError`` naming an unknown track)."""
        try:
            return np.fromiter((self._rows[t] for t in track_ids), dtype=np.int64, count=len(track_ids))
        except KeyError as err:
            raise KeyError(f"no feature for track {err.args[0]!r} in {self.folder} "
                           "(rejected, or not in this run)") from None

    def read_rows(self, rows):
        """The stored rows: float16 [shape=(len(rows), *row_shape)], a new array."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._array is not None:
            return self._array[rows]
        out = np.empty((len(rows), *self.row_shape), dtype=MATRIX_DTYPE)
        fd = self._file()
        for k, row in enumerate(rows):
            target = memoryview(out[k]).cast("B")
            done = os.preadv(fd, [target], self._offset + int(row) * self._row_bytes)
            if done != self._row_bytes:
                raise ValueError(f"{self._path}: row {row} is truncated ({done} of {self._row_bytes} bytes)")
        return out

    def read(self, track_ids):
        """The stored rows of ``track_ids``: float16 [shape=(len(track_ids), *row_shape)]."""
        return self.read_rows(self.rows(track_ids))

    def _file(self):
        """The matrix file, opened once per process (a forked child opens its own)."""
        if self._fd is None or self._fd_pid != os.getpid():
            self._fd, self._fd_pid = os.open(self._path, os.O_RDONLY), os.getpid()
        return self._fd

    def close(self):
        """Release the file (reading again reopens it)."""
        if self._fd is not None and self._fd_pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def __del__(self):
        self.close()

    def __getstate__(self):
        return {**self.__dict__, "_fd": None}


def _validated_header(path, shape):
    """Offset of the rows in ``path``; ``ValueError`` unless its header says float16 of ``shape``."""
    with open(path, "rb") as handle:
        if np.lib.format.read_magic(handle) != (1, 0):
            raise ValueError(f"{path} is not a matrix written by build_matrix (.npy format 1.0): "
                             "delete its folder and rerun (it is rebuilt from the per-track cache)")
        found_shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        offset = handle.tell()
    if tuple(found_shape) != tuple(shape) or fortran or dtype != np.dtype(MATRIX_DTYPE):
        raise ValueError(f"{path} holds {dtype} {tuple(found_shape)}, expected {np.dtype(MATRIX_DTYPE)} {tuple(shape)} "
                         f"from its index: delete the folder and rerun (it is rebuilt from the per-track cache)")
    return offset
