"""What produced a result: the code's commit, Python, the platform and the libraries' versions.

Recorded in a run's ``run.json`` (:mod:`mer_utils.run`) and in every split's
``provenance.json`` (:mod:`mer_utils.training`). Standard library only.
"""

import importlib.metadata
import platform
import re
import subprocess

from .paths import REPO_ROOT

#: Libraries whose versions are recorded: those whose version can change a number of the study.
TRACKED_LIBRARIES = (
    "tensorflow", "tensorflow-cpu", "keras", "numpy", "scipy", "pandas", "librosa", "soxr",
    "soundfile", "scikit-learn", "konlpy", "textblob", "papermill", "matplotlib", "seaborn",
)


def git_commit():
    """The checkout's commit, with ``-dirty`` when tracked files changed; ``None`` outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def library_versions():
    """``{name: version}`` of the installed :data:`TRACKED_LIBRARIES` (absent ones are left out)."""
    versions = {}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def environment():
    """``git_commit``, ``python``, ``platform`` and ``libraries``: the code and software a result came from."""
    return {
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": library_versions(),
    }


def describe_estimator(estimator):
    """A scikit-learn estimator's parameters as one line, the same in every run.

    ``repr`` names a function parameter by its memory address (``<function f at 0x7f...>``),
    which differs from run to run; here it is the function's qualified name.

    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> def words(text):
    ...     return text.split()
    >>> describe_estimator(TfidfVectorizer(analyzer=words))
    'TfidfVectorizer(analyzer=words)'
    """
    text = re.sub(r"<function (\S+) at 0x[0-9a-fA-F]+>", r"\1", repr(estimator))
    return " ".join(text.split())
