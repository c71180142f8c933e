"""The limits a file from anywhere must stay within, and the one way user files are read.

Every reader checks what a path really is (a directory, a FIFO, a device such as a symlink to /dev/zero
would otherwise hang or fill memory) and its size before reading a byte, so a hostile file is refused in
bounded time and memory with a message that says what is there. The limits are generous for real music.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UnreadableFile

MAX_MIDI_BYTES = 64 << 20  # the largest real performances are a few MB
MAX_PIECE_SECONDS = 6 * 3600  # a piece read from a file: longer is a damaged or hostile file
MAX_ABC_BYTES = 64 << 20  # whole tune books (O'Neill's 1850 is under 1 MB)
MAX_TUNE_CHARS = 16 << 10  # one ABC tune (the longest of Nottingham's 1,038 is 1.3 KB)
MAX_TUNE_BARS = 400  # bar lines in one tune before repeats are expanded (Nottingham's most: 72)
MAX_ABC_NOTE_LENGTH = 64  # a note's length multiplier (A64 is 64 unit lengths)
MAX_TOKEN_FILE_BYTES = 64 << 20  # folk-rnn token files (folkwiki's 4,083 tunes are 1.6 MB)
MAX_TUNE_TOKENS = 8192  # one tune of a token file (the longest of folkwiki's 4,083 has 820)
MAX_FILE_TUNES = 100_000  # tunes (pieces) in one ABC book, CSV dump or token file: millions of tiny ones are a time bomb
MAX_PROJECT_BYTES = 512 << 20
MAX_CARD_BYTES = 16 << 20  # model.json holds the vocabulary; folk-rnn's is a few KB
MAX_CARD_TEXT = 100_000  # characters of a card's description (or any one string in it) shown or kept
MAX_TOKEN_CHARS = 200  # one vocabulary token
MAX_VOCAB = 1 << 20
MAX_WEIGHTS_BYTES = 8 << 30
MAX_PARAMETERS = 1 << 30  # a model whose architecture asks for more is refused before allocating
MAX_ARCHITECTURE = {"layers": 64, "units": 1 << 16, "embedding": 1 << 16}  # checked before even its shapes


def what_is(path: Path) -> str | None:
    """None for a regular file (following symlinks); otherwise what is there, in words."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing (a symlink to nothing)" if os.path.islink(path) else "missing"
    except OSError as exc:
        return exc.strerror or str(exc)
    link = f"a symlink to {os.readlink(path)}, which is " if os.path.islink(path) else ""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        kind = "a directory, not a file"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO (named pipe), not a file"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device, not a file"
    elif stat.S_ISSOCK(mode):
        kind = "a socket, not a file"
    else:
        kind = "not a regular file"
    return link + kind


def not_a_file(path: str | Path) -> str | None:
    """None for a regular file; otherwise why it cannot be read, as an error says it ("no such file",
    "is a FIFO (named pipe), not a file", ...)."""
    problem = what_is(Path(path))
    if problem == "missing":
        return "no such file"
    return problem if problem is None or problem.startswith("missing") else "is " + problem


def check_file(path: str | Path, max_bytes: int, what: str = "file") -> int:
    """The size of a regular file within `max_bytes`; a clear UnreadableFile for anything else."""
    path = Path(path)
    problem = not_a_file(path)
    if problem:
        raise UnreadableFile(path, None, problem)
    size = path.stat().st_size
    if size > max_bytes:
        raise UnreadableFile(path, None, f"{what} is {_mb(size)}; the limit is {_mb(max_bytes)}")
    return size


def read_bytes(path: str | Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file no larger than `max_bytes` (never more are read, whatever it claims)."""
    path = Path(path)
    check_file(path, max_bytes, what)
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableFile(path, None, exc.strerror or str(exc)) from None
    if len(data) > max_bytes:  # it grew while we looked
        raise UnreadableFile(path, None, f"{what} is larger than the limit of {_mb(max_bytes)}")
    return data


def parse_json(text: str, path: str | Path):
    """json.loads with every failure as an UnreadableFile naming the place (deep nesting included)."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(path, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise UnreadableFile(path, None, "JSON nested too deeply to be ours") from None


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MB" if n >= 1 << 20 else f"{n:,} bytes"
