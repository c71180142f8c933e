"""The folk codec: folk-rnn v2 tokens, normalisation of real ABC, repairing decoder, faithfulness vs music21."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.codecs import codec_from_config, get_codec
from studio.codecs.folk import piece_to_abc
from studio.codecs.folk.faithful import check_files, check_tune, melody
from studio.codecs.folk.vocab import FOLK_RNN_V2
from studio.errors import UnsupportedContent
from studio.music import Piece
from studio.music.piece import KeySignature, make_notes

# O'Neill's 1850, X:2 "Fare You Well" (first two lines): L:1/16, key D, ties, slurs, a grace note.
FARE_YOU_WELL = """X: 2
T: Fare You Well
M: 2/4
L: 1/16
K:D
f-g | a3-b g3-a | f4 e3-d | d3-c A3-B | c4 d3-e |
d3-c (3(A2G2F2) | G4F2-G2 | A-d3 d3-e | d6 ||
"""
# Ryan's Mammoth Collection, "All the Rage -- Reel": C|, bowings, `\\` continuations, first/second endings.
ALL_THE_RAGE = """X:1
T:All the Rage -- Reel
M:C|
L:1/8
K:G
ud|\\
vkg2vdB kg2dB | vg2vfg afdf | kg2dB kg2dB | .e(gf)(a g2)z2 :|
|:vBcdB cBAG | FGAB {d}c2BA | \\
BcdB cBAG |1 (FA)DF G2d2 :|2 (FA)DF G2z2 |]
"""
# O'Neill's 1850, X:1 "The Enchanted Valley" (first line): G minor, explicit naturals, ties between pitches.
ENCHANTED_VALLEY = """X: 1
T: The Enchanted Valley
M: 2/4
L: 1/16
K:Gm
G3-A (Bcd=e) | f4 (g2dB) | ({d}c3-B) G2-E2 | F4 (D2=E^F) |
"""
# Aird's Airs, X:0023 "The Miners of Wicklow" (first half): a V:1 voice line in the header.
MINERS_OF_WICKLOW = """X:0023
T:The Miners of Wicklow.
M:6/8
L:1/8
V:1 midi program 1 74
K:D
d|F2A A2=c|BGB AFA| BGE      EFG    |AFD DED|
  F2A A2=c|BGB AFA|(B/c/dB) (c/d/ec)|d3  d2:|
"""


@pytest.fixture(scope="module")
def codec():
    return get_codec("folk")


def tokens(codec, abc: str) -> str:
    return codec.format_tokens(codec.encode_abc(abc)).replace("\n", " ")


def skip_reason(codec, abc: str) -> str:
    with pytest.raises(UnsupportedContent) as info:
        codec.encode_abc(abc)
    return info.value.reason


# ---------------------------------------------------------------------------------------------- vocabulary
def test_default_vocabulary_is_folk_rnn_v2_with_our_specials_after(codec):
    assert codec.vocab[:135] == list(FOLK_RNN_V2)
    assert codec.vocab[135:] == ["<pad>", "<s>", "</s>"]
    assert len(FOLK_RNN_V2) + 2 == 137  # folk-rnn's own count includes its <s> and </s>
    assert sum(t.startswith("M:") for t in codec.vocab) == 7
    assert sum(t.startswith("K:") for t in codec.vocab) == 4


def test_extended_vocabulary_keeps_every_old_id(codec):
    wide = get_codec("folk", meters=["M:5/4"], modes=["K:Cphr"])
    assert wide.vocab[: codec.vocab_size] == codec.vocab
    assert wide.vocab[codec.vocab_size:] == ["M:5/4", "K:Cphr"]
    again = codec_from_config(wide.config)
    assert again.vocab == wide.vocab and again.fingerprint() == wide.fingerprint()
    five_four = "X:1\nM:5/4\nL:1/8\nK:D\nD2 F2 A2 d2 f2|\n"
    assert skip_reason(codec, five_four) == "meter 5/4 has no token"
    assert tokens(wide, five_four) == "M:5/4 K:Cmaj C 2 E 2 G 2 c 2 e 2 |"


# ---------------------------------------------------------------------------------------------- normalisation
def test_unit_length_rescaled_to_eighths_and_tonic_moved_to_c(codec):
    # L:1/16 -> halves; D major -> C major (down a tone); ties between one pitch merged, between two
    # pitches (O'Neill's slur-like a3-b) dropped; the (3 tuplet and its slur kept/stripped.
    text = tokens(codec, FARE_YOU_WELL)
    assert text.startswith("M:2/4 K:Cmaj e /2 f /2 | g 3/2 a /2 f 3/2 g /2 | e 2 d 3/2 c /2 |")
    assert "c 3/2 B /2 (3 G F E | F 2 E F |" in text
    assert "{" not in text and "-" not in text and ")" not in text


def test_minor_tune_respelled_against_c_minor(codec):
    # K:Gm -> K:Cmin; =e (raised 6th in G minor) becomes =a in C minor, ^F (leading note) becomes =B.
    text = tokens(codec, ENCHANTED_VALLEY)
    assert text.startswith("M:2/4 K:Cmin c 3/2 d /2 e /2 f /2 g /2 =a /2 | b 2 c' g /2 e /2 |")
    assert text.endswith("B 2 G =A /2 =B /2 |")


def test_cut_time_bowings_continuations_and_endings(codec):
    text = tokens(codec, ALL_THE_RAGE)
    # C| -> M:4/4 (same eight-eighth bar); G -> C up a fourth; u/v/k bowings, .staccato, {grace} gone;
    # the first repeat, which has no start in the book, gets its |:.
    assert text.startswith("M:4/4 K:Cmaj |: g | c' 2 g e c' 2 g e |")
    assert text.endswith("|1 B d G B c 2 g 2 :| |2 B d G B c 2 z 2 |")
    assert ":| |: e f g e" in text


def test_double_colon_and_variant_bracket_rewritten(codec):
    tune = "X:1\nM:6/8\nL:1/8\nK:D\nDFA dAF::ABc d3||[1 ABc d3:|[2 AFD D3|]\n"
    assert tokens(codec, tune) == "M:6/8 K:Cmaj |: C E G c G E :| |: G A B c 3 |1 G A B c 3 :| |2 G E C C 3 |"


def test_first_voice_kept(codec):
    text = tokens(codec, MINERS_OF_WICKLOW + "V:2\nD6|D6|\n")
    assert text.startswith("M:6/8 K:Cmaj |: c | E 2 G G 2 _B | A F A G E G |")
    assert "C 6" not in text


def test_invisible_rest_becomes_rest(codec):
    assert tokens(codec, "X:1\nM:2/4\nL:1/8\nK:G\nGA x2|B4|\n") == "M:2/4 K:Cmaj c d z 2 | e 4 |"


def test_reported_skips(codec):
    assert skip_reason(codec, "X:1\nM:4/4\nL:1/8\nK:G\nGABc d4|\nM:3/4\nd4 A2|\n") == "meter change to 3/4 at bar 2"
    assert skip_reason(codec, "X:1\nM:4/4\nL:1/16\nK:G\nG11 A5|\n") == "duration 11/2 (eighth notes) has no token"
    assert skip_reason(codec, "X:1\nM:4/4\nL:1/8\nK:G\nG4 A4-|A4 B4|\n") == "tie across a bar line"
    assert skip_reason(codec, "X:1\nM:4/4\nL:1/8\nK:G\nG>>A B2 c4|\n") == "broken rhythm >> has no token"
    assert skip_reason(codec, "X:1\nM:4/4\nL:1/8\nK:Gphr\nGABc d4|\n") == "mode phrygian has no token"
    assert skip_reason(codec, "X:1\nM:none\nL:1/4\nK:G\nGABc d4|\n") == "meter 'none' has no token"


def test_tie_across_bar_kept_with_the_tie_token():
    wide = get_codec("folk", wide=True)
    ids = wide.encode_abc("X:1\nM:4/4\nL:1/8\nK:G\nG4 A4-|A4 B4|\n")
    assert wide.format_tokens(ids).endswith("c 4 d 4 - | d 4 e 4 |")
    assert [n["end"] - n["start"] for n in wide.decode(ids).notes] == [1.0, 2.0, 1.0]


# ---------------------------------------------------------------------------------------------- decoding
def test_decode_writes_a_complete_abc_tune_and_matching_notes(codec):
    ids = codec.encode_abc(ALL_THE_RAGE)
    piece = codec.decode(ids, title="Rage")
    abc = piece.meta["abc"]
    assert abc.startswith("X:1\nT:Rage\nM:4/4\nL:1/8\nK:C\n")
    assert piece.warnings == []
    # our own notes agree with music21 reading the written ABC (repeats played out)
    from studio.music.abc_io import AbcTune, tune_to_piece

    ref = tune_to_piece(AbcTune("", "1", 1, abc))
    assert ref.notes["pitch"].tolist() == piece.notes["pitch"].tolist()
    assert np.allclose(ref.notes["start"], piece.notes["start"]) and np.allclose(ref.notes["end"], piece.notes["end"])


def test_render_in_another_key(codec):
    ids = codec.encode_abc("X:1\nM:6/8\nL:1/8\nK:Ador\nEAA ABd|efe dBG|\n")
    assert codec.format_tokens(ids).startswith("M:6/8\nK:Cdor\nG c c c d f |")
    abc = codec.decode_abc(ids, key="A")
    assert "K:Ador\nE A A A B d | e f e d B G |" in abc
    on_c = codec.decode(ids)
    in_a = codec.decode(ids, key="A")
    assert (in_a.notes["pitch"] - on_c.notes["pitch"]).tolist() == [-3] * len(on_c.notes)
    assert in_a.key_signatures[0].tonic == "A" and in_a.key_signatures[0].mode == "dorian"


def test_decode_repairs_broken_token_streams(codec):
    ids = [codec.index[t] for t in "c [ e g d 2 :| >".split()]
    piece = codec.decode(ids)
    joined = " ".join(piece.warnings)
    for expected in ("no meter token", "no key token", "closed an unbalanced chord", "dropped >"):
        assert expected in joined
    assert "|:" in piece.meta["abc"]  # a :| with no start repeats from the start (ABC's rule), written out
    assert melody(piece.meta["abc"])[0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=-3, max_value=145), max_size=60))
def test_any_token_sequence_decodes_to_abc_music21_reads(ids):
    codec = get_codec("folk")
    piece = codec.decode(ids)
    notes, _ = melody(piece.meta["abc"])
    assert notes  # at least one note or rest
    assert piece.meta["abc"].startswith("X:1\n")


# ---------------------------------------------------------------------------------------------- files
def test_thesession_csv_and_folk_rnn_token_file(codec, tmp_path: Path):
    csv_path = tmp_path / "tunes.csv"
    csv_path.write_text(
        "tune_id,setting_id,name,type,meter,mode,abc,date,username,composer\n"
        '1,1,"Cooley\'s",reel,4/4,Eminor,"|:D2|EBBA B2 EB|B2 AB dBAG|FDAD BDAD|FDAD dAFD:|",2001,a,\n'
        '2,2,Odd,jig,5/4,Dmajor,"D2 F2 A2 d2 f2|",2001,b,\n'
        '3,3,Banish,jig,6/8,Gmajor,"GAB [K:D] d3|",2001,c,\n', encoding="utf-8")
    report = codec.encode_file_report(csv_path)
    assert [e.label for e in report.encoded] == [f"{csv_path}:row 1"]
    assert codec.format_tokens(report.encoded[0].ids).startswith("M:4/4\nK:Cmin\n|: B, 2 | C G G F G 2 C G |")
    assert [(s.label, s.reason) for s in report.skipped] == [
        (f"{csv_path}:row 2", "meter 5/4 has no token"),
        (f"{csv_path}:row 3", "key change [K:D] inside a line (readers disagree on it)")]

    tok_path = tmp_path / "data_v2.txt"
    tok_path.write_text("M:6/8\nK:Cmaj\n|: G A B c 3 | d c B c 3 :|\n\n"
                        "M:4/4\nK:Cdor\nc > G E > G A < G F > D |\n\nM:4/4\nK:Cmaj\nc 2 H 4 |\n", encoding="utf-8")
    report = codec.encode_file_report(tok_path)
    assert [e.label for e in report.encoded] == [f"{tok_path}:tune 1", f"{tok_path}:tune 2"]
    assert report.encoded[0].notes == 8
    assert report.skipped[0].label == f"{tok_path}:tune 3" and "'H'" in report.skipped[0].reason
    assert codec.format_tokens(report.encoded[1].ids) == "M:4/4\nK:Cdor\nc > G E > G A < G F > D |"


def test_write_decoded_abc_and_midi(codec, tmp_path: Path):
    ids = codec.encode_abc(FARE_YOU_WELL)
    assert codec.write_decoded(ids, tmp_path / "t.abc") == []
    text = (tmp_path / "t.abc").read_text()
    assert text.splitlines()[:5] == ["X:1", "T:t", "M:2/4", "L:1/8", "K:C"]
    assert all(line.count("|") <= 4 for line in text.splitlines()[5:])
    codec.write_decoded(ids, tmp_path / "t.mid", key="D")
    again = Piece.read(tmp_path / "t.mid")
    assert again.notes["pitch"][:3].tolist() == [78, 79, 81]  # f g a: back in D


def test_piece_from_the_piano_roll_becomes_abc_and_tokens(codec):
    # a bar of D major melody at 120 qpm (an eighth = 0.25 s), slightly off the grid
    starts = [0.0, 0.26, 0.5, 1.01, 1.5]
    ends = [0.25, 0.5, 1.0, 1.5, 2.0]
    piece = Piece(notes=make_notes([62, 64, 66, 69, 74], starts, ends),
                  key_signatures=[KeySignature(0.0, "D", "major")])
    piece.time_signatures = np.array([(0.0, 4, 4)], dtype=piece.time_signatures.dtype)
    abc = piece_to_abc(piece)
    assert "K:D" in abc and "M:4/4" in abc
    assert abc.strip().endswith("D E F2 A2 d2 |")
    assert codec.format_tokens(codec.encode(piece)) == "M:4/4\nK:Cmaj\nC D E 2 G 2 c 2 |"
    # a note outside the key is spelt as a musician would: F natural in G major is =F, not ^E
    piece = Piece(notes=make_notes([67, 65, 66, 67], [0.0, 0.5, 1.0, 1.5], [0.5, 1.0, 1.5, 2.0]),
                  key_signatures=[KeySignature(0.0, "G", "major")])
    assert piece_to_abc(piece).strip().endswith("G2 =F2 ^F2 G2 |")  # the F# after it is marked again


def test_faithfulness_check_on_real_tunes(codec):
    for tune in (FARE_YOU_WELL, ALL_THE_RAGE, ENCHANTED_VALLEY, MINERS_OF_WICKLOW):
        assert check_tune(codec, tune, codec.encode_abc(tune)) is None
    # and it notices a wrong melody
    wrong = codec.encode_abc(FARE_YOU_WELL)
    wrong[5] = codec.index["a"]
    assert check_tune(codec, FARE_YOU_WELL, wrong) is not None


@pytest.mark.slow
def test_oneills_1850_encodes_and_round_trips():
    from music21 import corpus

    paths = [p for p in corpus.getPaths(fileExtensions=["abc"]) if p.parent.name == "oneills1850"]
    results = check_files(get_codec("folk", wide=True), paths, check=True, workers=2)
    encoded = [r for r in results if r.encoded]
    assert len(results) > 1900
    assert len(encoded) / len(results) >= 0.95
    assert [f"{r.label}: {r.reason}" for r in encoded if r.faithful is False] == []
    unchecked = [r for r in encoded if r.faithful is None]  # parts of a tune that changes meter: music21 reads it whole
    assert len(unchecked) / len(encoded) < 0.02


def test_tune_book_labels_and_counts(codec):
    from conftest import EXAMPLE_ABC

    report = codec.encode_file_report(EXAMPLE_ABC)
    assert [e.label for e in report.encoded] == [f"{EXAMPLE_ABC}#X:{n}" for n in (1, 2, 3, 4)]
    assert report.skipped == []
    kesh = report.encoded[0]
    assert (kesh.notes, kesh.seconds) == (92, 24.0)  # 16 bars of 6/8 played once at 120 quarters a minute
    assert codec.format_tokens(kesh.ids).startswith("M:6/8\nK:Cmaj\n|: c d c c d e | d e d d e g |")


def test_unknown_option_is_a_clear_error():
    from studio.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="unknown folk codec options: meter"):
        get_codec("folk", meter="M:2/2")
