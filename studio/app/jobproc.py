"""The child side of `workers.ProcessJob`: run one job function in its own process.

Protocol (JSON lines; no pickles): the parent writes one line `{"target": "module:function", "args": [...],
"kwargs": {...}, "nice": N}` then, optionally, `stop`. The child answers `{"progress": ...}` lines and ends with one
`{"finished": result}` or `{"failed": message}`. Kept free of Qt so the child starts fast.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback

from ..errors import StudioError


def _emit(kind: str, value) -> None:
    sys.stdout.write(json.dumps({kind: value}, default=str) + "\n")
    sys.stdout.flush()


def resolve(target: str):
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def main() -> int:
    spec = json.loads(sys.stdin.readline())
    if spec.get("nice") and hasattr(os, "nice"):  # background work yields the CPU to the window
        os.nice(int(spec["nice"]))
    stop = threading.Event()

    def watch_stdin() -> None:
        for line in sys.stdin:  # "stop", or end of input when the parent goes away
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        fn = resolve(spec["target"])
        result = fn(*spec.get("args", []), progress=lambda p: _emit("progress", p), stop=stop, **spec.get("kwargs", {}))
    except StudioError as exc:
        _emit("failed", exc.message())
        return 1
    except Exception as exc:  # reported to the window, which shows it
        _emit("failed", f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=6)}")
        return 1
    _emit("finished", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
