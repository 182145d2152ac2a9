"""The suite's own layout: each expensive session fixture is read from modules that one xdist worker runs."""

import ast
from pathlib import Path

from conftest import SHARED_FIXTURE_GROUPS, work_unit

TESTS = Path(__file__).parent


def arguments_of_tests(path):
    """``{test name: its argument names}`` of a test module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name: {arg.arg for arg in node.args.args} for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def imported_modules(path):
    """The modules a test module imports from."""
    return {node.module for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom)}


def test_only_test_end_to_end_reads_the_smoke_run():
    readers = {path.name for path in TESTS.glob("test_*.py")
               if any("smoke_run" in args for args in arguments_of_tests(path).values())}
    assert readers == {"test_end_to_end.py"}, "a second module would build the smoke run on the other worker"


def test_the_modules_of_the_tiny_run_are_one_unit():
    users = {f"tests/{path.name}" for path in TESTS.glob("test_*.py") if "tiny_run" in imported_modules(path)}
    assert users == set(SHARED_FIXTURE_GROUPS)
    assert {work_unit(f"{module}::test_x") for module in users} == {"tiny_run"}
    assert work_unit("tests/test_corpus_shapes.py::test_a[b]") == "tests/test_corpus_shapes.py::test_a[b]"
    assert work_unit("tests/test_training.py::test_a") == "tests/test_training.py"
