"""Where things live: user data under one folder (STUDIO_HOME), shipped data through package resources.

User data (imported corpora, trained models, settings, autosaves) goes under `studio_home()`: the
platform's user-data folder, or `$STUDIO_HOME` when set (tests and scripts set it). Shipped data (the
repo's top-level `models/`, `corpora/` and `resources/`) is installed as the packages `studio.models`,
`studio.corpora` and `studio.resources`, so it is found the same way from a clone and from a wheel.
"""
from __future__ import annotations

import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import platformdirs

APP_NAME = "studio"


def studio_home() -> Path:
    env = os.environ.get("STUDIO_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def user_dir(name: str) -> Path:
    """A named folder under STUDIO_HOME (`corpora`, `models`, `settings`, `autosave`, ...), created on use."""
    d = studio_home() / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def shipped(kind: str) -> Traversable:
    """The shipped `models`, `corpora` or `resources` folder, as an importlib Traversable.

    Installed (wheel or editable), it is the package `studio.<kind>`. Run straight from a source tree
    with no install, or in an editable install whose finder cannot map sub-packages, the import fails
    and the folder beside the `studio` package is the same files.
    """
    if kind not in ("models", "corpora", "resources"):
        raise ValueError(f"unknown shipped folder {kind!r}")
    try:
        return resources.files(f"studio.{kind}")
    except ModuleNotFoundError:
        beside = Path(__file__).resolve().parent.parent / kind
        if not (beside / "__init__.py").exists():
            raise
        return beside  # a pathlib.Path is a Traversable


def shipped_path(kind: str, *parts: str) -> Path:
    """A real filesystem path to a shipped file (wheels and clones both install unzipped)."""
    node = shipped(kind)
    for p in parts:
        node = node / p
    return Path(str(node))


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (files named after the process that wrote them are stale
    once it is gone)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
