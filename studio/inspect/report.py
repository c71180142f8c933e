"""`studio inspect`'s output: `inspect.json` (every token with its surprise, time and top 5) and PNG plots
(surprise over time; the top-ranked cells over their feature), drawn with matplotlib (no display needed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import write_bytes, write_json
from . import Inspection, inspect_ids

FORMAT = "studio-inspect"


def read_file_pieces(path: str | Path, codec) -> list[tuple[str, np.ndarray, object, str | None]]:
    """(title, body ids, piece or None, text or None) for every piece of a file the model's codec reads
    (`Codec.file_pieces`: an ABC book gives one per tune it can encode). Raises a StudioError naming the file when none encode."""
    return codec.file_pieces(path)


def piece_json(ins: Inspection, cells: int = 0) -> dict:
    d = {"title": ins.title, "tokens_scored": len(ins.run.surprise), "nll": round(ins.nll, 5),
         "nll_per_token": round(ins.nll_per_token, 5), "tokens": ins.entries()}
    if cells:
        d["cells"] = [c.to_dict() for c in ins.cells(cells)]
    return d


def inspect_file(model, path: str | Path, out_dir: str | Path, cells: int = 4, model_name: str = "") -> dict:
    """Inspect every piece of `path`, write `out_dir/inspect.json` and the plots; returns the summary
    (`--json`): mean NLL per token, the ten most surprising places, the files written."""
    from ..codecs import codec_from_config

    codec = codec_from_config(model.codec_config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces = [inspect_ids(model, ids, piece, abc, title, keep_activations=cells > 0)
              for title, ids, piece, abc in read_file_pieces(path, codec)]
    head = {"format": FORMAT, "file": str(path), "model": model_name, "codec": codec.name,
            "units": "nats"}
    if len(pieces) == 1:
        doc = head | piece_json(pieces[0], cells)
    else:
        doc = head | {"pieces": [piece_json(p, cells) for p in pieces]}
    written = [out_dir / "inspect.json"]
    write_json(written[0], doc, indent=1 if sum(len(p.run.surprise) for p in pieces) < 5000 else None)
    for k, ins in enumerate(pieces):
        suffix = "" if len(pieces) == 1 else f"-{k + 1}"
        written.append(out_dir / f"surprise{suffix}.png")
        write_bytes(written[-1], surprise_png(ins))
        if cells > 0 and ins.run.hidden:
            found = ins.cells(cells)
            if found:
                written.append(out_dir / f"cells{suffix}.png")
                write_bytes(written[-1], cells_png(ins, found))
    total = sum(p.nll for p in pieces)
    count = sum(len(p.run.surprise) for p in pieces)
    places = sorted(((p.title, place) for p in pieces for place in p.most_surprising(10)),
                    key=lambda x: -x[1]["surprise"])[:10]
    return {"file": str(path), "model": model_name, "pieces": len(pieces), "tokens": count,
            "nll_per_token": round(total / count, 5) if count else None,
            "most_surprising": [{"piece": title, **place} for title, place in places],
            "written": [str(p) for p in written]}


# ---------------------------------------------------------------------------------------------- plots
def _figure(rows: int = 1, height: float = 3.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, height * rows), dpi=100, layout="constrained")
    return fig, [fig.add_subplot(rows, 1, r + 1) for r in range(rows)]


def _png(fig) -> bytes:
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _x(ins: Inspection, n: int) -> tuple[np.ndarray, str]:
    times = ins.tmap.time
    if times is not None and n <= len(times) and not np.isnan(times[:n]).all():
        return np.asarray(times[:n]), "time (s)"
    return np.arange(n), "token"


def surprise_png(ins: Inspection) -> bytes:
    fig, (ax,) = _figure(1, 3.2)
    s = ins.run.surprise[:-1]
    x, label = _x(ins, len(s))
    ax.plot(x, s, lw=0.6, color="#9e9e9e", label="per token")
    if len(s) >= 8:
        w = max(3, len(s) // 100)
        smooth = np.convolve(s, np.ones(w) / w, mode="same")
        ax.plot(x, smooth, lw=1.6, color="#c62828", label=f"mean of {w}")
    for place in ins.most_surprising(5):
        t = place["index"]
        if t < len(s):
            ax.annotate(place["token"], (x[t], s[t]), fontsize=8, xytext=(0, 3), textcoords="offset points")
    ax.set_xlabel(label)
    ax.set_ylabel("surprise (nats)")
    ax.set_title(f"{ins.title or 'piece'}: {ins.nll_per_token:.3f} nats/token over {len(ins.run.surprise)} tokens")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def cells_png(ins: Inspection, cells) -> bytes:
    fig, axes = _figure(len(cells), 2.2)
    x, label = _x(ins, len(ins.run.ids))
    for ax, cell in zip(axes, cells):
        ax.plot(x, ins.run.activation(cell.layer, cell.kind, cell.unit), lw=0.9, color="#1565c0")
        ax.set_ylabel(f"L{cell.layer} {cell.kind}[{cell.unit}]", color="#1565c0")
        twin = ax.twinx()
        twin.plot(x, ins.tmap.features[cell.feature], lw=0.8, color="#ef6c00", alpha=0.8)
        twin.set_ylabel(cell.feature, color="#ef6c00")
        ax.set_title(f"{cell.label}: r = {cell.r:+.2f} with {cell.feature}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(label)
    return _png(fig)
