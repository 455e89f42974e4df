#!/usr/bin/env python3
"""Set up and run warroom from a fresh clone with nothing but Python >= 3.11.

    python3 tasks.py demo    # build .venv, then run a GameDay drill in the console
    python3 tasks.py test    # build .venv, then run the test suite
    python3 tasks.py serve   # build .venv, then run a hub on 127.0.0.1:8765
    python3 tasks.py lint    # ruff check and ruff format --check
    python3 tasks.py typecheck  # mypy, configured in pyproject.toml
    python3 tasks.py ci      # lint, typecheck, then the test suite (what .ci/run does)
    python3 tasks.py schema  # rewrite docs/state.schema.json from the state's models

The virtual environment is rebuilt only when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".warroom-installed"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs under any python3
        sys.exit("warroom needs Python 3.11 or newer.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing warroom and its test tools into .venv ...", flush=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"],
        check=True,
    )
    STAMP.write_text(wanted)


def run(*cmd: str) -> int:
    return subprocess.call([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT)


#: Where ``typecheck`` lays out the package as it installs (``warroom.hub`` from ``server/``,
#: ``warroom.themes`` from ``themes/``) with symbolic links, since mypy reads folders as modules.
TYPECHECK_TREE = ROOT / ".typecheck"
#: The package's folders under their installed names (setup.py's FOLDERS).
MAPPED = {"hub": "server", "themes": "themes"}


def typecheck(*args: str) -> int:
    """mypy over the package under its installed names; paths are shown as in the repository."""
    shutil.rmtree(TYPECHECK_TREE, ignore_errors=True)
    package = TYPECHECK_TREE / "warroom"
    package.mkdir(parents=True)
    for entry in (ROOT / "warroom").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in MAPPED.items():
        (package / name).symlink_to(ROOT / folder)
    mypy = [str(BIN / "python"), "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
    done = subprocess.run(
        [*mypy, *(args or ("-p", "warroom"))],
        cwd=TYPECHECK_TREE,
        capture_output=True,
        text=True,
    )
    out = done.stdout + done.stderr
    for name, folder in MAPPED.items():
        out = out.replace(f"warroom/{name}/", f"{folder}/")
    print(out, end="")
    return done.returncode


def workers(args: list[str]) -> list[str]:
    """Two test processes where there are two cores (pytest-xdist): the suite is mostly real
    hubs and consoles waiting on each other, so two halve its time on CI's 2-core machine.
    Not more, so that timing-sensitive tests keep a core each. ``--dist loadgroup``: the tests
    marked ``xdist_group`` with one name (tests/helpers.py, ONE_AT_A_TIME) run on one worker,
    one after the other. ``-n 0`` (or any ``-n``) in ``args`` wins."""
    if any(a == "-n" or a.startswith("-n") or a.startswith("--numprocesses") for a in args):
        return []
    cores = os.cpu_count() or 1
    return ["-n", "2", "--dist", "loadgroup"] if cores >= 2 else []


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "help"
    rest = argv[1:]
    if task == "demo":
        ensure_venv()
        return run("warroom", "drill", *(rest or ["--speed", "5"]))
    if task == "serve":
        ensure_venv()
        return run("warroom", "serve", *rest)
    if task == "test":
        ensure_venv()
        code = run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers(rest), *rest)
        if code == 5:
            print("pytest collected no tests.")
            return 1
        return code
    if task == "lint":
        ensure_venv()
        return run("ruff", "check", ".") or run("ruff", "format", "--check", ".")
    if task == "typecheck":
        ensure_venv()
        return typecheck(*rest)
    if task == "schema":
        ensure_venv()
        return run(
            "python", "-m", "warroom.core.wire_state", str(ROOT / "docs" / "state.schema.json")
        )
    if task == "ci":
        ensure_venv()
        for step in (["lint"], ["typecheck"], ["test", *rest]):
            print(f"--- tasks.py {step[0]}", flush=True)
            code = main(step)
            if code:
                print(f"--- tasks.py {step[0]} failed (exit {code})", flush=True)
                return code
        return 0
    print(__doc__)
    return 0 if task == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
