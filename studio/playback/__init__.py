"""Playback: the built-in SoundFont synth, live MIDI out with a scheduler thread, and offline WAV render.

Headless (no Qt) and knows nothing of models. The GUI drives a `Player`; `studio play`/`ports`/`convert`
use the same objects.
"""
from .player import Player
from .ports import PortUnavailable, list_output_ports
from .render import render_piece, render_wav
from .soundfont import default_soundfont
from .synth_player import AudioUnavailable, check_audio_output
from .transport import PAUSED, PLAYING, STOPPED, Transport

__all__ = ["Player", "list_output_ports", "PortUnavailable", "AudioUnavailable", "check_audio_output",
           "render_piece", "render_wav", "default_soundfont", "Transport", "PLAYING", "PAUSED", "STOPPED"]
