"""The papermill runner: profiles, planning, execution, provenance, failures."""

import importlib.metadata
import json
import re

import nbformat
import pytest

from mer_utils import provenance
from mer_utils import run as runner
from mer_utils.paths import REPO_ROOT


def write_profile(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(text, encoding="utf-8")


def write_notebook(folder, name, parameters, body):
    """A minimal notebook: one tagged parameters cell, one body cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def profiles(tmp_path):
    folder = tmp_path / "profiles"
    write_profile(folder, "base", "description: base\nparameters:\n  seed: 1\n  epochs: 5\n"
                                  "variants:\n  02_model:\n    - {model: a}\n    - {model: b}\n")
    write_profile(folder, "child", "extends: base\ndescription: child\ncell_timeout_s: 60\n"
                                   "parameters:\n  epochs: 2\n")
    return folder


def test_profile_extends_and_overrides(profiles):
    profile = runner.load_profile("child", overrides={"seed": 7}, profiles_dir=profiles)
    assert profile["parameters"] == {"seed": 7, "epochs": 2}
    assert profile["variants"] == {"02_model": [{"model": "a"}, {"model": "b"}]}
    assert profile["cell_timeout_s"] == 60
    assert profile["description"] == "child"


def test_unknown_profile_names_the_known_ones(profiles):
    with pytest.raises(runner.RunError, match=r"no profile named 'nope'.*base, child"):
        runner.load_profile("nope", profiles_dir=profiles)


def test_invalid_yaml_and_unknown_keys_are_reported(tmp_path):
    write_profile(tmp_path, "broken", "parameters: [unclosed\n")
    with pytest.raises(runner.RunError, match="not valid YAML"):
        runner.load_profile("broken", profiles_dir=tmp_path)
    write_profile(tmp_path, "typo", "paramters: {}\n")
    with pytest.raises(runner.RunError, match=r"unknown keys \['paramters'\]"):
        runner.load_profile("typo", profiles_dir=tmp_path)


def test_overrides_are_yaml_typed():
    assert runner.parse_overrides(["epochs=3", "rate=0.5", "corpus=mirex", "flag=true", "tags=[a, b]"]) == {
        "epochs": 3, "rate": 0.5, "corpus": "mirex", "flag": True, "tags": ["a", "b"]}
    with pytest.raises(runner.RunError, match="NAME=VALUE"):
        runner.parse_overrides(["epochs"])


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    write_notebook(folder, "01_first.ipynb", 'run_dir: str = ""\nseed: int = 0',
                   "from pathlib import Path\nPath(run_dir, 'first.txt').write_text(str(seed))")
    write_notebook(folder, "02_model.ipynb", 'run_dir: str = ""\nmodel: str = "x"\nepochs: int = 1',
                   "from pathlib import Path\nPath(run_dir, f'model-{model}.txt').write_text(str(epochs))")
    write_notebook(folder, "notes.ipynb", "x = 1", "raise RuntimeError('unnumbered notebooks never run')")
    return folder


def test_plan_passes_each_notebook_only_its_parameters(profiles, notebooks, tmp_path):
    profile = runner.load_profile("child", profiles_dir=profiles)
    plan = runner.plan_run(profile, runner.discover_notebooks(notebooks), tmp_path / "run")
    assert [(nb.name, out) for nb, out, _ in plan] == [
        ("01_first.ipynb", "01_first.ipynb"),
        ("02_model.ipynb", "02_model-a.ipynb"),
        ("02_model.ipynb", "02_model-b.ipynb"),
    ]
    assert plan[0][2] == {"seed": 1, "run_dir": str(tmp_path / "run")}
    assert plan[2][2] == {"epochs": 2, "model": "b", "run_dir": str(tmp_path / "run")}


def test_plan_rejects_parameters_no_notebook_declares(profiles, notebooks, tmp_path):
    profile = runner.load_profile("child", overrides={"epohcs": 3}, profiles_dir=profiles)
    with pytest.raises(runner.RunError, match=r"\['epohcs'\] are declared by no notebook"):
        runner.plan_run(profile, runner.discover_notebooks(notebooks), tmp_path)


def test_empty_notebook_folder_is_a_clear_error(tmp_path):
    with pytest.raises(runner.RunError, match="no numbered notebooks"):
        runner.discover_notebooks(tmp_path)


def test_provenance_names_the_commit_and_the_libraries_behind_the_numbers():
    env = provenance.environment()
    assert set(env) == {"git_commit", "python", "platform", "libraries"}
    assert env["libraries"]["soxr"] == importlib.metadata.version("soxr"), "melspec resamples with soxr"
    assert {"numpy", "librosa", "scikit-learn", "keras"} <= set(env["libraries"])
    if (REPO_ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", env["git_commit"])
    else:
        assert env["git_commit"] is None, "outside a git checkout (an unpacked archive) there is no commit"


@pytest.mark.slow
def test_execute_writes_notebooks_outputs_and_provenance(profiles, notebooks, tmp_path):
    profile = runner.load_profile("child", profiles_dir=profiles)
    run_dir = runner.execute(profile, run_id="r1", runs_dir=tmp_path / "runs",
                             notebooks_dir=notebooks, log=lambda *_: None)
    assert run_dir == (tmp_path / "runs" / "child" / "r1").resolve()
    assert (run_dir / "first.txt").read_text() == "1"
    assert (run_dir / "model-a.txt").read_text() == "2" and (run_dir / "model-b.txt").read_text() == "2"
    assert {p.name for p in run_dir.glob("*.ipynb")} == {"01_first.ipynb", "02_model-a.ipynb", "02_model-b.ipynb"}
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "ok" and record["profile"] == "child" and record["seed"] == 1
    assert record["parameters"] == {"seed": 1, "epochs": 2}
    assert [e["output"] for e in record["notebooks"]] == ["01_first.ipynb", "02_model-a.ipynb", "02_model-b.ipynb"]
    assert all(e["wall_s"] > 0 for e in record["notebooks"])
    assert {"numpy", "papermill", "soxr"} <= set(record["libraries"])
    assert record["python"].startswith("3.")
    assert (run_dir.parent / "latest").resolve() == run_dir


@pytest.mark.slow
def test_failing_notebook_stops_the_run_and_names_the_cell(profiles, tmp_path):
    folder = tmp_path / "notebooks"
    write_notebook(folder, "01_bad.ipynb", 'run_dir: str = ""', "raise ValueError('track 007: lyrics unreadable')")
    write_notebook(folder, "02_after.ipynb", 'run_dir: str = ""',
                   "from pathlib import Path\nPath(run_dir, 'after.txt').write_text('ran')")
    profile = runner.load_profile("base", profiles_dir=profiles)
    profile["parameters"], profile["variants"] = {}, {}
    with pytest.raises(runner.RunError) as err:
        runner.execute(profile, run_id="r", runs_dir=tmp_path / "runs", notebooks_dir=folder, log=lambda *_: None)
    message = str(err.value)
    assert "01_bad.ipynb failed in cell" in message and "ValueError: track 007: lyrics unreadable" in message
    run_dir = tmp_path / "runs" / "base" / "r"
    assert (run_dir / "01_bad.ipynb").is_file()      # the executed copy is kept for inspection
    assert not (run_dir / "after.txt").exists()       # later notebooks did not run
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "failed" and record["notebooks"][0]["status"] == "failed"


def test_cli_lists_profiles_and_reports_errors_without_traceback(capsys):
    assert runner.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "smoke" in listed and "demo" in listed and "mirex" in listed and "paper" in listed
    assert runner.main(["--profile", "no-such-profile"]) == 1
    assert "error: no profile named 'no-such-profile'" in capsys.readouterr().err


@pytest.mark.slow
def test_only_reruns_selected_notebooks_with_the_whole_profile_checked(profiles, notebooks, tmp_path):
    profile = runner.load_profile("child", profiles_dir=profiles)
    run_dir = runner.execute(profile, run_id="r", runs_dir=tmp_path / "runs", notebooks_dir=notebooks,
                             only={"02"}, log=lambda *_: None)
    assert {p.name for p in run_dir.glob("*.ipynb")} == {"02_model-a.ipynb", "02_model-b.ipynb"}
    with pytest.raises(runner.RunError, match="selects no notebook"):
        runner.execute(profile, run_id="r2", runs_dir=tmp_path / "runs", notebooks_dir=notebooks,
                       only={"09"}, log=lambda *_: None)


def test_kernel_talks_over_ipc_unless_the_socket_path_would_be_too_long(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", "/tmp/rt")
    assert runner._local_kernel_config().KernelManager.transport == "ipc"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("x" * 80)))
    assert "transport" not in runner._local_kernel_config().KernelManager
