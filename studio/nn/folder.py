"""The model folder: `weights.safetensors` + `model.json`, a model anyone can copy to another machine.

`model.json` is the model card and the recipe: architecture, the codec config with its vocabulary (so ids
mean the same tokens forever), what data it was trained on, steps, final losses, wall time, hardware and
library versions. Weights are safetensors, so loading never unpickles anything.
"""
from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_safetensors

from ..atomic import write_bytes, write_json
from ..errors import StudioError, UnreadableFile, UnsupportedContent, shown
from ..limits import (MAX_ARCHITECTURE, MAX_CARD_BYTES, MAX_CARD_TEXT, MAX_PARAMETERS, MAX_TOKEN_CHARS, MAX_VOCAB, MAX_WEIGHTS_BYTES,
                      check_file, parse_json, read_bytes, what_is)
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
    return {k: v.detach().to("cpu").contiguous() for k, v in stored_state(model).items()}


def write_half_weights(source: str | Path, destination: str | Path) -> None:
    """A weights file again in float16 (atomically): how the shipped models are stored, half the size with
    the same held-out NLL to four decimals; `read_weights` gives float32 back."""
    from safetensors.torch import load_file

    write_bytes(destination, save_safetensors({k: v.half().contiguous() for k, v in load_file(str(source)).items()}))


def stored_state(model: SequenceModel) -> dict[str, torch.Tensor]:
    """The tensors a weights file holds (a tied output matrix is the embedding's, stored once)."""
    state = model.state_dict()
    if model.config.tie_weights:
        state.pop("head.weight")
    return state


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
    """`model.json` of a model folder, checked for the fields loading and listing rely on (types, sizes)."""
    directory = Path(directory)
    path = directory / CARD
    if not directory.is_dir():
        raise UnreadableFile(directory, None, "no such model folder")
    if what_is(path) == "missing":
        raise UnreadableFile(path, None, "missing: a model folder needs model.json and weights.safetensors")
    raw = read_bytes(path, MAX_CARD_BYTES, "model card")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    info = parse_json(text, path)
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise UnsupportedContent(path, None, f"not a studio model card (\"format\" should be {FORMAT!r})")
    version = info.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise UnsupportedContent(path, "format_version", f"should be a whole number, not {shown(version)}")
    if version > FORMAT_VERSION:
        raise UnsupportedContent(path, "format_version", f"version {version} is newer than "
                                 f"this studio understands ({FORMAT_VERSION}); update studio")
    _check_strings(path, info)
    for key in ("architecture", "codec"):
        if not isinstance(info.get(key), dict):
            raise UnsupportedContent(path, key, "missing or not a JSON object")
    for key in ("training", "libraries"):
        if key in info and not isinstance(info[key], dict):
            raise UnsupportedContent(path, key, "not a JSON object")
    for key in ("name", "description", "licence"):
        if key in info and not isinstance(info[key], str):
            raise UnsupportedContent(path, key, "should be text")
    if "parameters" in info and (not isinstance(info["parameters"], int) or isinstance(info["parameters"], bool)):
        raise UnsupportedContent(path, "parameters", "should be a whole number")
    nll = info.get("training", {}).get("valid_nll_per_token")
    if nll is not None and (not isinstance(nll, (int, float)) or isinstance(nll, bool)):
        raise UnsupportedContent(path, "training.valid_nll_per_token", "should be a number")
    vocab = info["codec"].get("vocab")
    if not isinstance(vocab, list) or not isinstance(info["codec"].get("codec"), str):
        raise UnsupportedContent(path, "codec", "the codec config needs \"codec\" and \"vocab\"")
    if len(vocab) > MAX_VOCAB:
        raise UnsupportedContent(path, "codec.vocab", f"{len(vocab):,} tokens; the limit is {MAX_VOCAB:,}")
    for i, token in enumerate(vocab):
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise UnsupportedContent(path, f"codec.vocab[{i}]", f"a token must be text of 1 to {MAX_TOKEN_CHARS} "
                                     f"characters, not {shown(token)}")
    if len(set(vocab)) != len(vocab):
        raise UnsupportedContent(path, "codec.vocab", "a token appears twice")
    arch = info["architecture"]
    if arch.get("vocab_size") != len(vocab):
        raise UnsupportedContent(path, "architecture.vocab_size",
                                 f"{shown(arch.get('vocab_size'))} does not match the codec vocabulary of {len(vocab)} tokens")
    return info


def _check_strings(path: Path, info: dict) -> None:
    """No text in a card longer than MAX_CARD_TEXT (a card is shown whole in the library and the CLI)."""
    stack = [("", info)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str) and len(value) > MAX_CARD_TEXT:
            raise UnsupportedContent(path, where or None, f"text of {len(value):,} characters; the limit is "
                                     f"{MAX_CARD_TEXT:,}")
        if isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
            stack.extend((f"{where} key", k) for k in value)
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))


def check_folder(directory: str | Path) -> tuple[dict, "ModelConfig", dict[str, tuple[str, tuple[int, ...]]]]:
    """(card, architecture, expected weight names -> (dtype, shape)) of a folder whose card and weights'
    header fit together, checked without allocating the model or reading the weights' data."""
    directory = Path(directory)
    info = read_card(directory)
    for key, limit in MAX_ARCHITECTURE.items():
        value = info["architecture"].get(key)
        if isinstance(value, int) and value > limit:
            raise UnsupportedContent(directory / CARD, f"architecture.{key}", f"{value:,}; the limit is {limit:,}")
    try:
        config = ModelConfig.from_dict(info["architecture"])
    except (StudioError, TypeError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, StudioError) else str(exc)
        raise UnsupportedContent(directory / CARD, "architecture", reason) from None
    try:
        with torch.device("meta"):  # shapes only: no memory, whatever the card asks for
            expected = {k: tuple(v.shape) for k, v in stored_state(SequenceModel(config)).items()}
        count = sum(math.prod(shape) for shape in expected.values())
    except (RuntimeError, ValueError, OverflowError) as exc:  # sizes beyond what torch can even describe
        raise UnsupportedContent(directory / CARD, "architecture", f"too large to build ({str(exc)[:80]}); the "
                                 f"limit is {MAX_PARAMETERS:,} parameters") from None
    if count > MAX_PARAMETERS:
        raise UnsupportedContent(directory / CARD, "architecture", f"{count:,} parameters; the limit is "
                                 f"{MAX_PARAMETERS:,} parameters (is units or layers a typing error?)")
    weights_path = directory / WEIGHTS
    problem = what_is(weights_path)
    if problem == "missing":
        raise UnreadableFile(weights_path, None, "missing: a model folder needs model.json and weights.safetensors")
    check_file(weights_path, MAX_WEIGHTS_BYTES, "the weights file")
    try:
        with safe_open(weights_path, framework="pt") as f:
            found = {name: (f.get_slice(name).get_dtype(), tuple(f.get_slice(name).get_shape())) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise UnreadableFile(weights_path, None, f"not readable safetensors ({exc})") from None
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(extra)}"] if extra else [])
        raise UnsupportedContent(weights_path, None, f"weights do not fit the architecture in {CARD}: " + "; ".join(parts))
    for name, shape in expected.items():  # in the model's own order, so the first layer that does not fit is named
        dtype, got = found[name]
        if got != shape:
            raise UnsupportedContent(weights_path, name, f"shape {got} does not fit the architecture "
                                     f"in {CARD} (expected {shape})")
        if dtype not in FLOAT_DTYPES:
            raise UnsupportedContent(weights_path, name, f"dtype {dtype} is not a floating-point weight type "
                                     f"({', '.join(FLOAT_DTYPES)})")
    return info, config, expected


FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")


def read_weights(weights_path: Path, expected) -> dict[str, torch.Tensor]:
    """The checked weights as float32 tensors; weights that are NaN or infinite are refused, naming the layer."""
    tensors = {}
    try:
        with safe_open(weights_path, framework="pt") as f:
            for name in expected:
                tensors[name] = f.get_tensor(name).float()
    except (SafetensorError, OSError, ValueError) as exc:
        raise UnreadableFile(weights_path, None, f"not readable safetensors ({exc})") from None
    for name, tensor in tensors.items():
        bad = int((~torch.isfinite(tensor)).sum())
        if bad:
            raise UnsupportedContent(weights_path, name, f"{bad:,} weight(s) are NaN or infinite; the model "
                                     "cannot generate anything")
    return tensors


def load_model(directory: str | Path, device: torch.device | str = "cpu") -> SequenceModel:
    """The model of a folder, in eval mode, with `.card` (model.json) and `.codec_config` attached.

    Every way a folder can be wrong (missing file, bad JSON, weights that do not fit the architecture,
    weights that are not finite numbers) raises a StudioError naming the file and what is wrong; card and
    weights are checked against each other before anything is allocated.
    """
    directory = Path(directory)
    info, config, expected = check_folder(directory)
    tensors = read_weights(directory / WEIGHTS, expected)
    model = SequenceModel(config)
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
    """Shipped models (`studio.models`) and the user's (`studio_home()/models`), each with its card; a
    folder whose card or weights' names, shapes and types do not fit comes with `error` instead."""
    found = []
    for is_shipped, root in _roots():
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                info, _, expected = check_folder(folder)
                read_weights(folder / WEIGHTS, expected)  # NaN weights make a folder as unusable as a bad card
                found.append(InstalledModel(folder.name, folder, is_shipped, info))
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
