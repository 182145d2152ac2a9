"""The Makefile's lab and git-filter targets: JupyterLab where people run it, notebooks committed without outputs."""

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from mer_utils.paths import REPO_ROOT

needs_make_and_git = pytest.mark.skipif(not (shutil.which("make") and shutil.which("git")),
                                        reason="needs make and git")


def make(*args, cwd=REPO_ROOT, **env):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


@needs_make_and_git
def test_lab_passes_its_options_and_allows_root_only_as_root():
    dry = make("-n", "lab", 'LAB_ARGS=--no-browser --ip 0.0.0.0 --port 8888')
    assert dry.returncode == 0, dry.stderr
    (command,) = [line for line in dry.stdout.splitlines() if "jupyter lab" in line]
    assert command.endswith("--no-browser --ip 0.0.0.0 --port 8888")
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path):
    """A fresh git repository with the project's Makefile and .gitattributes, like CI's clone."""
    folder = tmp_path / "clone"
    folder.mkdir()
    git(folder, "init", "-q")
    for name in ("Makefile", ".gitattributes"):
        shutil.copy(REPO_ROOT / name, folder / name)
    return folder


@needs_make_and_git
def test_setup_strips_notebook_outputs_on_commit_and_keeps_the_working_copy(repo):
    first = make("git-filter", f"PY={sys.executable}", cwd=repo)
    assert first.returncode == 0 and "nbstripout installed" in first.stdout, first.stderr
    assert git(repo, "config", "filter.nbstripout.clean").strip() == f'"{sys.executable}" -m nbstripout --keep-id'
    again = make("git-filter", f"PY={sys.executable}", cwd=repo)
    assert again.returncode == 0 and again.stdout == "", "a second set-up changes nothing"
    assert (repo / ".gitattributes").read_text() == (REPO_ROOT / ".gitattributes").read_text()

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)", id="kept-id")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    cell.execution_count = 3
    nb.cells = [cell]
    nbformat.write(nb, repo / "n.ipynb")
    git(repo, "add", "n.ipynb")
    committed = nbformat.reads(git(repo, "show", ":n.ipynb"), as_version=4).cells[0]
    assert committed.outputs == [] and committed.execution_count is None and committed.id == "kept-id"
    assert nbformat.read(repo / "n.ipynb", as_version=4).cells[0].outputs, "the working copy keeps its outputs"


@needs_make_and_git
def test_setup_goes_on_where_git_config_cannot_be_written_or_there_is_no_git(repo, tmp_path):
    (repo / ".git" / "config.lock").write_text("")  # what a read-only config gives git, even as root
    locked = make("git-filter", f"PY={sys.executable}", cwd=repo)
    assert locked.returncode == 0 and "could not configure" in locked.stdout
    no_git = tmp_path / "unpacked"
    no_git.mkdir()
    shutil.copy(REPO_ROOT / "Makefile", no_git)
    outside = make("git-filter", f"PY={sys.executable}", cwd=no_git, GIT_CEILING_DIRECTORIES=str(tmp_path))
    assert outside.returncode == 0 and outside.stdout == ""
