"""Check the system prerequisites before set-up, one clear message each.

Run with the system Python (before any virtual environment exists), so it
uses the standard library only.
"""

import shutil
import subprocess
import sys

MIN_PYTHON = (3, 11)


def main():
    problems = []
    if sys.version_info < MIN_PYTHON:
        problems.append(
            f"Python {'.'.join(map(str, MIN_PYTHON))}+ is needed, found {sys.version.split()[0]} "
            f"at {sys.executable}; run e.g. `make PYTHON=python3.11 ...`"
        )
    java = shutil.which("java")
    if java is None:
        problems.append(
            "a Java runtime is needed by konlpy (Korean POS tagging) and none is on PATH; "
            "install one (Debian/Ubuntu: apt-get install default-jre-headless; conda: openjdk)"
        )
    else:
        try:
            subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            problems.append(f"`{java} -version` failed ({err}); konlpy needs a working Java runtime")
    for problem in problems:
        print(f"prerequisite missing: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
