"""What a musician checks first in a folder of samples (written by `studio generate`, read back from the
tokens recorded in `generation.json`): the figures are the codec's (`Codec.evaluate`, e.g. valid and
playable tunes and copying for folk, note rate and polyphony for performances); this module reads the
folder and prints the report.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..codecs import codec_from_config, get_codec
from ..errors import StudioError
from .output import read_record


def evaluate_samples(out_dir: str | Path, corpus: str | None = None) -> dict:
    """A report (JSON-ready dict) for the candidates recorded in `out_dir/generation.json`."""
    record = read_record(out_dir)
    codec = _codec(record)
    tokens = [np.asarray(c["tokens"], dtype=np.int64) for c in record["candidates"]]
    report = {"folder": str(out_dir), "model": record["model"]["name"], "codec": codec.name, "candidates": len(tokens)}
    report.update(codec.evaluate(tokens, corpus, record["model"].get("corpus")))
    return report


def _codec(record: dict):
    from ..nn import read_card

    try:
        return codec_from_config(read_card(record["model"]["path"])["codec"])
    except StudioError:  # the model folder moved: the default vocabulary of the recorded codec
        return get_codec(record["model"]["codec"])


def format_report(report: dict) -> str:
    """The report as lines a person reads."""
    lines = [f"{report['candidates']} candidates from {report['model']} ({report['codec']}) in {report['folder']}"]
    for key, value in report.items():
        if key in ("folder", "model", "codec", "candidates"):
            continue
        if isinstance(value, float):
            value = f"{value:.3f}"
        elif isinstance(value, dict) and "mean" in value:
            value = f"mean {value['mean']:g}, min {value['min']:g}, max {value['max']:g} {value.get('unit', '')}".rstrip()
        lines.append(f"  {key.replace('_', ' ')}: {value}")
    return "\n".join(lines)
