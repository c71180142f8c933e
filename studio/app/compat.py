"""A guard against a reference-counting bug in PySide6 6.12 on CPython 3.11.

Measured here: each call to many void QPainter methods (drawLine, drawRect(s), setPen, setBrush, fillRect,
drawImage, drawPolygon, ...) leaves `None` with one reference fewer, so after some thousands of frames the
interpreter frees `None` and aborts ("Fatal Python error: none_dealloc"). CPython 3.12 made None, True and
False immortal, which hides the bug; on older Pythons we do the same by giving them a reference count no
session can exhaust (2**40 lost references is years of painting).
"""
from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40
_done = False


def immortalize_singletons() -> None:
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for obj in (None, True, False, Ellipsis, NotImplemented):
        ctypes.c_ssize_t.from_address(id(obj)).value += _HEADROOM  # ob_refcnt is the object's first field
    _done = True
