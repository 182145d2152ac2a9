"""Run one function over many independent items on all cores, with a progress bar.

Used by the stages that process tracks one by one (mel extraction). Workers
are separate processes started with ``spawn`` (safe from a Jupyter kernel
that holds threads), each limited to one BLAS/OpenMP thread so that
``n`` workers use ``n`` cores, not ``n**2`` threads, and each ending when the
process that started it ends (:func:`mer_utils.lifetime.die_with_parent`:
a killed kernel leaves no workers behind). A worker that dies
(a decoder crashing on a malformed file) costs only the item it was on: the
other items are retried in a fresh pool and the culprit is reported.
"""

import contextlib
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .lifetime import die_with_parent

#: Thread-pool variables of the numeric libraries, pinned to 1 in workers.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
)


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


def map_unordered(func, items, *, n_workers=0, initializer=None, initargs=(), desc=None, progress=True):
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
        debug); ``n``: that many worker processes.
    initializer, initargs
        Called once in each worker process (and once here when serial).
    desc : str, optional
        Label of the progress bar.
    progress : bool
        Show a ``tqdm`` progress bar on stderr.

    Yields
    ------
    item, result
        ``result`` is ``func(item)``, or the exception it raised, or a
        :class:`WorkerCrashed` when the worker process died on that item.
    """
    from tqdm.std import tqdm

    items = list(items)
    workers = resolve_workers(n_workers, n_items=len(items))
    with tqdm(total=len(items), desc=desc, disable=not progress or not items, mininterval=2.0) as bar:
        results = _serial(func, items, initializer, initargs) if workers == 1 else \
            _pooled(func, items, workers, initializer, initargs)
        for item, result in results:
            bar.update()
            yield item, result


def _serial(func, items, initializer, initargs):
    if initializer is not None:
        initializer(*initargs)
    for item in items:
        yield item, _call(func, item)


def _call(func, item):
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
    with _single_threaded_children():  # spawned workers inherit the environment at start
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
def _single_threaded_children():
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
