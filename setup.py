"""Packaging that pyproject.toml cannot say alone: one top-level package from three folders.

The repository keeps the folders the design names (``server/`` for the hub, ``themes/`` for the
console's themes), but they install inside the ``warroom`` namespace as ``warroom.hub`` and
``warroom.themes``: nothing called ``server`` or ``themes`` lands in site-packages, where it would
shadow or overwrite an unrelated package of that name. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = {"warroom.hub": "server", "warroom.themes": "themes"}

setup(
    packages=[*find_packages(include=["warroom", "warroom.*"]), *FOLDERS],
    package_dir=FOLDERS,
)
