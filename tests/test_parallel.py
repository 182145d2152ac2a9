"""The process pool: results for every item, crashes isolated to their item."""

import os

import pytest

from mer_utils import parallel


def square_or_fail(x):
    if x == 3:
        raise ValueError("three is bad")
    return x * x


def die_on_five(x):
    if x == 5:
        os._exit(1)  # what a segfaulting decoder does to its process
    return x * 10


def threads_setting(_):
    return os.environ.get("OMP_NUM_THREADS")


@pytest.mark.parametrize("n_workers", [1, 2])
def test_every_item_yields_its_result_or_its_exception(n_workers):
    results = dict(parallel.map_unordered(square_or_fail, range(6), n_workers=n_workers, progress=False))
    assert set(results) == set(range(6))
    assert isinstance(results.pop(3), ValueError)
    assert results == {x: x * x for x in (0, 1, 2, 4, 5)}


def test_a_dying_worker_costs_only_its_item():
    results = dict(parallel.map_unordered(die_on_five, range(9), n_workers=2, progress=False))
    assert set(results) == set(range(9))
    assert isinstance(results.pop(5), parallel.WorkerCrashed)
    assert results == {x: x * 10 for x in range(9) if x != 5}


def test_workers_are_single_threaded_and_the_parent_unchanged():
    before = os.environ.get("OMP_NUM_THREADS")
    results = dict(parallel.map_unordered(threads_setting, range(2), n_workers=2, progress=False))
    assert set(results.values()) == {"1"}
    assert os.environ.get("OMP_NUM_THREADS") == before


def test_resolve_workers():
    assert parallel.resolve_workers(0) == parallel.available_cores()
    assert parallel.resolve_workers(8, n_items=3) == 3
    assert parallel.resolve_workers(4, n_items=0) == 1
    assert parallel.resolve_workers(0, n_items=10, min_items_per_worker=16) == 1
    assert parallel.resolve_workers(0, n_items=10 ** 6, min_items_per_worker=16) == parallel.available_cores()
    assert parallel.resolve_workers(2, n_items=10, min_items_per_worker=16) == 2, "explicit counts are kept"
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="n_workers must be an integer >= 0"):
            parallel.resolve_workers(bad)


def always_die(_):
    os._exit(1)


def test_workers_that_cannot_work_stop_the_run_with_advice():
    with pytest.raises(RuntimeError, match=r"n_workers=1"):
        list(parallel.map_unordered(always_die, range(20), n_workers=2, progress=False))
