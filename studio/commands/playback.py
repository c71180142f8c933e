"""`studio play` and `studio ports`: hear a file on the built-in synth or a MIDI output, list the outputs."""
from __future__ import annotations

import threading

from ..cli import warn
from ..errors import InvalidArgument
from .files import read_one_piece


def register(sub) -> None:
    p = sub.add_parser("play", help="play a MIDI, ABC or MusicXML file (built-in synth, or a MIDI port)")
    p.add_argument("file", metavar="FILE")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--port", metavar="NAME", help="play to this MIDI output (a unique part of its name will do; see `studio ports`)")
    out.add_argument("--virtual", action="store_true", help='play to our own virtual MIDI port "Studio" (not on Windows)')
    p.add_argument("--channel", type=int, metavar="1-16", help="send every pitched note on this MIDI channel")
    p.add_argument("--program", type=int, metavar="0-127", help="General MIDI program (instrument) for the pitched notes")
    p.add_argument("--loop", action="store_true", help="play over and over until interrupted (Ctrl+C)")
    p.add_argument("--tempo", type=float, default=1.0, metavar="X", help="tempo scale: 2 plays twice as fast (default 1)")
    p.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="start this far into the piece")
    p.add_argument("--soundfont", metavar="SF2", help="SoundFont for the built-in synth (default: the bundled General MIDI set)")
    p.add_argument("--tune", metavar="X", help="which tune of an ABC book (its X: number; default the first)")
    p.set_defaults(func=cmd_play)

    p = sub.add_parser("ports", help="list the MIDI output ports `studio play --port` can use")
    p.set_defaults(func=cmd_ports)


def cmd_ports(args) -> int:
    from ..playback import list_output_ports

    names = list_output_ports()
    for name in names:
        print(name)
    if not names:
        print("no MIDI output ports (start a synth or connect a device; `studio play --virtual` offers a port)")
    return 0


def cmd_play(args) -> int:
    from tqdm import tqdm

    from ..playback import Player

    if args.channel is not None and not 1 <= args.channel <= 16:
        raise InvalidArgument(f"--channel must be 1-16, not {args.channel}")
    channel = None if args.channel is None else args.channel - 1
    piece = read_one_piece(args.file, args.tune, verb="playing")
    done = threading.Event()

    def on_state(state: str) -> None:
        if state in ("ended", "stopped"):
            done.set()

    with Player(piece, soundfont=args.soundfont, on_state=on_state, on_message=warn) as player:
        if args.port:
            player.use_port(args.port, channel, args.program)
        elif args.virtual:
            player.use_virtual_port(channel, args.program)
        else:
            player.use_builtin()
        player.set_tempo_scale(args.tempo)
        if args.loop:
            player.set_loop(0.0, max(player.duration, 1e-3))
        player.seek(args.start)
        print(f"playing {args.file} on {player.output}" + (" (looping; Ctrl+C stops)" if args.loop else ""))
        with tqdm(total=round(player.duration, 1), unit="s", disable=None, leave=False,
                  bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s") as bar:
            player.play()
            while not done.wait(0.1):
                bar.n = round(min(player.position, player.duration), 1)
                bar.refresh()
    return 0
