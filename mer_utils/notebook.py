"""Set-up shared by every notebook, so that no notebook repeats it.

Besides seeds and plotting style, :func:`setup` decides what the reader sees:

- **Logging goes to stdout**, so that a progress line is not shown in a red
  error box: the study's own loggers (``mer_utils.*``) at INFO (one line per
  training epoch, for instance), every other library at WARNING. Progress
  bars go there too in a kernel (:func:`mer_utils.parallel.progress_file`).
- **TensorFlow starts quietly** (``setup(..., tensorflow=True)``, before the
  first import of TensorFlow): ``TF_CPP_MIN_LOG_LEVEL=2`` hides its C++ INFO
  and WARNING lines, and a filter on the process's standard error drops the
  few it prints before it reads that variable (the oneDNN notice, absl's
  "before absl::InitializeLog()" warning). oneDNN itself stays on:
  ``TF_ENABLE_ONEDNN_OPTS=0`` would silence the notice by changing the numbers.
- **The kernel does not report its own interrupt**: jupyter_client sends
  SIGINT to every kernel it shuts down, which ipykernel logs as
  "KeyboardInterrupt caught in kernel".
- **Long table cells are shown whole** (pandas ``display.max_colwidth``):
  reasons, sentences naming files.
- **The runner sees the log too**: when it sets :data:`PROGRESS_FILE_VARIABLE`,
  the same lines are appended to that file, which the runner prints as they
  come (``mer_utils.run``).
"""

import atexit
import logging
import os
import random
import re
import select
import sys
import threading
import warnings

import numpy as np

from .paths import RUNS_DIR, RunLayout

#: Run folder of notebooks opened by hand (no runner, ``run_dir`` left empty).
INTERACTIVE_RUN_DIR = RUNS_DIR / "interactive"
#: Environment variable naming the file a notebook appends its log lines to (set by the runner).
PROGRESS_FILE_VARIABLE = "MER_PROGRESS_FILE"
#: Lines TensorFlow writes to standard error that ``TF_CPP_MIN_LOG_LEVEL=2`` does not catch: absl's
#: INFO and WARNING lines printed before absl is initialised (the oneDNN notice, twice per import),
#: absl's warning about them, and oneDNN's ERROR-level notice that it falls back to Eigen for booleans.
TENSORFLOW_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+ +\d+ [\w.\-/]+:\d+\] "
    r"|E\d{4} .*oneDNN supports DT_BOOL only on platforms with AVX-512"
)
#: What ipykernel logs when it receives the SIGINT that precedes every kernel shutdown.
KERNEL_INTERRUPT_NOTICE = "KeyboardInterrupt caught in kernel"

_HANDLER_FLAG = "_mer_notebook_handler"
_stderr_filter = None


def setup(run_dir, *, seed, tensorflow=False):
    """Prepare a notebook: seeds, plotting style, logging, display; return its run layout.

    Parameters
    ----------
    run_dir : str or Path
        The run folder. The runner passes it; left empty (interactive use),
        every notebook shares ``papermill_runs/interactive/``.
    seed : int
        Seeds Python's and NumPy's generators (TensorFlow seeds per model).
    tensorflow : bool
        The notebook trains models: quiet TensorFlow's start-up (see the
        module's docstring). Call ``setup`` before importing
        :mod:`mer_utils.models` or :mod:`mer_utils.training`.

    Returns
    -------
    RunLayout
    """
    import matplotlib
    import pandas as pd
    import seaborn as sns

    # tqdm.auto (imported by pooch, through librosa) warns once per kernel without ipywidgets
    warnings.filterwarnings("ignore", message="IProgress not found")
    random.seed(seed)
    np.random.seed(seed)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter out of notebooks
    if tensorflow:
        filter_stderr()
    route_logging(progress_file=os.environ.get(PROGRESS_FILE_VARIABLE) or None)
    quiet_kernel()
    pd.set_option("display.max_colwidth", None)
    sns.set_theme(context="notebook", style="whitegrid")
    matplotlib.rcParams["figure.dpi"] = 100
    return RunLayout(run_dir or INTERACTIVE_RUN_DIR)


def save_figure(fig, layout, name):
    """Save ``fig`` as ``figures/<name>.png`` beside the executed notebook; return the path."""
    path = layout.figures_dir / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", dpi=120)
    return path


# --- logging --------------------------------------------------------------------------

class _Format(logging.Formatter):
    """INFO lines as plain sentences; warnings and errors name their level and logger."""

    def format(self, record):
        if record.levelno == logging.INFO:
            return record.getMessage()
        return f"{record.levelname} {record.name}: {record.getMessage()}"


def route_logging(*, progress_file=None):
    """Log to stdout: ``mer_utils`` at INFO, other libraries at WARNING; also to ``progress_file``.

    Calling it again (a notebook's set-up cell run twice) replaces the
    handlers it added, so no line is printed twice.

    Parameters
    ----------
    progress_file : str or Path, optional
        A file the same lines are appended to, one per line.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(handler)
        handler.close()
    handlers = [logging.StreamHandler(sys.stdout)]
    if progress_file:
        handlers.append(logging.FileHandler(progress_file, mode="a", encoding="utf-8"))
    for handler in handlers:
        setattr(handler, _HANDLER_FLAG, True)
        handler.setFormatter(_Format())
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("mer_utils").setLevel(logging.INFO)


def _not_the_interrupt_notice(record):
    return not record.getMessage().startswith(KERNEL_INTERRUPT_NOTICE)


def _not_the_kernels_own_pending_task(record):
    """False for asyncio's "Task was destroyed but it is pending!" about ipykernel's control loop.

    The kernel's ``dispatch_control`` task, collected while it waits for the next message, is logged as
    an error through :func:`route_logging`'s handler in a run that went well; other asyncio errors stay.
    """
    message = record.getMessage()
    return not (message.startswith("Task was destroyed but it is pending!") and "Kernel.dispatch_control" in message)


def quiet_kernel():
    """In a Jupyter kernel, drop ipykernel's log lines about the SIGINT of every shutdown and about its own
    control task (:func:`_not_the_kernels_own_pending_task`); elsewhere, nothing."""
    try:
        from IPython import get_ipython
    except ImportError:  # not in IPython at all
        return
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return
    for log, only in ((kernel.log, _not_the_interrupt_notice),
                      (logging.getLogger("asyncio"), _not_the_kernels_own_pending_task)):
        if only not in log.filters:
            log.addFilter(only)


# --- TensorFlow's standard error ------------------------------------------------------------

class _LineFilter:
    """Replace a file descriptor by a pipe whose lines are passed on unless ``drop`` matches them.

    Works below Python (TensorFlow writes from C++), in a plain process and
    in a Jupyter kernel (which has already turned the descriptor into a pipe
    of its own: the lines kept go there). A partial line is passed on once no
    more output follows for a moment.
    """

    def __init__(self, fd, drop):
        self.fd, self.drop = fd, drop
        self.target = os.dup(fd)
        read, write = os.pipe()
        os.dup2(write, fd)
        os.close(write)
        self.thread = threading.Thread(target=self._pump, args=(read,), daemon=True, name="stderr-filter")
        self.thread.start()

    def _pump(self, read):
        pending = b""
        with os.fdopen(read, "rb", buffering=0) as pipe:
            while True:
                ready, _, _ = select.select([pipe], [], [], 0.2)
                if not ready:
                    pending = self._forward(pending, flush=True)
                    continue
                chunk = pipe.read(65536)
                if not chunk:
                    break
                pending = self._forward(pending + chunk, flush=False)
        self._forward(pending, flush=True)

    def _forward(self, data, *, flush):
        """Write the complete lines of ``data`` that are not noise (and, with ``flush``, the rest); return the rest."""
        *lines, rest = data.split(b"\n")
        kept = [line + b"\n" for line in lines if not self._is_noise(line)]
        if flush and rest:
            kept += [] if self._is_noise(rest) else [rest]
            rest = b""
        out = b"".join(kept)
        while out:
            out = out[os.write(self.target, out):]
        return rest

    def _is_noise(self, line):
        return self.drop(line.decode("utf-8", "replace"))

    def close(self):
        """Put the original descriptor back and pass on what is still in the pipe."""
        if sys.stderr is not None:
            sys.stderr.flush()
        os.dup2(self.target, self.fd)  # closes the pipe's writer (unless a child still holds it): the pump ends
        self.thread.join(timeout=2)
        if not self.thread.is_alive():
            os.close(self.target)


def filter_stderr():
    """Drop :data:`TENSORFLOW_NOISE` lines from this process's standard error (once per process; POSIX)."""
    global _stderr_filter
    if _stderr_filter is None and os.name == "posix":  # select() on pipes needs POSIX
        _stderr_filter = _LineFilter(2, lambda line: TENSORFLOW_NOISE.match(line) is not None)
        atexit.register(_stderr_filter.close)
    return _stderr_filter
