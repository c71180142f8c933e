"""Which SoundFont the built-in synth uses: pretty_midi's bundled General MIDI set unless the user picks one."""
from __future__ import annotations

from pathlib import Path

from ..errors import InvalidArgument, UnreadableFile


def default_soundfont() -> Path:
    """pretty_midi ships TimGM6mb.sf2 (a small General MIDI set), so every install has a sound."""
    import pretty_midi

    return Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")


def load_soundfont(path: str | Path | None = None) -> bytes:
    """The bytes of a SoundFont 2 file, checked to be one (RIFF 'sfbk'), so a wrong file fails here, clearly."""
    path = Path(path) if path is not None else default_soundfont()
    if path.suffix.lower() != ".sf2":
        raise InvalidArgument("a SoundFont must be an .sf2 file", path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(path, None, exc.strerror or str(exc)) from exc
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise UnreadableFile(path, "header", "not a SoundFont 2 file (no RIFF 'sfbk' header)")
    return data
