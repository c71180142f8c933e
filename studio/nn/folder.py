"""The model folder: `weights.safetensors` + `model.json`, a model anyone can copy to another machine.

`model.json` is the model card and the recipe: architecture, the codec config with its vocabulary (so ids
mean the same tokens forever), what data it was trained on, steps, final losses, wall time, hardware and
library versions. Weights are safetensors, so loading never unpickles anything.
"""
from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from ..atomic import write_bytes, write_json
from ..errors import StudioError, UnreadableFile, UnsupportedContent
from .model import ModelConfig, SequenceModel

FORMAT = "studio-model"
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
CARD = "model.json"


def library_versions() -> dict:
    import numpy

    from .. import __version__

    return {"studio": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: torch.device | str = "cpu") -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    return f"{cpu_name()}, {os.cpu_count()} CPU cores" + (" + Apple MPS" if device.type == "mps" else "")


def weights_of(model: SequenceModel) -> dict[str, torch.Tensor]:
    """The state dict as safetensors wants it: contiguous CPU tensors, a tied output matrix stored once."""
    state = model.state_dict()
    if model.config.tie_weights:
        state.pop("head.weight")
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def save_model(model: SequenceModel, directory: str | Path, codec_config: dict, card: dict | None = None) -> Path:
    """Write (atomically, file by file) the weights and `model.json` into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_bytes(directory / WEIGHTS, save_safetensors(weights_of(model)))
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "architecture": model.config.to_dict(),
            "parameters": model.parameter_count, "codec": codec_config, **(card or {})}
    info.setdefault("libraries", library_versions())
    write_json(directory / CARD, info)
    return directory


def read_card(directory: str | Path) -> dict:
    """`model.json` of a model folder, checked for the fields loading relies on."""
    directory = Path(directory)
    path = directory / CARD
    if not directory.is_dir():
        raise UnreadableFile(directory, None, "no such model folder")
    if not path.is_file():
        raise UnreadableFile(path, None, "missing: a model folder needs model.json and weights.safetensors")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(path, None, str(exc)) from None
    except json.JSONDecodeError as exc:
        raise UnreadableFile(path, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise UnsupportedContent(path, None, f"not a studio model card (\"format\" should be {FORMAT!r})")
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise UnsupportedContent(path, "format_version", f"version {info['format_version']} is newer than "
                                 f"this studio understands ({FORMAT_VERSION}); update studio")
    for key in ("architecture", "codec"):
        if not isinstance(info.get(key), dict):
            raise UnsupportedContent(path, key, "missing or not a JSON object")
    vocab = info["codec"].get("vocab")
    if not isinstance(vocab, list) or "codec" not in info["codec"]:
        raise UnsupportedContent(path, "codec", "the codec config needs \"codec\" and \"vocab\"")
    arch = info["architecture"]
    if arch.get("vocab_size") != len(vocab):
        raise UnsupportedContent(path, "architecture.vocab_size",
                                 f"{arch.get('vocab_size')} does not match the codec vocabulary of {len(vocab)} tokens")
    return info


def load_model(directory: str | Path, device: torch.device | str = "cpu") -> SequenceModel:
    """The model of a folder, in eval mode, with `.card` (model.json) and `.codec_config` attached.

    Every way a folder can be wrong (missing file, bad JSON, weights that do not fit the architecture)
    raises a StudioError naming the file and what is wrong.
    """
    directory = Path(directory)
    info = read_card(directory)
    try:
        config = ModelConfig.from_dict(info["architecture"])
    except (StudioError, TypeError) as exc:
        reason = exc.reason if isinstance(exc, StudioError) else str(exc)
        raise UnsupportedContent(directory / CARD, "architecture", reason) from None
    weights_path = directory / WEIGHTS
    if not weights_path.is_file():
        raise UnreadableFile(weights_path, None, "missing: a model folder needs model.json and weights.safetensors")
    try:
        tensors = load_safetensors(weights_path.read_bytes())
    except (SafetensorError, OSError, ValueError) as exc:
        raise UnreadableFile(weights_path, None, f"not readable safetensors ({exc})") from None
    model = SequenceModel(config)
    expected = weights_of(model)
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(extra)}"] if extra else [])
        raise UnsupportedContent(weights_path, None, f"weights do not fit the architecture in {CARD}: " + "; ".join(parts))
    for name in expected:  # in the model's own order, so the first layer that does not fit is named
        tensor = tensors[name]
        if tensor.shape != expected[name].shape:
            raise UnsupportedContent(weights_path, name, f"shape {tuple(tensor.shape)} does not fit the architecture "
                                     f"in {CARD} (expected {tuple(expected[name].shape)})")
    model.load_state_dict(tensors, strict=not config.tie_weights)
    model.card = info
    model.codec_config = info["codec"]
    return model.to(device).eval()


@dataclass
class InstalledModel:
    name: str
    path: Path
    shipped: bool
    card: dict | None  # None when the folder is broken; then `error` says why
    error: str | None = None


def list_models() -> list[InstalledModel]:
    """Shipped models (`studio.models`) and the user's (`studio_home()/models`), each with its card."""
    found = []
    for is_shipped, root in _roots():
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / CARD).exists()):
            try:
                found.append(InstalledModel(folder.name, folder, is_shipped, read_card(folder)))
            except StudioError as exc:
                found.append(InstalledModel(folder.name, folder, is_shipped, None, exc.message()))
    return found


def _roots() -> tuple[tuple[bool, Path], ...]:
    """(shipped?, folder) of the places models are installed."""
    from ..paths import shipped_path, user_dir

    return (True, shipped_path("models")), (False, user_dir("models"))


def find_model(name_or_path: str | Path) -> Path:
    """A model folder given as a path, or by the name of an installed model."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    for _, root in _roots():  # shipped first, as `studio models` lists them
        if (root / str(name_or_path) / CARD).is_file():
            return root / str(name_or_path)
    raise UnreadableFile(path, None, "no such model folder or installed model (see `studio models`)")
