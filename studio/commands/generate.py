"""`studio generate`, `studio continue`, `studio regenerate` and `studio evaluate-samples`."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path



def register(sub) -> None:
    p = sub.add_parser("generate", help="sample new pieces from a model (MIDI; ABC too for folk models)",
                       description="Writes N candidates into OUTDIR, named model_NNN_seedS_T..., and "
                       "OUTDIR/generation.json (model, every setting, each candidate's seed, tokens and files).")
    _model_options(p)
    p.add_argument("-n", type=int, default=8, help="number of candidates (default 8)")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR")
    _sampling_options(p)
    p.add_argument("--bars", type=int, help="folk: bars to sample (after any --start notes)")
    p.add_argument("--meter", help="folk: meter token to start with, e.g. 6/8")
    p.add_argument("--mode", help="folk: mode, e.g. dor (dorian), maj, min, mix")
    p.add_argument("--start", metavar="ABC", help="folk: the tune's opening notes in ABC, e.g. \"|: G A B c\"")
    p.add_argument("--key", help="folk: render in this key (tonic, e.g. D, F#, Bb); --start notes are read in it")
    p.add_argument("--primer", metavar="FILE", help="performance: a MIDI file to continue")
    p.add_argument("--primer-seconds", type=float, help="performance: how much of the primer to use (default all)")
    p.add_argument("--note-density", type=float, help="performance: notes per second (needs a model trained with it)")
    p.add_argument("--pitch-histogram", type=_histogram, metavar="12 NUMBERS",
                   help="performance: comma-separated weights of C..B (needs a model trained with it)")
    p.set_defaults(func=cmd_generate)

    for name, helptext in (("continue", "continue a piece from a point with a model"),
                           ("regenerate", "replace a span of a piece with newly sampled material")):
        p = sub.add_parser(name, help=helptext, description=f"{helptext[0].upper()}{helptext[1:]}. Points are "
                           "seconds for performance models and bar numbers (from 1) for folk models.")
        p.add_argument("file", metavar="FILE")
        _model_options(p)
        p.add_argument("--from", dest="point", type=float, required=True, metavar="A",
                       help="seconds (performance) or first bar (folk)")
        if name == "regenerate":
            p.add_argument("--to", dest="until", type=float, required=True, metavar="B",
                           help="seconds (performance, exclusive) or last bar (folk, inclusive)")
        p.add_argument("-n", type=int, default=1, help="number of versions (default 1)")
        p.add_argument("-o", "--out", required=True, metavar="OUT", help="output folder")
        p.add_argument("--tune", metavar="X", help="which tune of an ABC book (its X: number)")
        p.add_argument("--context-seconds", type=float, default=30.0,
                       help="performance: how much music before the point the model hears (default 30)")
        _sampling_options(p)
        p.set_defaults(func=cmd_edit, edit=name)

    p = sub.add_parser("evaluate-samples", help="musical checks of a folder written by `studio generate`")
    p.add_argument("folder", metavar="OUTDIR")
    p.add_argument("--corpus", metavar="NAME", help="training corpus for the copy check (default: the model's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate_samples)


def _model_options(p) -> None:
    p.add_argument("--model", required=True, metavar="NAME|DIR", help="installed model name or model folder")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))


def _sampling_options(p) -> None:
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (default 1.0; 0 = greedy)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k most likely tokens (0: off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1.0: off)")
    p.add_argument("--max-tokens", type=int, help="most tokens sampled per candidate")
    p.add_argument("--seconds", type=float, help="performance: seconds of new music (default 30)")
    p.add_argument("--seed", type=int, default=1, help="candidate i uses seed + i (default 1)")
    p.add_argument("--beam-size", type=int, help="beam search (Magenta's): beams kept after each iteration "
                   "(any of the three beam options turns it on; 1 with branch factor 1 is plain sampling)")
    p.add_argument("--branch-factor", type=int, help="beam search: sampled branches of every beam per iteration")
    p.add_argument("--steps-per-iteration", type=int, help="beam search: tokens sampled between prunings")
    p.add_argument("--no-guard", dest="guard", action="store_false",
                   help="sample the model's raw choices; by default the codec's grammar is kept (folk: every bar "
                        "to the meter, chords, tuplets and repeats well-formed; performance: a key is released "
                        "only if it is down, the model still choosing when)")


def _histogram(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 12:
        raise argparse.ArgumentTypeError(f"needs 12 comma-separated numbers, not {text!r}")
    return values


def _settings(args):
    from ..generation import Settings

    return Settings.from_dict({k: v for k, v in vars(args).items() if v is not None})


def _load(args):
    from ..nn import find_model, load_model
    from ..training import pick_device

    directory = find_model(args.model)
    return directory, load_model(directory, pick_device(args.device))


class ProgressBar:
    """A tqdm bar driven by `progress(done, total, unit)` callbacks (made on the first one, when the total
    and unit are known)."""

    def __init__(self):
        self.bar = None

    def __call__(self, done, total, unit):
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, unit=unit, dynamic_ncols=True, file=sys.stderr, leave=False,
                            bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} {unit} [{elapsed}<{remaining}]")
        self.bar.update(min(done, total) - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _command_line() -> str:
    return "studio " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _report(record: dict, out: str) -> None:
    from ..cli import warn

    for cand in record["candidates"]:
        print(f"{Path(out) / cand['files'][0]}  seed {cand['seed']}, {cand['notes']} notes, "
              f"{cand['seconds']:.1f} s, ended by {cand['ended']}")
        for w in cand["warnings"]:
            warn(f"{cand['files'][0]}: repaired: {w}")


def cmd_generate(args) -> int:
    from ..generation import Generation
    from ..generation.output import write_candidates

    directory, model = _load(args)
    settings = _settings(args)
    primer = None
    if args.primer:
        from ..music import Piece

        primer = Piece.read(args.primer)
    gen = Generation(model, args.n, settings, primer=primer)
    progress = ProgressBar()
    try:
        candidates = gen.run(progress)
    finally:
        progress.close()
    extra = {"n": args.n, "primer": str(Path(args.primer).resolve()) if args.primer else None}
    record = write_candidates(args.out, candidates, settings, directory, gen.codec, _command_line(), extra)
    _report(record, args.out)
    return 0


def cmd_edit(args) -> int:
    from ..codecs import codec_from_config
    from ..generation.edit import continue_piece, regenerate
    from ..generation.output import write_candidates
    from .files import read_one_piece

    directory, model = _load(args)
    codec = codec_from_config(model.codec_config)
    piece = read_one_piece(args.file, args.tune, verb="editing")
    settings = _settings(args)
    progress = ProgressBar()
    start = codec.parse_point(args.point)
    try:
        if args.edit == "continue":
            candidates = continue_piece(piece, model, start, settings, args.n, args.context_seconds, progress)
        else:
            end = codec.parse_point(args.until)
            candidates = regenerate(piece, model, start, end, settings, args.n, args.context_seconds, progress)
    finally:
        progress.close()
    span = {"file": str(Path(args.file).resolve()), "from": args.point, "to": getattr(args, "until", None),
            "unit": codec.unit, "tune": args.tune}
    record = write_candidates(args.out, candidates, settings, directory, codec, _command_line(),
                              {"n": args.n, args.edit: span}, kind=args.edit)
    _report(record, args.out)
    return 0


def cmd_evaluate_samples(args) -> int:
    from ..generation.evaluate import evaluate_samples, format_report

    report = evaluate_samples(args.folder, args.corpus)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
