"""Log-mel spectrograms: the audio input of the paper's models.

Jeon et al. (2017, section 2) represent each track by the mel-spectrogram of
its first minute, "a 128 by 1024 matrix including 128 mels and 1024 time
slots". For every kept track this module

1. decodes the audio with soundfile (WAV, FLAC, OGG, MP3; only the first
   ``clip_seconds`` are read), mixes it to mono and resamples it with soxr
   to ``sample_rate`` (:func:`load_clip`);
2. computes a log-scaled mel-spectrogram with exactly ``n_frames`` frames
   (:func:`mel_spectrogram`; identical to ``librosa.feature.melspectrogram``
   followed by ``librosa.power_to_db``, only faster). Steps 1 and 2 live in
   :mod:`mer_utils.melspec` (what worker processes import) and are
   re-exported here;
3. stores it as float16 ``.npy`` in the feature cache, written to a
   temporary name then renamed (:func:`extract_all`, in parallel);
4. serves the features memory-mapped (:class:`MelStore`): nothing holds the
   corpus in memory (7,484 tracks at the paper's size are ~2 GB);
5. gathers the run's features into one float16 matrix, time-major, for
   training (:func:`open_matrix`, :mod:`mer_utils.feature_matrix`): batches
   are rows of one file, rebuilt whenever it no longer matches the cache.

Tracks whose audio cannot be used are rejected with a reason code from
:data:`mer_utils.accounting.REASONS`; the caller applies them to the ledger.

The cache
---------
``paths.cache_dir("mels")/<parameter key>/<track>-<audio key>.npy``. The
parameter key hashes every extraction parameter and the versions of
librosa, soxr and libsndfile (a folder per parameter set, with a
``params.json`` saying which). The audio key hashes the track id and the
audio file's identity: absolute path, size and modification time (cheap to
check; a content hash would re-read every file on each rerun). A rerun
therefore recomputes nothing; a changed parameter or a modified file
recomputes what it affects. Rejections, which depend only on the file
(unreadable, silent, too short), are cached too, as ``.rejected.json``;
unexpected errors are not, so they are retried on the next run.
"""

import functools
import hashlib
import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import config, feature_matrix, paths
from .accounting import Rejected, StageReport
from .fileio import remove_abandoned_temporaries, write_text
from .melspec import (  # noqa: F401 -- the computation, re-exported: mels is the stage's one entry point
    STORE_DTYPE, clip_samples, extract_and_store, hop_length, install_mel_bases,
    load_clip, mel_basis, mel_spectrogram, quiet_librosa, validate_parameters,
)
from .parallel import WorkerCrashed, map_unordered, resolve_workers, shared_paths

#: Name of this stage in the ledger.
STAGE = "02_mels"
#: Bump when the computation changes, so that old cache entries are not reused.
FEATURE_VERSION = 1
#: With ``n_workers=0``, one worker process per this many tracks to compute: starting a
#: worker (~0.5 s) costs about what 15-20 tracks take to extract.
MIN_TRACKS_PER_WORKER = 16


# --- the cache ------------------------------------------------------------------

def parameter_key(params):
    """Folder name of a parameter set: a hash of ``params`` and the library versions."""
    return _digest(json.dumps(_provenance(params), sort_keys=True))[:16]


def _provenance(params):
    import librosa
    import soundfile
    import soxr

    return {
        **params,
        "feature_version": FEATURE_VERSION,
        "librosa": librosa.__version__,
        "soxr": soxr.__version__,
        "libsndfile": soundfile.__libsndfile_version__,
    }


def _digest(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def entry_stem(track_id, audio_path):
    """``<readable id>-<hash of id, path, size, mtime>``; ``None`` when the file is absent."""
    if audio_path is None:
        return None
    try:
        stat = audio_path.stat()
    except OSError:
        return None
    identity = f"{track_id}\0{audio_path}\0{stat.st_size}\0{stat.st_mtime_ns}"
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", str(track_id))[:40]
    return f"{readable}-{_digest(identity)[:16]}"


@functools.lru_cache(maxsize=8)
def _npy_size(shape):
    """Size in bytes of a complete ``.npy`` of ``shape`` and :data:`STORE_DTYPE` (a torn write is shorter)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": np.lib.format.dtype_to_descr(np.dtype(STORE_DTYPE)), "fortran_order": False, "shape": shape}
    )
    return header.tell() + int(np.prod(shape)) * np.dtype(STORE_DTYPE).itemsize


# --- extraction -------------------------------------------------------------------

@dataclass
class ExtractionReport(StageReport):
    """What :func:`extract_all` did (``rejections``, ``cache_hits``, ``cache_misses``,
    ``wall_s`` and ``n_workers`` as in :class:`~mer_utils.accounting.StageReport`).

    ``cache_hits`` / ``cache_misses`` count tracks answered from the cache /
    decoded now (tracks whose audio file is missing are neither);
    ``n_workers`` is 0 when everything came from the cache.

    Attributes
    ----------
    features : dict[str, Path]
        Track id -> cached feature file, for every extracted track, in input order.
    compute_s : float
        Time spent decoding and computing, summed over workers.
    cache_dir : Path
        The parameter set's cache folder.
    """

    features: dict = field(default_factory=dict)
    compute_s: float = 0.0
    cache_dir: Path = None

    def summary(self):
        """One-row table of counts and times, for notebooks."""
        return pd.DataFrame([{
            "extracted": len(self.features), "rejected": len(self.rejections),
            "cache_hits": self.cache_hits, "cache_misses": self.cache_misses, "workers": self.n_workers,
            "wall_s": round(self.wall_s, 2), "compute_s": round(self.compute_s, 2),
        }])


def extract_all(tracks, *, sample_rate=config.SAMPLE_RATE, clip_seconds=config.CLIP_SECONDS,
                n_mels=config.N_MELS, n_frames=config.N_FRAMES, n_fft=config.N_FFT, n_workers=0,
                cache_dir=None, progress=True, executor=config.EXECUTOR):
    """Compute (or find in the cache) the log-mel feature of every track.

    Parameters
    ----------
    tracks : pandas.DataFrame or iterable of mappings
        Rows with ``track_id`` and ``audio_path`` (absolute). A ledger is
        accepted as is: when a ``status`` column is present only ``kept``
        rows are extracted.
    sample_rate, clip_seconds, n_mels, n_frames, n_fft
        See :func:`load_clip` and :func:`mel_spectrogram`; defaults are the paper's.
    n_workers : int
        Worker processes; 1 = this process only; 0 = automatic: all cores, but
        one worker per :data:`MIN_TRACKS_PER_WORKER` tracks to compute.
    cache_dir : str or Path, optional
        Root of the feature cache; default ``paths.cache_dir("mels")``.
    progress : bool
        Show a progress bar.
    executor : str
        ``"local"`` (this machine's process pool), ``"dask"`` (a Dask
        LocalCluster of ``n_workers`` processes) or a Dask scheduler address
        ``"tcp://host:port"`` (:func:`mer_utils.parallel.map_unordered`).
        Workers read the audio and write the cache themselves: on a cluster
        both must be on storage every worker sees at the same path (checked
        first; docs/scaling.md).

    Returns
    -------
    ExtractionReport
        Every input track is either in ``features`` or in ``rejections``.

    Raises
    ------
    ValueError
        Invalid parameters, missing columns, or duplicate track ids.
    """
    start = time.perf_counter()
    params = dict(sample_rate=int(sample_rate), clip_seconds=float(clip_seconds), n_mels=int(n_mels),
                  n_frames=int(n_frames), n_fft=int(n_fft))
    validate_parameters(**params)
    rows = track_rows(tracks)
    folder = Path(cache_dir) if cache_dir is not None else paths.cache_dir("mels")
    folder = folder / parameter_key(params)
    folder.mkdir(parents=True, exist_ok=True)
    _write_params(folder, params)
    remove_abandoned_temporaries(folder, same_host=executor == "local")

    results, todo, hits = {}, [], 0
    for track_id, audio_path in rows:
        stem = entry_stem(track_id, audio_path)
        if stem is None:  # not in the cache's business: checked on every run
            results[track_id] = missing_audio(track_id, audio_path)
        elif (cached := _cached_outcome(track_id, folder / stem, params)) is not None:
            results[track_id], hits = cached, hits + 1
        else:
            todo.append((track_id, str(audio_path), str(folder / stem), params))
    report = ExtractionReport(cache_hits=hits, cache_misses=len(todo), cache_dir=folder)
    if todo:
        report.n_workers = resolve_workers(n_workers, n_items=len(todo), min_items_per_worker=MIN_TRACKS_PER_WORKER)
        bases = {(sample_rate, n_fft, n_mels): mel_basis(sample_rate, n_fft, n_mels)}
        for task, outcome in map_unordered(extract_and_store, todo, n_workers=report.n_workers,
                                           initializer=install_mel_bases, initargs=(bases,), desc="mel extraction",
                                           progress=progress, executor=executor,
                                           shared_paths=shared_paths([task[1] for task in todo], folder)):
            results[task[0]], seconds = outcome_of(task, outcome)
            report.compute_s += seconds
    for track_id, _ in rows:
        outcome = results[track_id]
        if isinstance(outcome, Rejected):
            report.rejections.append(outcome)
        else:
            report.features[track_id] = outcome
    report.wall_s = time.perf_counter() - start
    return report


def track_rows(tracks):
    """``[(track_id, absolute audio Path or None), ...]`` of the tracks to extract."""
    table = pd.DataFrame(tracks) if not isinstance(tracks, pd.DataFrame) else tracks
    missing = {"track_id", "audio_path"} - set(table.columns)
    if missing:
        raise ValueError(f"extract_all: the tracks lack columns {sorted(missing)}")
    if "status" in table.columns:
        table = table[table["status"] == "kept"]
    ids = table["track_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"extract_all: duplicate track ids {ids[ids.duplicated()].tolist()[:5]}")
    return [(tid, Path(p).resolve() if isinstance(p, (str, Path)) and str(p) else None)
            for tid, p in zip(ids, table["audio_path"])]


def _write_params(folder, params):
    target = folder / "params.json"
    if not target.exists():
        write_text(target, json.dumps(_provenance(params), indent=2, sort_keys=True))


def missing_audio(track_id, audio_path):
    """The rejection of a track whose audio file is absent (shared with the pretrained-feature stage)."""
    if audio_path is None:
        return Rejected("missing_audio", f"track {track_id} has no audio file in the ledger", track_id=track_id)
    return Rejected("missing_audio", f"audio file {audio_path} does not exist", track_id=track_id)


def _cached_outcome(track_id, stem, params):
    """The cached feature path or rejection of a track; ``None`` when it must be computed."""
    feature = stem.with_name(f"{stem.name}.npy")
    try:
        if feature.stat().st_size == _npy_size((params["n_mels"], params["n_frames"])):
            return feature
    except FileNotFoundError:
        pass
    rejected = stem.with_name(f"{stem.name}.rejected.json")
    if rejected.is_file():
        try:
            return Rejected(**json.loads(rejected.read_text(encoding="utf-8")), track_id=track_id)
        except (ValueError, TypeError):
            return None  # unreadable marker: recompute
    return None


def outcome_of(task, outcome):
    """Turn a worker's answer (or its exception) into (Path or Rejected, seconds)."""
    track_id, audio_path = task[0], task[1]
    if isinstance(outcome, WorkerCrashed):
        return Rejected("extraction_failed", f"audio file {audio_path} crashed the decoder (malformed audio?)",
                        track_id=track_id), 0.0
    if isinstance(outcome, BaseException):
        return Rejected("extraction_failed", f"audio file {audio_path}: unexpected {type(outcome).__name__}: {outcome}",
                        track_id=track_id), 0.0
    if outcome[0] == "ok":
        return Path(outcome[1]), outcome[2]
    return Rejected(outcome[1], outcome[2], track_id=track_id), outcome[3]


# --- the run-folder index and the store -----------------------------------------------

def index_path(layout):
    """``data/mels.csv`` of a run: track_id -> feature file."""
    return layout.mels_csv


def write_index(layout, features):
    """Write the run's index (``data/mels.csv``) from ``{track_id: path}``; return its path."""
    table = pd.DataFrame({"track_id": list(features), "path": [str(p) for p in features.values()]})
    target = index_path(layout)
    return write_text(target, table.to_csv(index=False))


def read_index(layout):
    """``{track_id: feature file}`` of a run, in index order, from ``data/mels.csv``."""
    source = index_path(layout)
    if not source.is_file():
        raise ValueError(f"{source} does not exist: run notebook 02 (mel extraction) first")
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    if list(table.columns) != ["track_id", "path"]:
        raise ValueError(f"{source}: expected columns track_id, path; found {list(table.columns)}")
    return dict(zip(table["track_id"], table["path"]))


def extraction_parameters(layout):
    """The parameters the run's features were extracted with (``sample_rate``, ``clip_seconds``, ``n_mels``,
    ``n_frames``, ``n_fft``), read from their cache folder's ``params.json``; ``{}`` when unknown."""
    try:
        first = next(iter(read_index(layout).values()), None)
        saved = json.loads((Path(first).parent / "params.json").read_text(encoding="utf-8")) if first else {}
    except (ValueError, OSError):  # no index, no params.json, unreadable: unknown
        return {}
    return {name: saved[name] for name in ("sample_rate", "clip_seconds", "n_mels", "n_frames", "n_fft")
            if name in saved}


class MelStore:
    """Read-only access to a run's features, memory-mapped from the cache.

    Parameters
    ----------
    paths : mapping of str to path
        Track id -> ``.npy`` feature file.

    Examples
    --------
    >>> store = MelStore.open(layout)            # doctest: +SKIP
    >>> store.shape                              # doctest: +SKIP
    (128, 1024)
    >>> x = store.batch(split["train"][:32])     # (32, 1024, 128) float32 for Keras  # doctest: +SKIP
    """

    def __init__(self, paths):
        self._paths = {str(k): Path(v) for k, v in paths.items()}
        missing = [str(p) for p in self._paths.values() if not p.is_file()]
        if missing:
            raise ValueError(
                f"{len(missing)} cached mel features are missing (e.g. {missing[0]}); "
                "the cache was cleared or moved: rerun notebook 02"
            )
        self._shape = tuple(self.get(self.ids[0]).shape) if self._paths else None

    @classmethod
    def open(cls, layout):
        """The store of a run, from its ``data/mels.csv`` (written by notebook 02)."""
        return cls(read_index(layout))

    @property
    def ids(self):
        """Track ids, in index order."""
        return list(self._paths)

    @property
    def shape(self):
        """Shape of one feature: ``(n_mels, n_frames)``."""
        return self._shape

    def __len__(self):
        return len(self._paths)

    def __contains__(self, track_id):
        return track_id in self._paths

    def get(self, track_id):
        """One feature, memory-mapped: float16 [shape=(n_mels, n_frames)], read-only."""
        try:
            path = self._paths[track_id]
        except KeyError:
            raise KeyError(f"no mel feature for track {track_id!r} (rejected, or not in this run)") from None
        return np.load(path, mmap_mode="r")

    def batch(self, track_ids):
        """Features of ``track_ids`` stacked time-major, as the Keras models take them.

        Returns
        -------
        np.ndarray [shape=(len(track_ids), n_frames, n_mels), dtype=float32]
            Only these tracks are read from disk.
        """
        n_mels, n_frames = self.shape
        out = np.empty((len(track_ids), n_frames, n_mels), dtype=np.float32)
        for row, track_id in enumerate(track_ids):
            out[row] = self.get(track_id).T
        return out


# --- the run's feature matrix ---------------------------------------------------------

#: The matrix rows are the cached features transposed: (n_frames, n_mels), as the models take them.
MATRIX_LAYOUT = "transpose: (n_frames, n_mels)"


def open_matrix(layout, *, memory_budget_mb=config.FEATURE_MEMORY_MB):
    """The run's features as one matrix, (re)built from ``data/mels.csv`` unless it matches the cache.

    Parameters
    ----------
    layout : RunLayout
    memory_budget_mb : float
        Load the matrix whole when it takes at most this many MB; else read
        each batch's rows from the file.

    Returns
    -------
    MelMatrix
        The MelStore interface (``ids``, ``shape``, ``batch``, ``get``) plus
        row reads of the stored float16 (:class:`mer_utils.feature_matrix.FeatureMatrix`).
    """
    return feature_matrix.open_matrix(layout.matrix_dir("mels"), read_index(layout), transform=np.transpose,
                                      transform_name=MATRIX_LAYOUT, memory_budget_mb=memory_budget_mb,
                                      matrix_class=MelMatrix)


class MelMatrix(feature_matrix.FeatureMatrix):
    """A run's mel features as rows of one float16 matrix [shape=(n_tracks, n_frames, n_mels)].

    Serves what :class:`MelStore` serves, with the same numbers; built by :func:`open_matrix`.
    """

    @property
    def shape(self):
        """Shape of one feature as cached: ``(n_mels, n_frames)``."""
        return self.row_shape[::-1]

    def get(self, track_id):
        """One feature: float16 [shape=(n_mels, n_frames)]."""
        return self.read([track_id])[0].T

    def batch(self, track_ids):
        """float32 [shape=(len(track_ids), n_frames, n_mels)], equal to :meth:`MelStore.batch`."""
        return self.read(track_ids).astype(np.float32)


# --- summaries for notebook 02 ----------------------------------------------------------

def class_average_spectra(store, labels):
    """Mean log-mel spectrum (over time and tracks) of each class.

    Parameters
    ----------
    store : MelStore
    labels : mapping of str to str
        Track id -> class name, e.g. from the ledger's ``label`` column.

    Returns
    -------
    pandas.DataFrame [shape=(n_mels, n_classes)]
        Index: mel band; one column per class, in dB.
    """
    sums, counts = {}, {}
    for track_id, label in labels.items():
        if track_id in store:
            spectrum = store.get(track_id).astype(np.float32).mean(axis=1)
            sums[label] = sums.get(label, 0.0) + spectrum
            counts[label] = counts.get(label, 0) + 1
    table = pd.DataFrame({label: sums[label] / counts[label] for label in sorted(sums)})
    table.index.name = "mel_band"
    return table


def pick_examples(labels, store, *, per_class, seed):
    """``{class: [track ids]}``: ``per_class`` extracted tracks of each class, drawn reproducibly."""
    rng = np.random.default_rng(seed)
    chosen = {}
    for label in sorted(set(labels.values())):
        ids = [t for t, lab in labels.items() if lab == label and t in store]
        chosen[label] = list(rng.choice(ids, size=min(per_class, len(ids)), replace=False)) if ids else []
    return chosen
