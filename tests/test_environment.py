"""environment.yml (conda) stays in sync with pyproject.toml (pip)."""

import re
import subprocess
import sys
import tomllib

import yaml

from mer_utils.paths import REPO_ROOT


def pins(requirements):
    """{normalized name: exact version} of ``name==version`` strings."""
    found = {}
    for req in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+?)(\[[^\]]+\])?==([\w.]+)", req.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(3)
    return found


def version(text):
    """``"3.11"`` as ``(3, 11)``, so that 3.9 sorts before 3.11 (as strings it does not)."""
    return tuple(int(part) for part in text.split("."))


def test_environment_yml_matches_pyproject_pins():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    expected = pins(project["dependencies"] + extras["cpu"] + extras["dev"])
    assert all("==" in r for r in project["dependencies"]), "every dependency is pinned exactly"

    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == expected
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("openjdk") for d in conda), "konlpy needs a Java runtime"
    python_pin = next(d for d in conda if d.startswith("python="))
    assert version(python_pin.split("=")[1]) >= version(project["requires-python"].removeprefix(">="))


def test_versions_compare_as_numbers():
    assert version("3.9") < version("3.11") and version("3.11.4") > version("3.11")


def test_gpu_extra_pins_the_same_tensorflow():
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert pins(extras["gpu"])["tensorflow"] == pins(extras["cpu"])["tensorflow-cpu"]


def test_prerequisite_check_names_a_missing_java(tmp_path):
    script = REPO_ROOT / "scripts" / "check_prereqs.py"
    ok = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    no_java = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             env={"PATH": str(tmp_path)})
    assert no_java.returncode == 1
    assert "a Java runtime is needed by konlpy" in no_java.stderr
