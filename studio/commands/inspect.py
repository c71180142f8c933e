"""`studio inspect`: how surprised a model is by each token of a file, what it expected, and its cells."""
from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("inspect", help="per-token surprise, top-5 predictions and LSTM cells of a model on a file",
                       description="Writes DIR/inspect.json (every token: surprise in nats, time, top 5 "
                       "predictions) and PNG plots (surprise over time; the cells that best follow a musical feature).")
    p.add_argument("file", metavar="FILE", help="a MIDI, ABC or MusicXML file the model's codec reads")
    p.add_argument("--model", required=True, metavar="M", help="model folder or installed model name")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--cells", type=int, default=4, metavar="N", help="plot the N top-ranked cells (0: none)")
    p.add_argument("--json", action="store_true", help="print a JSON summary: mean NLL, most surprising places")
    p.set_defaults(func=cmd_inspect)


def cmd_inspect(args) -> int:
    from ..errors import InvalidArgument, UnreadableFile
    from ..inspect.report import inspect_file
    from ..nn import find_model, load_model

    if args.cells < 0:
        raise InvalidArgument("--cells must be 0 or more")
    if not Path(args.file).is_file():  # before loading the model: a typo should not wait for torch
        raise UnreadableFile(args.file, None, "no such file")
    path = find_model(args.model)
    summary = inspect_file(load_model(path), args.file, args.out, cells=args.cells, model_name=str(args.model))
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{args.file}: {summary['pieces']} piece(s), {summary['tokens']} tokens, "
          f"NLL {summary['nll_per_token']:.4f} nats/token under {args.model}")
    print("most surprising:")
    for place in summary["most_surprising"]:
        when = f" at {place['time']:.2f} s" if place["time"] is not None else ""
        print(f"  {place['surprise']:6.2f} nats  {place['token']!s:>12} (token {place['index']}{when}); "
              f"expected {' '.join(place['expected'])}")
    print("wrote " + ", ".join(summary["written"]))
    return 0
