"""`studio encode` and `studio decode`: see exactly what a model sees, and turn tokens back into music."""
from __future__ import annotations

from pathlib import Path

from ..cli import warn
from ..errors import InvalidArgument, UnreadableFile


def register(sub) -> None:
    p = sub.add_parser("encode", help="print a file's tokens, one line per piece")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--codec", required=True, help="performance (MIDI) or folk (ABC)")
    p.add_argument("--ids", action="store_true", help="print integer ids instead of token names")
    p.add_argument("--codec-option", "-O", action="append", default=[], metavar="KEY=VALUE",
                   help="a codec setting, e.g. -O wide=true")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="turn tokens (names or ids; a blank line between pieces) into a file")
    p.add_argument("tokens", metavar="TOKENS", help="a text file of tokens, or - for standard input")
    p.add_argument("--codec", required=True, help="performance (MIDI) or folk (ABC)")
    p.add_argument("--codec-option", "-O", action="append", default=[], metavar="KEY=VALUE",
                   help="a codec setting, e.g. -O wide=true")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="file to write (by extension); several pieces are written as OUT-1, OUT-2, ...")
    p.set_defaults(func=cmd_decode)


def cmd_encode(args) -> int:
    from ..codecs import get_codec, parse_options

    codec = get_codec(args.codec, **parse_options(args.codec_option))
    report = codec.encode_file_report(args.file)
    for w in report.warnings:
        warn(w)
    for s in report.skipped:
        if report.encoded:
            warn(s.reason if s.reason.startswith(s.label) else f"{s.label}: {s.reason}")
    if not report.encoded:
        reason = report.skipped[0].reason if report.skipped else "nothing to encode"
        raise UnreadableFile(None, None, reason if reason.startswith(args.file) else f"{args.file}: {reason}")
    for e in report.encoded:
        print(" ".join(map(str, e.ids.tolist())) if args.ids else codec.format_tokens(e.ids))
    return 0


def cmd_decode(args) -> int:
    from ..codecs import get_codec, parse_options
    from ..codecs.base import read_token_file

    codec = get_codec(args.codec, **parse_options(args.codec_option))
    text = read_token_file(args.tokens)  # ("-": standard input, within the same limit)
    pieces = codec.parse_tokens(text, source=args.tokens)
    if not pieces:
        raise InvalidArgument("no tokens to decode", path=args.tokens)
    out = Path(args.output)
    targets = [out] if len(pieces) == 1 else [out.with_name(f"{out.stem}-{i}{out.suffix}")
                                              for i in range(1, len(pieces) + 1)]
    for ids, target in zip(pieces, targets):
        for w in codec.write_decoded(ids, target):
            warn(f"{target}: {w}")
        print(f"wrote {target}")
    return 0
