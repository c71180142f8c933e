"""Bad files give one clear line (file, place, reason) and exit status 2 — never a traceback."""
import os

import pytest

from conftest import BROKEN_MIDI, needs_broken, run_studio
from studio.errors import StudioError, UnreadableFile, UnsupportedContent
from studio.music import Piece


def bad_inputs(tmp_path):
    rng = os.urandom(2048)
    files = {
        "random.mid": rng,
        "zero.mid": b"",
        "header.mid": b"MThd\x00\x00\x00\x06\x00\x01",
        "nokey.abc": b"X:1\nT:No key\nM:4/4\nL:1/8\nABcd efga|\n",
        "binary.abc": b"\x00\x01\x02garbage",
        "notes.txt": b"hello",
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    (tmp_path / "folder.mid").mkdir()
    paths["folder.mid"] = tmp_path / "folder.mid"
    return paths


def test_generated_bad_inputs_raise_clear_errors(tmp_path):
    paths = bad_inputs(tmp_path)
    expectations = {
        "random.mid": (UnreadableFile, "byte 0", "not a MIDI file"),
        "zero.mid": (UnreadableFile, "byte 0", "empty"),
        "header.mid": (UnreadableFile, "byte 10", "truncated header"),
        "nokey.abc": (UnsupportedContent, "tune X:1, line 1", "no K: field"),
        "binary.abc": (UnreadableFile, "byte 0", "binary"),
        "notes.txt": (UnsupportedContent, None, "unknown file type"),
        "folder.mid": (UnreadableFile, None, "directory"),
    }
    for name, (cls, place, reason) in expectations.items():
        with pytest.raises(cls) as info:
            Piece.read(paths[name])
        err = info.value
        assert err.path == str(paths[name])
        assert err.place == place, name
        assert reason in err.reason, name


@needs_broken
def test_shared_broken_files():
    by_name = {p.name: p for p in BROKEN_MIDI}
    with pytest.raises(UnreadableFile) as info:
        Piece.read(by_name["ValueError_Control168.mid"])
    assert info.value.place == "track 3, byte 6042"
    assert "168" in info.value.reason and "out of range" in info.value.reason
    assert len(Piece.read(by_name["RunTimeError_unexpected_EOF.mid"]).notes) == 6085
    assert len(Piece.read(by_name["empty.mid"]).notes) == 0


def test_cli_prints_one_line_and_exits_2(tmp_path):
    paths = bad_inputs(tmp_path)
    targets = list(paths.values()) + list(BROKEN_MIDI[:1])
    for path in targets:
        if path.name == "RunTimeError_unexpected_EOF.mid" or path.name == "empty.mid":
            continue
        for command in (["info"], ["info", "--json"], ["convert"]):
            args = command + [path] + ([tmp_path / "out.mid"] if command == ["convert"] else [])
            r = run_studio(*args)
            assert r.returncode == 2, (path, r.stderr)
            assert "Traceback" not in r.stderr
            lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
            assert len(lines) == 1 and str(path) in lines[0], r.stderr


def test_errors_are_one_family():
    assert issubclass(UnreadableFile, StudioError) and issubclass(UnsupportedContent, StudioError)
    e = UnreadableFile("a.mid", "track 2, byte 10", "data byte 200 is out of range 0..127")
    assert e.message() == "a.mid: track 2, byte 10: data byte 200 is out of range 0..127"
