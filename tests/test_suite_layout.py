"""The suite's own layout: the modules of the tiny run are one xdist unit, so it is built once."""

import ast
from pathlib import Path

from conftest import SHARED_FIXTURE_GROUPS, work_unit

TESTS = Path(__file__).parent
#: The session fixtures of conftest.py that build the tiny run (tests/tiny_run.py).
TINY_RUN_FIXTURES = {"run", "predictor", "pretrained_run"}


def conftest_fixtures_used(path):
    """The fixtures of :data:`TINY_RUN_FIXTURES` that a test module's functions take and the module does not define.

    Module-level functions only: pytest passes fixtures to tests and fixtures, not to functions nested in them.
    """
    functions = [node for node in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(node, ast.FunctionDef)]
    taken = {arg.arg for node in functions for arg in node.args.args}
    return (taken & TINY_RUN_FIXTURES) - {node.name for node in functions}


def test_the_modules_of_the_tiny_run_are_one_unit():
    users = {f"tests/{path.name}" for path in TESTS.glob("test_*.py") if conftest_fixtures_used(path)}
    assert users == set(SHARED_FIXTURE_GROUPS)
    assert {work_unit(f"{module}::test_x") for module in users} == {"tiny_run"}
    assert work_unit("tests/test_corpus_shapes.py::test_a[b]") == "tests/test_corpus_shapes.py::test_a[b]"
    assert work_unit("tests/test_training.py::test_a") == "tests/test_training.py"
