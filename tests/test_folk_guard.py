"""The folk sampling guard: which bar lengths count as in time, that the guard lets real tunes through token
by token, that nothing it allows needs a repair or breaks a bar (random walks through it), and that
sampling with it gives playable tunes from the shipped model and from an untrained one."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import EXAMPLE_ABC, REPO, run_studio
from studio.codecs import get_codec
from studio.codecs.folk.guard import TokenTable, TuneGuard, bad_bars
from studio.errors import UnsupportedContent
from studio.generation import Settings, generate
from studio.codecs.folk.report import folk_report
from studio.music.abc_io import read_abc_tunes
from studio.nn import ModelConfig, SequenceModel, load_model, save_model


@pytest.fixture(scope="module")
def codec():
    return get_codec("folk")


def bars_in_time(codec, text: str) -> bool:
    meter, _, items, warnings = codec.decode_tune(np.array([codec.index[t] for t in text.split()]))
    assert warnings == []
    return bad_bars(items, meter) == 0


@pytest.mark.parametrize("text", [
    "M:6/8 K:Cmaj |: c 2 c c d e | f 3 e 3 :|",  # every bar full
    "M:6/8 K:Cmaj |: G | c 2 c c d e | f 3 e 2 :| |: e | f 2 f f e d | c 3 c 2 :|",  # pickups, closing bars
    "M:6/8 K:Cmaj G | c 2 c c d e | f 3 e 2 |",  # a pickup and the last bar that completes it
    "M:6/8 K:Cmaj |: G | c 2 c c d e |1 f 3 e 2 :| |2 f 3 e 2 |",  # first and second endings
    # a second ending closing the section, and the next section's pickup filling its bar
    "M:6/8 K:Cmaj |: G | c 2 c c d e |1 f 3 e 2 :| |2 f 3 e 2 | e | f 2 f f e d | c 3 c 2 |",
    "M:2/4 K:Cmaj (3 c d e f g | a > b c 2 |",  # a triplet and broken rhythm
])
def test_bars_a_musician_counts_as_in_time(codec, text):
    assert bars_in_time(codec, text)


@pytest.mark.parametrize("text", [
    "M:6/8 K:Cmaj |: c 2 c c d e | f 3 e 2 | f 3 e 3 :|",  # a short bar in the middle
    "M:6/8 K:Cmaj |: c 2 c c d e f | f 3 e 3 :|",  # an overfull bar
    "M:6/8 K:Cmaj |: G | c 2 c c d e | f 3 e :|",  # the closing bar does not complete the pickup
    "M:6/8 K:Cmaj |: G | c 2 c c d e | f 3 e 2 :| |: d e | f 3 e 3 :|",  # nor does the next pickup fill it
    "M:4/4 K:Cmaj c 8 | c 6 | c 2 c | c 8 |",  # a split bar whose halves do not add up
    # a short bar and its complement mid-section (a 6/8 and a 2/8 bar in 4/4: music21 reads two wrong bars)
    "M:4/4 K:Cmaj G A | c 2 c d e 2 d c | B 2 A 2 G 2 | A B | c 8 | c 6 |",
])
def test_bars_out_of_time_are_counted(codec, text):
    assert not bars_in_time(codec, text)


def test_the_guard_steers_a_tune_only_where_it_would_go_wrong(codec):
    table = TokenTable(list(codec.vocab))
    guard = TuneGuard(table)
    for token in "M:6/8 K:Cmaj |: G | c 2 c c d e | f 3 e".split():
        guard.push(codec.index[token])
    ok = {t: bool(guard.allowed()[codec.index[t]]) for t in ("2", "3", "4", "|", ":|", "</s>", "c", "(3")}
    # 4 eighths so far: e may take a length that completes the pickup (2) or fills the bar (3), not 4; the
    # bar cannot end yet, but more notes and a triplet fit
    assert ok == {"2": True, "3": True, "4": False, "|": False, ":|": False, "</s>": False, "c": True,
                  "(3": True}
    guard.push(codec.index["2"])
    assert guard.allowed()[codec.index[":|"]] and guard.allowed()[codec.index["|"]]
    assert not guard.allowed()[codec.index["|:"]]  # a repeat is already open
    guard.push(codec.index["|"])
    # a closing bar ended by |: a repeat sign or the end may follow, but no note: its complement after a plain
    # bar line would be a split bar mid-section
    allowed = guard.allowed()
    assert allowed[codec.index[":|"]] and allowed[codec.index["</s>"]] and not allowed[codec.index["c"]]
    assert guard.ending() == [codec.index[":|"]]  # ending here closes the repeat the model left open


def test_the_guard_allows_a_pickup_after_a_second_ending_not_a_split_bar_mid_section(codec):
    table = TokenTable(list(codec.vocab))

    def after(text: str) -> np.ndarray:
        guard = TuneGuard(table)
        for token in text.split():
            guard.push(codec.index[token])
        return guard.allowed()

    # the example: 6 eighths then | in a 4/4 tune with a 2-eighth pickup: no note may start the 2/8 bar
    split = after("M:4/4 K:Cmaj G A | c 2 c d e 2 d c | B 2 A 2 G 2 |")
    assert not split[codec.index["A"]] and not split[codec.index["|"]] and split[codec.index["</s>"]]
    # the same bar closing a second ending: the next section's pickup (2 eighths, no more) fills it
    ending = "M:4/4 K:Cmaj |: G A | c 2 c d e 2 d c |1 B 2 A 2 G 2 A B :| |2 B 2 A 2 G 2 |"
    assert after(ending)[codec.index["A"]]
    assert after(ending + " A B")[codec.index["|"]] and not after(ending + " A B")[codec.index["c"]]


def walk(codec, table, rng, end_weight=0.3, limit=3000) -> tuple[list[int], bool]:
    """A tune drawn uniformly from what the guard allows; (ids, whether it ever allowed nothing)."""
    meters = list(table.meter)
    modes = [i for i, t in enumerate(codec.vocab) if t.startswith("K:")]
    ids = [int(rng.choice(meters)), int(rng.choice(modes))]
    guard = TuneGuard(table)
    for token in ids:
        guard.push(token)
    for _ in range(limit):
        ok = guard.allowed()
        if not ok.any():
            return ids, True
        weights = ok.astype(float)
        weights[table.end] *= end_weight
        token = int(rng.choice(len(weights), p=weights / weights.sum()))
        if token == table.end:
            return ids + guard.ending(), False
        ids.append(token)
        guard.push(token)
    return ids, False


@pytest.mark.parametrize("wide", [False, True])
def test_whatever_the_guard_allows_needs_no_repair_and_keeps_every_bar_in_time(wide):
    codec = get_codec("folk", wide=wide)
    table = TokenTable(list(codec.vocab))
    rng = np.random.default_rng(7)
    for _ in range(150):
        ids, dead_end = walk(codec, table, rng)
        assert not dead_end, " ".join(codec.tokens(ids))
        meter, _, items, warnings = codec.decode_tune(np.array(ids))
        assert warnings == [], " ".join(codec.tokens(ids))
        assert bad_bars(items, meter) == 0, " ".join(codec.tokens(ids))


def guard_accepts(codec, table, ids) -> bool:
    guard = TuneGuard(table)
    body = [int(t) for t in ids if table.kind[int(t)] != "special"] + [table.end]
    for k, token in enumerate(body):
        if k >= 2 and not guard.allowed()[token]:
            return False
        guard.push(token)
    return True


def test_the_guard_lets_through_every_real_tune_that_is_in_time(codec):
    from music21 import corpus

    table = TokenTable(list(codec.vocab))
    texts = [t.text for t in read_abc_tunes(EXAMPLE_ABC)]
    books = sorted(p for p in corpus.getPaths(fileExtensions=["abc"]) if p.parent.name == "oneills1850")[:3]
    texts += [t.text for book in books for t in read_abc_tunes(book)]
    encoded = playable = 0
    for text in texts:
        try:
            ids = codec.encode_abc(text)
        except UnsupportedContent:  # tunes the codec leaves out (free meter...)
            continue
        meter, _, items, warnings = codec.decode_tune(ids)
        in_time = not warnings and bad_bars(items, meter) == 0
        assert guard_accepts(codec, table, ids) == in_time, codec.format_tokens(ids)
        playable += in_time
        encoded += 1
    # the rest have a wrong bar, or a double bar || (written | in the tokens) between a short bar and its
    # complement, which music21 reads as two wrong bars
    assert encoded >= 100 and playable / encoded > 0.25


BARS_BY_MUSIC21 = [  # constructed tunes, and whether music21 reads every bar of them in time
    ("M:6/8 K:Cmaj |: c 2 c c d e | f 3 e 3 | c 2 c c d e | f 3 e 3 :|", True),
    ("M:6/8 K:Cmaj |: G | c 2 c c d e | f 3 e 2 :| |: e | f 2 f f e d | c 3 c 2 :|", True),
    ("M:6/8 K:Cmaj G | c 2 c c d e | f 3 e 2 |", True),
    ("M:6/8 K:Cmaj |: G | c 2 c c d e |1 f 3 e 2 :| |2 f 3 e 2 | e | f 2 f f e d | c 3 c 2 |", True),
    ("M:2/4 K:Cmaj (3 c d e f g | a > b c 2 | c d e f | g 4 |", True),
    ("M:4/4 K:Cmaj G A | c 2 c d e 2 d c | B 2 A 2 G 2 | A B | c 8 | c 6 |", False),
    ("M:6/8 K:Cmaj |: c 2 c c d e | f 3 e 2 | f 3 e 3 :|", False),
    ("M:6/8 K:Cmaj |: c 2 c c d e | c 2 c c d e f | f 3 e 3 | c 6 :|", False),
    ("M:4/4 K:Cmaj c 8 | c 6 | c 2 c | c 8 |", False),
    ("M:4/4 K:Cmaj G 2 | c 2 e 2 g 2 e 2 | d 8 | c 2 e 2 g 2 e 2 | c 4 |", False),  # the last bar misses the pickup
]


def test_evaluate_samples_and_music21_agree_on_bar_lengths(codec):
    from studio.codecs.folk.faithful import music21_bars_in_time
    from studio.codecs.folk.report import folk_report

    for text, in_time in BARS_BY_MUSIC21:
        ids = np.array([codec.index[t] for t in text.split()])
        assert music21_bars_in_time(codec.decode_abc(ids)) == in_time, text
        assert folk_report(codec, [ids])["playable_share"] == in_time, text


def test_sampling_from_the_shipped_model_gives_playable_tunes_at_temperature_one():
    from studio.codecs import codec_from_config

    model = load_model(REPO / "models" / "folk")
    candidates = generate(model, 12, Settings(seed=11, temperature=1.0))
    assert all(c.ended == "end" for c in candidates)
    report = folk_report(codec_from_config(model.codec_config), [c.tokens for c in candidates])  # its own vocabulary
    assert report["valid_abc_share"] == 1.0 and report["playable_share"] == 1.0
    raw = generate(model, 12, Settings(seed=11, temperature=1.0, guard=False))
    assert [c.ids.tolist() for c in raw] != [c.ids.tolist() for c in candidates]


def test_an_untrained_model_samples_playable_tunes_that_end_cleanly_after_the_bars_asked_for(codec, tmp_path):
    torch.manual_seed(0)
    save_model(SequenceModel(ModelConfig(vocab_size=codec.vocab_size, layers=1, units=32)), tmp_path, codec.config)
    model = load_model(tmp_path)
    candidates = generate(model, 8, Settings(seed=5, bars=12, meter="9/8", max_tokens=3000))
    report = folk_report(codec, [c.tokens for c in candidates])
    assert report["valid_abc_share"] == 1.0 and report["playable_share"] == 1.0
    for cand in candidates:
        assert cand.ended == "length"
        assert codec.tokens(cand.tokens)[-1] in ("|", ":|")
    # near --max-tokens a tune stops at its first clean ending instead of being cut mid-bar
    capped = generate(model, 8, Settings(seed=5, max_tokens=80))
    assert all(c.ended == "max_tokens" and len(c.ids) <= 81 for c in capped)
    assert folk_report(codec, [c.tokens for c in capped])["playable_share"] == 1.0


def test_cli_no_guard_samples_the_raw_model(tmp_path, studio_home):
    out = tmp_path / "raw"
    result = run_studio("generate", "--model", str(REPO / "models" / "folk"), "-n", "2", "-o", str(out),
                        "--no-guard", "--seed", "4")
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "generation.json").read_text())
    assert record["settings"]["guard"] is False
    raw = generate(load_model(REPO / "models" / "folk"), 2, Settings(seed=4, guard=False))
    assert [c["tokens"] for c in record["candidates"]] == [c.tokens.tolist() for c in raw]  # the raw sampler ran
    result = run_studio("evaluate-samples", str(out), "--json")
    assert result.returncode == 0 and "playable_share" in json.loads(result.stdout)
