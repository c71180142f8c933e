"""Training settings: one dataclass, saved with every checkpoint, and the presets that fill it.

Presets are the reference recipes (folk-rnn, Performance RNN; see the project's encodings notes) and a
`small` one that trains something useful on a laptop CPU. Explicit settings override the preset.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from ..errors import InvalidArgument
from ..nn.cells import CELL_NAMES

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
DECAYS = ("none", "cosine", "linear", "exponential")
BATCHINGS = ("auto", "windows", "tunes")


@dataclass
class TrainConfig:
    corpus: str = ""  # corpus name or folder, reopened on resume
    # model
    cell: str = "lstm"
    layers: int = 2
    units: int = 256
    embedding: int = 64
    dropout: float = 0.1
    tie_weights: bool = False
    # data
    batching: str = "auto"  # windows (fixed-length, across pieces), tunes (whole pieces), auto: tunes for folk
    batch_size: int = 32  # the global batch, shared by all DDP processes
    seq_len: int = 256
    max_tune_len: int = 1024  # whole-tune batching: longer pieces are cut
    augment: bool = True
    loader_workers: int = 0  # processes that compute batches ahead of the training loop (0: in the loop)
    controls: bool = False  # condition on the codec's controls (performance: note density, pitch classes)
    init_from: str = ""  # a model (folder or installed name) whose weights start the run (see warm_start.py)
    # optimisation
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    clip: float = 3.0  # global gradient norm; 0 turns clipping off
    warmup_steps: int = 100
    decay: str = "cosine"
    min_lr_ratio: float = 0.1  # the decay ends at lr * min_lr_ratio
    steps: int = 2000
    epochs: float = 0.0  # when > 0, overrides steps: this many passes over the training split
    # bookkeeping
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # mixed precision on CUDA
    log_every: int = 10
    eval_every: int = 200
    eval_pieces: int = 256  # validation uses at most this many pieces of the valid split, spread over it
    checkpoint_every: int = 200
    checkpoint_minutes: float = 5.0  # also checkpoint at least this often (protects long CPU runs)
    patience: int = 0  # early stopping: evaluations without improvement before stopping; 0: off

    def __post_init__(self):
        problems = []
        for name, allowed in (("cell", CELL_NAMES), ("optimizer", OPTIMIZERS), ("decay", DECAYS),
                              ("batching", BATCHINGS)):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        for name in ("layers", "units", "batch_size", "seq_len", "log_every", "eval_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("lr", "clip", "weight_decay", "warmup_steps", "epochs", "patience", "steps", "loader_workers"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                problems.append(f"{name} must be a number >= 0, not {value}")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), not {self.dropout}")
        if self.steps < 1 and self.epochs <= 0:
            problems.append("give a number of steps or epochs to train")
        if problems:
            raise InvalidArgument("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def model_fields(self) -> dict:
        return {k: getattr(self, k) for k in ("cell", "layers", "units", "embedding", "dropout", "tie_weights")}


PRESETS: dict[str, dict] = {
    # trains in minutes to an hour on a laptop CPU
    "small": {},
    # folk-rnn v2 (Sturm et al.): 3x512 LSTM on one-hot input, dropout 0.5, RMSprop 0.003, batch 64, whole
    # tunes, 100 epochs. folk-rnn clips recurrent gradients element-wise at 5; we clip the global norm.
    "folk-rnn": {"layers": 3, "units": 512, "embedding": 0, "dropout": 0.5, "batching": "tunes", "batch_size": 64,
                 "optimizer": "rmsprop", "lr": 0.003, "clip": 5.0, "warmup_steps": 0, "decay": "none",
                 "epochs": 100.0, "eval_every": 1000, "checkpoint_every": 1000},
    # Magenta Performance RNN: 3x512 LSTM, one-hot input, no dropout, Adam 0.001, batch 64, global-norm clip 3
    # (Magenta runs until stopped; "many tens of thousands of steps")
    "performance-rnn": {"layers": 3, "units": 512, "embedding": 0, "dropout": 0.0, "batching": "windows",
                        "batch_size": 64, "seq_len": 512, "optimizer": "adam", "lr": 0.001, "clip": 3.0,
                        "warmup_steps": 0, "decay": "none", "steps": 30000, "eval_every": 1000,
                        "checkpoint_every": 500},
}


def make_config(preset: str = "small", **overrides) -> TrainConfig:
    """A preset with some settings replaced (None values are ignored, so CLI options can pass through)."""
    if preset not in PRESETS:
        raise InvalidArgument(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    unknown = sorted(set(values) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise InvalidArgument(f"unknown training settings: {', '.join(unknown)}")
    if overrides.get("steps") is not None and overrides.get("epochs") is None:
        values["epochs"] = 0.0  # an explicit step count wins over a preset's epochs
    return TrainConfig(**values)


def learning_rate(config: TrainConfig, step: int, total_steps: int) -> float:
    """Linear warm-up, then the chosen decay down to lr * min_lr_ratio at the last step."""
    base = config.lr
    if step < config.warmup_steps:
        return base * (step + 1) / config.warmup_steps
    span = max(1, total_steps - config.warmup_steps)
    t = min(1.0, (step - config.warmup_steps) / span)
    floor = config.min_lr_ratio
    if config.decay == "cosine":
        return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))
    if config.decay == "linear":
        return base * (1 - (1 - floor) * t)
    if config.decay == "exponential":
        return base * floor ** t
    return base
