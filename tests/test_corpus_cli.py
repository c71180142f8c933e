"""`studio corpus ...`, `studio encode` and `studio decode`, run as a user runs them."""
from __future__ import annotations

import json
import shutil

import numpy as np

from studio.music import Piece, make_notes

from conftest import BROKEN_MIDI, MAESTRO, run_studio


def make_folder(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    for i in range(2):
        rng = np.random.default_rng(i)
        start = np.sort(rng.uniform(0, 10, 50))
        Piece(notes=make_notes(rng.integers(40, 90, 50), start, start + 0.25)).write_midi(folder / f"g{i}.mid")
    for src in MAESTRO[:1] + BROKEN_MIDI:
        shutil.copy(src, folder / src.name)
    (folder / "readme.txt").write_text("hello")
    (folder / "empty.midi").write_bytes(b"")
    return folder


def test_corpus_add_list_show_remove(tmp_path):
    folder = make_folder(tmp_path)
    add = run_studio("corpus", "add", "perf", "--codec", "performance", folder, "--workers", "2")
    assert add.returncode == 0, add.stderr
    assert "files read" in add.stdout and "hours of music" in add.stdout
    assert "readme.txt: not a .mid/.midi file" in add.stderr
    assert "empty.midi" in add.stderr and "empty file" in add.stderr
    assert "warning(s)" in add.stderr

    again = run_studio("corpus", "add", "perf", folder)
    assert again.returncode == 0 and "files from cache" in again.stdout

    listed = run_studio("corpus", "list", "--json")
    (entry,) = json.loads(listed.stdout)
    assert entry["name"] == "perf" and entry["codec"] == "performance" and entry["pieces"] >= 2

    show = run_studio("corpus", "show", "perf")
    assert show.returncode == 0 and "391 tokens" in show.stdout and str(folder.resolve()) in show.stdout

    wrong = run_studio("corpus", "add", "perf", "--codec", "nonsense", folder)
    assert wrong.returncode == 2 and "uses the performance codec" in wrong.stderr

    gone = run_studio("corpus", "remove", "perf")
    assert gone.returncode == 0
    assert "no corpora yet" in run_studio("corpus", "list").stdout
    missing = run_studio("corpus", "show", "perf")
    assert missing.returncode == 2 and "no corpus called 'perf'" in missing.stderr


def test_corpus_builtins_lists_collections():
    out = run_studio("corpus", "builtins")
    assert out.returncode == 0 and "oneills1850" in out.stdout and "irish" in out.stdout


def test_encode_then_decode_round_trip(tmp_path):
    notes = make_notes([60, 64, 67], [0.0, 0.5, 1.0], [0.4, 0.9, 2.0], velocity=[100, 80, 60])
    Piece(notes=notes).write_midi(tmp_path / "in.mid")
    names = run_studio("encode", "--codec", "performance", tmp_path / "in.mid")
    assert names.returncode == 0, names.stderr
    assert names.stdout.startswith("VELOCITY_25 NOTE_ON_60 TIME_SHIFT_40 NOTE_OFF_60")
    ids = run_studio("encode", "--codec", "performance", "--ids", tmp_path / "in.mid")
    assert ids.stdout.split()[:2] == ["380", "60"]
    # Two pieces in one token file (names, then ids), separated by a blank line.
    (tmp_path / "tokens.txt").write_text(names.stdout + "\n" + ids.stdout)
    dec = run_studio("decode", "--codec", "performance", tmp_path / "tokens.txt", "-o", tmp_path / "out.mid")
    assert dec.returncode == 0, dec.stderr
    for k in (1, 2):
        back = Piece.read(tmp_path / f"out-{k}.mid")
        assert back.notes["pitch"].tolist() == [60, 64, 67]
        assert np.allclose(back.notes["start"], notes["start"], atol=0.006)


def test_encode_and_decode_errors(tmp_path):
    (tmp_path / "bad.mid").write_text("no")
    bad = run_studio("encode", "--codec", "performance", tmp_path / "bad.mid")
    assert bad.returncode == 2 and "bad.mid" in bad.stderr and "not a MIDI file" in bad.stderr
    (tmp_path / "t.txt").write_text("NOTE_ON_60 BANANA")
    unknown = run_studio("decode", "--codec", "performance", tmp_path / "t.txt", "-o", tmp_path / "o.mid")
    assert unknown.returncode == 2 and "BANANA" in unknown.stderr and "token 2" in unknown.stderr
    nocodec = run_studio("encode", "--codec", "klingon", tmp_path / "bad.mid")
    assert nocodec.returncode == 2 and "unknown codec" in nocodec.stderr
    # Nonsense that is all valid ids still decodes to a valid (here: empty) piece.
    (tmp_path / "odd.txt").write_text("NOTE_OFF_60 <s> 999 NOTE_ON_61")
    odd = run_studio("decode", "--codec", "performance", tmp_path / "odd.txt", "-o", tmp_path / "odd.mid")
    assert odd.returncode == 0 and (tmp_path / "odd.mid").exists()


def test_codec_options_from_the_command_line(tmp_path):
    from conftest import EXAMPLE_ABC

    r = run_studio("corpus", "add", "tunes", "--codec", "folk", "-O", "wide=true", EXAMPLE_ABC)
    assert r.returncode == 0, r.stderr
    shown = json.loads(run_studio("corpus", "show", "tunes", "--json").stdout)
    assert "-" in shown["codec"]["vocab"] and len(shown["codec"]["vocab"]) > 138  # the wide vocabulary (tie token)
    r = run_studio("encode", "--codec", "performance", "-O", "bogus=1", EXAMPLE_ABC)
    assert r.returncode == 2 and "bogus" in r.stderr and "Traceback" not in r.stderr
    r = run_studio("encode", "--codec", "folk", "-O", "wide", EXAMPLE_ABC)
    assert r.returncode == 2 and "KEY=VALUE" in r.stderr
