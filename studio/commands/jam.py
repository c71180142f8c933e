"""`studio jam`: a model plays new music without end to the built-in synth or a MIDI port, until Ctrl+C or
--seconds; with --record, what was heard is written as MIDI (and its provenance beside it as JSON)."""
from __future__ import annotations

import signal
import threading
from pathlib import Path

from ..errors import InvalidArgument
from .generate import _histogram, _load


def register(sub) -> None:
    p = sub.add_parser("jam", help="play endless new music from a model, live, until Ctrl+C (or --seconds)",
                       description="The model samples a little ahead of what you hear and plays it to the built-in "
                       "synth or a MIDI port until interrupted (Ctrl+C) or --seconds have been heard; every sounding "
                       "note is then ended. Folk models jam tune after tune (each to its end, a bar's rest, then the next) in "
                       "the meter and mode given.")
    p.add_argument("--model", required=True, metavar="NAME|DIR", help="installed model name or model folder")
    p.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"),
                   help="where the model runs (default cpu: one token at a time is fastest there)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--port", metavar="NAME", help="play to this MIDI output (see `studio ports`)")
    out.add_argument("--virtual", action="store_true", help='play to our own virtual MIDI port "Studio"')
    p.add_argument("--seconds", type=float, help="stop after this many seconds (default: until Ctrl+C)")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (default 1.0; 0 = greedy)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k most likely tokens (0: off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1.0: off)")
    p.add_argument("--note-density", type=float, help="performance: notes per second (needs a model trained with it)")
    p.add_argument("--pitch-histogram", type=_histogram, metavar="12 NUMBERS",
                   help="performance: comma-separated weights of C..B (needs a model trained with it)")
    p.add_argument("--primer", metavar="FILE", help="a MIDI/ABC/MusicXML file the jam continues (a folk model: "
                   "the tune's first 4 bars, in its key unless --key is given)")
    p.add_argument("--meter", help="folk: meter, e.g. 6/8")
    p.add_argument("--mode", help="folk: mode, e.g. dor, maj, min, mix")
    p.add_argument("--key", help="folk: tonic to play in, e.g. D")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--ahead", type=float, help="seconds sampled ahead of what is heard: a settings change is heard "
                   "this much later (default 1.5 on a MIDI port, 5 on the built-in synth)")
    p.add_argument("--record", metavar="OUT.mid", help="write what was heard to this MIDI file (+ OUT.json: model, "
                   "settings, seed)")
    p.add_argument("--change", action="append", default=[], metavar="T:NAME=VALUE",
                   help="change a setting T seconds into the jam, e.g. 10:temperature=0.5 (repeatable; for "
                        "scripted jams: in the studio window you turn the knobs yourself)")
    p.set_defaults(func=cmd_jam)


def parse_change(text: str) -> tuple[float, str, object]:
    """`10:temperature=0.5` -> (10.0, "temperature", 0.5)."""
    try:
        when, _, rest = text.partition(":")
        name, _, value = rest.partition("=")
        name = name.strip().replace("-", "_")
        parsed = _histogram(value) if name == "pitch_histogram" else \
            int(value) if name == "top_k" else float(value)
        return float(when), name, parsed
    except Exception:
        raise InvalidArgument(f"--change {text!r}: expected SECONDS:NAME=VALUE, e.g. 10:temperature=0.5") from None


def cmd_jam(args) -> int:
    from ..cli import warn
    from ..generation import Settings
    from ..generation.endless_process import EndlessProcess
    from ..generation.jam import Jam, primed_settings
    from ..playback import Player
    from .files import read_one_piece

    if args.seconds is not None and not args.seconds > 0:
        raise InvalidArgument(f"--seconds must be positive, not {args.seconds}")
    if args.record and Path(args.record).suffix.lower() not in (".mid", ".midi"):
        raise InvalidArgument(f"--record writes a MIDI file (.mid), not {args.record!r}")
    changes = sorted(parse_change(c) for c in args.change)
    directory, model = _load(args)
    settings = Settings(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                        note_density=args.note_density, pitch_histogram=args.pitch_histogram, meter=args.meter,
                        mode=args.mode, key=args.key)
    primer = read_one_piece(args.primer, verb="jamming on") if args.primer else None
    settings = primed_settings(settings, primer, model)
    failed: list[str] = []
    with Player(on_message=warn) as player:
        stream = EndlessProcess(model, directory, settings, primer, device=args.device)  # checks the settings
        jam = Jam(stream, player, ahead=args.ahead, model_name=directory.name,
                  on_error=lambda exc: failed.append(getattr(exc, "reason", str(exc))))
        if args.port:
            player.use_port(args.port)
        elif args.virtual:
            player.use_virtual_port()
        else:
            player.use_builtin()
        stopped = threading.Event()
        # Ctrl+C only asks the loop to end: a KeyboardInterrupt raised in the middle of the player's or the
        # sampler's bookkeeping could leave a lock held or a pipe unread, and the jam would never end.
        previous = signal.signal(signal.SIGINT, lambda *_: stopped.set())
        jam.start()
        print(f"jamming with {directory.name} on {player.output}"
              + (f" for {args.seconds:g} s" if args.seconds else " (Ctrl+C stops)"), flush=True)
        try:
            while not stopped.wait(0.05) and not failed:
                heard = jam.position
                while changes and changes[0][0] <= heard:
                    _, name, value = changes.pop(0)
                    jam.update_settings(**{name: value})
                    print(f"{heard:.1f} s: {name} = {value}", flush=True)
                if args.seconds is not None and heard >= args.seconds:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            jam.stop()
            signal.signal(signal.SIGINT, previous)
    if failed:
        warn(f"the jam stopped: {failed[0]}")
    heard = jam.recording()
    print(f"heard {jam.position:.1f} s, {len(heard.notes)} notes")
    if args.record:
        from ..atomic import write_json

        heard.write(args.record)
        write_json(Path(args.record).with_suffix(".json"),
                   {**jam.provenance(), "model_dir": str(Path(directory).resolve()), "recording": args.record})
        print(f"wrote {args.record}")
    return 1 if failed else 0

