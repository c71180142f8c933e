"""REMI-style bar/position tokens for metered MIDI (see codec.py for the layout)."""
from .codec import RemiCodec
from .config import RemiConfig

__all__ = ["RemiCodec", "RemiConfig"]
