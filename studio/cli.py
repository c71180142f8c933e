"""The `studio` command: thin wrappers over the core packages.

Each module in `studio.commands` adds its own subcommands through `register(subparsers)`, so features
stay in their own files. A StudioError (bad file, bad option) becomes one line on stderr and exit status
2; warnings (repairs, skips) go to stderr prefixed "warning:".
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__
from .errors import StudioError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio",
        description="Symbolic-music generation studio: import, encode, train, sample, edit, play. "
        "Run with no command to open the desktop studio.",
    )
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv or _are_files(argv):
        return _open_studio(parser, argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except StudioError as exc:
        print(f"error: {exc.message()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `studio encode x.mid | head`: the reader left; that is not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _are_files(argv: list[str]) -> bool:
    """`studio tune.abc piece.mid`: every argument is an existing file, so open them in the studio."""
    from pathlib import Path

    return all(not a.startswith("-") and Path(a).is_file() for a in argv)


def _open_studio(parser: argparse.ArgumentParser, files: list[str]) -> int:
    """No command: open the desktop studio (with any files given) when the GUI is installed."""
    try:
        from .app.main import run_app  # the GUI is optional at this layer
    except ImportError:
        parser.print_help()
        return 0
    return run_app(files)
