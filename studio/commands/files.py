"""`studio info` and `studio convert`: what a file holds, and turning one format into another."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..cli import warn
from ..errors import InvalidArgument, StudioError, UnsupportedContent
from ..music import Piece
from ..music.io import WRITABLE, kind_of

EXIT_BAD_FILE = 2


def register(sub) -> None:
    p = sub.add_parser("info", help="show what a MIDI, ABC or MusicXML file holds")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help="convert between formats by extension (.mid, .abc, .musicxml in; .mid, .musicxml, .wav out)")
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--tune", metavar="X", help="which tune of an ABC book (its X: number; default the first)")
    p.add_argument("--soundfont", metavar="SF2", help="SoundFont for .wav output (default: the bundled General MIDI set)")
    p.add_argument("--normalize", type=float, default=-1.0, metavar="DBFS",
                   help=".wav output: scale so the loudest sample peaks at this level (default -1 dBFS)")
    p.add_argument("--no-normalize", dest="normalize", action="store_const", const=None,
                   help=".wav output: keep the synth's own level")
    p.set_defaults(func=cmd_convert)


def read_file_pieces(path: str) -> tuple[list[Piece], list[StudioError]]:
    """All pieces of a file; for ABC books the readable tunes plus one error per unreadable tune."""
    if kind_of(path) == "abc":
        from ..music.abc_io import read_abc_lenient

        return read_abc_lenient(path)
    return Piece.read_all(path), []


def cmd_info(args) -> int:
    status = 0
    for path in args.files:
        try:
            pieces, errors = read_file_pieces(path)
        except StudioError as exc:
            print(f"error: {exc.message()}", file=sys.stderr)
            status = EXIT_BAD_FILE
            continue
        for exc in errors:
            print(f"error: {exc.message()}", file=sys.stderr)
            status = EXIT_BAD_FILE
        for piece in pieces:
            for w in piece.warnings:
                warn(w)
        if args.json:
            if kind_of(path) == "abc" and (len(pieces) + len(errors)) > 1:
                obj = {"file": path, "tunes": [p.summary() | {"tune": p.meta.get("tune_number")} for p in pieces],
                       "errors": [e.message() for e in errors]}
            elif pieces:
                obj = pieces[0].summary() | {"file": path}
            else:
                continue
            print(json.dumps(obj))
        else:
            for piece in pieces:
                print(format_summary(piece.summary(), path, piece.meta.get("tune_number")))
    return status


def format_summary(s: dict, path: str, tune: str | None = None) -> str:
    head = f"{path}" + (f"  (tune X:{tune})" if tune else "")
    tempos = ", ".join(f"{t['qpm']:g} qpm at {t['time']:.2f}s" for t in s["tempos"]) or "none"
    meters = ", ".join(f"{m['numerator']}/{m['denominator']} at {m['time']:.2f}s" for m in s["time_signatures"]) or "none"
    insts = ", ".join(("drums" if i["is_drum"] else f"program {i['program']}") + f" ({i['notes']} notes)"
                      for i in s["instruments"]) or "none"
    lines = [
        head,
        f"  title:           {s['title'] or '(none)'}",
        f"  notes:           {s['notes']}",
        f"  duration:        {s['duration_seconds']:.2f} s",
        f"  tempo:           {tempos}",
        f"  time signature:  {meters}",
        f"  key:             {s['key'] or '(none)'}",
        f"  instruments:     {insts}",
        f"  pedal events:    {s['pedal_events']}",
    ]
    return "\n".join(lines)


def read_one_piece(path: str, tune: str | None = None, verb: str = "converting") -> Piece:
    """One piece of a file: for an ABC book the tune numbered `tune` (default the first, with a warning)."""
    if kind_of(path) == "abc":
        from ..music.abc_io import read_abc_tunes, tune_to_piece

        tunes = read_abc_tunes(path)
        if tune is not None:
            tunes = [t for t in tunes if t.number == tune]
            if not tunes:
                raise UnsupportedContent(path, f"tune X:{tune}", "no tune with that number")
        elif len(tunes) > 1:
            warn(f"{path} holds {len(tunes)} tunes; {verb} the first (choose with --tune X)")
        piece = tune_to_piece(tunes[0])
    else:
        piece = Piece.read(path)
    for w in piece.warnings:
        warn(w)
    return piece


def cmd_convert(args) -> int:
    ext = Path(args.output).suffix.lower()
    if ext not in WRITABLE + (".wav",):
        raise UnsupportedContent(args.output, None, f"cannot write {ext or '(no extension)'} files; "
                                                    f"writable: {', '.join(WRITABLE + ('.wav',))}")
    if ext == ".wav" and args.normalize is not None and not args.normalize <= 0:
        raise InvalidArgument(f"--normalize is a peak level at or below 0 dBFS, not {args.normalize}")
    piece = read_one_piece(args.input, args.tune)
    if ext == ".wav":
        from tqdm import tqdm

        from ..playback.render import render_wav

        with tqdm(total=0, unit="segment", desc="rendering", disable=None, leave=False) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            render_wav(piece, args.output, args.soundfont, progress, normalize_dbfs=args.normalize)
    else:
        piece.write(args.output)
    print(f"wrote {args.output}")
    return 0
