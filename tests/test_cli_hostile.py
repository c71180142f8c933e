"""The CLI's contract on hostile files, checked as a user meets it (a real `studio` subprocess): every bad
file gets exactly one line naming the file, the place and the reason, never a traceback; a command that
could do nothing exits with status 2, an import that skipped some files finishes with status 0 and a warning
per file. The files are tests/hostile.py's constructed cases, the same the unit tests and bench/fuzz.py use."""
from __future__ import annotations

from pathlib import Path

from conftest import run_studio
from hostile import TUNE, good_midi, hostile_abc, hostile_midi, hostile_tokens, one_line_error

EVERY_SPECIAL = ("fifo", "dev-zero", "directory", "dangling")


def _assert_one_line_each(proc, cases: dict, status: int) -> None:
    problems = {name: one_line_error(proc.stderr, path, reason) for name, (path, reason) in cases.items()}
    assert {k: v for k, v in problems.items() if v} == {}, proc.stderr
    assert proc.returncode == status, proc.stderr


def test_info_names_every_hostile_file_in_one_line(tmp_path):
    cases = {**{f"midi {k}": v for k, v in hostile_midi(tmp_path / "midi", EVERY_SPECIAL).items()},
             **{f"abc {k}": v for k, v in hostile_abc(tmp_path / "abc", EVERY_SPECIAL).items()}}
    proc = run_studio("info", *(path for path, _ in cases.values()), timeout=120)
    _assert_one_line_each(proc, cases, 2)


def test_encode_refuses_a_few_of_each_kind_in_one_line(tmp_path):
    midi, abc, tokens = hostile_midi(tmp_path / "m"), hostile_abc(tmp_path / "a"), hostile_tokens(tmp_path / "t")
    for codec, cases in [("performance", {k: midi[k] for k in ("time-bomb", "fifo")}),
                         ("folk", {"abc long-note": abc["long-note"], "tokens latin-1": tokens["latin-1"],
                                   "tokens too-large": tokens["too-large"]})]:
        for name, (path, reason) in cases.items():
            proc = run_studio("encode", "--codec", codec, path, timeout=120)
            _assert_one_line_each(proc, {name: (path, reason)}, 2)
            assert proc.stdout == "", name


def test_corpus_add_skips_each_hostile_file_with_one_warning_and_keeps_the_good_ones(tmp_path):
    folk = tmp_path / "folk"
    tokens = hostile_tokens(folk, specials=("fifo",))  # a second link to /dev/zero is the same file: imported once
    cases = {**hostile_abc(folk), **{f"tokens {k}": v for k, v in tokens.items()}}
    (folk / "good.abc").write_text(TUNE)
    proc = run_studio("corpus", "add", "tunes", "--codec", "folk", "--workers", "1", folk, timeout=120)
    _assert_one_line_each(proc, cases, 0)
    assert ", 1 pieces," in proc.stdout, proc.stdout

    midi = hostile_midi(tmp_path / "midi", EVERY_SPECIAL)
    (tmp_path / "good.mid").write_bytes(good_midi())
    named = {k: v for k, v in midi.items() if k != "directory"}  # a folder given is walked (and holds nothing)
    proc = run_studio("corpus", "add", "pieces", "--codec", "performance", "--workers", "1", tmp_path / "good.mid",
                      *(path for path, _ in named.values()), timeout=120)
    _assert_one_line_each(proc, named, 0)
    assert ", 1 pieces," in proc.stdout, proc.stdout


def test_decode_reads_tokens_from_standard_input_within_the_token_file_limit(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = tmp_path / "tune.abc"
    good = subprocess.run([sys.executable, "-m", "studio", "decode", "--codec", "folk", "-", "-o", str(out)],
                          input="M:4/4 K:Cmaj |: C D E F | G A B c :|\n", capture_output=True, text=True,
                          env=env, timeout=120)
    assert good.returncode == 0 and out.exists(), good.stderr
    with open("/dev/zero", "rb") as endless:  # a pipe that never ends is refused, not read into memory
        bad = subprocess.run([sys.executable, "-m", "studio", "decode", "--codec", "folk", "-", "-o", str(out)],
                             stdin=endless, capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "<stdin>" in bad.stderr and "limit" in bad.stderr, bad.stderr
