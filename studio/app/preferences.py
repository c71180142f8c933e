"""The window's own choices kept between sessions (which WAV exports are normalised, ...): one small JSON
file, `settings/app.json` under STUDIO_HOME (studio.paths), written atomically on every change.

A missing or damaged file gives the defaults (and a damaged one is said once, in the status bar): a
preference is never worth refusing to start over.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..atomic import write_json
from ..paths import user_dir

FILE_NAME = "app.json"


def preferences_path() -> Path:
    return user_dir("settings") / FILE_NAME


class Preferences:
    """`get(name, default)` and `set(name, value)` (saved at once) over JSON values."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else preferences_path()
        self.problem = ""  # why the saved file could not be read, for the window to say
        self._values: dict = {}
        try:
            values = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(values, dict):
                raise ValueError("not a JSON object")
            self._values = values
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            self.problem = f"{self.path}: could not read the saved preferences ({exc}); using the defaults"

    def get(self, name: str, default):
        value = self._values.get(name, default)
        return value if isinstance(value, type(default)) or default is None else default

    def set(self, name: str, value) -> None:
        if self._values.get(name) == value and self.path.exists():
            return
        self._values[name] = value
        write_json(self.path, self._values)
