"""Run the notebook sequence with papermill: ``python -m mer_utils.run --profile NAME``.

A profile (``papermill_runs/profiles/<name>.yaml``) holds the parameters of a
run. The runner executes every ``notebooks/NN_*.ipynb`` in order, in kernel
``python3``, passing each notebook only the parameters its ``parameters``
cell declares, and writes the executed copies plus ``run.json`` (provenance)
to ``papermill_runs/<profile>/<run-id>/``. A new numbered notebook joins the
sequence without any change here.

Before any notebook runs, every parameter value (profile, variants,
``--set``) is checked against the type its notebook declares and the range
in :data:`mer_utils.config.PARAMETER_RANGES`; all bad values are reported
together. A file or folder given with ``--set`` (``corpus_path``, ...) is
relative to the folder the command runs in, not to ``notebooks/``.

Reruns (``--only 02,03``) continue an existing run: the one ``--run-id``
names, else the profile's ``latest``. Every notebook before a selected one
must have completed in that run, or nothing runs and the message names the
notebooks to run first. A rerun makes the later notebooks' entries
``stale`` (they read what it replaced) until they are rerun too.
``run.json`` keeps one entry per executed notebook across invocations (a
rerun replaces that notebook's entry only) and a list of the invocations; a
run whose runner was killed is marked ``interrupted`` by the next
invocation. ``latest`` moves to a run only when an invocation on it
succeeds.

Exit status: 0 done; 1 a notebook failed; 2 bad invocation, profile or
parameters (nothing was executed); 130 / 143 interrupted by SIGINT / SIGTERM.

Profile format::

    extends: defaults        # optional: start from another profile
    description: one line
    cell_timeout_s: 900      # papermill's per-cell execution timeout
    parameters:              # flat name -> value, shared by all notebooks
      seed: 2017
    variants:                # notebooks executed once per parameter set
      04_audio_model:
        - {audio_models: [cnn]}
        - {audio_models: [rnn]}

While a notebook runs, the lines it logs (:func:`mer_utils.notebook.setup`
routes them; training logs one per epoch) go to ``<output name>.log`` in the
run folder, and the runner prints them, indented, as they come.
"""

import argparse
import contextlib
import datetime as dt
import json
import logging
import math
import os
import platform
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

import yaml

from .config import MAY_BE_EMPTY, PARAMETER_RANGES, PATH_PARAMETERS
from .fileio import write_json
from .lifetime import process_alive
from .paths import NOTEBOOKS_DIR, PROFILES_DIR, RUNS_DIR
from .provenance import environment

#: Longest Jupyter runtime folder for IPC sockets (a Unix socket path holds ~100 bytes;
#: the socket's own name adds ~50).
MAX_IPC_DIR_LENGTH = 50
#: Exit status of a run stopped before any notebook ran (argparse uses 2 as well).
EXIT_USAGE = 2
#: Exit status of a run in which a notebook failed.
EXIT_FAILED = 1


class RunError(RuntimeError):
    """A run could not start or a notebook failed; the message says which and why."""


class UsageError(RunError):
    """The invocation, profile or parameters are wrong; nothing was executed."""


class Interrupted(KeyboardInterrupt):
    """The runner received a termination signal (handled like Ctrl-C, which is SIGINT)."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# --- profiles -----------------------------------------------------------------

def available_profiles(profiles_dir=PROFILES_DIR):
    """Names of the profiles in ``profiles_dir``."""
    return sorted(p.stem for p in Path(profiles_dir).glob("*.yaml"))


def load_profile(name, *, overrides=None, profiles_dir=PROFILES_DIR):
    """Read a profile, resolving ``extends`` and applying ``overrides``.

    Parameters
    ----------
    name : str
        Profile name (file stem in ``profiles_dir``).
    overrides : dict, optional
        Parameter values that replace the profile's (``--set`` on the CLI).

    Returns
    -------
    dict
        Keys ``name``, ``description``, ``cell_timeout_s``, ``parameters``, ``variants``.

    Raises
    ------
    UsageError
        Unknown profile, invalid YAML or unknown keys.
    """
    path = Path(profiles_dir) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_profiles(profiles_dir))
        raise UsageError(f"no profile named {name!r} in {profiles_dir} (known: {known})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"profile {path} is not valid YAML: {err}") from None
    unknown = set(raw) - {"extends", "description", "cell_timeout_s", "parameters", "variants"}
    if unknown:
        raise UsageError(f"profile {path.name}: unknown keys {sorted(unknown)}")
    base = {"parameters": {}, "variants": {}, "cell_timeout_s": 1800, "description": ""}
    if raw.get("extends"):
        base = load_profile(raw["extends"], profiles_dir=profiles_dir)
    profile = {
        "name": name,
        "description": raw.get("description", base["description"]),
        "cell_timeout_s": raw.get("cell_timeout_s", base["cell_timeout_s"]),
        "parameters": {**base["parameters"], **(raw.get("parameters") or {})},
        "variants": {**base["variants"], **(raw.get("variants") or {})},
    }
    profile["parameters"].update(overrides or {})
    return profile


def parse_overrides(items, *, cwd=None):
    """Turn ``["epochs=3", "corpus=mirex"]`` into ``{"epochs": 3, "corpus": "mirex"}`` (YAML-typed).

    A path parameter (:data:`mer_utils.config.PATH_PARAMETERS`) is taken as
    written (quotes around it removed) and made absolute against ``cwd``
    (default: the current folder), since the notebooks run elsewhere.

    Raises
    ------
    UsageError
        An item without ``=``, a value that is not YAML, or one whose `` #``
        YAML would read as the start of a comment.
    """
    overrides = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        if key in PATH_PARAMETERS:
            overrides[key] = _absolute_path(_unquoted(value.strip()), cwd)
            continue
        try:
            overrides[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(f"--set {item}: the value is not valid YAML; quote it") from None
        if " #" in value and "#" not in str(overrides[key]):
            raise UsageError(f"--set {item}: YAML reads ' #' as the start of a comment; quote the value, "
                             f"e.g. --set '{key}=\"{value}\"'")
    return overrides


def _unquoted(text):
    """``text`` without one pair of matching quotes around it."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _absolute_path(text, cwd):
    """``text`` as an absolute path against ``cwd`` (``~`` expanded); empty stays empty (the default)."""
    if not text:
        return text
    return os.path.normpath(Path(cwd or Path.cwd()) / Path(text).expanduser())


# --- notebooks ----------------------------------------------------------------

def discover_notebooks(notebooks_dir=NOTEBOOKS_DIR):
    """The numbered notebooks ``NN_name.ipynb``, in execution order."""
    notebooks = sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise UsageError(f"no numbered notebooks (NN_name.ipynb) in {notebooks_dir}")
    return notebooks


def declared_parameters(notebook):
    """A notebook's ``parameters`` cell: name -> papermill's description.

    Each description holds ``inferred_type_name`` (``"int"``, ``"float"``,
    ``"bool"``, ``"str"``, ``"list"``, ... from the annotation), ``default``
    and ``help`` (the comment).
    """
    import papermill

    return papermill.inspect_notebook(str(notebook))


def plan_run(profile, notebooks, run_dir):
    """Expand the profile into executions: ``[(notebook, output_name, parameters), ...]``.

    Each notebook gets the profile parameters it declares, its variant's
    values, and ``run_dir`` / ``profile`` when it declares them.

    Raises
    ------
    UsageError
        Listing every problem at once: a profile parameter no notebook
        declares (a typo would otherwise be ignored silently), variants of an
        unknown notebook or with parameters it does not declare, and each
        value of the wrong type or outside its range
        (:func:`parameter_problems`).
    """
    declared = {nb.stem: declared_parameters(nb) for nb in notebooks}
    problems = _undeclared_problems(profile, declared) + parameter_problems(profile, declared)
    if problems:
        raise UsageError(f"profile {profile['name']!r}: nothing was run, because of\n  " + "\n  ".join(problems))

    supplied = {"run_dir": str(run_dir), "profile": profile["name"]}
    plan = []
    for nb in notebooks:
        for variant in profile["variants"].get(nb.stem) or [{}]:
            values = {**profile["parameters"], **variant, **supplied}
            params = {k: v for k, v in values.items() if k in declared[nb.stem]}
            suffix = "".join(f"-{'+'.join(map(str, v)) if isinstance(v, list) else v}" for v in variant.values())
            plan.append((nb, f"{nb.stem}{suffix}.ipynb", params))
    return plan


def _undeclared_problems(profile, declared):
    """Profile parameters no notebook declares; variants of unknown notebooks or with unknown names."""
    all_declared = set().union(*declared.values())
    problems = []
    unused = sorted(set(profile["parameters"]) - all_declared)
    if unused:
        problems.append(f"parameters {unused} are declared by no notebook")
    unknown_variants = sorted(set(profile["variants"]) - set(declared))
    if unknown_variants:
        problems.append(f"variants for unknown notebooks {unknown_variants}")
    for stem, variants in profile["variants"].items():
        for variant in variants or ():
            if not isinstance(variant, dict):
                problems.append(f"variants of {stem}: expected name: value mappings, got {variant!r}")
            elif stem in declared and set(variant) - set(declared[stem]):
                problems.append(f"variants of {stem}: {sorted(set(variant) - set(declared[stem]))} "
                                f"are not parameters of {stem}")
    return problems


def select_steps(plan, only):
    """The steps of ``plan`` whose notebook number is in ``only`` (all when ``only`` is empty).

    Raises
    ------
    UsageError
        When ``only`` names a number no notebook has.
    """
    if not only:
        return list(plan)
    numbers = {nb.name[:2] for nb, _, _ in plan}
    unknown = sorted(set(only) - numbers)
    if unknown:
        raise UsageError(f"--only {','.join(unknown)} selects no notebook (numbers: {', '.join(sorted(numbers))})")
    return [step for step in plan if step[0].name[:2] in only]


# --- parameter values -------------------------------------------------------------

#: Declared type name -> (test of a value, what the value must be).
_TYPE_CHECKS = {
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "float": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str": (lambda v: isinstance(v, str), "text (quote digits: --set 'name=\"123\"')"),
    "list": (lambda v: isinstance(v, list), "a list, e.g. [a, b]"),
    "dict": (lambda v: isinstance(v, dict), "a mapping, e.g. {a: 1}"),
}


def parameter_problems(profile, declared):
    """Check every profile and variant value against its declared type and allowed range.

    Parameters
    ----------
    profile : dict
        From :func:`load_profile`.
    declared : dict
        Notebook stem -> :func:`declared_parameters` of that notebook.

    Returns
    -------
    list of str
        One line per bad value, naming the parameter, the value and what it
        must be; empty when all are good. Names no notebook declares are
        left to the caller; types papermill cannot infer are not checked.
    """
    types = {}
    for stem, params in declared.items():
        for name, info in params.items():
            types.setdefault(name, {}).setdefault(info.get("inferred_type_name"), stem)
    values = [(name, value, "") for name, value in profile["parameters"].items()]
    values += [(name, value, f" (variant of {stem})") for stem, variants in profile["variants"].items()
               for variant in variants or () if isinstance(variant, dict) for name, value in variant.items()]
    problems = []
    for name, value, origin in values:
        problem = _type_problem(value, types.get(name, {})) or _range_problem(name, value)
        if problem:
            problems.append(f"{name}={value!r}{origin}: {problem}")
    return problems


def _type_problem(value, declared_types):
    """``declared_types``: type name -> a notebook declaring it; ``None`` when ``value`` fits them all."""
    for type_name, stem in declared_types.items():
        fits, expected = _TYPE_CHECKS.get(type_name, (lambda v: True, ""))
        if not fits(value):
            return f"must be {expected} (declared `{type_name}` in {stem})"
    return None


def _range_problem(name, value):
    """``None`` when ``value`` is allowed by :data:`~mer_utils.config.PARAMETER_RANGES` (or has no rule).

    A list is allowed when the rule allows each element, and when it is not
    empty unless ``name`` is in :data:`~mer_utils.config.MAY_BE_EMPTY`.
    """
    rule = PARAMETER_RANGES.get(name)
    if rule is None:
        return None
    if isinstance(value, list):
        if not value and name not in MAY_BE_EMPTY:
            return "must not be empty"
        bad = [(element, _range_problem(name, element)) for element in value]
        bad = [f"{element!r} {problem}" for element, problem in bad if problem]
        return f"each element must fit: {'; '.join(bad)}" if bad else None
    if isinstance(rule, tuple):
        return _choice_problem(value, rule)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # a type the notebook declares otherwise; nothing to compare
    low, high, closed_low, closed_high = _parse_interval(rule)
    above = value >= low if closed_low else value > low
    below = value <= high if closed_high else value < high
    if above and below:
        return None
    if math.isinf(high):
        return f"must be {'>=' if closed_low else '>'} {low:g}"
    return f"must be in {rule}"


def _choice_problem(value, choices):
    """``None`` when ``value`` is one of ``choices``, or an address whose scheme a choice names (``"tcp://"``)
    and that answers (a short connection attempt: nothing runs against an unreachable scheduler)."""
    if value in choices:
        return _dask_problem() if value == "dask" else None
    schemes = [c for c in choices if isinstance(c, str) and c.endswith("://")]
    if isinstance(value, str) and any(value.startswith(scheme) for scheme in schemes):
        from .parallel import address_problem

        return _dask_problem() or address_problem(value)
    names = [f"{c}host:port" if c in schemes else str(c) for c in choices]
    return f"must be one of {', '.join(names)}"


def _dask_problem():
    """``None`` when Dask's distributed scheduler can be imported here, else what to install."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        return "needs Dask (dask.distributed), which is not installed here: pip install 'dask[distributed]'"
    return None


def _parse_interval(text):
    """``"[0, 1)"`` -> ``(0.0, 1.0, True, False)``: the bounds and whether each is included."""
    low, high = (float(part) for part in text[1:-1].split(","))
    return low, high, text[0] == "[", text[-1] == "]"


# --- the run record (run.json) -------------------------------------------------------

def read_record(run_dir):
    """The run's ``run.json`` as a dict; ``None`` when the run has none yet."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        raise UsageError(f"{path} is unreadable ({err}); move it away to start the run afresh") from None


def _close_stale_invocation(record, run_label, log):
    """Mark the record's last invocation ``interrupted`` if it says ``running`` but its runner is gone.

    Returns
    -------
    bool
        Whether it marked it (the caller writes the record at once, so that
        the mark stays even when this invocation is refused).

    Raises
    ------
    UsageError
        When that runner is still alive: two runners must not write one run.
    """
    if record.get("status") != "running":
        return False
    last = (record.get("invocations") or [{}])[-1]
    pid, started = last.get("pid"), last.get("started", record.get("started"))
    if pid and pid != os.getpid() and last.get("host") == platform.node() and process_alive(pid):
        raise UsageError(f"run {run_label} is being executed by process {pid} (started {started}); "
                         "wait for it to finish or stop it first")
    log(f"note: run.json of {run_label} said 'running', but its runner (process {pid}, started {started}) "
        "is gone: it was killed. Marked interrupted.")
    last["status"] = record["status"] = "interrupted"
    for entry in record.get("notebooks", []):
        if entry.get("status") == "running":
            entry["status"] = "interrupted"
    return True


def _check_earlier_steps(plan, selected, record, run_label, *, named):
    """Refuse a rerun whose earlier notebooks have not completed in the run.

    Every step of ``plan`` before the last selected one, and not selected
    itself, must have an ``ok`` entry in ``record`` (not ``stale``, ``failed``...),
    and must not come after the first selected one: that rerun would leave it
    stale (:func:`_mark_later_stale`) before the later selected ones read it.
    ``named``: the run was chosen by ``--run-id`` or as the latest (not a fresh timestamp).
    """
    done = {e["output"]: e.get("status") for e in (record or {}).get("notebooks", [])}
    chosen = {output for _, output, _ in selected}
    first = min(nb.name[:2] for nb, _, _ in selected)
    last = max(i for i, (_, output, _) in enumerate(plan) if output in chosen)
    missing = [(nb, output, f"stale once {first} reruns" if done.get(output) == "ok" else done.get(output) or "not run")
               for nb, output, _ in plan[:last]
               if output not in chosen and (done.get(output) != "ok" or nb.name[:2] > first)]
    if not missing:
        return
    states = ", ".join(f"{output} ({state})" for _, output, state in missing)
    numbers = ",".join(sorted({nb.name[:2] for nb, _, _ in missing} | {nb.name[:2] for nb, _, _ in selected}))
    if not named:
        where, option = f"a new run (profile {run_label.split('/')[0]!r} has no latest run to continue)", ""
    else:
        where = f"run {run_label}" + ("" if record else " (it does not exist)")
        option = f" --run-id {run_label.split('/', 1)[1]}"
    raise UsageError(f"the selected notebooks need earlier ones that have not completed in {where}: "
                     f"{states}. Run those first: --only {numbers}{option}")


def _start_invocation(record, profile, run_id, run_dir, only):
    """The record with a new ``running`` invocation; a new record for a new run."""
    now = dt.datetime.now().isoformat(timespec="seconds")
    record = record or {}
    env = environment()
    invocations = record.get("invocations", [])
    invocations.append({"number": len(invocations) + 1, "started": now, "status": "running",
                        "only": sorted(only) if only else None, "pid": os.getpid(), "host": platform.node(), **env})
    return {  # the run's identity first, the long lists last
        "profile": profile["name"], "description": profile["description"], "run_id": run_id,
        "run_dir": str(run_dir), "started": record.get("started", now), "status": "running",
        "parameters": profile["parameters"], "variants": profile["variants"],
        "seed": profile["parameters"].get("seed"), **env,
        "notebooks": record.get("notebooks", []), "invocations": invocations,
    }


def _put_entry(record, entry, plan):
    """Add or replace the notebook entry of ``entry["output"]``; entries follow the plan's order."""
    order = {output: i for i, (_, output, _) in enumerate(plan)}
    entries = {e["output"]: e for e in record["notebooks"]}
    entries[entry["output"]] = entry
    record["notebooks"] = sorted(entries.values(), key=lambda e: order.get(e["output"], len(order)))


def _mark_later_stale(record, entry, plan):
    """Mark ``stale`` the ``ok`` entries of the plan's notebooks after ``entry``'s.

    Their outputs were computed from what this rerun replaced (the sequence's
    order is the dependency, as in :func:`_check_earlier_steps`): a rerun of
    02 reopens 03's rejections, a retrained model leaves 07's table behind.
    Variants of the same notebook do not read each other and stay as they are;
    entries the profile no longer plans (a dropped variant) are left alone.
    """
    planned = {output for _, output, _ in plan}
    for e in record["notebooks"]:
        if e["output"] in planned and e["notebook"][:2] > entry["notebook"][:2] and e.get("status") == "ok":
            e.update(status="stale", stale_since=f"{entry['output']} reran in invocation {entry['invocation']}")


def _stale_note(record, plan):
    """What to rerun when the run has ``stale`` notebooks; ``""`` when it has none.

    The ``--only`` names every planned notebook from the first stale one on
    that is not ``ok`` (a failed one among them too), so that it is accepted.
    """
    status = {e["output"]: e.get("status") for e in record["notebooks"]}
    stale = [i for i, (_, output, _) in enumerate(plan) if status.get(output) == "stale"]
    if not stale:
        return ""
    numbers = sorted({nb.name[:2] for nb, output, _ in plan[stale[0]:] if status.get(output) != "ok"})
    return (f"note: {', '.join(plan[i][1] for i in stale)} ran before a rerun of an earlier notebook and may be "
            f"out of date (stale in run.json); bring them up to date with --run-id {record['run_id']} "
            f"--only {','.join(numbers)}")


def _finish_invocation(record, status, plan):
    """Close the last invocation with ``status``; the run's status is ``ok`` once every step is."""
    now = dt.datetime.now().isoformat(timespec="seconds")
    record["invocations"][-1].update(status=status, finished=now)
    ok = {e["output"] for e in record["notebooks"] if e.get("status") == "ok"}
    complete = all(output in ok for _, output, _ in plan)
    record.update(status="ok" if status == "ok" and complete else "partial" if status == "ok" else status,
                  finished=now, wall_s=round(sum(e.get("wall_s", 0) for e in record["notebooks"]), 2))


# --- running ------------------------------------------------------------------

def use_project_kernel():
    """Make kernel ``python3`` resolve to this environment's kernelspec first.

    ``make`` installs the spec into ``<venv>/share/jupyter``; a user-level
    ``python3`` spec elsewhere must not shadow it.
    """
    venv_jupyter = str(Path(sys.prefix) / "share" / "jupyter")
    paths = [venv_jupyter] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))


def _local_kernel_config():
    """Talk to the kernel over local IPC sockets rather than unencrypted TCP.

    The kernel runs on this machine only; IPC needs no open port and spares
    every notebook ipykernel's warning about plain-text TCP. Sockets live in
    Jupyter's runtime folder and a socket path may not exceed ~100 bytes, so a
    long runtime path falls back to TCP. Their names are this run's own:
    jupyter_client's default (``kernel-ipc-1`` ... in the working folder) lets
    two runs started from one folder take each other's sockets.
    """
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets.config import Config

    config = Config()
    runtime = Path(jupyter_runtime_dir())
    if len(str(runtime)) <= MAX_IPC_DIR_LENGTH:
        runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = str(runtime / f"mer-{os.getpid()}-{secrets.token_hex(3)}-ipc")
    return config


def _kernel_arguments():
    """Kernel command-line options: the kernel ends when this runner does.

    jupyter_client starts the kernel in a session of its own, so killing the
    runner's process group would leave it (and its worker processes) running.
    """
    guard = f"__import__('mer_utils.lifetime').lifetime.die_with_parent({os.getpid()})"
    return [f"--IPKernelApp.exec_lines={guard}"]


@contextlib.contextmanager
def _kernel_environment(progress_file, log):
    """Start kernels quiet, and print what they log to ``progress_file`` while the block runs.

    The kernel inherits this process's environment: ``TF_CPP_MIN_LOG_LEVEL``
    keeps TensorFlow's C++ INFO and WARNING lines out of notebook and
    console, and :data:`~mer_utils.notebook.PROGRESS_FILE_VARIABLE` names the
    file :func:`mer_utils.notebook.setup` appends the notebook's log lines to
    (one per training epoch), which a thread here follows.
    """
    from .notebook import PROGRESS_FILE_VARIABLE

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    progress_file.parent.mkdir(parents=True, exist_ok=True)
    progress_file.write_bytes(b"")  # a rerun starts the notebook's log afresh
    os.environ[PROGRESS_FILE_VARIABLE] = str(progress_file)
    done = threading.Event()
    follower = threading.Thread(target=_follow, args=(progress_file, done, log), daemon=True)
    follower.start()
    try:
        yield
    finally:
        os.environ.pop(PROGRESS_FILE_VARIABLE, None)
        done.set()
        follower.join(timeout=5)


def _follow(path, done, log):
    """Pass each complete line appended to ``path`` to ``log``, indented, until ``done`` (then the rest)."""
    pending = b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read()
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                log(f"    {line.decode('utf-8', 'replace')}")
            if not chunk and done.is_set():
                break
            if not chunk:
                done.wait(0.5)
    if pending:
        log(f"    {pending.decode('utf-8', 'replace')}")


def latest_run_id(profile_dir):
    """The run folder name ``<profile_dir>/latest`` points at; ``None`` without one."""
    latest = Path(profile_dir) / "latest"
    return latest.resolve().name if latest.is_symlink() and latest.resolve().is_dir() else None


def execute(profile, *, run_id=None, runs_dir=RUNS_DIR, notebooks_dir=NOTEBOOKS_DIR, only=None, log=print):
    """Execute a profile's notebook sequence, or part of it; return the run folder.

    Parameters
    ----------
    profile : dict
        From :func:`load_profile`.
    run_id : str, optional
        Folder name of the run. Default: with ``only``, the profile's latest
        run (a new one when there is none); else a new timestamp.
    only : collection of str, optional
        Notebook number prefixes to run (e.g. ``{"01", "02"}``), for reruns.

    Raises
    ------
    UsageError
        Before anything runs: bad parameters, an unknown ``only`` number, an
        earlier notebook that has not completed in the run, or another runner
        still working on it.
    RunError
        When a notebook fails: names the notebook and the cell; its executed
        copy stays in the run folder.
    KeyboardInterrupt
        On SIGINT (or :class:`Interrupted` on SIGTERM under :func:`main`),
        after ``run.json`` records the run as ``interrupted``.
    """
    use_project_kernel()
    profile_dir = Path(runs_dir) / profile["name"]
    given, continued = run_id, run_id is None and only and latest_run_id(profile_dir)
    run_id = given or continued or dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = (profile_dir / run_id).resolve()
    run_label = f"{profile['name']}/{run_id}"
    # plan against every notebook, so the profile is checked whole, then keep the selection
    plan = plan_run(profile, discover_notebooks(notebooks_dir), run_dir)
    selected = select_steps(plan, only)
    record = read_record(run_dir)
    if record and _close_stale_invocation(record, run_label, log):
        write_json(run_dir / "run.json", record, indent=2)
    _check_earlier_steps(plan, selected, record, run_label, named=bool(given or continued))

    if continued:
        log(f"continuing run {run_label} (the profile's latest; --run-id picks another)")
    record = _start_invocation(record, profile, run_id, run_dir, only)
    write_json(run_dir / "run.json", record, indent=2)
    log(f"run {run_label}: {len(selected)} notebook executions -> {run_dir}")
    try:
        for step, (notebook, output_name, params) in enumerate(selected, start=1):
            log(f"[{step}/{len(selected)}] {output_name} ...")
            entry = _execute_step(notebook, output_name, params, record, plan, profile, run_dir, log=log)
            log(f"[{step}/{len(selected)}] {output_name} done in {entry['wall_s']:.1f} s")
    except BaseException as err:
        _finish_invocation(record, "failed" if isinstance(err, Exception) else "interrupted", plan)
        write_json(run_dir / "run.json", record, indent=2)
        raise

    _finish_invocation(record, "ok", plan)
    write_json(run_dir / "run.json", record, indent=2)
    _link_latest(run_dir)
    log(f"done; run {run_label} is {record['status']} ({record['wall_s']:.0f} s of notebooks); "
        f"executed notebooks and run.json in {run_dir}")
    if note := _stale_note(record, plan):
        log(note)
    return run_dir


def _execute_step(notebook, output_name, params, record, plan, profile, run_dir, *, log):
    """Run one notebook, recording it in ``run.json`` before and after; return its entry."""
    import papermill

    entry = {"notebook": notebook.name, "output": output_name, "parameters": params, "status": "running",
             "invocation": record["invocations"][-1]["number"],
             "started": dt.datetime.now().isoformat(timespec="seconds")}
    _put_entry(record, entry, plan)
    write_json(run_dir / "run.json", record, indent=2)
    start = time.perf_counter()
    try:
        with _kernel_environment(run_dir / f"{Path(output_name).stem}.log", log):
            papermill.execute_notebook(
                str(notebook), str(run_dir / output_name), parameters=params, kernel_name="python3",
                execution_timeout=profile["cell_timeout_s"], cwd=str(notebook.parent), progress_bar=False,
                log_output=False, config=_local_kernel_config(), extra_arguments=_kernel_arguments(),
            )
    except BaseException as err:
        failure = _describe_failure(err, notebook, run_dir / output_name, record, plan)
        entry.update(status=failure["status"], wall_s=round(time.perf_counter() - start, 2), error=failure["error"],
                     **({"cell_index": err.cell_index} if hasattr(err, "cell_index") else {}))
        if failure["status"] == "interrupted":
            raise
        raise RunError(failure["message"]) from None
    entry.update(status="ok", wall_s=round(time.perf_counter() - start, 2))
    _mark_later_stale(record, entry, plan)
    write_json(run_dir / "run.json", record, indent=2)
    return entry


def _describe_failure(err, notebook, output, record, plan):
    """``{"status": ..., "error": one line for run.json, "message": what the user reads}``."""
    import papermill

    if not isinstance(err, Exception):  # Ctrl-C, SIGTERM (Interrupted), SystemExit
        cause = err.args[0] if isinstance(err, Interrupted) else "SIGINT" if isinstance(err, KeyboardInterrupt) \
            else type(err).__name__
        error = f"interrupted by {cause}"
        return {"status": "interrupted", "error": error, "message": error}
    if isinstance(err, papermill.PapermillExecutionError):
        error = f"{err.ename}: {err.evalue}"
        where = f"failed in cell {err.cell_index} (execution count {err.exec_count})"
    else:  # the kernel died (out of memory, a crash) or could not start
        error = f"{type(err).__name__}: {err}"
        where = "could not be executed"
    numbers = sorted({nb.name[:2] for nb, _, _ in plan if nb.name >= notebook.name})
    message = (f"notebook {notebook.name} {where}: {error}\nexecuted copy kept at {output}\n"
               f"after fixing the cause, resume with --run-id {record['run_id']} --only {','.join(numbers)}")
    return {"status": "failed", "error": error, "message": message}


def _link_latest(run_dir):
    """Point ``papermill_runs/<profile>/latest`` at ``run_dir``."""
    latest = run_dir.parent / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(run_dir.name)
    except OSError:
        pass  # file systems without symlinks: the run itself is unaffected


# --- command line ---------------------------------------------------------------

@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Within the block, SIGTERM raises :class:`Interrupted` (as SIGINT raises KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        signal.signal(signum, signal.SIG_IGN)  # one record of the interruption is enough
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv=None, *, profiles_dir=PROFILES_DIR, runs_dir=RUNS_DIR, notebooks_dir=NOTEBOOKS_DIR):
    """The command line; returns the exit status (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m mer_utils.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo", help="profile name (default: demo)")
    parser.add_argument("--set", dest="overrides", action="append", metavar="NAME=VALUE",
                        help="override a profile parameter (repeatable)")
    parser.add_argument("--run-id", help="run folder name (default: a timestamp; with --only, the latest run)")
    parser.add_argument("--only", help="comma-separated notebook numbers to (re)run in an existing run, e.g. 02,03")
    parser.add_argument("--list", action="store_true", help="list profiles and exit")
    args = parser.parse_args(argv)
    try:
        if args.list:
            for name in available_profiles(profiles_dir):
                print(f"{name:10s} {load_profile(name, profiles_dir=profiles_dir)['description']}")
            return 0
        profile = load_profile(args.profile, overrides=parse_overrides(args.overrides), profiles_dir=profiles_dir)
        only = {number.strip() for number in args.only.split(",")} if args.only else None
        with _sigterm_as_interrupt():
            execute(profile, run_id=args.run_id, only=only, runs_dir=runs_dir, notebooks_dir=notebooks_dir)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as err:
        # the cell's task, cut short, would be logged as "never retrieved" (its traceback and the kernel's) at exit
        logging.getLogger("asyncio").disabled = True
        signum = err.signum if isinstance(err, Interrupted) else signal.SIGINT
        print(f"interrupted by {signal.Signals(signum).name}; run.json records it", file=sys.stderr)
        return 128 + signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
