"""The papermill runner: profiles, planning, execution, provenance, failures."""

import ast
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import nbformat
import pytest

from mer_utils import config, lifetime, provenance
from mer_utils import run as runner
from mer_utils.notebook import PROGRESS_FILE_VARIABLE
from mer_utils.paths import REPO_ROOT


def quiet(*_):
    """A ``log`` that prints nothing."""


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
    with pytest.raises(runner.UsageError, match="start of a comment; quote the value"):
        runner.parse_overrides(["title=take #2"])
    assert runner.parse_overrides(["title='take #2'"]) == {"title": "take #2"}


def test_path_overrides_are_literal_and_relative_to_where_the_command_runs(tmp_path):
    found = runner.parse_overrides(["corpus_path=data/raw/both.csv", "song_path='take #2/song.mp3'",
                                    "lyrics_path=/abs/x: y.txt"], cwd=tmp_path)
    assert found == {"corpus_path": str(tmp_path / "data/raw/both.csv"),
                     "song_path": str(tmp_path / "take #2/song.mp3"), "lyrics_path": "/abs/x: y.txt"}
    assert runner.parse_overrides(["corpus_path="]) == {"corpus_path": ""}, "empty keeps the notebook's default"


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
    assert "resume with --run-id r --only 01,02" in message
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "failed" and record["notebooks"][0]["status"] == "failed"
    assert record["invocations"][0]["status"] == "failed"
    assert not (run_dir.parent / "latest").exists(), "latest only moves to a run that succeeded"


def test_cli_lists_profiles_and_reports_errors_without_traceback(capsys):
    assert runner.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "smoke" in listed and "demo" in listed and "mirex" in listed and "paper" in listed
    assert runner.main(["--profile", "no-such-profile"]) == runner.EXIT_USAGE == 2
    assert "error: no profile named 'no-such-profile'" in capsys.readouterr().err


def test_kernel_talks_over_ipc_unless_the_socket_path_would_be_too_long(tmp_path, monkeypatch):
    with tempfile.TemporaryDirectory() as short:  # tmp_path may be too long for a socket path
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", f"{short}/rt")
        first, second = runner._local_kernel_config().KernelManager, runner._local_kernel_config().KernelManager
        assert first.transport == "ipc" and Path(short, "rt").is_dir()
        # sockets in the runtime folder, named per run: not jupyter_client's kernel-ipc-N in the working folder
        assert Path(first.ip).parent == Path(short, "rt") and first.ip != second.ip
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / ("x" * 80)))
    assert "transport" not in runner._local_kernel_config().KernelManager


# --- parameter values are checked before anything runs ----------------------------------

@pytest.fixture
def typed_notebooks(tmp_path):
    """One notebook declaring a parameter of every kind the real study uses."""
    folder = tmp_path / "typed"
    write_notebook(folder, "01_typed.ipynb",
                   'run_dir: str = ""\nepochs: int = 1\nmin_duration_s: float = 60.0\n'
                   'balance_classes: bool = True\ncorpus: str = "demo"\npositive_tags: list = []',
                   "raise RuntimeError('a check should have stopped the run')")
    return folder


def test_every_bad_value_is_reported_at_once_with_exit_status_2(profiles, typed_notebooks, tmp_path, capsys):
    write_profile(profiles, "typed", "description: typed\nparameters:\n  epochs: 0\n")
    status = runner.main(["--profile", "typed", "--set", "min_duration_s=abc", "--set", "balance_classes=maybe",
                          "--set", "corpus=nope", "--set", "positive_tags=happy", "--set", "epohcs=3"],
                         profiles_dir=profiles, runs_dir=tmp_path / "runs", notebooks_dir=typed_notebooks)
    assert status == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "error: profile 'typed': nothing was run, because of"
    assert sorted(line.strip() for line in lines[1:]) == [
        "balance_classes='maybe': must be true or false (declared `bool` in 01_typed)",
        "corpus='nope': must be one of demo, mirex, csv, folder",
        "epochs=0: must be >= 1",
        "min_duration_s='abc': must be a number (declared `float` in 01_typed)",
        "parameters ['epohcs'] are declared by no notebook",
        "positive_tags='happy': must be a list, e.g. [a, b] (declared `list` in 01_typed)",
    ]
    assert not (tmp_path / "runs").exists(), "nothing is created before the checks pass"


def test_good_values_pass_ints_count_as_floats_and_variants_are_checked(profiles, typed_notebooks, tmp_path):
    profile = runner.load_profile("base", overrides={"min_duration_s": 30, "corpus": "csv"}, profiles_dir=profiles)
    profile["parameters"].pop("seed")
    profile["variants"] = {"01_typed": [{"epochs": 2}, {"epochs": -1}, {"epoch": 2}], "09_gone": [{}]}
    with pytest.raises(runner.UsageError) as err:
        runner.plan_run(profile, runner.discover_notebooks(typed_notebooks), tmp_path)
    assert str(err.value).splitlines()[1:] == [
        "  variants for unknown notebooks ['09_gone']",
        "  variants of 01_typed: ['epoch'] are not parameters of 01_typed",
        "  epochs=-1 (variant of 01_typed): must be >= 1",
    ]


def test_ranges_name_real_parameters_and_allow_their_defaults():
    """(That every profile passes the checks is tests/test_notebooks.py's test_every_profile_plans_cleanly.)"""
    notebooks = runner.discover_notebooks()
    defaults = {name: info for nb in notebooks for name, info in runner.declared_parameters(nb).items()}
    assert set(config.PARAMETER_RANGES) <= set(defaults), "a range for a parameter no notebook declares"
    for name in config.PARAMETER_RANGES:
        default = ast.literal_eval(defaults[name]["default"])
        assert runner._range_problem(name, default) is None, f"the notebooks' default {name}={default!r} is out of range"


def test_allowed_values_agree_with_the_modules_that_use_them():
    from mer_utils import catalogue, corpus, pos, splits

    ranges = config.PARAMETER_RANGES
    assert ranges["corpus"] == corpus.CORPORA
    assert ranges["split_scheme"] == splits.SCHEMES
    assert ranges["korean_tagger"] == tuple(pos.KOREAN_TAGGERS)
    assert ranges["embedding_init"] == config.EMBEDDING_INITS
    trained = {name for name in catalogue.MODEL_INPUTS}
    assert {f"audio_{m}" for m in ranges["audio_models"]} == {m for m in trained if m.startswith("audio_")}
    assert {f"lyrics_{m}" for m in ranges["lyrics_models"]} == {m for m in trained if m.startswith("lyrics_")}


def test_range_rules_include_or_exclude_their_bounds(monkeypatch):
    monkeypatch.setitem(config.PARAMETER_RANGES, "share", "(0, 1]")
    assert runner._range_problem("share", 1) is None and runner._range_problem("share", 0.5) is None
    assert runner._range_problem("share", 0) == runner._range_problem("share", 1.01) == "must be in (0, 1]"
    assert runner._range_problem("share", float("nan")) == "must be in (0, 1]"
    assert runner._range_problem("unruled", -5) is None


def test_list_parameters_are_checked_element_by_element(tmp_path, monkeypatch):
    monkeypatch.setitem(config.PARAMETER_RANGES, "models", ("cnn", "rnn"))
    folder = tmp_path / "listed"
    write_notebook(folder, "01_models.ipynb", 'run_dir: str = ""\nmodels: list = ["cnn", "rnn"]', "pass")
    declared = {"01_models": runner.declared_parameters(folder / "01_models.ipynb")}

    def problems(value, variants=()):
        profile = {"parameters": {"models": value}, "variants": {"01_models": list(variants)}}
        return runner.parameter_problems(profile, declared)

    assert problems(["rnn", "cnn"]) == [] and problems(["cnn"], [{"models": ["rnn"]}]) == []
    assert problems(["cnn", "lstm", 3]) == [
        "models=['cnn', 'lstm', 3]: each element must fit: 'lstm' must be one of cnn, rnn; 3 must be one of cnn, rnn"]
    assert problems([]) == ["models=[]: must not be empty"]
    monkeypatch.setattr(runner, "MAY_BE_EMPTY", ("models",))
    assert problems([]) == [], "where [] means none"
    assert problems("cnn") == ["models='cnn': must be a list, e.g. [a, b] (declared `list` in 01_models)"]
    assert problems(["cnn"], [{"models": ["gru"]}]) == [
        "models=['gru'] (variant of 01_models): each element must fit: 'gru' must be one of cnn, rnn"]


def test_list_variants_name_their_outputs_by_their_elements(tmp_path):
    folder = tmp_path / "listed"
    write_notebook(folder, "04_models.ipynb", 'run_dir: str = ""\nmodels: list = ["cnn", "rnn"]', "pass")
    profile = {"name": "p", "parameters": {},
               "variants": {"04_models": [{"models": ["cnn"]}, {"models": ["cnn", "rnn"]}]}}
    plan = runner.plan_run(profile, runner.discover_notebooks(folder), tmp_path / "run")
    assert [(out, params["models"]) for _, out, params in plan] == [
        ("04_models-cnn.ipynb", ["cnn"]), ("04_models-cnn+rnn.ipynb", ["cnn", "rnn"])]


PROGRESS_NOTEBOOK = """\
import logging
from mer_utils.notebook import setup
setup(run_dir, seed=0)
for epoch in (1, 2):
    logging.getLogger("mer_utils.training").info("m split 0 (of 1), epoch %d/2: loss 0.5", epoch)
logging.getLogger("some.library").info("a library's INFO line stays out")
"""


@pytest.mark.slow
def test_the_console_shows_what_the_notebook_logs_while_it_runs(tmp_path):
    folder = tmp_path / "notebooks"
    write_notebook(folder, "01_log.ipynb", 'run_dir: str = ""', PROGRESS_NOTEBOOK)
    profile = {"name": "p", "description": "", "cell_timeout_s": 60, "parameters": {}, "variants": {}}
    messages = []
    run_dir = runner.execute(profile, run_id="r", runs_dir=tmp_path / "runs", notebooks_dir=folder,
                             log=messages.append)
    epochs = [m for m in messages if "epoch" in m]
    assert epochs == [f"    m split 0 (of 1), epoch {e}/2: loss 0.5" for e in (1, 2)]
    done = next(i for i, m in enumerate(messages) if m.startswith("[1/1] 01_log.ipynb done"))
    assert messages.index(epochs[-1]) < done, "printed while the notebook ran, not after"
    assert not any("library" in m for m in messages)
    assert (run_dir / "01_log.log").read_text().splitlines() == [m.strip() for m in epochs]
    outputs = nbformat.read(run_dir / "01_log.ipynb", as_version=4).cells[-1].outputs
    assert {o["name"] for o in outputs} == {"stdout"}, "log lines are not shown as errors"
    assert "".join(o["text"] for o in outputs).splitlines() == [m.strip() for m in epochs]
    assert PROGRESS_FILE_VARIABLE not in os.environ, "the variable is for the kernel only, not left set"


# --- reruns: --only continues a run whose earlier notebooks completed ---------------------

def test_only_without_an_earlier_run_refuses_and_names_the_notebook_to_run_first(profiles, notebooks, tmp_path):
    profile = runner.load_profile("child", profiles_dir=profiles)
    with pytest.raises(runner.UsageError) as err:
        runner.execute(profile, runs_dir=tmp_path / "runs", notebooks_dir=notebooks, only={"02"}, log=quiet)
    assert "01_first.ipynb (not run)" in str(err.value) and "--only 01,02" in str(err.value)
    assert not (tmp_path / "runs").exists(), "no empty run folder, no latest link"
    with pytest.raises(runner.UsageError, match=r"--only 09 selects no notebook \(numbers: 01, 02\)"):
        runner.execute(profile, runs_dir=tmp_path / "runs", notebooks_dir=notebooks, only={"02", "09"}, log=quiet)


@pytest.mark.slow
def test_only_continues_the_latest_run_and_run_json_keeps_every_notebook(profiles, notebooks, tmp_path):
    profile = runner.load_profile("child", profiles_dir=profiles)
    runs = tmp_path / "runs"
    first = runner.execute(profile, runs_dir=runs, notebooks_dir=notebooks, only={"01"}, log=quiet)
    assert json.loads((first / "run.json").read_text())["status"] == "partial"
    assert (runs / "child" / "latest").resolve() == first
    messages = []
    second = runner.execute(profile, runs_dir=runs, notebooks_dir=notebooks, only={"02"}, log=messages.append)
    assert second == first and any("continuing run child/" in m for m in messages)
    record = json.loads((first / "run.json").read_text())
    assert record["status"] == "ok"
    assert [(e["output"], e["status"], e["invocation"]) for e in record["notebooks"]] == [
        ("01_first.ipynb", "ok", 1), ("02_model-a.ipynb", "ok", 2), ("02_model-b.ipynb", "ok", 2)]
    assert [(i["number"], i["only"], i["status"]) for i in record["invocations"]] == [(1, ["01"], "ok"), (2, ["02"], "ok")]
    assert all(i["git_commit"] and i["pid"] for i in record["invocations"])

    # rerunning 01 leaves 02's outputs behind: stale, and the run partial until 02 reruns
    messages.clear()
    runner.execute(profile, runs_dir=runs, notebooks_dir=notebooks, only={"01"}, log=messages.append)
    record = json.loads((first / "run.json").read_text())
    assert record["status"] == "partial"
    assert [(e["output"], e["status"], e.get("stale_since")) for e in record["notebooks"]] == [
        ("01_first.ipynb", "ok", None), ("02_model-a.ipynb", "stale", "01_first.ipynb reran in invocation 3"),
        ("02_model-b.ipynb", "stale", "01_first.ipynb reran in invocation 3")]
    assert f"bring them up to date with --run-id {first.name} --only 02" in messages[-1]
    runner.execute(profile, runs_dir=runs, notebooks_dir=notebooks, only={"02"}, log=messages.append)
    record = json.loads((first / "run.json").read_text())
    assert record["status"] == "ok" and {e["status"] for e in record["notebooks"]} == {"ok"}


def test_a_notebook_after_a_stale_one_refuses_to_run(profiles, notebooks, tmp_path):
    """A stale notebook is not done: what follows it waits until it reruns (checked before any kernel starts)."""
    write_notebook(notebooks, "03_report.ipynb", 'run_dir: str = ""', "pass")
    run_dir = tmp_path / "runs" / "child" / "r"
    run_dir.mkdir(parents=True)
    entries = [{"notebook": "01_first.ipynb", "output": "01_first.ipynb", "status": "ok"}] + [
        {"notebook": "02_model.ipynb", "output": f"02_model-{m}.ipynb", "status": "stale"} for m in "ab"]
    (run_dir / "run.json").write_text(json.dumps({"run_id": "r", "status": "partial", "notebooks": entries}))
    profile = runner.load_profile("child", profiles_dir=profiles)
    with pytest.raises(runner.UsageError) as err:
        runner.execute(profile, run_id="r", runs_dir=tmp_path / "runs", notebooks_dir=notebooks, only={"03"}, log=quiet)
    assert "02_model-a.ipynb (stale), 02_model-b.ipynb (stale)" in str(err.value)
    assert "--only 02,03 --run-id r" in str(err.value)


@pytest.fixture
def stubbed_papermill(monkeypatch):
    """Notebook executions recorded instead of run (a failing one raises): the runner's bookkeeping alone, fast."""
    import papermill

    executed, failing = [], set()

    def execute_notebook(source, output, **_):
        executed.append(Path(output).name)
        if Path(output).name in failing:
            raise RuntimeError("stubbed failure")
        Path(output).write_text("{}")

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    return types.SimpleNamespace(executed=executed, failing=failing)


@pytest.fixture
def sequence(tmp_path, notebooks):
    """The fixture notebooks plus 03 and 04: a sequence long enough for a notebook between two selected ones."""
    for name in ("03_third.ipynb", "04_fourth.ipynb"):
        write_notebook(notebooks, name, 'run_dir: str = ""', "pass")
    return notebooks


def statuses(run_dir):
    return {e["output"]: e["status"] for e in json.loads((run_dir / "run.json").read_text())["notebooks"]}


def test_one_invocation_cannot_skip_a_notebook_its_own_rerun_makes_stale(profiles, sequence, tmp_path,
                                                                          stubbed_papermill):
    profile, runs = runner.load_profile("child", profiles_dir=profiles), tmp_path / "runs"
    run_dir = runner.execute(profile, runs_dir=runs, notebooks_dir=sequence, log=quiet)
    stubbed_papermill.executed.clear()
    with pytest.raises(runner.UsageError) as err:  # 02 and 03 would read 01's old outputs
        runner.execute(profile, runs_dir=runs, notebooks_dir=sequence, only={"01", "04"}, log=quiet)
    assert "02_model-a.ipynb (stale once 01 reruns)" in str(err.value) and "03_third.ipynb (stale once 01 reruns)" \
        in str(err.value)
    assert f"--only 01,02,03,04 --run-id {run_dir.name}" in str(err.value)
    assert not stubbed_papermill.executed and set(statuses(run_dir).values()) == {"ok"}
    runner.execute(profile, runs_dir=runs, notebooks_dir=sequence, only={"01", "02"}, log=quiet)  # 03, 04 stale after
    assert [statuses(run_dir)[name] for name in ("03_third.ipynb", "04_fourth.ipynb")] == ["stale", "stale"]


def test_the_stale_note_names_an_accepted_rerun_and_only_planned_notebooks(profiles, sequence, tmp_path,
                                                                            stubbed_papermill):
    profile, runs = runner.load_profile("child", profiles_dir=profiles), tmp_path / "runs"
    run_dir = runner.execute(profile, runs_dir=runs, notebooks_dir=sequence, log=quiet)
    stubbed_papermill.failing.add("03_third.ipynb")
    with pytest.raises(runner.RunError):
        runner.execute(profile, runs_dir=runs, notebooks_dir=sequence, only={"03"}, log=quiet)
    stubbed_papermill.failing.clear()
    # variant b dropped from the profile: its old entry is left as it is, neither marked nor named
    fewer = {**profile, "variants": {"02_model": [{"model": "a"}]}}
    messages = []
    runner.execute(fewer, runs_dir=runs, notebooks_dir=sequence, only={"01"}, log=messages.append)
    assert statuses(run_dir) == {"01_first.ipynb": "ok", "02_model-a.ipynb": "stale", "02_model-b.ipynb": "ok",
                                 "03_third.ipynb": "failed", "04_fourth.ipynb": "stale"}
    assert messages[-1].startswith("note: 02_model-a.ipynb, 04_fourth.ipynb ran before a rerun")
    assert messages[-1].endswith(f"--run-id {run_dir.name} --only 02,03,04"), "03 failed: it must rerun too"
    runner.execute(fewer, runs_dir=runs, notebooks_dir=sequence, only={"02", "03", "04"}, log=messages.append)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "ok" and "note:" not in messages[-1]


# --- kills: nothing survives the runner, and run.json says what happened ------------------

SPIN_NOTEBOOK = '''\
import ctypes, json, multiprocessing, os, sys, threading, time
from pathlib import Path
from mer_utils import parallel

def death_signal():  # prctl(PR_GET_PDEATHSIG) of the main thread: what it gets when the runner dies
    value = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)
    return value.value

def report_pids(kernel_death_signal):
    while len(multiprocessing.active_children()) < 2:
        time.sleep(0.05)
    pids = {"kernel": os.getpid(), "workers": [p.pid for p in multiprocessing.active_children()],
            "kernel_death_signal": kernel_death_signal}
    Path(run_dir, "pids.tmp").write_text(json.dumps(pids))
    os.replace(Path(run_dir, "pids.tmp"), Path(run_dir, "pids.json"))

if spin:  # what notebook 02 does: a pool of extraction workers, here busy for ten minutes
    linux = sys.platform.startswith("linux")
    threading.Thread(target=report_pids, args=(death_signal() if linux else None,), daemon=True).start()
    list(parallel.map_unordered(time.sleep, [600, 600], n_workers=2, progress=False))
'''

#: The runner's command line with test folders: argv = profiles, runs, notebooks, then the CLI's arguments.
RUNNER = ("import sys; from mer_utils.run import main; "
          "sys.exit(main(sys.argv[4:], profiles_dir=sys.argv[1], runs_dir=sys.argv[2], notebooks_dir=sys.argv[3]))")


@pytest.fixture
def spinning_run(tmp_path):
    """Start the runner on a notebook whose two pool workers sleep; return (process, run folder, pids)."""
    folder = tmp_path / "notebooks"
    write_notebook(folder, "01_spin.ipynb", 'run_dir: str = ""\nspin: bool = False', SPIN_NOTEBOOK)
    write_profile(tmp_path / "profiles", "spin", "description: spin\n")
    process = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(tmp_path / "profiles"), str(tmp_path / "runs"), str(folder),
         "--profile", "spin", "--run-id", "r", "--set", "spin=true"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    run_dir = tmp_path / "runs" / "spin" / "r"
    deadline = time.monotonic() + 120
    while not (run_dir / "pids.json").exists():
        assert process.poll() is None, f"the runner ended early: {process.stderr.read()}"
        assert time.monotonic() < deadline, "the kernel did not start its workers in time"
        time.sleep(0.1)
    pids = json.loads((run_dir / "pids.json").read_text())
    yield process, run_dir, pids, folder
    for pid in [pids["kernel"], *pids["workers"], process.pid]:  # whatever a failing test left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_kill_9_of_the_runner_leaves_no_kernel_or_worker_and_the_next_run_says_so(spinning_run, tmp_path):
    process, run_dir, pids, folder = spinning_run
    children = [pids["kernel"], *pids["workers"]]
    assert len(children) == 3 and all(map(lifetime.process_alive, children))
    assert os.getsid(pids["kernel"]) != os.getsid(process.pid), \
        "the kernel runs in a session of its own: killing the runner's group does not reach it"
    if sys.platform.startswith("linux"):
        assert pids["kernel_death_signal"] == signal.SIGKILL, "the kernel is killed the moment the runner dies"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert lifetime.wait_for_exit(children, timeout_s=5) == []
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "running" and record["notebooks"][0]["status"] == "running"

    messages = []
    profile = runner.load_profile("spin", profiles_dir=tmp_path / "profiles")
    runner.execute(profile, run_id="r", runs_dir=tmp_path / "runs", notebooks_dir=folder, log=messages.append)
    assert any("said 'running', but its runner" in m and "Marked interrupted" in m for m in messages)
    record = json.loads((run_dir / "run.json").read_text())
    assert [i["status"] for i in record["invocations"]] == ["interrupted", "ok"]
    assert record["status"] == "ok" and record["notebooks"][0]["invocation"] == 2


@pytest.mark.slow
def test_sigterm_records_the_interruption_and_ends_kernel_and_workers(spinning_run):
    process, run_dir, pids, _ = spinning_run
    process.terminate()
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    stderr = process.stderr.read()
    assert "interrupted by SIGTERM" in stderr
    assert "never retrieved" not in stderr and "CellExecutionError" not in stderr, "asyncio's leftovers are silenced"
    assert lifetime.wait_for_exit([pids["kernel"], *pids["workers"]], timeout_s=5) == []
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and record["invocations"][0]["status"] == "interrupted"
    assert record["notebooks"][0]["status"] == "interrupted"
    assert record["notebooks"][0]["error"] == "interrupted by SIGTERM"
    assert not (run_dir.parent / "latest").exists()


def test_a_killed_runner_is_recorded_as_interrupted_even_when_the_next_invocation_is_refused(profiles, notebooks,
                                                                                             tmp_path):
    run_dir = tmp_path / "runs" / "child" / "r"
    run_dir.mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (run_dir / "run.json").write_text(json.dumps({
        "status": "running",
        "notebooks": [{"notebook": "01_first.ipynb", "output": "01_first.ipynb", "status": "running"}],
        "invocations": [{"number": 1, "status": "running", "pid": gone.pid, "host": platform.node(),
                         "started": "2024-01-01T00:00:00"}]}))
    profile = runner.load_profile("child", profiles_dir=profiles)
    with pytest.raises(runner.UsageError, match=r"01_first.ipynb \(interrupted\)"):
        runner.execute(profile, run_id="r", runs_dir=tmp_path / "runs", notebooks_dir=notebooks, only={"02"},
                       log=quiet)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == record["invocations"][0]["status"] == record["notebooks"][0]["status"] == \
        "interrupted"


def test_a_run_still_in_progress_is_not_run_twice(profiles, notebooks, tmp_path):
    run_dir = tmp_path / "runs" / "child" / "r"
    run_dir.mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run_dir / "run.json").write_text(json.dumps({
            "status": "running", "notebooks": [],
            "invocations": [{"number": 1, "status": "running", "pid": other.pid, "host": platform.node(),
                             "started": "2024-01-01T00:00:00"}]}))
        profile = runner.load_profile("child", profiles_dir=profiles)
        with pytest.raises(runner.UsageError, match=f"being executed by process {other.pid}"):
            runner.execute(profile, run_id="r", runs_dir=tmp_path / "runs", notebooks_dir=notebooks, log=quiet)
    finally:
        other.kill()
        other.wait()
