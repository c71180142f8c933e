"""Codecs: Piece <-> token ids. `get_codec(name)` for a default codec, `codec_from_config(cfg)` to rebuild
the exact codec a corpus or model was made with."""
from __future__ import annotations

import importlib

from ..errors import InvalidArgument
from .base import BOS, EOS, PAD, Codec, Encoded, FileReport, Skipped

# name -> "module:Class"; modules are imported on first use so `import studio.codecs` stays light.
CODECS = {
    "folk": "studio.codecs.folk:FolkCodec",
    "performance": "studio.codecs.performance:PerformanceCodec",
    "remi": "studio.codecs.remi:RemiCodec",
}


def available() -> list[str]:
    return sorted(CODECS)


def _class(name: str):
    try:
        module, cls = CODECS[name].split(":")
    except KeyError:
        raise InvalidArgument(f"unknown codec {name!r}; available: {', '.join(available()) or 'none'}") from None
    return getattr(importlib.import_module(module), cls)


def get_codec(name: str, **options) -> Codec:
    """The named codec with its default configuration (options override single parameters)."""
    return _class(name).default(**options)


def parse_options(pairs: list[str] | None) -> dict:
    """`KEY=VALUE` strings from the command line as codec options; values are JSON where they parse
    (`wide=true`, `velocity_bins=16`, `meters=["M:5/4"]`), else plain strings."""
    import json

    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"codec option {pair!r} is not KEY=VALUE")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options


def guess_codec(sources: list[str]) -> str:
    """The codec to import `sources` with: the first registered one that reads them all (else one that
    reads any; else the first)."""
    for test in (all, any):
        for name in CODECS:
            if test(_class(name).reads(str(s)) for s in sources):
                return name
    return next(iter(CODECS))


def codec_for_piece(piece) -> Codec:
    """The default codec of the first registered kind that suits an open piece (`Codec.fits`)."""
    for name in CODECS:
        codec = get_codec(name)
        if codec.fits(piece):
            return codec
    return get_codec(next(iter(CODECS)))


def codec_from_config(config: dict) -> Codec:
    """Rebuild a codec from a saved config (as stored with corpora and models)."""
    return _class(config["codec"])(config)


__all__ = ["Codec", "Encoded", "Skipped", "FileReport", "get_codec", "codec_from_config", "parse_options", "available", "guess_codec",
           "codec_for_piece", "PAD", "BOS", "EOS"]
