"""`studio corpus add|list|show|remove|builtins`: tokenized corpora under STUDIO_HOME."""
from __future__ import annotations

import argparse
import json
import sys

from ..cli import warn
from ..errors import InvalidArgument


class _IntermixedParser(argparse.ArgumentParser):
    """Accepts options between positionals (`corpus add NAME --codec performance PATH...`)."""

    _inside = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inside:
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def register(sub) -> None:
    p = sub.add_parser("corpus", help="import files into tokenized corpora and look at them")
    cmds = p.add_subparsers(dest="corpus_command", metavar="ACTION", parser_class=_IntermixedParser)
    p.set_defaults(func=lambda args: p.print_help() or 2)

    a = cmds.add_parser("add", help="import files and folders (recursively) into a corpus; re-running is cached",
                        description="Import MIDI performances or ABC books into corpus NAME. Adding to an existing "
                                    "corpus keeps its sources and codec settings; unchanged files come from the cache.")
    a.add_argument("name", metavar="NAME")
    a.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    a.add_argument("--codec", help="performance (MIDI) or folk (ABC); required for a new corpus")
    a.add_argument("--builtin", action="append", default=[], metavar="NAME",
                   help="a music21 collection or preset (see `studio corpus builtins`); repeatable")
    a.add_argument("--codec-option", "-O", action="append", default=[], metavar="KEY=VALUE",
                   help="a codec setting for a new corpus, e.g. -O wide=true (folk: more meters, modes and ties)")
    a.add_argument("--group", metavar="REGEX",
                   help="split train/valid/test by group, not by piece: files whose names (without extension) give "
                        "the same match (its first capture group, if any) share a split; e.g. for ASAP's "
                        "Composer__Group__Piece__Performer.mid, --group '^(.*)__' keys on everything before the "
                        "last '__' (one piece, all its performers)")
    a.add_argument("--replace", action="store_true", help="start afresh instead of adding to an existing corpus")
    a.add_argument("--workers", type=int, default=None, help="encoding processes (default: one per core)")
    a.set_defaults(func=cmd_add)

    c = cmds.add_parser("list", help="the corpora you have")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_list)

    c = cmds.add_parser("show", help="what a corpus holds and how it was made")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--json", action="store_true", help="print corpus.json")
    c.set_defaults(func=cmd_show)

    c = cmds.add_parser("remove", help="delete a corpus")
    c.add_argument("name", metavar="NAME")
    c.set_defaults(func=cmd_remove)

    c = cmds.add_parser("builtins", help="music21's built-in folk collections you can import offline")
    c.set_defaults(func=cmd_builtins)


def cmd_add(args) -> int:
    from ..codecs import get_codec, parse_options
    from ..corpus.builtin import PREFIX
    from ..corpus.importer import absolute_sources, import_corpus
    from ..corpus.store import Corpus, check_group_pattern, corpus_dir

    sources = [str(p) for p in args.paths] + [PREFIX + b for b in args.builtin]
    split = None
    existing = None if args.replace or not (corpus_dir(args.name) / "corpus.json").is_file() else Corpus.open(args.name)
    if existing is not None:
        used = existing.meta["codec"]["codec"]
        if args.codec and args.codec != used:
            raise InvalidArgument(f"corpus {args.name!r} uses the {used} codec, not {args.codec}; "
                                  f"choose another name or pass --replace")
        codec = existing.codec
        sources = absolute_sources(existing.sources + sources)
        split = dict(existing.meta.get("split") or {})
        if args.group is not None and args.group != split.get("group"):
            raise InvalidArgument(f"corpus {args.name!r} was split {_split_rule(split)}; pass --replace to "
                                  f"split it by --group {args.group!r}")
    else:
        if not args.codec:
            raise InvalidArgument("a new corpus needs --codec (performance or folk)")
        if not sources:
            raise InvalidArgument("nothing to import: give files, folders or --builtin NAME")
        codec = get_codec(args.codec, **parse_options(args.codec_option))
        if args.group is not None:
            check_group_pattern(args.group)
            split = {"group": args.group}

    from tqdm import tqdm

    bar = tqdm(desc=f"importing {args.name}", unit="file", file=sys.stderr, dynamic_ncols=True)

    def progress(done: int, total: int, path: str) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        report = import_corpus(args.name, codec, sources, progress=progress, workers=args.workers, split=split)
    finally:
        bar.close()
    for s in report.skipped:
        warn(s.reason if s.reason.startswith(s.label) else f"{s.label}: {s.reason}")
    for w in report.repairs:
        warn(w)
    print(report.summary())
    if report.warnings:
        warn(f"{report.warnings} warning(s): {len(report.skipped)} file(s) or piece(s) skipped, "
             f"{len(report.repairs)} repaired")
    return 0


def cmd_list(args) -> int:
    from ..corpus.store import list_corpora

    corpora = list_corpora()
    if args.json:
        print(json.dumps([{"name": c.name, "path": str(c.path), "codec": c.meta["codec"]["codec"], **c.stats}
                          for c in corpora]))
        return 0
    if not corpora:
        print("no corpora yet (add one with `studio corpus add NAME --codec performance FOLDER`)")
    for c in corpora:
        s = c.stats
        print(f"{c.name:24} {c.meta['codec']['codec']:12} {s.get('pieces', 0):>7} pieces "
              f"{s.get('events', 0):>11} events {s.get('hours', 0):>8.2f} h   {c.meta.get('created', '')}")
    return 0


def cmd_show(args) -> int:
    from ..corpus.store import Corpus

    c = Corpus.open(args.name)
    if args.json:
        print(json.dumps(c.meta, indent=2))
        return 0
    s, codec = c.stats, c.codec
    options = {k: v for k, v in c.meta["codec"].items() if k not in ("codec", "vocab")}
    lines = [
        f"corpus {c.name}",
        f"  folder:   {c.path}",
        f"  created:  {c.meta.get('created', '')}",
        f"  codec:    {codec.name} ({codec.vocab_size} tokens) {json.dumps(options)}",
        f"  pieces:   {s.get('pieces', len(c))} from {s.get('files', '?')} files "
        f"({s.get('skipped', 0)} skipped at import)",
        f"  notes:    {s.get('notes', 0)}",
        f"  events:   {s.get('events', len(c.ids))}",
        f"  music:    {s.get('hours', 0):.2f} hours",
        f"  split:    {_split_rule(c.meta.get('split') or {})}: " + ", ".join(
            f"{k} " + (f"{v['groups']} groups / " if "groups" in v else "") + f"{v['pieces']} pieces / "
            f"{v['events']} events" for k, v in s.get("splits", {}).items()),
        "  sources:  " + ("\n            ".join(c.sources) or "(none)"),
    ]
    if (c.meta.get("split") or {}).get("group"):
        lines += _groups_by_split(c)
    print("\n".join(lines))
    return 0


def _split_rule(split: dict) -> str:
    if split.get("group"):
        return f"by group (--group {split['group']!r})"
    return "by piece (hash of its tokens)"


def _groups_by_split(corpus) -> list[str]:
    """The valid and test groups by name (train is the rest): what the model is never trained on."""
    from ..corpus.store import SPLIT_NAMES

    names: dict[str, set] = {}
    for row, record in zip(corpus.pieces["split"], corpus.records()):
        names.setdefault(SPLIT_NAMES[int(row)], set()).add(record.get("group") or f"#{record['label']}")
    out = []
    for split in ("valid", "test"):
        groups = sorted(names.get(split, ()))
        out.append(f"  {split} groups ({len(groups)}): " + ("; ".join(groups) or "(none)"))
    return out


def cmd_remove(args) -> int:
    from ..corpus.store import remove_corpus

    path = remove_corpus(args.name)
    print(f"removed corpus {args.name} ({path})")
    return 0


def cmd_builtins(args) -> int:
    from ..corpus.builtin import builtin_collections

    for c in builtin_collections():
        print(f"{c['name']:16} {c['tunes']:>6} tunes {len(c['files']):>5} files   {c['title']}")
    print("import with: studio corpus add NAME --codec folk --builtin NAME")
    return 0
