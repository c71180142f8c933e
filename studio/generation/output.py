"""Candidates on disk: files named so they sort and say what made them, and `generation.json`, which records
the model, every setting and each candidate's seed, tokens and files, so any candidate can be made again."""
from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

from ..atomic import write_json
from ..errors import UnreadableFile, UnsupportedContent
from .sampler import Candidate, Settings

RECORD = "generation.json"
FORMAT = "studio-generation"


def model_fingerprint(model_dir: str | Path) -> str:
    """sha256 of the weights file (first 16 hex digits): which exact weights made a sample."""
    digest = hashlib.sha256()
    with open(Path(model_dir) / "weights.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def candidate_stem(model_name: str, cand: Candidate, settings: Settings, kind: str = "") -> str:
    """e.g. `folk-rnn_003_seed44_T1_k5_p0.9` : model, number, seed, temperature and filters."""
    parts = [re.sub(r"[^A-Za-z0-9.+-]+", "-", model_name).strip("-") or "model", kind, f"{cand.index + 1:03d}",
             f"seed{cand.seed}", f"T{settings.temperature:g}"]
    if settings.top_k:
        parts.append(f"k{settings.top_k}")
    if settings.top_p < 1:
        parts.append(f"p{settings.top_p:g}")
    return "_".join(p for p in parts if p)


def write_candidates(out_dir: str | Path, candidates: list[Candidate], settings: Settings, model_dir: str | Path,
                     codec, command: str, extra: dict | None = None, kind: str = "") -> dict:
    """Write each candidate (the codec's files: .mid, and .abc for ABC tunes) and `generation.json`; returns the record."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_dir = Path(model_dir)
    rows = []
    for cand in candidates:
        stem = candidate_stem(model_dir.name, cand, settings, kind)
        piece = cand.piece
        files = codec.write_sample(piece, out, stem)
        rows.append({"index": cand.index, "seed": cand.seed, "files": files, "ended": cand.ended,
                     "notes": int(len(piece.notes)), "seconds": round(float(piece.duration), 3),
                     "prefix_tokens": len(cand.prefix), "suffix_tokens": len(cand.suffix),
                     "tokens": cand.tokens.tolist(), "warnings": list(piece.warnings),
                     **({"log_likelihood": round(cand.score, 4)} if cand.score is not None else {})})
    record = {"format": FORMAT, "format_version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "command": command, "model": {"name": model_dir.name, "path": str(model_dir.resolve()),
                                            "weights_sha256": model_fingerprint(model_dir), "codec": codec.name,
                                            "corpus": _corpus_of(model_dir)},
              "settings": settings.to_dict(), **(extra or {}), "candidates": rows}
    write_json(out / RECORD, record)
    return record


def _corpus_of(model_dir: Path) -> str | None:
    try:
        card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (card.get("training") or {}).get("corpus")


def read_record(out_dir: str | Path) -> dict:
    path = Path(out_dir) / RECORD
    if not path.is_file():
        raise UnreadableFile(path, None, f"missing: not a folder written by `studio generate` (no {RECORD})")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, or not JSON (the message says where)
        raise UnreadableFile(path, None, f"not a readable JSON file ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise UnsupportedContent(path, None, f"not a generation record (\"format\" should be {FORMAT!r})")
    return record


__all__ = ["write_candidates", "read_record", "candidate_stem", "RECORD"]
