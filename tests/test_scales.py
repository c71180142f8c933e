"""Scales and keys (studio.music.scales) and the piano roll's scale highlight: the rows of the piece's key or
a chosen scale are shaded, minor modes included, and the notes outside it can be selected."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from apphelpers import scale_piece
from conftest import EXAMPLE_ABC
from studio.music.piece import Piece, make_notes
from studio.music.scales import estimate_key, out_of_scale, piece_key, pitch_classes


def test_scales_and_modes_as_pitch_classes():
    assert pitch_classes("C", "major") == {0, 2, 4, 5, 7, 9, 11}
    assert pitch_classes("A", "minor") == pitch_classes("C", "major")  # relative minor
    assert pitch_classes("A", "harmonic minor") == {9, 11, 0, 2, 4, 5, 8}
    assert pitch_classes("D", "dor") == pitch_classes("C", "ionian")
    assert pitch_classes("F#", "minor") == {6, 8, 9, 11, 1, 2, 4}
    assert pitch_classes("Bb", "mixolydian") == {10, 0, 2, 3, 5, 7, 8}
    from studio.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="unknown scale"):
        pitch_classes("C", "bebop")


def test_estimated_key_agrees_with_the_written_key_and_music21():
    """Tunes of the example book, their written key removed: the estimate mostly has the written key's
    scale, and music21's own key analysis (an independent implementation) mostly agrees with it."""
    import music21

    from studio.music.abc_io import read_abc_tunes, tune_to_piece

    tunes = [tune_to_piece(t) for t in read_abc_tunes(EXAMPLE_ABC)][:8]
    agree = written_agree = 0
    for piece in tunes:
        written = piece.key
        unwritten = piece.copy()
        unwritten.key_signatures = []
        guess = estimate_key(unwritten)
        written_agree += pitch_classes(guess.tonic, guess.mode) == pitch_classes(written.tonic, written.mode)
        stream = music21.stream.Stream()
        for n in unwritten.notes[:200]:
            stream.append(music21.note.Note(int(n["pitch"]), quarterLength=0.5))
        theirs = stream.analyze("key")
        agree += pitch_classes(theirs.tonic.name.replace("-", "b"), theirs.mode) == \
            pitch_classes(guess.tonic, guess.mode)
    assert written_agree >= len(tunes) // 2 and agree >= len(tunes) // 2, (written_agree, agree)
    assert piece_key(tunes[0]) == tunes[0].key  # a written key wins


def test_out_of_scale_mask():
    piece = Piece(notes=make_notes([60, 61, 66, 67], [0, 1, 2, 3], [1, 2, 3, 4]))
    assert out_of_scale(piece, pitch_classes("C", "major")).tolist() == [False, True, True, False]


def test_roll_shades_the_scale_rows_and_selects_out_of_scale_notes(qtbot):
    from studio.app.document import PieceDocument
    from studio.app.pianoroll import PianoRoll
    from studio.app.pianoroll.geometry import ROW_HEIGHT, x_of, y_of

    piece = scale_piece()
    notes = np.concatenate([piece.notes, make_notes([66, 70], [2.0, 3.0], [2.5, 3.5])])  # F#, Bb: not in C
    doc = PieceDocument(piece.with_notes(notes))
    roll = PianoRoll(doc)
    qtbot.addWidget(roll)
    roll.resize(900, 600)
    roll.show()
    view = roll.view
    view.centerOn(QPointF(x_of(0.2), y_of(64)))

    def row_colour(pitch: int) -> str:
        image = view.viewport().grab().toImage()
        point = view.mapFromScene(QPointF(x_of(0.2), y_of(pitch) + ROW_HEIGHT / 2))
        return image.pixelColor(point).name()

    assert view.scale is None and row_colour(62) == "#fafafa" and row_colour(61) == "#e8eaed"
    roll.scale_box.setCurrentIndex(roll.scale_box.findData("piece"))  # no written key: estimated, C major
    assert view.scale == pitch_classes("C", "major") and not roll.mode_box.isEnabled()
    assert row_colour(62) == "#dcefe0" and row_colour(61) == "#e8eaed" and row_colour(72) == "#c3e3ca"  # C, the tonic
    assert roll.select_out_of_scale() == 2
    assert doc.notes["pitch"][doc.selected].tolist() == [66, 70]
    roll.scale_box.setCurrentIndex(roll.scale_box.findData("E"))
    roll.mode_box.setCurrentText("phrygian")  # E phrygian: the white keys again, tonic E
    assert view.scale == pitch_classes("C", "major") and row_colour(64) == "#c3e3ca"
    roll.scale_box.setCurrentIndex(roll.scale_box.findData("D"))
    roll.mode_box.setCurrentText("minor")  # D minor has Bb, not B
    assert roll.select_out_of_scale() == 2  # B (71) from the scale, and F# (66)
    assert sorted(doc.notes["pitch"][doc.selected].tolist()) == [66, 71]
    assert row_colour(70) == "#dcefe0"
    roll.scale_box.setCurrentIndex(0)
    assert view.scale is None and not roll.out_of_scale_action.isEnabled()
