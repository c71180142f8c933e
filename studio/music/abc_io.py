"""ABC tunes and tune books -> Piece, through music21.

A book is split into its `X:` tunes here (so an error can name the tune number and line), each tune is
parsed by music21, repeats are expanded for playback, ties merged, and the result becomes a Piece with
tempo from `Q:` (120 quarter notes per minute when absent), meter and key. music21 parses about 13
tunes a second, so this is for reading and checking, never for a hot path.
"""
from __future__ import annotations

import contextlib
import re
import threading
import warnings as pywarnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import StudioError, UnreadableFile, UnsupportedContent
from ..limits import MAX_ABC_BYTES, MAX_ABC_NOTE_LENGTH, MAX_FILE_TUNES, MAX_TUNE_BARS, MAX_TUNE_CHARS
from ..limits import read_bytes as read_limited
from .piece import DEFAULT_QPM, NOTE_DTYPE, TEMPO_DTYPE, TIME_SIGNATURE_DTYPE, KeySignature, Piece

DEFAULT_VELOCITY = 90
_FIELD = re.compile(r"^([A-Za-z]):(.*)$")


@dataclass
class AbcTune:
    """One tune's text as it stands in a file, with where it starts."""

    path: str
    number: str  # the X: value ("" if the file has no X: line)
    line: int  # 1-based line of its first line in the file
    text: str

    @property
    def place(self) -> str:
        return f"tune X:{self.number}, line {self.line}" if self.number else f"tune at line {self.line}"

    def field(self, name: str) -> str | None:
        for line in self.text.splitlines():
            m = _FIELD.match(line.strip())
            if m and m.group(1) == name:
                return m.group(2).strip()
        return None

    def field_line(self, name: str) -> int | None:
        for offset, line in enumerate(self.text.splitlines()):
            m = _FIELD.match(line.strip())
            if m and m.group(1) == name:
                return self.line + offset
        return None


def read_text(path: str | Path) -> str:
    path = Path(path)
    raw = read_limited(path, MAX_ABC_BYTES, "ABC file")
    if not raw.strip():
        raise UnreadableFile(path, "line 1", "empty file")
    if b"\x00" in raw[:4096]:
        raise UnreadableFile(path, "byte 0", "binary data, not ABC text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # the old tune books are Latin-1


_TUNE_START = re.compile(r"^[^\S\n]*X:", re.M)


def split_tunes(text: str, path: str = "", limit: int | None = None) -> list[AbcTune]:
    """Split a file into tunes at `X:` lines; a file without `X:` is one tune. The file header is dropped.
    At most `limit` + 1 tunes are cut (the reader refuses more), and no list of the file's lines is built:
    a 64 MB file of blank lines or of `X:` lines costs no more than its text."""
    limit = MAX_FILE_TUNES if limit is None else limit
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = []
    for m in _TUNE_START.finditer(text):
        starts.append(m.start())
        if len(starts) > limit:
            break
    if not starts:
        return [AbcTune(path, "", 1, text)] if text.strip() else []
    tunes, line, previous = [], 1, 0
    for k, start in enumerate(starts):
        line += text.count("\n", previous, start)
        previous = start
        end = starts[k + 1] if k + 1 < len(starts) else len(text)
        chunk = text[start:end]
        number = chunk.split("\n", 1)[0].split(":", 1)[1].strip()
        tunes.append(AbcTune(path, number, line, chunk.strip() + "\n"))
    return tunes


def read_abc_tunes(path: str | Path) -> list[AbcTune]:
    path = Path(path)
    tunes = split_tunes(read_text(path), str(path))
    if not tunes:
        raise UnreadableFile(path, "line 1", "no ABC tune in the file")
    if len(tunes) > MAX_FILE_TUNES:
        raise UnreadableFile(path, f"line {tunes[MAX_FILE_TUNES].line}", f"more than {MAX_FILE_TUNES:,} tunes in one "
                             "file; split it")
    return tunes


def tune_to_piece(tune: AbcTune, expand_repeats: bool = True) -> Piece:
    """Parse one tune with music21; raise a StudioError naming the tune and line if it cannot be read.
    `expand_repeats=False` gives the notes as written (about a quarter less CPU on a typical book tune)."""
    check_tune_size(tune)  # first: a hostile tune is refused before even its lines are listed
    if tune.field("K") is None:
        raise UnsupportedContent(tune.path, tune.place, "no K: field (every ABC tune needs a key line)")
    import music21

    text = tune.text if tune.number else "X:1\n" + tune.text
    try:
        with pywarnings.catch_warnings(), _no_beaming():
            pywarnings.simplefilter("ignore")
            score = music21.converter.parseData(text, format="abc")
    except Exception as exc:  # music21 raises many kinds; all mean "this tune does not parse"
        raise UnsupportedContent(tune.path, tune.place, f"ABC does not parse ({_short(exc)})") from None
    try:
        piece = stream_to_piece(score, title=tune.field("T") or "", source=_source(tune), expand_repeats=expand_repeats)
    except Exception as exc:  # music21 objects we cannot turn into notes: say so, never a traceback
        raise UnsupportedContent(tune.path, tune.place, f"cannot turn the parsed tune into notes ({_short(exc)})") from None
    # music21 gives pickup and partial bars time signatures of their own (a 1/16 bar, say); the tune's
    # meter is what its M: fields say.
    meters = tune_meters(tune.text)
    if meters:
        sigs = [(0.0, *meters[0])] + [s for s in piece.time_signatures.tolist() if s[0] > 0 and (s[1], s[2]) in meters]
        piece.time_signatures = np.array(_dedupe(sigs), dtype=TIME_SIGNATURE_DTYPE)
    piece.meta.update({"abc": tune.text, "tune_number": tune.number, "line": tune.line})
    if len(piece.notes) == 0:
        raise UnsupportedContent(tune.path, tune.place, "the tune has no notes")
    return piece


_NOT_NOTES = re.compile(r'%[^\n]*|"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|\[[A-Za-z]:[^\]\n]*\]|^[A-Za-z]:[^\n]*', re.MULTILINE)
_NOTE_LENGTH = re.compile(r"(?:(?<![A-Za-z])[_^=]*[A-Ga-gzx][,']*|(?<!\|)\])(\d+)")  # notes, rests, chords


_UNIT_LENGTH = re.compile(r"(?:^|\[)\s*L:\s*(\d+)\s*/\s*(\d+)", re.MULTILINE)


def check_tune_size(tune: AbcTune) -> None:
    """Refuse, before music21 sees it, a tune it would take minutes or gigabytes over: too long a text,
    too many bars, or an absurd note length (`A99999` becomes thousands of tied bars)."""
    problem = tune_size_problem(tune.text)
    if problem:
        reason, offset = problem
        line = tune.line + tune.text.count("\n", 0, offset) if offset is not None else None
        place = tune.place if line is None else (f"tune X:{tune.number}, line {line}" if tune.number else f"line {line}")
        raise UnsupportedContent(tune.path, place, reason)


def tune_size_problem(text: str) -> tuple[str, int | None] | None:
    """(reason, character offset or None) if a tune's text is beyond the limits of any real tune; shared by
    music21's reading and the folk codec's lexer (whose time also grows faster than the text)."""
    if len(text) > MAX_TUNE_CHARS:
        return (f"the tune is {len(text):,} characters long; the limit is {MAX_TUNE_CHARS:,} (is it several tunes "
                f"without X: lines?)", None)
    for num, den in tune_meters(text):
        if num > MAX_ABC_NOTE_LENGTH or den > MAX_ABC_NOTE_LENGTH:
            return f"meter {num}/{den}: the limit is {MAX_ABC_NOTE_LENGTH} beats of at least 1/{MAX_ABC_NOTE_LENGTH}", None
    for m in _UNIT_LENGTH.finditer(text):
        num, den = int(m.group(1)), int(m.group(2))
        if num > MAX_ABC_NOTE_LENGTH or not 0 < den <= 8 * MAX_ABC_NOTE_LENGTH:
            return f"unit note length L:{num}/{den}: the limit is L:1/{8 * MAX_ABC_NOTE_LENGTH}", m.start()
    body = _NOT_NOTES.sub(lambda m: " " * len(m.group(0)), text)  # same offsets as the text
    bars = len(re.findall(r"\|+|::", body))
    if bars > MAX_TUNE_BARS:
        return f"the tune has {bars:,} bar lines; the limit is {MAX_TUNE_BARS:,}", None
    for m in _NOTE_LENGTH.finditer(body):
        if int(m.group(1)) > MAX_ABC_NOTE_LENGTH:
            return (f"note {m.group(0)!r} is {int(m.group(1)):,} unit lengths long; the limit is "
                    f"{MAX_ABC_NOTE_LENGTH}", m.start())
    return None


_BEAMING_LOCK = threading.Lock()


@contextlib.contextmanager
def _no_beaming():
    """music21's ABC reader beams every part, which is notation only and about half of its parse time;
    we need sounding notes, so beaming is switched off (for Parts only) while a tune is parsed."""
    import music21

    with _BEAMING_LOCK:
        original = music21.stream.Part.__dict__.get("makeBeams")
        music21.stream.Part.makeBeams = lambda self, *a, **k: self
        try:
            yield
        finally:
            if original is None:
                del music21.stream.Part.makeBeams
            else:
                music21.stream.Part.makeBeams = original


def _source(tune: AbcTune) -> str:
    return f"{tune.path}#X:{tune.number}" if tune.number else tune.path


def _short(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg[:200]


def stream_to_piece(score, title: str = "", source: str = "", expand_repeats: bool = True) -> Piece:
    """A music21 Score/Part/Opus-tune -> Piece (times in seconds, repeats expanded where they can be)."""
    import music21

    warn: list[str] = []
    if expand_repeats:
        _open_repeats(score)
    if expand_repeats and _has_repeats(score):
        try:
            with pywarnings.catch_warnings():
                pywarnings.simplefilter("ignore")
                score = score.expandRepeats()
        except Exception as exc:
            warn.append(f"repeats left unexpanded ({_short(exc)})")

    flat = score.flatten()
    marks = [(float(m.offset), float(m.getQuarterBPM() or DEFAULT_QPM)) for m in flat.getElementsByClass(music21.tempo.MetronomeMark)]
    tempo_beats = [(0.0, marks[0][1] if marks else DEFAULT_QPM)] + [m for m in marks if m[0] > 0]
    # Tempo map in beats -> seconds.
    tb = np.array([b for b, _ in tempo_beats], dtype=float)
    tq = np.array([q for _, q in tempo_beats], dtype=float)
    ts_sec = np.concatenate([[0.0], np.cumsum(np.diff(tb) * 60.0 / tq[:-1])])

    def to_seconds(beats):
        b = np.asarray(beats, dtype=float)
        i = np.clip(np.searchsorted(tb, b, side="right") - 1, 0, None)
        return ts_sec[i] + (b - tb[i]) * 60.0 / tq[i]

    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    rows = []
    names = []
    for track, part in enumerate(parts):
        names.append(getattr(part, "partName", None) or "")
        pflat = part.flatten()
        program = 0
        inst = pflat.getElementsByClass(music21.instrument.Instrument)
        if len(inst) and inst[0].midiProgram is not None:
            program = int(inst[0].midiProgram)
        tied: dict[int, int] = {}  # pitch -> row of the note a tie continues
        for el in pflat.notes:
            ql = float(el.quarterLength)
            if ql <= 0:  # grace notes take no time of their own
                continue
            vel = el.volume.velocity if el.volume is not None and el.volume.velocity else DEFAULT_VELOCITY
            start = float(el.offset)
            members = el.notes if el.isChord else [el]
            for member in members:
                pitch = getattr(member, "pitch", None)
                drum = pitch is None  # unpitched percussion: its display position stands for the drum
                midi = int(pitch.midi if pitch is not None else member.displayPitch().midi)
                tie = member.tie.type if member.tie is not None else (el.tie.type if el.tie is not None else None)
                row = tied.get(midi)
                if tie in ("continue", "stop") and row is not None and abs(rows[row][2] - start) < 1e-6:
                    r = rows[row]
                    rows[row] = (r[0], r[1], start + ql, *r[3:])
                else:
                    row = len(rows)
                    rows.append((midi, start, start + ql, int(vel), program, drum, track))
                if tie in ("start", "continue"):
                    tied[midi] = row
                else:
                    tied.pop(midi, None)
    notes = np.array(rows, dtype=[("pitch", "i2"), ("start", "f8"), ("end", "f8"), ("velocity", "i2"),
                                  ("program", "i2"), ("is_drum", "?"), ("track", "i2")]).astype(NOTE_DTYPE)
    if len(notes):
        notes["start"] = to_seconds(notes["start"])
        notes["end"] = to_seconds(notes["end"])
        notes = notes[np.lexsort((notes["pitch"], notes["start"]))]

    tempos = np.zeros(len(tb), dtype=TEMPO_DTYPE)
    tempos["time"], tempos["qpm"] = ts_sec, tq
    sigs = []
    for t in flat.getElementsByClass(music21.meter.TimeSignature):
        sigs.append((float(to_seconds(float(t.offset))), int(t.numerator), int(t.denominator)))
    sigs = _dedupe(sigs)
    keys = []
    for k in flat.getElementsByClass(music21.key.KeySignature):
        key = k if isinstance(k, music21.key.Key) else k.asKey("major")
        keys.append(KeySignature(float(to_seconds(float(k.offset))), key.tonic.name.replace("-", "b"), key.mode or "major"))
    keys = [k for i, k in enumerate(keys) if i == 0 or (k.tonic, k.mode) != (keys[i - 1].tonic, keys[i - 1].mode)]
    return Piece(
        notes=notes,
        tempos=tempos,
        time_signatures=np.array(sigs, dtype=TIME_SIGNATURE_DTYPE),
        key_signatures=keys,
        title=title or (score.metadata.title if getattr(score, "metadata", None) and score.metadata.title else ""),
        source=source,
        track_names=names,
        warnings=warn,
    )


_METER = re.compile(r"(?:^|\[)\s*M:\s*([^\]\n%]*)", re.MULTILINE)


def tune_meters(text: str) -> list[tuple[int, int]]:
    """The meters a tune's M: fields (header or inline) name, in order; C is 4/4 and C| is 2/2."""
    out = []
    for m in _METER.finditer(text):
        value = m.group(1).strip()
        if value in ("C", "c"):
            value = "4/4"
        elif value in ("C|", "c|"):
            value = "2/2"
        frac = re.match(r"^\(?([\d+]+)\)?\s*/\s*(\d+)", value)
        if frac:
            num = sum(int(x) for x in frac.group(1).split("+") if x)
            out.append((num, int(frac.group(2))))
    return out


def _has_repeats(score) -> bool:
    import music21

    return any(True for _ in score.recurse().getElementsByClass((music21.bar.Repeat, music21.spanner.RepeatBracket)))


def _open_repeats(score) -> int:
    """Give each end repeat `:|` with no start `|:` since an earlier end repeat its start, at the bar after
    that end: ABC's reading (each part repeats itself; the first `:|` alone repeats from the tune's start).
    music21 instead replays the tune from its start at each: a tune whose parts are closed by `:|` alone
    (Nottingham's Londonderry Hornpipe, six such parts) grew 20-fold in 10 s of CPU. Returns how many."""
    import music21

    added = 0
    for part in (list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]):
        measures = list(part.getElementsByClass(music21.stream.Measure))
        opened, last_end = False, None
        for i, measure in enumerate(measures):
            left, right = measure.leftBarline, measure.rightBarline
            if isinstance(left, music21.bar.Repeat) and left.direction == "start":
                opened = True
            if isinstance(right, music21.bar.Repeat) and right.direction == "end":
                if not opened and last_end is not None:
                    measures[last_end + 1].leftBarline = music21.bar.Repeat(direction="start")
                    added += 1
                opened, last_end = False, i
    return added


def _dedupe(sigs: list[tuple]) -> list[tuple]:
    out = []
    for s in sigs:
        if not out or s[1:] != out[-1][1:]:
            out.append(s)
    return out


def read_abc(path: str | Path) -> list[Piece]:
    """Every tune of an ABC file as a Piece; the first unreadable tune raises (use read_abc_lenient to skip)."""
    return [tune_to_piece(t) for t in read_abc_tunes(path)]


def read_abc_lenient(path: str | Path, expand_repeats: bool = True) -> tuple[list[Piece], list[StudioError]]:
    """Every readable tune, plus one error per tune that could not be read (a book is never all-or-nothing)."""
    pieces, errors = [], []
    for tune in read_abc_tunes(path):
        try:
            pieces.append(tune_to_piece(tune, expand_repeats))
        except StudioError as exc:
            errors.append(exc)
    return pieces, errors
