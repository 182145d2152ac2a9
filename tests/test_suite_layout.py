"""The suite's own layout: the modules of the tiny run are one xdist unit, so it is built once."""

import ast
from pathlib import Path

from conftest import SHARED_FIXTURE_GROUPS, work_unit

TESTS = Path(__file__).parent


def imported_modules(path):
    """The modules a test module imports from."""
    return {node.module for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom)}


def test_the_modules_of_the_tiny_run_are_one_unit():
    users = {f"tests/{path.name}" for path in TESTS.glob("test_*.py") if "tiny_run" in imported_modules(path)}
    assert users == set(SHARED_FIXTURE_GROUPS)
    assert {work_unit(f"{module}::test_x") for module in users} == {"tiny_run"}
    assert work_unit("tests/test_corpus_shapes.py::test_a[b]") == "tests/test_corpus_shapes.py::test_a[b]"
    assert work_unit("tests/test_training.py::test_a") == "tests/test_training.py"
