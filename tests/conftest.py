"""Fixtures shared by the test suite, and how its tests are shared between pytest-xdist's workers."""

import pytest

from mer_utils.paths import MIREX_DIR, RunLayout, mirex_root


@pytest.fixture
def layout(tmp_path):
    """An empty run folder."""
    return RunLayout(tmp_path / "run")


# --- the tiny trained run of test_predict.py and test_explain.py (tests/tiny_run.py) ------------------

@pytest.fixture(scope="session")
def run(tmp_path_factory):
    """The tiny run folder (a ``RunLayout``), built once per session."""
    import tiny_run

    return tiny_run.build(tmp_path_factory.mktemp("tiny_run"))


@pytest.fixture(scope="session")
def predictor(run):
    """A :class:`mer_utils.predict.Predictor` of the tiny run, every model loaded."""
    from mer_utils.predict import Predictor

    return Predictor(run.run_dir)


@pytest.fixture(scope="session")
def pretrained_run(run, tmp_path_factory):
    """The tiny run plus notebook 08's pretrained rows, built once per session."""
    import tiny_run

    return tiny_run.build_pretrained(run, tmp_path_factory.mktemp("pretrained_run"))


#: The real dataset's folder holding categories.txt, Audio/ and Lyrics/ (the adapter's rule), or None.
MIREX_ROOT = mirex_root(MIREX_DIR)
#: Skip marker for tests that need the real dataset beside the checkout.
needs_mirex = pytest.mark.skipif(MIREX_ROOT is None, reason=f"real dataset not found at {MIREX_DIR}")


# --- sharing the suite between pytest-xdist's workers (pyproject's addopts: -n 2 --dist loadscope) ---------

#: Modules whose tests share a session fixture: one worker runs them all, and builds the fixture once.
#: (The smoke run is a module fixture of test_end_to_end.py, so its tests stay together by themselves.)
SHARED_FIXTURE_GROUPS = {"tests/test_explain.py": "tiny_run", "tests/test_predict.py": "tiny_run"}
#: Modules of independent slow tests (a papermill run each): each test is a unit of its own.
SPREAD_MODULES = ("tests/test_corpus_shapes.py",)
#: The longest units start first, so that neither worker is left with one of them at the end.
LONGEST_FIRST = ("tests/test_end_to_end.py", *SPREAD_MODULES, "tests/test_training.py")


def module_of(nodeid):
    """``tests/test_x.py`` of ``tests/test_x.py::test_y[z]`` (and a group name unchanged)."""
    return nodeid.split("::", 1)[0]


def work_unit(nodeid):
    """The unit of ``--dist loadscope`` a test belongs to: its module, its group, or itself."""
    module = module_of(nodeid)
    return nodeid if module in SPREAD_MODULES else SHARED_FIXTURE_GROUPS.get(module, module)


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` by module, with the groups and order above.

    A module's tests stay on one worker, so its module-scoped fixtures are built once. (pytest-xdist's
    ``xdist_group`` marks do not reach the scheduler under pytest 9.2, hence a scheduler of our own.)
    """
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

        def _assign_work_unit(self, node):
            # the longest units to the front of the queue (reordering the collection itself would
            # change the test indices the workers are sent)
            longest = sorted((unit for unit in self.workqueue if module_of(unit) in LONGEST_FIRST),
                             key=lambda unit: LONGEST_FIRST.index(module_of(unit)), reverse=True)
            for unit in longest:
                self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return ModuleScheduling(config, log)
