"""Training: the Trainer (loop, checkpoints, exact resume, metrics, DDP), its settings and evaluation."""
from .config import PRESETS, TrainConfig, learning_rate, make_config
from .evaluate import Evaluation, evaluate
from .trainer import Trainer, TrainEvent, TrainingDiverged, TrainResult, pick_device

__all__ = ["PRESETS", "TrainConfig", "make_config", "learning_rate", "Trainer", "TrainEvent", "TrainResult",
           "TrainingDiverged", "pick_device", "evaluate", "Evaluation"]
