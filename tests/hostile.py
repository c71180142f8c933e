"""Hostile files, built byte by byte: the one place the hostile-input tests (tests/test_hostile_files.py,
tests/test_cli_hostile.py) and the fuzz campaign (bench/fuzz.py) get them from.

Two kinds: constructed cases (`hostile_midi`, `hostile_abc`, `hostile_tokens`: a file per way a reader went
wrong before, with the words its error must contain) and seeded mutators (`mutate_midi`, `mutate_abc`,
`mutate_project`, `random_ids`) that turn a good file into thousands of bad ones. It lives beside the tests,
not in the `studio` package, because only tests and benches use it; bench/fuzz.py puts tests/ on sys.path.
"""
from __future__ import annotations

import base64
import json
import os
import random
import struct
from pathlib import Path

NOTE = [(0, b"\x90\x3c\x40"), (1, b"\x80\x3c\x00")]  # middle C for one tick
HUGE = 0x0FFFFFFF  # the largest delta-time a MIDI file can hold
TUNE = "X:1\nT:Fine\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|]\n"


# ------------------------------------------------------------------ bytes and special files
def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def track_starts(data: bytes) -> list[int]:
    out, pos = [], 14
    while pos + 8 <= len(data) and data[pos:pos + 4] == b"MTrk":
        out.append(pos)
        pos += 8 + struct.unpack(">I", data[pos + 4:pos + 8])[0]
    return out


def midi_bytes(tpq: int, events: list[tuple[int, bytes]]) -> bytes:
    """A one-track type-0 MIDI file of (delta-time, event bytes), ended properly."""
    body = b"".join(vlq(d) + e for d, e in events) + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(body)) + body


def special(path: Path, kind: str) -> Path:
    """Something that is not a regular file where a file is expected: fifo, directory, dev-zero, dangling."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.symlink_to(path.parent / "nowhere")
    return path


SPECIAL_REASONS = {"fifo": "is a FIFO (named pipe), not a file", "directory": "is a directory, not a file",
                   "dev-zero": "is a symlink to /dev/zero, which is a device, not a file",
                   "dangling": "missing (a symlink to nothing)"}


def _cases(folder: Path, suffix: str, files: dict[str, tuple[bytes, str]], specials=("fifo", "dev-zero")) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (data, reason) in files.items():
        (folder / f"{name}{suffix}").write_bytes(data)
        out[name] = (folder / f"{name}{suffix}", reason)
    for kind in specials:
        out[kind] = (special(folder / f"{kind}{suffix}", kind), SPECIAL_REASONS[kind])
    return out


# ------------------------------------------------------------------ constructed cases: {name: (path, reason)}
def hostile_midi(folder: Path, specials=("fifo", "dev-zero")) -> dict[str, tuple[Path, str]]:
    """MIDI files every reader must refuse quickly, each with the words its error must contain."""
    on_off = [(HUGE, b"\x90\x3e\x40"), (1, b"\x80\x3e\x00")]
    return _cases(folder, ".mid", {
        "time-bomb": (midi_bytes(1, NOTE + on_off * 2), "hours long; the limit is 6 hours"),  # 74,000 hours
        "tick-overflow": (midi_bytes(480, NOTE + on_off * 9), "event times run past 2^31 ticks"),
        "not-midi": (b"RIFF\x00\x00\x00\x04WAVE", "not a MIDI file"),
        "cut-header": (b"MThd\x00\x00\x00", "truncated header"),
        "zero-division": (midi_bytes(0, NOTE), "0 ticks per quarter note"),
        "empty": (b"", "empty file"),
    }, specials)


def hostile_abc(folder: Path, specials=("fifo", "dev-zero")) -> dict[str, tuple[Path, str]]:
    """ABC files (one tune each) refused before music21 or the folk lexer sees them."""
    tune = "X:1\nT:{}\nM:4/4\nL:1/8\nK:G\n{}\n"
    return _cases(folder, ".abc", {
        "long-note": (tune.format("One long note", "GABc A99999 | d2 B2 |]").encode(),
                      "note 'A99999' is 99,999 unit lengths long; the limit is 64"),
        "many-bars": (tune.format("Repeated body", "|: GABc dedB | dedB dedB :|\n" * 200).encode(),
                      "bar lines; the limit is 400"),
        "run-on": (tune.format("Run-on", "GABc dedB " * 2000).encode(), "characters long; the limit is 16,384"),
        "tiny-unit": (tune.format("Tiny unit", "GABc dedB|]").replace("L:1/8", "L:1/99999").encode(),
                      "unit note length L:1/99999"),
        "binary": (b"\x00\x01\x02X:1\x00" * 10, "binary data, not ABC text"),
        "empty": (b"", "empty file"),
    }, specials)


def hostile_tokens(folder: Path, specials=("fifo", "dev-zero")) -> dict[str, tuple[Path, str]]:
    """folk-rnn token files beyond the limits of `studio.limits` (the too-large one is sparse: no disk used)."""
    from studio.limits import MAX_TOKEN_FILE_BYTES, MAX_TUNE_TOKENS

    cases = _cases(folder, ".tokens", {
        "latin-1": ("M:4/4 K:Cmaj |: c d e f | g a b c' :| caf\xe9\n".encode("latin-1"), "byte 41: not UTF-8 text"),
        "run-on": (("M:4/4 K:Cmaj " + "c d e f | " * (MAX_TUNE_TOKENS // 5 + 1)).encode(),
                   f"tokens long; the limit is {MAX_TUNE_TOKENS:,} tokens"),
        "too-large": (b"", "token file is 65.0 MB; the limit is 64.0 MB"),
    }, specials)
    with open(cases["too-large"][0], "wb") as f:
        f.truncate(MAX_TOKEN_FILE_BYTES + (1 << 20))
    return cases


# ------------------------------------------------------------------ seeded mutators (the fuzz campaign)
def mutate_midi(data: bytes, rng: random.Random) -> bytes:
    """One of the mutations that broke readers: bit flips, cuts, tiny divisions with huge delta-times, zero
    tempos, garbage, chunk lengths that lie."""
    b = bytearray(data)
    kind = rng.randrange(9)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 20)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # cut short
        b = b[: rng.randrange(14, len(b))]
    elif kind == 2:  # 1 tick per quarter and the largest delta-times inserted at event starts
        b[12:14] = struct.pack(">H", rng.choice([1, 2, 3]))
        tracks = track_starts(bytes(b))
        if tracks:
            t = rng.choice(tracks)
            body = b[t + 8:]
            b = b[: t + 8] + vlq(0x0FFFFFFF) + b"\x90\x3c\x40" + vlq(0x0FFFFFFF) + b"\x80\x3c\x00" + body
            b[t + 4:t + 8] = struct.pack(">I", struct.unpack(">I", bytes(b[t + 4:t + 8]))[0] + 10)
    elif kind == 3:  # a tempo of 0 (or 1) microseconds per quarter at the start of the first track
        tracks = track_starts(bytes(b))
        if tracks:
            t = tracks[0]
            ev = b"\x00\xff\x51\x03" + bytes(3 if rng.random() < 0.7 else [0, 0, 1])
            b = b[: t + 8] + ev + b[t + 8:]
            b[t + 4:t + 8] = struct.pack(">I", struct.unpack(">I", bytes(b[t + 4:t + 8]))[0] + len(ev))
    elif kind == 4:  # random bytes overwritten
        i = rng.randrange(len(b))
        b[i:i + 16] = bytes(rng.randrange(256) for _ in range(16))
    elif kind == 5:  # a chunk length that lies
        tracks = track_starts(bytes(b))
        if tracks:
            t = rng.choice(tracks)
            b[t + 4:t + 8] = struct.pack(">I", rng.choice([0, 1, 0xFFFFFFFF, rng.randrange(1 << 32)]))
    elif kind == 6:  # header fields
        b[8:14] = struct.pack(">HHH", rng.randrange(4), rng.randrange(65536), rng.randrange(65536))
    elif kind == 7:  # huge delta-times everywhere (many notes far apart)
        tracks = track_starts(bytes(b))
        if tracks:
            t = rng.choice(tracks)
            ev = (vlq(rng.randrange(1 << 20, 0x0FFFFFFF)) + b"\x90\x40\x50" + vlq(1) + b"\x80\x40\x00") * rng.randint(2, 40)
            b = b[: t + 8] + ev + b[t + 8:]
            b[t + 4:t + 8] = struct.pack(">I", struct.unpack(">I", bytes(b[t + 4:t + 8]))[0] + len(ev))
    else:  # duplicated tail
        i = rng.randrange(14, len(b))
        b = b + b[i:] * rng.randint(1, 4)
    return bytes(b)


def mutate_abc(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    body = [i for i, line in enumerate(lines) if not (len(line) > 1 and line[1] == ":")] or [len(lines) - 1]
    kind = rng.randrange(8)
    if kind == 0:  # the tune body repeated many times
        return "\n".join(lines + [lines[i] for i in body] * rng.randint(50, 4000)) + "\n"
    if kind == 1:  # an absurd note length
        i = rng.choice(body)
        lines[i] = lines[i] + f" A{rng.choice([999, 9999, 99999, 10 ** 8])} |"
    elif kind == 2:  # characters flipped
        chars = list(text)
        for _ in range(rng.randint(1, 12)):
            chars[rng.randrange(len(chars))] = rng.choice("|:[]()/<>^_=,'0123456789ABCxz!\"%{}-~.&")
        return "".join(chars)
    elif kind == 3:  # a header field damaged
        head = [i for i in range(len(lines)) if i not in body] or [0]
        i = rng.choice(head)
        lines[i] = lines[i][:2] + rng.choice(["", "99999/1", "1/99999", "0", "C|/", "1/4=0", "1/4=99999999", "Hxyz"])
    elif kind == 4:  # cut short
        return text[: rng.randrange(1, len(text))]
    elif kind == 5:  # huge tuplets and many voices
        i = rng.choice(body)
        lines[i] = f"({rng.randint(2, 999)}" + lines[i] + " V:" + str(rng.randint(1, 99))
    elif kind == 6:  # deeply nested repeats/chords
        i = rng.choice(body)
        lines[i] = "[" * rng.randint(10, 2000) + lines[i] + "|:" * rng.randint(1, 500)
    else:  # unit length tiny or huge
        lines.insert(1, f"L:1/{rng.choice([1, 64, 512, 99999])}")
    return "\n".join(lines) + "\n"


def mutate_project(text: str, rng: random.Random) -> str:
    doc = json.loads(text)
    kind = rng.randrange(9)
    if kind == 0:
        return text[: rng.randrange(len(text))]
    if kind == 1:
        return "[" * rng.randint(1000, 200_000) + "]" * rng.randint(0, 10)
    if kind == 2:
        doc[rng.choice(["version", "current", "pieces", "format"])] = rng.choice(
            ["1", None, 1.5, 10 ** 400, -1, [], {}, "x" * 1000, True])
    elif kind == 3:
        p = rng.choice(doc["pieces"])["piece"]
        p[rng.choice(["notes", "pedals", "tempos", "time_signatures"])] = rng.choice(
            ["", "AAAA", base64.b64encode(b"\x93NUMPY\x01\x00").decode(), 5, None, ["x"]])
    elif kind == 4:
        p = rng.choice(doc["pieces"])
        p[rng.choice(["piece", "path", "provenance", "view"])] = rng.choice([None, 5, "x", [], {"a": 1}])
    elif kind == 5:
        p = rng.choice(doc["pieces"])["piece"]
        p[rng.choice(["key_signatures", "meta", "title", "track_names", "warnings"])] = rng.choice(
            [5, "x", [{"bad": 1}], [[1, 2]], None, {"x": [[[]]]}])
    elif kind == 6:
        chars = list(text)
        for _ in range(rng.randint(1, 30)):
            chars[rng.randrange(len(chars))] = rng.choice('{}[]":,0123456789aA=+/')
        return "".join(chars)
    elif kind == 7:
        b = bytearray(text.encode())
        i = rng.randrange(len(b))
        b[i:i + 8] = bytes(rng.randrange(256) for _ in range(8))
        return b.decode("latin-1")
    else:
        doc["pieces"] = doc["pieces"] * rng.randint(2, 50)
    return json.dumps(doc)


def random_ids(rng: random.Random, size: int):
    """What a caller might hand decode: ids in and out of range, floats, 2-D arrays, strings, None."""
    import numpy as np

    n = rng.randint(0, 400)
    kind = rng.randrange(6)
    ids = [rng.randrange(-3, size + 3) for _ in range(n)]
    if kind == 0:
        return ids
    if kind == 1:
        return np.asarray(ids, dtype=np.float64) + rng.choice([0.0, 0.5])
    if kind == 2:
        return np.asarray(ids[: n - n % 4] or [0], dtype=np.int64).reshape(-1, 1 if n < 4 else 4)
    if kind == 3:
        return [str(x) if rng.random() < 0.3 else x for x in ids]
    if kind == 4:
        return [rng.choice([None, float("nan"), float("inf"), 2 ** 70, [1, 2], "x", x]) for x in ids]
    return (x for x in ids)


def good_midi() -> bytes:
    """A short, sound melody: what the hostile ones are mixed with."""
    return midi_bytes(480, [(0, b"\xff\x51\x03\x07\xa1\x20")] + [
        ev for k in range(8) for ev in ((0, bytes([0x90, 60 + k, 0x40])), (240, bytes([0x80, 60 + k, 0])))])


# ------------------------------------------------------------------ the CLI's answer to a bad file
def one_line_error(stderr: str, path: str | Path, reason: str = "") -> str | None:
    """What is wrong with the CLI's answer to the bad file `path` (None if nothing): it must be exactly one
    `error: PATH: ...` or `warning: PATH: ...` line naming the file and containing `reason`, and no
    traceback anywhere in stderr."""
    if "Traceback" in stderr:
        return "a traceback: " + stderr[-400:]
    lines = [x for x in stderr.replace("\r", "\n").splitlines() if str(path) in x]
    if len(lines) != 1:
        return f"{len(lines)} lines name {path}: {lines[:3]}"
    if not lines[0].startswith((f"error: {path}", f"warning: {path}")) or reason not in lines[0]:
        return f"expected 'error: {path}...{reason}', got {lines[0]!r}"
    return None


# ------------------------------------------------------------------ processes
def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().split(") ")[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False
