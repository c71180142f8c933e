"""One small family of errors for everything a user hands us.

Every error names the file, the place in it and the reason, so the CLI can print one line and the GUI one
message box, and nobody ever sees a traceback for a bad file.
"""
from __future__ import annotations

from pathlib import Path


class StudioError(Exception):
    """Base of all errors that are the input's fault, not ours."""

    def __init__(self, path: str | Path | None, place: str | None, reason: str):
        self.path = str(path) if path is not None else None
        self.place = place
        self.reason = reason
        super().__init__(self.message())

    def message(self) -> str:
        parts = [p for p in (self.path, self.place) if p]
        return (": ".join(parts) + ": " if parts else "") + self.reason


class UnreadableFile(StudioError):
    """The file cannot be read at all (missing, a directory, not the format it claims, damaged)."""


class UnsupportedContent(StudioError):
    """The file reads, but holds something we cannot represent (no key, unsupported feature, ...)."""


class InvalidArgument(StudioError):
    """A setting or option the user gave makes no sense (unknown codec, meter not in a vocabulary, ...)."""

    def __init__(self, reason: str, path: str | Path | None = None, place: str | None = None):
        super().__init__(path, place, reason)


def shown(value, width: int = 40) -> str:
    """A value from a damaged file as an error message quotes it: repr, cut to `width` characters."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."
