"""Set-up shared by every notebook, so that no notebook repeats it."""

import logging
import os
import random
import warnings

import numpy as np

from .paths import RUNS_DIR, RunLayout

#: Run folder of notebooks opened by hand (no runner, ``run_dir`` left empty).
INTERACTIVE_RUN_DIR = RUNS_DIR / "interactive"


def setup(run_dir, *, seed):
    """Prepare a notebook: seeds, plotting style, logging; return its run layout.

    Parameters
    ----------
    run_dir : str or Path
        The run folder. The runner passes it; left empty (interactive use),
        every notebook shares ``papermill_runs/interactive/``.
    seed : int
        Seeds Python's and NumPy's generators (TensorFlow seeds per model).

    Returns
    -------
    RunLayout
    """
    import matplotlib
    import seaborn as sns

    # tqdm.auto (imported by pooch, through librosa) warns once per kernel without ipywidgets
    warnings.filterwarnings("ignore", message="IProgress not found")
    random.seed(seed)
    np.random.seed(seed)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter out of notebooks
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sns.set_theme(context="notebook", style="whitegrid")
    matplotlib.rcParams["figure.dpi"] = 100
    return RunLayout(run_dir or INTERACTIVE_RUN_DIR)


def save_figure(fig, layout, name):
    """Save ``fig`` as ``figures/<name>.png`` beside the executed notebook; return the path."""
    path = layout.figures_dir / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", dpi=120)
    return path
