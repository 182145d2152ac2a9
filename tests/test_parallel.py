"""The process pool: results for every item, crashes isolated to their item."""

import json
import os
import subprocess
import sys
import time

import pytest

from mer_utils import lifetime, parallel


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


def test_progress_bars_go_to_stdout_in_a_jupyter_kernel_and_to_stderr_elsewhere(monkeypatch):
    import types

    assert parallel.progress_file() is sys.stderr
    kernel_shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel_shell))
    assert parallel.progress_file() is sys.stdout, "a notebook shows stderr in a red error box"


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


def set_marker(value):
    os.environ["MER_TEST_MARKER"] = value


def read_marker(_):
    return os.environ.get("MER_TEST_MARKER")


def test_the_callers_initializer_still_runs_in_every_worker():
    results = dict(parallel.map_unordered(read_marker, range(4), n_workers=2, initializer=set_marker,
                                          initargs=("set",), progress=False))
    assert set(results.values()) == {"set"}


#: A process that starts a pool of two workers sleeping for ten minutes and writes their pids to argv[1].
POOL_OWNER = """
import json, multiprocessing, os, sys, threading, time
from mer_utils import parallel

def report():
    while len(multiprocessing.active_children()) < 2:
        time.sleep(0.05)
    with open(sys.argv[1] + ".tmp", "w") as out:
        json.dump([p.pid for p in multiprocessing.active_children()], out)
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])

threading.Thread(target=report, daemon=True).start()
list(parallel.map_unordered(time.sleep, [600, 600], n_workers=2, progress=False))
"""


def wait_for_file(path, process, *, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the process did not get that far"
        time.sleep(0.05)
    return json.loads(path.read_text())


def test_workers_end_when_the_process_that_started_them_is_killed(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", POOL_OWNER, str(tmp_path / "pids.json")])
    try:
        workers = wait_for_file(tmp_path / "pids.json", owner)
        assert len(workers) == 2 and all(map(lifetime.process_alive, workers))
        owner.kill()  # SIGKILL: the pool cannot shut down; its workers would sleep on for ten minutes
        owner.wait()
        assert lifetime.wait_for_exit(workers, timeout_s=5) == []
    finally:
        owner.kill()
        owner.wait()


#: A process whose child guards itself with die_with_parent (argv[1]: "prctl" or "poll") and reports its pid.
GUARDED_PARENT = """
import json, os, subprocess, sys, time
child = '''
import os, sys, time
from mer_utils import lifetime
if sys.argv[1] == "poll":
    lifetime._set_parent_death_signal = lambda signum: False  # as on a system without prctl
print(lifetime.die_with_parent(int(sys.argv[2])), flush=True)
time.sleep(600)
'''
process = subprocess.Popen([sys.executable, "-c", child, sys.argv[1], str(os.getpid())], stdout=subprocess.PIPE,
                           text=True)
how = process.stdout.readline().strip()
with open(sys.argv[2] + ".tmp", "w") as out:
    json.dump({"pid": process.pid, "how": how}, out)
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(600)
"""


@pytest.mark.parametrize("how", ["prctl", "poll"])
def test_a_guarded_child_ends_with_its_parent(tmp_path, how):
    if how == "prctl" and not sys.platform.startswith("linux"):
        pytest.skip("prctl is Linux only")
    parent = subprocess.Popen([sys.executable, "-c", GUARDED_PARENT, how, str(tmp_path / "child.json")])
    try:
        child = wait_for_file(tmp_path / "child.json", parent)
        assert child["how"] == how and lifetime.process_alive(child["pid"])
        parent.kill()
        parent.wait()
        assert lifetime.wait_for_exit([child["pid"]], timeout_s=lifetime.POLL_INTERVAL_S + 5) == []
    finally:
        parent.kill()
        parent.wait()


def test_a_child_whose_parent_is_already_gone_ends_at_once():
    """The parent may die before the guard is set: the child checks who its parent is now."""
    code = "from mer_utils import lifetime; lifetime.die_with_parent(1); print('still here')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "still here" not in done.stdout
