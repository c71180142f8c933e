"""ABC tunes and books through music21: titles, meter, key, repeats expanded, errors with tune and line."""
from concurrent.futures import ProcessPoolExecutor

import pytest

from conftest import EXAMPLE_ABC
from studio.errors import UnsupportedContent
from studio.music import Piece
from studio.music.abc_io import read_abc_lenient, read_abc_tunes, tune_meters


def test_book_reads_every_tune_with_title_meter_key():
    pieces = Piece.read_all(EXAMPLE_ABC)
    assert [p.title for p in pieces] == ["The Kesh", "The Silver Spear", "Si Bheag, Si Mhor", "Drowsy Maggie"]
    assert [(int(p.time_signatures[0]["numerator"]), int(p.time_signatures[0]["denominator"])) for p in pieces] == [(6, 8), (4, 4), (3, 4), (4, 4)]
    assert [str(p.key) for p in pieces] == ["G major", "D major", "D major", "E dorian"]
    assert [p.meta["tune_number"] for p in pieces] == ["1", "2", "3", "4"]


def test_repeats_are_expanded_for_playback():
    kesh = Piece.read_all(EXAMPLE_ABC)[0]
    # Two 8-bar parts, each played twice: 32 bars of 6/8 = 32 * 3 quarter beats.
    assert kesh.seconds_to_beats(kesh.duration) == pytest.approx(32 * 3)
    assert len(kesh.notes) == 2 * 46 + 2 * 46  # every note of each part, twice (46 notes in each part)


def test_first_and_second_endings_play_in_order():
    maggie = Piece.read_all(EXAMPLE_ABC)[3]
    # A part: 3 bars + ending 1, then the 3 bars again + ending 2; B part (4 bars) twice: 16 bars of 4/4.
    assert maggie.seconds_to_beats(maggie.duration) == pytest.approx(64)
    ending1 = [71, 69, 71, 73, 74, 69, 66, 62]  # B A B c d A F D
    ending2 = [71, 69, 71, 73, 74, 69, 66, 69]  # B A B c d A F A
    pitches = maggie.notes["pitch"].tolist()
    i1 = [i for i in range(len(pitches)) if pitches[i:i + 8] == ending1][0]
    i2 = [i for i in range(len(pitches)) if pitches[i:i + 8] == ending2][0]
    assert i1 < i2


def test_unit_length_and_tempo(tmp_path):
    f = tmp_path / "t.abc"
    f.write_text("X:7\nT:Q test\nM:2/4\nL:1/16\nQ:1/4=60\nK:Am\nA4 B4|c8|]\n")
    p = Piece.read(f)
    assert p.notes["pitch"].tolist() == [69, 71, 72]
    assert p.notes["start"].tolist() == [0.0, 1.0, 2.0]  # 1/16 * 4 = a quarter = 1 s at 60 qpm
    assert p.notes["end"].tolist() == [1.0, 2.0, 4.0]
    assert str(p.key) == "A minor"


def test_ties_between_same_pitches_merge_and_different_pitches_do_not(tmp_path):
    f = tmp_path / "t.abc"
    f.write_text("X:1\nT:ties\nM:4/4\nL:1/8\nK:C\nc4- c2 d2 | G3-A B4 |]\n")
    p = Piece.read(f)
    assert p.notes["pitch"].tolist() == [72, 74, 67, 69, 71]
    assert p.notes["end"].tolist()[0] == pytest.approx(1.5)


def test_parse_error_names_tune_number_and_line(tmp_path):
    f = tmp_path / "book.abc"
    f.write_text(EXAMPLE_ABC.read_text() + "\nX:99\nT:Broken\nM:4/4\nL:1/8\nABcd|\n")
    pieces, errors = read_abc_lenient(f)
    assert len(pieces) == 4 and len(errors) == 1
    line = len(EXAMPLE_ABC.read_text().splitlines()) + 2
    assert errors[0].place == f"tune X:99, line {line}" and "no K: field" in errors[0].reason
    with pytest.raises(UnsupportedContent):
        Piece.read_all(f)


def test_meter_fields():
    assert tune_meters("X:1\nM:C|\nK:D\n") == [(2, 2)]
    assert tune_meters("M:6/8\nK:G\nabc [M:3/4] def") == [(6, 8), (3, 4)]
    assert tune_meters("M:(2+3)/8\n") == [(5, 8)]


def _read_file(path):
    """Every tune of a book, as written: whether a tune parses does not depend on its repeats, which are
    expanded after parsing and whose failures become warnings (expansion has tests of its own)."""
    pieces, errors = read_abc_lenient(path, expand_repeats=False)
    return len(pieces), [p for p in pieces if len(p.notes) == 0], [e.message() for e in errors]


@pytest.mark.slow
def test_every_oneills_1850_tune_parses_or_fails_clearly():
    import music21

    paths = sorted(str(p) for p in music21.corpus.getPaths(fileExtensions=["abc"]) if "/oneills1850/" in str(p))
    assert len(paths) == 39
    assert sum(len(read_abc_tunes(p)) for p in paths) == 2009
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(_read_file, paths))
    parsed = sum(r[0] for r in results)
    empty = sum(len(r[1]) for r in results)
    errors = [e for r in results for e in r[2]]
    assert all(": tune X:" in e for e in errors)  # every failure names its tune and line
    assert (parsed, len(errors), empty) == (2009, 0, 0)
