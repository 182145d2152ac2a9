"""Every path of the project, derived from one place.

Raw data is never written to; intermediate results live in a cache keyed by
content and parameters; each papermill run writes into its own folder::

    <repo>/data/raw/<corpus>/         generated demo corpus (git-ignored)
    <repo>/data/cache/<kind>/         mel features, tagged tokens (git-ignored)
    <repo>/papermill_runs/profiles/   run profiles (tracked)
    <repo>/papermill_runs/<profile>/<run-id>/   one run (git-ignored), see RunLayout

Set ``MER_DATA_DIR`` to move ``data/`` elsewhere (a bigger disk, a shared cache).

Functions and properties here only name paths; they never touch the disk.
Whoever writes a file creates its folder (:func:`mer_utils.fileio.atomic_write`
does it for its callers), so reading a path that was never written leaves no
empty folder behind.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RUNS_DIR = REPO_ROOT / "papermill_runs"
PROFILES_DIR = RUNS_DIR / "profiles"
#: Where the real MIREX-like dataset sits beside a checkout of this project.
MIREX_DIR = REPO_ROOT.parent / "shared" / "data" / "mirex-multimodal"


def data_root():
    """Root of generated data and caches: ``$MER_DATA_DIR`` or ``<repo>/data``."""
    return Path(os.environ.get("MER_DATA_DIR", REPO_ROOT / "data"))


def raw_dir(corpus):
    """Folder of a generated raw corpus (the demo corpus), e.g. ``data/raw/demo-2017``."""
    return data_root() / "raw" / corpus


def cache_dir(kind):
    """Folder of one cache, e.g. ``cache_dir("mels")`` (its writers create it)."""
    return data_root() / "cache" / kind


def mirex_root(dataset_dir=MIREX_DIR):
    """The folder of the MIREX-like dataset that holds ``categories.txt``, or None.

    The dataset is accepted as its authors ship it (``dataset_dir/dataset/``)
    or unpacked flat (``dataset_dir`` itself).

    >>> mirex_root("/nonexistent") is None
    True
    """
    dataset_dir = Path(dataset_dir).resolve()
    for candidate in (dataset_dir, dataset_dir / "dataset"):
        if (candidate / "categories.txt").is_file():
            return candidate
    return None


class RunLayout:
    """Paths inside one run folder, shared by every notebook of the run.

    Naming a path creates nothing: writers create the folders they write into.

    Parameters
    ----------
    run_dir : str or Path
        ``papermill_runs/<profile>/<run-id>/``, or any folder when a notebook
        runs interactively.

    Examples
    --------
    >>> layout = RunLayout("papermill_runs/demo/run-1")
    >>> layout.model_dir("fused", 0).as_posix()
    'papermill_runs/demo/run-1/models/fused/split_0'
    """

    def __init__(self, run_dir):
        self.run_dir = Path(run_dir)

    @property
    def data_dir(self):
        """Stage outputs shared between notebooks (tables, splits, indices)."""
        return self.run_dir / "data"

    @property
    def tracks_csv(self):
        """The ledger: every input track, kept or rejected with a reason."""
        return self.data_dir / "tracks.csv"

    @property
    def mels_csv(self):
        """Index of the run's mel features: track id -> cached feature file."""
        return self.data_dir / "mels.csv"

    def matrix_dir(self, kind):
        """A feature matrix of the run (``mer_utils.feature_matrix``): ``data/matrix_<kind>/``."""
        return self.data_dir / f"matrix_{kind}"

    @property
    def splits_json(self):
        """The train/validation splits every model uses."""
        return self.data_dir / "splits.json"

    @property
    def tokens_json(self):
        """POS-filtered lyrics words per kept track, written by the lyrics stage."""
        return self.data_dir / "tokens.json"

    @property
    def feature_account_csv(self):
        """Notebook 08's account: every kept track's pretrained features, or the reason it has none."""
        return self.data_dir / "feature_account.csv"

    @property
    def figures_dir(self):
        """Figures saved beside the executed notebooks."""
        return self.run_dir / "figures"

    def model_dir(self, model_name, split_index):
        """Outputs of one model on one split: ``models/<model_name>/split_<i>/``."""
        return self.models_dir / model_name / f"split_{split_index}"

    @property
    def models_dir(self):
        """Every model's outputs: ``models/<model_name>/split_<i>/``."""
        return self.run_dir / "models"

    @property
    def results_dir(self):
        """Tables produced by the results notebook."""
        return self.run_dir / "results"
