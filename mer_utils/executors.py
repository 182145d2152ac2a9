"""Per-track work on a Dask cluster: what :func:`mer_utils.parallel.map_unordered` runs for ``executor != "local"``.

Two ways to get a cluster:

- ``"dask"``: a ``dask.distributed.LocalCluster`` on this machine, started
  for the call and closed after it: one single-threaded worker process per
  core (``n_workers``), each ending with this process (a killed kernel
  leaves no workers behind);
- ``"tcp://host:port"``: the scheduler of an existing cluster (``dask
  scheduler`` and ``dask worker`` on each machine, or any Dask deployment);
  it is used, never closed, and its size is its own (``n_workers`` is
  ignored). Every worker must run this project's environment, and the paths
  in the items must name the same files on every worker (shared storage):
  :func:`map_on_dask` checks ``shared_paths`` on every worker first.

The contract is the process pool's: every item yields once, with its
result or the exception it raised; an item whose worker died yields a
:class:`~mer_utils.parallel.WorkerCrashed`. Items travel a few per task
(:func:`items_per_task`), so that the scheduler's cost per task stays small
beside the work. Dask itself retries the tasks of a worker that died (at
most ``allowed-failures`` times: never on the local cluster, the cluster's
own setting on a remote one), then reports them as ``KilledWorker``; the
items of those tasks are run again one per task, and the ones whose worker
dies again once more alone, so that an item that merely shared a worker (or
a task) with the culprit is not blamed for it.

docs/scaling.md says how to run a cluster, what it must share and how to size it.
"""

import logging
import os
import threading
import uuid
from concurrent.futures import CancelledError
from pathlib import Path

import dask
from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, wait
from distributed.comm.core import CommClosedError

from .lifetime import die_with_parent
from .parallel import CONNECT_TIMEOUT_S, THREAD_VARIABLES, WorkerCrashed, address_problem, single_threaded_children

#: Seconds to wait for a remote cluster to have at least one worker (at the start, and again when all left).
WORKERS_TIMEOUT_S = 30.0
#: Seconds a scheduler has to answer the client's handshake (a port where something else listens never does).
HANDSHAKE_TIMEOUT_S = 15.0
#: How often Dask may reschedule a task whose worker died before reporting it (local clusters).
LOCAL_ALLOWED_FAILURES = 0
#: Most items sent to a worker in one task.
MAX_ITEMS_PER_TASK = 16
#: Shared paths checked on each worker: at most this many (the first, in the order given).
MAX_CHECKED_PATHS = 1000


class ClusterLost(RuntimeError):
    """The scheduler, or every worker, went away during a stage: nothing is recorded for its unfinished items."""


# --- the map --------------------------------------------------------------------------

def map_on_dask(func, items, *, executor, n_workers, initializer=None, initargs=(), shared_paths=()):
    """Yield ``(item, result)`` for every item, computed on a Dask cluster (see the module's docstring).

    Parameters
    ----------
    func : callable
        A module-level function of one item, importable on the workers.
    items : list
    executor : str
        ``"dask"`` (a local cluster of ``n_workers`` processes) or ``"tcp://host:port"``.
    n_workers : int
        Worker processes of a local cluster (>= 1).
    initializer, initargs
        Called once in every worker process before its first item (also in
        workers that join or restart later).
    shared_paths : sequence of path
        Folders or files every worker must see (checked before any work).
    """
    with _client(executor, n_workers) as client:
        _check_shared_paths(client, shared_paths)
        client.register_plugin(_WorkerSetup(os.getpid(), initializer, initargs),
                               name=f"mer-setup-{uuid.uuid4().hex}")
        size = items_per_task(len(items), len(client.scheduler_info(n_workers=-1)["workers"]))
        done = [0]  # items yielded so far
        killed = yield from _run_tasks(client, func, items, size, done)
        if killed and size > 1:  # the items of the chunks whose workers died, one per task
            killed = yield from _run_tasks(client, func, killed, 1, done)
        crashed = []
        for item in killed:  # each alone: a bystander of the culprit is not blamed
            crashed += yield from _run_tasks(client, func, [item], 1, done)
        if crashed and not done[0]:
            raise RuntimeError("Dask workers die before finishing any item: they probably cannot import this "
                               "project or run out of memory; see the workers' logs")
        for item in crashed:
            yield item, WorkerCrashed(f"the worker process died while handling {item!r}")


def items_per_task(n_items, n_workers):
    """Items sent in one task: about 4 tasks per worker for balance, at most :data:`MAX_ITEMS_PER_TASK`.

    One task per item would cost the scheduler ~1 ms each (Dask's own
    figure), which at thousands of tracks per second becomes the limit.
    """
    return max(1, min(MAX_ITEMS_PER_TASK, n_items // (4 * max(n_workers, 1))))


def _run_tasks(client, func, items, size, done):
    """Yield ``(item, result)`` of ``items`` run ``size`` per task; return the items whose workers died."""
    chunks = {client.submit(_run_chunk, func, items[i:i + size], pure=False): items[i:i + size]
              for i in range(0, len(items), size)}
    killed = []
    try:
        while chunks:
            for future in _finished(client, chunks):
                outcome, chunk = _outcome(future), chunks.pop(future)
                del future  # released: a worker dying later does not recompute a finished chunk
                if outcome is _KILLED:
                    killed += chunk
                    continue
                results = outcome if isinstance(outcome, list) else [outcome] * len(chunk)
                for item, result in zip(chunk, results):
                    done[0] += 1
                    yield item, result
    finally:
        try:
            client.cancel(list(chunks), force=True)
        except (OSError, CancelledError, TimeoutError):  # the scheduler is gone: nothing left to cancel there
            pass
    return killed


def _finished(client, futures, *, idle_s=WORKERS_TIMEOUT_S):
    """Some finished futures of ``futures``, waiting as long as the cluster has workers.

    Raises
    ------
    ClusterLost
        When no worker is left for ``idle_s`` seconds, or the scheduler does not answer.
    """
    while True:
        try:
            return wait(list(futures), timeout=idle_s, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            pass
        except (CancelledError, OSError) as err:  # the scheduler's connection lost: its tasks cancelled
            raise _lost(err) from None
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]
        except (OSError, CancelledError, TimeoutError) as err:
            raise _lost(err) from None
        if not workers:
            raise ClusterLost(f"every Dask worker left (none for {idle_s:g} s) while {len(futures)} tasks were "
                              f"waiting: the stage stops here; rerun it when workers are back (what finished is "
                              "cached)")


def _lost(err):
    """The :class:`ClusterLost` of an error from the scheduler's side (a lost connection, cancelled tasks)."""
    return ClusterLost(f"the Dask scheduler stopped answering ({type(err).__name__}: {err}): the stage stops here, "
                       "and nothing is recorded for its unfinished tracks; rerun it when the scheduler is back "
                       "(what finished is cached)")


def _run_chunk(func, chunk):
    """``[func(item) or the exception it raised, ...]`` (runs on a worker)."""
    from .parallel import call_catching

    return [call_catching(func, item) for item in chunk]


_KILLED = object()


def _outcome(future):
    """The task's result, the exception it raised, or ``_KILLED`` when its workers died.

    Asked with ``result()`` alone, never by the future's status: a finished
    task whose result was on a worker that died since is reset to pending
    and computed again, and ``result()`` waits for that (``exception()``
    would return ``None`` for it, taken for the chunk's result).
    """
    try:
        return future.result()
    except KilledWorker:
        return _KILLED
    except (CancelledError, CommClosedError) as err:  # the cluster's failure, not the items': never one per track
        raise _lost(err) from None
    except Exception as err:  # the task's own error, or one that could not travel back
        return err


class _client:
    """Context manager: a client of a new local cluster (closed after) or of the scheduler at an address."""

    def __init__(self, executor, n_workers):
        self.executor, self.n_workers = executor, n_workers
        self.cluster = self.client = None
        self._log_level = None

    def __enter__(self):
        # Dask logs every start, connection and close at INFO (some 35 lines a stage): a notebook shows warnings
        distributed_log = logging.getLogger("distributed")
        self._log_level = distributed_log.level
        distributed_log.setLevel(max(self._log_level, logging.WARNING))
        try:
            return self._start()
        except BaseException:
            distributed_log.setLevel(self._log_level)
            raise

    def _start(self):
        if self.executor == "dask":
            self._environ = dict(os.environ)  # a nanny writes its workers' variables into this process's
            with dask.config.set(local_cluster_config()), single_threaded_children():
                self.cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.CRITICAL)
            self.client = Client(self.cluster)
            return self.client
        problem = address_problem(self.executor)
        if problem:
            raise ValueError(problem)
        self.client = _connect(self.executor)
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
        except TimeoutError:
            self.client.close()
            raise ValueError(f"the Dask scheduler at {self.executor} has no workers "
                             f"(none joined within {WORKERS_TIMEOUT_S:g} s): start `dask worker {self.executor}` "
                             "on the machines that should work") from None
        return self.client

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            _restore_environ(self._environ)
        logging.getLogger("distributed").setLevel(self._log_level)
        return False


def _connect(address, *, timeout_s=HANDSHAKE_TIMEOUT_S):
    """A client of the scheduler at ``address``, or ``ValueError`` when none answers within ``timeout_s``.

    ``Client(address, timeout=...)`` waits forever on a port where something
    else accepts connections (a dashboard's, 8787, for the scheduler's, 8786),
    so the connection is made on a thread that is given up on.
    """
    box = {}

    def connect():
        try:
            box["client"] = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
        except Exception as err:  # reported below, in the caller's thread
            box["error"] = err

    thread = threading.Thread(target=connect, daemon=True, name="dask-connect")
    thread.start()
    thread.join(timeout_s)
    if "client" in box:
        return box["client"]
    why = (f"{type(box['error']).__name__}: {box['error']}" if "error" in box
           else f"no answer within {timeout_s:g} s")
    raise ValueError(f"no Dask scheduler answers at {address} ({why}); something else may listen there: a "
                     "scheduler's default port is 8786, its dashboard's 8787 (docs/scaling.md)")


def local_cluster_config():
    """Dask settings of the clusters started here (as ``dask.config.set`` takes them).

    - a task whose worker died is not retried by Dask (:func:`map_on_dask` does it, item by item);
    - workers get one BLAS/OpenMP thread each, as the process pool's do, and
      not Dask's ``MALLOC_TRIM_THRESHOLD_=65536``: it turns off glibc's
      adaptive threshold, so every large array is mapped and unmapped anew,
      which made mel extraction ~1.5x slower per track (docs/benchmarks.md);
    - no statistical profiler sampling the workers' threads every 10 ms (no dashboard shows it).
    """
    environ = "distributed.nanny.pre-spawn-environ"
    return {"distributed.scheduler.allowed-failures": LOCAL_ALLOWED_FAILURES,
            "distributed.worker.profile.enabled": False, f"{environ}.MALLOC_TRIM_THRESHOLD_": None,
            **{f"{environ}.{name}": 1 for name in THREAD_VARIABLES}}


def _restore_environ(saved):
    """Put back the environment variables a nanny changed in this process (they would reach later processes)."""
    for name in set(os.environ) | set(saved):
        if os.environ.get(name) != saved.get(name):
            if name in saved:
                os.environ[name] = saved[name]
            else:
                os.environ.pop(name, None)


def _check_shared_paths(client, paths):
    """``ValueError`` naming the workers that do not see every path of ``paths``.

    A folder that exists on a worker proves little (an empty mount point
    does), so each folder gets a probe file written here, which every worker
    must see (where this process may write: the cache); give a file of each
    folder that is only read (:func:`mer_utils.parallel.shared_paths`).
    """
    paths = [str(p) for p in list(dict.fromkeys(str(p) for p in paths))[:MAX_CHECKED_PATHS]]
    if not paths:
        return
    probes = _write_probes(paths)
    try:
        missing = {worker: gone for worker, gone in client.run(_missing_paths, paths + probes).items() if gone}
    finally:
        for probe in probes:
            Path(probe).unlink(missing_ok=True)
    if missing:
        worker, gone = next(iter(missing.items()))
        raise ValueError(
            f"{len(missing)} Dask worker(s) do not see the run's files, e.g. {worker} lacks {gone[0]} "
            f"({len(gone)} of {len(paths)} paths checked): the audio and the cache must be on storage that every "
            "worker mounts at the same path (docs/scaling.md)")


def _write_probes(paths):
    """A new empty file in each folder of ``paths`` that this process can write to; their paths."""
    probes = []
    for folder in (Path(p) for p in paths if Path(p).is_dir()):
        probe = folder / f".mer-probe-{uuid.uuid4().hex}"
        try:
            probe.touch(exist_ok=False)
        except OSError:  # read-only here (an audio folder): its files are checked instead
            continue
        probes.append(str(probe))
    return probes


def _missing_paths(paths):
    """Which of ``paths`` do not exist here (runs on each worker)."""
    return [p for p in paths if not os.path.exists(p)]


class _WorkerSetup(WorkerPlugin):
    """A Dask worker plugin: the caller's initializer in every worker, and local workers end with the caller.

    A worker process of a local cluster is a child of the process that
    started the cluster; it ends when that process ends
    (:func:`mer_utils.lifetime.die_with_parent`). Workers of a remote
    cluster belong to it and are left alone.
    """

    def __init__(self, caller_pid, initializer, initargs):
        self.caller_pid, self.initializer, self.initargs = caller_pid, initializer, initargs

    def setup(self, worker):
        if os.getpid() != self.caller_pid and os.getppid() == self.caller_pid:
            die_with_parent(self.caller_pid)
        if self.initializer is not None:
            self.initializer(*self.initargs)
