"""Fixtures shared by the test suite."""

import pytest

from mer_utils import run as runner
from mer_utils.paths import MIREX_DIR, RunLayout, mirex_root


@pytest.fixture
def layout(tmp_path):
    """An empty run folder."""
    return RunLayout(tmp_path / "run")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """Run the ``smoke`` profile end to end once per test session; return the run folder.

    Stage tests check their own outputs in it, so the (slow) papermill run is shared.
    """
    runs_dir = tmp_path_factory.mktemp("papermill_runs")
    profile = runner.load_profile("smoke")
    return runner.execute(profile, run_id="test", runs_dir=runs_dir, log=lambda *_: None)


#: The real dataset's folder holding categories.txt, Audio/ and Lyrics/ (the adapter's rule), or None.
MIREX_ROOT = mirex_root(MIREX_DIR)
#: Skip marker for tests that need the real dataset beside the checkout.
needs_mirex = pytest.mark.skipif(MIREX_ROOT is None, reason=f"real dataset not found at {MIREX_DIR}")
