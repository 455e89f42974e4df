"""The layering, checked: each layer is imported whole in a clean interpreter, and what it pulled
in is compared with what that layer must never depend on.

A unit test cannot see this (by the time it runs, pytest and the console have imported
everything), so each check starts a fresh ``python`` that imports every module of one layer and
prints ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Layer (a package walked whole) -> modules it must not import, directly or through anything.
CONTRACTS: dict[str, tuple[str, ...]] = {
    "warroom.core": ("textual", "websockets", "sqlite3", "sqlite_utils", "httpx", "asyncio"),
    "warroom.client": ("textual", "warroom.console", "warroom.hub"),
    "warroom.hub": ("textual", "warroom.console"),
    # Headless: the console's export palette lives in warroom.console.export.
    "warroom.export": ("textual", "warroom.console"),
}

_PROBE = """
import importlib, json, pkgutil, sys
layer = sys.argv[1]
package = importlib.import_module(layer)
for info in pkgutil.walk_packages(package.__path__, layer + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(layer: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, layer],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("layer", sorted(CONTRACTS))
def test_layer_imports_nothing_it_must_not(layer: str) -> None:
    modules = imported_by(layer)
    assert layer in modules  # the probe really imported the layer
    found = sorted(
        name
        for name in modules
        for banned in CONTRACTS[layer]
        if name == banned or name.startswith(banned + ".")
    )
    assert not found, f"{layer} imports {', '.join(found)}"


def test_the_probe_sees_a_forbidden_import() -> None:
    """The check itself can fail: the console layer does import Textual."""
    assert "textual" in imported_by("warroom.console")


def test_the_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    """``server/`` and ``themes/`` install as ``warroom.hub`` and ``warroom.themes``: a wheel with
    a top-level ``server`` shadows any ``warroom.hub.py`` beside the user, and ``themes`` overwrote an
    unrelated package of that name on the public index."""
    import zipfile

    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("warroom-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"warroom"}
    assert "warroom/hub/hub.py" in names
    assert "warroom/themes/__init__.py" in names
    assert any(n.startswith("warroom/drill/scenarios/") and n.endswith(".toml") for n in names)


#: Layer -> transports it must not import itself (it may use a client that does).
OWN_IMPORTS: dict[str, tuple[str, ...]] = {
    "warroom.console": ("httpx", "websockets"),
}


def own_imports(path: Path) -> set[str]:
    """Every module a source file names in an import statement, at any depth of the file."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(OWN_IMPORTS))
def test_layer_source_names_no_transport(layer: str) -> None:
    """Screens catch the client's own errors: the client wraps the transport's, so a change of
    HTTP or websocket library stays inside ``warroom.client``."""
    folder = ROOT.joinpath(*layer.split("."))
    files = sorted(folder.rglob("*.py"))
    assert files
    found = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in own_imports(path)
        for banned in OWN_IMPORTS[layer]
        if name == banned or name.startswith(banned + ".")
    )
    assert not found, f"{layer} imports a transport itself: {', '.join(found)}"
