"""Run the notebook sequence with papermill: ``python -m mer_utils.run --profile NAME``.

A profile (``papermill_runs/profiles/<name>.yaml``) holds the parameters of a
run. The runner executes every ``notebooks/NN_*.ipynb`` in order, in kernel
``python3``, passing each notebook only the parameters its ``parameters``
cell declares, and writes the executed copies plus ``run.json`` (provenance)
to ``papermill_runs/<profile>/<run-id>/``. A new numbered notebook joins the
sequence without any change here.

Profile format::

    extends: defaults        # optional: start from another profile
    description: one line
    cell_timeout_s: 900      # papermill's per-cell execution timeout
    parameters:              # flat name -> value, shared by all notebooks
      seed: 2017
    variants:                # notebooks executed once per parameter set
      04_audio_model:
        - {audio_model: cnn}
        - {audio_model: rnn}
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import yaml

from .fileio import write_json
from .paths import NOTEBOOKS_DIR, PROFILES_DIR, RUNS_DIR
from .provenance import environment

#: Longest Jupyter runtime folder for IPC sockets (a Unix socket path holds ~100 bytes;
#: the socket's own name adds ~50).
MAX_IPC_DIR_LENGTH = 50


class RunError(RuntimeError):
    """A run could not start or a notebook failed; the message says which and why."""


# --- profiles -----------------------------------------------------------------

def available_profiles():
    """Names of the profiles in ``papermill_runs/profiles``."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


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
    """
    path = Path(profiles_dir) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in Path(profiles_dir).glob("*.yaml")))
        raise RunError(f"no profile named {name!r} in {profiles_dir} (known: {known})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise RunError(f"profile {path} is not valid YAML: {err}") from None
    unknown = set(raw) - {"extends", "description", "cell_timeout_s", "parameters", "variants"}
    if unknown:
        raise RunError(f"profile {path.name}: unknown keys {sorted(unknown)}")
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


def parse_overrides(items):
    """Turn ``["epochs=3", "corpus=mirex"]`` into ``{"epochs": 3, "corpus": "mirex"}`` (YAML-typed)."""
    overrides = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RunError(f"--set expects NAME=VALUE, got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


# --- notebooks ----------------------------------------------------------------

def discover_notebooks(notebooks_dir=NOTEBOOKS_DIR):
    """The numbered notebooks ``NN_name.ipynb``, in execution order."""
    notebooks = sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise RunError(f"no numbered notebooks (NN_name.ipynb) in {notebooks_dir}")
    return notebooks


def declared_parameters(notebook):
    """Names declared in a notebook's ``parameters`` cell."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def plan_run(profile, notebooks, run_dir):
    """Expand the profile into executions: ``[(notebook, output_name, parameters), ...]``.

    Each notebook gets the profile parameters it declares, its variant's
    values, and ``run_dir`` / ``profile`` when it declares them.

    Raises
    ------
    RunError
        If a profile parameter is declared by no notebook (a typo would
        otherwise be ignored silently), or a variant names no notebook.
    """
    declared = {nb.stem: declared_parameters(nb) for nb in notebooks}
    all_declared = set().union(*declared.values())
    unused = sorted(set(profile["parameters"]) - all_declared)
    if unused:
        raise RunError(f"profile {profile['name']!r}: parameters {unused} are declared by no notebook")
    unknown_variants = sorted(set(profile["variants"]) - set(declared))
    if unknown_variants:
        raise RunError(f"profile {profile['name']!r}: variants for unknown notebooks {unknown_variants}")

    supplied = {"run_dir": str(run_dir), "profile": profile["name"]}
    plan = []
    for nb in notebooks:
        for variant in profile["variants"].get(nb.stem) or [{}]:
            values = {**profile["parameters"], **variant, **supplied}
            params = {k: v for k, v in values.items() if k in declared[nb.stem]}
            suffix = "".join(f"-{v}" for v in variant.values())
            plan.append((nb, f"{nb.stem}{suffix}.ipynb", params))
    return plan


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
    long runtime path falls back to TCP.
    """
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets.config import Config

    config = Config()
    if len(jupyter_runtime_dir()) <= MAX_IPC_DIR_LENGTH:
        config.KernelManager.transport = "ipc"
    return config


def execute(profile, *, run_id=None, runs_dir=RUNS_DIR, notebooks_dir=NOTEBOOKS_DIR, only=None, log=print):
    """Execute a profile's notebook sequence; return the run folder.

    Parameters
    ----------
    profile : dict
        From :func:`load_profile`.
    run_id : str, optional
        Folder name of the run; default a timestamp.
    only : collection of str, optional
        Notebook number prefixes to run (e.g. ``{"01", "02"}``), for reruns.

    Raises
    ------
    RunError
        When a notebook fails: names the notebook and the cell; its executed
        copy stays in the run folder.
    """
    import papermill

    use_project_kernel()
    run_id = run_id or dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = (Path(runs_dir) / profile["name"] / run_id).resolve()
    # plan against every notebook, so the profile is checked whole, then keep the selection
    plan = [step for step in plan_run(profile, discover_notebooks(notebooks_dir), run_dir)
            if not only or step[0].name[:2] in only]
    if not plan:
        raise RunError(f"--only {','.join(sorted(only))} selects no notebook")
    run_dir.mkdir(parents=True, exist_ok=True)
    _link_latest(run_dir)

    record = {
        "profile": profile["name"],
        "description": profile["description"],
        "run_id": run_id,
        "run_dir": str(run_dir),
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "status": "running",
        "parameters": profile["parameters"],
        "variants": profile["variants"],
        "seed": profile["parameters"].get("seed"),
        **environment(),
        "notebooks": [],
    }
    write_json(run_dir / "run.json", record, indent=2)
    log(f"run {profile['name']}/{run_id}: {len(plan)} notebook executions -> {run_dir}")

    for step, (notebook, output_name, params) in enumerate(plan, start=1):
        output = run_dir / output_name
        log(f"[{step}/{len(plan)}] {output_name} ...")
        start = time.perf_counter()
        entry = {"notebook": notebook.name, "output": output_name, "parameters": params}
        try:
            papermill.execute_notebook(
                str(notebook), str(output), parameters=params, kernel_name="python3",
                execution_timeout=profile["cell_timeout_s"], cwd=str(notebook.parent),
                progress_bar=False, log_output=False, config=_local_kernel_config(),
            )
        except papermill.PapermillExecutionError as err:
            entry.update(status="failed", wall_s=round(time.perf_counter() - start, 2),
                         error=f"{err.ename}: {err.evalue}", cell_index=err.cell_index)
            record["notebooks"].append(entry)
            record.update(status="failed", finished=dt.datetime.now().isoformat(timespec="seconds"))
            write_json(run_dir / "run.json", record, indent=2)
            raise RunError(
                f"notebook {notebook.name} failed in cell {err.cell_index} "
                f"(execution count {err.exec_count}): {err.ename}: {err.evalue}\n"
                f"executed copy kept at {output}"
            ) from None
        entry.update(status="ok", wall_s=round(time.perf_counter() - start, 2))
        record["notebooks"].append(entry)
        write_json(run_dir / "run.json", record, indent=2)
        log(f"[{step}/{len(plan)}] {output_name} done in {entry['wall_s']:.1f} s")

    record.update(status="ok", finished=dt.datetime.now().isoformat(timespec="seconds"),
                  wall_s=round(sum(e["wall_s"] for e in record["notebooks"]), 2))
    write_json(run_dir / "run.json", record, indent=2)
    log(f"run finished in {record['wall_s']:.0f} s; executed notebooks and run.json in {run_dir}")
    return run_dir


def _link_latest(run_dir):
    """Point ``papermill_runs/<profile>/latest`` at the newest run."""
    latest = run_dir.parent / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(run_dir.name)
    except OSError:
        pass  # file systems without symlinks: the run itself is unaffected


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mer_utils.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo", help="profile name (default: demo)")
    parser.add_argument("--set", dest="overrides", action="append", metavar="NAME=VALUE",
                        help="override a profile parameter (repeatable)")
    parser.add_argument("--run-id", help="run folder name (default: a timestamp)")
    parser.add_argument("--only", help="comma-separated notebook numbers to run, e.g. 01,02")
    parser.add_argument("--list", action="store_true", help="list profiles and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name in available_profiles():
            print(f"{name:10s} {load_profile(name)['description']}")
        return 0
    try:
        profile = load_profile(args.profile, overrides=parse_overrides(args.overrides))
        only = set(args.only.split(",")) if args.only else None
        execute(profile, run_id=args.run_id, only=only)
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
