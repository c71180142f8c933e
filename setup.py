"""Package layout only (metadata is in pyproject.toml).

The repo's top-level data folders `models/`, `corpora/` and `resources/` are installed inside the package
as `studio.models`, `studio.corpora` and `studio.resources`, so the app finds them through
importlib.resources from a wheel and from an editable clone alike.
"""
from setuptools import find_packages, setup

DATA_PACKAGES = {"studio.models": "models", "studio.corpora": "corpora", "studio.resources": "resources"}

setup(
    packages=find_packages(include=["studio", "studio.*"]) + list(DATA_PACKAGES),
    package_dir=DATA_PACKAGES,
)
