"""Studio: train sequence models on your own music and work with the results as music.

The package is a headless core (music, codecs, corpus, nn, training, generation, playback) that imports
without Qt, and a thin Qt layer in `studio.app`.
"""
__version__ = "0.1.0"
