"""Run one function over many independent items on all cores, with a progress bar.

Used by the stages that process tracks one by one (mel extraction). Workers
are separate processes started with ``spawn`` (safe from a Jupyter kernel
that holds threads), each limited to one BLAS/OpenMP thread so that
``n`` workers use ``n`` cores, not ``n**2`` threads, and each ending when the
process that started it ends (:func:`mer_utils.lifetime.die_with_parent`:
a killed kernel leaves no workers behind). A worker that dies
(a decoder crashing on a malformed file) costs only the item it was on: the
other items are retried in a fresh pool and the culprit is reported.

The same function runs the items on a Dask cluster instead
(``executor="dask"`` for a local cluster, or a scheduler's address
``"tcp://host:port"``): :mod:`mer_utils.executors`, same contract.
"""

import contextlib
import multiprocessing
import os
import socket
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from urllib.parse import urlsplit

from .lifetime import die_with_parent

#: Thread-pool variables of the numeric libraries, pinned to 1 in workers.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
)


#: Values of the ``executor`` parameter: this machine's process pool, a Dask cluster started on this
#: machine, or (an entry ending in ``://``) the address of a running Dask scheduler.
EXECUTORS = ("local", "dask", "tcp://")
#: Seconds to wait for a Dask scheduler to answer (the runner's pre-check and the connection).
CONNECT_TIMEOUT_S = 5.0


class WorkerCrashed(RuntimeError):
    """The worker process died (not a Python exception) while handling an item."""


def available_cores():
    """Cores this process may run on (its CPU affinity, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_workers(n_workers, *, n_items=None, min_items_per_worker=1):
    """Turn the ``n_workers`` parameter into a process count.

    Parameters
    ----------
    n_workers : int
        ``0`` for automatic (the available cores), else the number of processes (>= 1).
    n_items : int, optional
        Never start more workers than there are items.
    min_items_per_worker : int
        With ``n_workers=0``, start a worker only per this many items: a
        worker process costs its start-up (interpreter and imports), which a
        few items do not repay. An explicit ``n_workers`` is taken as given.

    Returns
    -------
    int
        At least 1.
    """
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 0:
        raise ValueError(f"n_workers must be an integer >= 0 (0 = all cores), got {n_workers!r}")
    count = n_workers or available_cores()
    if n_items is not None:
        count = min(count, max(n_items // (1 if n_workers else min_items_per_worker), 1))
    return count


def validate_executor(executor):
    """``ValueError`` unless ``executor`` is ``"local"``, ``"dask"`` or a ``tcp://host:port`` address."""
    if executor in ("local", "dask"):
        return
    if not isinstance(executor, str) or not executor.startswith("tcp://"):
        raise ValueError(f"executor must be local, dask or a Dask scheduler address tcp://host:port, got {executor!r}")
    parse_address(executor)


def parse_address(address):
    """``(host, port)`` of ``tcp://host:port``; ``ValueError`` saying what is wrong otherwise."""
    parts = urlsplit(str(address))
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ValueError(f"{address!r} is not a Dask scheduler address: expected tcp://host:port, "
                         "e.g. tcp://10.0.0.5:8786")
    return parts.hostname, port


def address_problem(address, *, timeout_s=CONNECT_TIMEOUT_S):
    """``None`` when something listens at the scheduler ``address``; else one sentence saying why not.

    Only opens and closes a TCP connection (no Dask import), so the runner
    can check every address before any notebook runs.
    """
    try:
        host, port = parse_address(address)
    except ValueError as err:
        return str(err)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__)
        return (f"no Dask scheduler reachable at {address} ({reason} within {timeout_s:g} s): start one "
                "(`dask scheduler`) and its workers, or use executor local or dask")



def map_unordered(func, items, *, n_workers=0, initializer=None, initargs=(), desc=None, progress=True,
                  executor="local", shared_paths=()):
    """Yield ``(item, result)`` for every item, in completion order.

    Parameters
    ----------
    func : callable
        A module-level function (picklable) of one item. Exceptions it
        raises are yielded as the result, not raised, so one bad item never
        stops the others.
    items : sequence
        Picklable work items.
    n_workers : int
        ``0``: all cores; ``1``: run in this process (no pool; easiest to
        debug); ``n``: that many worker processes. With ``executor="dask"``
        the size of the local cluster (``1``: one worker process); ignored
        by a scheduler address (the cluster has its own workers).
    initializer, initargs
        Called once in each worker process (and once here when serial).
    desc : str, optional
        Label of the progress bar.
    progress : bool
        Show a ``tqdm`` progress bar on stderr.
    executor : str
        ``"local"``: this machine's process pool; ``"dask"``: a Dask
        ``LocalCluster`` started for the call; ``"tcp://host:port"``: the
        Dask scheduler of a running cluster (:mod:`mer_utils.executors`).
    shared_paths : sequence of path
        With a scheduler address: folders every worker must see (checked
        on each worker before any work; see docs/scaling.md).

    Yields
    ------
    item, result
        ``result`` is ``func(item)``, or the exception it raised, or a
        :class:`WorkerCrashed` when the worker process died on that item.
    """
    from tqdm.std import tqdm

    validate_executor(executor)
    items = list(items)
    workers = resolve_workers(n_workers, n_items=len(items))
    with tqdm(total=len(items), desc=desc, disable=not progress or not items, mininterval=2.0,
              file=progress_file()) as bar:
        if executor != "local" and items:
            from .executors import map_on_dask

            results = map_on_dask(func, items, executor=executor, n_workers=workers, initializer=initializer,
                                  initargs=initargs, shared_paths=shared_paths)
        elif workers == 1:
            results = _serial(func, items, initializer, initargs)
        else:
            results = _pooled(func, items, workers, initializer, initargs)
        for item, result in results:
            bar.update()
            yield item, result


def shared_paths(files, *folders):
    """What every worker of a cluster must see to read ``files`` and write into ``folders``.

    The ``folders`` (each gets a probe file written, which the workers must
    see), and one file of each folder of ``files``: a folder alone would pass
    on an empty mount point, and its tracks be taken for missing audio.
    """
    first = {}
    for file in files:
        first.setdefault(os.path.dirname(str(file)), str(file))
    return [*(str(folder) for folder in folders), *first.values()]


def progress_file():
    """Where progress bars go: stdout in a Jupyter kernel, which shows stderr as a red error box; else stderr."""
    ipython = sys.modules.get("IPython")  # only if already imported: worker processes never import it for this
    shell = ipython.get_ipython() if ipython is not None else None
    return sys.stdout if getattr(shell, "kernel", None) is not None else sys.stderr


def _serial(func, items, initializer, initargs):
    if initializer is not None:
        initializer(*initargs)
    for item in items:
        yield item, call_catching(func, item)


def call_catching(func, item):
    """``func(item)``, or the exception it raised."""
    try:
        return func(item)
    except Exception as err:  # handed to the caller as a result, see map_unordered
        return err


def _pooled(func, items, workers, initializer, initargs):
    """Run ``items`` in pools; after a worker death, isolate the suspects and retry the rest."""
    pending, crashed, any_finished = list(items), [], False
    while pending:
        unfinished = yield from _run_pool(func, pending, workers, initializer, initargs)
        any_finished |= len(unfinished) < len(pending)
        # The pool hands items out in order, at most workers + 1 at a time: the item that
        # killed it is among the first unfinished ones. Run those alone, the rest again.
        suspects, pending = unfinished[:workers + 1], unfinished[workers + 1:]
        for item in suspects:
            if (yield from _run_pool(func, [item], 1, initializer, initargs)):
                crashed.append(item)
            else:
                any_finished = True
        if crashed and not any_finished:
            raise RuntimeError(
                "worker processes die before finishing any item: they probably cannot start. "
                "A script that uses n_workers != 1 must guard its entry point with "
                "`if __name__ == \"__main__\":`; or pass n_workers=1 to run in this process."
            )
    for item in crashed:
        yield item, WorkerCrashed(f"the worker process died while handling {item!r}")


def _run_pool(func, items, workers, initializer, initargs):
    """Yield the results of one pool; return the items left unfinished when it broke, in order."""
    context = multiprocessing.get_context("spawn")
    with single_threaded_children():  # spawned workers inherit the environment at start
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                   initargs=(os.getpid(), initializer, initargs))
        futures = {pool.submit(func, item): index for index, item in enumerate(items)}
    unfinished = set(range(len(items)))
    try:
        not_done = set(futures)
        while not_done:
            done, not_done = wait(not_done, return_when=FIRST_COMPLETED)
            for future in done:
                index = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    return [items[i] for i in sorted(unfinished)]
                except Exception as err:
                    result = err
                unfinished.discard(index)
                yield items[index], result
        return []
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(parent_pid, initializer, initargs):
    """A worker's first act: end with its parent; then the caller's initializer."""
    die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def single_threaded_children():
    """Set the thread variables to 1 while worker processes start; restore them after."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
