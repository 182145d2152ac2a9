"""musicnn clip features of every kept track, cached and computed in parallel.

For each track: the tag probabilities (50) averaged over the clip's 3 s
patches and the penultimate layer (200) pooled over them (mean, std, max:
600 values), as :meth:`mer_utils.pretrained.musicnn.Musicnn.clip_features`
gives them. The work is split as the machine likes it:

- worker processes (:func:`mer_utils.parallel.map_unordered`) decode each
  clip and cut it into patches with NumPy only
  (:func:`mer_utils.pretrained.musicnn_input.patches_task`; no TensorFlow
  in the workers);
- this process runs the network on the patches of several clips at once
  while the workers prepare the next ones, and stores each clip's features.

The cache: ``paths.cache_dir("musicnn")/<parameter key>/<track>-<audio key>.npz``
(:class:`~mer_utils.pretrained.feature_cache.FeatureCache`). The parameter
key hashes the model, every input parameter, :data:`FEATURE_VERSION` and
the versions of the libraries and of the wheel that carries the weights;
the audio key hashes the track id and the file's path, size and
modification time, as the mel cache does. A clip that holds no whole
patch, is silent or cannot be decoded is rejected with a reason of
:data:`mer_utils.accounting.REASONS` (cached too).
"""

import importlib.metadata
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config, paths
from ..accounting import Rejected, StageReport
from ..mels import MIN_TRACKS_PER_WORKER, entry_stem, missing_audio, outcome_of, track_rows
from ..melspec import install_mel_bases, mel_basis
from ..parallel import map_unordered, resolve_workers, shared_paths
from . import musicnn, musicnn_input
from .feature_cache import FeatureCache

#: Bump when the computation changes, so that old cache entries are not reused.
FEATURE_VERSION = 1
#: Patches the network runs on at once (about 3 clips of 30 s).
BATCH_PATCHES = 32
#: Statistics of the penultimate layer the models use by default (the issue's recipe: mean and std).
DEFAULT_POOLING = ("mean", "std")


def input_parameters(*, max_seconds=config.CLIP_SECONDS):
    """The input parameters the features depend on, as :func:`musicnn_input.load_patches` takes them."""
    return {"max_seconds": float(max_seconds), "sample_rate": musicnn_input.SAMPLE_RATE,
            "n_fft": musicnn_input.N_FFT, "hop": musicnn_input.HOP, "n_mels": musicnn_input.N_MELS,
            "patch_frames": musicnn_input.PATCH_FRAMES, "patch_hop": musicnn_input.PATCH_FRAMES,
            "log_scale": musicnn_input.LOG_SCALE, "silence_dbfs": config.SILENCE_PEAK_DBFS}


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def cache_provenance(model, params):
    """What the cached features depend on: model, input parameters, code and library versions."""
    import soundfile

    return {"model": model, **params, "feature_version": FEATURE_VERSION,
            "weights": musicnn.PACKAGE, "musicnn": _version("musicnn"),
            "tensorflow": _version("tensorflow") or _version("tensorflow-cpu"), "keras": _version("keras"),
            "numpy": np.__version__, "librosa": _version("librosa"), "soxr": _version("soxr"),
            "libsndfile": soundfile.__libsndfile_version__}


@dataclass
class MusicnnReport(StageReport):
    """What :func:`extract_all` did (the counts of :class:`~mer_utils.accounting.StageReport`).

    Attributes
    ----------
    features : dict[str, Path]
        Track id -> cached ``.npz`` (``tags``, ``embedding``, ``n_patches``), in input order.
    network_s : float
        Time spent in the network, in this process.
    input_s : float
        Time spent decoding and cutting patches, summed over workers.
    cache_dir : Path
    model : str
        The checkpoint that computed the features.
    """

    features: dict = field(default_factory=dict)
    network_s: float = 0.0
    input_s: float = 0.0
    cache_dir: Path = None
    model: str = musicnn.DEFAULT_MODEL

    def table(self, *, parts=("tags", *DEFAULT_POOLING)):
        """:func:`feature_table` of the extracted tracks, tag columns named after the checkpoint's tags."""
        return feature_table(self.features, parts=parts, tag_names=musicnn.tag_names(self.model))

    def summary(self):
        """One-row table of counts and times, for notebooks."""
        return pd.DataFrame([{
            "extracted": len(self.features), "rejected": len(self.rejections), "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses, "workers": self.n_workers, "wall_s": round(self.wall_s, 2),
            "input_s": round(self.input_s, 2), "network_s": round(self.network_s, 2),
        }])


def extract_all(tracks, *, model=musicnn.DEFAULT_MODEL, max_seconds=config.CLIP_SECONDS, n_workers=0,
                cache_dir=None, network=None, progress=True, executor=config.EXECUTOR):
    """Compute (or find in the cache) the musicnn features of every track.

    Parameters
    ----------
    tracks : pandas.DataFrame or iterable of mappings
        Rows with ``track_id`` and ``audio_path``; a ledger is accepted as is
        (only ``kept`` rows are used).
    model : str
        A checkpoint of :data:`mer_utils.pretrained.musicnn.MODELS`.
    max_seconds : float
        Audio read from the start of each file (the study's ``clip_seconds``).
    n_workers : int
        Processes preparing patches; 1 = this process; 0 = automatic.
    cache_dir : str or Path, optional
        Root of the cache; default ``paths.cache_dir("musicnn")``.
    network : Musicnn or callable, optional
        An already loaded network of ``model``, or a function that returns one; either way it
        is only used (the function only called) when a track needs computing. Default: load
        ``model`` then.
    progress : bool
    executor : str
        Where the patches are prepared: ``"local"``, ``"dask"`` or a Dask scheduler address
        (:func:`mer_utils.parallel.map_unordered`). Workers read the audio (at the same path
        on every worker); the network runs and the cache is written here.

    Returns
    -------
    MusicnnReport
        Every track is either in ``features`` or in ``rejections``.

    Raises
    ------
    mer_utils.pretrained.musicnn.MusicnnUnavailable
        If a track needs computing and the weights cannot be loaded (the
        message names the package and the install command).
    """
    start = time.perf_counter()
    musicnn.validate_model(model)
    params = input_parameters(max_seconds=max_seconds)
    cache = FeatureCache(cache_dir or paths.cache_dir("musicnn"), cache_provenance(model, params)).prepare()
    report = MusicnnReport(cache_dir=cache.folder, model=model)
    rows, results, todo = track_rows(tracks), {}, []
    for track_id, audio_path in rows:
        stem = entry_stem(track_id, audio_path)
        cached = None if stem is None else cache.get(stem, track_id=track_id)
        if stem is None:
            results[track_id] = missing_audio(track_id, audio_path)
        elif cached is not None:
            results[track_id] = cached if isinstance(cached, Rejected) else cache.feature_path(stem)
            report.cache_hits += 1
        else:
            todo.append((track_id, str(audio_path), stem))
    report.cache_misses = len(todo)
    if todo:
        network = network() if callable(network) else network or musicnn.Musicnn(model)
        results.update(_compute(todo, params, cache, network, report, n_workers=n_workers, progress=progress,
                                executor=executor))
    outcomes = [results[track_id] for track_id, _ in rows]
    report.rejections = [outcome for outcome in outcomes if isinstance(outcome, Rejected)]
    report.features = {t: o for (t, _), o in zip(rows, outcomes) if not isinstance(o, Rejected)}
    report.wall_s = time.perf_counter() - start
    return report


def patch_workers(n_workers, n_tracks):
    """Processes that cut the patches of ``n_tracks`` tracks (``n_workers`` 0: automatic, as the mel stage)."""
    return resolve_workers(n_workers, n_items=n_tracks, min_items_per_worker=MIN_TRACKS_PER_WORKER)


def map_patches(tracks, params, *, workers, desc, progress=True, executor=config.EXECUTOR):
    """Yield ``((track_id, audio_path, params), outcome)`` of :func:`musicnn_input.patches_task` for every track.

    The patches are cut in ``workers`` processes (NumPy only there, the mel
    basis installed once in each), in completion order; ``outcome`` is the
    task's answer or the exception it raised (:func:`mer_utils.mels.outcome_of` reads both).

    Parameters
    ----------
    tracks : sequence of (str, str)
        ``(track_id, audio_path)`` pairs, the files existing.
    params : dict
        :func:`input_parameters`.
    workers : int
        From :func:`patch_workers`.
    desc : str
        Label of the progress bar.
    progress : bool
    executor : str
        ``"local"``, ``"dask"`` or a Dask scheduler address (:func:`mer_utils.parallel.map_unordered`).
    """
    tasks = [(track_id, str(audio_path), params) for track_id, audio_path in tracks]
    bases = {(params["sample_rate"], params["n_fft"], params["n_mels"]):
             mel_basis(params["sample_rate"], params["n_fft"], params["n_mels"])}
    yield from map_unordered(musicnn_input.patches_task, tasks, n_workers=workers, initializer=install_mel_bases,
                             initargs=(bases,), desc=desc, progress=progress, executor=executor,
                             shared_paths=shared_paths([task[1] for task in tasks]))


def _compute(todo, params, cache, network, report, *, n_workers, progress, executor=config.EXECUTOR):
    """Patches in worker processes, the network here on batches of clips; ``{track_id: Path or Rejected}``."""
    stems = {track_id: stem for track_id, _, stem in todo}
    report.n_workers = patch_workers(n_workers, len(todo))
    outcomes, pending = {}, {}

    def run_network():
        clock = time.perf_counter()
        for track_id, features in zip(pending, network.clips_features(list(pending.values()))):
            outcomes[track_id] = cache.put(stems[track_id], tags=features.tags, embedding=features.embedding,
                                           n_patches=np.int32(features.n_patches))
        report.network_s += time.perf_counter() - clock
        pending.clear()

    for task, outcome in map_patches([(track_id, audio_path) for track_id, audio_path, _ in todo], params,
                                     workers=report.n_workers, desc="musicnn features", progress=progress,
                                     executor=executor):
        track_id = task[0]
        if not isinstance(outcome, BaseException) and outcome[0] == "ok":
            pending[track_id] = outcome[1]
            report.input_s += outcome[2]
            if sum(len(p) for p in pending.values()) >= BATCH_PATCHES:
                run_network()
            continue
        # outcome_of turns worker crashes and exceptions into extraction_failed, as the mel stage does
        outcomes[track_id], seconds = outcome_of((track_id, task[1]), outcome)
        report.input_s += seconds
        if not isinstance(outcome, BaseException):  # a property of the file: remember it
            cache.reject(stems[track_id], outcomes[track_id])
    if pending:
        run_network()
    return outcomes


def feature_table(features, *, parts=("tags", *DEFAULT_POOLING), tag_names=None):
    """The cached features of many tracks as one table.

    Parameters
    ----------
    features : mapping of str to path
        Track id -> ``.npz``, as :attr:`MusicnnReport.features`.
    parts : sequence of str
        Which values to keep: ``"tags"`` (50 probabilities) and any of the
        penultimate layer's statistics :data:`mer_utils.pretrained.musicnn.POOLING`.
    tag_names : sequence of str, optional
        Column names of the tags (default ``tag_<k>``).

    Returns
    -------
    pandas.DataFrame [shape=(n_tracks, n_values), dtype=float32]
        Indexed by track id; columns ``tag_<name>`` then ``penultimate_<stat>_<unit>``.
    """
    unknown = [p for p in parts if p != "tags" and p not in musicnn.POOLING]
    if unknown or not parts:
        raise ValueError(f"unknown musicnn feature parts {unknown or parts}; choose from tags, "
                         f"{', '.join(musicnn.POOLING)}")
    rows, columns = [], None
    for track_id, path in features.items():
        with np.load(path) as stored:
            tags, embedding = stored["tags"], stored["embedding"].reshape(len(musicnn.POOLING), -1)
        if columns is None:
            columns = _column_names(parts, len(tags), embedding.shape[1], tag_names)
        rows.append(np.concatenate([tags if part == "tags" else embedding[musicnn.POOLING.index(part)]
                                    for part in parts]))
    if not rows:
        return pd.DataFrame(columns=[], dtype=np.float32)
    return pd.DataFrame(np.stack(rows).astype(np.float32), index=pd.Index(list(features), name="track_id"),
                        columns=columns)


def _column_names(parts, n_tags, width, tag_names):
    names = []
    for part in parts:
        if part == "tags":
            names += [f"tag_{name}" for name in (tag_names or range(n_tags))]
        else:
            names += [f"penultimate_{part}_{unit}" for unit in range(width)]
    return names
