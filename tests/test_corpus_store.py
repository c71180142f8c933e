"""Corpus store and importer: the on-disk contract, deterministic splits, bad files reported, the cache."""
from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest

from studio.codecs import get_codec
from studio.corpus.builtin import builtin_collections, collection_files
from studio.corpus.importer import import_corpus
from studio.corpus.store import PIECE_DTYPE, Corpus, list_corpora, remove_corpus, split_of, write_corpus
from studio.errors import InvalidArgument
from studio.music import Piece, make_notes

from conftest import BROKEN_MIDI, MAESTRO, needs_maestro


@pytest.fixture(scope="module")
def codec():
    return get_codec("performance")


def random_arrays(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 388, rng.integers(1, 200)) for _ in range(n)]


def test_write_open_memmap_round_trip(codec, studio_home):
    arrays = random_arrays(200)
    corpus = write_corpus("tiny", codec, arrays, labels=[f"p{i}" for i in range(200)], sources=["made up"])
    assert corpus.path == studio_home / "corpora" / "tiny"
    again = Corpus.open("tiny")
    assert isinstance(again.ids, np.memmap) and again.ids.dtype == np.int16
    assert again.pieces.dtype == PIECE_DTYPE and len(again) == 200
    for i in (0, 57, 199):
        assert np.array_equal(again.piece(i), arrays[i])
    assert again.codec.vocab == codec.vocab
    meta = json.loads((again.path / "corpus.json").read_text())
    assert set(meta) >= {"name", "codec", "created", "sources", "stats", "split"}
    assert meta["split"] == {"method": "hash", "valid": 0.05, "test": 0.05}
    assert [r["label"] for r in again.records()][:2] == ["p0", "p1"]
    assert Corpus.open(str(again.path)).name == "tiny"


def test_split_is_deterministic_by_content_and_covers_everything(codec):
    arrays = random_arrays(400, seed=1)
    a = write_corpus("a", codec, arrays)
    b = write_corpus("b", codec, list(reversed(arrays)))
    train, valid, test = (a.indices(s) for s in ("train", "valid", "test"))
    assert len(train) + len(valid) + len(test) == 400
    assert 0 < len(valid) < 50 and 0 < len(test) < 50
    assert np.array_equal(a.pieces["split"], b.pieces["split"][::-1])
    assert split_of("0" * 64) == 1 and split_of("f" * 64) == 0


def test_list_and_remove(codec):
    write_corpus("one", codec, random_arrays(3))
    write_corpus("two", codec, random_arrays(3))
    assert [c.name for c in list_corpora()] == ["one", "two"]
    remove_corpus("one")
    assert [c.name for c in list_corpora()] == ["two"]
    with pytest.raises(InvalidArgument):
        Corpus.open("one")
    with pytest.raises(InvalidArgument, match="plain name"):
        write_corpus("../evil", codec, random_arrays(1))


def test_empty_corpus_is_refused_and_leaves_nothing(codec, studio_home):
    with pytest.raises(InvalidArgument, match="no pieces"):
        write_corpus("empty", codec, [])
    assert list((studio_home / "corpora").iterdir()) == []


def mixed_folder(tmp_path):
    """Good files (generated, and the shared Maestro when present), broken ones, a non-MIDI file, an empty one."""
    folder = tmp_path / "perf"
    (folder / "sub").mkdir(parents=True)
    for i in range(3):
        rng = np.random.default_rng(i)
        start = np.sort(rng.uniform(0, 20, 100))
        Piece(notes=make_notes(rng.integers(40, 90, 100), start, start + 0.3)).write_midi(folder / "sub" / f"g{i}.mid")
    for src in MAESTRO[:2] + BROKEN_MIDI:
        shutil.copy(src, folder / src.name)
    data = (folder / "sub" / "g0.mid").read_bytes()
    (folder / "cut.mid").write_bytes(data[: len(data) * 2 // 3])  # track cut short: repaired, with a warning
    (folder / "notes.txt").write_text("not music")
    (folder / "fake.mid").write_text("not MIDI either")
    (folder / "zero.midi").write_bytes(b"")
    good = list(MAESTRO[:2]) + list((folder / "sub").glob("*.mid"))
    bad = {folder / "notes.txt", folder / "fake.mid", folder / "zero.midi"}
    return folder, good, bad


def test_import_mixed_folder_reports_each_bad_file(codec, tmp_path):
    folder, good, bad = mixed_folder(tmp_path)
    seen = []
    report = import_corpus("mixed", codec, [folder], progress=lambda d, t, p: seen.append((d, t)), workers=2)
    corpus = Corpus.open("mixed")
    labels = {r["label"] for r in corpus.records()}
    assert {str(folder / p.name) for p in MAESTRO[:2]} <= labels
    assert len([x for x in labels if "/sub/g" in x]) == 3
    reasons = {s.label: s.reason for s in report.skipped}
    assert "not a .mid/.midi file" in reasons[str(folder / "notes.txt")]
    assert "not a MIDI file" in reasons[str(folder / "fake.mid")]
    assert "empty file" in reasons[str(folder / "zero.midi")]
    for broken in BROKEN_MIDI:
        label = str(folder / broken.name)
        assert label in reasons or label in labels, f"{broken.name} neither imported nor reported"
    assert str(folder / "cut.mid") in labels
    assert any("cut.mid" in w and "cut short" in w for w in report.repairs)
    assert seen[-1][0] == seen[-1][1] == report.files
    assert report.pieces == len(corpus) and report.events == len(corpus.ids)
    assert corpus.stats["events"] == report.events and corpus.sources == [str(folder.resolve())]


def test_warm_reimport_is_a_cache_hit_and_identical(codec, tmp_path):
    folder, _, _ = mixed_folder(tmp_path)
    cold = import_corpus("c", codec, [folder], workers=1)
    ids = np.array(Corpus.open("c").ids)
    warm = import_corpus("c", codec, [folder], workers=2)
    assert cold.cache_hits == 0 and warm.cache_hits == warm.files
    assert np.array_equal(np.array(Corpus.open("c").ids), ids)
    assert [s.reason for s in warm.skipped] == [s.reason for s in cold.skipped]
    # A moved copy is still a hit, and labelled with its new place.
    moved = tmp_path / "moved"
    shutil.copytree(folder, moved)
    again = import_corpus("d", codec, [moved], workers=1)
    assert again.cache_hits == again.files
    assert all(str(moved) in r["label"] for r in Corpus.open("d").records())
    # A changed codec setting encodes again.
    other = import_corpus("e", get_codec("performance", sustain=False), [folder], workers=1)
    assert other.cache_hits == 0
    # So does a newer reader (a fix that changes the tokens of the same file), with the same vocabulary.
    newer = type("NewerReader", (type(codec),), {"reader_version": type(codec).reader_version + 1})(codec.config)
    fresh = import_corpus("f", newer, [folder], workers=1)
    assert fresh.cache_hits == 0 and newer.fingerprint() == codec.fingerprint()


def test_stop_writes_nothing(codec, tmp_path, studio_home):
    folder, _, _ = mixed_folder(tmp_path)
    stop = threading.Event()
    stop.set()
    report = import_corpus("stopped", codec, [folder], stop=stop)
    assert report.stopped and not (studio_home / "corpora" / "stopped").exists()
    assert [p.name for p in (studio_home / "corpora").iterdir()] == []


def test_nothing_importable_is_an_error(codec, tmp_path):
    (tmp_path / "x.mid").write_text("nope")
    with pytest.raises(InvalidArgument, match="nothing to import"):
        import_corpus("none", codec, [tmp_path])


@needs_maestro
def test_imported_ids_are_what_the_codec_encodes(codec, tmp_path):
    report = import_corpus("m", codec, MAESTRO[:1], workers=1)
    (expected,) = codec.encode_file(MAESTRO[0])
    assert np.array_equal(Corpus.open("m").piece(0), expected)
    assert report.notes == len(codec.prepare(Piece.read(MAESTRO[0])).notes)


def test_builtin_collections_list_music21_files():
    by_name = {c["name"]: c for c in builtin_collections()}
    assert set(by_name) >= {"oneills1850", "ryansMammoth", "airdsAirs", "essenFolksong", "irish", "essen"}
    assert by_name["oneills1850"]["tunes"] > 1500 and all(f.endswith(".abc") for f in by_name["oneills1850"]["files"])
    assert by_name["irish"]["tunes"] == sum(by_name[n]["tunes"] for n in ("oneills1850", "ryansMammoth", "airdsAirs"))
    assert collection_files("airdsAirs")[0].is_file()
    with pytest.raises(InvalidArgument, match="no built-in collection"):
        collection_files("nowhere")
