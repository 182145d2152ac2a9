"""What notebook.setup shows the reader: log lines on stdout, TensorFlow quiet, whole table cells.

setup changes process-wide state (logging, pandas options, file descriptor 2), so each check runs in a
fresh Python process.
"""

import logging
import subprocess
import sys
import types

from mer_utils import notebook
from mer_utils.notebook import KERNEL_INTERRUPT_NOTICE, PROGRESS_FILE_VARIABLE, TENSORFLOW_NOISE


def run_python(code, tmp_path, **env):
    """Run ``code`` in a fresh interpreter with ``env`` added; return the completed process."""
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, **env}, timeout=120)


LOGGING = """
import logging, pandas as pd
from mer_utils.notebook import setup
setup(r"{run}", seed=0)
setup(r"{run}", seed=0)  # the set-up cell run twice: still one line per record
logging.getLogger("mer_utils.training").info("audio_cnn split 0 (of 5), epoch 1/3: loss 0.693")
logging.getLogger("some.library").info("a library's INFO line")
logging.getLogger("some.library").warning("a library's warning")
print(pd.get_option("display.max_colwidth"))
"""


def test_log_lines_go_to_stdout_and_to_the_runners_file(tmp_path):
    progress = tmp_path / "01_data.log"
    done = run_python(LOGGING.format(run=tmp_path / "run"), tmp_path, **{PROGRESS_FILE_VARIABLE: str(progress)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "audio_cnn split 0 (of 5), epoch 1/3: loss 0.693",
        "WARNING some.library: a library's warning",
        "None",  # pandas shows table cells whole (reasons, sentences naming files)
    ]
    assert done.stderr == "", "nothing in a red box"
    assert progress.read_text().splitlines() == done.stdout.splitlines()[:2]


TENSORFLOW = """
import os, sys
from mer_utils.notebook import setup
setup(r"{run}", seed=0, tensorflow=True)
import tensorflow
os.write(2, b"a C++ error that matters\\n")
print("a Python warning", file=sys.stderr)
os.write(2, b"no newline at the end")
"""


def test_tensorflow_starts_without_its_log_lines_and_other_errors_still_show(tmp_path):
    done = run_python(TENSORFLOW.format(run=tmp_path / "run"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["a C++ error that matters", "a Python warning", "no newline at the end"]


def test_the_noise_pattern_matches_tensorflows_lines_only():
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796060568.340042   25606 port.cc:153] oneDNN custom operations are on. You may see ...",
        "W0000 00:00:1796060568.340042   25606 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
        "E0000 00:00:1796060689.645116   27454 util.cc:131] oneDNN supports DT_BOOL only on platforms with "
        "AVX-512. Falling back to the default Eigen-based implementation if present.",
    ]
    kept = [
        "E0000 00:00:1796060689.645116   27454 cuda_dnn.cc:8] Could not load library libcudnn.so.9",
        "Traceback (most recent call last):",
        "INFO mer_utils.training: audio_cnn split 0",
    ]
    assert all(TENSORFLOW_NOISE.match(line) for line in noise)
    assert not any(TENSORFLOW_NOISE.match(line) for line in kept)


def test_the_kernels_interrupt_notice_and_its_own_pending_task_are_dropped(monkeypatch):
    log = logging.getLogger("test.IPKernelApp")
    shell = types.SimpleNamespace(kernel=types.SimpleNamespace(log=log))
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    try:
        notebook.quiet_kernel()
        notebook.quiet_kernel()  # once is enough
        assert len(log.filters) == 1
        make = log.makeRecord
        assert not log.filters[0](make(log.name, logging.ERROR, __file__, 1, f"{KERNEL_INTERRUPT_NOTICE}.", (), None))
        assert log.filters[0](make(log.name, logging.ERROR, __file__, 1, "Exception in message handler:", (), None))
        asyncio_log = logging.getLogger("asyncio")
        (only,) = [f for f in asyncio_log.filters if f is notebook._not_the_kernels_own_pending_task]
        pending = ("Task was destroyed but it is pending!\ntask: <Task pending name='Task-3' "
                   "coro=<Kernel.dispatch_control() running at .../ipykernel/kernelbase.py:319>>")
        assert not only(make("asyncio", logging.ERROR, __file__, 1, pending, (), None))
        assert only(make("asyncio", logging.ERROR, __file__, 1, pending.replace("Kernel.dispatch_control", "mine"),
                         (), None)), "other asyncio errors stay"
    finally:
        log.filters.clear()
        logging.getLogger("asyncio").removeFilter(notebook._not_the_kernels_own_pending_task)
