"""Child processes that never outlive their parent.

The runner's Jupyter kernel runs in a session of its own (jupyter_client
starts it so), and the kernel's extraction workers are its children: when
the runner is killed (``kill -9``, a closed terminal, an out-of-memory kill),
nothing would stop them, and they would go on computing for nobody. Each such
child calls :func:`die_with_parent` first thing, which ends it as soon as
its parent is gone.

On Linux the kernel does it (``prctl(PR_SET_PDEATHSIG, SIGKILL)``): the
child is killed the moment its parent dies. Elsewhere on POSIX a daemon
thread notices within :data:`POLL_INTERVAL_S` that the child was handed to
another parent and ends the process. On Windows it does nothing.
"""

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

#: ``PR_SET_PDEATHSIG`` from ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1
#: Seconds between two looks at the parent where ``prctl`` is unavailable.
POLL_INTERVAL_S = 1.0


def die_with_parent(parent_pid):
    """End this process when ``parent_pid``, its parent, ends.

    Parameters
    ----------
    parent_pid : int
        The parent's process id, as the parent saw it (``os.getpid()``
        there): if the parent is already gone when this runs, this process
        ends at once.

    Returns
    -------
    str
        How the parent is watched: ``"prctl"``, ``"poll"`` or ``"none"``.
    """
    if sys.platform.startswith("linux") and _set_parent_death_signal(signal.SIGKILL):
        how = "prctl"
    elif hasattr(signal, "SIGKILL"):  # POSIX: an orphan is handed to another parent
        threading.Thread(target=_watch_parent, args=(parent_pid,), name="die-with-parent", daemon=True).start()
        how = "poll"
    else:
        return "none"
    if os.getppid() != parent_pid:  # the parent died before the guard was set
        os._exit(1)
    return how


def _set_parent_death_signal(signum):
    """Ask Linux to send ``signum`` to this process when its parent dies; ``False`` if it cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid):
    while os.getppid() == parent_pid:
        time.sleep(POLL_INTERVAL_S)
    os._exit(1)


def process_alive(pid):
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:  # no /proc (macOS), or it ended meanwhile
        return True


def wait_for_exit(pids, *, timeout_s):
    """Wait until the processes ``pids`` have ended; return those still running after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    running = [pid for pid in pids if process_alive(pid)]
    while running and time.monotonic() < deadline:
        time.sleep(0.05)
        running = [pid for pid in running if process_alive(pid)]
    return running
