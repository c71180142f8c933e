"""Sequence models (LSTM/GRU/RNN) and the model folder format (safetensors + model.json)."""
from .folder import InstalledModel, find_model, list_models, load_model, read_card, save_model
from .model import CELLS, ModelConfig, SequenceModel

__all__ = ["CELLS", "ModelConfig", "SequenceModel", "save_model", "load_model", "read_card", "list_models",
           "find_model", "InstalledModel"]
