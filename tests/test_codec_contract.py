"""Every registered codec goes through the same path a user takes: import a real file, encode and decode it
back, train a tiny model a few steps, sample, evaluate the samples, and open the decoded piece in the piano
roll (a bar ruler for codecs that count bars, which also export MusicXML in whole measures). Nothing here
names a codec: what differs is asked of the codec (`reads`, `unit`, `rules().settings`).

And the seam itself: no module outside `studio/codecs/` decides anything by a codec's name."""
from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLE_ABC, REPO
from studio.codecs import CODECS, get_codec

# The codecs Studio ships (tests may register helpers of their own, e.g. train_helpers' counting codec).
SHIPPED = [name for name, where in CODECS.items() if where.startswith("studio.codecs.")]


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> list[Path]:
    """Real files a user imports: the example ABC book, and its first tune as a MIDI file."""
    from studio.music.io import read_pieces

    folder = tmp_path_factory.mktemp("sources")
    read_pieces(EXAMPLE_ABC)[0].write_midi(folder / "tune.mid")
    return [EXAMPLE_ABC, folder / "tune.mid"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_codec_imports_trains_samples_evaluates_and_shows_in_the_roll(name, sources, tmp_path, qtbot):
    from studio.app.document import PieceDocument
    from studio.app.pianoroll import PianoRoll
    from studio.corpus.store import write_corpus
    from studio.generation import Settings, generate
    from studio.generation.evaluate import evaluate_samples
    from studio.generation.output import write_candidates
    from studio.nn import load_model
    from studio.training import Trainer, make_config

    codec = get_codec(name)
    source = next(s for s in sources if codec.reads(str(s)))
    report = codec.encode_file_report(source)
    assert report.encoded, report.skipped
    ids = report.encoded[0].ids
    piece = codec.decode(ids)
    assert len(piece.notes) >= report.encoded[0].notes > 0  # (repeats play twice)
    assert np.array_equal(codec.encode(piece), ids)  # decode then encode gives the same tokens

    corpus = write_corpus(f"contract-{name}", codec, [e.ids for e in report.encoded] * 4,
                          split={"method": "hash", "valid": 0.0, "test": 0.0})
    config = make_config("small", layers=1, units=16, embedding=8, batch_size=4, steps=2, warmup_steps=1,
                         eval_every=2, log_every=1, checkpoint_every=2, device="cpu", seed=1, seq_len=32)
    Trainer(tmp_path / "model", config, corpus).run()
    model = load_model(tmp_path / "model")

    takes = codec.rules().settings
    length = {"bars": 2} if "bars" in takes else {"seconds": 2.0} if "seconds" in takes else {}
    settings = Settings(seed=3, max_tokens=80, **length)
    candidates = generate(model, 2, settings)
    assert len(candidates) == 2 and all(len(c.tokens) for c in candidates)
    record = write_candidates(tmp_path / "out", candidates, settings, tmp_path / "model", codec, "contract")
    for row in record["candidates"]:
        assert any(f.endswith(".mid") for f in row["files"]) and all((tmp_path / "out" / f).is_file() for f in row["files"])
    evaluation = evaluate_samples(tmp_path / "out")
    assert evaluation["codec"] == codec.name and evaluation["candidates"] == 2
    assert len(evaluation) > 4  # the codec's own figures follow the header

    roll = PianoRoll(PieceDocument(piece))
    qtbot.addWidget(roll)
    roll.resize(800, 400)
    roll.show()
    qtbot.waitExposed(roll)
    assert len(roll.view.doc.piece.notes) == len(piece.notes)
    assert roll.view.doc.is_metered == (codec.unit == "bars")  # bars and beats in the ruler, or seconds

    if codec.unit == "bars":
        import music21

        out = tmp_path / "piece.musicxml"
        codec.write_decoded(ids, out)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = music21.converter.parse(str(out))
        measures = list(score.parts[0].getElementsByClass(music21.stream.Measure))
        assert len(measures) >= 4
        whole = [m for m in measures[1:-1] if m.duration.quarterLength == m.barDuration.quarterLength]
        assert len(whole) >= 0.8 * len(measures[1:-1])


# ---------------------------------------------------------------------------------------------- the seam
def _name_comparisons(path: Path, names: set[str]) -> list[str]:
    """Places in one module that decide by a codec's name: a codec's `.name` (or `config["codec"]`,
    `.get("codec")`) compared with a string or used to look up a dict literal, a registered codec name
    compared with anything, keying a dict or chosen by a conditional. (Two codecs' names compared with each
    other, as "same vocabulary?" checks do, decide nothing about a particular codec.)"""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def is_codec_name(node) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "name":
            base = node.value
            text = ast.unparse(base)
            return "codec" in text.lower()
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "codec":
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "codec":
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "model_codec_name":
            return True
        return False

    def is_name_literal(node) -> bool:
        return isinstance(node, ast.Constant) and node.value in names

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            literal = any(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts)
            if any(is_name_literal(p) for p in parts) or (literal and any(is_codec_name(p) for p in parts)):
                found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict) and is_codec_name(node.slice):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and isinstance(node.func.value, ast.Dict) and node.args and is_codec_name(node.args[0]):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Dict) and any(is_name_literal(k) for k in node.keys if k is not None):
            found.append(f"{path}:{node.lineno}: a dict keyed by codec names")
        elif isinstance(node, ast.IfExp) and (is_name_literal(node.body) or is_name_literal(node.orelse)):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_outside_the_codecs_decides_by_a_codec_name():
    studio = REPO / "studio"
    outside = [p for p in studio.rglob("*.py") if (studio / "codecs") not in p.parents]
    found = [hit for p in sorted(outside) for hit in _name_comparisons(p, set(SHIPPED))]
    assert not found, "codec names decided on outside studio/codecs/:\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The scan is precise: it flags each way of deciding by name, and not other `.name` uses."""
    bad = tmp_path / "bad.py"
    bad.write_text('if codec.name == "folk": pass\n'
                   'x = {"performance": 1, "folk": 2}.get(codec.name, 0)\n'
                   'unit = "bars" if codec.name == "folk" else "seconds"\n'
                   'y = model.codec_config.get("codec") == "performance"\n'
                   'z = "folk" if fits else "performance"\n'
                   'if path.name == "folk": pass\n'  # a path, but compared with a codec's name: still flagged
                   'ok = port.name == "Midi Through"\n')
    hits = _name_comparisons(bad, {"folk", "performance"})
    assert sorted(int(h.split(":")[1]) for h in hits) == [1, 2, 2, 3, 4, 5, 6]
    assert len(_name_comparisons(bad, set())) == 4  # comparing a codec's `.name` is flagged whatever it is compared with
    fine = tmp_path / "fine.py"
    fine.write_text('ok = port.name == "Midi Through"\nlabel = f"{codec.name} model"\nn = Path(p).name\n'
                    'same = model.codec.name == corpus.codec.name\n')
    assert _name_comparisons(fine, {"folk", "performance"}) == []
